using System.Diagnostics;

namespace FiberRuntime.Tests.Sync;

public class FiberEventTests
{
    [Fact]
    public void Set_wakes_all_waiters_in_fifo_order()
    {
        Hub.Run(() =>
        {
            var ev = new FiberEvent();
            var order = new List<int>();
            var fibers = Enumerable.Range(0, 5).Select(i => Fiber.Spawn(() => { Assert.True(ev.Wait()); order.Add(i); })).ToList();
            Fiber.Yield();
            Assert.Empty(order);
            Assert.False(ev.IsSet);
            ev.Set();
            Assert.True(ev.IsSet);
            Fiber.JoinAll(fibers, TimeSpan.FromSeconds(5));
            Assert.Equal([0, 1, 2, 3, 4], order);
        });
    }

    [Fact]
    public void Wait_on_set_event_returns_at_once_clear_makes_it_block_again()
    {
        Hub.Run(() =>
        {
            var ev = new FiberEvent(initialState: true);
            Assert.True(ev.Wait());
            Assert.True(ev.Wait(TimeSpan.Zero));
            ev.Clear();
            Assert.False(ev.IsSet);
            Assert.False(ev.Wait(TimeSpan.Zero));
            var sw = Stopwatch.StartNew();
            Assert.False(ev.Wait(TimeSpan.FromMilliseconds(100)));
            Assert.InRange(sw.ElapsedMilliseconds, 50, 5000);
            ev.Set();
            Assert.True(ev.Wait(TimeSpan.FromMilliseconds(100)));
        });
    }

    [Fact]
    public void Waiters_woken_by_set_return_true_even_if_cleared_before_they_run()
    {
        Hub.Run(() =>
        {
            var ev = new FiberEvent();
            bool? result = null;
            var f = Fiber.Spawn(() => result = ev.Wait(TimeSpan.FromSeconds(5)));
            Fiber.Yield();
            ev.Set();
            ev.Clear();
            f.Join();
            Assert.True(result);
        });
    }

    [Fact]
    public void Timed_out_waiter_does_not_disturb_others()
    {
        Hub.Run(() =>
        {
            var ev = new FiberEvent();
            bool? shortWait = null, longWait = null;
            var a = Fiber.Spawn(() => shortWait = ev.Wait(TimeSpan.FromMilliseconds(30)));
            var b = Fiber.Spawn(() => longWait = ev.Wait(TimeSpan.FromSeconds(5)));
            a.Join();
            Assert.False(shortWait);
            ev.Set();
            b.Join();
            Assert.True(longWait);
        });
    }

    [Fact]
    public void Kill_while_waiting_ends_the_fiber_event_still_works()
    {
        Hub.Run(() =>
        {
            var ev = new FiberEvent();
            bool reachedAfterWait = false;
            var victim = Fiber.Spawn(() => { ev.Wait(); reachedAfterWait = true; });
            bool? other = null;
            var survivor = Fiber.Spawn(() => other = ev.Wait(TimeSpan.FromSeconds(5)));
            Fiber.Yield();
            victim.Kill();
            Assert.True(victim.IsReady);
            Assert.False(reachedAfterWait);
            ev.Set();
            survivor.Join();
            Assert.True(other);
        });
    }

    [Fact]
    public void Cross_thread_set_wakes_the_fiber()
    {
        Hub.Run(() =>
        {
            var ev = new FiberEvent();
            Assert.False(ev.Wait(TimeSpan.Zero));       // does not block
            var waiter = Fiber.Spawn(() => Assert.True(ev.Wait(TimeSpan.FromSeconds(5))));
            Fiber.Yield();                              // binds the event to this hub
            var thread = new Thread(() => { Thread.Sleep(50); ev.Set(); });
            thread.Start();
            Assert.True(ev.Wait(TimeSpan.FromSeconds(5)));
            waiter.Get(TimeSpan.FromSeconds(5));
            thread.Join();
            Assert.True(ev.IsSet);

            // Clear from another thread is posted too
            var t2 = new Thread(ev.Clear);
            t2.Start();
            t2.Join();
            var sw = Stopwatch.StartNew();
            while (ev.IsSet && sw.Elapsed < TimeSpan.FromSeconds(5)) Fiber.Sleep(TimeSpan.FromMilliseconds(5));
            Assert.False(ev.IsSet);
        });
    }

    [Fact]
    public void Set_before_any_hub_uses_it_from_a_plain_thread_is_kept()
    {
        var ev = new FiberEvent();
        var setter = new Thread(ev.Set);
        setter.Start();
        setter.Join();
        Assert.True(ev.IsSet);
        Assert.True(ev.Wait());                         // set: returns at once even off-hub
        Hub.Run(() => Assert.True(ev.Wait(TimeSpan.FromSeconds(1))));
    }

    [Fact]
    public void Blocking_wait_off_hub_throws()
    {
        var ev = new FiberEvent();
        var e = Assert.Throws<InvalidOperationException>(() => ev.Wait(TimeSpan.FromSeconds(1)));
        Assert.Contains("hub", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(ev.Wait(TimeSpan.Zero));           // a zero timeout never blocks: allowed

        Hub.Run(() =>
        {
            var bound = new FiberEvent();
            bound.Clear();                              // binds to this hub
            Exception? ex = OffHub.Run(() => bound.Wait(TimeSpan.FromSeconds(1)));
            Assert.IsType<InvalidOperationException>(ex);
            Assert.Contains("thread", ex!.Message, StringComparison.OrdinalIgnoreCase);
            HubProbe.AssertHubWorks();
        });
    }

    [Fact]
    public void Negative_timeout_throws_and_hub_keeps_working()
    {
        Hub.Run(() =>
        {
            var ev = new FiberEvent();
            Assert.Throws<ArgumentOutOfRangeException>(() => ev.Wait(TimeSpan.FromMilliseconds(-5)));
            Assert.False(ev.Wait(TimeSpan.FromMilliseconds(10)));
            var f = Fiber.Spawn(() => ev.Wait(Timeout.InfiniteTimeSpan));
            Fiber.Yield();
            ev.Set();
            f.Get(TimeSpan.FromSeconds(5));
            HubProbe.AssertHubWorks();
        });
    }

    [Fact]
    public void FiberTimeout_interrupts_a_wait()
    {
        Hub.Run(() =>
        {
            var ev = new FiberEvent();
            Assert.Throws<FiberTimeoutException>(() => Fiber.WithTimeout(TimeSpan.FromMilliseconds(30), () => ev.Wait()));
            var f = Fiber.Spawn(() => ev.Wait());
            Fiber.Yield();
            ev.Set();
            Assert.True(f.Join(TimeSpan.FromSeconds(5)));
        });
    }
}
