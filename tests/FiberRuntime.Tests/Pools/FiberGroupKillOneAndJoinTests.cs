namespace FiberRuntime.Tests.Pools;

/// <summary>FiberGroup.KillOne and Join(double, bool): gevent's killone and join(timeout, raise_error).</summary>
public sealed class FiberGroupKillOneAndJoinTests
{
    [Fact]
    public void KillOne_kills_that_member_only_and_waits_for_it()
    {
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            Fiber target = group.Spawn(() => Fiber.Sleep(TimeSpan.FromHours(1)));
            Fiber other = group.Spawn(() => Fiber.Sleep(TimeSpan.FromHours(1)));
            Fiber.Yield();
            group.KillOne(target);
            Assert.True(target.IsReady);                   // block: true waited for it
            Assert.True(target.WasKilled);
            Assert.False(other.IsReady);
            Assert.Equal(1, group.Count);
            Assert.True(group.Contains(other));
            group.Kill();
        });
    }

    /// <summary>Runs a hub whose fibers fail on purpose, without the failures reaching standard error.</summary>
    private static void RunQuietly(Action main)
    {
        Hub.UnhandledFiberException += Quiet;
        try
        {
            Hub.Run(main);
        }
        finally
        {
            Hub.UnhandledFiberException -= Quiet;
        }
    }

    private static void Quiet(Fiber f, Exception e)
    {
    }

    [Fact]
    public void KillOne_raises_the_given_exception_and_without_block_returns_before_the_fiber_ends()
    {
        RunQuietly(() =>
        {
            var group = new FiberGroup();
            bool cleanedUp = false;
            Fiber target = group.Spawn(() =>
            {
                try { Fiber.Sleep(TimeSpan.FromHours(1)); }
                finally { cleanedUp = true; }
            });
            Fiber.Yield();
            var reason = new InvalidOperationException("stop now");
            group.KillOne(target, reason, block: false);
            Assert.False(target.IsReady);              // the exception lands at the target's next switch
            target.Join();
            Assert.True(cleanedUp);
            Assert.Same(reason, target.Exception);
        });
    }

    [Fact]
    public void KillOne_leaves_a_fiber_outside_the_group_alone_and_refuses_null()
    {
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            Fiber stranger = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromHours(1)));
            Fiber.Yield();
            group.KillOne(stranger);
            Fiber.Yield();
            Assert.False(stranger.IsReady);
            Assert.Throws<ArgumentNullException>(() => group.KillOne(null!));
            Assert.Throws<ArgumentOutOfRangeException>(() => group.KillOne(stranger, timeout: TimeSpan.FromSeconds(-2)));
            stranger.Kill();
            HubProbe.AssertHubWorks();
        });
    }

    [Fact]
    public void Join_in_seconds_times_out_while_a_member_runs_and_succeeds_once_the_group_is_empty()
    {
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            var release = new FiberEvent();
            group.Spawn(() => release.Wait());
            Assert.False(group.Join(0.05));
            Fiber.Spawn(() => release.Set());
            Assert.True(group.Join(5.0));
            Assert.Equal(0, group.Count);
            Assert.True(group.Join(0.0));                  // already empty
        });
    }

    [Fact]
    public void Join_in_seconds_with_raiseError_rethrows_the_failure_of_a_member()
    {
        RunQuietly(() =>
        {
            var group = new FiberGroup();
            group.Spawn(() => Fiber.Sleep(0.01));
            group.Spawn(() => throw new FormatException("member failed"));
            var e = Assert.Throws<FormatException>(() => group.Join(5.0, raiseError: true));
            Assert.Equal("member failed", e.Message);
            Assert.True(group.Join(5.0, raiseError: false));   // without raiseError the failure is not rethrown
            Assert.Throws<ArgumentOutOfRangeException>(() => group.Join(-1.0));
        });
    }
}
