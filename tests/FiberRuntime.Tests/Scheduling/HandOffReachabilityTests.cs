using System.Runtime.CompilerServices;

namespace FiberRuntime.Tests.Scheduling;

/// <summary>A suspended frame stays on its stack for as long as its greenlet waits, and the GC reports what it holds:
/// neither a fiber that parked through a hand-off nor the hub loop (suspended while greenlets run) may keep the
/// greenlet it switched to, or that greenlet's wake-up value, alive.</summary>
public sealed class HandOffReachabilityTests
{
    [Fact]
    public void An_ended_fiber_and_its_wake_up_value_are_not_kept_alive_by_the_frames_that_switched_to_it()
    {
        Hub.Run(() =>
        {
            var never = new FiberEvent();
            var queue = new FiberQueue<byte[]>();
            (WeakReference next, WeakReference value, Fiber parked) = Scenario(queue, never);
            for (int i = 0; i < 3 && (next.IsAlive || value.IsAlive); i++)
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true);
                GC.WaitForPendingFinalizers();
            }
            Assert.True(parked.IsStarted && !parked.IsReady);       // still parked: its frame is on its stack
            Assert.False(value.IsAlive, "the wake-up value handed to the ended fiber is still reachable");
            Assert.False(next.IsAlive, "the ended fiber is still reachable");
            parked.Kill();
        });
    }

    /// <summary>The consumer waits in Get; then `parked` is spawned and the payload put, so the ready queue is
    /// [parked, consumer (woken with the payload)]; main's Yield hands off to parked, which parks and hands off to the
    /// consumer, which ends and hands off to main. Locals die with this frame.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference, WeakReference, Fiber) Scenario(FiberQueue<byte[]> queue, FiberEvent never)
    {
        Fiber consumer = Fiber.Spawn(() => GC.KeepAlive(queue.Get()));
        Fiber.Yield();
        Fiber parked = Fiber.Spawn(() => never.Wait());
        var payload = new byte[1024];
        queue.Put(payload);
        Fiber.Yield();
        Assert.True(consumer.IsReady);
        return (new WeakReference(consumer), new WeakReference(payload), parked);
    }
}
