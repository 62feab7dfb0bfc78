using System.Diagnostics;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// A flag fibers can wait for (gevent's <c>gevent.event.Event</c>): <see cref="Set"/> raises it and wakes every
/// waiting fiber, <see cref="Clear"/> lowers it, <see cref="Wait"/> suspends the calling fiber until it is raised.
/// </summary>
/// <remarks>
/// <para>The event is bound to the hub of the first fiber that uses it. Waiters are woken in the order they began to
/// wait (FIFO); a wait allocates nothing.</para>
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
    private readonly WaitQueue _waiters = new();
    private readonly Lock _gate = new();      // binding vs. changes made from other threads before binding
    private Hub? _hub;
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

    private int WaiterCount => _waiters.Count;

    /// <summary>Raises the flag and wakes every waiting fiber, in FIFO order (gevent's <c>set()</c>). Waiters woken
    /// by this call return true from <see cref="Wait"/> even if the event is cleared before they run. Callable
    /// from any thread (see the remarks on <see cref="FiberEvent"/>).</summary>
    public void Set()
    {
        if (Route(set: true) is { } hub) SetOnHub(hub);
    }

    /// <summary>Lowers the flag (gevent's <c>clear()</c>); later <see cref="Wait"/> calls block until the next
    /// <see cref="Set"/>. Callable from any thread.</summary>
    public void Clear()
    {
        if (Route(set: false) is not null) _isSet = false;
    }

    /// <summary>Suspends the calling fiber until the event is set or <paramref name="timeout"/> passes
    /// (gevent's <c>wait(timeout)</c>). Returns at once when it is already set.</summary>
    /// <param name="timeout">How long to wait; null or <see cref="Timeout.InfiniteTimeSpan"/>: no limit.</param>
    /// <returns>True if the event was set (or a <see cref="Set"/> woke the caller); false on timeout.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">It would have to block, and the caller is not a fiber of the
    /// event's hub; or the caller is a hub callback.</exception>
    public bool Wait(TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        if (_isSet || SyncHub.IsZero(timeout)) return _isSet;
        Hub hub = SyncHub.Bind(ref _hub, "FiberEvent.Wait", _gate);
        if (_isSet) return true;
        object? r = hub.WaitOn(_waiters, timeout, "FiberEvent.Wait");
        return !ReferenceEquals(r, WakeTimer.TimedOut) || _isSet;
    }

    /// <summary>Returns the hub to act on now, or null when the change was stored (unbound event, any thread) or
    /// posted to the owner hub (another thread).</summary>
    private Hub? Route(bool set)
    {
        Hub? current = Hub.Current;
        Hub? hub = Volatile.Read(ref _hub);
        if (hub is null)
        {
            if (current is not null) return SyncHub.Bind(ref _hub, set ? "FiberEvent.Set" : "FiberEvent.Clear", _gate);
            lock (_gate)
            {
                if (_hub is null)
                {
                    _isSet = set;
                    return null;
                }
                hub = _hub;
            }
        }
        if (ReferenceEquals(hub, current)) return hub;
        PostTo(hub, set);
        return null;
    }

    // separate method: a lambda capturing a local of Route would allocate its closure on every call
    private void PostTo(Hub hub, bool set)
    {
        if (set) hub.Post(() => SetOnHub(hub));
        else hub.Post(() => _isSet = false);
    }

    private void SetOnHub(Hub hub)
    {
        _isSet = true;
        _waiters.WakeAll(hub);
    }
}
