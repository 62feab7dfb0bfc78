// The GC stress suite's configurations and the rule that judges a negative control, in one place. Compiled into the
// test host (whose `suite` command prints them for .ci/runtime-matrix and judges a control's ending there) and linked
// into FiberRuntime.Tests (GcTortureTests runs every configuration), so the CI matrix and the xunit suite can never
// run different stress or accept different endings.
namespace FiberRuntime.TestHost;

/// <summary>One stress configuration: host arguments (with the minimums the run must meet) and its environment.</summary>
/// <param name="Subsets">The named subsets it belongs to besides the full suite: "ci" (each runtime of the matrix),
/// "emulator" (an emulated architecture, 6–13× slower).</param>
internal sealed record StressConfiguration(string Name, string Arguments, string[] Environment, params string[] Subsets);

internal static class StressSuite
{
    private const string Stress = "stress --fibers 1000 --rounds 40 --gc-every 500";
    private const string Exceptions = "exceptions --fibers 200 --rounds 30 --gc-every 100";
    // 80 forced compacting GCs (stress) / 150 (exceptions) run; every switch's witness is moved by one
    private const string StressMinimums = " --min-gcs 60 --min-compacting 60 --min-moved 20000";
    private const string ExceptionMinimums = " --min-gcs 100 --min-compacting 100 --min-moved 7500";
    /// <summary>DOTNET_GCgen0size=0x10000 gave 85-98 gen0 GCs for this run, the default budget 3 (2-core machine, under
    /// load).</summary>
    public const string Gen0Budget = "stress --fibers 1000 --rounds 40 --gc-every 0 --min-gen0 40 --min-gcs 30 --min-compacting 20 --min-moved 10000";
    /// <summary>Objects only the suspended stacks hold, sweeping (non-compacting) GCs: without protection nothing moves
    /// and nothing faults, so only the checksums can tell.</summary>
    public const string Quiet = "quiet --fibers 1000 --rounds 20 --gc-every 500 --sweep";
    // sized for an emulator (qemu-user runs the runtime 6-13x slower): 40 forced GCs, witnesses moved by each
    private const string EmulatedStress = "stress --fibers 200 --rounds 20 --gc-every 100 --min-gcs 30 --min-compacting 30 --min-moved 2000";
    private const string EmulatedExceptions = "exceptions --fibers 60 --rounds 10 --gc-every 30 --min-gcs 15 --min-compacting 15 --min-moved 300";
    private static readonly string[] ServerGc = ["DOTNET_gcServer=1", "DOTNET_GCHeapCount=2"];
    /// <summary>FIBERRUNTIME_SWITCH_PATH (src/FiberRuntime/Interop/SwitchFastPath.cs).</summary>
    public const string SlowPath = "FIBERRUNTIME_SWITCH_PATH=callback", Alternate = "FIBERRUNTIME_SWITCH_PATH=alternate";

    /// <summary>Every positive configuration; each is also a negative control with --unprotected.</summary>
    public static readonly StressConfiguration[] Configurations =
    [
        new("workstation GC", Stress + StressMinimums, [], "ci"),
        new("fibers switching to each other (ring)", Stress + " --ring" + StressMinimums, [], "ci"),
        new("server GC, 2 heaps", Stress + StressMinimums, ServerGc, "ci"),
        new("tiered compilation off", Stress + StressMinimums, ["DOTNET_TieredCompilation=0"]),
        new("tiny gen0 budget: GCs at natural allocation points", Gen0Budget, ["DOTNET_GCgen0size=0x10000"], "ci"),
        // the hub waits for the collector when two periods ahead: ~60-120 external GCs
        new("an external thread forcing compacting GCs while fibers run",
            "stress --fibers 1000 --rounds 6 --gc-every 50 --gc-thread --min-external 30 --min-gcs 20 --min-compacting 20 --min-moved 3000", []),
        new("non-concurrent workstation GC", Stress + StressMinimums, ["DOTNET_gcConcurrent=0"]),
        new("scheduled fibers yielding through the hub loop", Stress + " --scheduled" + StressMinimums, [], "ci"),
        new("scheduled fibers switching inside handlers", Exceptions + " --scheduled" + ExceptionMinimums, []),
        new("switches inside catch, finally and filters", Exceptions + ExceptionMinimums, [], "ci"),
        new("switches inside handlers, server GC", Exceptions + ExceptionMinimums, ServerGc),
        new("switches inside handlers, tiered compilation off", Exceptions + ExceptionMinimums, ["DOTNET_TieredCompilation=0"]),
        new("switches inside handlers, external GC thread",
            "exceptions --fibers 200 --rounds 20 --gc-every 50 --gc-thread --min-external 40 --min-gcs 40 --min-compacting 40 --min-moved 5000", []),
        new("objects only the suspended stacks hold, sweeping GCs", Quiet + " --min-gcs 30", [], "ci"),
        // the switch's two ways into cooperative mode (native/src/trap.c): every switch through the callback, and the
        // two alternating, so contexts suspended one way resume the other (the default runs above take the fast path)
        new("every switch through the callback", Stress + StressMinimums, [SlowPath], "ci"),
        new("switches inside handlers, every switch through the callback", Exceptions + ExceptionMinimums, [SlowPath]),
        new("fast and callback switches alternating", Stress + " --ring" + StressMinimums, [Alternate], "ci"),
        new("switches inside handlers, fast and callback alternating", Exceptions + ExceptionMinimums, [Alternate]),
        new("fast and callback alternating, external GC thread",
            "stress --fibers 1000 --rounds 6 --gc-every 50 --gc-thread --min-external 30 --min-gcs 20 --min-compacting 20 --min-moved 3000", [Alternate]),
        new("emulator-sized: raw switches, compacting GCs", EmulatedStress, [], "emulator"),
        new("emulator-sized: scheduled fibers", EmulatedStress + " --scheduled", [], "emulator"),
        new("emulator-sized: switches inside handlers", EmulatedExceptions, [], "emulator"),
        new("emulator-sized: fast and callback switches alternating", EmulatedStress, [Alternate], "emulator"),
    ];

