namespace FiberRuntime.Tests.Sync;

/// <summary>Scheduler-core bugs found while testing the synchronisation primitives (not fixed here).</summary>
public class KillWhileBeingWokenTests
{
    // Hub.InterruptSoon defers a kill while the target has a wake-up pending, by re-scheduling itself as a
    // callback. A fiber that always has a wake-up pending when that callback runs (a Fiber.Yield loop; or one that
    // is always handed a permit/item before it parks) is never interrupted: Kill() does not land, Kill(block: true)
    // waits forever, and KillAll(..., timeout) times out.
    [Fact]
    public void KillAFiberThatOnlyYields()
    {
        Hub.Run(() =>
        {
            int spins = 0;
            var f = Fiber.Spawn(() =>
            {
                while (true)
                {
                    spins++;
                    Fiber.Yield();
                }
            });
            Fiber.Yield();
            f.Kill(block: false);
            Assert.True(f.Join(TimeSpan.FromSeconds(2)), $"not dead after {spins} yields");
        });
    }
}
