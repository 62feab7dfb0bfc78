using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace FiberRuntime.Scheduling;

// The waiting protocol (gevent's _hub_primitives). Every blocking primitive follows it; nothing is allocated per wait:
//   int token = scheduler.PrepareWait();              // a new wait of the current greenlet
//   ... register (greenlet, token) with whatever will wake it, maybe with a timeout ...
//   object? v = scheduler.Park("FiberEvent.Wait");    // switch away (to the next ready greenlet, or the hub loop) until
//                                                     // woken; throws if woken with an error
//   ... unregister in a finally ...
// Wake(greenlet, token, value) resumes that wait once (later wakes for the same token are ignored), in FIFO order
// through the ready queue. A kill bumps the token (so every registration of the current wait goes stale) and
// resumes the greenlet with the exception. WaitOn, SleepFor and WaitDescriptor are the three shapes of a wait; all
// three park through ParkWithTimeout.
internal sealed partial class Scheduler
{
    /// <summary>Starts a new wait of the running greenlet and returns its token.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]      // fully optimized callers do not inline it on their own
    internal int PrepareWait()
    {
        ref WaitState w = ref _hub.CurrentGreenlet.Waiting;
        w.WakePending = false;
        return ++w.Token;
    }

    /// <summary>Suspends the running greenlet until its current wait is woken, switching to the next ready greenlet
    /// (a hand-off) or to the hub loop; returns the value it was woken with, or throws the exception it was woken with.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal object? Park(string reason, object? subject = null)
    {
        Greenlet g = _hub.CurrentGreenlet;
        if (ReferenceEquals(g, _loop))
            throw new InvalidOperationException($"{reason}: the hub loop itself cannot block (this is a hub callback).");
        if (_monitored) NoteBlockingSite();
        ref WaitState w = ref g.Waiting;
        if (w.PendingInterrupt is { } pending)
        {
            // a kill or timeout arrived while this greenlet was being woken: raise it here, at its next blocking
            // point, and void the wait it was about to start (any wake-up already queued for it goes stale)
            w.PendingInterrupt = null;
            w.Token++;
            w.WakePending = false;
            ExceptionDispatchInfo.Throw(pending);
        }
        // reference stores only when they change: each costs a GC write barrier, and most waits repeat
        if (!ReferenceEquals(w.Reason, reason)) w.Reason = reason;
        if (!ReferenceEquals(w.Subject, subject)) w.Subject = subject;
        w.IsParked = true;
        // straight to the next ready greenlet when the loop's round allows it (Scheduler.HandOff.cs); else the loop.
        // What the hand-off carries stays in the scheduler's fields, not in locals: this frame stays parked, and
        // must not keep the next greenlet or its wake-up value alive while it does.
        Greenlet? next = _roundLeft > 0 ? TakeHandOff() : null;
        try
        {
            if (next is null) return _hub.Transfer(g, LoopGreenlet, null, null);
            if (ReferenceEquals(next, g)) return EndOwnWait();
            return _hub.Transfer(g, next, _handOffValue, _handOffError);
        }
        finally
        {
            // resumed by a hand-off (it ends here), or ours was refused before anything ran (next goes back in front)
            EndHandOff(g);
            // `w` still refers to g's own field: g is running again
            g.Waiting.IsParked = false;
            if (g.Waiting.Subject is not null) g.Waiting.Subject = null;    // do not keep the subject alive
        }
    }

    /// <summary>Parks the running greenlet <paramref name="g"/> in its wait <paramref name="token"/>, with its own timer
    /// armed when <paramref name="timeout"/> is finite: the one park-with-timeout path. A timeout wakes it with
    /// <see cref="WakeTimer.TimedOut"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal object? ParkWithTimeout(Greenlet g, int token, TimeSpan? timeout, string reason, object? subject)
    {
        if (timeout is not { } t || t == Timeout.InfiniteTimeSpan) return Park(reason, subject);
        WakeTimer timer = g.Waiting.Timer ??= new WakeTimer(this, g);
        timer.Token = token;
        StartTimer(timer, t);
        try
        {
            return Park(reason, subject);
        }
        finally
        {
            CancelTimer(timer);
        }
    }

