using System.Diagnostics;

namespace FiberRuntime.Benchmarks.Compare;

/// <summary>One operation's time, from <see cref="TimingRunner.Measure"/>.</summary>
/// <param name="NsPerOp">Median over the runs, ns per operation.</param>
/// <param name="MinNs">Fastest run.</param>
/// <param name="MaxNs">Slowest run.</param>
/// <param name="OpsPerRun">Operations per run, picked by calibration.</param>
/// <param name="Runs">Measured runs.</param>
/// <param name="Wall">Wall time of the whole measurement, calibration included.</param>
internal sealed record Timing(double NsPerOp, double MinNs, double MaxNs, long OpsPerRun, int Runs, TimeSpan Wall);

/// <summary>
/// A small self-calibrating timer (BenchmarkDotNet takes minutes; this takes about a second per measurement):
/// a workload is <c>Func&lt;long, double&gt;</c> that performs <c>n</c> operations and returns the seconds they took
/// (measured by the workload itself, so per-run set-up such as starting a partner thread stays outside).
/// </summary>
/// <remarks>
/// Calibration doubles as warm-up (JIT, tiering, thread-pool growth): <c>n</c> grows until one run takes at least
/// half of <see cref="PerRunSeconds"/>; then <c>n</c> is scaled so a run takes about <see cref="PerRunSeconds"/>, and
/// the median of <see cref="Runs"/> runs is reported (the median rather than the mean: on a noisy machine a run that
/// lost the CPU is an outlier, not data).
/// </remarks>
internal sealed class TimingRunner(double perRunSeconds, int runs)
{
    public double PerRunSeconds { get; } = perRunSeconds;

    public int Runs { get; } = runs;

    public static TimingRunner Default { get; } = new(0.25, 5);

    /// <summary>Tiny runs, for the smoke test: numbers, not good ones.</summary>
    public static TimingRunner Smoke { get; } = new(0.005, 3);

    public Timing Measure(Func<long, double> workload, long firstN = 1)
    {
        var wall = Stopwatch.StartNew();
        long n = Math.Max(1, firstN);
        double t = workload(n);
        while (t < PerRunSeconds / 2)
        {
            // aim at the target from what this run says, but grow at most 16x per step (the first runs are cold)
            double scale = t <= 0 ? 16 : Math.Clamp(PerRunSeconds / t, 2, 16);
            n = (long)Math.Ceiling(n * scale);
            t = workload(n);
        }
        n = Math.Max(1, (long)(n * PerRunSeconds / t));
        var perOp = new double[Runs];
        for (int r = 0; r < Runs; r++) perOp[r] = workload(n) / n * 1e9;
        Array.Sort(perOp);
        return new Timing(perOp[Runs / 2], perOp[0], perOp[^1], n, Runs, wall.Elapsed);
    }

    /// <summary>Seconds since <paramref name="start"/> (a <see cref="Stopwatch.GetTimestamp"/>).</summary>
    public static double Since(long start) => (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
}
