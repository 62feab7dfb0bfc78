using System.Diagnostics;

namespace FiberRuntime.TestHost;

/// <summary>
/// Soak runs (issue 12). Each prints one <c>SOAK ...</c> line of measurements and a <c>VERDICT: PASS|FAIL</c> line.
/// <list type="bullet">
/// <item><c>soak switches [--n 10000000]</c>: two greenlets ping-pong n switches; the bytes allocated on the hub thread
/// across the loop must be 0, and RSS flat (see <see cref="Flat"/>) between the first tenth and the end.</item>
/// <item><c>soak waves [--n 1000000] [--wave 10000]</c>: n short fibers in waves of <c>wave</c> live at once; RSS after
/// the last wave must be flat against RSS after the second (the first wave warms the JIT, the GC heap and the arena).</item>
/// <item><c>soak queue [--n 200000]</c>: see <see cref="QueueChaos"/>.</item>
/// </list>
/// Longer runs: pass a larger <c>--n</c> (README, "Reliability").
/// </summary>
internal static class SoakScenarios
{
    /// <summary>"Flat": grew by at most 8 MiB, or 10 % where that is more. RSS is noisy (the GC's gen0 budget and
    /// heap layout, the allocator's arenas: a few MiB between runs), while a leak of a byte per switch or 16 bytes per
    /// fiber is 10 MiB or more at these counts (10^7 switches, 10^6 fibers) and grows with --n.</summary>
    internal static bool Flat(long before, long after) => after <= before + Math.Max(before / 10, 8L << 20);

    internal static long Rss() => long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1]) * Environment.SystemPageSize;

    internal static long Arg(string[] args, string name, long fallback) =>
        args.SkipWhile(a => a != name).Skip(1).Select(long.Parse).FirstOrDefault(fallback);

    public static int Run(string[] args) => args.ElementAtOrDefault(1) switch
    {
        "switches" => Switches(Arg(args, "--n", 10_000_000)),
        "waves" => Waves(Arg(args, "--n", 1_000_000), (int)Arg(args, "--wave", 10_000)),
        "queue" => QueueChaos.Run(Arg(args, "--n", 200_000), (int)Arg(args, "--seed", Environment.TickCount)),
        _ => throw new ArgumentException("soak switches|waves|queue"),
    };

    /// <summary>Prints the measurements and the verdict line; the exit code the tests check.</summary>
    internal static int Verdict(bool pass, string line)
    {
        Console.WriteLine(line);
        Console.WriteLine(pass ? "VERDICT: PASS" : "VERDICT: FAIL");
        return pass ? 0 : 3;
    }

    private static int Switches(long n)
    {
        long half = n / 2;             // each round trip is two switches
        (long allocated, long rssWarm, long rssEnd, long count, double ms) = Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            long seen = 0;
            var partner = new Greenlet(_ =>
            {
                while (true)
                {
                    seen++;
                    root.Switch();
                }
            });
            for (int i = 0; i < 1000; i++) partner.Switch();          // JIT and tiering settle first
            long warmRounds = half / 10;
            for (long i = 0; i < warmRounds; i++) partner.Switch();
            GC.Collect();
            long rssWarm = Rss();
            long before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            for (long i = warmRounds; i < half; i++) partner.Switch();
            sw.Stop();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            GC.Collect();
            long rssEnd = Rss();
            partner.Throw(new GreenletExit());
            return (allocated, rssWarm, rssEnd, seen, sw.Elapsed.TotalMilliseconds);
        });
        long switches = 2 * count;
        return Verdict(allocated == 0 && Flat(rssWarm, rssEnd) && count >= half,
            $"SOAK switches={switches} allocated_bytes={allocated} rss_after_first_tenth_mib={rssWarm >> 20} rss_end_mib={rssEnd >> 20} ns_per_switch={ms * 1e6 / (2.0 * (half - half / 10)):F1}");
    }

    private static int Waves(long n, int wave)
    {
        var rss = new List<long>();
        long ran = 0;
        uint liveAfter = 0, liveBefore = 0;
        Hub.Run(() =>
        {
            Fiber.Sleep(0);                       // the hub loop's own context is live from here on
            liveBefore = Hub.Current!.GetStats().LiveContexts;
            for (long done = 0; done < n; done += wave)
            {
                int size = (int)Math.Min(wave, n - done);
                var fibers = new List<Fiber>(size);
                for (int i = 0; i < size; i++) fibers.Add(Fiber.Spawn(() => { ran++; Fiber.Sleep(0); }));
                Fiber.JoinAll(fibers);
                fibers.Clear();
                Fiber.Sleep(0.001);               // the hub goes idle once: it trims the finished stacks
                GC.Collect();
                rss.Add(Rss());
            }
            liveAfter = Hub.Current!.GetStats().LiveContexts;
        });
        long second = rss[Math.Min(1, rss.Count - 1)], last = rss[^1];
        return Verdict(ran == n && liveAfter == liveBefore && Flat(second, last),
            $"SOAK waves={rss.Count} fibers={ran} live_contexts_before={liveBefore} live_contexts_after={liveAfter} rss_second_wave_mib={second >> 20} rss_last_wave_mib={last >> 20} rss_max_mib={rss.Max() >> 20}");
    }
}
