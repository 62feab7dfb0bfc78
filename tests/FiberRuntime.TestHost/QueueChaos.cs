namespace FiberRuntime.TestHost;

/// <summary>
/// <c>soak queue [--n 200000] [--seed S]</c>: producers and consumers through a bounded queue of 4 with random
/// Put/Get timeouts, a killer fiber that kills random producers and consumers (half blocking, half not) and replaces
/// them, and an outside thread forcing compacting GCs all along. Every item a Put confirmed must be consumed exactly
/// once, and every item of 0..n-1 eventually put: counts, a sum and a hash compared at the end.
/// </summary>
internal static class QueueChaos
{
    private const int Lanes = 8, Consumers = 8, Capacity = 4;

    public static int Run(long n, int seed)
    {
        var rnd = new Random(seed);
        var received = new byte[n];
        long receivedCount = 0, duplicates = 0, receivedSum = 0, receivedHash = 0;
        long confirmedCount = 0, confirmedSum = 0, confirmedHash = 0;
        long putTimeouts = 0, getTimeouts = 0, kills = 0, blockingKills = 0;
        var next = new long[Lanes];
        for (int p = 0; p < Lanes; p++) next[p] = p;
        bool stopGc = false;
        long gcs = 0;
        var gcThread = new Thread(() =>
        {
            while (!Volatile.Read(ref stopGc))
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                Interlocked.Increment(ref gcs);
                Thread.Sleep(3);
            }
        }) { IsBackground = true, Name = "chaos GC" };

        static long Mix(long id) => (id * unchecked((long)0x9E3779B97F4A7C15)) ^ (id >> 7);

        bool finished = Hub.Run(() =>
        {
            var queue = new FiberQueue<long>(Capacity);
            var producers = new Fiber[Lanes];
            var consumers = new Fiber[Consumers];
            bool stopConsumers = false;
            TimeSpan RandomTimeout() => TimeSpan.FromMilliseconds(rnd.Next(0, 4) == 0 ? 0 : rnd.Next(1, 3));

            Fiber Producer(int lane) => Fiber.Spawn(() =>
            {
                while (next[lane] < n)
                {
                    long id = next[lane];
                    try
                    {
                        queue.Put(id, RandomTimeout());
                    }
                    catch (QueueFullException)
                    {
                        putTimeouts++;
                        continue;
                    }
                    // nothing can switch between Put returning and these lines: a kill lands before or after both
                    confirmedCount++;
                    confirmedSum += id;
                    confirmedHash ^= Mix(id);
                    next[lane] = id + Lanes;
                }
            });

            Fiber Consumer() => Fiber.Spawn(() =>
            {
                while (!stopConsumers)
                {
                    long id;
                    try
                    {
                        id = queue.Get(RandomTimeout());
                    }
                    catch (QueueEmptyException)
                    {
                        getTimeouts++;
                        continue;
                    }
                    if (received[id]++ != 0) duplicates++;
                    receivedCount++;
                    receivedSum += id;
                    receivedHash ^= Mix(id);
                }
            });

            for (int p = 0; p < Lanes; p++) producers[p] = Producer(p);
            for (int c = 0; c < Consumers; c++) consumers[c] = Consumer();
            gcThread.Start();

            var dying = new HashSet<Fiber>();      // killed without blocking, not dead yet: its replacement is linked
            var killer = Fiber.Spawn(() =>
            {
                while (true)
                {
                    Fiber.Sleep(rnd.Next(0, 3) / 1000.0);
                    bool producer = rnd.Next(2) == 0;
                    int i = rnd.Next(producer ? Lanes : Consumers);
                    Fiber victim = producer ? producers[i] : consumers[i];
                    if (victim.IsDead || dying.Contains(victim)) continue;
                    bool block = rnd.Next(2) == 0;
                    kills++;
                    if (block)
                    {
                        blockingKills++;
                        victim.Kill(block: true);
                        if (producer) producers[i] = Producer(i); else consumers[i] = Consumer();
                    }
                    else
                    {
                        // the replacement starts only once the victim is dead: two producers on one lane would race
                        dying.Add(victim);
                        if (producer) victim.Link(_ => { dying.Remove(victim); producers[i] = Producer(i); });
                        else victim.Link(_ => { dying.Remove(victim); consumers[i] = Consumer(); });
                        victim.Kill(block: false);
                    }
                }
            });

            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while ((next.Any(x => x < n) || receivedCount < confirmedCount) && DateTime.UtcNow < deadline) Fiber.Sleep(0.005);
            killer.Kill();
            // a victim killed without blocking may still be starting its replacement: let links run
            Fiber.Sleep(0.01);
            while (next.Any(x => x < n) && DateTime.UtcNow < deadline) Fiber.Sleep(0.005);
            while (receivedCount < confirmedCount && DateTime.UtcNow < deadline) Fiber.Sleep(0.005);
            stopConsumers = true;
            Fiber.KillAll(consumers.Concat(producers).ToList());
            return DateTime.UtcNow < deadline;
        });
        Volatile.Write(ref stopGc, true);
        gcThread.Join();

        long expectedSum = n * (n - 1) / 2, expectedHash = 0;
        for (long id = 0; id < n; id++) expectedHash ^= Mix(id);
        long missing = 0;
        for (long id = 0; id < n; id++) if (received[id] == 0) missing++;
        bool pass = finished && duplicates == 0 && missing == 0 && receivedCount == n && confirmedCount == n &&
                    receivedSum == expectedSum && confirmedSum == expectedSum && receivedHash == expectedHash && confirmedHash == expectedHash;
        return SoakScenarios.Verdict(pass, $"SOAK queue items={n} seed={seed} confirmed={confirmedCount} received={receivedCount} duplicates={duplicates} missing={missing} " +
                          $"sum_ok={receivedSum == expectedSum} hash_ok={receivedHash == expectedHash} put_timeouts={putTimeouts} get_timeouts={getTimeouts} " +
                          $"kills={kills} blocking_kills={blockingKills} external_gcs={Interlocked.Read(ref gcs)} finished={finished}");
    }
}
