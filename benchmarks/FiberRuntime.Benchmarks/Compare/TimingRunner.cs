using System.Diagnostics;

namespace FiberRuntime.Benchmarks.Compare;

/// <summary>One operation's time, from <see cref="TimingRunner.Measure"/>.</summary>
/// <param name="NsPerOp">Median over the runs, ns per operation.</param>
/// <param name="MinNs">Fastest run.</param>
/// <param name="MaxNs">Slowest run.</param>
/// <param name="OpsPerRun">Operations per run, picked by calibration.</param>
/// <param name="Runs">Measured runs.</param>
/// <param name="Wall">Time spent running this workload, calibration included.</param>
internal sealed record Timing(double NsPerOp, double MinNs, double MaxNs, long OpsPerRun, int Runs, TimeSpan Wall);

/// <summary>
/// A small self-calibrating timer (BenchmarkDotNet takes minutes; this takes about a second per measurement):
/// a workload is <c>Func&lt;long, double&gt;</c> that performs <c>n</c> operations and returns the seconds they took
/// (measured by the workload itself, so per-run set-up such as starting a partner thread stays outside).
/// </summary>
/// <remarks>
/// Calibration doubles as warm-up (JIT, tiering, thread-pool growth): <c>n</c> grows until one run takes at least
/// half of <see cref="PerRunSeconds"/>; then <c>n</c> is scaled so a run takes about <see cref="PerRunSeconds"/>.
/// <see cref="MeasureSideBySide"/> calibrates every model of a row first, then interleaves their runs (A, B, C, A, B,
/// C, ...), so a burst of outside load lands on all of them rather than on whichever ran at that moment; each model's
/// median of <see cref="Runs"/> runs is reported (the median rather than the mean: on a noisy machine a run that lost
/// the CPU is an outlier, not data).
/// </remarks>
internal sealed class TimingRunner(double perRunSeconds, int runs)
{
    public double PerRunSeconds { get; } = perRunSeconds;

    public int Runs { get; } = runs;

    public static TimingRunner Default { get; } = new(0.25, 5);

    /// <summary>Tiny runs, for the smoke test: numbers, not good ones.</summary>
    public static TimingRunner Smoke { get; } = new(0.005, 3);

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
        for (int r = 0; r < Runs; r++)
        {
            for (int i = 0; i < k; i++)
            {
                if (errors[i] is not null) continue;
                long start = Stopwatch.GetTimestamp();
                try
                {
                    perOp[i][r] = workloads[i](n[i]) / n[i] * 1e9;
                }
                catch (Exception e)
                {
                    errors[i] = e;
                }
                wall[i] += Stopwatch.GetElapsedTime(start);
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
            results[i] = (new Timing(perOp[i][Runs / 2], perOp[i][0], perOp[i][^1], n[i], Runs, wall[i]), null);
        }
        return results;
    }

    /// <summary>Seconds since <paramref name="start"/> (a <see cref="Stopwatch.GetTimestamp"/>).</summary>
    public static double Since(long start) => (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
}
