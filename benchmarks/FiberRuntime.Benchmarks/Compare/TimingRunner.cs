using System.Diagnostics;
using System.Runtime;

namespace FiberRuntime.Benchmarks.Compare;

/// <summary>One operation's time, from <see cref="TimingRunner.Measure"/>.</summary>
/// <param name="NsPerOp">Median over the runs, ns per operation.</param>
/// <param name="MinNs">Fastest run.</param>
/// <param name="MaxNs">Slowest run.</param>
/// <param name="OpsPerRun">Operations per run, picked by calibration.</param>
/// <param name="Runs">Measured runs.</param>
/// <param name="Wall">Time spent running this workload, calibration and warm-up included.</param>
/// <param name="WarmupRounds">Warm-up rounds run after calibration (<see cref="TimingRunner.SettleRounds"/>).</param>
/// <param name="Settled">Whether the last warm-up round compiled nothing (false: the cap was reached first).</param>
internal sealed record Timing(double NsPerOp, double MinNs, double MaxNs, long OpsPerRun, int Runs, TimeSpan Wall, int WarmupRounds, bool Settled);

/// <summary>
/// A small self-calibrating timer (BenchmarkDotNet takes minutes; this takes about a second per measurement):
/// a workload is <c>Func&lt;long, double&gt;</c> that performs <c>n</c> operations and returns the seconds they took
/// (measured by the workload itself, so per-run set-up such as starting a partner thread stays outside).
/// </summary>
/// <remarks>
/// Calibration doubles as warm-up (JIT, tiering, thread-pool growth): <c>n</c> grows until one run takes at least
/// half of <see cref="PerRunSeconds"/>; then <c>n</c> is scaled so a run takes about <see cref="PerRunSeconds"/>.
/// <see cref="MeasureSideBySide"/> calibrates every model of a row first, then warms them up together until the JIT
/// has settled (see <see cref="SettleRounds"/>), then interleaves their runs, rotating the order each round (A B C,
/// B C A, C A B, ...): a burst of outside load lands on all of them rather than on whichever ran at that moment, and
/// no model always runs in the wake of the same other one (a thread workload's exits, a pool's spinning workers).
/// Each model's median of <see cref="Runs"/> runs is reported (the median rather than the mean: on a noisy machine a
/// run that lost the CPU is an outlier, not data).
/// </remarks>
internal sealed class TimingRunner(double perRunSeconds, int runs, int settleRounds)
{
    public double PerRunSeconds { get; } = perRunSeconds;

    public int Runs { get; } = runs;

    /// <summary>At most this many warm-up rounds (every model run once each, at its calibrated size) after calibration,
    /// stopping at the first round in which the JIT compiled nothing. Calibration alone leaves code tiering: a loop
    /// that runs a few times (a fiber workload's loop, run once per call) stays in its on-stack-replacement version
    /// with the library methods it inlined as they were then, and methods that became hot late are still queued for
    /// their Tier1 compile, while an async workload's MoveNext is called once per operation and tiers up at once. A
    /// round with no compilation is the steady state that BenchmarkDotNet's warm-up reaches, and what a long-running
    /// program runs.</summary>
    public int SettleRounds { get; } = settleRounds;

    public static TimingRunner Default { get; } = new(0.25, 5, 6);

    /// <summary>Tiny runs, for the smoke test: numbers, not good ones.</summary>
    public static TimingRunner Smoke { get; } = new(0.005, 3, 1);

    /// <summary>Operations per run so that one run of <paramref name="workload"/> takes about <see cref="PerRunSeconds"/>.</summary>
    public long Calibrate(Func<long, double> workload, long firstN = 1)
    {
        long n = Math.Max(1, firstN);
        double t = workload(n);
        while (t < PerRunSeconds / 2)
        {
            // aim at the target from what this run says, but grow at most 16x per step (the first runs are cold)
            double scale = t <= 0 ? 16 : Math.Clamp(PerRunSeconds / t, 2, 16);
            n = (long)Math.Ceiling(n * scale);
            t = workload(n);
        }
        return Math.Max(1, (long)(n * PerRunSeconds / t));
    }

    public Timing Measure(Func<long, double> workload) => MeasureSideBySide([workload])[0].Timing!;

    /// <summary>Calibrates each workload, then runs them in turn <see cref="Runs"/> times. A workload that throws gets
    /// its exception in the result and is not run again; the others carry on.</summary>
    public (Timing? Timing, Exception? Error)[] MeasureSideBySide(IReadOnlyList<Func<long, double>> workloads)
    {
        int k = workloads.Count;
        var n = new long[k];
        var perOp = new double[k][];
        var errors = new Exception?[k];
        var wall = new TimeSpan[k];
        for (int i = 0; i < k; i++)
        {
            perOp[i] = new double[Runs];
            long start = Stopwatch.GetTimestamp();
            try
            {
                n[i] = Calibrate(workloads[i]);
            }
            catch (Exception e)
            {
                errors[i] = e;
            }
            wall[i] += Stopwatch.GetElapsedTime(start);
        }
        // one run of workload i at its calibrated size: ns per operation, or NaN once it has failed
        double RunOnce(int i)
        {
            if (errors[i] is not null) return double.NaN;
            long start = Stopwatch.GetTimestamp();
            double ns = double.NaN;
            try
            {
                ns = workloads[i](n[i]) / n[i] * 1e9;
            }
            catch (Exception e)
            {
                errors[i] = e;
            }
            wall[i] += Stopwatch.GetElapsedTime(start);
            return ns;
        }
        int warmup = 0;
        bool settled = false;
        while (warmup < SettleRounds && !settled)
        {
            long compiled = JitInfo.GetCompiledMethodCount();
            for (int i = 0; i < k; i++) RunOnce((i + warmup) % k);
            warmup++;
            settled = JitInfo.GetCompiledMethodCount() == compiled;
        }
        for (int r = 0; r < Runs; r++)
        {
            for (int j = 0; j < k; j++)
            {
                int i = (j + r) % k;
                perOp[i][r] = RunOnce(i);
            }
        }
        var results = new (Timing?, Exception?)[k];
        for (int i = 0; i < k; i++)
        {
            if (errors[i] is { } e)
            {
                results[i] = (null, e);
                continue;
            }
            Array.Sort(perOp[i]);
            results[i] = (new Timing(perOp[i][Runs / 2], perOp[i][0], perOp[i][^1], n[i], Runs, wall[i], warmup, settled), null);
        }
        return results;
    }

    /// <summary>Seconds since <paramref name="start"/> (a <see cref="Stopwatch.GetTimestamp"/>).</summary>
    public static double Since(long start) => (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
}
