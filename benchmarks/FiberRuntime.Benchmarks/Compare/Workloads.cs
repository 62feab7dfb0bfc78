using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;

namespace FiberRuntime.Benchmarks.Compare;

// The compare runner's micro workloads: each performs n operations and returns the seconds they took, measured
// around the operations only. Every workload checks its result (counts, checksums) and throws when it is wrong.
// The same operations are in the BenchmarkDotNet suite (SwitchBenchmarks, SchedulerBenchmarks,
// QueuePrimitiveBenchmarks), which `--full` runs.

/// <summary>Fiber side: runs on one long-lived hub (see <see cref="BenchmarkHub"/>); the timing is taken on the hub.</summary>
internal sealed class FiberWorkloads(BenchmarkHub hub)
{
    private static readonly object s_stop = new();
    private static readonly Action s_empty = static () => { };

    private double OnHub(Func<double> work)
    {
        double seconds = 0;
        hub.Invoke(() => seconds = work());
        return seconds;
    }

    /// <summary>Two greenlets <see cref="Greenlet.Switch"/>ing to each other; n switches (one-way hand-offs).</summary>
    public double SwitchPingPong(long n) => OnHub(() =>
    {
        long rounds = Math.Max(1, n / 2);
        var ping = new Greenlet(_ =>
        {
            Greenlet me = Greenlet.Current!;
            var pong = new Greenlet(() =>          // its parent is ping: when it returns, ping resumes
            {
                while (me.Switch(null) is null) { }
            });
            long start = Stopwatch.GetTimestamp();
            for (long i = 0; i < rounds; i++) pong.Switch(null);
            double seconds = TimingRunner.Since(start);
            pong.Switch(s_stop);
            if (!pong.IsDead) throw new InvalidOperationException("pong did not finish");
            return seconds;
        });
        return Checks.PerHandOff((double)ping.Switch(null)!, n, rounds);
    });

    /// <summary>See <see cref="DeepStackWorkloads"/>: n round trips of a greenlet suspended 10 plain calls deep.</summary>
    public double DeepStack(long n) => OnHub(() => DeepStackWorkloads.Fiber(n));

    /// <summary>Two fibers handing a permit back and forth through two <see cref="FiberSemaphore"/>s; n hand-offs.</summary>
    public double SemaphorePingPong(long n) => OnHub(() =>
    {
        long rounds = Math.Max(1, n / 2);
        var ping = new FiberSemaphore(0);
        var pong = new FiberSemaphore(0);
        long count = 0;
        long start = Stopwatch.GetTimestamp();
        Fiber a = Fiber.Spawn(() =>
        {
            for (long i = 0; i < rounds; i++)
            {
                pong.Release();
                ping.Acquire();
            }
        });
        Fiber b = Fiber.Spawn(() =>
        {
            for (long i = 0; i < rounds; i++)
            {
                pong.Acquire();
                count++;
                ping.Release();
            }
        });
        a.Get();
        b.Get();
        double seconds = TimingRunner.Since(start);
        if (count != rounds) throw new InvalidOperationException($"semaphore ping-pong: {count} of {rounds}");
        return Checks.PerHandOff(seconds, n, rounds);
    });

    /// <summary><see cref="Fiber.Yield"/> n times from one fiber: each is a round trip through the hub loop.</summary>
    public double Yield(long n) => OnHub(() =>
    {
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < n; i++) Fiber.Yield();
        return TimingRunner.Since(start);
    });

    /// <summary><c>Fiber.Spawn(empty).Join()</c>, n times.</summary>
    public double SpawnJoin(long n) => OnHub(() =>
    {
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < n; i++)
        {
            Fiber f = Fiber.Spawn(s_empty);
            f.Join();
            if (!f.IsSuccessful) throw new InvalidOperationException("spawned fiber failed");
        }
        return TimingRunner.Since(start);
    });

    /// <summary>A producer fiber puts n ints into a <c>FiberQueue&lt;int&gt;(64)</c>, a consumer fiber sums them.</summary>
    public double Queue(long n) => OnHub(() =>
    {
        var queue = new FiberQueue<int>(maxSize: 64);
        long start = Stopwatch.GetTimestamp();
        Fiber producer = Fiber.Spawn(() =>
        {
            for (long i = 0; i < n; i++) queue.Put((int)i);
        });
        Fiber<long> consumer = Fiber.Spawn(() =>
        {
            long sum = 0;
            for (long i = 0; i < n; i++) sum += queue.Get();
            return sum;
        });
        producer.Get();
        long total = consumer.Get();
        double seconds = TimingRunner.Since(start);
        Checks.Sum(total, n);
        return seconds;
    });
}

