namespace FiberRuntime.Tests.Sync;

/// <summary>Regression: a kill must land on a fiber that always has a wake-up pending (found while testing the
/// synchronisation primitives; fixed in the hub's kill path).</summary>
public class KillWhileBeingWokenTests
{
    // The hub defers a kill while the target has a wake-up pending. A fiber that always has one when the deferred
    // kill runs (a Fiber.Yield loop; or one that is always handed a permit/item before it parks) was once never
    // interrupted: Kill() did not land, Kill(block: true) waited forever, KillAll(..., timeout) timed out.
    [Fact]
    public void Kill_a_fiber_that_only_yields()
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
