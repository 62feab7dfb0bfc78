using System.Diagnostics;

namespace FiberRuntime;

/// <summary>
/// Several hubs, one per core by default, each on its own OS thread: <see cref="Spawn(Action)"/> spreads fibers over
/// them (round robin, thread-safe) and <see cref="Serve"/> runs a <see cref="IO.StreamServer"/> on every hub on one
/// shared port (<c>SO_REUSEPORT</c>: the kernel spreads the connections). A fiber never migrates between hubs.
/// </summary>
/// <remarks>Serving is in IO/HubGroup.Serve.cs: this file knows nothing of sockets.</remarks>
[DebuggerDisplay("HubGroup ({Hubs.Count} hubs)")]
public sealed partial class HubGroup : IDisposable
{
    private readonly List<(Hub Hub, Thread Thread, TaskCompletionSource Stop)> _members = [];
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

    /// <summary>Stops the servers (letting connections finish for up to a second) and the hubs.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        StopServers();
        foreach ((_, Thread thread, TaskCompletionSource stop) in _members)
        {
            stop.TrySetResult();
            thread.Join();
        }
    }

    /// <summary>Stops what <see cref="Serve"/> started, before the hubs stop (IO/HubGroup.Serve.cs).</summary>
    partial void StopServers();
}
