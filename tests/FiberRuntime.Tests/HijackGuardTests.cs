using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace FiberRuntime.Tests;

/// <summary>
/// The return-address hijack guard (issue 12), in a child process: fibers in tight loops of non-inlined optimized calls
/// while an outside thread forces GCs, so GC suspensions hijack the hub thread; a native sampler confirms the hijacks
/// happen and that the runtime's fields read as hijacks of the hub's stacks; the switch's guard reports how many were
/// still standing when a greenlet left its stack; a planted hijack shows the guard undoes one.
/// </summary>
[Collection(GcTortureCollection.Name)]       // alone: the more CPU it gets, the more GCs and hijacks per second
public sealed partial class HijackGuardTests(ITestOutputHelper output)
{
    [Fact]
    public void Hijacks_of_the_hub_thread_happen_read_as_verified_and_a_standing_one_is_undone_at_the_switch()
    {
        HostRun run = HostRun.Start("hijack --seconds 3 --max-seconds 60 --min-events 3 --fibers 64", [], TimeSpan.FromMinutes(3));
        output.WriteLine(run.Output);
        Assert.False(run.TimedOut);
        Assert.Contains("VERDICT: PASS", run.Output);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("wrong_results=0", run.Output);
        Assert.Contains("sampler_inconsistent=0", run.Output);
        Assert.Contains("planted=undone", run.Output);
        Assert.Contains("guard_undone=", run.Output);
        // the positive control: the workload did provoke hijacks (otherwise the rest would prove nothing)
        Match events = Events().Match(run.Output);
        Assert.True(events.Success && long.Parse(events.Groups[1].Value) > 0, "no hijack of the hub thread was observed");
    }

    [GeneratedRegex(@"sampler_hijack_events=(\d+)")]
    private static partial Regex Events();
}
