using System.Diagnostics;
using System.Runtime.CompilerServices;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// A counting semaphore for fibers (gevent's <c>gevent.lock.Semaphore</c>): <see cref="Acquire"/> takes a permit,
/// suspending the calling fiber while none is free; <see cref="Release"/> returns one.
/// </summary>
/// <remarks>
/// <para>Fair: a released permit is handed straight to the fiber that has waited longest, so a later
/// <see cref="Acquire"/> cannot overtake it. A waiter that times out or is killed before being handed a permit takes
/// none; one that was handed a permit when a kill arrives returns from <see cref="Acquire"/> with it first (the kill
/// is raised at its next blocking point), so no permit is lost. Releasing is not tied to a fiber: any fiber may
/// release. Waiting allocates nothing.</para>
/// <para>Bound to the hub of the first fiber that uses it; every member except the properties must be called by
/// fibers of that hub (<see cref="InvalidOperationException"/> otherwise).</para>
/// </remarks>
[DebuggerDisplay("{GetType().Name,nq}: CurrentCount = {CurrentCount}, Waiters = {WaiterCount}")]
public class FiberSemaphore
{
    private readonly WaitQueue _acquirers = new();
    private readonly Linkable _link = new();         // the hub binding, and the fibers in Wait (they take no permit)
    private readonly bool _bounded;
    private int _count;

    /// <summary>Creates a semaphore with <paramref name="initialCount"/> free permits (gevent's <c>Semaphore(value=1)</c>).</summary>
    /// <param name="initialCount">The permits free at the start.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialCount"/> is negative.</exception>
    public FiberSemaphore(int initialCount = 1) : this(initialCount, bounded: false)
    {
    }

    private protected FiberSemaphore(int initialCount, bool bounded)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialCount);
        _count = initialCount;
        InitialCount = initialCount;
        _bounded = bounded;
    }

    /// <summary>The permits the semaphore was created with.</summary>
    public int InitialCount { get; }

    /// <summary>The permits free now (gevent's <c>counter</c>).</summary>
    public int CurrentCount => _count;

    /// <summary>True when no permit is free, so <see cref="Acquire"/> would block (gevent's <c>locked()</c>).</summary>
    public bool IsLocked => _count == 0;

    private int WaiterCount => _acquirers.Count;

    /// <summary>Takes a permit, suspending the calling fiber until one is free or <paramref name="timeout"/> passes
    /// (gevent's <c>acquire(timeout=...)</c>).</summary>
    /// <param name="timeout">How long to wait; null or <see cref="Timeout.InfiniteTimeSpan"/>: no limit;
    /// <see cref="TimeSpan.Zero"/>: do not block (gevent's <c>acquire(blocking=False)</c>).</param>
    /// <returns>True if a permit was taken; false on timeout.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the semaphore's hub.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Acquire(TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        Hub hub = _link.Bind("FiberSemaphore.Acquire");
        if (_count > 0)
        {
            _count--;
            return true;
        }
        if (SyncHub.IsZero(timeout)) return false;
        object? r = hub.WaitOn(_acquirers, timeout, "FiberSemaphore.Acquire");
        return !ReferenceEquals(r, WakeTimer.TimedOut);      // otherwise a releaser handed us its permit
    }

    /// <summary>Takes a permit if one is free now; never blocks.</summary>
    /// <returns>True if a permit was taken.</returns>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the semaphore's hub.</exception>
    public bool TryAcquire() => Acquire(TimeSpan.Zero);

    /// <summary>Returns a permit (gevent's <c>release()</c>): it goes to the fiber that has waited longest, if any.</summary>
    /// <returns>The permits free afterwards.</returns>
    /// <exception cref="InvalidOperationException">A <see cref="FiberBoundedSemaphore"/> would exceed its initial
    /// count; or the caller is not a fiber of the semaphore's hub.</exception>
    public int Release()
    {
        Hub hub = _link.Bind("FiberSemaphore.Release");
        if (_bounded && _count >= InitialCount)
            throw new InvalidOperationException($"FiberBoundedSemaphore.Release: released too many times (it already has its initial {InitialCount} permits free).");
        if (_acquirers.WakeOne(hub, SyncHub.Granted)) return _count;
        if (_count == int.MaxValue) throw new InvalidOperationException("FiberSemaphore.Release: the count would overflow.");
        _count++;
        _link.NotifyAll(hub);
        return _count;
    }

    /// <summary>Waits, without taking a permit, until one is free or <paramref name="timeout"/> passes
    /// (gevent's <c>wait(timeout)</c>). Unlike <see cref="System.Threading.SemaphoreSlim.Wait()"/> it does not acquire.
    /// A caller that finds a permit free while fibers woken by the last <see cref="Release"/> have not run yet runs
    /// after them, never before (gevent's order).</summary>
    /// <param name="timeout">How long to wait; null or <see cref="Timeout.InfiniteTimeSpan"/>: no limit.</param>
    /// <returns>The permits free when it returns; 0 on timeout.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the semaphore's hub.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Wait(TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        Hub hub = _link.Bind("FiberSemaphore.Wait");
        if (_count > 0) _link.WaitBehindNotified(timeout, "FiberSemaphore.Wait");
        long deadline = Hub.DeadlineAfter(timeout);
        while (_count == 0)
        {
            TimeSpan? left = Hub.TimeLeft(deadline);
            if (left == TimeSpan.Zero) return 0;
            _link.WaitOn(hub, left, "FiberSemaphore.Wait");
        }
        return _count;
    }
}
