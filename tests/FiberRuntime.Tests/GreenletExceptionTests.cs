using System.Runtime.CompilerServices;

namespace FiberRuntime.Tests;

/// <summary>Exceptions and greenlets: switching inside handlers, exceptions crossing to parents, Throw, GreenletExit.</summary>
public class GreenletExceptionTests
{
    private sealed class AlphaException(string message, Exception? inner = null) : Exception(message, inner);

    private sealed class BetaException(string message, Exception? inner = null) : Exception(message, inner);

    private sealed class CustomExit(string message) : GreenletExit(message);

    [Fact]
    public void Switch_inside_catch_block_and_come_back()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(_ =>
            {
                try
                {
                    throw new AlphaException("alpha 1");
                }
                catch (AlphaException e)
                {
                    object? v = root.Switch("in catch");
                    log.Add($"resumed in catch with {v}; caught {e.Message}");
                    object? w = root.Switch("still in catch");
                    log.Add($"resumed again with {w}");
                }
                return "after catch";
            });

            Assert.Equal("in catch", g.Switch());
            // root throws and catches its own exception while g is suspended inside a catch
            try { throw new BetaException("root's own"); }
            catch (BetaException e) { log.Add($"root caught {e.Message}"); }
            GC.Collect();
            Assert.Equal("still in catch", g.Switch(1));
            Assert.Equal("after catch", g.Switch(2));
        });
        Assert.Equal(
            ["root caught root's own", "resumed in catch with 1; caught alpha 1", "resumed again with 2"],
            log);
    }

    [Fact]
    public void Two_greenlets_suspended_in_catch_blocks_interleave()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            Greenlet? a = null, b = null;
            a = new Greenlet(_ =>
            {
                try { throw new AlphaException("A1"); }
                catch (AlphaException e1)
                {
                    b!.Switch("A in catch 1");
                    try { throw new BetaException("A2"); }
                    catch (BetaException e2)
                    {
                        b!.Switch("A in nested catch");
                        log.Add($"A: {e1.Message} {e2.Message}");
                    }
                    b!.Switch("A back in catch 1");
                    log.Add($"A: still {e1.Message}");
                }
                return "A done";
            });
            b = new Greenlet(_ =>
            {
                try { throw new AlphaException("B1"); }
                catch (AlphaException e1)
                {
                    a.Switch();
                    GC.Collect();
                    try { throw new BetaException("B2"); }
                    catch (BetaException e2)
                    {
                        a.Switch();
                        log.Add($"B: {e1.Message} {e2.Message}");
                    }
                    a.Switch();
                    log.Add($"B: still {e1.Message}");
                }
                return "B done";
            });

            // root → a; a ⇄ b; b's last a.Switch resumes a, which returns to root.
            Assert.Equal("A done", a.Switch());
            Assert.False(b.IsDead);
            Assert.Equal("B done", b.Switch());
        });
        Assert.Equal(["A: A1 A2", "B: B1 B2", "A: still A1", "B: still B1"], log);
    }

    [Fact]
    public void Switch_inside_finally_during_exceptional_unwind()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(_ =>
            {
                try
                {
                    try
                    {
                        throw new AlphaException("unwinding");
                    }
                    finally
                    {
                        object? v = root.Switch("in finally");
                        log.Add($"finally resumed with {v}");
                    }
                }
                catch (AlphaException e)
                {
                    log.Add($"caught {e.Message}");
                    return "handled";
                }
            });
            Assert.Equal("in finally", g.Switch());
            try { throw new BetaException("root's own"); }
            catch (BetaException e) { log.Add($"root caught {e.Message}"); }
            GC.Collect();
            Assert.Equal("handled", g.Switch("x"));
        });
        Assert.Equal(["root caught root's own", "finally resumed with x", "caught unwinding"], log);
    }

    [Fact]
    public void Switch_inside_finally_exception_then_escapes_to_parent()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(() =>
            {
                try
                {
                    throw new AlphaException("escapes");
                }
                finally
                {
                    log.Add($"finally got {root.Switch("in finally")}");
                }
            });
            Assert.Equal("in finally", g.Switch());
            var e = Assert.Throws<AlphaException>(() => g.Switch("resume"));
            Assert.Equal("escapes", e.Message);
            Assert.True(g.IsDead);
            HubProbe.AssertHubWorks();
        });
        Assert.Equal(["finally got resume"], log);
    }

    [Fact]
    public void Nested_throw_and_rethrow_with_switches_in_between()
    {
        var log = new List<string>();
        Exception? arrived = null;
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var helper = new Greenlet(_ =>
            {
                object? v = null;
                while (v is not "stop")
                {
                    try { throw new BetaException("helper noise"); }
                    catch (BetaException) { v = root.Switch($"helper saw {v}"); }
                }
                return null;
            });
            Assert.Equal("helper saw ", helper.Switch());

            var g = new Greenlet(() =>
            {
                try
                {
                    try
                    {
                        ThrowAlpha("original");
                    }
                    catch (AlphaException)
                    {
                        log.Add($"inner catch: {helper.Switch(1)}");   // switch to a greenlet that throws/catches
                        log.Add($"inner catch: {root.Switch("g in inner catch")}");
                        throw;                                        // rethrow keeps the original trace
                    }
                }
                catch (AlphaException e)
                {
                    log.Add($"outer catch: {root.Switch("g in outer catch")}");
                    throw new BetaException("wrapped", e);
                }
            });

            // g's helper.Switch(1) resumes helper, which switches to root: g stays suspended in that call
            // until root resumes g, and the value root passes becomes its return value.
            Assert.Equal("helper saw 1", g.Switch());
            Assert.Equal("g in inner catch", g.Switch("to g"));
            Assert.Equal("g in outer catch", g.Switch("rethrown"));
            arrived = Assert.Throws<BetaException>(() => g.Switch("wrap it"));
            Assert.Null(helper.Switch("stop"));     // its loop ends and its run returns null to root
            Assert.True(helper.IsDead);
        });

        Assert.Equal(["inner catch: to g", "inner catch: rethrown", "outer catch: wrap it"], log);
        Assert.NotNull(arrived);
        Assert.Equal("wrapped", arrived.Message);
        var inner = Assert.IsType<AlphaException>(arrived.InnerException);
        Assert.Equal("original", inner.Message);
        Assert.Contains(nameof(ThrowAlpha), inner.StackTrace);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowAlpha(string message) => throw new AlphaException(message);

    private static bool SwitchingFilter(Greenlet other, List<string> log, string tag)
    {
        object? v = other.Switch($"filter {tag}");
        log.Add($"filter {tag} resumed with {v}");
        return v is true;
    }

    [Fact]
    public void Exception_filter_that_switches_to_another_greenlet_and_back()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(_ =>
            {
                try
                {
                    ThrowAlpha("filtered");
                    return "not reached";
                }
                catch (AlphaException e) when (SwitchingFilter(root, log, "first"))
                {
                    return $"caught {e.Message}";
                }
            });

            Assert.Equal("filter first", g.Switch());
            // while g is suspended inside the filter (first pass of its dispatch), root throws and catches
            try { throw new BetaException("root's own"); }
            catch (BetaException e) { log.Add($"root caught {e.Message}"); }
            GC.Collect();
            HubProbe.AssertHubWorks();
            Assert.Equal("caught filtered", g.Switch(true));
        });
        Assert.Equal(["root caught root's own", "filter first resumed with True"], log);
    }

    [Fact]
    public void Exception_filter_that_switches_and_returns_false_lets_the_exception_escape()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(_ =>
            {
                try
                {
                    ThrowAlpha("not for this handler");
                    return "not reached";
                }
                catch (AlphaException) when (SwitchingFilter(root, log, "no"))
                {
                    return "wrongly caught";
                }
            });

            Assert.Equal("filter no", g.Switch());
            var e = Assert.Throws<AlphaException>(() => g.Switch(false));
            Assert.Equal("not for this handler", e.Message);
            Assert.True(g.IsDead);
        });
        Assert.Equal(["filter no resumed with False"], log);
    }

    [Fact]
    public void Exception_filters_two_greenlets_suspended_in_filters_at_once_with_nested_dispatch_inside()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            Greenlet? a = null, b = null;

            bool FilterA(AlphaException e)
            {
                b!.Switch("a in filter");                 // a suspended in its filter, b runs
                // a nested dispatch with its own filter while b is suspended in its filter
                try { ThrowAlpha("nested in A's filter"); }
                catch (AlphaException inner) when (inner.Message.StartsWith("nested", StringComparison.Ordinal))
                {
                    log.Add($"A filter caught {inner.Message}");
                }
                GC.Collect();
                b!.Switch("a in filter again");
                return e.Message == "A";
            }

            bool FilterB(AlphaException e)
            {
                a!.Switch("b in filter");
                GC.Collect();
                return e.Message == "B";
            }

            a = new Greenlet(_ =>
            {
                try { ThrowAlpha("A"); return "no"; }
                catch (AlphaException e) when (FilterA(e)) { return $"A caught {e.Message}"; }
            });
            b = new Greenlet(_ =>
            {
                try { ThrowAlpha("B"); return "no"; }
                catch (AlphaException e) when (FilterB(e))
                {
                    a!.Switch("b in catch");
                    return $"B caught {e.Message}";
                }
            });

            // root → a (filter) → b (filter) → a (nested dispatch) → b (filter true, catch) → a (filter true)
            Assert.Equal("A caught A", a.Switch());
            Assert.False(b.IsDead);
            Assert.Equal("B caught B", b.Switch());
        });
        Assert.Equal(["A filter caught nested in A's filter"], log);
    }

    [Fact]
    public void Throw_into_a_greenlet_suspended_in_an_exception_filter_follows_filter_rules()
    {
        // An exception escaping a filter is swallowed by the runtime and the filter counts as false,
        // so the original exception continues its dispatch and escapes to the parent.
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(_ =>
            {
                try
                {
                    ThrowAlpha("original");
                    return "not reached";
                }
                catch (AlphaException) when (Filter())
                {
                    return "wrongly caught";
                }

                bool Filter()
                {
                    try
                    {
                        root.Switch("in filter");
                        return true;
                    }
                    finally
                    {
                        log.Add("filter finally");
                    }
                }
            });
            Assert.Equal("in filter", g.Switch());
            var e = Assert.Throws<AlphaException>(() => g.Throw(new BetaException("into the filter")));
            Assert.Equal("original", e.Message);
            Assert.True(g.IsDead);
            HubProbe.AssertHubWorks();
        });
        Assert.Equal(["filter finally"], log);
    }

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
