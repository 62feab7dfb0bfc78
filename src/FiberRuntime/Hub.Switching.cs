using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.ExceptionServices;
using FiberRuntime.Diagnostics;
using FiberRuntime.Interop;

namespace FiberRuntime;

// Switching: the transfer of control and of a value or exception between two greenlets of this hub, the start and
// the end of a greenlet's run on its own stack, and the per-greenlet thread state (execution and synchronization
// contexts) put back on the thread at each resume. The fields are declared in Hub.cs.
public sealed unsafe partial class Hub
{
    // The hub's whole stack reservation [_stackLo, _stackLo + _stackSpan) while the hub runs: only the hub thread runs
    // there (no other thread's stack can lie inside that mapping), so "is this the hub thread" is one compare of a
    // local's address with no thread-local lookup. Empty outside the hub's run: then the managed thread id decides.
    private nuint _stackLo, _stackSpan;

    private void OpenStackRange(nint native)
    {
        nuint lo, hi;
        NativeMethods.fr_hub_stack_range(native, &lo, &hi);
        (_stackLo, _stackSpan) = (lo, hi - lo);
    }

    private void CloseStackRange() => (_stackLo, _stackSpan) = (0, 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CheckThread()
    {
        if (!OnHubStack()) CheckThreadId();
    }

    /// <summary>True when the caller runs on this hub's stacks (so on its thread, during its run); false does not
    /// mean the caller is elsewhere: the hub may not be running its loop range (see <see cref="IsCallerOnHub"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool OnHubStack()
    {
        byte here;
        return (nuint)(&here) - _stackLo < _stackSpan;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CheckThreadId()
    {
        if (Environment.CurrentManagedThreadId != _threadId)
            throw new InvalidOperationException(
                $"This greenlet belongs to the hub on managed thread {_threadId}; it cannot be used from thread {Environment.CurrentManagedThreadId}. Greenlets never move between OS threads.");
    }

    /// <summary>Suspends <paramref name="from"/> (the running greenlet), runs <paramref name="to"/> with the value
    /// or exception, and returns what is delivered when <paramref name="from"/> is resumed.
    /// <paramref name="inlineSwitch"/>: see <see cref="SwitchContexts"/>; a constant at every call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal object? Transfer(Greenlet from, Greenlet to, object? value, Exception? error, bool inlineSwitch = false)
    {
        if (_captureWaitStacks && from.RecordsWaitStacks) CaptureSuspendedStack(from);
        bool starting = to.Slot < 0;
        if (starting) StartContext(to);
        // both transfer fields are null at rest (TakeTransfer clears them): store only what is there, so the
        // common switch (no value, no exception) stores no reference
        if (value is not null) _transferValue = value;
        if (error is not null) _transferError = error;
        int slot = to.Slot;
        // nothing below the switch names `to`: this frame may stay parked for long, and must not keep it alive
        if (!SwitchContexts(from, to, exiting: false, inlineSwitch))
        {
            _transferValue = null;
            _transferError = null;
            if (starting) UnstartContext(_bySlot[slot]!);
            throw new InvalidOperationException(
                "Cannot switch greenlets inside a callback from native code: the native frames below it would be suspended. Switch after the native call returns.");
        }
        return TakeTransfer();
    }

    /// <summary>Delivers a finished greenlet's result (or exception) to <paramref name="to"/>; when that is the
    /// running greenlet itself, returns or throws here.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]   // into Greenlet.Throw, fully optimized (see Greenlet.Switch)
    internal object? Deliver(Greenlet from, Greenlet to, object? value, Exception? error)
    {
        if (ReferenceEquals(from, to))
        {
            if (error is not null) ExceptionDispatchInfo.Throw(error);
            return value;
        }
        return Transfer(from, to, value, error, inlineSwitch: true);
    }

    /// <summary>HubOptions.CaptureWaitStacks: the greenlet records its own stack just before it suspends (the only
    /// moment its stack can be walked: another thread cannot walk a suspended fiber).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CaptureSuspendedStack(Greenlet g) => g.Diag.SuspendedStack = new System.Diagnostics.StackTrace(2, fNeedFileInfo: false);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private object? TakeTransfer()
    {
        object? value = _transferValue;
        if (value is not null) _transferValue = null;
        if (_transferError is { } error)
        {
            _transferError = null;
            ExceptionDispatchInfo.Throw(error);
        }
        return value;
    }

    // Out of line: Transfer is inlined into every switching caller, and a greenlet starts once per life.
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void StartContext(Greenlet g)
    {
        if (_live >= _options.MaxFibers) throw HubFull();
        int id = TakeContext();
        if (id < 0)
        {
            throw id == NativeMethods.EFull
                ? HubFull()
                : new OutOfMemoryException(StackCommitFailed(_live));
        }
        if ((uint)id >= (uint)_bySlot.Length) throw new InvalidOperationException($"FiberRuntime: the native side gave slot {id}, beyond the hub's {_bySlot.Length}.");
        BindContext(g, id);
    }

    /// <summary>Gives <paramref name="g"/> the context <paramref name="id"/> (a slot within the table: checked where
    /// it came from the native side; an idle context's was checked when it was fresh).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void BindContext(Greenlet g, int id)
    {
        g.Slot = id;
        g.MarkStarted();
        // a store with no covariance check (the array's type is exact: a Greenlet?[] made by the hub)
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_bySlot), id) = g;
        _live++;
    }

