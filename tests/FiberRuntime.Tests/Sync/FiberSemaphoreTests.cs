using System.Diagnostics;

namespace FiberRuntime.Tests.Sync;

public class FiberSemaphoreTests
{
    [Fact]
    public void Acquire_release_counts()
    {
        Hub.Run(() =>
        {
            var s = new FiberSemaphore(2);
            Assert.Equal(2, s.InitialCount);
            Assert.True(s.Acquire());
            Assert.True(s.TryAcquire());
            Assert.Equal(0, s.CurrentCount);
            Assert.True(s.IsLocked);
            Assert.False(s.Acquire(TimeSpan.Zero));
            var sw = Stopwatch.StartNew();
            Assert.False(s.Acquire(TimeSpan.FromMilliseconds(100)));
            Assert.InRange(sw.ElapsedMilliseconds, 50, 5000);
            Assert.Equal(1, s.Release());
            Assert.Equal(2, s.Release());
            Assert.Equal(3, s.Release());        // an unbounded semaphore may go above its initial count
            Assert.Equal(1, new FiberSemaphore().CurrentCount);
        });
    }

    [Fact]
    public void Release_hands_the_permit_to_waiters_in_fifo_order_no_barging()
    {
        Hub.Run(() =>
        {
            var s = new FiberSemaphore(0);
            var order = new List<int>();
            var fibers = Enumerable.Range(0, 4).Select(i => Fiber.Spawn(() => { Assert.True(s.Acquire()); order.Add(i); })).ToList();
            Fiber.Yield();
            for (int i = 0; i < 4; i++) Assert.Equal(0, s.Release());
            Assert.False(s.TryAcquire());        // every permit went to a waiter
            Fiber.JoinAll(fibers, TimeSpan.FromSeconds(5));
            Assert.Equal([0, 1, 2, 3], order);
            Assert.Equal(0, s.CurrentCount);
        });
    }

    [Fact]
    public void Wait_does_not_acquire()
    {
        Hub.Run(() =>
        {
            var s = new FiberSemaphore(0);
            Assert.Equal(0, s.Wait(TimeSpan.FromMilliseconds(20)));
            var watcher = Fiber.Spawn(() => s.Wait(TimeSpan.FromSeconds(5)));
            Fiber.Yield();
            s.Release();
            Assert.Equal(1, watcher.Get(TimeSpan.FromSeconds(5)));
            Assert.Equal(1, s.CurrentCount);
            Assert.Equal(1, s.Wait());
        });
    }

    [Fact]
    public void Kill_while_waiting_the_permit_is_not_lost()
    {
        Hub.Run(() =>
        {
            var s = new FiberSemaphore(0);
            var victim = Fiber.Spawn(() => s.Acquire());
            Fiber.Yield();
            victim.Kill();
            Assert.True(victim.IsReady);
            s.Release();
            Assert.Equal(1, s.CurrentCount);

            // a waiter handed a permit and killed before it ran: it returns with the permit, then dies
            Assert.True(s.Acquire());
            bool acquired = false;
            var served = Fiber.Spawn(() =>
            {
                acquired = s.Acquire();
                try
                {
                    Fiber.Sleep(TimeSpan.FromSeconds(10));
                }
                finally
                {
                    s.Release();
                }
            });
            Fiber.Yield();
            s.Release();
            served.Kill();
            Assert.True(acquired);
            Assert.Equal(1, s.CurrentCount);
        });
    }

    [Fact]
    public void Bounded_release_above_initial_throws()
    {
        Hub.Run(() =>
        {
            var b = new FiberBoundedSemaphore(2);
            Assert.Throws<InvalidOperationException>(() => b.Release());
            Assert.True(b.Acquire());
            Assert.Equal(2, b.Release());
            Assert.Throws<InvalidOperationException>(() => b.Release());
            Assert.Equal(2, b.CurrentCount);

            var zero = new FiberBoundedSemaphore(0);
            Assert.Throws<InvalidOperationException>(() => zero.Release());

            var one = new FiberBoundedSemaphore();
            Assert.True(one.Acquire());
            var waiter = Fiber.Spawn(() => one.Acquire(TimeSpan.FromSeconds(5)));
            Fiber.Yield();
            Assert.Equal(0, one.Release());      // handed to the waiter
            Assert.True(waiter.Get(TimeSpan.FromSeconds(5)));
            Assert.Equal(1, one.Release());
            Assert.Throws<InvalidOperationException>(() => one.Release());
        });
    }

    [Fact]
    public void Bad_input_throws_and_hub_keeps_working()
    {
        Hub.Run(() =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new FiberSemaphore(-1));
            Assert.Throws<ArgumentOutOfRangeException>(() => new FiberBoundedSemaphore(-1));
            var s = new FiberSemaphore(1);
            Assert.Throws<ArgumentOutOfRangeException>(() => s.Acquire(TimeSpan.FromSeconds(-1)));
            Assert.Throws<ArgumentOutOfRangeException>(() => s.Wait(TimeSpan.FromSeconds(-1)));
            Assert.Equal(1, s.CurrentCount);
            Assert.True(s.Acquire(Timeout.InfiniteTimeSpan));
            Assert.IsType<InvalidOperationException>(OffHub.Run(() => s.Release()));
            Assert.Equal(0, s.CurrentCount);
            HubProbe.AssertHubWorks();
        });
    }
}
