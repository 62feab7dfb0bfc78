using FiberRuntime.Interop;

namespace FiberRuntime.Tests;

/// <summary>Stack memory, guard pages and the runtime gate: the promises the native layer makes.</summary>
public sealed class RuntimeSafetyTests
{
    [Fact]
    public void An_idle_hub_gives_finished_fibers_stack_pages_back_beyond_a_small_warm_pool()
    {
        const int count = 200;              // more than the 64 slots kept warm
        long[] residentWhileAlive = new long[count];
        long[] residentAfter = new long[count];
        int warmAfter = 0, warmBeforeIdle = 0;
        Hub.Run(() =>
        {
            Hub hub = Hub.Current!;
            var fibers = new Greenlet[count];
            var slots = new int[count];
            for (int i = 0; i < count; i++)
            {
                int k = i;
                fibers[i] = new Greenlet(() =>
                {
                    TouchStack(96);         // ~96 KiB of this fiber's stack becomes resident
                    Greenlet.Current!.Parent!.Switch(null);
                });
                fibers[i].Switch();         // runs until it parks, holding its touched stack
                slots[k] = fibers[i].Slot;
                residentWhileAlive[k] = hub.GetResidentStackPages(slots[k]);
            }
            foreach (Greenlet f in fibers) f.Switch();      // all finish: their slots stay warm, no syscall
            warmBeforeIdle = (int)hub.GetStats().WarmFree;
            Fiber.Sleep(0.01);                              // the hub loop goes idle and trims
            for (int i = 0; i < count; i++) residentAfter[i] = hub.GetResidentStackPages(slots[i]);
            warmAfter = (int)hub.GetStats().WarmFree;
        });
        Assert.All(residentWhileAlive, pages => Assert.True(pages >= 24, $"a live fiber should hold its touched stack ({pages} pages)"));
        Assert.Equal(count, warmBeforeIdle);
        Assert.Equal(Hub.WarmStacksWhenIdle, warmAfter);
        // the 64 that finished last stay warm for reuse, one more now runs the hub loop (started by the Sleep);
        // every other slot's pages went back to the kernel
        Assert.Equal(count - Hub.WarmStacksWhenIdle - 1, residentAfter.Count(pages => pages == 0));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int TouchStack(int kib)
    {
        Span<byte> block = stackalloc byte[1024];
        block.Fill((byte)kib);
        return kib <= 1 ? block[0] : TouchStack(kib - 1) + block[1];
    }

    [Fact]
    public void Fibers_suspended_in_exception_handlers_are_spread_over_handler_lanes()
    {
        uint lanesWhileParked = 0, registeredWhileParked = 0, registeredAfter = 0;
        int caughtAfterResume = 0;
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var parked = new List<Greenlet>();
            for (int i = 0; i < 40; i++)
            {
                int id = i;
                var g = new Greenlet(() =>
                {
                    try
                    {
                        throw new InvalidOperationException("handler " + id);
                    }
                    catch (InvalidOperationException e)
                    {
                        root.Switch();                 // suspended inside the catch block
                        if (e.Message == "handler " + id) caughtAfterResume++;
                    }
                });
                g.Switch();
                parked.Add(g);
            }
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            var stats = Hub.Current!.GetStats();
            lanesWhileParked = stats.Lanes;
            registeredWhileParked = stats.Registered;
            foreach (Greenlet g in parked) g.Switch();
            registeredAfter = Hub.Current!.GetStats().Registered;
        });
        // 40 handler fibers at most 8 per handler lane: at least 5 handler lanes besides the main one
        Assert.True(lanesWhileParked >= 6, $"lanes: {lanesWhileParked}");
        Assert.Equal(40u, registeredWhileParked);      // the root was running, so only the 40 fibers
        Assert.Equal(0u, registeredAfter);
        Assert.Equal(40, caughtAfterResume);
    }

    [Fact]
    public void A_stack_overflow_in_a_fiber_hits_its_guard_page_and_ends_the_process_as_a_stack_overflow()
    {
        HostRun run = HostRun.Start("overflow", [], TimeSpan.FromMinutes(2));
        Assert.False(run.TimedOut);
        Assert.NotEqual(0, run.ExitCode);
        Assert.DoesNotContain("UNREACHABLE", run.Output);
        Assert.Contains("Stack overflow", run.Output);
    }

    [Theory]
    [InlineData("Frame:8")]
    [InlineData("PreemptiveGCDisabled:4")]
    [InlineData("ExceptionTracker:8")]
    [InlineData("CallerReturnAddress:8")]
    public void A_runtime_layout_that_does_not_verify_is_refused_with_PlatformNotSupportedException(string perturbation)
    {
        HostRun good = HostRun.Start("smoke", [], TimeSpan.FromMinutes(1));
        Assert.Contains("result 42", good.Output);
        HostRun bad = HostRun.Start("smoke", ["FIBERRT_TEST_PERTURB=" + perturbation], TimeSpan.FromMinutes(1));
        Assert.Equal(4, bad.ExitCode);
        Assert.Contains("REFUSED: ", bad.Output);
        Assert.Contains("linux-x64", bad.Output);           // says what is supported
        Assert.Contains(Environment.Version.ToString(), bad.Output);
        Assert.DoesNotContain("result 42", bad.Output);
    }

    [Fact]
    public void An_unverified_runtime_version_is_refused_naming_the_version_unless_explicitly_allowed()
    {
        string? why = RuntimeContract.CheckRuntimeVersion(new Version(10, 0, 99), null);
        Assert.NotNull(why);
        Assert.Contains("10.0.99", why);
        Assert.Contains(RuntimeContract.AllowUnverifiedVariable, why);
        Assert.Null(RuntimeContract.CheckRuntimeVersion(new Version(10, 0, 99), "1"));
        Assert.Null(RuntimeContract.CheckRuntimeVersion(RuntimeContract.VerifiedRuntimeVersions[0], null));
    }
}
