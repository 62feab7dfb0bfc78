using BenchmarkDotNet.Attributes;

namespace FiberRuntime.Benchmarks;

/// <summary>
/// Ping-pong between two parties, reported per hand-off: each benchmark does <c>N</c> one-way hand-offs per
/// invocation (<c>N / 2</c> round trips) and declares <c>OperationsPerInvoke = N</c>, so "Mean" reads as
/// ns per switch and "Allocated" as bytes per switch.
/// </summary>
[MemoryDiagnoser]
public class SwitchBenchmarks
{
    // Greenlet switches per invocation. Each invocation also pays one cross-thread request/completion
    // hand-off to the long-lived hub (two SemaphoreSlim wake-ups: ~7 µs measured back to back with N = 2,
    // some tens of µs if the hub thread has gone to sleep in the kernel). At 40-100 ns per switch,
    // 100 000 switches take 4-10 ms, so that fixed cost stays under 2% of the measurement (typically < 0.2%).
    private const int GreenletSwitches = 100_000;

    // Task hand-offs per invocation; the two Task.Run starts and the final wait are amortised the same way.
    private const int TaskHandOffs = 100_000;

    // OS-thread hand-offs are microseconds each (a futex wake-up per hand-off once spinning gives up): fewer.
    private const int ThreadHandOffs = 20_000;

    // ---- greenlets: one long-lived hub ------------------------------------------------------------------

    private BenchmarkHub? _hub;
    private Greenlet? _ping;
    private Action? _pingPong;

    [GlobalSetup(Target = nameof(GreenletPingPong))]
    public void StartHub()
    {
        _hub = new BenchmarkHub(() =>
        {
            // runs on the hub's root greenlet: two greenlets that switch to each other GreenletSwitches times,
            // then back to the root
            Greenlet root = Greenlet.Current!;
            Greenlet? ping = null;
            var pong = new Greenlet(() =>
            {
                while (true) ping!.Switch(null);
            });
            ping = new Greenlet(() =>
            {
                while (true)
                {
                    // pong.Switch + pong's ping.Switch: two switches per round trip. Passing null keeps the loop
                    // free of allocations (no boxing, nothing captured per switch).
                    for (int i = 0; i < GreenletSwitches / 2; i++) pong.Switch(null);
                    root.Switch(null);
                }
            });
            _ping = ping;
        });
        _pingPong = () => _ping!.Switch(null);     // returns after GreenletSwitches switches
    }

    [GlobalCleanup(Target = nameof(GreenletPingPong))]
    public void StopHub() => _hub?.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = GreenletSwitches, Description = "Greenlet ping-pong")]
    public void GreenletPingPong() => _hub!.Invoke(_pingPong!);

    // ---- tasks: SemaphoreSlim.WaitAsync -----------------------------------------------------------------

    private readonly SemaphoreSlim _taskPing = new(0);
    private readonly SemaphoreSlim _taskPong = new(0);

    [Benchmark(OperationsPerInvoke = TaskHandOffs, Description = "Task ping-pong (SemaphoreSlim.WaitAsync)")]
    public void TaskSemaphorePingPong()
    {
        // Each WaitAsync that has to wait returns a new Task and its completion is queued to the thread pool:
        // one pool hop per hand-off.
        SemaphoreSlim ping = _taskPing, pong = _taskPong;
        Task a = Task.Run(async () =>
        {
            for (int i = 0; i < TaskHandOffs / 2; i++)
            {
                pong.Release();
                await ping.WaitAsync().ConfigureAwait(false);
            }
        });
        Task b = Task.Run(async () =>
        {
            for (int i = 0; i < TaskHandOffs / 2; i++)
            {
                await pong.WaitAsync().ConfigureAwait(false);
                ping.Release();
            }
        });
        Task.WaitAll(a, b);
    }

    // ---- tasks: reusable IValueTaskSource ---------------------------------------------------------------

    private readonly InlineSignal _vtsPing = new();
    private readonly InlineSignal _vtsPong = new();

    [Benchmark(OperationsPerInvoke = TaskHandOffs, Description = "Task ping-pong (ManualResetValueTaskSourceCore)")]
    public void TaskValueTaskSourcePingPong()
    {
        InlineSignal ping = _vtsPing, pong = _vtsPong;
        Task a = Task.Run(async () =>
        {
            for (int i = 0; i < TaskHandOffs / 2; i++)
            {
                pong.Set();
                await ping.WaitAsync().ConfigureAwait(false);
            }
        });
        Task b = Task.Run(async () =>
        {
            for (int i = 0; i < TaskHandOffs / 2; i++)
            {
                await pong.WaitAsync().ConfigureAwait(false);
                ping.Set();
            }
        });
        Task.WaitAll(a, b);
    }

    // ---- two OS threads: SemaphoreSlim.Release / Wait ---------------------------------------------------

    private readonly SemaphoreSlim _threadPing = new(0);
    private readonly SemaphoreSlim _threadPong = new(0);
    private volatile bool _threadStop;
    private Thread? _ponger;

    [GlobalSetup(Target = nameof(ThreadPingPong))]
    public void StartPonger()
    {
        // The benchmark thread is one side; a long-lived thread is the other (no thread start per invocation).
        _ponger = new Thread(() =>
        {
            while (true)
            {
                _threadPing.Wait();
                if (_threadStop) return;
                _threadPong.Release();
            }
        })
        { IsBackground = true, Name = "ponger" };
        _ponger.Start();
    }

    [GlobalCleanup(Target = nameof(ThreadPingPong))]
    public void StopPonger()
    {
        _threadStop = true;
        _threadPing.Release();
        _ponger?.Join();
    }

    [Benchmark(OperationsPerInvoke = ThreadHandOffs, Description = "Two threads (SemaphoreSlim)")]
    public void ThreadPingPong()
    {
        SemaphoreSlim ping = _threadPing, pong = _threadPong;
        for (int i = 0; i < ThreadHandOffs / 2; i++)
        {
            ping.Release();
            pong.Wait();
        }
    }
}
