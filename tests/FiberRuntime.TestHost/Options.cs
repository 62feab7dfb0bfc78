using System.Globalization;

namespace FiberRuntime.TestHost;

/// <summary>The torture scenarios' command line. Every flag is listed in <see cref="Usage"/>; an unknown flag or a
/// missing value is an error (exit 2), so a script cannot believe it asked for something the host ignored.</summary>
internal sealed record Options(
    string Scenario, int Fibers, int Rounds, int GcEvery, int Depth, bool Ring, bool GcThread, bool Unprotected, bool Scheduled,
    bool Sweep, double ParkedFraction, Requirements Require)
{
    public const string Usage = """
        usage: FiberRuntime.TestHost <scenario> [flags]
          smoke                       one greenlet round trip (exit 4 and "REFUSED: ..." if the runtime is refused)
          overflow [--protection-guards]   unbounded recursion on a fiber: must die as a stack overflow
          gcpause --fibers N [--single-lane]   median forced full-GC pause with N parked fibers
          events | profile | threads [...]   diagnostics scenarios (see DiagnosticsScenarios.cs)
          stress | exceptions | quiet [flags]   GC torture; ends with one verdict line:
            VERDICT: PASS ...          every check held and the run exercised what its requirements ask (exit 0)
            VERDICT: CORRUPTION ...    a checksum, reference or round count was wrong (exit 3)
            VERDICT: UNEXERCISED ...   every check held but a requirement was not met, e.g. too few GCs (exit 5)
        torture flags:
          --fibers N            fibers (default 1000)
          --rounds R            rounds per fiber (default 100)
          --gc-every K          force a GC every K switches, 0 = none (default 500)
          --depth D             recursion depth of the deep switches (default 24)
          --ring                fibers switch to each other instead of back to the root
          --scheduled           Fiber.Spawn'ed fibers yielding through the hub loop
          --gc-thread           an external thread forces the GCs, paced by the hub's switches (--gc-every apart)
          --sweep               forced GCs are non-compacting (sweep only: nothing moves, the dead are freed)
          --unprotected         negative control: suspended stacks are not registered with the GC
          --parked-fraction F   a GC counts as "parked" when at least F x fibers were suspended (default 0.9)
        requirements (checked after the run; a run that misses one is UNEXERCISED, not PASS):
          --min-gcs N           GCs while the parked fraction was suspended (default 1)
          --min-compacting N    of those, GCs known to be compacting (default 1 when forced compacting GCs run)
          --min-moved N         switches after which the fiber's witness object had moved (default 1 unless --sweep)
          --min-gen0 N          gen0 collections in the whole run (default 0)
          --min-external N      GCs forced by the external thread (default 1 with --gc-thread)
        scenarios: stress = checksummed graphs, spans and deep frames; exceptions = switches inside catch, finally
          and filters; quiet = objects that only the suspended stacks reference (use with --sweep: without
          protection they are freed under the fibers, which then read wrong values instead of faulting)
        """;

    private static readonly string[] Switches = ["--ring", "--gc-thread", "--unprotected", "--scheduled", "--sweep"];
    private static readonly string[] Values = ["--fibers", "--rounds", "--gc-every", "--depth", "--parked-fraction",
                                                "--min-gcs", "--min-compacting", "--min-moved", "--min-gen0", "--min-external"];

    public static Options Parse(string[] args)
    {
        string scenario = args[0];
        if (scenario is not ("stress" or "exceptions" or "quiet")) throw new UsageException("unknown scenario " + scenario);
        var values = new Dictionary<string, string>();
        var flags = new HashSet<string>();
        for (int i = 1; i < args.Length; i++)
        {
            if (Switches.Contains(args[i])) flags.Add(args[i]);
            else if (Values.Contains(args[i]) && i + 1 < args.Length) values[args[i]] = args[++i];
            else throw new UsageException(Values.Contains(args[i]) ? args[i] + " needs a value" : "unknown flag " + args[i]);
        }
        int Int(string name, int dflt) =>
            values.TryGetValue(name, out string? v) ? int.TryParse(v, out int n) && n >= 0 ? n : throw new UsageException($"{name} {v}: not a count") : dflt;
        int gcEvery = Int("--gc-every", 500);
        bool gcThread = flags.Contains("--gc-thread"), sweep = flags.Contains("--sweep");
        double fraction = values.TryGetValue("--parked-fraction", out string? f)
            ? double.TryParse(f, CultureInfo.InvariantCulture, out double d) && d is >= 0 and <= 1 ? d : throw new UsageException($"--parked-fraction {f}: not in [0, 1]")
            : 0.9;
        var require = new Requirements(
            Int("--min-gcs", 1),
            Int("--min-compacting", gcEvery > 0 && !sweep ? 1 : 0),
            Int("--min-moved", sweep ? 0 : 1),
            Int("--min-gen0", 0),
            Int("--min-external", gcThread ? 1 : 0));
        return new Options(scenario, Int("--fibers", 1000), Int("--rounds", 100), gcEvery, Int("--depth", 24), flags.Contains("--ring"),
                           gcThread, flags.Contains("--unprotected"), flags.Contains("--scheduled"), sweep, fraction, require);
    }

    /// <summary>The number of suspended fibers at which a GC counts as one "with the fibers parked" (at most all but the
    /// running one).</summary>
    public int ParkedThreshold => Math.Max(1, Math.Min((int)Math.Ceiling(Fibers * ParkedFraction), Fibers - 1));

    public string Describe() =>
        $"scenario={Scenario} fibers={Fibers} rounds={Rounds} gcEvery={GcEvery} depth={Depth} ring={Ring} gcThread={GcThread} " +
        $"scheduled={Scheduled} sweep={Sweep} unprotected={Unprotected} serverGC={System.Runtime.GCSettings.IsServerGC} " +
        $"tiered={Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") ?? "default"} " +
        $"gen0size={Environment.GetEnvironmentVariable("DOTNET_GCgen0size") ?? "default"} parkedAtLeast={ParkedThreshold} require=[{Require}]";
}

/// <summary>What a run must have exercised for its PASS to mean anything.</summary>
internal sealed record Requirements(int Gcs, int Compacting, int Moved, int Gen0, int External)
{
    public override string ToString() => $"gcsParked>={Gcs} compactingParked>={Compacting} moved>={Moved} gen0>={Gen0} externalGCs>={External}";
}

internal sealed class UsageException(string message) : Exception(message);
