using System.Runtime.CompilerServices;

namespace FiberRuntime.Tests;

/// <summary>Exceptions and greenlets: stack traces, exceptions crossing to parents, Throw, GreenletExit (switching inside
/// handlers: <see cref="GreenletExceptionHandlerTests"/>).</summary>
public class GreenletExceptionTests
{
    private sealed class AlphaException(string message, Exception? inner = null) : Exception(message, inner);

    private sealed class CustomExit(string message) : GreenletExit(message);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string MarkerMethodInsideGreenlet() => Environment.StackTrace;

    [Fact]
    public void Environment_stack_trace_inside_a_greenlet_shows_the_greenlets_frames()
    {
        string? trace = null;
        Hub.Run(() =>
        {
            var g = new Greenlet(() => { trace = MarkerMethodInsideGreenlet(); });
            g.Switch();
        });
        Assert.NotNull(trace);
        Assert.Contains(nameof(MarkerMethodInsideGreenlet), trace);
        Assert.Contains(nameof(Environment_stack_trace_inside_a_greenlet_shows_the_greenlets_frames), trace); // the lambda
        Assert.Contains("FiberRuntime.Hub", trace);
    }

    [Fact]
    public void Environment_stack_trace_inside_a_greenlet_switched_from_another_shows_only_its_own_stack()
    {
        string? trace = null;
        Hub.Run(() =>
        {
            Greenlet? b = null;
            var a = new Greenlet(() => OuterFrameOfA(b!));
            b = new Greenlet(() => { trace = MarkerMethodInsideGreenlet(); });
            a.Switch();
        });
        Assert.NotNull(trace);
        Assert.Contains(nameof(MarkerMethodInsideGreenlet), trace);
        // a's frames live on a's stack: b's stack trace must not show them
        Assert.DoesNotContain(nameof(OuterFrameOfA), trace);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void OuterFrameOfA(Greenlet b) => b.Switch();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static object? ThrowerInsideGreenlet(object? arg) => throw new AlphaException($"thrown with {arg}");

    [Fact]
    public void Exception_escaping_run_arrives_in_parent_with_original_stack_trace()
    {
        AlphaException? caught = null;
        Hub.Run(() =>
        {
            var g = new Greenlet(ThrowerInsideGreenlet);
            caught = Assert.Throws<AlphaException>(() => g.Switch(5));
            Assert.True(g.IsDead);
            Assert.True(g.IsStarted);
            HubProbe.AssertHubWorks();
        });
        Assert.NotNull(caught);
        Assert.Equal("thrown with 5", caught.Message);
        Assert.Contains(nameof(ThrowerInsideGreenlet), caught.StackTrace);
    }

    [Fact]
    public void Exception_escaping_run_is_raised_in_explicit_parent_not_in_switcher()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var parent = new Greenlet(_ =>
            {
                try
                {
                    root.Switch("parent waiting");
                    return "parent not raised";
                }
                catch (AlphaException e)
                {
                    log.Add($"parent caught {e.Message}");
                    return "parent handled it";
                }
            });
            var child = new Greenlet(ThrowerInsideGreenlet, parent);
            Assert.Equal("parent waiting", parent.Switch());
            Assert.Equal("parent handled it", child.Switch("c"));
        });
        Assert.Equal(["parent caught thrown with c"], log);
    }

    [Fact]
    public void Throw_into_suspended_greenlet_that_catches_and_returns_a_value()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(_ =>
            {
                try
                {
                    root.Switch("waiting");
                    return "not thrown";
                }
                catch (AlphaException e)
                {
                    log.Add($"caught {e.Message}");
                    return $"recovered from {e.Message}";
                }
                finally
                {
                    log.Add("finally");
                }
            });
            Assert.Equal("waiting", g.Switch());
            Assert.Equal("recovered from injected", g.Throw(new AlphaException("injected")));
            Assert.True(g.IsDead);
        });
        Assert.Equal(["caught injected", "finally"], log);
    }

    [Fact]
    public void Throw_into_suspended_greenlet_that_catches_and_switches_back()
    {
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(_ =>
            {
                int caught = 0;
                while (caught < 2)
                {
                    try { root.Switch($"caught {caught}"); }
                    catch (AlphaException) { caught++; }
                }
                return "two caught";
            });
            Assert.Equal("caught 0", g.Switch());
            Assert.Equal("caught 1", g.Throw(new AlphaException("1")));
            Assert.Equal("two caught", g.Throw(new AlphaException("2")));
        });
    }

    [Fact]
    public void Throw_uncaught_in_target_is_raised_in_its_parent_with_same_exception()
    {
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            bool finallyRan = false;
            var g = new Greenlet(() =>
            {
                try { root.Switch(); }
                finally { finallyRan = true; }
            });
            g.Switch();
            var thrown = new AlphaException("goes through");
            var e = Assert.Throws<AlphaException>(() => g.Throw(thrown));
            Assert.Same(thrown, e);
            Assert.True(finallyRan);
            Assert.True(g.IsDead);
            HubProbe.AssertHubWorks();
        });
    }

    [Fact]
    public void Throw_into_unstarted_greenlet_kills_it_without_running_and_raises_in_parent()
    {
        bool ran = false;
        Hub.Run(() =>
        {
            var g = new Greenlet(() => { ran = true; });
            var thrown = new AlphaException("never started");
            var e = Assert.Throws<AlphaException>(() => g.Throw(thrown));
            Assert.Same(thrown, e);
            Assert.True(g.IsDead);
            Assert.False(g.IsStarted);
            Assert.Throws<InvalidOperationException>(() => g.Switch());
            HubProbe.AssertHubWorks();
        });
        Assert.False(ran);
    }

    [Fact]
    public void Throw_GreenletExit_into_unstarted_greenlet_returns_the_exit_as_a_value()
    {
        bool ran = false;
        Hub.Run(() =>
        {
            var g = new Greenlet(() => { ran = true; });
            var exit = new GreenletExit("not needed");
            Assert.Same(exit, g.Throw(exit));
            Assert.True(g.IsDead);
            Assert.False(g.IsStarted);
        });
        Assert.False(ran);
    }

    [Fact]
    public void Throw_into_unstarted_greenlet_goes_to_its_suspended_parent()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var parent = new Greenlet(_ =>
            {
                try
                {
                    root.Switch("parent waiting");
                    return "parent not raised";
                }
                catch (AlphaException e)
                {
                    return $"parent caught {e.Message}";
                }
            });
            Assert.Equal("parent waiting", parent.Switch());
            var child = new Greenlet(() => log.Add("child ran"), parent);
            Assert.Equal("parent caught for parent", child.Throw(new AlphaException("for parent")));
            Assert.True(child.IsDead);
            Assert.True(parent.IsDead);
        });
        Assert.Empty(log);
    }

    [Fact]
    public void GreenletExit_thrown_into_suspended_greenlet_runs_finally_and_is_returned_as_value()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(() =>
            {
                try
                {
                    root.Switch();
                    log.Add("not reached");
                }
                finally
                {
                    log.Add("finally");
                }
            });
            g.Switch();
            var exit = new GreenletExit();
            Assert.Same(exit, g.Throw(exit));
            Assert.True(g.IsDead);
            HubProbe.AssertHubWorks();
        });
        Assert.Equal(["finally"], log);
    }

    [Fact]
    public void GreenletExit_raised_by_the_greenlet_itself_is_delivered_as_value_including_subclasses()
    {
        Hub.Run(() =>
        {
            var g1 = new Greenlet(() => throw new GreenletExit("bye"));
            var result1 = Assert.IsType<GreenletExit>(g1.Switch());
            Assert.Equal("bye", result1.Message);
            Assert.True(g1.IsDead);

            var g2 = new Greenlet(() => throw new CustomExit("custom bye"));
            var result2 = Assert.IsType<CustomExit>(g2.Switch());
            Assert.Equal("custom bye", result2.Message);

            var exit = new CustomExit("thrown in");
            Greenlet root = Greenlet.Current!;
            var g3 = new Greenlet(() => root.Switch());
            g3.Switch();
            Assert.Same(exit, g3.Throw(exit));
        });
    }

    [Fact]
    public void GreenletExit_caught_by_the_greenlet_its_return_value_goes_to_parent()
    {
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(_ =>
            {
                try
                {
                    root.Switch();
                    return "not thrown";
                }
                catch (GreenletExit e)
                {
                    return $"exit ignored: {e.Message}";
                }
            });
            g.Switch();
            Assert.Equal("exit ignored: stop", g.Throw(new GreenletExit("stop")));
            Assert.True(g.IsDead);
        });
    }

    [Fact]
    public void GreenletExit_goes_to_explicit_parent_as_value()
    {
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var parent = new Greenlet(_ => new object[] { "parent got", root.Switch("waiting")! });
            Assert.Equal("waiting", parent.Switch());
            var child = new Greenlet(() => throw new GreenletExit("child exit"), parent);
            var result = Assert.IsType<object[]>(child.Switch());
            Assert.Equal("parent got", result[0]);
            Assert.Equal("child exit", Assert.IsType<GreenletExit>(result[1]).Message);
            Assert.True(child.IsDead);
            Assert.True(parent.IsDead);
        });
    }
}
