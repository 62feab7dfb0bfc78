using System.Diagnostics;
using System.Net;
using FiberRuntime.IO;

namespace FiberRuntime;

/// <summary>
/// Several hubs, one per core by default, each on its own OS thread: <see cref="Spawn(Action)"/> spreads fibers over
/// them (round robin, thread-safe) and <see cref="Serve"/> runs a <see cref="StreamServer"/> on every hub on one
/// shared port (<c>SO_REUSEPORT</c>: the kernel spreads the connections). A fiber never migrates between hubs.
/// </summary>
[DebuggerDisplay("HubGroup ({Hubs.Count} hubs)")]
public sealed class HubGroup : IDisposable
{
    private readonly List<(Hub Hub, Thread Thread, TaskCompletionSource Stop)> _members = [];
    private readonly List<(Hub Hub, StreamServer Server)> _servers = [];
    private int _next;
    private bool _disposed;

    /// <summary>Starts <paramref name="count"/> hubs (default: one per processor).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is below 1.</exception>
    public HubGroup(int? count = null, HubOptions? options = null)
    {
        int n = count ?? Environment.ProcessorCount;
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1, nameof(count));
        for (int i = 0; i < n; i++)
        {
            var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Hub? hub = null;
            Exception? failure = null;
            using var ready = new ManualResetEventSlim();
            var thread = new Thread(() =>
            {
                try
                {
                    Hub.Run(() =>
                    {
                        hub = Hub.Current;
                        ready.Set();
                        Fiber.Await(stop.Task);      // keeps the hub alive, and lets it stop when asked
                    }, options);
                }
                catch (Exception e)
                {
                    failure = e;
                }
                finally
                {
                    ready.Set();
                }
            }) { IsBackground = true, Name = $"FiberRuntime hub group starter {i}" };
            thread.Start();
            ready.Wait();
            if (failure is not null)
            {
                Dispose();
                throw failure;
            }
            _members.Add((hub!, thread, stop));
        }
    }

    /// <summary>The hubs.</summary>
    public IReadOnlyList<Hub> Hubs => _members.Select(m => m.Hub).ToList();

    /// <summary>Starts <paramref name="action"/> in a fiber on the next hub (round robin). Thread-safe.</summary>
    public Fiber Spawn(Action action) => NextHub().Spawn(action);

    /// <summary>Starts <paramref name="func"/> in a fiber on the next hub (round robin). Thread-safe.</summary>
    public Fiber<T> Spawn<T>(Func<T> func) => NextHub().Spawn(func);

    private Hub NextHub()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _members[(int)((uint)Interlocked.Increment(ref _next) % (uint)_members.Count)].Hub;
    }

    /// <summary>Runs a <see cref="StreamServer"/> for <paramref name="handler"/> on every hub, all on
    /// <paramref name="endPoint"/> (port 0: a free port, shared by all); returns the endpoint listened on.</summary>
    public IPEndPoint Serve(IPEndPoint endPoint, Action<FiberSocket, IPEndPoint> handler)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed, this);
        IPEndPoint where = endPoint;
        _served = new long[_members.Count];
        for (int i = 0; i < _members.Count; i++)
        {
            Hub hub = _members[i].Hub;
            IPEndPoint bindTo = where;
            int index = i;
            StreamServer server = hub.SpawnAsync(() =>
            {
                var s = new StreamServer(bindTo, (connection, remote) =>
                {
                    Interlocked.Increment(ref _served[index]);
                    handler(connection, remote);
                }, reusePort: true);
                s.Start();
                return s;
            }).GetAwaiter().GetResult();
            lock (_servers) _servers.Add((hub, server));
            where = server.LocalEndPoint;     // the others bind the port the first one got
        }
        return where;
    }

    private long[] _served = [];

    /// <summary>Connections accepted by <see cref="Serve"/> so far, per hub (in <see cref="Hubs"/> order).</summary>
    public IReadOnlyList<long> ConnectionsServedPerHub
    {
        get
        {
            long[] served = _served;
            return Enumerable.Range(0, served.Length).Select(i => Interlocked.Read(ref served[i])).ToList();
        }
    }

    /// <summary>Stops the servers (letting connections finish for up to a second) and the hubs.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (_servers)
        {
            foreach ((Hub hub, StreamServer server) in _servers)
                hub.SpawnAsync(() => server.Stop()).GetAwaiter().GetResult();
            _servers.Clear();
        }
        foreach ((_, Thread thread, TaskCompletionSource stop) in _members)
        {
            stop.TrySetResult();
            thread.Join();
        }
    }
}
