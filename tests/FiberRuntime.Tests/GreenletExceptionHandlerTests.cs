using System.Runtime.CompilerServices;

namespace FiberRuntime.Tests;

/// <summary>Exceptions and greenlets: switching inside catch and finally blocks, during rethrows and inside exception filters.</summary>
public class GreenletExceptionHandlerTests
{
    private sealed class AlphaException(string message, Exception? inner = null) : Exception(message, inner);

    private sealed class BetaException(string message, Exception? inner = null) : Exception(message, inner);

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
}
