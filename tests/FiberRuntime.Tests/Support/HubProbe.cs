namespace FiberRuntime.Tests;

/// <summary>Shared checks for the greenlet API tests.</summary>
internal static class HubProbe
{
    /// <summary>Proves that the hub on the calling thread still switches correctly: a fresh greenlet receives a
    /// value, sends one back, is resumed with another and returns a result computed from both. Call it right after
    /// provoking a bad input inside a hub.</summary>
    public static void AssertHubWorks()
    {
        Greenlet me = Greenlet.Current ?? throw new InvalidOperationException("AssertHubWorks must run inside a hub.");
        var g = new Greenlet(arg =>
        {
            Assert.Same(me, Greenlet.Current!.Parent);
            object? back = me.Switch((int)arg! + 1);
            return (int)back! * 10 + (int)arg!;
        });
        Assert.Equal(8, g.Switch(7));
        Assert.True(g.IsStarted);
        Assert.False(g.IsDead);
        Assert.Same(me, Greenlet.Current);
        Assert.Equal(37, g.Switch(3));
        Assert.True(g.IsDead);
        Assert.Same(me, Greenlet.Current);
    }
}
