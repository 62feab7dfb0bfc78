namespace FiberRuntime.Tests;

/// <summary>Every misuse of the greenlet API raises a clear exception, and the hub keeps working afterwards.</summary>
public class BadInputTests
{
    private sealed class AlphaException(string message) : Exception(message);

    // ---- dead targets, self switches ------------------------------------------------------------------

    [Fact]
    public void Switch_to_dead_greenlet_throws_and_hub_keeps_working()
    {
        Hub.Run(() =>
        {
            var g = new Greenlet(_ => "done");
            Assert.Equal("done", g.Switch());
            Assert.True(g.IsDead);

            var e = Assert.Throws<InvalidOperationException>(() => g.Switch("again"));
            Assert.Contains("dead", e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Throws<InvalidOperationException>(() => g.Throw(new AlphaException("into the dead")));
            Assert.Throws<InvalidOperationException>(() => g.Throw(new GreenletExit()));
            Assert.True(g.IsDead);
            HubProbe.AssertHubWorks();
        });
    }

    [Fact]
    public void Switch_to_dead_greenlet_from_inside_another_greenlet_throws_and_that_greenlet_continues()
    {
        Hub.Run(() =>
        {
            var dead = new Greenlet(() => { });
            dead.Switch();
            var g = new Greenlet(_ =>
            {
                var e = Record.Exception(() => dead.Switch());
                Assert.IsType<InvalidOperationException>(e);
                HubProbe.AssertHubWorks();
                return "g survived";
            });
            Assert.Equal("g survived", g.Switch());
        });
    }

    [Fact]
    public void Root_switching_to_itself_throws_and_hub_keeps_working()
    {
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var e = Assert.Throws<InvalidOperationException>(() => root.Switch(1));
            Assert.Contains("itself", e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Throws<InvalidOperationException>(() => root.Throw(new AlphaException("self")));
            Assert.Same(root, Greenlet.Current);
            HubProbe.AssertHubWorks();
        });
    }

    [Fact]
    public void Greenlet_switching_to_itself_throws_and_it_carries_on()
    {
        Hub.Run(() =>
        {
            var g = new Greenlet(_ =>
            {
                Greenlet self = Greenlet.Current!;
                var e1 = Record.Exception(() => self.Switch("me"));
                var e2 = Record.Exception(() => self.Throw(new AlphaException("me")));
                Assert.Same(self, Greenlet.Current);
                HubProbe.AssertHubWorks();
                return $"{e1?.GetType().Name} {e2?.GetType().Name}";
            });
            Assert.Equal("InvalidOperationException InvalidOperationException", g.Switch());
            HubProbe.AssertHubWorks();
        });
    }

    // ---- foreign threads ------------------------------------------------------------------------------

