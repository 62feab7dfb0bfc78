using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace FiberRuntime.TestHost;

/// <summary>Median full-GC pause with N fibers suspended inside catch blocks (N/2) and outside handlers (N/2).
/// Usage: gcpause --fibers N [--single-lane]. Prints "gcpause: fibers=N lanes=L median_ms=X".</summary>
internal static class GcPause
{
    public static int Run(string[] args)
    {
        int i = Array.IndexOf(args, "--fibers");
        int n = i >= 0 ? int.Parse(args[i + 1]) : 1000;
        bool single = args.Contains("--single-lane");
        var options = new HubOptions { MaxFibers = n + 8, SingleIdentityLane = single };
        string line = Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var parked = new List<Greenlet>();
            for (int k = 0; k < n; k++)
            {
                int id = k;
                var g = new Greenlet(() =>
                {
                    var keep = new int[] { id };
                    if (id % 2 == 0)
                    {
                        try { throw new InvalidOperationException("parked in a handler " + id); }
                        catch (InvalidOperationException) { root.Switch(); }
                    }
                    else root.Switch();
                    GC.KeepAlive(keep);
                });
                g.Switch();
                parked.Add(g);
            }
            var times = new List<double>();
            for (int r = 0; r < 21; r++)
            {
                var sw = Stopwatch.StartNew();
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            uint lanes = Hub.Current!.GetStats().Lanes;
            foreach (Greenlet g in parked) g.Switch();
            return $"gcpause: fibers={n} lanes={lanes} median_ms={times[times.Count / 2]:F2}";
        }, options);
        Console.WriteLine(line);
        return 0;
    }
}

internal static class Recursion
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long Deep(long n)
    {
        Span<byte> pad = stackalloc byte[512];
        pad[(int)(n & 511)] = (byte)n;
        return n > long.MaxValue - 2 ? n : Deep(n + 1) + pad[0];
    }
}
