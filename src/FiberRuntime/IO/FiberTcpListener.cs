using System.Net;
using System.Net.Sockets;

namespace FiberRuntime.IO;

/// <summary>A TCP listener whose <see cref="Accept"/> suspends only the calling fiber.</summary>
public sealed class FiberTcpListener : IDisposable
{
    private readonly FiberSocket _socket;

    /// <summary>Creates a listener for <paramref name="localEndPoint"/> (port 0 picks a free port). With
    /// <paramref name="reusePort"/>, several listeners (e.g. one per hub) can bind the same port and the kernel
    /// spreads incoming connections over them (Linux <c>SO_REUSEPORT</c>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="localEndPoint"/> is null.</exception>
    public FiberTcpListener(IPEndPoint localEndPoint, bool reusePort = false)
    {
        ArgumentNullException.ThrowIfNull(localEndPoint);
        _socket = new FiberSocket(localEndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _socket.Socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (reusePort) _socket.Socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
        _socket.Socket.Bind(localEndPoint);
    }

    private const int SolSocket = 1, SoReusePort = 15;     // SOL_SOCKET, SO_REUSEPORT on Linux (no SocketOptionName for it)

    /// <summary>The bound endpoint (with the actual port once bound).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.Socket.LocalEndPoint!;

    /// <summary>Starts listening.</summary>
    public void Start(int backlog = 512) => _socket.Socket.Listen(backlog);

    /// <summary>Accepts a connection, suspending the fiber until one arrives.</summary>
    public FiberSocket Accept(TimeSpan? timeout = null) => _socket.Accept(timeout);

    /// <summary>Stops listening; a fiber waiting in <see cref="Accept"/> gets <see cref="ObjectDisposedException"/>.</summary>
    public void Stop() => _socket.Dispose();

    /// <summary>Same as <see cref="Stop"/>.</summary>
    public void Dispose() => Stop();
}
