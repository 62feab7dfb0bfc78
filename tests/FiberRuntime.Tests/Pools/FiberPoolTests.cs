using System.Diagnostics;

namespace FiberRuntime.Tests.Pools;

/// <summary>gevent.pool.Pool semantics: a bounded group.</summary>
public class FiberPoolTests
{
    [Fact]
    public void Pool_10_spawning_20_sleepers_never_runs_more_than_10()
    {
        int running = 0, peak = 0;
        Hub.Run(() =>
        {
            var pool = new FiberPool(10);
            for (int i = 0; i < 20; i++)
            {
                pool.Spawn(() =>
                {
                    running++;
                    peak = Math.Max(peak, running);
                    Fiber.Sleep(TimeSpan.FromMilliseconds(20));
                    running--;
                });
                Assert.InRange(pool.Count, 1, 10);
            }
            Assert.True(pool.Join(TimeSpan.FromSeconds(10)));
        });
        Assert.Equal(10, peak);
        Assert.Equal(0, running);
    }

    [Fact]
    public void Spawn_blocks_the_caller_while_full_and_the_new_fiber_starts_only_with_a_slot()
    {
        Hub.Run(() =>
        {
            var pool = new FiberPool(2);
            var log = new List<string>();
            Fiber a = pool.Spawn(() => { log.Add("a start"); Fiber.Sleep(TimeSpan.FromMilliseconds(40)); log.Add("a end"); });
            pool.Spawn(() => { log.Add("b start"); Fiber.Sleep(TimeSpan.FromMilliseconds(80)); log.Add("b end"); });
            Assert.True(pool.IsFull);
            Assert.Equal(0, pool.FreeCount);
            pool.Spawn(() => log.Add("c start"));        // waits for a to finish
            log.Add("spawned c");
            Assert.True(a.IsReady);
            Assert.True(pool.Join(TimeSpan.FromSeconds(5)));
            Assert.Equal(["a start", "b start", "a end", "spawned c", "c start", "b end"], log);
        });
    }

