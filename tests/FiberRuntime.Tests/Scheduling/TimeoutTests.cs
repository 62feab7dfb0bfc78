using System.Diagnostics;

namespace FiberRuntime.Tests.Scheduling;

/// <summary>FiberTimeout and Fiber.WithTimeout.</summary>
public class TimeoutTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public void WithTimeout_expires_at_a_blocking_point()
    {
        Hub.Run(() =>
        {
            bool after = false;
            var sw = Stopwatch.StartNew();
            var e = Assert.Throws<FiberTimeoutException>(() => Fiber.WithTimeout(TimeSpan.FromMilliseconds(50), () =>
            {
                Fiber.Sleep(Long);
                after = true;
            }));
            Assert.False(after);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"elapsed {sw.Elapsed}");
            Assert.NotNull(e.Timeout);
            Assert.True(e.Timeout!.Expired);
            // nothing is left armed: neither the expired limit nor the interrupted sleep's timer
            Assert.Equal(0, Hub.Current!.Scheduler.TimerCountRacy);
            Fiber.Sleep(TimeSpan.FromMilliseconds(100));
        });
    }

    [Fact]
    public void WithTimeout_returns_the_value_when_in_time()
    {
        Hub.Run(() =>
        {
            Assert.Equal(42, Fiber.WithTimeout(TimeSpan.FromSeconds(5), () => { Fiber.Sleep(TimeSpan.FromMilliseconds(10)); return 42; }));
            // the 5 s limit was disarmed when the body returned: a leaked timer would still be in the hub's heap
            Assert.Equal(0, Hub.Current!.Scheduler.TimerCountRacy);
        });
    }

    [Fact]
    public void WithTimeout_in_a_spawned_fiber_while_joining_another()
    {
        Hub.Run(() =>
        {
            Fiber sleeper = Fiber.Spawn(() => Fiber.Sleep(Long));
            Fiber<string> f = Fiber.Spawn(() =>
            {
                try
                {
                    Fiber.WithTimeout(TimeSpan.FromMilliseconds(30), () => sleeper.Join());
                    return "joined";
                }
                catch (FiberTimeoutException)
                {
                    return "timed out";
                }
            });
            Assert.Equal("timed out", f.Get());
            Assert.False(sleeper.IsReady);
            sleeper.Kill();
        });
    }

    [Fact]
    public void FiberTimeout_cancel_or_dispose_prevents_it()
    {
        Hub.Run(() =>
        {
            FiberTimeout t = FiberTimeout.Start(TimeSpan.FromMilliseconds(30));
            Assert.True(t.Pending);
            t.Cancel();
            Assert.False(t.Pending);
            Fiber.Sleep(TimeSpan.FromMilliseconds(100));
            Assert.False(t.Expired);

            using (FiberTimeout.Start(TimeSpan.FromMilliseconds(30)))
            {
                Fiber.Sleep(TimeSpan.FromMilliseconds(1));
            }
            Fiber.Sleep(TimeSpan.FromMilliseconds(100));

            FiberTimeout infinite = FiberTimeout.Start(Timeout.InfiniteTimeSpan);
            Assert.False(infinite.Pending);
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            infinite.Dispose();
        });
    }

    [Fact]
    public void FiberTimeout_raises_at_the_next_blocking_point_with_its_own_exception_when_given()
    {
        Hub.Run(() =>
        {
            var custom = new InvalidDataException("custom timeout");
            using FiberTimeout t = FiberTimeout.Start(TimeSpan.FromMilliseconds(20), custom);
            var e = Assert.Throws<InvalidDataException>(() => Fiber.Sleep(Long));
            Assert.Same(custom, e);
            Assert.True(t.Expired);
            Assert.False(t.Pending);
        });
    }

    [Fact]
    public void Nested_timeouts_the_outer_one_expires_and_is_the_one_caught()
    {
        Hub.Run(() =>
        {
            using FiberTimeout outer = FiberTimeout.Start(TimeSpan.FromMilliseconds(50));
            var e = Assert.Throws<FiberTimeoutException>(() =>
            {
                using FiberTimeout inner = FiberTimeout.Start(TimeSpan.FromSeconds(20));
                Fiber.Sleep(Long);
            });
            Assert.Same(outer, e.Timeout);
            Assert.True(outer.Expired);
        });
    }

    [Fact]
    public void Nested_timeouts_the_inner_one_expires_the_outer_keeps_running()
    {
        Hub.Run(() =>
        {
            string result = Fiber.WithTimeout(TimeSpan.FromSeconds(20), () =>
            {
                var e = Assert.Throws<FiberTimeoutException>(() => Fiber.WithTimeout(TimeSpan.FromMilliseconds(30), () => Fiber.Sleep(Long)));
                Fiber.Sleep(TimeSpan.FromMilliseconds(50));      // still inside the outer limit
                return "outer survived: " + (e.Timeout is not null);
            });
            Assert.Equal("outer survived: True", result);
        });
    }

    [Fact]
    public void FiberTimeout_on_a_plain_thread_is_refused()
    {
        Assert.Throws<InvalidOperationException>(() => FiberTimeout.Start(TimeSpan.FromSeconds(1)));
    }
}
