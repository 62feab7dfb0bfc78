namespace FiberRuntime;

/// <summary>A unit of work handed to the <see cref="OffloadPool"/>.</summary>
internal abstract class OffloadWork
{
    /// <summary>Runs on a pool thread; must not throw.</summary>
    internal abstract void Execute();
}

/// <summary>
/// The threads <see cref="Fiber.Offload{T}(Func{T})"/> runs blocking work on (gevent's hub threadpool): at most
/// <see cref="MaxThreads"/> dedicated background threads, started on demand, FIFO beyond that, each leaving after
/// <see cref="IdleTimeout"/> without work.
/// </summary>
/// <remarks>
/// Why not the .NET thread pool: offloaded work blocks by definition, and the thread pool grows slowly under
/// blocking (it injects about one thread per half second past its minimum). A burst of fibers offloading
/// synchronous I/O would starve it, and with it everything else in the process that runs on it: timers, Task
/// continuations, ASP.NET Core, and the completions that wake fibers in <see cref="Fiber.Await(Task)"/>. A bounded pool of
/// its own turns such a burst into a queue that only the offloading fibers wait in; the hubs and the thread pool are
/// unaffected.
/// </remarks>
internal static class OffloadPool
{
    private static readonly object s_lock = new();      // Monitor.Wait/Pulse: not a System.Threading.Lock
    private static readonly Queue<OffloadWork> s_queue = new();
    private static int s_threads;       // started and not yet exited
    private static int s_idle;          // waiting for work
    private static int s_maxThreads = Math.Max(16, 4 * Environment.ProcessorCount);

    internal static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);

    internal static int MaxThreads
    {
        get => Volatile.Read(ref s_maxThreads);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            lock (s_lock)
            {
                s_maxThreads = value;
                StartThreadsForQueue();      // a raised limit takes up queued work at once
            }
        }
    }

    /// <summary>Threads currently started (for tests and diagnostics).</summary>
    internal static int Threads
    {
        get
        {
            lock (s_lock) return s_threads;
        }
    }

    internal static void Queue(OffloadWork work)
    {
        lock (s_lock)
        {
            s_queue.Enqueue(work);
            if (s_idle > 0) Monitor.Pulse(s_lock);
            else StartThreadsForQueue();
        }
    }

    private static void StartThreadsForQueue()
    {
        for (int wanted = s_queue.Count - s_idle; wanted > 0 && s_threads < s_maxThreads; wanted--)
        {
            s_threads++;
            new Thread(Worker) { IsBackground = true, Name = "FiberRuntime offload" }.UnsafeStart();   // default stack: the work is arbitrary user code
        }
    }

    private static void Worker()
    {
        while (true)
        {
            OffloadWork work;
            lock (s_lock)
            {
                while (s_queue.Count == 0 || s_threads > s_maxThreads)
                {
                    if (s_threads > s_maxThreads)
                    {
                        s_threads--;       // the limit was lowered: leave once idle
                        return;
                    }
                    s_idle++;
                    bool pulsed = Monitor.Wait(s_lock, IdleTimeout);
                    s_idle--;
                    if (!pulsed && s_queue.Count == 0)
                    {
                        s_threads--;
                        return;
                    }
                }
                work = s_queue.Dequeue();
            }
            work.Execute();
        }
    }
}
