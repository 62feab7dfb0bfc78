using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace FiberRuntime.Benchmarks.Compare;

/// <summary>
/// The "deep stack" row: one unit suspends and is resumed <see cref="Depth"/> calls deep, n times. This is the
/// switch ping-pong with a call chain between the loop and the suspension point: a fiber pays plain calls (its
/// frames stay on its stack while it is parked); an async method pays per level — each of the
/// <see cref="Depth"/> nested async methods completes asynchronously, so each allocates its state-machine box and
/// its Task, and resuming runs every level's continuation.
/// </summary>
/// <remarks>
/// Every level does work after its callee returns (adds its depth to a counter), so the JIT can neither inline the
/// chain away nor turn it into tail calls, and the sum is checked: <see cref="Depth"/>·(<see cref="Depth"/>+1)/2
/// per round trip. One operation is one round trip of the deep unit: suspend at the bottom, be resumed by the
/// partner (two hand-offs, as two operations of the switch row are).
/// </remarks>
internal static class DeepStackWorkloads
{
    public const int Depth = 10;

    private sealed class Work
    {
        public long Sum;
    }

    private static void Check(Work w, long rounds, string model)
    {
        long expected = rounds * Depth * (Depth + 1) / 2;
        if (w.Sum != expected) throw new InvalidOperationException($"{model} deep stack: level sum {w.Sum}, expected {expected}");
    }

    // ---- fibers: two greenlets Switch()ing, the deep one Depth plain calls down ----

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static object? Descend(Greenlet partner, Work w, int depth)
    {
        object? r = depth == 1 ? partner.Switch(null) : Descend(partner, w, depth - 1);
        w.Sum += depth;
        return r;
    }

    /// <summary>Runs on a hub greenlet (see <see cref="FiberWorkloads"/>): n round trips.</summary>
    public static double Fiber(long n)
    {
        var w = new Work();
        var ping = new Greenlet(_ =>
        {
            Greenlet me = Greenlet.Current!;
            var deep = new Greenlet(() =>              // its parent is ping: when it returns, ping resumes
            {
                while (Descend(me, w, Depth) is null) { }
            });
            long start = Stopwatch.GetTimestamp();
            for (long i = 0; i < n; i++) deep.Switch(null);
            double seconds = TimingRunner.Since(start);
            deep.Switch(s_stop);
            if (!deep.IsDead) throw new InvalidOperationException("the deep greenlet did not finish");
            return seconds;
        });
        double seconds = (double)ping.Switch(null)!;
        Check(w, n, "fiber");                          // n descents; n-1 unwinds resumed by null, the last by stop
        return seconds;
    }

    private static readonly object s_stop = new();

    // ---- Tasks: Depth nested async methods, the innermost awaiting an InlineSignal ----

    private static async Task Level(InlineSignal signal, Work w, int depth)
    {
        if (depth == 1) await signal.WaitAsync().ConfigureAwait(false);
        else await Level(signal, w, depth - 1).ConfigureAwait(false);
        w.Sum += depth;
    }

    /// <summary>The partner sets the deep unit's signal and awaits its own (as the switch row's Task side).</summary>
    public static double Task(long n)
    {
        var deepSignal = new InlineSignal();
        var partnerSignal = new InlineSignal();
        var w = new Work();
        long start = Stopwatch.GetTimestamp();
        Task partner = System.Threading.Tasks.Task.Run(async () =>
        {
            for (long i = 0; i < n; i++)
            {
                deepSignal.Set();
                await partnerSignal.WaitAsync().ConfigureAwait(false);
            }
        });
        Task deep = System.Threading.Tasks.Task.Run(async () =>
        {
            for (long i = 0; i < n; i++)
            {
                await Level(deepSignal, w, Depth).ConfigureAwait(false);
                partnerSignal.Set();
            }
        });
        System.Threading.Tasks.Task.WaitAll(partner, deep);
        double seconds = TimingRunner.Since(start);
        Check(w, n, "Task");
        return seconds;
    }

    // ---- threads: a partner thread Depth calls down, blocked on an AutoResetEvent ----

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Descend(AutoResetEvent wake, Work w, int depth)
    {
        if (depth == 1) wake.WaitOne();
        else Descend(wake, w, depth - 1);
        w.Sum += depth;
    }

    public static double Thread(long n)
    {
        using var deepWake = new AutoResetEvent(false);
        using var partnerWake = new AutoResetEvent(false);
        var w = new Work();
        var deep = new System.Threading.Thread(() =>
        {
            for (long i = 0; i < n; i++)
            {
                Descend(deepWake, w, Depth);
                partnerWake.Set();
            }
        })
        { IsBackground = true, Name = "deep stack" };
        deep.Start();
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < n; i++)
        {
            deepWake.Set();
            partnerWake.WaitOne();
        }
        double seconds = TimingRunner.Since(start);
        deep.Join();
        Check(w, n, "thread");
        return seconds;
    }
}
