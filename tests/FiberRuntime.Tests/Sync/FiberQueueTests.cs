using System.Diagnostics;

namespace FiberRuntime.Tests.Sync;

public class FiberQueueTests
{
    [Fact]
    public void Fifo_put_get_counts_and_flags()
    {
        Hub.Run(() =>
        {
            var q = new FiberQueue<int>();
            Assert.Equal(0, q.MaxSize);
            Assert.True(q.IsEmpty);
            Assert.False(q.IsFull);
            for (int i = 1; i <= 100; i++) q.Put(i);
            Assert.Equal(100, q.Count);
            Assert.False(q.IsFull);                    // unbounded
            Assert.Equal(1, q.Peek());
            Assert.True(q.TryPeek(out int head));
            Assert.Equal(1, head);
            for (int i = 1; i <= 100; i++) Assert.Equal(i, q.Get());
            Assert.True(q.IsEmpty);
        });
    }

    [Fact]
    public void Get_blocks_until_put_getters_served_fifo()
    {
        Hub.Run(() =>
        {
            var q = new FiberQueue<string>();
            var got = new List<string>();
            var getters = Enumerable.Range(0, 3).Select(i => Fiber.Spawn(() => got.Add(i + ":" + q.Get()))).ToList();
            Fiber.Yield();
            Assert.Empty(got);
            q.Put("a");
            q.Put("b");
            q.Put("c");
            Assert.False(q.TryGet(out _));             // all three are reserved for the waiting getters
            Fiber.JoinAll(getters, TimeSpan.FromSeconds(5));
            Assert.Equal(["0:a", "1:b", "2:c"], got);
            Assert.True(q.IsEmpty);
        });
    }

    [Fact]
    public void Non_blocking_operations_on_empty_and_full_queues()
    {
        Hub.Run(() =>
        {
            var q = new FiberQueue<int>(2);
            Assert.Throws<QueueEmptyException>(() => q.GetNoWait());
            Assert.Throws<QueueEmptyException>(() => q.Get(TimeSpan.Zero));
            Assert.Throws<QueueEmptyException>(() => q.Peek(TimeSpan.Zero));
            Assert.False(q.TryGet(out _));
            Assert.False(q.TryPeek(out _));
            q.PutNoWait(1);
            Assert.True(q.TryPut(2));
            Assert.True(q.IsFull);
            Assert.False(q.TryPut(3));
            Assert.Throws<QueueFullException>(() => q.PutNoWait(3));
            var sw = Stopwatch.StartNew();
            Assert.Throws<QueueFullException>(() => q.Put(3, TimeSpan.Zero));
            Assert.True(sw.ElapsedMilliseconds < 1000);
            Assert.Equal(1, q.GetNoWait());
            Assert.True(q.TryGet(out int two));
            Assert.Equal(2, two);
        });
    }

    [Fact]
    public void Timeouts_raise_empty_and_full()
    {
        Hub.Run(() =>
        {
            var q = new FiberQueue<int>(1);
            var sw = Stopwatch.StartNew();
            Assert.Throws<QueueEmptyException>(() => q.Get(TimeSpan.FromMilliseconds(100)));
            Assert.InRange(sw.ElapsedMilliseconds, 50, 5000);
            sw.Restart();
            Assert.Throws<QueueEmptyException>(() => q.Peek(TimeSpan.FromMilliseconds(100)));
            Assert.InRange(sw.ElapsedMilliseconds, 50, 5000);
            q.Put(1);
            sw.Restart();
            Assert.Throws<QueueFullException>(() => q.Put(2, TimeSpan.FromMilliseconds(100)));
            Assert.InRange(sw.ElapsedMilliseconds, 50, 5000);
            Assert.Equal(1, q.Count);
            Assert.Equal(1, q.Get(TimeSpan.FromMilliseconds(100)));
        });
    }

    [Fact]
    public void Bounded_put_blocks_until_room_putters_served_fifo()
    {
        Hub.Run(() =>
        {
            var q = new FiberQueue<int>(1);
            q.Put(0);
            var putters = Enumerable.Range(1, 3).Select(i => Fiber.Spawn(() => q.Put(i))).ToList();
            Fiber.Yield();
            Assert.Equal(1, q.Count);
            Assert.False(q.TryPut(99));                // a later non-blocking put cannot overtake the waiting putters
            var got = new List<int>();
            for (int i = 0; i < 4; i++) got.Add(q.Get(TimeSpan.FromSeconds(5)));
            Assert.Equal([0, 1, 2, 3], got);
            Fiber.JoinAll(putters, TimeSpan.FromSeconds(5));
            Assert.All(putters, p => Assert.True(p.IsSuccessful));
        });
    }

