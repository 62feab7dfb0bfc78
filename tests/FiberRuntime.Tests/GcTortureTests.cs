using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace FiberRuntime.Tests;

/// <summary>
/// The GC stress suite: thousands of suspended greenlets holding checksummed object graphs (arrays, strings,
/// lists, structs with references, spans into heap arrays, deep recursion) across forced compacting gen2 GCs,
/// in child processes so the GC flavour, tiering and the protection itself can differ per run.
/// <para>A positive run passes only with every round of every fiber completed, every check held, AND the minimums it
/// claims met (the host's --min-* flags): GCs with at least 90% of the fibers parked, compacting ones among them,
/// witness objects moved under the suspended stacks, gen0 GCs for the gen0-budget run, external GCs for the
/// --gc-thread runs. A run that held but missed a minimum ends in VERDICT: UNEXERCISED, which fails.</para>
/// <para>Negative controls: every positive configuration is also run with the protection off (same arguments and
/// environment plus --unprotected), so each mechanism — raw switches, the ring, the scheduler, handlers, each GC
/// flavour, tiering off, natural GCs under a tiny gen0 budget, GCs from another thread — is shown to need the
/// protection. Each must end in a crash signal, the runtime's fatal-error abort, or VERDICT: CORRUPTION within its
/// time limit; a hang or any other exit fails. The quiet control proves the checksum detector itself: objects only
/// the suspended stacks refer to, sweeping GCs (nothing moves, nothing faults), and it must end in CORRUPTION.</para>
/// </summary>
[Collection(GcTortureCollection.Name)]
public sealed class GcTortureTests(ITestOutputHelper output)
{
    private const string Stress = "stress --fibers 1000 --rounds 40 --gc-every 500";
    private const string Exceptions = "exceptions --fibers 200 --rounds 30 --gc-every 100";
    // 80 forced compacting GCs (stress) / 150 (exceptions) run; every switch's witness is moved by one
    private const string StressMinimums = " --min-gcs 60 --min-compacting 60 --min-moved 20000";
    private const string ExceptionMinimums = " --min-gcs 100 --min-compacting 100 --min-moved 7500";
    // DOTNET_GCgen0size=0x10000 gave 85-98 gen0 GCs for this run, the default budget 3 (2-core machine, under load)
    private const string Gen0Budget = "stress --fibers 1000 --rounds 40 --gc-every 0 --min-gen0 40 --min-gcs 30 --min-compacting 20 --min-moved 10000";
    private const string Quiet = "quiet --fibers 1000 --rounds 20 --gc-every 500 --sweep";
    private static readonly string[] ServerGc = ["DOTNET_gcServer=1", "DOTNET_GCHeapCount=2"];
    private static readonly string[] TinyGen0 = ["DOTNET_GCgen0size=0x10000"];

    /// <summary>The positive configurations; each is also a negative control with --unprotected.</summary>
    private static readonly Dictionary<string, (string Arguments, string[] Environment)> Configurations = new()
    {
        ["workstation GC"] = (Stress + StressMinimums, []),
        ["fibers switching to each other (ring)"] = (Stress + " --ring" + StressMinimums, []),
        ["server GC, 2 heaps"] = (Stress + StressMinimums, ServerGc),
        ["tiered compilation off"] = (Stress + StressMinimums, ["DOTNET_TieredCompilation=0"]),
        ["tiny gen0 budget: GCs at natural allocation points"] = (Gen0Budget, TinyGen0),
        // the hub waits for the collector when two periods ahead: ~60-120 external GCs
        ["an external thread forcing compacting GCs while fibers run"] = ("stress --fibers 1000 --rounds 6 --gc-every 50 --gc-thread --min-external 30 --min-gcs 20 --min-compacting 20 --min-moved 3000", []),
        ["non-concurrent workstation GC"] = (Stress + StressMinimums, ["DOTNET_gcConcurrent=0"]),
        ["scheduled fibers yielding through the hub loop"] = (Stress + " --scheduled" + StressMinimums, []),
        ["scheduled fibers switching inside handlers"] = (Exceptions + " --scheduled" + ExceptionMinimums, []),
        ["switches inside catch, finally and filters"] = (Exceptions + ExceptionMinimums, []),
        ["switches inside handlers, server GC"] = (Exceptions + ExceptionMinimums, ServerGc),
        ["switches inside handlers, tiered compilation off"] = (Exceptions + ExceptionMinimums, ["DOTNET_TieredCompilation=0"]),
        ["switches inside handlers, external GC thread"] = ("exceptions --fibers 200 --rounds 20 --gc-every 50 --gc-thread --min-external 40 --min-gcs 40 --min-compacting 40 --min-moved 5000", []),
        ["objects only the suspended stacks hold, sweeping GCs"] = (Quiet + " --min-gcs 30", []),
    };

