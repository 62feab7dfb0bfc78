using System.Net.Sockets;
using FiberRuntime;
using FiberRuntime.IO;

namespace HttpServer;

/// <summary>How a connection moves bytes: the same HTTP code runs over fiber sockets and over blocking sockets (one
/// thread per connection), so the benchmark compares I/O models, not parsers. Implemented by structs, so the
/// generic connection calls them directly.</summary>
internal interface ITransport
{
    /// <summary>Receives into <paramref name="buffer"/>; 0 at the end of the stream; <see cref="TimeoutException"/>
    /// when nothing arrived within <paramref name="timeout"/>.</summary>
    int Receive(Span<byte> buffer, TimeSpan timeout);

    /// <summary>Like <see cref="Receive"/>, for when bytes are unlikely to be there yet (a response was just sent and
    /// the client has not had a round trip to answer): waits for readability first instead of trying a receive that
    /// would only say "try again".</summary>
    int ReceiveAfterWait(Span<byte> buffer, TimeSpan timeout);

    /// <summary>Sends all of <paramref name="data"/>; <see cref="TimeoutException"/> when the client stops reading.</summary>
    void Send(ReadOnlySpan<byte> data, TimeSpan timeout);

    /// <summary>Ends the sending side, then reads and discards what the client still sends for a moment, so that
    /// closing does not reset the connection (and destroy the last response) while request bytes are unread.</summary>
    void LingeringClose();
}

/// <summary>A fiber socket: a blocked receive or send suspends only the connection's fiber.</summary>
internal readonly struct FiberTransport(FiberSocket socket) : ITransport
{
    private readonly int _fd = (int)socket.Socket.Handle;

    public int Receive(Span<byte> buffer, TimeSpan timeout) => socket.Receive(buffer, SocketFlags.None, timeout);

    public int ReceiveAfterWait(Span<byte> buffer, TimeSpan timeout)
    {
        // one epoll_ctl and then the receive that succeeds, instead of recv (EAGAIN), epoll_ctl and recv again
        if (!Hub.WaitReadable(_fd, timeout)) throw new FiberTimeoutException($"no request within {timeout}");
        return socket.Receive(buffer, SocketFlags.None, timeout);
    }

    public void Send(ReadOnlySpan<byte> data, TimeSpan timeout) => socket.SendAll(data, SocketFlags.None, timeout);

    public void LingeringClose()
    {
        socket.Shutdown(SocketShutdown.Send);
        Span<byte> sink = stackalloc byte[1024];
        for (int i = 0; i < 64 && socket.Receive(sink, SocketFlags.None, TimeSpan.FromSeconds(1)) > 0; i++) { }
    }
}

/// <summary>A blocking socket owned by one thread.</summary>
internal sealed class ThreadTransportState(Socket socket)
{
    public Socket Socket { get; } = socket;
    public int ReceiveTimeoutMs = -2;
    public int SendTimeoutMs = -2;
}

/// <summary>A blocking socket: a blocked receive or send blocks the connection's thread.</summary>
internal readonly struct ThreadTransport(ThreadTransportState state) : ITransport
{
    public int ReceiveAfterWait(Span<byte> buffer, TimeSpan timeout) => Receive(buffer, timeout);    // the receive blocks anyway

    public int Receive(Span<byte> buffer, TimeSpan timeout)
    {
        int ms = Milliseconds(timeout);
        if (state.ReceiveTimeoutMs != ms) state.Socket.ReceiveTimeout = state.ReceiveTimeoutMs = ms;
        try
        {
            return state.Socket.Receive(buffer);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            throw new TimeoutException("receive timed out");
        }
    }

    public void Send(ReadOnlySpan<byte> data, TimeSpan timeout)
    {
        int ms = Milliseconds(timeout);
        if (state.SendTimeoutMs != ms) state.Socket.SendTimeout = state.SendTimeoutMs = ms;
        try
        {
            while (!data.IsEmpty) data = data[state.Socket.Send(data)..];
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            throw new TimeoutException("send timed out");
        }
    }

    public void LingeringClose()
    {
        state.Socket.Shutdown(SocketShutdown.Send);
        state.Socket.ReceiveTimeout = 1000;
        Span<byte> sink = stackalloc byte[1024];
        for (int i = 0; i < 64 && state.Socket.Receive(sink) > 0; i++) { }
    }

    private static int Milliseconds(TimeSpan t) => (int)Math.Clamp(Math.Ceiling(t.TotalMilliseconds), 1, int.MaxValue);
}
