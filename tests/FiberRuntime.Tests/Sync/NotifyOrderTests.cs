namespace FiberRuntime.Tests.Sync;

/// <summary>"Notify the waiters, in order, once" (gevent's AbstractLinkable): a fiber that finds a primitive ready
/// while the waiters its last notification woke have not run yet must not overtake them (gevent
/// test__event.TestEventBasics.test_wait_while_notifying, gevent issue #1520).</summary>
public class NotifyOrderTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    /// <summary>gevent's test shape: two fibers wait, then append; the event is set and the caller waits and appends
    /// right away. <paramref name="wait"/> is the wait under test, <paramref name="ready"/> makes it ready.</summary>
    private static List<int> WaitWhileNotifying(Action wait, Action ready)
    {
        var results = new List<int>();
        void WaitThenAppend(int arg)
        {
            wait();
            results.Add(arg);
        }
        Fiber.Spawn(() => WaitThenAppend(1));
        Fiber.Spawn(() => WaitThenAppend(2));
        Fiber.Yield();
        ready();
        WaitThenAppend(3);
        return results;
    }

    [Fact]
    public void Event_wait_while_notifying_runs_after_the_woken_waiters()
    {
        Hub.Run(() =>
        {
            var e = new FiberEvent();
            Assert.Equal([1, 2, 3], WaitWhileNotifying(() => Assert.True(e.Wait()), e.Set));
        });
    }

    [Fact]
    public void Event_a_late_waiter_arriving_while_the_first_late_one_waits_stays_in_order()
    {
        Hub.Run(() =>
        {
            var e = new FiberEvent();
            var results = new List<int>();
            Fiber.Spawn(() => { e.Wait(); results.Add(1); });
            Fiber.Yield();
            e.Set();
            // starts after 1 ran but before the late waiter (main) did: it must queue behind main, as in gevent
            // (where main is linked into the notification that is still running)
            Fiber.Spawn(() => { e.Wait(); results.Add(3); });
            e.Wait();
            results.Add(2);
            Fiber.Sleep(TimeSpan.FromMilliseconds(10));
            Assert.Equal([1, 2, 3], results);
        });
    }

    [Fact]
    public void Event_wait_with_zero_timeout_never_blocks_even_while_notifying()
    {
        Hub.Run(() =>
        {
            var e = new FiberEvent();
            var results = new List<int>();
            Fiber.Spawn(() => { e.Wait(); results.Add(1); });
            Fiber.Yield();
            e.Set();
            Assert.True(e.Wait(TimeSpan.Zero));
            Assert.Empty(results);                      // it did not yield
            Assert.True(e.Wait());
            Assert.Equal([1], results);
            Assert.True(e.Wait());                      // nothing in flight any more: returns at once
        });
    }

    [Fact]
    public void Event_wait_on_a_set_event_with_nothing_in_flight_does_not_switch()
    {
        Hub.Run(() =>
        {
            var e = new FiberEvent(initialState: true);
            bool otherRan = false;
            Fiber.Spawn(() => otherRan = true);
            Assert.True(e.Wait());
            Assert.False(otherRan);
        });
    }

    [Fact]
    public void AsyncResult_get_while_notifying_runs_after_the_woken_waiters()
    {
        Hub.Run(() =>
        {
            var r = new AsyncResult<int>();
            Assert.Equal([1, 2, 3], WaitWhileNotifying(() => Assert.Equal(7, r.Get()), () => r.Set(7)));
            var w = new AsyncResult<int>();
            Assert.Equal([1, 2, 3], WaitWhileNotifying(() => Assert.True(w.Wait()), () => w.SetException(new InvalidOperationException())));
        });
    }

    [Fact]
    public void Semaphore_wait_while_notifying_runs_after_the_woken_watchers()
    {
        Hub.Run(() =>
        {
            var s = new FiberSemaphore(0);
            Assert.Equal([1, 2, 3], WaitWhileNotifying(() => Assert.Equal(1, s.Wait()), () => s.Release()));
        });
    }

    [Fact]
    public void Semaphore_a_late_acquire_does_not_take_a_permit_handed_to_a_waiter()
    {
        Hub.Run(() =>
        {
            foreach (FiberSemaphore s in new[] { new FiberSemaphore(0), new FiberBoundedSemaphore(1) })
            {
                if (s is FiberBoundedSemaphore) Assert.True(s.TryAcquire());
                var results = new List<int>();
                Fiber.Spawn(() => { s.Acquire(); results.Add(1); s.Release(); });
                Fiber.Yield();
                s.Release();                            // handed to fiber 1, which has not run yet
                Assert.False(s.TryAcquire());
                Assert.Equal(0, s.CurrentCount);
                Fiber.Spawn(() => { s.Acquire(); results.Add(2); });
                Assert.True(s.Acquire(Long));           // queued before fiber 2: fiber 1's release comes here
                results.Add(3);
                Assert.Equal([1, 3], results);
                s.Release();
                Fiber.Sleep(TimeSpan.FromMilliseconds(10));
                Assert.Equal([1, 3, 2], results);
            }
        });
    }

    [Fact]
    public void Lock_a_late_acquire_does_not_take_a_lock_handed_to_a_waiter()
    {
        Hub.Run(() =>
        {
            var l = new FiberLock();
            var results = new List<int>();
            l.Acquire();
            Fiber waiter = Fiber.Spawn(() => { l.Acquire(); results.Add(1); l.Release(); });
            Fiber.Yield();
            l.Release();                                // handed to the waiter, which has not run yet
            Assert.True(l.IsLocked);
            Assert.False(l.TryAcquire());
            Assert.True(l.Acquire(Long));
            results.Add(2);
            l.Release();
            Assert.Equal([1, 2], results);
            Assert.True(waiter.IsReady);
        });
    }
}
