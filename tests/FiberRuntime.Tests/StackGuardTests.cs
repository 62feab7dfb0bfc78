using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace FiberRuntime.Tests;

/// <summary>
/// RuntimeHelpers.EnsureSufficientExecutionStack / TryEnsureSufficientExecutionStack answer for the running greenlet's
/// own stack (issue 12): each case runs in a child process (a broken guard ends it with "Stack overflow."), in a spawned
/// fiber, on Hub.Run's root greenlet, and with non-default stack sizes; afterwards the hub must still switch.
/// </summary>
public sealed partial class StackGuardTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string kind in new[] { "ensure", "tryensure", "expression", "regex" })
            foreach (string where in new[] { "fiber", "root", "fiber --stack-kib 64", "fiber --stack-kib 1024" })
                data.Add(kind, where);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_stack_guard_case_completes_in_a_greenlet_and_the_hub_keeps_working(string kind, string where)
    {
        HostRun run = HostRun.Start($"stack {kind} {where}", [], TimeSpan.FromMinutes(2));
        output.WriteLine(run.Output);
        Assert.False(run.TimedOut);
        Assert.DoesNotContain("Stack overflow", run.Output);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("HUB OK", run.Output);
        switch (kind)
        {
            case "ensure":
            case "tryensure":
                // the limit is the greenlet's own: the guard fires, and not at once (a limit above the stack would)
                Match m = DepthLine().Match(run.Output);
                Assert.True(m.Success, "no depth reported");
                Assert.InRange(int.Parse(m.Groups[1].Value), 20, int.MaxValue);
                Assert.Contains(kind == "ensure" ? "InsufficientExecutionStackException" : "tryensure false", run.Output);
                break;
            case "expression":
                Assert.Contains("CASE: expression compiled, value 20000", run.Output);
                break;
            case "regex":
                Assert.Matches("CASE: regex (built, matches 'a': True|threw)", run.Output);
                break;
        }
    }

    [Fact]
    public void A_stack_limit_candidate_that_does_not_govern_the_API_is_refused_by_name()
    {
        // the candidate shifted by one word (a test-only perturbation): forcing it leaves the API answering true
        HostRun bad = HostRun.Start("smoke", ["FIBERRT_TEST_PERTURB=StackLimit:8"], TimeSpan.FromMinutes(1));
        output.WriteLine(bad.Output);
        Assert.Equal(4, bad.ExitCode);
        Assert.Contains("REFUSED: ", bad.Output);
        Assert.Contains("m_CacheStackSufficientExecutionLimit", bad.Output);
        Assert.DoesNotContain("result 42", bad.Output);
    }

    [GeneratedRegex(@"at depth (\d+)")]
    private static partial Regex DepthLine();
}
