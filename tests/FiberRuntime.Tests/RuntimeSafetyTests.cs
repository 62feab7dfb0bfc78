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

    [Theory]
    [InlineData(false)]     // guard marker (Linux 6.13+; the test accepts the fallback on older kernels)
    [InlineData(true)]      // PROT_NONE guard mapping
    public void A_stack_overflow_in_a_fiber_hits_its_guard_page_and_ends_the_process_as_a_stack_overflow(bool protectionGuards)
    {
        HostRun run = HostRun.Start(protectionGuards ? "overflow --protection-guards" : "overflow", [], TimeSpan.FromMinutes(2));
        Assert.False(run.TimedOut);
        Assert.NotEqual(0, run.ExitCode);
        Assert.DoesNotContain("UNREACHABLE", run.Output);
        Assert.Contains("Stack overflow", run.Output);
        if (protectionGuards) Assert.Contains("guard markers: 0", run.Output);
        else Assert.Contains(KernelHasGuardMarkers ? "guard markers: 1" : "guard markers: 0", run.Output);
    }

    /// <summary>MADV_GUARD_INSTALL arrived in Linux 6.13.</summary>
    private static bool KernelHasGuardMarkers =>
        Environment.OSVersion.Version is { Major: var major, Minor: var minor } && (major > 6 || (major == 6 && minor >= 13));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Live_fibers_cost_no_memory_mapping_each_where_the_kernel_has_guard_markers(bool protectionGuards)
    {
        const int count = 2000;
        int mapsBefore = 0, mapsWhileLive = 0;
        uint markers = 2;
        Hub.Run(() =>
        {
            Hub hub = Hub.Current!;
            markers = hub.GetStats().GuardMarkers;
            var gate = new FiberEvent();
            Fiber.Spawn(() => { }).Join();          // the hub loop's own slot is in use before counting
            mapsBefore = File.ReadLines("/proc/self/maps").Count();
            var fibers = Enumerable.Range(0, count).Select(_ => Fiber.Spawn(() => gate.Wait())).ToList();
            Fiber.Sleep(0.01);
            mapsWhileLive = File.ReadLines("/proc/self/maps").Count();
            gate.Set();
            Fiber.JoinAll(fibers);
        }, new HubOptions { MaxFibers = count + 16, ProtectionGuardPages = protectionGuards });
        int added = mapsWhileLive - mapsBefore;
        if (protectionGuards || !KernelHasGuardMarkers)
        {
            Assert.Equal(0u, markers);
            Assert.InRange(added, 2 * count - 50, 2 * count + 50);     // guard + stack per fiber (other threads add a few)
        }
        else
        {
            Assert.Equal(1u, markers);
            Assert.InRange(added, -50, 50);                             // the stacks merge into one mapping
        }
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
}
