using System.Diagnostics;

namespace FiberRuntime.Tests.Scheduling;

/// <summary>FiberTimeout and Fiber.WithTimeout.</summary>
public class TimeoutTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public void WithTimeout_ExpiresAtABlockingPoint()
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
    public void WithTimeout_ReturnsTheValue_WhenInTime()
    {
        Hub.Run(() =>
        {
            Assert.Equal(42, Fiber.WithTimeout(TimeSpan.FromSeconds(5), () => { Fiber.Sleep(TimeSpan.FromMilliseconds(10)); return 42; }));
            // the 5 s limit was disarmed when the body returned: a leaked timer would still be in the hub's heap
            Assert.Equal(0, Hub.Current!.Scheduler.TimerCountRacy);
        });
    }

    [Fact]
    public void WithTimeout_InASpawnedFiber_WhileJoiningAnother()
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
    public void FiberTimeout_CancelOrDispose_PreventsIt()
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
    public void FiberTimeout_RaisesAtTheNextBlockingPoint_WithItsOwnExceptionWhenGiven()
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
    public void NestedTimeouts_TheOuterOneExpires_AndIsTheOneCaught()
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
    public void NestedTimeouts_TheInnerOneExpires_TheOuterKeepsRunning()
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
    public void FiberTimeout_OnAPlainThread_IsRefused()
    {
        Assert.Throws<InvalidOperationException>(() => FiberTimeout.Start(TimeSpan.FromSeconds(1)));
    }
}
