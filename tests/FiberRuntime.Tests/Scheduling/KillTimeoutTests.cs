namespace FiberRuntime.Tests.Scheduling;

/// <summary>Kill with block and a timeout throws <see cref="FiberTimeoutException"/> when fibers are still alive
/// (gevent's killall(timeout=...) raises Timeout: test__greenletset test_killall_iterable_argument_timeout); waits
/// that only observe (Join, JoinAll) keep returning what they saw.</summary>
public class KillTimeoutTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(50);

    /// <summary>A fiber that, once killed, keeps running until <paramref name="release"/> is set.</summary>
    private static Fiber Stubborn(FiberEvent release) => Fiber.Spawn(() =>
    {
        try
        {
            Fiber.Sleep(Long);
        }
        catch (GreenletExit)
        {
            release.Wait();
        }
    });

    [Fact]
    public void KillAll_iterable_argument_timeout_throws_and_the_fibers_are_still_alive()
    {
        Hub.Run(() =>
        {
            var release = new FiberEvent();
            var set = new HashSet<Fiber> { Stubborn(release), Stubborn(release) };
            Fiber.Yield();
            var e = Assert.Throws<FiberTimeoutException>(() => Fiber.KillAll(set.Where(_ => true), timeout: Short));
            Assert.Contains("2 of the fibers", e.Message);
            foreach (Fiber g in set) Assert.False(g.IsDead);
            release.Set();
            Assert.Equal(2, Fiber.JoinAll(set, Long).Count);
            Assert.All(set, g => Assert.True(g.IsSuccessful));   // they handled the kill and returned
        });
    }

    [Fact]
    public void KillAll_that_finishes_in_time_or_does_not_block_does_not_throw()
    {
        Hub.Run(() =>
        {
            var release = new FiberEvent();
            Fiber[] fibers = [Fiber.Spawn(() => Fiber.Sleep(Long)), Stubborn(release)];
            Fiber.Yield();
            Fiber.KillAll(fibers, block: false, timeout: TimeSpan.Zero);
            Assert.False(fibers[1].IsReady);
            release.Set();
            Fiber.KillAll(fibers, timeout: Long);
            Assert.All(fibers, f => Assert.True(f.IsReady));
            Fiber.KillAll([], timeout: TimeSpan.Zero);
        });
    }

    [Fact]
    public void Kill_block_WithTimeout_throws_when_the_fiber_refuses_to_die()
    {
        Hub.Run(() =>
        {
            var release = new FiberEvent();
            Fiber f = Stubborn(release);
            Fiber.Yield();
            var e = Assert.Throws<FiberTimeoutException>(() => f.Kill(timeout: Short));
            Assert.Contains(f.ToString(), e.Message);
            Assert.False(f.IsReady);
            Assert.False(f.Join(Short));                // Join, an observation, returns false
            release.Set();
            f.Kill(timeout: Long);                      // it ends in time now
            Assert.True(f.IsReady);
        });
    }

    [Fact]
    public void Kill_from_another_thread_WithTimeout_throws_when_the_fiber_refuses_to_die()
    {
        var release = new FiberEvent();
        using var started = new ManualResetEventSlim();
        Fiber f = Fiber.Spawn(() =>                     // on the default hub
        {
            started.Set();
            try
            {
                Fiber.Sleep(Long);
            }
            catch (GreenletExit)
            {
                release.Wait();
            }
        });
        Assert.True(started.Wait(Long));                // a fiber killed before it starts would just die
        Assert.Throws<FiberTimeoutException>(() => f.Kill(timeout: Short));
        release.Set();                                  // posted to the hub
        Assert.True(f.Join(Long));
        Assert.True(f.IsSuccessful);
    }

    [Fact]
    public void Group_kill_and_KillOne_WithTimeout_throw_when_a_member_refuses_to_die()
    {
        Hub.Run(() =>
        {
            var release = new FiberEvent();
            var group = new FiberGroup();
            Fiber a = group.Spawn(() => Fiber.Sleep(Long));
            Fiber b = Stubborn(release);
            group.Add(b);
            Fiber.Yield();
            var e = Assert.Throws<FiberTimeoutException>(() => group.Kill(timeout: Short));
            Assert.Contains("1 member", e.Message);
            Assert.True(a.IsReady);
            Assert.False(b.IsReady);

            Fiber c = Stubborn(release);
            group.Add(c);
            Fiber.Yield();
            Assert.Throws<FiberTimeoutException>(() => group.KillOne(c, timeout: Short));
            release.Set();
            Assert.True(group.Join(Long));
            group.Kill(timeout: Long);                  // nothing left: no throw
        });
    }
}
