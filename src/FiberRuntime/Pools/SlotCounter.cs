using FiberRuntime.Scheduling;

namespace FiberRuntime.Pools;

/// <summary>The counting semaphore behind <see cref="FiberPool"/> (gevent's <c>Pool._semaphore</c>), built directly on
/// <see cref="WaitQueue"/> and <see cref="Hub.WaitOn"/>. Hub thread only.</summary>
/// <remarks>A released slot is handed straight to the first waiting acquirer (FIFO, no barging), so a fiber woken
/// for a slot always gets it, even if other fibers try to take one before it runs. Waiters that only wait for
/// availability (<see cref="WaitAvailable"/>) are woken without taking the slot.</remarks>
internal sealed class SlotCounter(Hub hub, int slots)
{
    private static readonly object AcquireTag = new();
    private static readonly object WaitTag = new();
    private static readonly object Granted = new();
    private static readonly object Available = new();

    private readonly WaitQueue _waiters = new();
    private int _free = slots;

    /// <summary>Slots that can be taken without waiting.</summary>
    public int Free => _free;

    /// <summary>Takes a slot, waiting up to <paramref name="timeout"/> (null: forever); false if none came in time.</summary>
    public bool Acquire(TimeSpan? timeout, string reason)
    {
        if (_free > 0)
        {
            _free--;
            return true;
        }
        if (timeout == TimeSpan.Zero) return false;
        return ReferenceEquals(hub.WaitOn(_waiters, timeout, reason, AcquireTag), Granted);
    }

    /// <summary>Waits until a slot is free, without taking it; returns the free count (0 after a timeout).</summary>
    public int WaitAvailable(TimeSpan? timeout, string reason)
    {
        long deadline = Deadline.From(timeout);
        while (_free == 0)
        {
            TimeSpan? left = Deadline.Left(deadline);
            if (left == TimeSpan.Zero) return 0;
            if (ReferenceEquals(hub.WaitOn(_waiters, left, reason, WaitTag), WakeTimer.TimedOut)) return _free;
        }
        return _free;
    }

    /// <summary>Returns a slot: handed to the first waiting acquirer if any (availability waiters ahead of it are
    /// woken too), else counted as free.</summary>
    public void Release()
    {
        _free++;
        while (_free > 0 && _waiters.First is { } node)
        {
            bool acquirer = ReferenceEquals(node.Item, AcquireTag);
            _waiters.Remove(node);
            if (hub.Wake(node.Owner, node.Token, acquirer ? Granted : Available) && acquirer) _free--;
        }
    }
}

/// <summary>Deadlines for waits made of several steps, in <see cref="Hub.Now"/> ticks.</summary>
internal static class Deadline
{
    public const long None = long.MaxValue;

    public static long From(TimeSpan? timeout) =>
        timeout is { } t && t != System.Threading.Timeout.InfiniteTimeSpan ? Hub.DueAfter(t) : None;

    /// <summary>The time left before <paramref name="deadline"/> (never negative), or null for no deadline.</summary>
    public static TimeSpan? Left(long deadline) =>
        deadline == None ? null : TimeSpan.FromSeconds(Math.Max(0, (deadline - Hub.Now) / (double)System.Diagnostics.Stopwatch.Frequency));
}
