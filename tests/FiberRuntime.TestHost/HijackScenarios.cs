using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace FiberRuntime.TestHost;

/// <summary>
/// <c>hijack [--seconds 3] [--max-seconds 60] [--min-events 3] [--fibers 64]</c>: provokes return-address hijacks of the hub thread and reports what the
/// switch's hijack guard saw (issue 12). Many fibers run tight loops of non-inlined calls and switch every few
/// thousand calls, while an outside thread forces GCs back to back: every GC suspension interrupts the hub thread in
/// managed code and hijacks the return address of the frame it interrupted. A sampler thread counts how often the hub
/// thread is seen hijacked (and checks the runtime's fields read as a hijack of one of its stacks); the hub's counters
/// say how many hijacks were still standing when a greenlet switched away or exited. Then a planted hijack (a word on
/// a greenlet's stack) shows the guard undoes one. Every fiber's result is checked against the same computation on a
/// plain thread: a stray write-back into a stack would change it.
/// </summary>
internal static unsafe class HijackScenarios
{
    public static int Run(string[] args)
    {
        double seconds = SoakScenarios.Arg(args, "--seconds", 3);
        int fibers = (int)SoakScenarios.Arg(args, "--fibers", 64);
        // at least `seconds`; longer (up to max) until the sampler has seen min-events hijacks: on a loaded machine
        // GCs are fewer and the hub thread is more often found preemptive
        double maxSeconds = SoakScenarios.Arg(args, "--max-seconds", 60);
        ulong minEvents = (ulong)SoakScenarios.Arg(args, "--min-events", 3);
        bool done = false;
        const int callsPerSlice = 2000;
        long expectedPerSlice = Slice(0, callsPerSlice);
        ulong samples = 0, hijackedSamples = 0, inconsistent = 0, events = 0, guardSeenNaturally = 0;
        long gcs = 0, slices = 0, wrong = 0;
        bool stop = false;
        string planted = "";
        double elapsed = 0;
        var stats = Hub.Run(() =>
        {
            Hub hub = Hub.Current!;
            nint sampler = hub.StartHijackSampler();
            var collector = new Thread(() =>
            {
                while (!Volatile.Read(ref stop))
                {
                    GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                    Interlocked.Increment(ref gcs);
                    Thread.Sleep(1);                // the hub gets to run between suspensions
                }
            }) { IsBackground = true, Name = "forcing GCs" };
            collector.Start();
            var deadline = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, fibers).Select(i => Fiber.Spawn(() =>
            {
                while (!done)
                {
                    if (Slice(0, callsPerSlice) != expectedPerSlice) wrong++;
                    slices++;
                    Fiber.Sleep(0);
                }
            })).ToList();
            while (true)
            {
                Fiber.Sleep(0.05);
                double t = deadline.Elapsed.TotalSeconds;
                if (t >= maxSeconds || (t >= seconds && (sampler == 0 || Hub.HijackSamplerEvents(sampler) >= minEvents))) break;
            }
            done = true;
            Fiber.JoinAll(workers);
            Volatile.Write(ref stop, true);
            collector.Join();
            if (sampler != 0) (samples, hijackedSamples, inconsistent, events) = Hub.StopHijackSampler(sampler);
            guardSeenNaturally = hub.GetStats().HijacksSeen;
            elapsed = deadline.Elapsed.TotalSeconds;
            planted = PlantAndSwitch(hub);
            return hub.GetStats();
        });
        bool plantedOk = planted.StartsWith("undone", StringComparison.Ordinal);
        string line = $"HIJACK seconds={elapsed:F1} fibers={fibers} switches={stats.Switches} slices={slices} wrong_results={wrong} gcs={gcs} " +
                          $"sampler_samples={samples} sampler_hijacked_samples={hijackedSamples} sampler_hijack_events={events} sampler_inconsistent={inconsistent} " +
                          $"guard_seen_at_switches={guardSeenNaturally} guard_seen_with_planted={stats.HijacksSeen} guard_in_outgoing={stats.HijacksInOutgoing} guard_undone={stats.HijacksUndone} planted={planted}";
        return SoakScenarios.Verdict(wrong == 0 && inconsistent == 0 && plantedOk && slices > 0, line);
    }

    /// <summary>In a fiber: a planted hijack of a word on its own stack, then a switch away (to another fiber) and back. The guard must
    /// have written the "original return address" back and counted one undo.</summary>
    private static string PlantAndSwitch(Hub hub) => Fiber.Spawn(() =>
    {
        ulong before = hub.GetStats().HijacksUndone;
        nint word = 0;
        if (!hub.PlantTestHijack(&word, 0x5EED)) return "not verified";
        Fiber other = Fiber.Spawn(static () => { });
        Fiber.Sleep(0);         // switches to `other` (a lone yielder would be its own next and not switch at all)
        if (!other.IsReady) return "NOT switched";
        ulong undone = hub.GetStats().HijacksUndone - before;
        return undone == 1 && word == 0x5EED ? "undone" : $"NOT undone (counter +{undone}, word {word:x})";
    }).Get();

    // Optimized from the first call: partially interruptible code, where a suspension must hijack a return address
    // (Tier-0 code can be stopped where it is).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long Slice(long acc, int calls)
    {
        for (int j = 0; j < calls; j++) acc = Leaf(acc, j);
        return acc;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long Leaf(long a, int j) => (a * 31 + j) ^ (a >> 3);
}
