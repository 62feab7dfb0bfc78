using System.Diagnostics;
using System.Runtime.CompilerServices;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// A flag fibers can wait for (gevent's <c>gevent.event.Event</c>): <see cref="Set"/> raises it and wakes every
/// waiting fiber, <see cref="Clear"/> lowers it, <see cref="Wait"/> suspends the calling fiber until it is raised.
/// </summary>
/// <remarks>
/// <para>The event is bound to the hub of the first fiber that uses it. Waiters are woken in the order they began to
/// wait (FIFO), each once; a fiber that calls <see cref="Wait"/> after a <see cref="Set"/> whose waiters have not
/// run yet runs after them (gevent's order). A wait allocates nothing.</para>
/// <para>Thread safety: <see cref="Set"/> and <see cref="Clear"/> may be called from any thread. From a thread other
/// than the owner hub's they are posted to the hub and take effect there shortly after the call returns
/// (<see cref="IsSet"/> reflects them once the hub ran them). <see cref="Wait"/> never blocks an OS thread: from another
/// thread it returns at once when the event is set (or when the timeout is zero), and otherwise throws
/// <see cref="InvalidOperationException"/>. A fiber waiting only for another thread's <see cref="Set"/> should pass a
/// timeout: a hub with nothing else to do (no ready fiber, no timer) reports <see cref="LoopExitException"/>.</para>
/// </remarks>
[DebuggerDisplay("FiberEvent: IsSet = {IsSet}, Waiters = {WaiterCount}")]
public sealed class FiberEvent
{
    private readonly Linkable _link = new();
    private volatile bool _isSet;

    /// <summary>Creates an event, initially not set.</summary>
    public FiberEvent()
    {
    }

    /// <summary>Creates an event, set if <paramref name="initialState"/> is true.</summary>
    /// <param name="initialState">Whether the event starts set.</param>
    public FiberEvent(bool initialState) => _isSet = initialState;

    /// <summary>True while the flag is raised (gevent's <c>is_set()</c>).</summary>
    public bool IsSet => _isSet;

    private int WaiterCount => _link.WaiterCount;

    /// <summary>Raises the flag and wakes every waiting fiber, in FIFO order (gevent's <c>set()</c>). Waiters woken
    /// by this call return true from <see cref="Wait"/> even if the event is cleared before they run. Callable
    /// from any thread (see the remarks on <see cref="FiberEvent"/>).</summary>
    public void Set() => _link.Change(this, static e => e._isSet = true, static (hub, e) =>
    {
        e._isSet = true;
        e._link.NotifyAll(hub);
    });

    /// <summary>Lowers the flag (gevent's <c>clear()</c>); later <see cref="Wait"/> calls block until the next
    /// <see cref="Set"/>. Callable from any thread.</summary>
    public void Clear() => _link.Change(this, static e => e._isSet = false, static (_, e) => e._isSet = false);

    /// <summary>Suspends the calling fiber until the event is set or <paramref name="timeout"/> passes
    /// (gevent's <c>wait(timeout)</c>). When it is already set it returns at once, except while fibers woken by the
    /// last <see cref="Set"/> have not run yet: then the caller runs after them, never before (as gevent does).</summary>
    /// <param name="timeout">How long to wait; null or <see cref="Timeout.InfiniteTimeSpan"/>: no limit;
    /// <see cref="TimeSpan.Zero"/>: never blocks (returns <see cref="IsSet"/>).</param>
    /// <returns>True if the event was set (or a <see cref="Set"/> woke the caller); false on timeout.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">It would have to block, and the caller is not a fiber of the
    /// event's hub; or the caller is a hub callback.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Wait(TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        if (_isSet)
        {
            _link.WaitBehindNotified(timeout, "FiberEvent.Wait");
            return true;
        }
        if (SyncHub.IsZero(timeout)) return false;
        Hub hub = _link.Bind("FiberEvent.Wait");
        if (_isSet) return true;
        object? r = _link.WaitOn(hub, timeout, "FiberEvent.Wait");
        return !ReferenceEquals(r, WakeTimer.TimedOut) || _isSet;
    }
}
