using System.Runtime.CompilerServices;
using FiberRuntime.Diagnostics;

namespace FiberRuntime.Tests.Diagnostics;

public sealed class RunInfoTests
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WaitForTheEvent(FiberEvent e) => e.Wait();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SleepForAnHour() => Fiber.Sleep(TimeSpan.FromHours(1));

    [Fact]
    public void A_dump_taken_from_another_thread_lists_every_greenlet_with_its_state_and_what_it_waits_on()
    {
        var options = new HubOptions { CaptureWaitStacks = true, CaptureSpawnSites = true };
        Hub.Run(() =>
        {
            Hub hub = Hub.Current!;
            Greenlet root = Greenlet.Current!;
            var ev = new FiberEvent();
            var queue = new FiberQueue<int>();
            Fiber waiter = Fiber.Spawn(() => WaitForTheEvent(ev));
            waiter.Name = "the waiter";
            Fiber sleeper = Fiber.Spawn(SleepForAnHour);
            Fiber getter = Fiber.Spawn(() => queue.Get());
            var raw = new Greenlet(() => root.Switch());
            raw.Switch();                                    // suspended in a raw switch back to main
            Fiber.Yield();                                   // the fibers start and park
            Fiber later = Fiber.SpawnLater(TimeSpan.FromHours(1), () => { });

            // taken by a thread-pool thread while main waits for it (parked in Fiber.Await)
            HubRunInfo info = Fiber.Await(Task.Run(() => RunInfo.Capture(hub)));

            Assert.True(info.Answered);
            Assert.Equal(hub.Id, info.HubId);
            GreenletRunInfo Of(Greenlet g) => Assert.Single(info.Greenlets, x => x.Id == g.Id);

            GreenletRunInfo main = info.Greenlets[0];
            Assert.Equal(root.Id, main.Id);
            Assert.Equal("main", main.Kind);
            Assert.Equal(GreenletRunState.Parked, main.State);
            Assert.StartsWith("Fiber.Await", main.WaitsOn);
            Assert.Equal("hub loop", info.Greenlets[1].Kind);
            Assert.Equal(GreenletRunState.Running, info.Greenlets[1].State);

            GreenletRunInfo w = Of(waiter);
            Assert.Equal("the waiter", w.Name);
            Assert.Equal("fiber", w.Kind);
            Assert.Equal(GreenletRunState.Parked, w.State);
            Assert.Equal("FiberEvent.Wait", w.WaitsOn);
            Assert.Contains(nameof(WaitForTheEvent), w.StackTrace);                 // recorded by the fiber as it parked
            Assert.DoesNotContain("FiberRuntime.Scheduling.", w.StackTrace);       // no park or switch plumbing above it
            Assert.DoesNotContain("FiberRuntime.Hub.", w.StackTrace);
            Assert.Contains(nameof(A_dump_taken_from_another_thread_lists_every_greenlet_with_its_state_and_what_it_waits_on), w.SpawnSite);

            GreenletRunInfo s = Of(sleeper);
            Assert.Equal("RunInfoTests." + nameof(SleepForAnHour), s.Name);          // named by its body method
            Assert.Equal(GreenletRunState.Parked, s.State);
            Assert.Equal("Fiber.Sleep", s.WaitsOn);
            Assert.Contains(nameof(SleepForAnHour), s.StackTrace);
            Assert.StartsWith("   at FiberRuntime.Tests.Diagnostics.RunInfoTests", s.StackTrace);     // Fiber.Sleep and the scheduler are plumbing

            GreenletRunInfo gq = Of(getter);
            Assert.Equal(GreenletRunState.Parked, gq.State);
            Assert.Contains("Get", gq.WaitsOn);
            Assert.Contains("(lambda)", gq.Name);

            GreenletRunInfo r = Of(raw);
            Assert.Equal("greenlet", r.Kind);
            Assert.Equal(GreenletRunState.Suspended, r.State);

            Assert.Equal(GreenletRunState.NotStarted, Of(later).State);
            Assert.Contains("SpawnLater", Of(later).WaitsOn);
            Assert.Equal(5, info.Greenlets.Count(g => g.Kind is "fiber" or "greenlet"));

            string text = info.ToString();
            Assert.Contains($"#{waiter.Id} the waiter [fiber] parked: FiberEvent.Wait", text);
            Assert.Contains($"#{later.Id} ", text);

            ev.Set();
            queue.Put(1);
            Fiber.KillAll([sleeper, later]);
            raw.Switch();
            Fiber.JoinAll([waiter, getter]);
            Assert.True(raw.IsDead);
        }, options);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static HubRunInfo DumpMyOwnHub() => RunInfo.Capture(Hub.Current!);

    [Fact]
    public void A_fiber_that_dumps_its_own_hub_is_shown_running_with_its_current_stack()
    {
        Hub.Run(() =>
        {
            Fiber? queued = null;
            Fiber asker = Fiber.Spawn(() =>
            {
                queued = Fiber.Spawn(() => { });     // in the run queue, not started
                HubRunInfo info = DumpMyOwnHub();
                Assert.Equal(GreenletRunState.NotStarted, Assert.Single(info.Greenlets, g => g.Id == queued.Id).State);
                GreenletRunInfo self = Assert.Single(info.Greenlets, g => g.Id == Fiber.Current!.Id);
                Assert.Equal(GreenletRunState.Running, self.State);
                Assert.Contains(nameof(DumpMyOwnHub), self.StackTrace);
                // nobody else runs: the loop handed the thread to this fiber
                Assert.DoesNotContain(info.Greenlets, g => g.Id != self.Id && g.State == GreenletRunState.Running);
            });
            asker.Get();
            queued!.Get();
        });
    }

    [Fact]
    public void Without_the_options_no_stacks_are_recorded_and_the_dump_says_how_to_get_them()
    {
        Hub.Run(() =>
        {
            var ev = new FiberEvent();
            Fiber f = Fiber.Spawn(() => WaitForTheEvent(ev));
            Fiber.Yield();
            Hub hub = Hub.Current!;
            HubRunInfo info = Fiber.Await(Task.Run(() => RunInfo.Capture(hub)));
            GreenletRunInfo g = Assert.Single(info.Greenlets, x => x.Id == f.Id);
            Assert.Null(g.StackTrace);
            Assert.Null(g.SpawnSite);
            Assert.Contains("CaptureWaitStacks", RunInfo.Format([info]));
            ev.Set();
            f.Join();
        }, new HubOptions { CaptureWaitStacks = false, CaptureSpawnSites = false });
    }

    [Fact]
    public void A_hub_whose_thread_is_blocked_is_reported_busy_with_the_greenlet_that_holds_it()
    {
        using var blocking = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        Hub? hub = null;
        long culprit = 0;
        var thread = new Thread(() => Hub.Run(() =>
        {
            hub = Hub.Current;
            Fiber f = Fiber.Spawn(() =>
            {
                culprit = Fiber.Current!.Id;
                blocking.Set();
                release.Wait();                 // not cooperative: the hub cannot run its loop
            });
            f.Join();
        }));
        thread.Start();
        try
        {
            Assert.True(blocking.Wait(TimeSpan.FromSeconds(30)));
            HubRunInfo info = RunInfo.Capture(hub!, TimeSpan.FromMilliseconds(200));
            Assert.False(info.Answered);
            Assert.Empty(info.Greenlets);
            Assert.Contains("busy", info.Note);
            Assert.Contains($"#{culprit}", info.Note);
            Assert.Contains(info.Note!, info.ToString());
        }
        finally
        {
            release.Set();
            thread.Join();
        }
        // once it has stopped, a hub is no longer live, and a dump of it says so
        Assert.DoesNotContain(hub!, Hub.LiveHubs);
        Assert.False(RunInfo.Capture(hub!).Answered);
    }

    [Fact]
    public void The_dump_of_all_hubs_includes_every_live_hub()
    {
        using var group = new HubGroup(2);
        string text = RunInfo.Format();
        IReadOnlyList<HubRunInfo> all = RunInfo.Capture();
        foreach (Hub h in group.Hubs)
        {
            Assert.Contains(h, Hub.LiveHubs);
            Assert.Contains($"Hub {h.Id} (thread {h.ManagedThreadId})", text);
            HubRunInfo info = Assert.Single(all, x => x.HubId == h.Id);
            Assert.True(info.Answered);
            Assert.Equal(GreenletRunState.Parked, info.Greenlets[0].State);        // each hub's main awaits its stop
        }
        var sw = new StringWriter();
        RunInfo.Dump(sw);
        Assert.StartsWith("FiberRuntime run info: process " + Environment.ProcessId, sw.ToString());
    }
}
