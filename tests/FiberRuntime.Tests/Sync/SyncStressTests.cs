namespace FiberRuntime.Tests.Sync;

/// <summary>Many producers and consumers with kills in the middle: nothing is lost or duplicated, permits and the
/// lock are conserved, and waiting allocates nothing.</summary>
public class SyncStressTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public void Many_producers_and_consumers_with_kills_checksum(int maxSize)
    {
        Hub.Run(() =>
        {
            var rng = new Random(1234 + maxSize);
            var q = new FiberQueue<long>(maxSize);
            long putSum = 0, putCount = 0, gotSum = 0, gotCount = 0;
            var producers = new List<Fiber>();
            var consumers = new List<Fiber>();

            Fiber Consumer() => Fiber.Spawn(() =>
            {
                while (true)
                {
                    long v = q.Get();
                    gotSum += v;                 // no blocking point between Get and the bookkeeping
                    gotCount++;
                    if ((v & 3) == 0) Fiber.Yield();
                }
            });

            for (int p = 0; p < 8; p++)
            {
                int id = p;
                producers.Add(Fiber.Spawn(() =>
                {
                    for (long i = 0; i < 400; i++)
                    {
                        long v = id * 1_000_000L + i + 1;
                        q.Put(v);
                        putSum += v;
                        putCount++;
                        if ((i & 7) == 0) Fiber.Yield();
                    }
                }));
            }
            for (int c = 0; c < 6; c++) consumers.Add(Consumer());

            var killer = Fiber.Spawn(() =>
            {
                for (int round = 0; round < 60; round++)
                {
                    Fiber.Yield();
                    var live = consumers.Where(f => !f.IsReady).ToList();
                    if (live.Count > 0)
                    {
                        live[rng.Next(live.Count)].Kill(block: rng.Next(2) == 0);
                        consumers.Add(Consumer());
                    }
                    if (round % 15 == 7)
                    {
                        var liveProducers = producers.Where(f => !f.IsReady).ToList();
                        if (liveProducers.Count > 0) liveProducers[rng.Next(liveProducers.Count)].Kill(block: false);
                    }
                }
            });

            killer.Get(TimeSpan.FromSeconds(30));
            Assert.Equal(producers.Count, Fiber.JoinAll(producers, TimeSpan.FromSeconds(30)).Count);
            // let the consumers drain what is left
            for (int i = 0; i < 1000 && !q.IsEmpty; i++) Fiber.Sleep(TimeSpan.FromMilliseconds(1));
            Fiber.KillAll(consumers, timeout: TimeSpan.FromSeconds(10));
            long restSum = 0, restCount = 0;
            while (q.TryGet(out long v))
            {
                restSum += v;
                restCount++;
            }
            Assert.True(putCount > 0);
            Assert.Equal(putCount, gotCount + restCount);
            Assert.Equal(putSum, gotSum + restSum);
            q.Put(5);
            Assert.Equal(5, q.Get(TimeSpan.Zero));
        });
    }

    [Fact]
    public void Semaphore_permits_conserved_under_kills()
    {
        Hub.Run(() =>
        {
            var rng = new Random(7);
            var s = new FiberSemaphore(3);
            int holders = 0, maxHolders = 0;
            var workers = Enumerable.Range(0, 20).Select(_ => Fiber.Spawn(() =>
            {
                while (true)
                {
                    s.Acquire();
                    try
                    {
                        holders++;
                        maxHolders = Math.Max(maxHolders, holders);
                        Fiber.Sleep(TimeSpan.FromMilliseconds(1));   // hold the permit across a real wait, not just a yield
                    }
                    finally
                    {
                        holders--;
                        s.Release();
                    }
                }
            })).ToList();
            for (int round = 0; round < 200; round++)
            {
                Fiber.Sleep(TimeSpan.FromMilliseconds(1));
                if (round % 10 == 0)
                {
                    var live = workers.Where(f => !f.IsReady).ToList();
                    live[rng.Next(live.Count)].Kill(block: false);
                }
            }
            Fiber.KillAll(workers, timeout: TimeSpan.FromSeconds(10));
            Assert.Equal(3, maxHolders);
            Assert.Equal(0, holders);
            Assert.Equal(3, s.CurrentCount);
        });
    }

    [Fact]
    public void Lock_mutual_exclusion_under_kills()
    {
        Hub.Run(() =>
        {
            var rng = new Random(11);
            var l = new FiberLock();
            int inside = 0, entries = 0;
            bool overlap = false;
            var workers = Enumerable.Range(0, 10).Select(_ => Fiber.Spawn(() =>
            {
                while (true)
                {
                    using (l.Lock())
                    {
                        using (l.Lock())             // re-entrant
                        {
                            if (++inside > 1) overlap = true;
                            entries++;
                            Fiber.Sleep(TimeSpan.FromMilliseconds(1));
                            inside--;
                        }
                    }
                }
            })).ToList();
            for (int round = 0; round < 200; round++)
            {
                Fiber.Sleep(TimeSpan.FromMilliseconds(1));
                if (round % 20 == 0)
                {
                    var live = workers.Where(f => !f.IsReady).ToList();
                    live[rng.Next(live.Count)].Kill(block: false);
                }
            }
            Fiber.KillAll(workers, timeout: TimeSpan.FromSeconds(10));
            Assert.False(overlap);
            Assert.True(entries > 10);
            Assert.False(l.IsLocked);
            Assert.True(l.TryAcquire());
        });
    }

    [Fact]
    public void Waiting_and_waking_allocate_nothing()
    {
        Hub.Run(() =>
        {
            var q = new FiberQueue<int>(1);
            var back = new FiberQueue<int>(1);
            var s = new FiberSemaphore(0);
            var ev = new FiberEvent();
            var l = new FiberLock();
            const int n = 5000;
            var echo = Fiber.Spawn(() =>
            {
                for (int i = 0; i < 2 * n; i++)
                {
                    back.Put(q.Get());
                    s.Release();
                    ev.Wait();
                    l.Acquire();
                    l.Release();
                }
            });
            void RoundTrips(int count)
            {
                for (int i = 0; i < count; i++)
                {
                    q.Put(i);
                    if (back.Get() != i) throw new InvalidOperationException("out of order");
                    s.Acquire(TimeSpan.FromSeconds(5));
                    ev.Set();
                    ev.Clear();
                    l.Acquire();
                    Fiber.Yield();
                    l.Release();
                }
            }
            RoundTrips(n);                               // warm up: the hub's queues reach their size
            long before = GC.GetAllocatedBytesForCurrentThread();
            RoundTrips(n);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            echo.Join(TimeSpan.FromSeconds(5));
            Assert.True(allocated < 64 * 1024, $"{allocated} bytes allocated for {n} round trips");
        });
    }
}
