using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FiberRuntime.Scheduling;

namespace FiberRuntime.IO;

/// <summary>
/// A cooperative socket (gevent's <c>gevent.socket.socket</c>): <c>Connect</c>, <see cref="Accept"/>,
/// <see cref="Send"/>, <see cref="Receive"/> and the datagram calls suspend only the calling fiber while the operating system is not ready. The underlying
/// <see cref="System.Net.Sockets.Socket"/> is non-blocking; on a thread that is not a hub the calls block the thread.
/// </summary>
/// <remarks>
/// Errors surface as in .NET: <see cref="SocketException"/> for refused or reset connections,
/// <see cref="FiberTimeoutException"/> when an operation's time limit (the call's timeout, else
/// <see cref="Timeout"/>) passes, <see cref="ObjectDisposedException"/> for a closed socket — including in fibers
/// that were waiting on it when it was closed. One fiber may receive and one may send at a time.
/// </remarks>
[DebuggerDisplay("FiberSocket {Socket.SocketType} {Socket.LocalEndPoint} -> {Socket.RemoteEndPoint}")]
public sealed class FiberSocket : IDisposable
{
    private readonly int _fd;
    private bool _disposed;

    /// <summary>Creates a socket (see <see cref="System.Net.Sockets.Socket(AddressFamily, SocketType, ProtocolType)"/>).</summary>
    public FiberSocket(AddressFamily addressFamily, SocketType socketType, ProtocolType protocolType)
        : this(new Socket(addressFamily, socketType, protocolType))
    {
    }

    /// <summary>Wraps an existing socket and makes it non-blocking.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is null.</exception>
    public FiberSocket(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Socket = socket;
        Socket.Blocking = false;
        _fd = (int)socket.Handle;
    }

    /// <summary>The underlying non-blocking socket (for options, endpoints).</summary>
    public Socket Socket { get; }

    /// <summary>Time limit of every operation that does not give its own (gevent's <c>settimeout</c>); null: none.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>Connects, suspending the fiber until the connection is established or fails.</summary>
    /// <exception cref="SocketException">Refused, unreachable, ...</exception>
    /// <exception cref="FiberTimeoutException">Not connected within the time limit.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Connect(EndPoint remote, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(remote);
        ThrowIfDisposed();
        try
        {
            Socket.Connect(remote);
            return;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
        }
        WaitReady(write: true, timeout, "connect");
        int error = (int)Socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        if (error != 0) throw new SocketException(error);
    }

    /// <summary>Connects to <paramref name="host"/>:<paramref name="port"/>, resolving the name without blocking the hub.</summary>
    public void Connect(string host, int port, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        IPAddress[] addresses = Fiber.Await(Dns.GetHostAddressesAsync(host));
        IPAddress address = addresses.FirstOrDefault(a => a.AddressFamily == Socket.AddressFamily)
                            ?? throw new SocketException((int)SocketError.HostNotFound);
        Connect(new IPEndPoint(address, port), timeout);
    }

    /// <summary>Accepts a connection, suspending the fiber until one arrives.</summary>
    /// <exception cref="FiberTimeoutException">None arrived within the time limit.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public FiberSocket Accept(TimeSpan? timeout = null)
    {
        while (true)
        {
            ThrowIfDisposed();
            try
            {
                return new FiberSocket(Socket.Accept());
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                WaitReady(write: false, timeout, "accept");
            }
        }
    }

    /// <summary>Sends what the operating system accepts of <paramref name="data"/> (at least one byte unless empty),
    /// suspending the fiber while its buffer is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Send(ReadOnlySpan<byte> data, SocketFlags flags = SocketFlags.None, TimeSpan? timeout = null)
    {
        while (true)
        {
            ThrowIfDisposed();
            int n = Socket.Send(data, flags, out SocketError error);
            if (error == SocketError.Success) return n;
            if (error != SocketError.WouldBlock) throw new SocketException((int)error);
            WaitReady(write: true, timeout, "send");
        }
    }

    /// <summary>Sends all of <paramref name="data"/> (gevent's <c>sendall</c>).</summary>
    public void SendAll(ReadOnlySpan<byte> data, SocketFlags flags = SocketFlags.None, TimeSpan? timeout = null)
    {
        while (!data.IsEmpty) data = data[Send(data, flags, timeout)..];
    }

    /// <summary>Receives into <paramref name="buffer"/>, suspending the fiber until data (or the end of the stream,
    /// 0) is available.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Receive(Span<byte> buffer, SocketFlags flags = SocketFlags.None, TimeSpan? timeout = null)
    {
        while (true)
        {
            ThrowIfDisposed();
            int n = Socket.Receive(buffer, flags, out SocketError error);
            if (error == SocketError.Success) return n;
            if (error != SocketError.WouldBlock) throw new SocketException((int)error);
            WaitReady(write: false, timeout, "receive");
        }
    }

    /// <summary>Sends a datagram to <paramref name="remote"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int SendTo(ReadOnlySpan<byte> data, EndPoint remote, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(remote);
        while (true)
        {
            ThrowIfDisposed();
            try
            {
                return Socket.SendTo(data, SocketFlags.None, remote);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                WaitReady(write: true, timeout, "send");
            }
        }
    }

    /// <summary>Receives a datagram and where it came from.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public (int Received, EndPoint From) ReceiveFrom(Span<byte> buffer, TimeSpan? timeout = null)
    {
        while (true)
        {
            ThrowIfDisposed();
            EndPoint from = Socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
            try
            {
                int n = Socket.ReceiveFrom(buffer, SocketFlags.None, ref from);
                return (n, from);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                WaitReady(write: false, timeout, "receive");
            }
        }
    }

    /// <summary>Shuts down sending, receiving or both (see <see cref="System.Net.Sockets.Socket.Shutdown"/>).</summary>
    public void Shutdown(SocketShutdown how)
    {
        ThrowIfDisposed();
        Socket.Shutdown(how);
    }

    /// <summary>Closes the socket. Fibers of this hub waiting on it are woken with <see cref="ObjectDisposedException"/>.</summary>
    public void Close() => Dispose();

    /// <summary>Same as <see cref="Close"/>.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Hub.Current?.CancelDescriptorWaits(_fd, new ObjectDisposedException(nameof(FiberSocket), "The socket was closed while a fiber waited on it."));
        Socket.Dispose();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WaitReady(bool write, TimeSpan? timeout, string what)
    {
        TimeSpan? limit = timeout ?? Timeout;
        bool ready = write ? Hub.WaitWritable(_fd, limit) : Hub.WaitReadable(_fd, limit);
        ThrowIfDisposed();
        if (!ready) throw new FiberTimeoutException($"The socket {what} did not complete within {limit}.");
    }
}
