using System.Runtime.CompilerServices;

namespace FiberRuntime.Tests.Scheduling;

/// <summary>An ended fiber's context parks idle and the next greenlet to start runs on it (Hub.IdleContexts.cs): the
/// reused context must start as clean as a fresh one, count for nothing, and end with the hub.</summary>
public sealed class IdleContextTests
{
    private static readonly AsyncLocal<string?> s_local = new();

    private sealed class MarkerContext : SynchronizationContext;

    [Fact]
    public void A_reused_context_starts_clean_of_the_previous_fibers_thread_state()
    {
        int firstSlot = -1, secondSlot = -2;
        string? localSeen = "unset";
        SynchronizationContext? contextSeen = new MarkerContext();
        bool currentIsSecond = false, stackOk = false;
        Hub.Run(() =>
        {
            Fiber first = Fiber.Spawn(() =>
            {
                firstSlot = Greenlet.Current!.Slot;
                s_local.Value = "leaked";
                SynchronizationContext.SetSynchronizationContext(new MarkerContext());
                Recurse(64);                                    // leaves deep stack pages touched behind it
            });
            first.Join();
            Assert.True(Hub.Current!.IdleContexts >= 1);
            Fiber? second = null;
            second = Fiber.Spawn(() =>
            {
                secondSlot = Greenlet.Current!.Slot;
                localSeen = s_local.Value;
                contextSeen = SynchronizationContext.Current;
                currentIsSecond = ReferenceEquals(Fiber.Current, second) && ReferenceEquals(Greenlet.Current, second);
                stackOk = RuntimeHelpers.TryEnsureSufficientExecutionStack();
            });
            second.Join();
            Assert.True(second.IsSuccessful);
            Assert.Null(s_local.Value);                         // nor did the first fiber's state reach main
            Assert.Null(SynchronizationContext.Current);
        });
        Assert.Equal(firstSlot, secondSlot);                    // the same context ran both
        Assert.Null(localSeen);
        Assert.Null(contextSeen);
        Assert.True(currentIsSecond);
        Assert.True(stackOk);
    }

    [Fact]
    public void A_fiber_that_ended_by_an_exception_leaves_a_context_the_next_fiber_runs_on()
    {
        Hub.Run(() =>
        {
            int failedSlot = -1, nextSlot = -2;
            Fiber failed = Fiber.Spawn(() =>
            {
                failedSlot = Greenlet.Current!.Slot;
                throw new InvalidOperationException("boom");
            });
            failed.Join();
            Assert.IsType<InvalidOperationException>(failed.Exception);
            Fiber<int> next = Fiber.Spawn(() =>
            {
                nextSlot = Greenlet.Current!.Slot;
                try { throw new FormatException(); }
                catch (FormatException) { return 42; }
            });
            Assert.Equal(42, next.Get());
            Assert.Equal(failedSlot, nextSlot);
        });
    }

    [Fact]
    public void Idle_contexts_do_not_count_against_MaxFibers()
    {
        Hub.Run(() =>
        {
            Hub hub = Hub.Current!;
            Fiber.JoinAll(Enumerable.Range(0, 4).Select(_ => Fiber.Spawn(() => Fiber.Sleep(0))).ToList());
            Assert.True(hub.IdleContexts >= 3, $"idle contexts: {hub.IdleContexts}");
            Assert.Equal((uint)hub.LiveRacy, hub.GetStats().LiveContexts);     // idle ones hold no greenlet (the loop does)
            var release = new FiberEvent();
            // main is the root (not a fiber slot), the hub loop holds one: three fibers fill MaxFibers, on idle contexts
            List<Fiber> holders = Enumerable.Range(0, 3).Select(_ => Fiber.Spawn(() => { release.Wait(); })).ToList();
            Fiber.Sleep(0);
            Assert.Equal(4, hub.LiveRacy);
            Fiber fifth = Fiber.Spawn(() => { });
            fifth.Join();
            Assert.Contains("MaxFibers", fifth.Exception?.Message);
            release.Set();
            Fiber.JoinAll(holders);
            Assert.All(holders, f => Assert.True(f.IsSuccessful));
            Fiber after = Fiber.Spawn(() => { });
            after.Join();
            Assert.True(after.IsSuccessful);
        }, new HubOptions { MaxFibers = 4 });
    }

    [Fact]
    public void The_idle_pool_is_bounded_and_an_idle_hub_trims_within_the_same_warm_budget()
    {
        const int count = 200;
        int idle = 0, warmAfter = 0;
        Hub.Run(() =>
        {
            Hub hub = Hub.Current!;
            var release = new FiberEvent();
            List<Fiber> fibers = Enumerable.Range(0, count).Select(_ => Fiber.Spawn(() => { release.Wait(); Recurse(32); })).ToList();
            Fiber.Sleep(0);
            release.Set();
            Fiber.JoinAll(fibers);
            Fiber.Sleep(0.01);                                  // the hub loop goes idle and trims
            idle = hub.IdleContexts;
            warmAfter = (int)hub.GetStats().WarmFree;
        });
        Assert.Equal(Hub.IdleContextsKept, idle);
        Assert.Equal(Hub.WarmStacksWhenIdle - Hub.IdleContextsKept, warmAfter);
    }

    [Fact]
    public void A_hub_shuts_down_with_idle_contexts_and_the_next_hub_runs()
    {
        for (int run = 0; run < 3; run++)
        {
            int idle = Hub.Run(() =>
            {
                Fiber.JoinAll(Enumerable.Range(0, 8).Select(_ => Fiber.Spawn(() => Fiber.Sleep(0))).ToList());
                return Hub.Current!.IdleContexts;
            });
            Assert.True(idle >= 7, $"idle contexts at the end of the run: {idle}");
        }
        Assert.Equal(5, Hub.Run(() => Fiber.Spawn(() => 5).Get()));
    }

    [Fact]
    public void A_fiber_that_succeeds_unobserved_allocates_no_side_state_and_a_failed_one_keeps_its_exception()
    {
        Hub.Run(() =>
        {
            var side = typeof(Fiber).GetField("_side", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
            Fiber ok = Fiber.Spawn(() => { });
            ok.Join();
            Assert.Null(side.GetValue(ok));
            Fiber failed = Fiber.Spawn(() => throw new FormatException("side"));
            failed.Join();
            Assert.Equal("side", failed.Exception?.Message);
            Assert.Equal("side", Assert.Throws<FormatException>(() => failed.Get()).Message);
            bool joinedFromPool = Task.Run(() => failed.Join(TimeSpan.FromSeconds(5))).Result;
            Assert.True(joinedFromPool);
        });
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Recurse(int kib)
    {
        Span<byte> block = stackalloc byte[1024];
        block.Fill((byte)kib);
        return kib <= 1 ? block[0] : Recurse(kib - 1) + block[1];
    }
}
