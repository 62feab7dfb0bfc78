using System.Runtime.CompilerServices;
using FiberRuntime.Diagnostics;
using FiberRuntime.Interop;

namespace FiberRuntime;

// Idle contexts. A fiber's run that ends does not exit its context: the context parks (a plain suspending switch, so
// the GC sees it as any suspended context) in its entry loop, and the next greenlet that needs a stack resumes it and
// runs its body there. A spawn then costs a normal switch instead of a fresh context's start (the reverse P/Invoke
// into FiberEntry, the arena, the context entering and leaving the identity lanes). An idle context holds no
// greenlet: its slot is empty in _bySlot, it is not counted in _live (MaxFibers counts greenlets) nor in
// HubStats.LiveContexts, and it keeps its stack pages resident within the hub's warm budget (TrimStacks). The hub
// ends them when it shuts down.
public sealed unsafe partial class Hub
{
    /// <summary>How many idle contexts a hub keeps for reuse (their stacks count toward <see cref="WarmStacksWhenIdle"/>).</summary>
    internal const int IdleContextsKept = 16;

    private readonly int[] _idleSlots = new int[IdleContextsKept];
    private int _idleCount;

    /// <summary>Idle contexts parked now, for tests and diagnostics. Hub thread.</summary>
    internal int IdleContexts => _idleCount;

    /// <summary>A context for a greenlet about to start: an idle one when there is one, else a fresh one (negative:
    /// the native error).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int TakeContext() => _idleCount > 0 ? _idleSlots[--_idleCount] : NativeMethods.fr_context_new(_native);

    /// <summary><see cref="StartContext"/> when it cannot fail, else false with nothing done: an idle context is there
    /// and the live count is below MaxFibers. For the hand-off to a fiber that has not started (the usual spawn), with
    /// no exception handling around it and no calls.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryStartFromIdle(Greenlet g)
    {
        if (_idleCount == 0 || _live >= _options.MaxFibers) return false;
        BindContext(g, _idleSlots[--_idleCount]);
        return true;
    }

    /// <summary>The end of a fiber's run, on its own stack, with <paramref name="to"/> chosen and the transfer fields
    /// set: park this context idle and switch to <paramref name="to"/>. Returns when a greenlet was given this
    /// context (the switch to it resumed us; CurrentGreenlet is that greenlet), or at once if <paramref name="to"/> is
    /// that greenlet already (it took this very context: control passes from <paramref name="ended"/> to it with no
    /// native switch, traced as a switch all the same).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void ParkIdle(Greenlet ended, uint id, Greenlet to)
    {
        if (FiberRuntimeEventSource.SwitchEnabled) TraceSwitch(ended, to);
        int slot = to.Slot;         // read once: an idle context must not keep the greenlet it switched to alive
        if (slot == (int)id) return;
        _currentSlot = slot;
        int rc = NativeSwitch(_native, (uint)slot, 0);
        if (rc == NativeMethods.ECheck && !NativeCallbackOnStack())
            rc = NativeSwitch(_native, (uint)slot, NativeMethods.SwitchNoCallback);
        if (rc != NativeMethods.Ok) Environment.FailFast("FiberRuntime: the switch away from an ended fiber was refused.");
    }

    /// <summary>Whether an ending fiber's context may park idle: room in the pool and the hub not shutting down. Takes
    /// the room: <paramref name="id"/> is in the pool from here on (a greenlet started before the switch may take it).</summary>
    private bool OfferIdle(Greenlet g, uint id)
    {
        if (!g.IsFiber || _stopping || _idleCount == IdleContextsKept) return false;
        _idleSlots[_idleCount++] = (int)id;
        return true;
    }

    /// <summary>Ends every idle context (the hub shuts down): each is abandoned where it parked, in its entry loop,
    /// which holds nothing that needs running.</summary>
    private void EndIdleContexts()
    {
        while (_idleCount > 0) NativeMethods.fr_context_abandon(_native, (uint)_idleSlots[--_idleCount]);
    }
}
