namespace FiberRuntime.Tests;

/// <summary>Bad hub options (stack sizes, MaxFibers) and MaxFibers exhaustion: a clear exception, and the hub keeps running.</summary>
public class HubOptionsBadInputTests
{
    // ---- options --------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1024)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(HubOptions.MinStackSize - 1)]
    [InlineData(HubOptions.MaxStackSize + 1)]
    [InlineData(int.MaxValue)]
    public void StackSize_out_of_range_throws_from_hub_run_without_running_main(int stackSize)
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
    public void StackSize_at_the_lower_bound_works(int stackSize)
    {
        Assert.Equal(4, Hub.Run(() => { HubProbe.AssertHubWorks(); return 4; }, new HubOptions { StackSize = stackSize }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(HubOptions.MaxFibersLimit + 1)]
    public void MaxFibers_out_of_range_throws_from_hub_run_without_running_main(int maxFibers)
    {
        bool ran = false;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Hub.Run(() => { ran = true; }, new HubOptions { MaxFibers = maxFibers }));
        Assert.Equal(nameof(HubOptions.MaxFibers), e.ParamName);
        Assert.False(ran);
        Assert.Equal(5, Hub.Run(() => { HubProbe.AssertHubWorks(); return 5; }));
    }

    [Fact]
    public void MaxFibersLimit_is_accepted_and_one_more_is_refused_by_validation_with_the_hub_still_running()
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
    public void HubStackSize_out_of_range_throws_from_hub_run(int hubStackSize)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Hub.Run(() => { }, new HubOptions { HubStackSize = hubStackSize }));
        Assert.Equal(6, Hub.Run(() => { HubProbe.AssertHubWorks(); return 6; }));
    }

    // ---- MaxFibers ------------------------------------------------------------------------------------

    [Fact]
    public void Starting_more_than_MaxFibers_live_greenlets_throws_and_the_slot_is_usable_once_one_ends()
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
    public void MaxFibers_exceeded_inside_a_greenlet_is_raised_there()
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
    public void Ten_thousand_sequential_greenlets_on_MaxFibers_four_reuse_slots()
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
    public void MaxFibers_child_ending_into_an_unstarted_parent_when_all_other_slots_are_in_use()
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
