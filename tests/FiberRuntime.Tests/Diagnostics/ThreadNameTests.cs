using Xunit.Abstractions;

namespace FiberRuntime.Tests.Diagnostics;

/// <summary>Profilers and debuggers show suspended fibers on the hub's identity threads: those threads say so in
/// their name (Linux keeps the first 15 bytes of it as the OS thread name). Checked in a child process where no
/// other hub runs, so the threads that appear with the hub and leave with it are that hub's own lanes.</summary>
public sealed class ThreadNameTests(ITestOutputHelper output)
{
    private const string LaneOsName = "FiberRuntime pa";      // "FiberRuntime parked fibers (hub N)", cut to 15 bytes

    private static string[] Lanes(string line) =>
        line[(line.IndexOf(' ') + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries).Where(t => t.EndsWith("=" + LaneOsName, StringComparison.Ordinal)).ToArray();

    [Fact]
    public void A_hubs_identity_lanes_are_named_for_the_parked_fibers_and_leave_with_the_hub()
    {
        HostRun run = HostRun.Start("threads --fibers 200", [], TimeSpan.FromMinutes(1));
        output.WriteLine(run.Output);
        Assert.Equal(0, run.ExitCode);
        string[] lines = run.Output.Split('\n');
        string Line(string prefix) => Assert.Single(lines, l => l.StartsWith(prefix + " ", StringComparison.Ordinal));
        Assert.Empty(Lanes(Line("before")));
        Assert.StartsWith("hub-thread FiberRuntime hub ", Line("hub-thread"));
        int laneCount = int.Parse(Line("lanes")["lanes ".Length..]);
        string[] during = Lanes(Line("during"));
        Assert.True(laneCount >= 1, "the hub reports no identity lane");
        Assert.Equal(laneCount, during.Length);
        Assert.Contains("=FiberRuntime hu", Line("during"));          // the hub thread itself, "FiberRuntime hub"
        Assert.Empty(Lanes(Line("after")));
    }
}
