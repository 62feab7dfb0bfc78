using Xunit.Abstractions;

namespace FiberRuntime.Tests;

/// <summary>
/// Soak and chaos runs of the test host, each in a child process (issue 12), sized for about a minute in CI together:
/// 10^7 switches with 0 bytes allocated and RSS flat; 10^6 short fibers in waves with RSS flat; producers and
/// consumers through a bounded queue with random timeouts, random kills and an outside thread forcing GCs, every
/// item consumed exactly once. Longer runs: the same commands with a larger <c>--n</c> (README, "Reliability").
/// </summary>
public sealed class SoakTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("soak switches --n 10000000")]
    [InlineData("soak waves --n 1000000 --wave 10000")]
    [InlineData("soak queue --n 200000")]
    public void A_soak_run_passes(string arguments)
    {
        HostRun run = HostRun.Start(arguments, [], TimeSpan.FromMinutes(5));
        output.WriteLine(run.Output);
        Assert.False(run.TimedOut);
        Assert.Contains("SOAK ", run.Output);
        Assert.Contains("VERDICT: PASS", run.Output);
        Assert.Equal(0, run.ExitCode);
    }
}

/// <summary>
/// Resource exhaustion and descriptor accounting, each in a child process because it lowers a process limit
/// (issue 12): EMFILE at accept (the server keeps serving once descriptors are free), no descriptor for a new hub's
/// epoll instance (an exception naming RLIMIT_NOFILE, the next hub runs), the stack reservation failing under
/// RLIMIT_AS (an exception naming it, a smaller hub runs), and 10 000 connect/close cycles leaving descriptors and
/// live fibers as they were.
/// </summary>
public sealed class FaultTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("fault emfile-accept", "accept_failures_while_full=")]
    [InlineData("fault nofile-hub", "RLIMIT_NOFILE")]
    [InlineData("fault address-space", "RLIMIT_AS")]
    [InlineData("fault connect-cycles --n 10000", "CYCLES n=10000")]
    public void A_fault_scenario_passes(string arguments, string expected)
    {
        HostRun run = HostRun.Start(arguments, [], TimeSpan.FromMinutes(3));
        output.WriteLine(run.Output);
        Assert.False(run.TimedOut);
        Assert.Contains(expected, run.Output);
        Assert.Contains("VERDICT: PASS", run.Output);
        Assert.Equal(0, run.ExitCode);
    }
}