    public static TheoryData<string> Names => new(Configurations.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void Suspended_greenlets_survive_GCs(string name)
    {
        (string arguments, string[] environment) = Configurations[name];
        HostRun run = HostRun.Start(arguments, environment, TimeSpan.FromMinutes(4));
        output.WriteLine($"{name}: exit {run.ExitCode}\n{run.Output}");
        Assert.False(run.TimedOut, "the stress run did not finish in time");
        Assert.Contains("VERDICT: PASS", run.Output);
        Assert.Equal(0, run.ExitCode);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void The_same_run_without_protection_fails(string name)
    {
        (string arguments, string[] environment) = Configurations[name];
        TimeSpan limit = TimeSpan.FromMinutes(2);
        HostRun run = HostRun.Start(arguments + " --unprotected", environment, limit);
        string how = NegativeOutcome.Classify(run, limit, out bool acceptable);
        output.WriteLine($"{name}: {how}\n{run.Output}");
        Assert.True(acceptable, $"{name} without protection: {how}");
    }

    [Fact]
    public void Without_protection_objects_only_the_stacks_hold_are_freed_and_the_checksums_say_so()
    {
        // nothing moves under sweeping GCs, so nothing faults: only the checksum detector can catch this
        HostRun run = HostRun.Start(Quiet + " --unprotected", [], TimeSpan.FromMinutes(2));
        output.WriteLine(run.Output);
        Assert.False(run.TimedOut, "the quiet control hung");
        Assert.Contains("VERDICT: CORRUPTION", run.Output);
        Assert.Contains("MISMATCH: fiber", run.Output);
        Assert.Equal(3, run.ExitCode);
    }

    /// <summary>Runs whose checks all hold but that did not exercise what they claim: each must end in UNEXERCISED
    /// (exit 5) naming the minimum it missed, never in PASS.</summary>
    public static TheoryData<string, string, string[], string> Unexercised => new()
    {
        // no GC at all while the fibers are parked
        { "GC forcing disabled", "stress --fibers 200 --rounds 5 --gc-every 0 --min-gcs 1", [], @"gcsParked=0<1" },
        // the same run as the positive gen0-budget one, without DOTNET_GCgen0size: the default budget gives a handful
        { "gen0 budget setting absent", Gen0Budget, [], @"gen0=\d+<40" },
        // the collector runs one GC at start, then waits for a million switches that never come
        { "external collector idle", "stress --fibers 200 --rounds 5 --gc-every 1000000 --gc-thread --min-gcs 0 --min-moved 0 --min-external 2", [], @"externalGCs=[01]<2" },
    };

    [Theory]
    [MemberData(nameof(Unexercised))]
    public void A_run_that_misses_its_minimums_is_not_a_pass(string name, string arguments, string[] environment, string missed)
    {
        HostRun run = HostRun.Start(arguments, environment, TimeSpan.FromMinutes(4));
        output.WriteLine($"{name}:\n{run.Output}");
        Assert.DoesNotContain("VERDICT: PASS", run.Output);
        Assert.Matches(@"VERDICT: UNEXERCISED missed=\[[^\]]*" + missed, run.Output);
        Assert.Equal(5, run.ExitCode);
    }

    public static TheoryData<int, string, bool, bool> NegativeEndings => new()
    {
        { 139, "", false, true },                                                          // SIGSEGV
        { 135, "", false, true },                                                          // SIGBUS
        { 134, "Fatal error. Internal CLR error. (0x80131506)", false, true },             // the runtime's abort
        { 134, "Unhandled exception. System.NullReferenceException: Object reference", false, true },
        { 3, "VERDICT: CORRUPTION rounds=0/40000", false, true },
        { 134, "Unhandled exception. System.ArgumentException: a bug in the host", false, false },   // an unrelated abort
        { -1, "", true, false },                                                           // a hang
        { 1, "", false, false },
        { 137, "", false, false },                                                         // SIGKILL (e.g. out of memory)
        { 0, "VERDICT: PASS rounds=40000/40000", false, false },
        { 5, "VERDICT: UNEXERCISED missed=[gcsParked=0<1]", false, false },
        { 0, "VERDICT: CORRUPTION rounds=0/40000", false, false },                         // the verdict and the exit disagree
    };

    [Theory]
    [MemberData(nameof(NegativeEndings))]
    public void A_negative_control_is_accepted_only_for_a_crash_signal_a_fatal_abort_or_a_corruption_verdict(int exit, string text, bool timedOut, bool accepted)
    {
        string how = NegativeOutcome.Classify(new HostRun(exit, text, timedOut), TimeSpan.FromMinutes(2), out bool acceptable);
        output.WriteLine(how);
        Assert.Equal(accepted, acceptable);
    }

    [Fact]
    public void The_host_lists_every_flag_and_refuses_unknown_ones()
    {
        HostRun run = HostRun.Start("stress --fibers 10 --min-gc 3", [], TimeSpan.FromMinutes(1));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("unknown flag --min-gc", run.Output);
        foreach (string flag in new[] { "--fibers", "--rounds", "--gc-every", "--depth", "--ring", "--scheduled", "--gc-thread", "--sweep",
                                        "--unprotected", "--parked-fraction", "--min-gcs", "--min-compacting", "--min-moved", "--min-gen0", "--min-external" })
            Assert.Contains(flag + " ", run.Output);
        Assert.Equal(0, HostRun.Start("--help", [], TimeSpan.FromMinutes(1)).ExitCode);
    }
}

/// <summary>How a negative control ended, and whether that is a failure of the right kind.</summary>
internal static class NegativeOutcome
{
    // .NET's Process reports a child killed by signal N as exit code 128 + N
    private const int Sigabrt = 128 + 6, Sigbus = 128 + 7, Sigsegv = 128 + 11;

    public static string Classify(HostRun run, TimeSpan limit, out bool acceptable)
    {
        acceptable = false;
        if (run.TimedOut) return $"hung: still running after {limit}, killed";
        if (run.Output.Contains("VERDICT: PASS", StringComparison.Ordinal)) return $"passed (exit {run.ExitCode}): the protection was not needed";
        if (run.Output.Contains("VERDICT: CORRUPTION", StringComparison.Ordinal))
        {
            acceptable = run.ExitCode == 3;
            return $"checksums reported corruption (exit {run.ExitCode})";
        }
        if (run.ExitCode is Sigsegv or Sigbus)
        {
            acceptable = true;
            return $"killed by {(run.ExitCode == Sigsegv ? "SIGSEGV" : "SIGBUS")}";
        }
        if (run.ExitCode == Sigabrt)
        {
            // the runtime aborts on a fatal error, or on a fault in managed code turned into an exception nobody catches
            string[] fatal = ["Fatal error", "Internal CLR error", "System.NullReferenceException", "System.AccessViolationException", "System.ExecutionEngineException"];
            string? seen = fatal.FirstOrDefault(f => run.Output.Contains(f, StringComparison.Ordinal));
            acceptable = seen is not null;
            return seen is not null ? $"SIGABRT after \"{seen}\"" : "SIGABRT without a fatal error or a fault in the output (an unrelated abort)";
        }
        return $"ended with exit {run.ExitCode}, neither a crash signal nor a corruption verdict";
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GcTortureCollection
{
    public const string Name = "GC torture (child processes, run alone)";
}

/// <summary>A run of FiberRuntime.TestHost in a child process.</summary>
internal sealed record HostRun(int ExitCode, string Output, bool TimedOut)
{
    public static HostRun Start(string arguments, string[] environment, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(ProcessRun.DotnetHost(), $"\"{HostAssembly()}\" {arguments}");
        // a clean GC / JIT configuration: only what this run asks for
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("DOTNET_gc", StringComparison.OrdinalIgnoreCase) ||
                                                               k.StartsWith("DOTNET_GC", StringComparison.Ordinal) ||
                                                               k.StartsWith("DOTNET_Tiered", StringComparison.Ordinal)).ToList())
            psi.Environment.Remove(key);
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        psi.Environment["DOTNET_EnableCrashReport"] = "0";
        foreach (string kv in environment)
        {
            int eq = kv.IndexOf('=');
            psi.Environment[kv[..eq]] = kv[(eq + 1)..];
        }
        ProcessRun run = ProcessRun.Run(psi, timeout);
        return new HostRun(run.ExitCode, run.Output, run.TimedOut);
    }

    /// <summary>The host is built beside this test project (same configuration) by its ProjectReference.</summary>
    internal static string HostAssembly()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);           // tests/FiberRuntime.Tests/bin/<cfg>/<tfm>/
        string tfm = here.Name, configuration = here.Parent!.Name;
        DirectoryInfo tests = here.Parent.Parent!.Parent!.Parent!;       // tests/
        string path = Path.Combine(tests.FullName, "FiberRuntime.TestHost", "bin", configuration, tfm, "FiberRuntime.TestHost.dll");
        if (!File.Exists(path)) throw new FileNotFoundException("FiberRuntime.TestHost was not built beside the tests", path);
        return path;
    }
}
