using BenchmarkDotNet.Attributes;

namespace FiberRuntime.Benchmarks;

// One of the three primitive benchmark classes (see PrimitiveBenchmarks.cs): FiberPool.Imap next to its Task-based and
// thread-based equivalents, matched by --filter '*PrimitiveBenchmarks*'.

/// <summary>
/// A parallel map with bounded concurrency, per item: 10 000 ints through <c>x * 2</c>, at most 100 calls at once,
/// results in input order (each result checked: <c>result[i] == 2 * i</c>).
/// </summary>
/// <remarks>
/// The thread row (Parallel.For, MaxDegreeOfParallelism = 2) is <b>not equivalent</b>: it partitions CPU work over
/// two threads with no per-item concurrent unit; it is there as the floor for "just compute it".
/// </remarks>
[MemoryDiagnoser]
public class PoolPrimitiveBenchmarks
{
    private const int Items = 10_000;
    private const int PoolSize = 100;

    private static readonly Func<int, int> s_double = static x => x * 2;
    private static readonly int[] s_inputs = Enumerable.Range(0, Items).ToArray();

    private BenchmarkHub? _hub;

    [GlobalSetup(Target = nameof(FiberPoolImap))]
    public void StartHub() => _hub = new BenchmarkHub();

    [GlobalCleanup(Target = nameof(FiberPoolImap))]
    public void StopHub() => _hub?.Dispose();

    private static void Check(int[] results)
    {
        for (int i = 0; i < Items; i++)
            if (results[i] != 2 * i) throw new InvalidOperationException($"map: result[{i}] = {results[i]}");
    }

    private static readonly Action s_fiberImap = static () =>
    {
        var pool = new FiberPool(PoolSize);
        int i = 0;
        foreach (int r in pool.Imap(s_inputs, s_double))
        {
            if (r != 2 * i) throw new InvalidOperationException($"Imap: result[{i}] = {r}");
            i++;
        }
        if (i != Items) throw new InvalidOperationException($"Imap: {i} results");
    };

    [Benchmark(Baseline = true, OperationsPerInvoke = Items, Description = "Fiber: FiberPool(100).Imap(x*2)")]
    public void FiberPoolImap() => _hub!.Invoke(s_fiberImap);

    [Benchmark(OperationsPerInvoke = Items, Description = "Task: Parallel.ForEachAsync(MaxDOP=100)")]
    public void TaskParallelForEachAsync()
    {
        var results = new int[Items];
        Parallel.ForEachAsync(s_inputs, new ParallelOptions { MaxDegreeOfParallelism = PoolSize }, (x, _) =>
        {
            results[x] = s_double(x);
            return ValueTask.CompletedTask;
        }).Wait();
        Check(results);
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "Task: Task.Run per item, SemaphoreSlim(100), WhenAll")]
    public void TaskRunSemaphore()
    {
        int[] results = Task.Run(static async () =>
        {
            var gate = new SemaphoreSlim(PoolSize);
            var tasks = new Task<int>[Items];
            for (int i = 0; i < Items; i++)
            {
                await gate.WaitAsync().ConfigureAwait(false);
                int x = s_inputs[i];
                tasks[i] = Task.Run(() =>
                {
                    try
                    {
                        return s_double(x);
                    }
                    finally
                    {
                        gate.Release();
                    }
                });
            }
            return await Task.WhenAll(tasks).ConfigureAwait(false);
        }).Result;
        Check(results);
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "Threads: Parallel.For(MaxDOP=2) - NOT equivalent, CPU partitioning")]
    public void ThreadParallelFor()
    {
        var results = new int[Items];
        Parallel.For(0, Items, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i => results[i] = s_double(s_inputs[i]));
        Check(results);
    }
}