    [Fact]
    public void Peek_blocks_until_an_item_does_not_consume_and_getters_go_first()
    {
        Hub.Run(() =>
        {
            var q = new FiberQueue<int>();
            var peeker = Fiber.Spawn(() => q.Peek(TimeSpan.FromSeconds(5)));
            var getter = Fiber.Spawn(() => q.Get(TimeSpan.FromSeconds(5)));
            Fiber.Yield();
            q.Put(1);                                  // reserved for the getter; the peeker waits on
            Assert.Equal(1, getter.Get(TimeSpan.FromSeconds(5)));
            Assert.False(peeker.IsReady);
            q.Put(2);
            Assert.Equal(2, peeker.Get(TimeSpan.FromSeconds(5)));
            Assert.Equal(1, q.Count);
        });
    }

    [Fact]
    public void Enumeration_consumes_with_get_and_blocks_for_more()
    {
        Hub.Run(() =>
        {
            var q = new FiberQueue<int>();
            q.Put(1);
            q.Put(2);
            var producer = Fiber.Spawn(() => { Fiber.Sleep(TimeSpan.FromMilliseconds(20)); q.Put(3); });
            Assert.Equal([1, 2, 3], q.Take(3).ToList());
            Assert.True(q.IsEmpty);
            producer.Join();
        });
    }

    [Fact]
    public void Kill_unserved_getter_nothing_lost()
    {
        Hub.Run(() =>
        {
            var q = new FiberQueue<int>();
            var victim = Fiber.Spawn(() => q.Get());
            var other = Fiber.Spawn(() => q.Get(TimeSpan.FromSeconds(5)));
            Fiber.Yield();
            victim.Kill();
            Assert.True(victim.IsReady);
            q.Put(7);
            q.Put(8);
            Assert.Equal(7, other.Get(TimeSpan.FromSeconds(5)));
            Assert.Equal(8, q.Get(TimeSpan.Zero));
        });
    }

    [Fact]
    public void Kill_served_getter_before_it_runs_the_item_is_not_lost()
    {
        Hub.Run(() =>
        {
            var q = new FiberQueue<int>();
            int received = 0;
            var victim = Fiber.Spawn(() =>
            {
                received = q.Get();
                Fiber.Sleep(TimeSpan.FromSeconds(10));   // the kill lands here
            });
            Fiber.Yield();
            q.Put(42);                                   // handed to the victim, which has not run yet
            victim.Kill();
            Assert.True(victim.IsReady);
            Assert.True(victim.IsSuccessful);            // GreenletExit
            Assert.True(received == 42 || q.Count == 1, "the item was lost");
            Assert.Equal(42, received);                  // the wake-up is delivered before the kill
            Assert.True(q.IsEmpty);
            Assert.False(q.TryGet(out _));
            q.Put(43);
            Assert.Equal(43, q.Get(TimeSpan.Zero));      // no reservation leaked
        });
    }

    [Fact]
    public void Kill_waiting_putter_its_item_is_not_put_slots_stay_consistent()
    {
        Hub.Run(() =>
        {
            var q = new FiberQueue<int>(1);
            q.Put(1);
            var victim = Fiber.Spawn(() => q.Put(2));
            var other = Fiber.Spawn(() => q.Put(3, TimeSpan.FromSeconds(5)));
            Fiber.Yield();
            victim.Kill();
            Assert.Equal(1, q.Get());
            Assert.Equal(3, q.Get(TimeSpan.FromSeconds(5)));
            other.Get(TimeSpan.FromSeconds(5));
            Assert.True(q.IsEmpty);
            Assert.True(q.TryPut(4));
            Assert.False(q.TryPut(5));
        });
    }

    [Fact]
    public void Kill_served_putter_before_it_runs_its_item_arrives()
    {
        Hub.Run(() =>
        {
            var q = new FiberQueue<int>(1);
            q.Put(1);
            var victim = Fiber.Spawn(() => { q.Put(2); Fiber.Sleep(TimeSpan.FromSeconds(10)); });
            Fiber.Yield();
            Assert.Equal(1, q.Get());                    // frees the slot and hands it to the victim
            victim.Kill();
            Assert.Equal(2, q.Get(TimeSpan.Zero));
            Assert.True(q.TryPut(3));
        });
    }

    [Fact]
    public void FiberTimeout_interrupts_get_and_put()
    {
        Hub.Run(() =>
        {
            var q = new FiberQueue<int>(1);
            Assert.Throws<FiberTimeoutException>(() => Fiber.WithTimeout(TimeSpan.FromMilliseconds(30), () => q.Get()));
            q.Put(1);
            Assert.Throws<FiberTimeoutException>(() => Fiber.WithTimeout(TimeSpan.FromMilliseconds(30), () => q.Put(2)));
            Assert.Equal(1, q.Get());
            Assert.True(q.IsEmpty);
        });
    }

