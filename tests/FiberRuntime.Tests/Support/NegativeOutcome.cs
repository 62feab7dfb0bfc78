using FiberRuntime.TestHost;

namespace FiberRuntime.Tests;

/// <summary>How a negative control ended (the shared rule, <see cref="StressSuite.ClassifyControl"/>).</summary>
internal static class NegativeOutcome
{
    public static string Classify(HostRun run, TimeSpan limit, out bool acceptable) =>
        StressSuite.ClassifyControl(run.ExitCode, run.Output, run.TimedOut, limit, out acceptable);
}
