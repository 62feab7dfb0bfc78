namespace FiberRuntime.Benchmarks.Compare;

/// <summary>
/// <c>idle --model fiber --hubs H</c>: the parked fibers spread over H hubs, to see how Server GC walks them. Each
/// hub's suspended fibers are walked through its identity thread, and Server GC scans a thread's stack on the GC
/// thread of the thread's home heap; FiberRuntime homes identity threads on different heaps, so with H hubs and
/// <c>DOTNET_gcServer=1 DOTNET_GCHeapCount=H</c> the walks run in parallel. These are the H − 1 hubs besides the
/// measuring one: each on its own thread, its fibers holding the same object graph and parked on its own
/// <see cref="FiberEvent"/> until <see cref="WakeAll"/>.
/// </summary>
internal sealed class IdleOtherHubs
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Thread> _threads = [];
    private readonly CountdownEvent _parked;
    private int _woken;
    private Exception? _failure;

    private IdleOtherHubs(int hubs) => _parked = new CountdownEvent(hubs);

    /// <summary>Starts <paramref name="hubs"/> hubs of <paramref name="perHub"/> parked fibers each and returns once
    /// every fiber is parked.</summary>
    public static IdleOtherHubs Start(int hubs, int perHub, int stackSize)
    {
        var others = new IdleOtherHubs(hubs);
        for (int h = 0; h < hubs; h++)
        {
            var t = new Thread(() => others.RunHub(perHub, stackSize)) { IsBackground = true, Name = $"idle hub {h + 2}" };
            others._threads.Add(t);
            t.Start();
        }
        others._parked.Wait();
        if (others._failure is { } e) throw new InvalidOperationException("an idle hub failed to start", e);
        return others;
    }

    private void RunHub(int perHub, int stackSize)
    {
        try
        {
            Hub.Run(() =>
            {
                var go = new FiberEvent();
                int arrived = 0, woken = 0;
                for (int i = 0; i < perHub; i++)
                {
                    Fiber.Spawn(() =>
                    {
                        int id = arrived++;
                        List<object> graph = IdleUnits.Graph(id);
                        go.Wait();
                        IdleUnits.Check(graph, id);
                        woken++;
                    });
                }
                Fiber.Yield();                                // every fiber runs to its wait and parks
                if (arrived != perHub) throw new InvalidOperationException($"{arrived} of {perHub} fibers reached their wait");
                _parked.Signal();
                Fiber.Await(_release.Task);                   // keeps the hub alive while its fibers wait
                go.Set();
                Fiber.Yield();
                Interlocked.Add(ref _woken, woken);
            }, new HubOptions { MaxFibers = perHub + 64, StackSize = stackSize });
        }
        catch (Exception e)
        {
            _failure ??= e;
            if (!_parked.IsSet) _parked.Signal();
        }
    }

    /// <summary>Wakes every fiber of these hubs, waits for the hubs to end, and returns how many fibers completed.</summary>
    public int WakeAll()
    {
        _release.SetResult();
        foreach (Thread t in _threads) t.Join();
        return _failure is null ? Volatile.Read(ref _woken) : -1;
    }
}
