using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// What <see cref="FiberEvent"/>, <see cref="AsyncResult{T}"/> and <see cref="FiberSemaphore"/> share (gevent's
/// <c>AbstractLinkable</c>): the hub the object belongs to, how a change made on another thread reaches that hub, and
/// "notify the waiters, in order, once". A part the primitives hold rather than a base class, because public sealed
/// types cannot derive from an internal one.
/// </summary>
/// <remarks>
/// Ordering rule (gevent issue #1520): the waiters a notification woke stay linked here until they have run, so a
/// fiber that finds the object ready while some of them still wait to run queues behind them instead of overtaking.
/// </remarks>
internal sealed class Linkable
{
    private readonly WaitQueue _waiters = new();
    private readonly Lock _gate = new();      // binding vs. changes stored by other threads before binding
    private Hub? _hub;
    private int _late;                         // callers that found the object ready mid-notification, yielding behind it

    internal int WaiterCount => _waiters.Count;

    /// <summary>Binds to the caller's hub on first use; throws unless the caller is a fiber of the owner hub.</summary>
    internal Hub Bind(string operation) => SyncHub.Bind(ref _hub, operation, _gate);

    /// <summary>Applies a change made on any thread. On the owner hub's thread (or any hub thread before binding,
    /// which binds it) <paramref name="onHub"/> runs now; on a thread that is not a hub, before binding,
    /// <paramref name="store"/> runs under the gate; otherwise <paramref name="onHub"/> is posted to the owner hub.</summary>
    /// <remarks>Pass static lambdas: with the state in <typeparamref name="TState"/>, a change on the hub allocates nothing.</remarks>
    internal void Change<TState>(TState state, Action<TState> store, Action<Hub, TState> onHub)
    {
        Hub? current = Hub.Current;
        Hub? hub = Volatile.Read(ref _hub);
        if (hub is null)
        {
            lock (_gate)
            {
                if (_hub is null)
                {
                    if (current is null)
                    {
                        store(state);
                        return;
                    }
                    _hub = current;
                }
                hub = _hub;
            }
        }
        if (ReferenceEquals(hub, current)) onHub(hub, state);
        else Post(hub, state, onHub);
    }

    // separate method: a lambda capturing locals of Change would allocate its closure on every call
    private static void Post<TState>(Hub hub, TState state, Action<Hub, TState> onHub) => hub.Post(() => onHub(hub, state));

    /// <summary>Waits, linked here, until <see cref="NotifyAll"/> or <paramref name="timeout"/>; the wake-up value,
    /// or <see cref="WakeTimer.TimedOut"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal object? WaitOn(Hub hub, TimeSpan? timeout, string reason) => hub.WaitOn(_waiters, timeout, reason);

    /// <summary>Wakes every linked waiter, in the order they began to wait, once. They stay linked until they run
    /// (their wait unlinks them), which is how <see cref="WaitBehindNotified"/> knows the notification is in flight.</summary>
    internal void NotifyAll(Hub hub)
    {
        for (WaitNode? n = _waiters.First; n is not null; n = n.Next) hub.Wake(n.Owner, n.Token, SyncHub.Granted);
    }

    /// <summary>For a caller that found the object ready: returns at once, unless waiters woken by the last
    /// notification have not run yet; then it yields once, to run behind them (gevent's <c>_wait</c> on a ready object
    /// whose notifier is running). A zero timeout, another thread or a hub callback never block, so they do not queue.</summary>
    internal void WaitBehindNotified(TimeSpan? timeout, string reason)
    {
        if ((_waiters.IsEmpty && _late == 0) || SyncHub.IsZero(timeout)) return;
        if (Hub.Current is not { } hub || !ReferenceEquals(hub, _hub)) return;
        _late++;
        try
        {
            SyncHub.RunAfterWoken(hub, reason);
        }
        finally
        {
            _late--;
        }
    }
}