    /// <summary>The message for a failed stack commit. Without guard markers (kernels before 6.13) the usual cause
    /// with many live fibers is the per-process limit of memory mappings: each live fiber costs two.</summary>
    private string StackCommitFailed(int live)
    {
        if (GetStats().GuardMarkers != 0)
            return $"FiberRuntime could not commit a fiber stack with {live} fibers live (mprotect failed): out of memory.";
        string limit = "unknown";
        try { limit = File.ReadAllText("/proc/sys/vm/max_map_count").Trim(); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"FiberRuntime could not commit a fiber stack with {live} fibers live (mprotect failed). Without kernel " +
               $"guard markers (Linux 6.13+) each live fiber uses two memory mappings; vm.max_map_count is {limit}. " +
               "For N live fibers raise it above 2N + 65530 (sysctl -w vm.max_map_count=...), or the machine is out of memory.";
    }

    private InvalidOperationException HubFull() =>
        new($"The hub has no free fiber stack: all {_options.MaxFibers} are in use (raise HubOptions.MaxFibers).");

    private void UnstartContext(Greenlet g)
    {
        _live--;
        _bySlot[g.Slot] = null;
        NativeMethods.fr_context_abandon(_native, (uint)g.Slot);
        g.MarkNotStarted();
    }

    /// <summary>Returns false (nothing switched) when the native side refuses: a callback from native code.
    /// <paramref name="inlineSwitch"/> (a constant at every call, folded): the switch P/Invoke is inlined into the
    /// method this is inlined into, whose prolog then sets up its InlinedCallFrame once per call of that method (a
    /// switch loop pays it once), and a suspended greenlet has one frame fewer. Only where no try region encloses the
    /// call: there the JIT does not inline a P/Invoke, so the library's such callers go through
    /// <see cref="NativeSwitch"/>, whose frame is a known one (a user's method that inlines Greenlet.Switch inside a
    /// try region calls the P/Invoke's IL stub instead: one frame more, its epilog checked like any site's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool SwitchContexts(Greenlet from, Greenlet to, bool exiting, bool inlineSwitch)
    {
        if (FiberRuntimeEventSource.SwitchEnabled) TraceSwitch(from, to);
        Thread thread = _thread!;
        if (!exiting)
        {
            // stores only when changed: a reference store costs a GC write barrier
            ExecutionContext? ec = ThreadFields.ExecutionContext(thread);
            if (!ReferenceEquals(from.SavedExecutionContext, ec)) from.SavedExecutionContext = ec;
            SynchronizationContext? sc = ThreadFields.SynchronizationContext(thread);
            if (!ReferenceEquals(from.SavedSynchronizationContext, sc)) from.SavedSynchronizationContext = sc;
        }
        int fromSlot = _currentSlot;
        int slot = to.Slot;         // read once: `to` is not live across the switch (a parked frame keeps nothing alive)
        _currentSlot = slot;
        int rc = inlineSwitch
            ? NativeMethods.fr_switch(_native, (uint)slot, exiting ? 1 : 0)
            : NativeSwitch(_native, (uint)slot, exiting ? 1 : 0);
        if (rc == NativeMethods.ECheck && !NativeCallbackOnStack())
            rc = NativeSwitch(_native, (uint)slot, (exiting ? 1 : 0) | NativeMethods.SwitchNoCallback);
        if (rc != NativeMethods.Ok)
        {
            _currentSlot = fromSlot;
            return false;
        }
        // resumed: `from` is running again
        RestoreThreadState(from);
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void TraceSwitch(Greenlet from, Greenlet to) => FiberRuntimeEventSource.Log.FiberSwitch(Id, from.Id, to.Id);

    /// <summary>Puts a resumed greenlet's per-greenlet state back on the thread. A changed execution context goes
    /// through <see cref="ExecutionContext.Restore"/> so AsyncLocal change notifications fire (CultureInfo's
    /// current cultures, for one, are thread-static caches kept in sync by such a notification); the common case,
    /// an unchanged context, costs one compare.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RestoreThreadState(Greenlet g)
    {
        Thread thread = _thread!;
        if (!ReferenceEquals(ThreadFields.ExecutionContext(thread), g.SavedExecutionContext))
            ExecutionContext.Restore(g.SavedExecutionContext ?? _defaultExecutionContext!);
        ref SynchronizationContext? sc = ref ThreadFields.SynchronizationContext(thread);
        if (!ReferenceEquals(sc, g.SavedSynchronizationContext)) sc = g.SavedSynchronizationContext;
    }

    // The switch P/Invoke in a method of its own, without exception handling, so the JIT inlines the P/Invoke with an
    // InlinedCallFrame (never inside a try region) wherever this is called from (SwitchContexts' other way).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int NativeSwitch(nint native, uint target, int exiting) => NativeMethods.fr_switch(native, target, exiting);

    /// <summary>The start of a context's run, inlined into <see cref="FiberEntry"/> up to the greenlet's body (see
    /// there); returns the argument of its first switch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private object? StartRun(Greenlet g)
    {
        RestoreThreadState(g);
        object? argument = TakeTransfer();
        g.MarkRan();
        return argument;
    }

    /// <summary>The end of a context's run: its greenlet is still the current one, and the transfer fields hold what
    /// its body left (result or exception, set by <see cref="FiberEntry"/>). Retire it, then park the context idle
    /// for the next greenlet (Hub.IdleContexts.cs), returning when one is given it, or switch away for good.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void EndRun(uint id)
    {
        Greenlet g = CurrentGreenlet;
        object? result = _transferValue;
        Exception? error = _transferError;
        _transferValue = null;
        _transferError = null;
        RetireUntraced(g, (int)id);
        if (FiberRuntimeEventSource.LifecycleEnabled) FiberRuntimeEventSource.Log.FiberExit(Id, g.Id, g.OutcomeOf(result, error));
        bool idle = OfferIdle(g, id);
        Greenlet to = g.LiveParent();
        // a fiber's parent is the loop, which would only resume the next ready greenlet: hand off to it directly. (A raw
        // greenlet keeps greenlet semantics: whatever switched to it, e.g. a hub callback, gets its result.)
        if (error is null && g.IsFiber && ReferenceEquals(to, _scheduler.LoopIfCreated) &&
            _scheduler.TakeHandOff() is { } next)
            (to, result, error) = (next, _scheduler.HandOffValue, _scheduler.HandOffError);
        else if (to.Slot < 0)
        {
            // a parent that never ran starts now, with the result as its argument
            try
            {
                StartContext(to);
            }
            catch (Exception e)
            {
                (to, result, error) = (_root!, null, e);
            }
        }
        if (result is not null) _transferValue = result;
        if (error is not null) _transferError = error;
        if (idle)
        {
            ParkIdle(g, id, to);
            return;
        }
        SwitchContexts(g, to, exiting: true, inlineSwitch: false);
        Environment.FailFast("FiberRuntime: a finished greenlet was resumed, or its final switch was refused.");
    }
}
