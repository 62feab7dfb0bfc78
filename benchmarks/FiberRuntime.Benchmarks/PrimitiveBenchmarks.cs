using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;

namespace FiberRuntime.Benchmarks;

// The gevent-style primitives (FiberEvent, FiberQueue<T>, FiberPool.Imap), each next to its Task-based and
// thread-based equivalent. Three classes (one baseline each: the fiber row; the pool one in PoolPrimitiveBenchmarks.cs), all matched by
// --filter '*PrimitiveBenchmarks*'. Every benchmark declares OperationsPerInvoke, so "Mean" reads as ns per
// operation (per woken waiter, per queued item, per mapped item) and "Allocated" as bytes per operation.
// Every invocation checks its result (counts / checksums) and throws if it is wrong.

/// <summary>
/// Event fan-out, per woken waiter: <see cref="Waiters"/> waiters block on one event, one Set wakes them all,
/// and the setter waits until every waiter has run after its wake-up.
/// </summary>
/// <remarks>
/// Two kinds of rows:
/// <list type="bullet">
/// <item>"spawn+wait+Set+join": each round creates its 1000 waiters (a fiber / an async method call), lets them all
/// block, sets the event, and joins them. Waiter creation and completion are part of the measured work.</item>
/// <item>"long-lived": the waiters exist across rounds and loop (wait on the round's event, report, wait on the
/// next round's event): only the wait / wake / report cost. The thread row is of this kind only (starting 50 OS
/// threads per round would measure thread creation): 50 threads on a ManualResetEventSlim, normalised per waiter.</item>
/// </list>
/// Observed (2026-11-26, 2-core VM): the spawning fiber row costs ~20 µs per waiter, ~100x the long-lived row. With
/// 1000 fibers suspended at once, all but 64 dead fibers' stacks leave the arena's warm list and are
/// madvise(MADV_DONTNEED)'d (native/src/arena.c, FR_WARM_SLOTS = 64), so the next round refaults them; with 50
/// waiters per round the same row costs ~1 µs per waiter.
/// </remarks>
[MemoryDiagnoser]
public class EventPrimitiveBenchmarks
{
    private const int Waiters = 1000;
    private const int FiberRounds = 20;               // 20 000 waiter wake-ups per invocation
    private const int TaskRounds = 20;
    private const int ThreadWaiters = 50;
    private const int ThreadRounds = 200;             // 10 000 waiter wake-ups per invocation

    private BenchmarkHub? _hub;

    // ---- fibers: spawn + wait + Set + join ------------------------------------------------------------------

    private sealed class FanOutRound
    {
        public readonly FiberEvent Event = new();
        public int Arrived, Woken;
        public void Waiter()
        {
            Arrived++;
            Event.Wait();
            Woken++;
        }
    }

    private static readonly Action s_fiberFanOut = static () =>
    {
        var fibers = new Fiber[Waiters];
        for (int round = 0; round < FiberRounds; round++)
        {
            var r = new FanOutRound();
            Action body = r.Waiter;                  // one delegate per round, not per waiter
            for (int i = 0; i < Waiters; i++) fibers[i] = Fiber.Spawn(body);
            Fiber.Yield();                           // every waiter runs and parks on the event
            if (r.Arrived != Waiters || r.Woken != 0 || r.Event.IsSet) throw new InvalidOperationException($"fan-out: {r.Arrived} arrived, {r.Woken} woken before Set");
            r.Event.Set();
            for (int i = 0; i < Waiters; i++) fibers[i].Join();
            if (r.Woken != Waiters) throw new InvalidOperationException($"fan-out: {r.Woken} of {Waiters} woken");
        }
    };

    // ---- fibers: long-lived waiters -------------------------------------------------------------------------

    private readonly FiberEvent[] _go = [new FiberEvent(), new FiberEvent()];   // ring of two rounds
    private readonly FiberEvent _allDone = new();
    private int _doneCount;
    private int _fiberRound;

    private void LongLivedWaiter()
    {
        int round = 0;
        while (true)
        {
            _go[round & 1].Wait();
            if (++_doneCount == Waiters) _allDone.Set();
            round++;
        }
    }

    private void StartLongLivedFibers()
    {
        Action body = LongLivedWaiter;
        for (int i = 0; i < Waiters; i++) Fiber.Spawn(body);
        Fiber.Yield();                               // all park on _go[0]
    }

