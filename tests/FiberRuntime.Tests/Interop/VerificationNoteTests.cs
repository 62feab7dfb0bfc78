using System.Runtime.InteropServices;

namespace FiberRuntime.Tests.Interop;

/// <summary>Start-up verification says how it established the runtime layout: where Thread::m_pGCFrame is, whether the
/// per-architecture GCFrame::Pop code-pattern cross-check agreed (or was skipped: never silently), how memory is
/// probed, and how a switch enters cooperative mode (the fast path and where its trap global is, or the callback and why). The arm64 counterpart runs under qemu in .ci/linux-arm64 (same "smoke" host command).</summary>
public sealed class VerificationNoteTests
{
    [Fact]
    public void A_fresh_process_reports_the_sampled_m_pGCFrame_and_an_agreeing_code_pattern()
    {
        HostRun run = HostRun.Start("smoke", [], TimeSpan.FromMinutes(1));
        Assert.Equal(0, run.ExitCode);
        string arch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "arm64" : "x64";
        string note = Assert.Single(run.Output.Split('\n'), l => l.StartsWith("runtime: ", StringComparison.Ordinal))["runtime: ".Length..].TrimEnd('\r');
        Assert.Matches($"^linux-{arch}: Thread::m_pGCFrame at 0x[0-9a-f]+ by sampling; GCFrame::Pop code-pattern cross-check agrees; " +
                       "memory probe: (process_vm_readv|pipe)[^;]*; " +
                       @"switch: (cooperative fast path \(g_TrapReturningThreads at libcoreclr\+0x[0-9a-f]+, |through the callback \(.+\)$)", note);
        // the same sentence is the RuntimeVerified event of the FiberRuntime event source
        Assert.Contains("event RuntimeVerified: " + note, run.Output);
    }
}
