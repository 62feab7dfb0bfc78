using System.Net;
using System.Net.Sockets;

namespace FiberRuntime.Tests;

/// <summary>A connected loopback TCP pair; the server side is non-blocking.</summary>
internal sealed class LoopbackPair : IDisposable
{
    public readonly Socket Client, Server;

    public LoopbackPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        Client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Client.Connect(listener.LocalEndPoint!);
        Server = listener.Accept();
        Server.Blocking = false;
    }

    public int ServerFd => (int)Server.Handle;

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }
}