    [Fact]
    public void Creating_a_greenlet_outside_a_hub_throws()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new Greenlet(() => { }));
        Assert.Contains("hub", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Throws<InvalidOperationException>(() => new Greenlet(x => x));
        Assert.Equal(1, Hub.Run(() => { HubProbe.AssertHubWorks(); return 1; }));
    }

    [Fact]
    public void Using_a_greenlet_from_a_foreign_thread_throws_and_hub_keeps_working()
    {
        var errors = new Dictionary<string, Exception?>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var suspended = new Greenlet(_ => $"resumed with {root.Switch("suspended")}");
            Assert.Equal("suspended", suspended.Switch());
            var unstarted = new Greenlet(_ => "unstarted ran");
            Greenlet? seenCurrent = root;
            Hub? seenHub = null;

            var thread = new Thread(() =>
            {
                seenCurrent = Greenlet.Current;
                seenHub = Hub.Current;
                errors["switch suspended"] = Record.Exception(() => suspended.Switch("foreign"));
                errors["switch unstarted"] = Record.Exception(() => unstarted.Switch("foreign"));
                errors["switch root"] = Record.Exception(() => root.Switch("foreign"));
                errors["throw suspended"] = Record.Exception(() => suspended.Throw(new AlphaException("foreign")));
                errors["throw unstarted"] = Record.Exception(() => unstarted.Throw(new AlphaException("foreign")));
                errors["set parent"] = Record.Exception(() => suspended.Parent = root);
                errors["create"] = Record.Exception(() => new Greenlet(() => { }));
            });
            thread.Start();
            thread.Join();

            Assert.Null(seenCurrent);
            Assert.Null(seenHub);
            // nothing moved: the greenlets are exactly as they were, and they still run here
            Assert.False(unstarted.IsStarted);
            Assert.False(unstarted.IsDead);
            Assert.False(suspended.IsDead);
            Assert.Same(root, Greenlet.Current);
            Assert.Equal("resumed with here", suspended.Switch("here"));
            Assert.Equal("unstarted ran", unstarted.Switch());
            HubProbe.AssertHubWorks();
        });

        Assert.Equal(7, errors.Count);
        foreach (var (what, e) in errors)
            Assert.True(e is InvalidOperationException, $"{what}: expected InvalidOperationException, got {e?.GetType().Name ?? "no exception"}");
        Assert.Contains("thread", errors["switch suspended"]!.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Using_a_greenlet_after_its_hub_finished_from_the_calling_thread_throws()
    {
        Greenlet? unstarted = null, root = null;
        Hub.Run(() =>
        {
            root = Greenlet.Current;
            unstarted = new Greenlet(() => { });
        });
        Assert.Throws<InvalidOperationException>(() => unstarted!.Switch());
        Assert.Throws<InvalidOperationException>(() => unstarted!.Throw(new AlphaException("late")));
        Assert.Throws<InvalidOperationException>(() => root!.Switch());
        Assert.False(unstarted!.IsStarted);
        Assert.Equal(2, Hub.Run(() => { HubProbe.AssertHubWorks(); return 2; }));
    }

    [Fact]
    public void Using_a_greenlet_of_another_live_hub_throws_and_both_hubs_keep_working()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet outerRoot = Greenlet.Current!;
            var outerG = new Greenlet(_ => $"outer g got {outerRoot.Switch("outer g waiting")}");
            Assert.Equal("outer g waiting", outerG.Switch());

            // a second hub, on its own thread, while this one is blocked in Hub.Run
            string inner = Hub.Run(() =>
            {
                Assert.NotSame(outerRoot, Greenlet.Current);
                var e1 = Record.Exception(() => outerG.Switch("from inner hub"));
                var e2 = Record.Exception(() => outerRoot.Switch("from inner hub"));
                var e3 = Record.Exception(() => outerG.Throw(new AlphaException("from inner hub")));
                log.Add($"{e1?.GetType().Name} {e2?.GetType().Name} {e3?.GetType().Name}");
                HubProbe.AssertHubWorks();
                return "inner hub done";
            });
            Assert.Equal("inner hub done", inner);
            Assert.Same(outerRoot, Greenlet.Current);
            Assert.Equal("outer g got back", outerG.Switch("back"));
            HubProbe.AssertHubWorks();
        });
        Assert.Equal(["InvalidOperationException InvalidOperationException InvalidOperationException"], log);
    }

    // ---- null arguments -------------------------------------------------------------------------------

    [Fact]
    public void Null_arguments_throw_and_hub_keeps_working()
    {
        Assert.Throws<ArgumentNullException>(() => Hub.Run(null!));
        Assert.Throws<ArgumentNullException>(() => Hub.Run<int>(null!));
        Hub.Run(() =>
        {
            Assert.Throws<ArgumentNullException>(() => new Greenlet((Action)null!));
            Assert.Throws<ArgumentNullException>(() => new Greenlet((Func<object?, object?>)null!));
            HubProbe.AssertHubWorks();
        });
    }

    [Fact]
    public void Throw_null_throws_argument_null_and_target_is_unaffected()
    {
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var suspended = new Greenlet(_ => $"got {root.Switch("waiting")}");
            Assert.Equal("waiting", suspended.Switch());
            var unstarted = new Greenlet(x => $"started with {x}");

            var e1 = Assert.Throws<ArgumentNullException>(() => suspended.Throw(null!));
            Assert.Equal("exception", e1.ParamName);
            Assert.Throws<ArgumentNullException>(() => unstarted.Throw(null!));
            Assert.Throws<ArgumentNullException>(() => root.Throw(null!));

            Assert.False(unstarted.IsDead);
            Assert.False(unstarted.IsStarted);
            Assert.Equal("got fine", suspended.Switch("fine"));
            Assert.Equal("started with 9", unstarted.Switch(9));
            HubProbe.AssertHubWorks();
        });
    }

    // ---- parents --------------------------------------------------------------------------------------

    [Fact]
    public void Setting_parent_to_null_throws_argument_null_and_parent_is_unchanged()
    {
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(_ => "g result");
            Assert.Throws<ArgumentNullException>(() => g.Parent = null);
            Assert.Same(root, g.Parent);
            Assert.Equal("g result", g.Switch());
            HubProbe.AssertHubWorks();
        });
    }

    [Fact]
    public void Cyclic_parent_throws_ArgumentException_and_parents_are_unchanged()
    {
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var a = new Greenlet(_ => "a result");
            var b = new Greenlet(_ => "b result", a);
            var c = new Greenlet(_ => "c result", b);

            Assert.Throws<ArgumentException>(() => a.Parent = a);   // itself
            Assert.Throws<ArgumentException>(() => a.Parent = b);   // a ← b
            Assert.Throws<ArgumentException>(() => a.Parent = c);   // a ← b ← c
            Assert.Same(root, a.Parent);
            Assert.Same(a, b.Parent);
            Assert.Same(b, c.Parent);

            // legal re-parenting still works, and results follow the chain: c → b → a → root
            c.Parent = a;
            c.Parent = b;
            Assert.Equal("a result", c.Switch());
            Assert.True(c.IsDead);
            Assert.True(b.IsDead);
            Assert.True(a.IsDead);
            HubProbe.AssertHubWorks();
        });
    }

    [Fact]
    public void Setting_the_roots_parent_throws()
    {
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(() => { });
            Assert.Throws<InvalidOperationException>(() => root.Parent = g);
            Assert.Null(root.Parent);
            Assert.Null(g.Switch());
            HubProbe.AssertHubWorks();
        });
    }

    [Fact]
    public void Parent_from_a_finished_hub_throws_ArgumentException()
    {
        Greenlet? foreignRoot = null, foreignG = null;
        Hub.Run(() =>
        {
            foreignRoot = Greenlet.Current;
            foreignG = new Greenlet(() => { });
        });
        Hub.Run(() =>
        {
            Assert.Throws<ArgumentException>(() => new Greenlet(() => { }, foreignRoot));
            Assert.Throws<ArgumentException>(() => new Greenlet(x => x, foreignG));
            var g = new Greenlet(_ => "mine");
            Assert.Throws<ArgumentException>(() => g.Parent = foreignG!);
            Assert.Same(Greenlet.Current, g.Parent);
            Assert.Equal("mine", g.Switch());
            HubProbe.AssertHubWorks();
        });
    }

    [Fact]
    public void Parent_from_another_live_hub_throws_ArgumentException_and_both_hubs_keep_working()
    {
        var outcomes = new List<string>();
        Hub.Run(() =>
        {
            Greenlet outerRoot = Greenlet.Current!;
            var outerG = new Greenlet(_ => "outer g");
            Hub.Run(() =>
            {
                outcomes.Add(Record.Exception(() => new Greenlet(() => { }, outerRoot))?.GetType().Name ?? "none");
                outcomes.Add(Record.Exception(() => new Greenlet(x => x, outerG))?.GetType().Name ?? "none");
                var innerG = new Greenlet(_ => "inner g");
                outcomes.Add(Record.Exception(() => innerG.Parent = outerG)?.GetType().Name ?? "none");
                Assert.Equal("inner g", innerG.Switch());
                HubProbe.AssertHubWorks();
            });
            Assert.Equal("outer g", outerG.Switch());
            HubProbe.AssertHubWorks();
        });
        Assert.Equal(["ArgumentException", "ArgumentException", "ArgumentException"], outcomes);
    }

}
