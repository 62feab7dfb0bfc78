using BenchmarkDotNet.Attributes;

namespace FiberRuntime.Benchmarks;

/// <summary>
/// The hub scheduler, per operation: a <see cref="Fiber.Yield"/> round trip through the hub loop, and spawning +
/// joining an empty fiber, each next to its Task-based and thread-based equivalent. Every benchmark repeats its
/// operation <c>N</c> times per invocation and declares <c>OperationsPerInvoke = N</c>, so "Mean" reads as ns per
/// operation and "Allocated" as bytes per operation.
/// </summary>
/// <remarks>
/// The fiber benchmarks run on one long-lived hub (as in <see cref="SwitchBenchmarks"/>): each invocation hands the
/// work to the hub's main greenlet and waits for it (two SemaphoreSlim wake-ups, some µs), amortised over N
/// operations.
/// </remarks>
[MemoryDiagnoser]
public class SchedulerBenchmarks
{
    private const int Yields = 100_000;
    private const int Spawns = 50_000;
    private const int SpawnBatch = 1_000;       // spawn this many, then join them all
    private const int TaskSpawns = 50_000;
    private const int ThreadSpawns = 500;       // an OS thread start + join costs tens of µs

    private static readonly Action s_empty = static () => { };

    // ---- one long-lived hub: the benchmark thread hands it a work item and waits --------------------------

    private BenchmarkHub? _hub;

    [GlobalSetup]
    public void StartHub() => _hub = new BenchmarkHub();

    [GlobalCleanup]
    public void StopHub() => _hub?.Dispose();

    private void OnHub(Action work) => _hub!.Invoke(work);

    // ---- Yield round trip -----------------------------------------------------------------------------------

    private static readonly Action s_yieldLoop = static () =>
    {
        for (int i = 0; i < Yields; i++) Fiber.Yield();
    };

    private static readonly Action s_yieldPair = static () =>
    {
        // two fibers yielding to each other: the ready queue always holds the other one
        Fiber a = Fiber.Spawn(static () => { for (int i = 0; i < Yields / 2; i++) Fiber.Yield(); });
        Fiber b = Fiber.Spawn(static () => { for (int i = 0; i < Yields / 2; i++) Fiber.Yield(); });
        a.Join();
        b.Join();
    };

    [Benchmark(Baseline = true, OperationsPerInvoke = Yields, Description = "Fiber.Yield (one fiber)")]
    public void FiberYield() => OnHub(s_yieldLoop);

    [Benchmark(OperationsPerInvoke = Yields, Description = "Fiber.Yield (two fibers alternating)")]
    public void FiberYieldTwoFibers() => OnHub(s_yieldPair);

    [Benchmark(OperationsPerInvoke = Yields, Description = "await Task.Yield()")]
    public void TaskYield() => Task.Run(static async () =>
    {
        for (int i = 0; i < Yields; i++) await Task.Yield();
    }).Wait();

    [Benchmark(OperationsPerInvoke = Yields, Description = "Thread.Yield()")]
    public void ThreadYield()
    {
        for (int i = 0; i < Yields; i++) Thread.Yield();
    }

    // ---- spawn + join of an empty fiber -----------------------------------------------------------------------

    private static readonly Action s_spawnJoinLoop = static () =>
    {
        for (int i = 0; i < Spawns; i++) Fiber.Spawn(s_empty).Join();
    };

    private static readonly Action s_spawnBatchLoop = static () =>
    {
        var batch = new Fiber[SpawnBatch];
        for (int round = 0; round < Spawns / SpawnBatch; round++)
        {
            for (int i = 0; i < batch.Length; i++) batch[i] = Fiber.Spawn(s_empty);
            for (int i = 0; i < batch.Length; i++) batch[i].Join();
        }
    };

    [Benchmark(OperationsPerInvoke = Spawns, Description = "Fiber.Spawn(empty).Join()")]
    public void FiberSpawnJoin() => OnHub(s_spawnJoinLoop);

    [Benchmark(OperationsPerInvoke = Spawns, Description = "Fiber.Spawn x1000, then Join each")]
    public void FiberSpawnBatchJoin() => OnHub(s_spawnBatchLoop);

    [Benchmark(OperationsPerInvoke = TaskSpawns, Description = "Task.Run(empty).Wait()")]
    public void TaskRunWait()
    {
        for (int i = 0; i < TaskSpawns; i++) Task.Run(s_empty).Wait();
    }

    [Benchmark(OperationsPerInvoke = TaskSpawns, Description = "await Task.Run(empty)")]
    public void TaskRunAwait() => Task.Run(static async () =>
    {
        for (int i = 0; i < TaskSpawns; i++) await Task.Run(s_empty).ConfigureAwait(false);
    }).Wait();

    [Benchmark(OperationsPerInvoke = ThreadSpawns, Description = "new Thread(empty).Start(); Join()")]
    public void ThreadStartJoin()
    {
        for (int i = 0; i < ThreadSpawns; i++)
        {
            var t = new Thread(s_empty.Invoke);
            t.Start();
            t.Join();
        }
    }
}
