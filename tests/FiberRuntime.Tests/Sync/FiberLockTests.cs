using System.Diagnostics;

namespace FiberRuntime.Tests.Sync;

public class FiberLockTests
{
    [Fact]
    public void Reentrant_per_fiber()
    {
        Hub.Run(() =>
        {
            var l = new FiberLock();
            Assert.False(l.IsLocked);
            Assert.True(l.Acquire());
            Assert.True(l.Acquire());
            l.Enter();
            Assert.Equal(3, l.RecursionCount);
            Assert.True(l.IsHeldByCurrentFiber);
            var other = Fiber.Spawn(() => (l.IsHeldByCurrentFiber, l.Acquire(TimeSpan.Zero), l.Acquire(TimeSpan.FromMilliseconds(60))));
            var sw = Stopwatch.StartNew();
            var (held, now, later) = other.Get(TimeSpan.FromSeconds(5));
            Assert.False(held);
            Assert.False(now);
            Assert.False(later);
            Assert.InRange(sw.ElapsedMilliseconds, 30, 5000);
            l.Exit();
            l.Release();
            Assert.True(l.IsLocked);
            l.Release();
            Assert.False(l.IsLocked);
            Assert.Equal(0, l.RecursionCount);
        });
    }

    [Fact]
    public void Release_without_holding_throws_SynchronizationLockException()
    {
        Hub.Run(() =>
        {
            var l = new FiberLock();
            Assert.Throws<SynchronizationLockException>(() => l.Release());
            l.Acquire();
            var other = Fiber.Spawn(() => Assert.Throws<SynchronizationLockException>(() => l.Release()));
            other.Get(TimeSpan.FromSeconds(5));
            Assert.True(l.IsHeldByCurrentFiber);
            l.Release();
            Assert.Throws<SynchronizationLockException>(() => l.Exit());
            HubProbe.AssertHubWorks();
        });
    }

    [Fact]
    public void Waiters_get_the_lock_in_fifo_order_with_scopes()
    {
        Hub.Run(() =>
        {
            var l = new FiberLock();
            var order = new List<int>();
            int inside = 0, maxInside = 0;
            l.Acquire();
            var fibers = Enumerable.Range(0, 5).Select(i => Fiber.Spawn(() =>
            {
                using (l.Lock())
                {
                    inside++;
                    maxInside = Math.Max(maxInside, inside);
                    order.Add(i);
                    Fiber.Yield();
                    inside--;
                }
            })).ToList();
            Fiber.Yield();
            l.Release();
            Assert.False(l.TryAcquire());           // handed to the first waiter: no barging
            Fiber.JoinAll(fibers, TimeSpan.FromSeconds(5));
            Assert.Equal([0, 1, 2, 3, 4], order);
            Assert.Equal(1, maxInside);
            Assert.False(l.IsLocked);
            default(FiberLock.Scope).Dispose();     // harmless
        });
    }

    [Fact]
    public void Kill_while_waiting_lock_still_works()
    {
        Hub.Run(() =>
        {
            var l = new FiberLock();
            l.Acquire();
            var victim = Fiber.Spawn(() => l.Acquire());
            var next = Fiber.Spawn(() => { using (l.Lock()) return Fiber.Current!.Id; });
            Fiber.Yield();
            victim.Kill();
            l.Release();
            Assert.Equal(next.Id, next.Get(TimeSpan.FromSeconds(5)));
            Assert.False(l.IsLocked);

            // handed the lock, then killed before it ran: it owns the lock, its finally releases it
            l.Acquire();
            var served = Fiber.Spawn(() =>
            {
                using (l.Lock()) Fiber.Sleep(TimeSpan.FromSeconds(10));
            });
            Fiber.Yield();
            l.Release();
            served.Kill();
            Assert.False(l.IsLocked);
            Assert.True(l.TryAcquire());
            l.Release();
        });
    }

    [Fact]
    public void Bad_input_and_other_threads_throw_hub_keeps_working()
    {
        Hub.Run(() =>
        {
            var l = new FiberLock();
            Assert.Throws<ArgumentOutOfRangeException>(() => l.Acquire(TimeSpan.FromMilliseconds(-2)));
            Assert.False(l.IsLocked);
            l.Acquire();
            Assert.IsType<InvalidOperationException>(OffHub.Run(() => l.Release()));
            Assert.IsType<InvalidOperationException>(OffHub.Run(() => l.Acquire()));
            l.Release();
            HubProbe.AssertHubWorks();
        });
    }
}
