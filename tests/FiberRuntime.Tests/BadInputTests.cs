namespace FiberRuntime.Tests;

/// <summary>Every misuse of the greenlet API raises a clear exception, and the hub keeps working afterwards.</summary>
public class BadInputTests
{
    private sealed class AlphaException(string message) : Exception(message);

    // ---- dead targets, self switches ------------------------------------------------------------------

    [Fact]
    public void SwitchToDeadGreenlet_Throws_AndHubKeepsWorking()
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
    public void SwitchToDeadGreenlet_FromInsideAnotherGreenlet_Throws_AndThatGreenletContinues()
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
    public void RootSwitchingToItself_Throws_AndHubKeepsWorking()
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
    public void GreenletSwitchingToItself_Throws_AndItCarriesOn()
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
    public void CreatingAGreenletOutsideAHub_Throws()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new Greenlet(() => { }));
        Assert.Contains("hub", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Throws<InvalidOperationException>(() => new Greenlet(x => x));
        Assert.Equal(1, Hub.Run(() => { HubProbe.AssertHubWorks(); return 1; }));
    }

    [Fact]
    public void UsingAGreenletFromAForeignThread_Throws_AndHubKeepsWorking()
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
    public void UsingAGreenletAfterItsHubFinished_FromTheCallingThread_Throws()
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
    public void UsingAGreenletOfAnotherLiveHub_Throws_AndBothHubsKeepWorking()
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

    // ---- options --------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1024)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(HubOptions.MinStackSize - 1)]
    [InlineData(HubOptions.MaxStackSize + 1)]
    [InlineData(int.MaxValue)]
    public void StackSizeOutOfRange_ThrowsFromHubRun_WithoutRunningMain(int stackSize)
    {
        bool ran = false;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Hub.Run(() => { ran = true; }, new HubOptions { StackSize = stackSize }));
        Assert.Equal(nameof(HubOptions.StackSize), e.ParamName);
        Assert.False(ran);
        Assert.Equal(3, Hub.Run(() => { HubProbe.AssertHubWorks(); return 3; }));
    }

    [Theory]
    [InlineData(HubOptions.MinStackSize)]
    [InlineData(HubOptions.MinStackSize + 1)]       // rounded up to a page
    public void StackSizeAtTheLowerBound_Works(int stackSize)
    {
        Assert.Equal(4, Hub.Run(() => { HubProbe.AssertHubWorks(); return 4; }, new HubOptions { StackSize = stackSize }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(HubOptions.MaxFibersLimit + 1)]
    public void MaxFibersOutOfRange_ThrowsFromHubRun_WithoutRunningMain(int maxFibers)
    {
        bool ran = false;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Hub.Run(() => { ran = true; }, new HubOptions { MaxFibers = maxFibers }));
        Assert.Equal(nameof(HubOptions.MaxFibers), e.ParamName);
        Assert.False(ran);
        Assert.Equal(5, Hub.Run(() => { HubProbe.AssertHubWorks(); return 5; }));
    }

    [Fact]
    public void MaxFibersLimit_IsAccepted_AndOneMoreIsRefusedByValidation_WithTheHubStillRunning()
    {
        // the native hub holds MaxFibers + 1 slots, at most FR_MAX_CAPACITY: the top value must fit it exactly, and
        // one above it must be refused by the options check (ParamName MaxFibers), not by the native hub
        Assert.Equal(FiberRuntime.Interop.NativeMethods.MaxCapacity - 1, HubOptions.MaxFibersLimit);
        int result = Hub.Run(() =>
        {
            HubProbe.AssertHubWorks();
            bool ran = false;
            var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
                Hub.Run(() => { ran = true; }, new HubOptions { MaxFibers = HubOptions.MaxFibersLimit + 1, StackSize = HubOptions.MinStackSize }));
            Assert.Equal(nameof(HubOptions.MaxFibers), e.ParamName);
            Assert.False(ran);
            HubProbe.AssertHubWorks();
            Assert.Equal(3, Fiber.Spawn(() => 3).Get());
            return 7;
        }, new HubOptions { MaxFibers = HubOptions.MaxFibersLimit, StackSize = HubOptions.MinStackSize });
        Assert.Equal(7, result);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(64 * 1024)]
    public void HubStackSizeOutOfRange_ThrowsFromHubRun(int hubStackSize)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Hub.Run(() => { }, new HubOptions { HubStackSize = hubStackSize }));
        Assert.Equal(6, Hub.Run(() => { HubProbe.AssertHubWorks(); return 6; }));
    }

    [Fact]
    public void NullArguments_Throw_AndHubKeepsWorking()
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
    public void ThrowNull_ThrowsArgumentNull_AndTargetIsUnaffected()
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
    public void SettingParentToNull_ThrowsArgumentNull_AndParentIsUnchanged()
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
    public void CyclicParent_ThrowsArgumentException_AndParentsAreUnchanged()
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
    public void SettingTheRootsParent_Throws()
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
    public void ParentFromAFinishedHub_ThrowsArgumentException()
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
    public void ParentFromAnotherLiveHub_ThrowsArgumentException_AndBothHubsKeepWorking()
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

    // ---- MaxFibers ------------------------------------------------------------------------------------

    [Fact]
    public void StartingMoreThanMaxFibersLiveGreenlets_Throws_AndTheSlotIsUsableOnceOneEnds()
    {
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var live = new List<Greenlet>();
            for (int i = 0; i < 4; i++)
            {
                int n = i;
                var g = new Greenlet(_ => $"g{n} got {root.Switch($"g{n} live")}");
                Assert.Equal($"g{n} live", g.Switch());
                live.Add(g);
            }

            bool fifthRan = false;
            var fifth = new Greenlet(_ => { fifthRan = true; return "fifth done"; });
            var e = Assert.Throws<InvalidOperationException>(() => fifth.Switch());
            Assert.Contains("MaxFibers", e.Message);
            Assert.False(fifthRan);
            Assert.False(fifth.IsStarted);
            Assert.False(fifth.IsDead);
            Assert.Same(root, Greenlet.Current);

            Assert.Equal("g0 got try", live[0].Switch("try"));   // live[0] ends: one slot is free again

            Assert.Equal("fifth done", fifth.Switch());
            Assert.True(fifthRan);
            HubProbe.AssertHubWorks();
            for (int i = 1; i < 4; i++)
                Assert.Equal($"g{i} got end", live[i].Switch("end"));
        }, new HubOptions { MaxFibers = 4 });
    }

    [Fact]
    public void MaxFibersExceeded_InsideAGreenlet_IsRaisedThere()
    {
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var holder = new Greenlet(_ => root.Switch("holding"));
            Assert.Equal("holding", holder.Switch());
            var g = new Greenlet(_ =>
            {
                var e = Record.Exception(() => new Greenlet(() => { }).Switch());
                return e is InvalidOperationException ioe && ioe.Message.Contains("MaxFibers", StringComparison.Ordinal)
                    ? "raised in g"
                    : $"unexpected: {e}";
            });
            Assert.Equal("raised in g", g.Switch());   // g held the second slot; it has ended
            Assert.Equal("released", holder.Switch("released"));
            HubProbe.AssertHubWorks();
        }, new HubOptions { MaxFibers = 2 });
    }

    [Fact]
    public void TenThousandSequentialGreenlets_OnMaxFibersFour_ReuseSlots()
    {
        const int N = 10_000;
        long total = Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            long sum = 0;
            for (int i = 0; i < N; i++)
            {
                // each one lives across a switch, and briefly has a child of its own (2 of 4 slots)
                var g = new Greenlet(arg =>
                {
                    int x = (int)arg!;
                    var child = new Greenlet(y => (int)y! * 2);
                    int doubled = (int)child.Switch(x)!;
                    object? back = root.Switch(doubled);
                    return doubled + (int)back!;
                });
                Assert.Equal(2 * i, g.Switch(i));
                sum += (int)g.Switch(1)!;
                Assert.True(g.IsDead);
            }
            return sum;
        }, new HubOptions { MaxFibers = 4 });
        Assert.Equal((long)N * (N - 1) + N, total);
    }

    [Fact]
    public void MaxFibers_ChildEndingIntoAnUnstartedParent_WhenAllOtherSlotsAreInUse()
    {
        // MaxFibers = 2: `holder` keeps one slot, `child` takes the other. When child's run ends it is no
        // longer alive, so its unstarted parent should be able to start with child's result.
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var holder = new Greenlet(_ => root.Switch("holding"));
            Assert.Equal("holding", holder.Switch());
            var parent = new Greenlet(x => $"parent started with {x}");
            var child = new Greenlet(_ => "child result", parent);
            Assert.Equal("parent started with child result", child.Switch());
            Assert.True(parent.IsDead);
            Assert.Equal("released", holder.Switch("released"));
            HubProbe.AssertHubWorks();
        }, new HubOptions { MaxFibers = 2 });
    }
}
