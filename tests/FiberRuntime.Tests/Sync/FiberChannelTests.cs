using System.Diagnostics;

namespace FiberRuntime.Tests.Sync;

public class FiberChannelTests
{
    [Fact]
    public void Put_blocks_until_a_getter_takes_the_item()
    {
        Hub.Run(() =>
        {
            var ch = new FiberChannel<int>();
            bool putDone = false;
            var putter = Fiber.Spawn(() => { ch.Put(1); putDone = true; });
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            Assert.False(putDone);
            Assert.Equal(1, ch.Balance);
            Assert.Equal(1, ch.Get());
            putter.Join(TimeSpan.FromSeconds(5));
            Assert.True(putDone);
            Assert.Equal(0, ch.Balance);
        });
    }

    [Fact]
    public void Get_blocks_until_a_putter_both_sides_fifo()
    {
        Hub.Run(() =>
        {
            var ch = new FiberChannel<string>();
            var got = new List<string>();
            var getters = Enumerable.Range(0, 3).Select(i => Fiber.Spawn(() => got.Add(i + ":" + ch.Get()))).ToList();
            Fiber.Yield();
            Assert.Equal(-3, ch.Balance);
            ch.Put("a");                               // handed to a waiting getter: returns once it ran
            Assert.True(ch.TryPut("b"));
            ch.PutNoWait("c");
            Assert.False(ch.TryPut("d"));               // nobody waits any more
            Fiber.JoinAll(getters, TimeSpan.FromSeconds(5));
            Assert.Equal(["0:a", "1:b", "2:c"], got);

            var putters = Enumerable.Range(0, 3).Select(i => Fiber.Spawn(() => ch.Put("p" + i))).ToList();
            Fiber.Yield();
            Assert.Equal("p0", ch.Get());
            Assert.True(ch.TryGet(out string? p1));
            Assert.Equal("p1", p1);
            Assert.Equal("p2", ch.GetNoWait());
            Assert.False(ch.TryGet(out _));
            Fiber.JoinAll(putters, TimeSpan.FromSeconds(5));
            Assert.All(putters, p => Assert.True(p.IsSuccessful));
        });
    }

    [Fact]
    public void Timeouts_raise_full_and_empty()
    {
        Hub.Run(() =>
        {
            var ch = new FiberChannel<int>();
            Assert.Throws<QueueFullException>(() => ch.PutNoWait(1));
            Assert.Throws<QueueEmptyException>(() => ch.GetNoWait());
            var sw = Stopwatch.StartNew();
            Assert.Throws<QueueFullException>(() => ch.Put(1, TimeSpan.FromMilliseconds(100)));
            Assert.InRange(sw.ElapsedMilliseconds, 50, 5000);
            sw.Restart();
            Assert.Throws<QueueEmptyException>(() => ch.Get(TimeSpan.FromMilliseconds(100)));
            Assert.InRange(sw.ElapsedMilliseconds, 50, 5000);
            Assert.Equal(0, ch.Balance);
            Assert.False(ch.TryGet(out _));             // the timed-out put left nothing behind
        });
    }

    [Fact]
    public void Kill_waiting_putter_its_item_is_not_delivered()
    {
        Hub.Run(() =>
        {
            var ch = new FiberChannel<int>();
            var victim = Fiber.Spawn(() => ch.Put(1));
            var other = Fiber.Spawn(() => ch.Put(2));
            Fiber.Yield();
            victim.Kill();
            Assert.Equal(2, ch.Get(TimeSpan.FromSeconds(5)));
            other.Join(TimeSpan.FromSeconds(5));
            Assert.False(ch.TryGet(out _));
        });
    }

    [Fact]
    public void Kill_served_getter_before_it_runs_the_item_is_still_received()
    {
        Hub.Run(() =>
        {
            var ch = new FiberChannel<int>();
            int received = 0;
            var victim = Fiber.Spawn(() => { received = ch.Get(); Fiber.Sleep(TimeSpan.FromSeconds(10)); });
            Fiber.Yield();
            Assert.True(ch.TryPut(42));                 // does not wait for the getter to run
            victim.Kill();
            Assert.Equal(42, received);
            Assert.False(ch.TryGet(out _));
        });
    }