/// <summary>Task side: async methods on the thread pool.</summary>
internal static class TaskWorkloads
{
    private static readonly Action s_empty = static () => { };

    /// <summary>Two async methods handing off through reusable <see cref="InlineSignal"/>s (an IValueTaskSource whose
    /// continuation runs inline on the setter): the most direct Task hand-off, no allocation, no pool hop.</summary>
    public static double SwitchPingPong(long n)
    {
        long rounds = Math.Max(1, n / 2);
        var ping = new InlineSignal();
        var pong = new InlineSignal();
        long count = 0;
        long start = Stopwatch.GetTimestamp();
        Task a = Task.Run(async () =>
        {
            for (long i = 0; i < rounds; i++)
            {
                pong.Set();
                await ping.WaitAsync().ConfigureAwait(false);
            }
        });
        Task b = Task.Run(async () =>
        {
            for (long i = 0; i < rounds; i++)
            {
                await pong.WaitAsync().ConfigureAwait(false);
                count++;
                ping.Set();
            }
        });
        Task.WaitAll(a, b);
        double seconds = TimingRunner.Since(start);
        if (count != rounds) throw new InvalidOperationException($"task ping-pong: {count} of {rounds}");
        return Checks.PerHandOff(seconds, n, rounds);
    }

    /// <summary>Two async methods handing a permit back and forth through <see cref="SemaphoreSlim.WaitAsync()"/>.</summary>
    public static double SemaphorePingPong(long n)
    {
        long rounds = Math.Max(1, n / 2);
        using var ping = new SemaphoreSlim(0);
        using var pong = new SemaphoreSlim(0);
        long count = 0;
        long start = Stopwatch.GetTimestamp();
        Task a = Task.Run(async () =>
        {
            for (long i = 0; i < rounds; i++)
            {
                pong.Release();
                await ping.WaitAsync().ConfigureAwait(false);
            }
        });
        Task b = Task.Run(async () =>
        {
            for (long i = 0; i < rounds; i++)
            {
                await pong.WaitAsync().ConfigureAwait(false);
                count++;
                ping.Release();
            }
        });
        Task.WaitAll(a, b);
        double seconds = TimingRunner.Since(start);
        if (count != rounds) throw new InvalidOperationException($"SemaphoreSlim ping-pong: {count} of {rounds}");
        return Checks.PerHandOff(seconds, n, rounds);
    }

    /// <summary><c>await Task.Yield()</c> n times in one async method: each queues the continuation to the thread
    /// pool and resumes there.</summary>
    public static double Yield(long n) => Task.Run(async () =>
    {
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < n; i++) await Task.Yield();
        return TimingRunner.Since(start);
    }).Result;

    /// <summary><c>await Task.Run(empty)</c>, n times, from an async method on the pool.</summary>
    public static double SpawnJoin(long n) => Task.Run(async () =>
    {
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < n; i++) await Task.Run(s_empty).ConfigureAwait(false);
        return TimingRunner.Since(start);
    }).Result;

    /// <summary>An async writer puts n ints into <c>Channel.CreateBounded&lt;int&gt;(64)</c>, an async reader sums them.</summary>
    public static double Queue(long n)
    {
        Channel<int> channel = Channel.CreateBounded<int>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = true });
        long start = Stopwatch.GetTimestamp();
        Task writer = ChannelWriting.Start(channel, n);
        Task<long> reader = Task.Run(async () =>
        {
            long sum = 0;
            for (long i = 0; i < n; i++) sum += await channel.Reader.ReadAsync().ConfigureAwait(false);
            return sum;
        });
        writer.Wait();
        long total = reader.Result;
        double seconds = TimingRunner.Since(start);
        Checks.Sum(total, n);
        return seconds;
    }
}