    private void FiberLongLivedRounds()
    {
        for (int i = 0; i < FiberRounds; i++)
        {
            FiberEvent go = _go[_fiberRound & 1];
            _doneCount = 0;
            go.Set();
            _allDone.Wait();
            if (_doneCount != Waiters) throw new InvalidOperationException($"long-lived fan-out: {_doneCount} of {Waiters} woken");
            _allDone.Clear();
            go.Clear();                              // every waiter is past it; it is next used two rounds on
            _fiberRound++;
        }
    }

    [GlobalSetup(Targets = [nameof(FiberFanOut), nameof(FiberFanOutLongLived)])]
    public void StartHub()
    {
        _hub = new BenchmarkHub();
        _hub.Invoke(StartLongLivedFibers);
    }

    [GlobalCleanup(Targets = [nameof(FiberFanOut), nameof(FiberFanOutLongLived)])]
    public void StopHub() => _hub?.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = FiberRounds * Waiters, Description = "Fiber: 1000 x (spawn, FiberEvent.Wait), Set, Join")]
    public void FiberFanOut() => _hub!.Invoke(s_fiberFanOut);

    [Benchmark(OperationsPerInvoke = FiberRounds * Waiters, Description = "Fiber: 1000 long-lived waiters, FiberEvent.Set")]
    public void FiberFanOutLongLived() => _hub!.Invoke(FiberLongLivedRounds);

    // ---- tasks: 1000 async methods awaiting a TaskCompletionSource ---------------------------------------

    private sealed class TaskRound
    {
        public int Arrived, Woken;
    }

    private static async Task TaskWaiter(Task signal, TaskRound r)
    {
        r.Arrived++;                                 // runs synchronously on the caller, before the await
        await signal.ConfigureAwait(false);
        Interlocked.Increment(ref r.Woken);
    }

    [Benchmark(OperationsPerInvoke = TaskRounds * Waiters, Description = "Task: 1000 x (async await TCS), SetResult, WaitAll")]
    public void TaskFanOut()
    {
        var tasks = new Task[Waiters];
        for (int round = 0; round < TaskRounds; round++)
        {
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var r = new TaskRound();
            for (int i = 0; i < Waiters; i++) tasks[i] = TaskWaiter(tcs.Task, r);
            if (r.Arrived != Waiters || r.Woken != 0) throw new InvalidOperationException("task fan-out: waiters not all waiting");
            tcs.SetResult();
            Task.WaitAll(tasks);
            if (Volatile.Read(ref r.Woken) != Waiters) throw new InvalidOperationException($"task fan-out: {r.Woken} of {Waiters} woken");
        }
    }

    // ---- threads: 50 long-lived threads on a ManualResetEventSlim ----------------------------------------

    private sealed class ThreadRound
    {
        public readonly ManualResetEventSlim Go = new(false);
        public readonly CountdownEvent Ready = new(ThreadWaiters);
        public readonly CountdownEvent Done = new(ThreadWaiters);
    }

    private readonly ThreadRound[] _threadRounds = [new ThreadRound(), new ThreadRound()];   // ring of two
    private Thread[]? _threads;
    private volatile bool _threadStop;
    private int _threadRound;

    [GlobalSetup(Target = nameof(ThreadFanOut))]
    public void StartThreads()
    {
        _threads = new Thread[ThreadWaiters];
        for (int t = 0; t < ThreadWaiters; t++)
        {
            _threads[t] = new Thread(() =>
            {
                int round = 0;
                while (true)
                {
                    ThreadRound r = _threadRounds[round & 1];
                    r.Ready.Signal();
                    r.Go.Wait();
                    if (_threadStop) return;
                    r.Done.Signal();
                    round++;
                }
            })
            { IsBackground = true, Name = "fan-out waiter" };
            _threads[t].Start();
        }
    }

    [GlobalCleanup(Target = nameof(ThreadFanOut))]
    public void StopThreads()
    {
        _threadStop = true;
        _threadRounds[_threadRound & 1].Go.Set();
        foreach (Thread t in _threads!) t.Join();
    }

    [Benchmark(OperationsPerInvoke = ThreadRounds * ThreadWaiters, Description = "Threads: 50 long-lived on ManualResetEventSlim, Set (per waiter)")]
    public void ThreadFanOut()
    {
        for (int i = 0; i < ThreadRounds; i++)
        {
            ThreadRound r = _threadRounds[_threadRound & 1];
            r.Ready.Wait();                          // all 50 are in (or entering) Go.Wait
            r.Go.Set();
            r.Done.Wait();                           // all 50 woke up and reported
            if (r.Done.CurrentCount != 0) throw new InvalidOperationException("thread fan-out: not all woken");
            r.Go.Reset();                            // every thread is past this round; reused two rounds on
            r.Ready.Reset();
            r.Done.Reset();
            _threadRound++;
        }
    }
}