    [Fact]
    public void Kill_served_putter_before_it_runs_the_put_completed()
    {
        Hub.Run(() =>
        {
            var ch = new FiberChannel<int>();
            bool putReturned = false;
            var victim = Fiber.Spawn(() => { ch.Put(7); putReturned = true; Fiber.Sleep(TimeSpan.FromSeconds(10)); });
            Fiber.Yield();
            Assert.Equal(7, ch.Get());
            victim.Kill();
            Assert.True(putReturned);
        });
    }

    [Fact]
    public void Many_producers_and_consumers_with_kills_checksum()
    {
        Hub.Run(() =>
        {
            var rng = new Random(99);
            var ch = new FiberChannel<long>();
            long putSum = 0, putCount = 0, gotSum = 0, gotCount = 0;
            var consumers = new List<Fiber>();
            Fiber Consumer() => Fiber.Spawn(() =>
            {
                while (true)
                {
                    long v = ch.Get();
                    gotSum += v;
                    gotCount++;
                }
            });
            var producers = Enumerable.Range(0, 6).Select(p => Fiber.Spawn(() =>
            {
                for (long i = 1; i <= 300; i++)
                {
                    long v = p * 1_000_000L + i;
                    ch.Put(v);
                    putSum += v;
                    putCount++;
                }
            })).ToList();
            for (int c = 0; c < 4; c++) consumers.Add(Consumer());
            for (int round = 0; round < 50; round++)
            {
                Fiber.Yield();
                var live = consumers.Where(f => !f.IsReady).ToList();
                live[rng.Next(live.Count)].Kill(block: rng.Next(2) == 0);
                consumers.Add(Consumer());
                if (round % 10 == 3)
                {
                    var lp = producers.Where(f => !f.IsReady).ToList();
                    if (lp.Count > 0) lp[rng.Next(lp.Count)].Kill(block: false);
                }
            }
            Assert.Equal(producers.Count, Fiber.JoinAll(producers, TimeSpan.FromSeconds(30)).Count);
            Fiber.KillAll(consumers, timeout: TimeSpan.FromSeconds(10));
            Assert.True(putCount > 0);
            Assert.Equal(putCount, gotCount);
            Assert.Equal(putSum, gotSum);
        });
    }

    [Fact]
    public void Waiting_allocates_nothing()
    {
        Hub.Run(() =>
        {
            var ch = new FiberChannel<int>();
            var back = new FiberChannel<int>();
            const int n = 5000;
            var echo = Fiber.Spawn(() =>
            {
                for (int i = 0; i < 2 * n; i++) back.Put(ch.Get());
            });
            void RoundTrips()
            {
                for (int i = 0; i < n; i++)
                {
                    ch.Put(i);
                    if (back.Get() != i) throw new InvalidOperationException("out of order");
                }
            }
            RoundTrips();
            long before = GC.GetAllocatedBytesForCurrentThread();
            RoundTrips();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            echo.Join(TimeSpan.FromSeconds(5));
            Assert.True(allocated < 64 * 1024, $"{allocated} bytes allocated for {n} round trips");
        });
    }

    [Fact]
    public void Enumeration_and_bad_input()
    {
        var unbound = new FiberChannel<int>();
        Assert.IsType<InvalidOperationException>(OffHub.Run(() => unbound.TryPut(1)));
        Hub.Run(() =>
        {
            var ch = new FiberChannel<int>();
            var producer = Fiber.Spawn(() => { for (int i = 1; i <= 3; i++) ch.Put(i); });
            Assert.Equal([1, 2, 3], ch.Take(3).ToList());
            producer.Join(TimeSpan.FromSeconds(5));
            Assert.Throws<ArgumentOutOfRangeException>(() => ch.Put(1, TimeSpan.FromSeconds(-3)));
            Assert.Throws<ArgumentOutOfRangeException>(() => ch.Get(TimeSpan.FromSeconds(-3)));
            Assert.IsType<InvalidOperationException>(OffHub.Run(() => ch.TryGet(out _)));
            Assert.Equal(0, ch.Balance);
            HubProbe.AssertHubWorks();
        });
    }
}