    [Fact]
    public void FreeCount_tracks_members()
    {
        Hub.Run(() =>
        {
            var pool = new FiberPool(3);
            Assert.Equal(3, pool.Size);
            Assert.Equal(3, pool.FreeCount);
            Assert.False(pool.IsFull);
            Fiber a = pool.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(10)));
            Assert.Equal(2, pool.FreeCount);
            Fiber b = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(30)));
            pool.Add(b);
            Assert.Equal(1, pool.FreeCount);
            pool.Discard(b);
            Assert.Equal(2, pool.FreeCount);
            a.Join();
            Assert.Equal(3, pool.FreeCount);           // a finished: its slot is free as soon as it is joined
            b.Join();
            Assert.Equal(3, pool.FreeCount);
        });
    }

    [Fact]
    public void WaitAvailable_returns_at_once_when_free_waits_when_full_and_times_out()
    {
        Hub.Run(() =>
        {
            var pool = new FiberPool(1);
            Assert.Equal(1, pool.WaitAvailable());
            Fiber a = pool.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(50)));
            Assert.Equal(0, pool.WaitAvailable(TimeSpan.FromMilliseconds(5)));
            Assert.Equal(0, pool.WaitAvailable(TimeSpan.Zero));
            Assert.Equal(1, pool.WaitAvailable(TimeSpan.FromSeconds(5)));
            Assert.True(a.IsReady);
            Assert.Equal(1, pool.FreeCount);           // waiting took no slot
        });
    }

    [Fact]
    public void TryAdd_times_out_on_a_full_pool()
    {
        Hub.Run(() =>
        {
            var pool = new FiberPool(1);
            var release = new FiberEvent();
            pool.Spawn(() => release.Wait());       // holds the pool's one place until released
            Fiber extra = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(100)));
            Assert.False(pool.TryAdd(extra, TimeSpan.Zero));
            Assert.False(pool.TryAdd(extra, TimeSpan.FromMilliseconds(5)));
            Assert.False(pool.Contains(extra));
            release.Set();
            Assert.True(pool.TryAdd(extra, TimeSpan.FromSeconds(5)));
            Assert.True(pool.Contains(extra));
            Assert.True(pool.Join(TimeSpan.FromSeconds(5)));
        });
    }

    [Fact]
    public void Three_sleeps_of_200_ms_in_a_pool_of_3_run_concurrently()
    {
        // concurrency shown by count, not by wall time (a loaded machine stretches any time bound)
        int sleeping = 0, peak = 0;
        List<int> r = Hub.Run(() =>
        {
            var pool = new FiberPool(3);
            return pool.Map(Enumerable.Range(0, 3), i =>
            {
                peak = Math.Max(peak, ++sleeping);
                Fiber.Sleep(TimeSpan.FromMilliseconds(200));
                sleeping--;
                return i;
            });
        });
        Assert.Equal([0, 1, 2], r);
        Assert.Equal(3, peak);
    }

    [Fact]
    public void Map_on_a_pool_is_bounded_by_its_size()
    {
        int running = 0, peak = 0;
        Hub.Run(() =>
        {
            var pool = new FiberPool(4);
            List<int> res = pool.Map(Enumerable.Range(0, 15), i =>
            {
                running++;
                peak = Math.Max(peak, running);
                Fiber.Sleep(TimeSpan.FromMilliseconds(3));
                running--;
                return -i;
            });
            Assert.Equal(Enumerable.Range(0, 15).Select(i => -i), res);
            Assert.Equal([0, 1, 2], pool.Imap(Enumerable.Range(0, 3), i => i, maxSize: 10).ToList());
        });
        Assert.Equal(4, peak);
    }

    [Fact]
    public void Member_of_a_full_pool_can_still_apply_map_and_ApplyAsync_without_deadlock()
    {
        Hub.Run(() =>
        {
            var pool = new FiberPool(1);
            Fiber<int> outer = pool.Spawn(() =>
            {
                int a = pool.Apply(() => 1);                                  // inline
                int b = pool.Map(Enumerable.Range(0, 3), i => i).Sum();       // inline: the caller holds the only slot
                Fiber<int> c = pool.ApplyAsync(() => 10);                     // not a member: waits for the slot itself
                Assert.False(pool.Contains(c));
                return a + b + (c.Join(TimeSpan.FromMilliseconds(20)) ? -1000 : 0);
            });
            Assert.Equal(4, outer.Get());
            Assert.True(pool.Join(TimeSpan.FromSeconds(5)));
        });
    }

    [Fact]
    public void Slots_go_to_waiters_in_fifo_order()
    {
        var order = new List<int>();
        Hub.Run(() =>
        {
            var pool = new FiberPool(1);
            pool.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(20)));
            var spawners = Enumerable.Range(0, 4).Select(i => Fiber.Spawn(() => pool.Spawn(() => order.Add(i)))).ToList();
            Fiber.JoinAll(spawners);
            Assert.True(pool.Join(TimeSpan.FromSeconds(5)));
        });
        Assert.Equal([0, 1, 2, 3], order);
    }

    [Fact]
    public void Killing_a_fiber_waiting_for_a_slot_leaves_the_pool_consistent()
    {
        Hub.Run(() =>
        {
            var pool = new FiberPool(1);
            pool.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(30)));
            bool ran = false;
            Fiber waiter = Fiber.Spawn(() => pool.Spawn(() => ran = true));
            Fiber.Yield();
            waiter.Kill();
            Assert.True(waiter.IsReady);
            Assert.True(pool.Join(TimeSpan.FromSeconds(5)));
            Assert.False(ran);
            Assert.Equal(1, pool.FreeCount);
            pool.Spawn(() => ran = true).Join();
            Assert.True(ran);
        });
    }
}
