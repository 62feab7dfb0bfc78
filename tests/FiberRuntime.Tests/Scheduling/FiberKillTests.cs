namespace FiberRuntime.Tests.Scheduling;

/// <summary>Fiber.Kill: the exception raised, block and timeout, unstarted, sleeping, joining and finished fibers, other threads.</summary>
public class FiberKillTests
{
    private sealed class BoomException(string message) : Exception(message);

    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public void Kill_default_raises_GreenletExit_and_the_fiber_ends_successfully()
    {
        Hub.Run(() =>
        {
            Exception? seen = null;
            Fiber f = Fiber.Spawn(() =>
            {
                try
                {
                    Fiber.Sleep(Long);
                }
                catch (Exception e)
                {
                    seen = e;
                    throw;
                }
            });
            Fiber.Yield();
            f.Kill();
            Assert.IsType<GreenletExit>(seen);
            Assert.True(f.IsReady);
            Assert.True(f.IsSuccessful);
            Assert.True(f.IsDead);
            Assert.Null(f.Exception);
        });
    }

    [Fact]
    public void Kill_with_a_custom_exception_fails_the_fiber_with_it()
    {
        Hub.Run(() =>
        {
            Fiber f = Fiber.Spawn(() => Fiber.Sleep(Long));
            Fiber.Yield();
            var boom = new BoomException("killed");
            f.Kill(boom);
            Assert.True(f.IsReady);
            Assert.False(f.IsSuccessful);
            Assert.Same(boom, f.Exception);
            Assert.Same(boom, Assert.Throws<BoomException>(() => f.Get()));
        });
    }

    [Fact]
    public void Kill_block_true_waits_for_the_fibers_finally_block_false_does_not()
    {
        Hub.Run(() =>
        {
            bool cleaned = false;
            Fiber f = Fiber.Spawn(() =>
            {
                try
                {
                    Fiber.Sleep(Long);
                }
                finally
                {
                    Fiber.Sleep(TimeSpan.FromMilliseconds(30));     // a finally that blocks
                    cleaned = true;
                }
            });
            Fiber.Yield();
            f.Kill();
            Assert.True(cleaned);
            Assert.True(f.IsReady);

            bool cleaned2 = false;
            Fiber g = Fiber.Spawn(() =>
            {
                try
                {
                    Fiber.Sleep(Long);
                }
                finally
                {
                    Fiber.Sleep(TimeSpan.FromMilliseconds(30));
                    cleaned2 = true;
                }
            });
            Fiber.Yield();
            g.Kill(block: false);
            Assert.False(cleaned2);
            Assert.False(g.IsReady);
            Assert.True(g.Join(TimeSpan.FromSeconds(10)));
            Assert.True(cleaned2);
            Assert.True(g.IsSuccessful);
        });
    }

    [Fact]
    public void Kill_WithTimeout_throws_when_a_fiber_refuses_to_die()
    {
        Hub.Run(() =>
        {
            Fiber f = Fiber.Spawn(() =>
            {
                try
                {
                    Fiber.Sleep(Long);
                }
                catch (GreenletExit)
                {
                    Fiber.Sleep(TimeSpan.FromMilliseconds(400));   // ignores the kill for a while
                }
            });
            Fiber.Yield();
            Assert.Throws<FiberTimeoutException>(() => f.Kill(timeout: TimeSpan.FromMilliseconds(50)));
            Assert.False(f.IsReady);
            Assert.True(f.Join(TimeSpan.FromSeconds(10)));
        });
    }

    [Fact]
    public void Kill_before_start_the_fiber_never_runs()
    {
        Hub.Run(() =>
        {
            bool ran = false;
            Fiber f = Fiber.Spawn(() => ran = true);
            f.Kill();
            Assert.True(f.IsReady);
            Assert.True(f.IsSuccessful);
            Assert.True(f.IsDead);
            Fiber.Yield();
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            Assert.False(ran);
            Assert.False(f.IsStarted);

            bool ran2 = false;
            Fiber g = Fiber.Spawn(() => ran2 = true);
            var boom = new BoomException("before start");
            g.Kill(boom);
            Fiber.Yield();
            Assert.False(ran2);
            Assert.False(g.IsSuccessful);
            Assert.Same(boom, g.Exception);
        });
    }

    [Fact]
    public void Kill_of_a_sleeping_fiber_runs_its_finally()
    {
        Hub.Run(() =>
        {
            var log = new List<string>();
            Fiber f = Fiber.Spawn(() =>
            {
                try
                {
                    log.Add("sleeping");
                    Fiber.Sleep(Long);
                    log.Add("woke (must not happen)");
                }
                finally
                {
                    log.Add("finally");
                }
            });
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            f.Kill();
            Assert.Equal(["sleeping", "finally"], log);
        });
    }

    [Fact]
    public void Kill_of_a_fiber_blocked_in_join_runs_its_finally()
    {
        Hub.Run(() =>
        {
            bool cleaned = false;
            Fiber sleeper = Fiber.Spawn(() => Fiber.Sleep(Long));
            Fiber joiner = Fiber.Spawn(() =>
            {
                try
                {
                    sleeper.Join();
                }
                finally
                {
                    cleaned = true;
                }
            });
            Fiber.Yield();
            joiner.Kill();
            Assert.True(cleaned);
            Assert.True(joiner.IsSuccessful);
            Assert.False(sleeper.IsReady);
            sleeper.Kill();
            Assert.True(sleeper.IsReady);
        });
    }

    [Fact]
    public void Kill_from_another_os_thread_on_a_hub_run_fiber()
    {
        Hub.Run(() =>
        {
            bool cleaned = false;
            Fiber f = Fiber.Spawn(() =>
            {
                try
                {
                    Fiber.Sleep(Long);
                }
                finally
                {
                    cleaned = true;
                }
            });
            Fiber.Yield();
            Exception? killerError = null;
            var killer = new Thread(() =>
            {
                try
                {
                    f.Kill();                   // posts the kill to the hub, blocks this thread until f is done
                }
                catch (Exception e)
                {
                    killerError = e;
                }
            });
            killer.Start();
            Assert.True(f.Join(TimeSpan.FromSeconds(10)));
            Assert.True(cleaned);
            Assert.True(f.IsSuccessful);
            Assert.True(killer.Join(TimeSpan.FromSeconds(10)));
            Assert.Null(killerError);
        });
    }

    [Fact]
    public void Kill_from_the_plain_test_thread_on_the_default_hub()
    {
        bool cleaned = false;
        using var started = new ManualResetEventSlim();
        Fiber f = Fiber.Spawn(() =>
        {
            try
            {
                started.Set();
                Fiber.Sleep(Long);
            }
            finally
            {
                cleaned = true;
            }
        });
        Assert.True(started.Wait(TimeSpan.FromSeconds(30)));     // running, so the kill must go through its finally
        f.Kill();
        Assert.True(f.IsReady);
        Assert.True(f.IsSuccessful);
        Assert.True(cleaned);

        Fiber g = Fiber.Spawn(() => Fiber.Sleep(Long));
        var boom = new BoomException("cross-thread kill");
        g.Kill(boom);
        Assert.Same(boom, g.Exception);
    }

    [Fact]
    public void Kill_of_a_finished_fiber_does_nothing()
    {
        Hub.Run(() =>
        {
            Fiber<int> f = Fiber.Spawn(() => 5);
            Assert.Equal(5, f.Get());
            f.Kill(new BoomException("too late"));
            Assert.True(f.IsSuccessful);
            Assert.Equal(5, f.Value);
        });
    }
}
