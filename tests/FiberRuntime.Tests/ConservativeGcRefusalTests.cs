namespace FiberRuntime.Tests;

/// <summary>README: "DOTNET_gcConservative is refused" — conservative stack scanning walks thread stacks by address
/// range and would never see the greenlets' stacks. Checked in a child process (the setting is per process).</summary>
public sealed class ConservativeGcRefusalTests
{
    [Theory]
    [InlineData("DOTNET_gcConservative=1")]
    [InlineData("COMPlus_gcConservative=1")]
    public void A_hub_refuses_to_start_under_conservative_GC(string setting)
    {
        HostRun run = HostRun.Start("smoke", [setting], TimeSpan.FromMinutes(1));
        Assert.Equal(4, run.ExitCode);
        Assert.Contains("REFUSED: ", run.Output);
        Assert.Contains("Conservative GC (DOTNET_gcConservative)", run.Output);
        Assert.DoesNotContain("result 42", run.Output);
    }

    [Fact]
    public void The_same_child_runs_without_it()
    {
        HostRun run = HostRun.Start("smoke", ["DOTNET_gcConservative=0"], TimeSpan.FromMinutes(1));
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("result 42", run.Output);
    }
}
