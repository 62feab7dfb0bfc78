namespace FiberRuntime.Scheduling;

/// <summary>A greenlet's part in its scheduler's waiting protocol (see <see cref="Scheduler"/>). A struct embedded in
/// the greenlet (<see cref="Greenlet.Waiting"/>): no allocation and no indirection per wait. Only the scheduler writes
/// it; diagnostics read it.</summary>
internal struct WaitState
{
    internal int Token;                     // the current wait: a wake-up for another token is stale
    internal bool WakePending;              // its wake-up is in the ready queue
    internal bool IsParked;                 // suspended in Scheduler.Park (not in a raw Greenlet.Switch)
    internal Exception? PendingInterrupt;   // a kill/timeout that arrived while a wake-up was on its way
    internal string? Reason;                // valid while IsParked; kept afterwards (a reference store costs a barrier)
    internal object? Subject;               // what the wait is on, formatted only when a message needs it
    internal WaitNode? Node;                // the greenlet's place in a wait queue, reused for every wait
    internal WakeTimer? Timer;              // its timeout, reused for every timed wait
    internal IoWait? Io;                    // its descriptor watcher, reused for every descriptor wait
}

/// <summary>A greenlet's own timer, reused for every timed wait: wakes the wait it was armed for.</summary>
internal sealed class WakeTimer(Scheduler scheduler, Greenlet owner) : HubTimer
{
    /// <summary>The value a timed-out wait is woken with.</summary>
    internal static readonly object TimedOut = new();

    internal int Token;

    internal override void Fire() => scheduler.Wake(owner, Token, TimedOut);
}

/// <summary>A greenlet's own descriptor watcher, reused for every descriptor wait: wakes the wait it was armed for.</summary>
internal sealed class IoWait(Scheduler scheduler, Greenlet owner) : IoWatcher
{
    internal int Token;

    internal override void OnReady(Exception? error) => scheduler.Wake(owner, Token, null, error);
}
