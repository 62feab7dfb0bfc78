using FiberRuntime.TestHost;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
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
    /// <summary>The configurations (shared with the test host's <c>suite</c> command and so with .ci/runtime-matrix);
    /// every positive configuration is also a negative control with --unprotected.</summary>
    private static readonly Dictionary<string, StressConfiguration> Configurations =
        StressSuite.Configurations.ToDictionary(c => c.Name);

    public static TheoryData<string> Names => new(Configurations.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void Suspended_greenlets_survive_GCs(string name)
    {
        StressConfiguration c = Configurations[name];
        HostRun run = HostRun.Start(c.Arguments, c.Environment, TimeSpan.FromMinutes(4));
        output.WriteLine($"{name}: exit {run.ExitCode}\n{run.Output}");
        Assert.False(run.TimedOut, "the stress run did not finish in time");
        Assert.Contains("VERDICT: PASS", run.Output);
        Assert.Equal(0, run.ExitCode);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void The_same_run_without_protection_fails(string name)
    {
        StressConfiguration c = Configurations[name];
        TimeSpan limit = TimeSpan.FromMinutes(2);
        HostRun run = HostRun.Start(c.Arguments + " --unprotected", c.Environment, limit);
        string how = NegativeOutcome.Classify(run, limit, out bool acceptable);
        output.WriteLine($"{name}: {how}\n{run.Output}");
        Assert.True(acceptable, $"{name} without protection: {how}");
    }

    [Fact]
    public void Without_protection_objects_only_the_stacks_hold_are_freed_and_the_checksums_say_so()
    {
        // nothing moves under sweeping GCs, so nothing faults: only the checksum detector can catch this
        HostRun run = HostRun.Start(StressSuite.Quiet + " --unprotected", [], TimeSpan.FromMinutes(2));
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
        { "gen0 budget setting absent", StressSuite.Gen0Budget, [], @"gen0=\d+<40" },
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

    /// <summary>The switch's ways into cooperative mode (native/src/trap.c): the default takes the fast path (a switch
    /// through the callback only when a GC suspension is under way), FIBERRUNTIME_SWITCH_PATH=callback sends every switch
    /// through the callback, =alternate every other one. The positive configurations above run under each.</summary>
    public static TheoryData<string, string[]> SwitchPaths => new()
    {
        { "fast", [] },
        { "callback", [StressSuite.SlowPath] },
        { "alternate", [StressSuite.Alternate] },
    };

    [Theory]
    [MemberData(nameof(SwitchPaths))]
    public void Switches_take_the_path_the_process_asked_for(string path, string[] environment)
    {
        HostRun run = HostRun.Start("stress --fibers 50 --rounds 20 --gc-every 100 --min-gcs 5", environment, TimeSpan.FromMinutes(2));
        output.WriteLine(run.Output);
        Assert.Contains("VERDICT: PASS", run.Output);
        long hub = long.Parse(Regex.Match(run.Output, @"hubSwitches=(\d+)").Groups[1].Value);
        long callback = long.Parse(Regex.Match(run.Output, @"callbackSwitches=(\d+)").Groups[1].Value);
        Assert.True(hub >= 50 * 20, $"hubSwitches={hub}");
        switch (path)
        {
            case "fast":
                Assert.Contains("switch: cooperative fast path (g_TrapReturningThreads at libcoreclr+", run.Output);
                Assert.True(callback < hub / 10, $"{callback} of {hub} switches took the callback");
                break;
            case "callback":
                Assert.Contains("switch: through the callback (forced", run.Output);
                Assert.Equal(hub, callback);
                break;
            default:
                Assert.Contains("switch: cooperative fast path", run.Output);
                Assert.InRange(callback, hub * 4 / 10, hub * 6 / 10);
                break;
        }
    }

    public static TheoryData<int, string, bool, bool> NegativeEndings => new()
    {
        { 139, "", false, true },                                                          // SIGSEGV
        { 135, "", false, true },                                                          // SIGBUS
        { 134, "Fatal error. Internal CLR error. (0x80131506)", false, true },             // the runtime's abort
        { 134, "Unhandled exception. System.NullReferenceException: Object reference", false, true },
        { 134, "MISMATCH: fiber 3: System.InvalidCastException escaped its body\nUnhandled exception. System.InvalidCastException", false, true },
        { 134, "Unhandled exception. System.IndexOutOfRangeException: Index was outside", false, true },   // a moved slot table
        { 134, "Process terminated. An exception was not handled in an AsyncLocal notification callback.\n ---> System.InvalidCastException: Unable to cast", false, true },
        { 134, "Process terminated.\nAn exception was not handled in an AsyncLocal<T> notification callback.\n   at FiberRuntime.Hub.RestoreThreadState\nSystem.EntryPointNotFoundException: Entry point was not found.", false, true },
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
