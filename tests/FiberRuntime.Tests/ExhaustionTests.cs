namespace FiberRuntime.Tests;

/// <summary>MaxFibers reached by spawned fibers (issue 12): a fiber the hub cannot give a stack ends failed with an
/// exception naming the limit (its joiners wake), and the hub keeps working.</summary>
public sealed class ExhaustionTests
{
    [Fact]
    public void Spawned_fibers_beyond_MaxFibers_fail_naming_the_limit_and_the_hub_keeps_working()
    {
        const int maxFibers = 8, spawned = 20;
        int ran = 0, failed = 0, afterwards = 0;
        var messages = new List<string>();
        Hub.Run(() =>
        {
            var gate = new FiberEvent();
            var fibers = Enumerable.Range(0, spawned).Select(_ => Fiber.Spawn(() => { ran++; gate.Wait(); })).ToList();
            Fiber.Sleep(0.01);                             // every fiber that could start is parked on the gate
            gate.Set();
            Assert.True(Fiber.JoinAll(fibers, TimeSpan.FromSeconds(10)).Count == spawned, "every fiber ended, started or not");
            foreach (Fiber f in fibers.Where(f => f.Exception is not null))
            {
                failed++;
                messages.Add(f.Exception!.Message);
            }
            HubProbe.AssertHubWorks();
            Fiber.JoinAll(Enumerable.Range(0, maxFibers - 1).Select(_ => Fiber.Spawn(() => afterwards++)).ToList());
        }, new HubOptions { MaxFibers = maxFibers });
        Assert.Equal(spawned, ran + failed);
        Assert.InRange(ran, 1, maxFibers);
        Assert.True(failed > 0);
        Assert.All(messages, m => Assert.Contains("MaxFibers", m));
        Assert.Equal(maxFibers - 1, afterwards);
    }
}
