using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace FiberRuntime.Scheduling;

// Direct hand-off. A greenlet that suspends in Park, or a fiber whose run ends, switches straight to the next ready
// greenlet instead of to the loop, which would only switch to that greenlet itself: one switch instead of two, and
// none at all for a lone yielder that is its own next. The order is the ready queue's either way; hand-offs spend the
// budget of the loop's current round (Scheduler.RunReady), so the loop still gets the thread back after a bounded
// number of them to run timers, take posted work and poll the reactor. Outside a round (the loop not running the
// queue: before it starts, while it runs timers or sleeps, while the hub shuts down) nothing is handed off.
internal sealed partial class Scheduler
{
    /// <summary>The least number of ready entries a loop round runs (more when more were ready as it began) before the
    /// loop takes the thread back for timers, posted work and I/O. gevent runs callbacks queued while it runs them in
    /// the same pass, bounded by time (its switch interval); a count bounds the pass here.</summary>
    internal const int HandOffsPerRound = 64;

    private int _roundLeft;             // entries the current round may still run; 0 outside a round

    // The hand-off in flight: set by TakeHandOff just before the switch to the greenlet in slot _handOffSlot (-1: none),
    // ended by that greenlet as it resumes (EndHandOff, from Park or its first run), or by the suspending greenlet when
    // the switch was refused. Fields rather than Park's locals: a parked frame must not keep the next greenlet or its
    // wake-up value alive. The target as its slot, not a reference: an int store per hand-off instead of a reference
    // store and its GC write barrier. It has the slot from TakeHandOff on (parked, or started there) until it runs.
    private int _handOffSlot = -1;
    private object? _handOffValue;
    private Exception? _handOffError;
    private int _ranInRound;            // entries run in the current round, by the loop or by hand-offs

    /// <summary>Takes the head entry, a greenlet, off the queue: returns it, with the value or exception its wait ends
    /// with left in _handOffValue / _handOffError (null at rest: stored only when there is one, a reference store
    /// costing a GC write barrier), or null (entry dropped) when that wait is over (resumed another way, or the
    /// greenlet was killed).</summary>
    private Greenlet? TakeGreenlet(ref ReadyQueue.Entry e)
    {
        Greenlet g = Unsafe.As<Greenlet>(e.Item!);
        if (!IsStale(g, ref e)) return TakeFresh(g, ref e);
        _ready.DropHead();
        return null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsStale(Greenlet g, ref ReadyQueue.Entry e) => g.IsDead || g.Waiting.Token != e.Token;

    /// <summary><see cref="TakeGreenlet"/> for a head entry known not to be stale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Greenlet TakeFresh(Greenlet g, ref ReadyQueue.Entry e)
    {
        if (e.Arg is { } arg)
        {
            if (e.IsError) _handOffError = Unsafe.As<Exception>(arg);
            else _handOffValue = arg;
        }
        _ready.DropHead();
        _roundLeft--;
        _ranInRound++;
        g.Waiting.WakePending = false;
        return g;
    }

    /// <summary>For a greenlet about to suspend (or a fiber whose run has ended): the next ready greenlet, taken off
    /// the queue to be switched to directly, with what its wait ends with in _handOffValue / _handOffError (the hand-off
    /// is in flight from here: see EndHandOff); null when control must go to the loop
    /// (no round running or its budget spent, nothing ready, a callback next, the next greenlet suspended in a raw
    /// switch or unable to get a stack, the blocking monitor flagged the run that ends). May return the caller
    /// itself: it was next.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal Greenlet? TakeHandOff()
    {
        if (_hub.IsStopping) return null;
        while (_roundLeft > 0 && _ready.Count > 0)
        {
            ref ReadyQueue.Entry e = ref _ready.Head;
            if (e.Item is Action<object?>) return null;                 // the loop runs callbacks
            Greenlet g = Unsafe.As<Greenlet>(e.Item!);
            if (IsStale(g, ref e))
            {
                _ready.DropHead();
                continue;
            }
            // a greenlet resumed by a kill while suspended in a raw switch goes through the loop, as one that is not
            // started and cannot get a stack does (the loop fails it with the reason)
            if (!g.Waiting.IsParked && (!g.IsNotStarted || !(_hub.TryStartFromIdle(g) || TryPrestart(g)))) return null;
            if (_monitored && !MonitorHandOff(g)) return null;
            _handOffSlot = g.Slot;
            return TakeFresh(g, ref e);
        }
        return null;
    }

    /// <summary>Gives a fiber that has not started its stack now, so a failure is known before anything switches
    /// (the loop then fails the fiber with it). The switch to it starts its run.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryPrestart(Greenlet g)
    {
        if (_hub.LiveRacy >= _hub.Options.MaxFibers) return false;
        try
        {
            _hub.StartContext(g);
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>The blocking monitor times each greenlet's run: a hand-off ends one run and begins another. A run the
    /// monitor flagged is not handed off: the loop reports it.</summary>
    private bool MonitorHandOff(Greenlet next)
    {
        if (Volatile.Read(ref _blockedFlag) != 0) return false;
        BeginMonitoredRun(next);
        return true;
    }

    /// <summary>A lone yielder was its own next: its wait ends here, with no switch.</summary>
    private object? EndOwnWait()
    {
        object? value = _handOffValue;
        Exception? error = _handOffError;
        ClearHandOff();
        if (error is not null) ExceptionDispatchInfo.Throw(error);
        return value;
    }

    /// <summary>A greenlet resumes, or begins its run: a hand-off in flight was to it and is over, unless it is
    /// <paramref name="g"/>'s own, refused before anything ran.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void EndHandOff(Greenlet g)
    {
        int slot = _handOffSlot;
        if (slot < 0) return;
        if (slot != g.Slot) HandOffRefused(g, _hub.Slots[slot]!, _handOffValue, _handOffError);
        ClearHandOff();
    }

    internal object? HandOffValue => _handOffValue;

    internal Exception? HandOffError => _handOffError;

    private void ClearHandOff()
    {
        _handOffSlot = -1;
        _handOffValue = null;
        _handOffError = null;
    }

    /// <summary>The switch from <paramref name="g"/> to <paramref name="next"/> failed before anything ran (a switch
    /// inside a callback from native code is refused; the exception is on its way out of Park): <paramref name="next"/>
    /// goes back to the front of the queue, still next. Nothing can have switched meanwhile: the exception passes only
    /// the frames inside the same callback, where every switch is refused.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void HandOffRefused(Greenlet g, Greenlet next, object? value, Exception? error)
    {
        next.Waiting.WakePending = true;
        _roundLeft++;
        _ranInRound--;
        if (_monitored) BeginMonitoredRun(g);
        if (error is null) _ready.PushFront(next, value, next.Waiting.Token, isError: false);
        else _ready.PushFront(next, error, next.Waiting.Token, isError: true);
    }
}
