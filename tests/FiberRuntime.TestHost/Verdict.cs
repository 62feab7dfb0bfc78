using System.Diagnostics;

namespace FiberRuntime.TestHost;

/// <summary>Runs a torture scenario and prints its verdict line (the line the xunit suite and the runtime-matrix
/// script parse; its first two words are stable).</summary>
internal static class Verdict
{
    public static int Run(Options o)
    {
        Console.WriteLine(o.Describe());
        var torture = new Torture(o);
        var sw = Stopwatch.StartNew();
        torture.OnCorruption = t =>
        {
            Console.WriteLine("VERDICT: CORRUPTION " + Stats(o, t, sw));
            Console.Out.Flush();
            Exit(3);
        };
        torture.Run();
        sw.Stop();
        // how this process's switches enter cooperative mode (the fast path, or the callback and why)
        Console.WriteLine("SWITCH PATH: " + Interop.RuntimeContract.Note);
        GcLedger l = torture.Ledger;
        long expectedRounds = (long)o.Fibers * o.Rounds;
        string stats = Stats(o, torture, sw);
        // CORRUPTION: a check failed or control flow went astray (fewer rounds than fibers x rounds)
        if (torture.Errors != 0 || torture.RoundsCompleted != expectedRounds || torture.Checks == 0)
        {
            Console.WriteLine("VERDICT: CORRUPTION " + stats);
            return 3;
        }
        Requirements q = o.Require;
        var missed = new List<string>();
        void Need(string what, long got, int min)
        {
            if (got < min) missed.Add($"{what}={got}<{min}");
        }
        Need("gcsParked", l.GcsParked, q.Gcs);
        Need("compactingParked", l.CompactingParked, q.Compacting);
        Need("moved", torture.Moved, q.Moved);
        Need("gen0", l.Gen0, q.Gen0);
        Need("externalGCs", torture.ExternalGcs, q.External);
        if (missed.Count > 0)
        {
            // every check held, but the run did not go through what it claims to test: not a pass
            Console.WriteLine($"VERDICT: UNEXERCISED missed=[{string.Join(' ', missed)}] {stats}");
            return 5;
        }
        Console.WriteLine("VERDICT: PASS " + stats);
        return 0;
    }

    private static string Stats(Options o, Torture torture, Stopwatch sw)
    {
        GcLedger l = torture.Ledger;
        long expectedRounds = (long)o.Fibers * o.Rounds;
        return $"rounds={torture.RoundsCompleted}/{expectedRounds} switches={torture.Switches} forcedGCs={torture.ForcedGcs} " +
                       $"externalGCs={torture.ExternalGcs} gen0={l.Gen0} gen1={l.Gen1} gen2={l.Gen2} gcsParked={l.GcsParked} " +
                       $"compactingParked={l.CompactingParked} maxParkedAtGC={l.MaxParkedAtGc} moved={torture.Moved} " +
                       $"checks={torture.Checks} errors={torture.Errors} hubSwitches={torture.HubSwitches} callbackSwitches={torture.CallbackSwitches} ms={sw.ElapsedMilliseconds}";
    }

    /// <summary>Ends the process now, without unwinding the fibers or running another GC over stale references.</summary>
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "_exit")]
    private static extern void Exit(int status);
}
