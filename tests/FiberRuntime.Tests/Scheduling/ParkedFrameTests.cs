using System.Text.RegularExpressions;

namespace FiberRuntime.Tests;

/// <summary>
/// Every GC walks every managed frame of every parked fiber (a code lookup, an unwind and GC-info decodes per frame,
/// nothing cached across GCs), so the frames a fiber parks with are a cost it pays at each GC for as long as it
/// waits. These pin them per kind of wait (FiberRuntime.TestHost <c>frames</c>, in a fresh child process): the entry
/// is FiberEntry alone, which calls the fiber's body itself; the wait is the public blocking method, with
/// the scheduler's wait, park and switch inlined into it, and NativeSwitch, which holds the switch P/Invoke. The
/// counts must not depend on tiering: in a fresh process (Tier0 code everywhere that is not compiled fully optimized),
/// with tiering off, and after warm-up and tier-up.
/// </summary>
public sealed class ParkedFrameTests
{
    private static readonly string[] Kinds = ["FiberEvent.Wait", "FiberQueue.Get", "Fiber.Sleep", "Fiber.Join", "FiberSocket.Receive"];

    [Theory]
    [InlineData("frames", "")]
    [InlineData("frames", "DOTNET_TieredCompilation=0")]
    [InlineData("frames --warm 40", "")]
    public void A_parked_fiber_has_one_frame_of_entry_and_two_of_wait_whatever_it_waits_on(string arguments, string environment)
    {
        HostRun run = HostRun.Start(arguments, environment.Length == 0 ? [] : [environment], TimeSpan.FromMinutes(2));
        Assert.False(run.TimedOut, run.Output);
        Assert.True(run.ExitCode == 0, run.Output);
        foreach (string kind in Kinds)
        {
            Match m = Regex.Match(run.Output, $@"^FRAMES {Regex.Escape(kind)} entry=(\d+) wait=(\d+) user=(\d+)", RegexOptions.Multiline);
            Assert.True(m.Success, $"no line for {kind}:\n{run.Output}");
            Assert.True(m.Groups[1].Value == "1" && m.Groups[2].Value == "2",
                $"{kind}: entry={m.Groups[1].Value} wait={m.Groups[2].Value}, expected 1 and 2 (FiberEntry; the blocking method, NativeSwitch):\n{run.Output}");
        }
    }
}
