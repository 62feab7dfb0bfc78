using System.Runtime.InteropServices;

namespace FiberRuntime.Tests;

// A yield inside a callback from native code is refused like any switch; with fibers ready, the one it would have
// handed off to must stay next in line, not be lost.
public sealed unsafe partial class MisuseDetectionTests
{
    private static int s_yieldRefusals;

    [UnmanagedCallersOnly]
    private static int CompareAndTryYield(int* x, int* y)
    {
        try
        {
            Fiber.Yield();
        }
        catch (InvalidOperationException e) when (e.Message.Contains("callback from native code"))
        {
            s_yieldRefusals++;
        }
        return *x - *y;
    }

    [Theory]
    [InlineData(true)]      // next in line: a fiber parked in a wait, just woken
    [InlineData(false)]     // next in line: a fiber that has not started
    public void A_refused_hand_off_inside_a_callback_from_native_code_keeps_the_next_fiber_next(bool parkedNext)
    {
        s_yieldRefusals = 0;
        var log = new List<string>();
        Hub.Run(() =>
        {
            var ev = new FiberEvent();
            Fiber next = parkedNext
                ? Fiber.Spawn(() => { ev.Wait(); log.Add("next ran"); })
                : null!;
            if (parkedNext) Fiber.Yield();                  // it parks on the event
            Fiber sorter = Fiber.Spawn(() =>
            {
                int[] items = [5, 3, 9, 1];
                fixed (int* p = items) QSort(p, (nuint)items.Length, sizeof(int), &CompareAndTryYield);
                log.Add("sorted " + string.Join(",", items));
            });
            if (parkedNext) ev.Set();                       // ready behind the sorter
            else next = Fiber.Spawn(() => log.Add("next ran"));
            Fiber.JoinAll([sorter, next]);
        });
        Assert.True(s_yieldRefusals > 0);
        Assert.Equal(["sorted 1,3,5,9", "next ran"], log);
    }
}
