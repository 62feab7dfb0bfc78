using System.Diagnostics;
using System.Runtime.CompilerServices;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// A FIFO queue that also counts unfinished tasks (gevent's <c>gevent.queue.JoinableQueue</c>): every item put
/// raises <see cref="UnfinishedTasks"/>, every <see cref="TaskDone"/> lowers it, and <see cref="Join"/> waits until it
/// is zero. Blocking, bounds, fairness and threading are those of <see cref="FiberQueue{T}"/>.
/// </summary>
/// <typeparam name="T">The type of the items.</typeparam>
[DebuggerDisplay("FiberJoinableQueue: Count = {Count}, Unfinished = {UnfinishedTasks}, MaxSize = {MaxSize}")]
public sealed class FiberJoinableQueue<T> : FiberQueue<T>
{
    private readonly WaitQueue _joiners = new();

    /// <summary>Creates a joinable queue holding at most <paramref name="maxSize"/> items; 0 (the default) means unbounded.</summary>
    /// <param name="maxSize">The capacity, or 0 for no limit.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSize"/> is negative.</exception>
    public FiberJoinableQueue(int maxSize = 0) : base(maxSize, "FiberJoinableQueue", new Queue<T>())
    {
    }

    /// <summary>Items put and not yet marked done with <see cref="TaskDone"/> (gevent's <c>unfinished_tasks</c>).</summary>
    public int UnfinishedTasks { get; private set; }

    private protected override void OnStored() => UnfinishedTasks++;

    /// <summary>Marks one item taken from the queue as processed (gevent's <c>task_done()</c>); when none is left
    /// unfinished, every <see cref="Join"/> returns.</summary>
    /// <exception cref="InvalidOperationException">Called more times than items were put (gevent raises
    /// <c>ValueError</c>); or the caller is not a fiber of the queue's hub.</exception>
    public void TaskDone()
    {
        Hub hub = BindHub("FiberJoinableQueue.TaskDone");
        if (UnfinishedTasks <= 0) throw new InvalidOperationException("FiberJoinableQueue.TaskDone called more times than items were put.");
        if (--UnfinishedTasks == 0) _joiners.WakeAll(hub);
    }

    /// <summary>Suspends the calling fiber until every item put has been marked done with <see cref="TaskDone"/>, or
    /// <paramref name="timeout"/> passes (gevent's <c>join(timeout)</c>).</summary>
    /// <param name="timeout">How long to wait; null or <see cref="Timeout.InfiniteTimeSpan"/>: no limit.</param>
    /// <returns>True when no task was unfinished; false on timeout.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the queue's hub.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Join(TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        Hub hub = BindHub("FiberJoinableQueue.Join");
        if (UnfinishedTasks == 0) return true;
        if (SyncHub.IsZero(timeout)) return false;
        object? r = hub.WaitOn(_joiners, timeout, "FiberJoinableQueue.Join");
        return !ReferenceEquals(r, WakeTimer.TimedOut) || UnfinishedTasks == 0;
    }
}
