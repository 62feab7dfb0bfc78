using System.Diagnostics;
using System.Runtime.CompilerServices;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// A re-entrant lock owned by a fiber (gevent's <c>gevent.lock.RLock</c>): the owner may acquire it again, and
/// must release it as many times; other fibers that <see cref="Acquire"/> it are suspended until it is free.
/// </summary>
/// <remarks>
/// <para>The owner is the calling greenlet (<see cref="Greenlet.Current"/>). Fair: on the last release the lock is
/// handed straight to the fiber that has waited longest, so a later <see cref="Acquire"/> cannot overtake it; a
/// waiter that times out or is killed before being handed the lock takes nothing. A fiber that ends while holding
/// the lock does not release it (as in gevent). Waiting allocates nothing.</para>
/// <para>Scoped use: <c>using (myLock.Lock()) { ... }</c>. Bound to the hub of the first fiber that uses it; every
/// member except the properties must be called by fibers of that hub (<see cref="InvalidOperationException"/> otherwise).</para>
/// </remarks>
[DebuggerDisplay("FiberLock: Owner = {_owner}, RecursionCount = {_depth}, Waiters = {WaiterCount}")]
public sealed class FiberLock
{
    private readonly WaitQueue _waiters = new();
    private Hub? _hub;
    private Greenlet? _owner;
    private int _depth;

    /// <summary>True while some fiber holds the lock (gevent's <c>locked()</c>).</summary>
    public bool IsLocked => _owner is not null;

    /// <summary>True when the calling fiber holds the lock (gevent's <c>_is_owned()</c>).</summary>
    public bool IsHeldByCurrentFiber => _owner is not null && ReferenceEquals(_owner, Greenlet.Current);

    /// <summary>How many times the owner has acquired the lock without releasing it; 0 when free.</summary>
    public int RecursionCount => _depth;

    private int WaiterCount => _waiters.Count;

    /// <summary>Acquires the lock, suspending the calling fiber until it is free or <paramref name="timeout"/> passes
    /// (gevent's <c>acquire(timeout=...)</c>). The owner acquiring again succeeds at once.</summary>
    /// <param name="timeout">How long to wait; null or <see cref="Timeout.InfiniteTimeSpan"/>: no limit;
    /// <see cref="TimeSpan.Zero"/>: do not block.</param>
    /// <returns>True if the calling fiber now holds the lock; false on timeout.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the lock's hub.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Acquire(TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        Hub hub = SyncHub.Bind(ref _hub, "FiberLock.Acquire");
        Greenlet me = hub.CurrentGreenlet;
        if (_owner is null)
        {
            _owner = me;
            _depth = 1;
            return true;
        }
        if (ReferenceEquals(_owner, me))
        {
            if (_depth == int.MaxValue) throw new InvalidOperationException("FiberLock.Acquire: recursion count overflow.");
            _depth++;
            return true;
        }
        if (SyncHub.IsZero(timeout)) return false;
        object? r = hub.WaitOn(_waiters, timeout, "FiberLock.Acquire");
        return !ReferenceEquals(r, WakeTimer.TimedOut);       // otherwise Release made us the owner
    }

    /// <summary>Acquires the lock if that is possible now; never blocks.</summary>
    /// <returns>True if the calling fiber now holds the lock.</returns>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the lock's hub.</exception>
    public bool TryAcquire() => Acquire(TimeSpan.Zero);

    /// <summary>Releases one acquisition (gevent's <c>release()</c>); the last one frees the lock and hands it to
    /// the fiber that has waited longest.</summary>
    /// <exception cref="SynchronizationLockException">The calling fiber does not hold the lock.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the lock's hub.</exception>
    public void Release()
    {
        Hub hub = SyncHub.Bind(ref _hub, "FiberLock.Release");
        if (!ReferenceEquals(_owner, hub.CurrentGreenlet))
            throw new SynchronizationLockException(_owner is null
                ? "FiberLock.Release: the lock is not held."
                : "FiberLock.Release: the lock is held by another fiber; only its owner may release it.");
        if (--_depth > 0) return;
        _owner = null;
        while (_waiters.Dequeue() is { } next)
        {
            if (hub.Wake(next.Owner, next.Token, SyncHub.Granted))
            {
                _owner = next.Owner;
                _depth = 1;
                return;
            }
        }
    }

    /// <summary>Same as <see cref="Acquire"/> with no timeout (gevent's <c>__enter__</c>).</summary>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the lock's hub.</exception>
    public void Enter() => Acquire();

    /// <summary>Same as <see cref="Release"/> (gevent's <c>__exit__</c>).</summary>
    /// <exception cref="SynchronizationLockException">The calling fiber does not hold the lock.</exception>
    public void Exit() => Release();

    /// <summary>Acquires the lock and returns a scope whose <see cref="Scope.Dispose"/> releases it:
    /// <c>using (myLock.Lock()) { ... }</c> (gevent's <c>with lock:</c>).</summary>
    /// <returns>The scope.</returns>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the lock's hub.</exception>
    public Scope Lock()
    {
        Acquire();
        return new Scope(this);
    }

    /// <summary>A held acquisition of a <see cref="FiberLock"/>, released by <see cref="Dispose"/>.</summary>
    [DebuggerDisplay("FiberLock.Scope")]
    public readonly struct Scope : IDisposable
    {
        private readonly FiberLock? _lock;

        internal Scope(FiberLock owner) => _lock = owner;

        /// <summary>Releases the acquisition (nothing for a default scope).</summary>
        /// <exception cref="SynchronizationLockException">The calling fiber does not hold the lock.</exception>
        public void Dispose() => _lock?.Release();
    }
}
