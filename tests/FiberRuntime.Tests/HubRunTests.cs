namespace FiberRuntime.Tests;

/// <summary>Hub.Run with raw greenlets: main's value and exception, nested hubs, and the GreenletExit that suspended greenlets get at shutdown.</summary>
public class HubRunTests
{
    [Fact]
    public void Hub_run_returns_mains_value()
    {
        Assert.Equal(42, Hub.Run(() => 42));
        Assert.Equal("done", Hub.Run(() =>
        {
            var g = new Greenlet(arg => $"{arg}ne");
            return (string)g.Switch("do")!;
        }));
    }

    [Fact]
    public void Hub_run_from_inside_a_greenlet_runs_a_nested_hub()
    {
        string result = Hub.Run(() =>
        {
            Hub outer = Hub.Current!;
            var g = new Greenlet(_ =>
            {
                string inner = Hub.Run(() =>
                {
                    Assert.NotSame(outer, Hub.Current);
                    HubProbe.AssertHubWorks();
                    return "inner";
                });
                Assert.Same(outer, Hub.Current);
                return inner + " then outer g";
            });
            return (string)g.Switch()!;
        });
        Assert.Equal("inner then outer g", result);
    }

    private sealed class MainFailure(string message) : Exception(message);

    [Fact]
    public void Hub_run_rethrows_mains_exception_same_type_and_message()
    {
        var e = Assert.Throws<MainFailure>(() => Hub.Run(() => throw new MainFailure("main failed: 17")));
        Assert.Equal("main failed: 17", e.Message);

        var e2 = Assert.Throws<InvalidTimeZoneException>(() => Hub.Run<int>(() => throw new InvalidTimeZoneException("tz 9")));
        Assert.Equal("tz 9", e2.Message);
    }

    [Fact]
    public void Hub_run_rethrows_an_exception_that_escaped_a_greenlet_into_main()
    {
        var e = Assert.Throws<MainFailure>(() => Hub.Run(() =>
        {
            var g = new Greenlet(() => throw new MainFailure("from greenlet"));
            g.Switch();
        }));
        Assert.Equal("from greenlet", e.Message);
    }

    [Fact]
    public void Greenlets_suspended_when_main_returns_get_GreenletExit_and_their_finally_runs()
    {
        bool finallyRan = false, nestedFinallyRan = false, sawGreenletExit = false, afterSwitch = false;
        Greenlet? g = null, h = null;
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            g = new Greenlet(() =>
            {
                try
                {
                    try
                    {
                        root.Switch("suspended");
                        afterSwitch = true;
                    }
                    catch (GreenletExit)
                    {
                        sawGreenletExit = true;
                        throw;
                    }
                    finally
                    {
                        nestedFinallyRan = true;
                    }
                }
                finally
                {
                    finallyRan = true;
                }
            });
            h = new Greenlet(() => { });    // never started: nothing to do at shutdown
            Assert.Equal("suspended", g.Switch());
        });
        Assert.True(sawGreenletExit);
        Assert.True(nestedFinallyRan);
        Assert.True(finallyRan);
        Assert.False(afterSwitch);
        Assert.True(g!.IsDead);
        Assert.False(h!.IsStarted);
    }

    [Fact]
    public void Greenlets_suspended_when_main_throws_still_get_GreenletExit()
    {
        int finallies = 0;
        Assert.Throws<MainFailure>(() => Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            for (int i = 0; i < 3; i++)
            {
                var g = new Greenlet(() =>
                {
                    try { root.Switch(); }
                    finally { finallies++; }
                });
                g.Switch();
            }
            throw new MainFailure("main fails with 3 suspended");
        }));
        Assert.Equal(3, finallies);
    }

    [Fact]
    public void Greenlet_suspended_under_another_greenlet_gets_GreenletExit_at_shutdown()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var outer = new Greenlet(() =>
            {
                var inner = new Greenlet(() =>
                {
                    try { root.Switch("inner suspended"); }
                    finally { log.Add("inner finally"); }
                });
                try
                {
                    inner.Switch();
                }
                finally { log.Add("outer finally"); }
            });
            Assert.Equal("inner suspended", outer.Switch());
            // outer is suspended in inner.Switch(), inner in root.Switch(): both are unwound at shutdown.
        });
        Assert.Equal(2, log.Count);
        Assert.Contains("inner finally", log);
        Assert.Contains("outer finally", log);
    }

    [Fact]
    public void Greenlet_that_refuses_to_exit_does_not_hang_hub_run()
    {
        int exitsSeen = 0;
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var stubborn = new Greenlet(() =>
            {
                while (true)
                {
                    try { root.Switch(); }
                    catch (GreenletExit) { exitsSeen++; }
                }
            });
            stubborn.Switch();
        });
        Assert.True(exitsSeen >= 1, $"the stubborn greenlet saw {exitsSeen} GreenletExit");
        Assert.Equal(42, Hub.Run(() => { HubProbe.AssertHubWorks(); return 42; }));
    }
}