    /// <summary>The configurations of a subset ("all" for every one).</summary>
    public static IEnumerable<StressConfiguration> Subset(string subset) =>
        subset == "all" ? Configurations : Configurations.Where(c => c.Subsets.Contains(subset));

    // A child killed by signal N exits with 128 + N (Process.ExitCode, and the shell's $?)
    private const int Sigabrt = 128 + 6, Sigbus = 128 + 7, Sigsegv = 128 + 11;

    /// <summary>How a negative control (protection off) ended, and whether that is a failure of the right kind: a crash
    /// signal, the runtime's abort after a fatal error or a fault it turned into an exception, or the checksums'
    /// corruption verdict — within the time limit. A hang, a pass, or any other exit is not.</summary>
    public static string ClassifyControl(int exitCode, string output, bool timedOut, TimeSpan limit, out bool acceptable)
    {
        acceptable = false;
        if (timedOut) return $"hung: still running after {limit}, killed";
        if (output.Contains("VERDICT: PASS", StringComparison.Ordinal)) return $"passed (exit {exitCode}): the protection was not needed";
        if (output.Contains("VERDICT: CORRUPTION", StringComparison.Ordinal))
        {
            acceptable = exitCode == 3;
            return $"checksums reported corruption (exit {exitCode})";
        }
        if (exitCode is Sigsegv or Sigbus)
        {
            acceptable = true;
            return $"killed by {(exitCode == Sigsegv ? "SIGSEGV" : "SIGBUS")}";
        }
        if (exitCode == Sigabrt)
        {
            // the runtime aborts on a fatal error, or on a fault in managed code turned into an exception nobody catches
            // ("MISMATCH:" is the checksums' own report, printed before the verdict when the abort came while reporting;
            // an index check failing on the hub's own slot table is the same fault as a NullReference: an array field
            // read through a reference the GC moved the object away from; so is a cast, or an interface call, failing in
            // code where neither can — the stressed code's, or the runtime's own, e.g. inside an AsyncLocal notification,
            // which the runtime turns into a FailFast: the reference now points at another object, and an interface
            // dispatch on it finds no entry point)
            string[] fatal = ["MISMATCH:", "Fatal error", "Internal CLR error", "System.NullReferenceException", "System.IndexOutOfRangeException",
                              "System.AccessViolationException", "System.ExecutionEngineException", "System.InvalidCastException",
                              "System.ArrayTypeMismatchException", "System.EntryPointNotFoundException"];
            string? seen = fatal.FirstOrDefault(f => output.Contains(f, StringComparison.Ordinal));
            acceptable = seen is not null;
            return seen is not null ? $"SIGABRT after \"{seen}\"" : "SIGABRT without a fatal error or a fault in the output (an unrelated abort)";
        }
        return $"ended with exit {exitCode}, neither a crash signal nor a corruption verdict";
    }

    /// <summary>The host's <c>suite</c> command, for scripts:
    /// <c>suite list [all|ci|emulator]</c> prints <c>name|arguments|environment</c> per configuration;
    /// <c>suite judge-control EXIT LOGFILE [--timed-out]</c> prints how a control ended and exits 0 when that is an
    /// acceptable failure, 1 when not.</summary>
    public static int Command(string[] args)
    {
        switch (args.ElementAtOrDefault(1))
        {
            case "list":
                foreach (StressConfiguration c in Subset(args.ElementAtOrDefault(2) ?? "all"))
                    Console.WriteLine($"{c.Name}|{c.Arguments}|{string.Join(' ', c.Environment)}");
                return 0;
            case "judge-control" when args.Length >= 4 && int.TryParse(args[2], out int exit):
                string how = ClassifyControl(exit, File.ReadAllText(args[3]), args.Contains("--timed-out"), TimeSpan.Zero, out bool ok);
                Console.WriteLine(how);
                return ok ? 0 : 1;
            default:
                Console.Error.WriteLine("usage: suite list [all|ci|emulator] | suite judge-control EXIT LOGFILE [--timed-out]");
                return 2;
        }
    }
}
