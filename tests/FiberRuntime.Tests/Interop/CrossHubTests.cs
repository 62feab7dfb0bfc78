namespace FiberRuntime.Tests.Interop;

/// <summary>Spawning onto a given hub from other threads and other hubs; SpawnAsync for code outside fibers.</summary>
public sealed class CrossHubTests
{
    /// <summary>A hub running on a background thread until disposed: a HubGroup of one.</summary>
    private sealed class RunningHub : IDisposable
    {
        private readonly HubGroup _group = new(1);

        public Hub Hub => _group.Hubs[0];

        public void Dispose() => _group.Dispose();
    }

    [Fact]
    public void Fibers_spawned_from_many_threads_run_on_the_target_hub()
    {
        using var target = new RunningHub();
        var fibers = new System.Collections.Concurrent.ConcurrentBag<Fiber<(int, int)>>();
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            for (int i = 0; i < 200; i++)
            {
                int v = t * 1000 + i;
                fibers.Add(target.Hub.Spawn(() => (v, Environment.CurrentManagedThreadId)));
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        var results = fibers.Select(f => f.Get()).ToList();
        Assert.Equal(1600, results.Count);
        Assert.All(results, r => Assert.Equal(target.Hub.ManagedThreadId, r.Item2));
        Assert.Equal(Enumerable.Range(0, 8).SelectMany(t => Enumerable.Range(0, 200).Select(i => t * 1000 + i)).Order(), results.Select(r => r.Item1).Order());
    }

    [Fact]
    public void A_fiber_awaits_work_spawned_on_another_hub_without_blocking_its_own_hub()
    {
        using var other = new RunningHub();
        var log = new List<string>();
        Hub.Run(() =>
        {
            Fiber ticker = Fiber.Spawn(() =>
            {
                for (int i = 0; i < 3; i++) { log.Add("tick"); Fiber.Sleep(0.01); }
            });
            int otherThread = Fiber.Await(other.Hub.SpawnAsync(() =>
            {
                Fiber.Sleep(0.05);                          // a fiber of the other hub
                return Environment.CurrentManagedThreadId;
            }));
            log.Add(otherThread == other.Hub.ManagedThreadId && otherThread != Environment.CurrentManagedThreadId ? "ran on the other hub" : "wrong thread");
            ticker.Join();
        });
        Assert.Equal(["tick", "tick", "tick", "ran on the other hub"], log);
    }

    [Fact]
    public async Task SpawnAsync_reports_results_exceptions_and_kills_as_a_Task()
    {
        using var hub = new RunningHub();
        Assert.Equal(42, await hub.Hub.SpawnAsync(() => 42));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => hub.Hub.SpawnAsync(() => throw new InvalidOperationException("in a fiber")));
        Assert.Equal("in a fiber", e.Message);
        await Assert.ThrowsAsync<TaskCanceledException>(() => hub.Hub.SpawnAsync(() => throw new GreenletExit()));
        ArgumentNullException? nullArgument = null;
        try
        {
            _ = hub.Hub.SpawnAsync<int>(null!);         // thrown synchronously, not through the task
        }
        catch (ArgumentNullException x)
        {
            nullArgument = x;
        }
        Assert.NotNull(nullArgument);

        // a kill from a plain thread: posted to the hub, then joined from here
        Fiber sleeper = hub.Hub.Spawn(() => Fiber.Sleep(TimeSpan.FromMinutes(5)));
        sleeper.Kill();
        Assert.True(sleeper.IsReady);
        Assert.True(sleeper.WasKilled);
        Assert.True(sleeper.IsSuccessful);
    }
}
