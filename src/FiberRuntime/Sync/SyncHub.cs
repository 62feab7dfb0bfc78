using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>Hub binding and timeout helpers shared by the synchronisation primitives.</summary>
internal static class SyncHub
{
    /// <summary>The value a wait is woken with when it was handed what it waited for (a permit, an item, a slot, the lock).</summary>
    internal static readonly object Granted = new();

    /// <summary>Returns the hub <paramref name="slot"/> is bound to, binding it to the caller's hub on first use;
    /// throws when the caller is not a greenlet of that hub. With <paramref name="gate"/>, binding happens under it
    /// (primitives whose state other threads may change before binding).</summary>
    internal static Hub Bind(ref Hub? slot, string operation, Lock? gate = null)
    {
        Hub? current = Hub.Current;
        Hub? hub = Volatile.Read(ref slot);
        if (hub is null && current is not null)
        {
            if (gate is null)
            {
                hub = Interlocked.CompareExchange(ref slot, current, null) ?? current;
            }
            else
            {
                lock (gate)
                {
                    slot ??= current;
                    hub = slot;
                }
            }
        }
        if (current is null || !ReferenceEquals(hub, current)) throw NotOnHub(hub, operation);
        return hub;
    }

    internal static InvalidOperationException NotOnHub(Hub? owner, string operation) =>
        owner is null
            ? new InvalidOperationException($"{operation} must be called by a fiber on a hub thread (inside Hub.Run or a spawned fiber); thread {Environment.CurrentManagedThreadId} is not a hub.")
            : new InvalidOperationException($"{operation}: this primitive belongs to the hub on managed thread {owner.ManagedThreadId}; it cannot block or be used from thread {Environment.CurrentManagedThreadId}. Primitives never move between hubs.");

    /// <summary>Raises a kill or timeout that reached the calling fiber while it was being woken and is still to be
    /// raised at its next blocking point: for an operation that must not hand anything over first.</summary>
    internal static void RaisePendingInterrupt(Hub hub, string reason)
    {
        if (hub.CurrentGreenlet.Waiting.PendingInterrupt is not null) hub.SleepFor(TimeSpan.Zero, reason);   // its Park raises it
    }

    /// <summary>Resumes the calling fiber after every fiber already woken: wake-ups go through the FIFO run queue,
    /// so going to its back is enough. A hub callback cannot block; there it returns at once.</summary>
    internal static void RunAfterWoken(Hub hub, string reason)
    {
        if (!ReferenceEquals(hub.CurrentGreenlet, hub.Scheduler.LoopGreenlet)) hub.SleepFor(TimeSpan.Zero, reason);
    }

    internal static bool IsZero(TimeSpan? timeout) => timeout is { } t && t == TimeSpan.Zero;
}