/// <summary>OS-thread side: blocking primitives, dedicated threads.</summary>
internal static class ThreadWorkloads
{
    private static readonly Action s_empty = static () => { };

    /// <summary>The measuring thread and a partner thread handing off through two <see cref="AutoResetEvent"/>s
    /// (a kernel wake-up per hand-off once the waiter sleeps).</summary>
    public static double SwitchPingPong(long n)
    {
        using var ping = new AutoResetEvent(false);
        using var pong = new AutoResetEvent(false);
        return HandOff(n, "thread ping-pong", () => ping.Set(), () => ping.WaitOne(), () => pong.Set(), () => pong.WaitOne());
    }

    /// <summary>The measuring thread and a partner thread handing off through two <see cref="SemaphoreSlim"/>s
    /// (spins briefly, then a kernel wait).</summary>
    public static double SemaphorePingPong(long n)
    {
        using var ping = new SemaphoreSlim(0);
        using var pong = new SemaphoreSlim(0);
        return HandOff(n, "thread semaphore ping-pong", () => ping.Release(), ping.Wait, () => pong.Release(), pong.Wait);
    }

    /// <summary>n hand-offs between the measuring thread and a partner thread: ping, then wait for pong. (The
    /// delegate calls cost ~1 ns against microseconds per thread hand-off.)</summary>
    private static double HandOff(long n, string name, Action ping, Action waitPing, Action pong, Action waitPong)
    {
        long rounds = Math.Max(1, n / 2);
        long count = 0;
        var partner = new Thread(() =>
        {
            for (long i = 0; i < rounds; i++)
            {
                waitPing();
                count++;
                pong();
            }
        })
        { IsBackground = true, Name = "ping-pong partner" };
        partner.Start();
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < rounds; i++)
        {
            ping();
            waitPong();
        }
        double seconds = TimingRunner.Since(start);
        partner.Join();
        if (count != rounds) throw new InvalidOperationException($"{name}: {count} of {rounds}");
        return Checks.PerHandOff(seconds, n, rounds);
    }

    /// <summary><see cref="Thread.Yield"/> n times (sched_yield: gives the core away only if another thread wants it).</summary>
    public static double Yield(long n)
    {
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < n; i++) Thread.Yield();
        return TimingRunner.Since(start);
    }

    /// <summary><c>new Thread(empty).Start(); Join()</c>, n times.</summary>
    public static double SpawnJoin(long n)
    {
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < n; i++)
        {
            var t = new Thread(s_empty.Invoke);
            t.Start();
            t.Join();
        }
        return TimingRunner.Since(start);
    }

    /// <summary>The measuring thread adds n ints to a <c>BlockingCollection&lt;int&gt;(64)</c>, a consumer thread sums them.</summary>
    public static double Queue(long n)
    {
        using var queue = new BlockingCollection<int>(64);
        long total = 0;
        var consumer = new Thread(() =>
        {
            long sum = 0;
            for (long i = 0; i < n; i++) sum += queue.Take();
            total = sum;
        })
        { IsBackground = true, Name = "queue consumer" };
        long start = Stopwatch.GetTimestamp();
        consumer.Start();
        for (long i = 0; i < n; i++) queue.Add((int)i);
        consumer.Join();
        double seconds = TimingRunner.Since(start);
        Checks.Sum(total, n);
        return seconds;
    }
}

internal static class Checks
{
    /// <summary>A ping-pong of <paramref name="rounds"/> round trips made 2 x rounds hand-offs; scales its time to
    /// the n operations the runner asked for (they differ by one when n is odd).</summary>
    public static double PerHandOff(double seconds, long n, long rounds) => seconds * n / (2.0 * rounds);

    /// <summary>0 + 1 + ... + (n-1), with the ints the queues carry (n stays far below int.MaxValue).</summary>
    public static void Sum(long sum, long n)
    {
        long expected = n * (n - 1) / 2;
        if (sum != expected) throw new InvalidOperationException($"queue checksum {sum}, expected {expected}");
    }
}