    [Fact]
    public void Bad_input_throws_and_hub_keeps_working()
    {
        Hub.Run(() =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new FiberQueue<int>(-1));
            Assert.Throws<ArgumentOutOfRangeException>(() => new FiberLifoQueue<int>(-1));
            Assert.Throws<ArgumentOutOfRangeException>(() => new FiberPriorityQueue<int>(-1));
            Assert.Throws<ArgumentOutOfRangeException>(() => new FiberJoinableQueue<int>(-1));
            Assert.Throws<ArgumentNullException>(() => new FiberPriorityQueue<int>(null!));
            var q = new FiberQueue<int>();
            Assert.Throws<ArgumentOutOfRangeException>(() => q.Get(TimeSpan.FromSeconds(-2)));
            Assert.Throws<ArgumentOutOfRangeException>(() => q.Put(1, TimeSpan.FromSeconds(-2)));
            Assert.Throws<ArgumentOutOfRangeException>(() => q.Peek(TimeSpan.FromSeconds(-2)));
            Assert.True(q.IsEmpty);
            q.Put(1, Timeout.InfiniteTimeSpan);
            Assert.Equal(1, q.Get(Timeout.InfiniteTimeSpan));
            HubProbe.AssertHubWorks();
        });
    }

    [Fact]
    public void Use_from_another_thread_throws()
    {
        var unbound = new FiberQueue<int>();
        Assert.IsType<InvalidOperationException>(OffHub.Run(() => unbound.Put(1)));
        Hub.Run(() =>
        {
            var q = new FiberQueue<int>();
            q.Put(1);
            Assert.IsType<InvalidOperationException>(OffHub.Run(() => q.Get()));
            Assert.IsType<InvalidOperationException>(OffHub.Run(() => q.TryPut(2)));
            Assert.Equal(1, q.Get());
        });
    }

    [Fact]
    public void Lifo_returns_newest_first()
    {
        Hub.Run(() =>
        {
            var q = new FiberLifoQueue<int>(3);
            q.Put(1);
            q.Put(2);
            q.Put(3);
            Assert.True(q.IsFull);
            Assert.Equal(3, q.Peek());
            Assert.Equal([3, 2, 1], q.Take(3).ToList());
            var getter = Fiber.Spawn(() => q.Get());
            Fiber.Yield();
            q.Put(9);
            Assert.Equal(9, getter.Get(TimeSpan.FromSeconds(5)));
        });
    }

    [Fact]
    public void Priority_returns_smallest_first_with_optional_comparer()
    {
        Hub.Run(() =>
        {
            var q = new FiberPriorityQueue<int>();
            foreach (int i in new[] { 5, 1, 4, 2, 3 }) q.Put(i);
            Assert.Equal(1, q.Peek());
            Assert.Equal([1, 2, 3, 4, 5], q.Take(5).ToList());

            var desc = new FiberPriorityQueue<string>(Comparer<string>.Create((a, b) => string.CompareOrdinal(b, a)), maxSize: 2);
            desc.Put("a");
            desc.Put("c");
            Assert.Throws<QueueFullException>(() => desc.PutNoWait("b"));
            Assert.Equal("c", desc.Get());
            desc.Put("b");
            Assert.Equal("b", desc.Get());
            Assert.Equal("a", desc.Get());
        });
    }

    [Fact]
    public void Joinable_TaskDone_and_join()
    {
        Hub.Run(() =>
        {
            var q = new FiberJoinableQueue<int>();
            Assert.True(q.Join(TimeSpan.Zero));
            Assert.Throws<InvalidOperationException>(() => q.TaskDone());
            for (int i = 0; i < 5; i++) q.Put(i);
            Assert.Equal(5, q.UnfinishedTasks);
            int sum = 0;
            var workers = Enumerable.Range(0, 2).Select(_ => Fiber.Spawn(() =>
            {
                while (q.TryGet(out int item))
                {
                    Fiber.Sleep(TimeSpan.FromMilliseconds(5));
                    sum += item;
                    q.TaskDone();
                }
            })).ToList();
            Assert.False(q.Join(TimeSpan.FromMilliseconds(1)));
            Assert.True(q.Join(TimeSpan.FromSeconds(5)));
            Assert.Equal(0, q.UnfinishedTasks);
            Assert.Equal(10, sum);
            Fiber.JoinAll(workers, TimeSpan.FromSeconds(5));
            Assert.Throws<InvalidOperationException>(() => q.TaskDone());
            Assert.Equal(0, q.UnfinishedTasks);
            q.Put(1);
            Assert.Equal(1, q.UnfinishedTasks);
        });
    }

    [Fact]
    public void Joinable_kill_while_joining_other_joiners_still_return()
    {
        Hub.Run(() =>
        {
            var q = new FiberJoinableQueue<string>();
            q.Put("x");
            var victim = Fiber.Spawn(() => q.Join());
            var other = Fiber.Spawn(() => q.Join(TimeSpan.FromSeconds(5)));
            Fiber.Yield();
            victim.Kill();
            Assert.Equal("x", q.Get());
            q.TaskDone();
            Assert.True(other.Get(TimeSpan.FromSeconds(5)));
        });
    }
}
