using System.Runtime.CompilerServices;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

// gevent's module-level functions: sleep, joinall, wait, iwait, with_timeout (killall is in Fiber.cs).
public partial class Fiber
{
    /// <summary>Suspends the calling fiber for <paramref name="delay"/> (gevent's <c>sleep</c>); <see cref="TimeSpan.Zero"/>
    /// is <see cref="Yield"/>. On a thread that is not a hub it sleeps the thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sleep(TimeSpan delay)
    {
        Hub.ValidateTimeout(delay, nameof(delay));
        if (Hub.Current is { } hub) hub.SleepFor(delay, "Fiber.Sleep");
        else Thread.Sleep(delay);
    }

    /// <summary>Suspends the calling fiber for <paramref name="seconds"/> seconds (gevent's <c>sleep(seconds)</c>).</summary>
    public static void Sleep(double seconds) => Sleep(TimeSpan.FromSeconds(seconds));

    /// <summary>Lets every other ready fiber run, then continues (gevent's <c>sleep(0)</c>: to the back of the ready queue).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Yield()
    {
        if (Hub.Current is { } hub) hub.SleepFor(TimeSpan.Zero, "Fiber.Yield");
        else Thread.Yield();
    }

    /// <summary>Waits for every fiber to finish, or for <paramref name="timeout"/>; returns those that finished
    /// (gevent's <c>joinall</c>).</summary>
    public static IReadOnlyList<Fiber> JoinAll(IEnumerable<Fiber> fibers, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(fibers);
        Hub.ValidateTimeout(timeout);
        Fiber[] all = fibers.ToArray();
        long deadline = Hub.DeadlineAfter(timeout);
        foreach (Fiber f in all)
        {
            if (f.IsReady) continue;
            if (!f.Join(Hub.TimeLeft(deadline))) break;
        }
        return all.Where(f => f.IsReady).ToList();
    }

    /// <summary>Waits until <paramref name="count"/> (default: all) of the fibers have finished or
    /// <paramref name="timeout"/> passed, and returns the finished ones in completion order (gevent's <c>wait</c>).</summary>
    public static IReadOnlyList<Fiber> Wait(IEnumerable<Fiber> fibers, TimeSpan? timeout = null, int? count = null)
    {
        ArgumentNullException.ThrowIfNull(fibers);
        if (count is < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be non-negative.");
        Fiber[] all = fibers.ToArray();
        int want = Math.Min(count ?? all.Length, all.Length);
        var done = new List<Fiber>(want);
        if (want == 0) return done;
        foreach (Fiber f in IWait(all, timeout))
        {
            done.Add(f);
            if (done.Count >= want) break;
        }
        return done;
    }

    /// <summary>Yields the fibers as they finish, in completion order, until all have or <paramref name="timeout"/>
    /// passed (gevent's <c>iwait</c>).</summary>
    public static IEnumerable<Fiber> IWait(IEnumerable<Fiber> fibers, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(fibers);
        Hub.ValidateTimeout(timeout);
        return IWaitIterator(fibers.ToArray(), timeout);
    }

    private static IEnumerable<Fiber> IWaitIterator(Fiber[] all, TimeSpan? timeout)
    {
        if (all.Length == 0) yield break;
        Hub hub = all[0].Hub;
        if (!hub.IsCallerOnHub)
        {
            // another thread: completion order through a thread-safe queue fed by links
            var finished = new System.Collections.Concurrent.BlockingCollection<Fiber>();
            foreach (Fiber f in all) f.Link(finished.Add);
            using var cts = timeout is { } t && t != System.Threading.Timeout.InfiniteTimeSpan ? new CancellationTokenSource(t) : new CancellationTokenSource();
            for (int i = 0; i < all.Length; i++)
            {
                Fiber? next = null;
                try
                {
                    next = finished.Take(cts.Token);
                }
                catch (OperationCanceledException)
                {
                }
                if (next is null) yield break;
                yield return next;
            }
            yield break;
        }
        var order = new FiberQueueOfFinished(hub);
        foreach (Fiber f in all) f.Link(order.Add);
        long deadline = Hub.DeadlineAfter(timeout);
        for (int i = 0; i < all.Length; i++)
        {
            Fiber? next = order.Take(deadline);
            if (next is null) yield break;
            yield return next;
        }
    }

    /// <summary>Completion order for <see cref="IWait"/> on a hub.</summary>
    private sealed class FiberQueueOfFinished(Hub hub)
    {
        private readonly Queue<Fiber> _finished = new();
        private readonly WaitQueue _waiters = new();

        public void Add(Fiber f)
        {
            _finished.Enqueue(f);
            _waiters.WakeOne(hub);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public Fiber? Take(long deadline)
        {
            while (_finished.Count == 0)
            {
                TimeSpan? left = Hub.TimeLeft(deadline);
                if (left == TimeSpan.Zero) return null;
                if (ReferenceEquals(hub.WaitOn(_waiters, left, "Fiber.IWait"), WakeTimer.TimedOut) && _finished.Count == 0) return null;
            }
            return _finished.Dequeue();
        }
    }

    /// <summary>Runs <paramref name="func"/> in the calling fiber with a time limit (gevent's <c>with_timeout</c>):
    /// if it has not returned after <paramref name="timeout"/>, a <see cref="FiberTimeoutException"/> is raised at
    /// its current blocking point.</summary>
    public static T WithTimeout<T>(TimeSpan timeout, Func<T> func)
    {
        ArgumentNullException.ThrowIfNull(func);
        using FiberTimeout t = FiberTimeout.Start(timeout);
        try
        {
            return func();
        }
        catch (FiberTimeoutException e) when (e.Timeout == t)
        {
            throw new FiberTimeoutException($"The operation did not finish within {timeout}.", t);
        }
    }

    /// <summary>Runs <paramref name="action"/> in the calling fiber with a time limit (see <see cref="WithTimeout{T}"/>).</summary>
    public static void WithTimeout(TimeSpan timeout, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        WithTimeout<object?>(timeout, () => { action(); return null; });
    }
}
