using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FiberRuntime.IO;

/// <summary>
/// A TCP server (gevent's <c>StreamServer</c>): accepts connections on the calling fiber's hub and runs
/// <c>handler(connection, remote)</c> in a fiber per connection, optionally bounded by a <see cref="FiberPool"/>
/// (accepting waits while the pool is full). The handler's code is plain blocking code; the connection is closed
/// when it returns. A handler's exception is reported like any fiber's and closes only its connection.
/// </summary>
[DebuggerDisplay("StreamServer {LocalEndPoint} ({Connections} connections)")]
public sealed class StreamServer : IDisposable
{
    private readonly IPEndPoint _endPoint;
    private readonly Action<FiberSocket, IPEndPoint> _handler;
    private readonly FiberGroup _handlers;
    private readonly int _backlog;
    private readonly bool _reusePort;
    private FiberTcpListener? _listener;
    private Fiber? _acceptLoop;
    private bool _stopping;

    /// <summary>Creates a server for <paramref name="endPoint"/> (port 0 picks a free port).</summary>
    /// <param name="endPoint">Where to listen.</param>
    /// <param name="handler">Runs in a new fiber for each connection.</param>
    /// <param name="pool">Bounds the number of connections handled at once; null: no bound.</param>
    /// <param name="backlog">The listen backlog.</param>
    /// <param name="reusePort">Share the port with other listeners (<c>SO_REUSEPORT</c>; see <see cref="HubGroup.Serve"/>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="endPoint"/> or <paramref name="handler"/> is null.</exception>
    public StreamServer(IPEndPoint endPoint, Action<FiberSocket, IPEndPoint> handler, FiberPool? pool = null, int backlog = 1024, bool reusePort = false)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(backlog);
        _endPoint = endPoint;
        _handler = handler;
        _handlers = pool ?? new FiberGroup();
        _backlog = backlog;
        _reusePort = reusePort;
    }

    /// <summary>The endpoint listened on (with the actual port once started).</summary>
    public IPEndPoint LocalEndPoint => _listener?.LocalEndPoint ?? _endPoint;

    /// <summary>Connections being handled now.</summary>
    public int Connections => _handlers.Count;

    /// <summary>True between <see cref="Start"/> and <see cref="Stop"/>.</summary>
    public bool IsStarted => _acceptLoop is not null && !_stopping;

    /// <summary>Binds, listens and starts accepting in a fiber of the calling thread's hub; returns at once.</summary>
    /// <exception cref="InvalidOperationException">Already started, or the caller is not on a hub.</exception>
    public void Start()
    {
        if (Hub.Current is null) throw new InvalidOperationException("A StreamServer runs on a hub: start it from a fiber (e.g. inside Hub.Run).");
        if (_acceptLoop is not null) throw new InvalidOperationException("The server is already started.");
        _listener = new FiberTcpListener(_endPoint, _reusePort);
        _listener.Start(_backlog);
        _acceptLoop = Fiber.Spawn(AcceptLoop);
    }

    /// <summary>Starts (if needed) and suspends the calling fiber until the server is stopped (gevent's
    /// <c>serve_forever</c>).</summary>
    public void ServeForever()
    {
        if (_acceptLoop is null) Start();
        _acceptLoop!.Join();
    }

    /// <summary>Accepts that failed for lack of resources (descriptor limit, kernel memory) or because the peer gave up
    /// first; the server kept serving (see <see cref="ServeForever"/>).</summary>
    public long AcceptFailures { get; private set; }

    private void AcceptLoop()
    {
        var backoff = TimeSpan.Zero;
        while (!_stopping)
        {
            FiberSocket connection;
            try
            {
                connection = _listener!.Accept();
                backoff = TimeSpan.Zero;
            }
            catch (ObjectDisposedException) when (_stopping)
            {
                return;
            }
            catch (SocketException e) when (IsTransientAcceptError(e.SocketErrorCode) && !_stopping)
            {
                // EMFILE / ENFILE / ENOBUFS: the pending connection stays in the backlog; retry once descriptors may be
                // free again, backing off (10 ms doubling to 250 ms) so a full descriptor table does not spin the hub.
                AcceptFailures++;
                if (e.SocketErrorCode != SocketError.ConnectionAborted)
                {
                    backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(10) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromMilliseconds(250).Ticks));
                    Fiber.Sleep(backoff);
                }
                continue;
            }
            var remote = (IPEndPoint)connection.Socket.RemoteEndPoint!;
            _handlers.Spawn(() =>
            {
                using (connection) _handler(connection, remote);
            });
        }
    }

    private static bool IsTransientAcceptError(SocketError error) =>
        error is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable or SocketError.ConnectionAborted or SocketError.ConnectionReset;

    /// <summary>Stops accepting, waits up to <paramref name="timeout"/> (default 1 s) for the connections being
    /// handled to finish, then kills the rest and waits up to 5 s more for them (gevent's <c>stop</c>); it never
    /// throws for handlers that are still running then.</summary>
    public void Stop(TimeSpan? timeout = null)
    {
        if (_acceptLoop is null || _stopping) return;
        _stopping = true;
        _listener!.Stop();                       // wakes the accept loop
        _acceptLoop.Join();
        if (_handlers.Join(timeout ?? TimeSpan.FromSeconds(1))) return;
        // kill without FiberGroup.Kill's timeout exception: Stop backs Dispose, which must not throw; a handler
        // that outlives the 5 s grace is left to finish on its own (gevent's stop does the same)
        _handlers.Kill(block: false);
        _handlers.Join(TimeSpan.FromSeconds(5));
    }

    /// <summary>Same as <see cref="Stop"/> with the default grace period.</summary>
    public void Dispose() => Stop();
}