/// <summary>
/// Bounded producer/consumer, per item: one producer puts <c>N</c> ints into a queue of capacity 64, one consumer
/// takes them and sums them (checked against N(N-1)/2).
/// </summary>
[MemoryDiagnoser]
public class QueuePrimitiveBenchmarks
{
    private const int Capacity = 64;
    private const int Items = 100_000;
    private const int ThreadItems = 50_000;
    private const long Expected = (long)Items * (Items - 1) / 2;
    private const long ThreadExpected = (long)ThreadItems * (ThreadItems - 1) / 2;

    private BenchmarkHub? _hub;

    [GlobalSetup(Target = nameof(FiberQueueHandOff))]
    public void StartHub() => _hub = new BenchmarkHub();

    [GlobalCleanup(Target = nameof(FiberQueueHandOff))]
    public void StopHub() => _hub?.Dispose();

    private static void Check(long sum, long expected)
    {
        if (sum != expected) throw new InvalidOperationException($"queue checksum {sum}, expected {expected}");
    }

    private static readonly Action s_fiberQueue = static () =>
    {
        var queue = new FiberQueue<int>(maxSize: Capacity);
        Fiber producer = Fiber.Spawn(() =>
        {
            for (int i = 0; i < Items; i++) queue.Put(i);
        });
        Fiber<long> consumer = Fiber.Spawn(() =>
        {
            long sum = 0;
            for (int i = 0; i < Items; i++) sum += queue.Get();
            return sum;
        });
        producer.Join();
        Check(consumer.Get(), Expected);
    };

    [Benchmark(Baseline = true, OperationsPerInvoke = Items, Description = "Fiber: FiberQueue<int>(64) Put / Get")]
    public void FiberQueueHandOff() => _hub!.Invoke(s_fiberQueue);

    private static Channel<int> NewChannel() => Channel.CreateBounded<int>(new BoundedChannelOptions(Capacity)
    {
        SingleReader = true,
        SingleWriter = true,
    });

    [Benchmark(OperationsPerInvoke = Items, Description = "Task: Channel.CreateBounded(64) WriteAsync / ReadAsync")]
    public void ChannelReadAsync()
    {
        Channel<int> channel = NewChannel();
        Task writer = ChannelWriting.Start(channel, Items);
        Task<long> reader = Task.Run(async () =>
        {
            long sum = 0;
            for (int i = 0; i < Items; i++) sum += await channel.Reader.ReadAsync().ConfigureAwait(false);
            return sum;
        });
        writer.Wait();
        Check(reader.Result, Expected);
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "Task: Channel.CreateBounded(64) WriteAsync / WaitToReadAsync+TryRead")]
    public void ChannelWaitToRead()
    {
        Channel<int> channel = NewChannel();
        Task writer = ChannelWriting.Start(channel, Items);
        Task<long> reader = Task.Run(async () =>
        {
            long sum = 0;
            ChannelReader<int> r = channel.Reader;
            while (await r.WaitToReadAsync().ConfigureAwait(false))
                while (r.TryRead(out int x)) sum += x;
            return sum;
        });
        writer.Wait();
        Check(reader.Result, Expected);
    }

    [Benchmark(OperationsPerInvoke = ThreadItems, Description = "Threads: BlockingCollection<int>(64) Add / Take")]
    public void BlockingCollectionHandOff()
    {
        using var queue = new BlockingCollection<int>(Capacity);
        long sum = 0;
        var consumer = new Thread(() =>
        {
            long s = 0;
            for (int i = 0; i < ThreadItems; i++) s += queue.Take();
            sum = s;
        })
        { IsBackground = true, Name = "consumer" };
        consumer.Start();
        for (int i = 0; i < ThreadItems; i++) queue.Add(i);   // the benchmark thread is the producer
        consumer.Join();
        Check(sum, ThreadExpected);
    }
}
