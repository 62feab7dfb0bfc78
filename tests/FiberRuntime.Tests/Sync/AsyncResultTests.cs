using System.Diagnostics;

namespace FiberRuntime.Tests.Sync;

public class AsyncResultTests
{
    private sealed class BoomException(string message) : Exception(message);

    [Fact]
    public void Set_wakes_getters_in_fifo_order_with_the_value()
    {
        Hub.Run(() =>
        {
            var r = new AsyncResult<int>();
            Assert.False(r.IsReady);
            var order = new List<(int, int)>();
            var fibers = Enumerable.Range(0, 4).Select(i => Fiber.Spawn(() => order.Add((i, r.Get())))).ToList();
            Fiber.Yield();
            r.Set(42);
            Assert.True(r.IsReady);
            Assert.True(r.IsSuccessful);
            Assert.Equal(42, r.Value);
            Assert.Null(r.Exception);
            Fiber.JoinAll(fibers, TimeSpan.FromSeconds(5));
            Assert.Equal([(0, 42), (1, 42), (2, 42), (3, 42)], order);
            Assert.Equal(42, r.Get(TimeSpan.Zero));
        });
    }

    [Fact]
    public void SetException_get_rethrows_the_same_exception()
    {
        Hub.Run(() =>
        {
            var r = new AsyncResult<string>();
            var boom = new BoomException("boom");
            var getter = Fiber.Spawn(() => Assert.Same(boom, Assert.Throws<BoomException>(() => r.Get())));
            Fiber.Yield();
            r.SetException(boom);
            getter.Get(TimeSpan.FromSeconds(5));
            Assert.True(r.IsReady);
            Assert.False(r.IsSuccessful);
            Assert.Same(boom, r.Exception);
            Assert.Null(r.Value);
            Assert.True(r.Wait());
            Assert.Same(boom, Assert.Throws<BoomException>(() => r.Get()));
        });
    }

    [Fact]
    public void Later_set_replaces_the_outcome_like_gevent()
    {
        Hub.Run(() =>
        {
            var r = new AsyncResult<int>();
            r.Set(1);
            r.Set(2);
            Assert.Equal(2, r.Get());
            r.SetException(new BoomException("x"));
            Assert.Throws<BoomException>(() => r.Get());
        });
    }

    [Fact]
    public void Get_times_out_with_FiberTimeoutException()
    {
        Hub.Run(() =>
        {
            var r = new AsyncResult<int>();
            Assert.Throws<FiberTimeoutException>(() => r.Get(TimeSpan.Zero));
            var sw = Stopwatch.StartNew();
            Assert.Throws<FiberTimeoutException>(() => r.Get(TimeSpan.FromMilliseconds(100)));
            Assert.InRange(sw.ElapsedMilliseconds, 50, 5000);
            Assert.False(r.Wait(TimeSpan.FromMilliseconds(20)));
            r.Set(7);
            Assert.Equal(7, r.Get(TimeSpan.FromMilliseconds(20)));
        });
    }

    [Fact]
    public void Kill_while_waiting_others_still_get_the_value()
    {
        Hub.Run(() =>
        {
            var r = new AsyncResult<int>();
            bool after = false;
            var victim = Fiber.Spawn(() => { r.Get(); after = true; });
            var other = Fiber.Spawn(() => r.Get());
            Fiber.Yield();
            victim.Kill();
            Assert.True(victim.IsReady);
            Assert.False(after);
            r.Set(5);
            Assert.Equal(5, other.Get(TimeSpan.FromSeconds(5)));
        });
    }

    [Fact]
    public void Cross_thread_set_is_posted_to_the_hub()
    {
        Hub.Run(() =>
        {
            var r = new AsyncResult<int>();
            Assert.False(r.Wait(TimeSpan.Zero));
            var waiter = Fiber.Spawn(() => r.Get(TimeSpan.FromSeconds(5)));
            Fiber.Yield();
            var t = new Thread(() => { Thread.Sleep(30); r.Set(99); });
            t.Start();
            Assert.Equal(99, waiter.Get(TimeSpan.FromSeconds(5)));
            t.Join();

            var failed = new AsyncResult<int>();
            failed.Wait(TimeSpan.FromMilliseconds(1));     // bind
            var t2 = new Thread(() => failed.SetException(new BoomException("far")));
            t2.Start();
            Assert.Throws<BoomException>(() => failed.Get(TimeSpan.FromSeconds(5)));
            t2.Join();
        });
    }

    [Fact]
    public void Off_hub_ready_result_is_readable_blocking_get_throws()
    {
        var r = new AsyncResult<int>();
        Assert.IsType<InvalidOperationException>(OffHub.Run(() => r.Get(TimeSpan.FromSeconds(1))));
        Assert.IsType<FiberTimeoutException>(OffHub.Run(() => r.Get(TimeSpan.Zero)));
        Assert.Null(OffHub.Run(() => r.Set(3)));
        Assert.Equal(3, r.Get());
        Hub.Run(() => Assert.Equal(3, r.Get()));
    }

    [Fact]
    public void Bad_input_throws_and_hub_keeps_working()
    {
        Hub.Run(() =>
        {
            var r = new AsyncResult<int>();
            Assert.Throws<ArgumentNullException>(() => r.SetException(null!));
            Assert.Throws<ArgumentOutOfRangeException>(() => r.Get(TimeSpan.FromSeconds(-1)));
            Assert.Throws<ArgumentOutOfRangeException>(() => r.Wait(TimeSpan.FromSeconds(-1)));
            Assert.False(r.IsReady);
            var f = Fiber.Spawn(() => r.Get());
            Fiber.Yield();
            r.Set(1);
            Assert.Equal(1, ((Fiber<int>)f).Get(TimeSpan.FromSeconds(5)));
            HubProbe.AssertHubWorks();
        });
    }
}