    /// <summary>What a parked greenlet waits for, for messages: its reason and subject.</summary>
    internal static string DescribeWait(Greenlet g)
    {
        ref WaitState w = ref g.Waiting;
        return !w.IsParked || w.Reason is null ? "a switch" : w.Subject is null ? w.Reason : $"{w.Reason}({w.Subject})";
    }

    /// <summary>The common blocking wait: joins <paramref name="queue"/> (optionally offering <paramref name="item"/>),
    /// parks until woken or until <paramref name="timeout"/> passes, and leaves the queue whatever happened.
    /// Returns the wake-up value, or <see cref="WakeTimer.TimedOut"/>.</summary>
    // Every GC walks every frame of every parked fiber, for as long as it waits, so a wait leaves as few frames as it
    // can: WaitOn, ParkWithTimeout, Park and the hub's Transfer and SwitchContexts are inlined (AggressiveInlining,
    // try/finally included: .NET 10 inlines it) into the public blocking method that calls them, which is compiled
    // fully optimized from its first call (AggressiveOptimization: a fiber that parks in Tier0 code keeps those
    // frames, more of them and each reporting every GC slot). What stays is that method and NativeSwitch, whose
    // P/Invoke cannot be inlined inside a try region; with the entry (FiberEntry) and the user's body, a parked fiber
    // is 4 frames. FiberRuntime.TestHost's `frames` command prints them per kind of wait; ParkedFrameTests pins the
    // counts. A caller of WaitOn must be marked AggressiveOptimization itself.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal object? WaitOn(WaitQueue queue, TimeSpan? timeout, string reason, object? item = null, object? subject = null)
    {
        Greenlet g = _hub.CurrentGreenlet;
        int token = PrepareWait();
        WaitNode node = g.Waiting.Node ??= new WaitNode(g);
        node.Token = token;
        node.Item = item;
        queue.Enqueue(node);
        try
        {
            return ParkWithTimeout(g, token, timeout, reason, subject);
        }
        finally
        {
            queue.Remove(node);
        }
    }

    /// <summary>Parks the running greenlet for <paramref name="delay"/> (a timer wakes it); zero or less goes to the
    /// back of the ready queue, <see cref="Timeout.InfiniteTimeSpan"/> waits until killed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void SleepFor(TimeSpan delay, string reason)
    {
        Greenlet g = _hub.CurrentGreenlet;
        int token = PrepareWait();
        bool now = delay <= TimeSpan.Zero && delay != Timeout.InfiniteTimeSpan;
        if (now) Wake(g, token);
        ParkWithTimeout(g, token, now ? null : delay, reason, null);
    }

    /// <summary>Parks the running greenlet until <paramref name="fd"/> is ready (readable, or writable with
    /// <paramref name="write"/>) or <paramref name="timeout"/> passes; true if it became ready.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool WaitDescriptor(int fd, bool write, TimeSpan? timeout)
    {
        Greenlet g = _hub.CurrentGreenlet;
        int token = PrepareWait();
        IoWait io = g.Waiting.Io ??= new IoWait(this, g);
        io.Token = token;
        _reactor!.Arm(io, fd, write);
        try
        {
            return !ReferenceEquals(ParkWithTimeout(g, token, timeout, write ? "Hub.WaitWritable" : "Hub.WaitReadable", null), WakeTimer.TimedOut);
        }
        finally
        {
            _reactor.Disarm(io);
        }
    }

    /// <summary>Wakes the fibers waiting on <paramref name="fd"/> with <paramref name="error"/>: call before closing a
    /// descriptor that fibers of this hub may be waiting on.</summary>
    internal void CancelDescriptorWaits(int fd, Exception error) => _reactor?.Cancel(fd, error);

    /// <summary>Raises <paramref name="error"/> in <paramref name="g"/> at its current (or next) blocking point; a
    /// wake-up already on its way is delivered first, so nothing it was handed is lost.</summary>
    internal void InterruptSoon(Greenlet g, Exception error)
    {
        if (g.IsDead) return;
        if (g.Waiting.WakePending) g.Waiting.PendingInterrupt ??= error;     // raised by its next Park
        else Interrupt(g, error);
    }
}
