using System.Runtime.InteropServices;

namespace FiberRuntime.Tests;

/// <summary>A switch inside a callback from native code is refused inside catch, finally and filter blocks too
/// (issue 12): the exception dispatcher's own P/Invoke is told apart from the callback's (native/src/misuse.c), while
/// switching in those handlers without a callback stays allowed (GC stress suite, GreenletExceptionTests).</summary>
public sealed unsafe partial class MisuseInHandlerTests
{
    [ThreadStatic] private static Greenlet? t_target;
    [ThreadStatic] private static int t_refusals;
    [ThreadStatic] private static int t_switched;

    [LibraryImport("libc", EntryPoint = "qsort")]
    private static partial void QSort(int* items, nuint count, nuint size, delegate* unmanaged<int*, int*, int> compare);

    [UnmanagedCallersOnly]
    private static int CompareAndTrySwitch(int* x, int* y)
    {
        try
        {
            t_target!.Switch();
            t_switched++;
        }
        catch (InvalidOperationException e) when (e.Message.Contains("callback from native code", StringComparison.Ordinal))
        {
            t_refusals++;
        }
        catch (Exception)
        {
            // nothing may escape into native code; a switch that went through shows in t_switched
        }
        return *x - *y;
    }

    private static string SortWithCallback()
    {
        int[] items = [5, 3, 9, 1];
        fixed (int* p = items) QSort(p, (nuint)items.Length, sizeof(int), &CompareAndTrySwitch);
        return string.Join(",", items);
    }

    private static bool SortInFilter(ref string sorted)
    {
        sorted = SortWithCallback();
        return true;
    }

    [Theory]
    [InlineData("catch")]
    [InlineData("finally")]
    [InlineData("filter")]
    [InlineData("nested catch")]
    public void A_native_callback_inside_a_handler_cannot_switch(string handler)
    {
        string sorted = "";
        int refusals = 0, switched = 0;
        bool otherRan = false;
        Hub.Run(() =>
        {
            t_refusals = 0;
            t_switched = 0;
            var other = new Greenlet(() => otherRan = true);
            t_target = other;
            var g = new Greenlet(() =>
            {
                switch (handler)
                {
                    case "catch":
                        try { throw new InvalidTimeZoneException(); }
                        catch (InvalidTimeZoneException) { sorted = SortWithCallback(); }
                        break;
                    case "finally":
                        try
                        {
                            try { throw new InvalidTimeZoneException(); }
                            finally { sorted = SortWithCallback(); }
                        }
                        catch (InvalidTimeZoneException) { }
                        break;
                    case "filter":
                        try { throw new InvalidTimeZoneException(); }
                        catch (InvalidTimeZoneException) when (SortInFilter(ref sorted)) { }
                        break;
                    case "nested catch":
                        try { throw new InvalidTimeZoneException(); }
                        catch (InvalidTimeZoneException)
                        {
                            try { throw new TimeZoneNotFoundException(); }
                            catch (TimeZoneNotFoundException) { sorted = SortWithCallback(); }
                        }
                        break;
                }
            });
            g.Switch();
            refusals = t_refusals;
            switched = t_switched;
            Assert.False(other.IsStarted);          // every refused switch left it unstarted
            other.Switch();                         // a normal switch afterwards works
            HubProbe.AssertHubWorks();
        }, new HubOptions { MaxFibers = 4 });
        Assert.Equal("1,3,5,9", sorted);
        Assert.True(refusals > 0, "no switch was attempted");
        Assert.Equal(0, switched);
        Assert.True(otherRan);
    }
}
