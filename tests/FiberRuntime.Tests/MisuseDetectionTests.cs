using System.Runtime.InteropServices;

namespace FiberRuntime.Tests;

/// <summary>Misuse that the runtime detects and reports instead of corrupting state.</summary>
public sealed unsafe partial class MisuseDetectionTests
{
    private static Greenlet? s_target;
    private static int s_refusals;
    private static string? s_message;

    [LibraryImport("libc", EntryPoint = "qsort")]
    private static partial void QSort(int* items, nuint count, nuint size, delegate* unmanaged<int*, int*, int> compare);

    [UnmanagedCallersOnly]
    private static int CompareAndTrySwitch(int* x, int* y)
    {
        // an exception must not escape a callback from native code: catch and record
        try
        {
            s_target!.Switch();
        }
        catch (InvalidOperationException e)
        {
            s_refusals++;
            s_message = e.Message;
        }
        return *x - *y;
    }

    [Fact]
    public void Switching_inside_a_callback_from_native_code_is_refused_and_the_hub_keeps_working()
    {
        s_refusals = 0;
        var log = new List<string>();
        Hub.Run(() =>
        {
            var other = new Greenlet(() => log.Add("other ran"));
            s_target = other;
            var sorter = new Greenlet(() =>
            {
                int[] items = [5, 3, 9, 1];
                fixed (int* p = items) QSort(p, (nuint)items.Length, sizeof(int), &CompareAndTrySwitch);
                log.Add("sorted " + string.Join(",", items));
                Greenlet.Current!.Parent!.Switch("sorter done");
            });
            Assert.Equal("sorter done", sorter.Switch());
            Assert.False(other.IsStarted);      // the refused switch did not start it (its slot was given back)
            other.Switch();                     // ...and a normal switch afterwards works
        }, new HubOptions { MaxFibers = 2 });
        Assert.True(s_refusals > 0);
        Assert.Contains("callback from native code", s_message);
        Assert.Equal(["sorted 1,3,5,9", "other ran"], log);
    }
}
