using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using FiberRuntime.Diagnostics;
using FiberRuntime.Interop;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// One OS thread that runs greenlets, with its stack arena and its identity thread (see DESIGN.md).
/// A greenlet belongs to the hub it was created on and never runs on another OS thread.
/// </summary>
/// <remarks>
/// <para><see cref="Run{T}(Func{T}, HubOptions?)"/> starts a hub thread, runs <c>main</c> on it as the root
/// greenlet (gevent's "main greenlet": <see cref="Greenlet.Current"/> inside it is <see cref="RootGreenlet"/>),
/// and blocks the calling thread until <c>main</c> returns. Greenlets still suspended when <c>main</c> returns
/// receive <see cref="GreenletExit"/> so that their <c>finally</c> blocks run, then the hub's memory is released.</para>
/// <para>Per-greenlet state: each greenlet has its own <see cref="ExecutionContext"/> (so <see cref="AsyncLocal{T}"/>
/// values do not leak between greenlets; a new greenlet starts with its creator's) and its own
/// <see cref="SynchronizationContext"/>. Shared by all greenlets of a hub, as they share one OS thread:
/// <c>[ThreadStatic]</c> fields, <see cref="Environment.CurrentManagedThreadId"/>, the last P/Invoke error, and
/// <see cref="Monitor"/> ownership — a <c>lock</c> held across a switch can be entered by another greenlet of the
/// same hub, so never switch while holding one.</para>
/// </remarks>
public sealed unsafe partial class Hub
{
    [ThreadStatic] private static Hub? t_current;

    private readonly HubOptions _options;
    private readonly Func<object?> _main;
    private nint _native;
    private GCHandle _self;
    private Thread? _thread;
    private int _threadId;
    private Greenlet? _root;
    private Greenlet?[] _bySlot = [];
    private object? _mainResult;
    private ExceptionDispatchInfo? _mainError;
    private string? _startError;
    private ExceptionDispatchInfo? _hubThreadFailure;   // e.g. the reactor could not be created (descriptor limit)
    private ExecutionContext? _defaultExecutionContext;

    // The value or exception in flight between the greenlet switching away and the one resuming.
    private object? _transferValue;
    private Exception? _transferError;

    // The running greenlet, as its slot (the root's is _rootSlot, the hub's own stack): an int store per switch
    // instead of a reference store with its GC write barrier.
    private int _currentSlot;
    private int _rootSlot;
    private int _live;      // started, not yet dead greenlets (the root excluded), at most MaxFibers

    internal Greenlet CurrentGreenlet => _bySlot[_currentSlot]!;

    private Hub(HubOptions options, Func<object?> main)
    {
        _options = options;
        _main = main;
    }

    /// <summary>The hub running on the calling thread, or <see langword="null"/> when this thread is not a hub.</summary>
    public static Hub? Current => t_current;

    /// <summary>The hub thread's own greenlet: the one <c>main</c> runs on.</summary>
    public Greenlet RootGreenlet => _root ?? throw new InvalidOperationException("The hub has not started.");

    /// <summary>The options this hub was created with.</summary>
    public HubOptions Options => _options;

    /// <summary>The managed thread id of the hub's OS thread.</summary>
    public int ManagedThreadId => _threadId;

    /// <summary>Runs <paramref name="main"/> as the root greenlet of a new hub and blocks until it returns,
    /// rethrowing its exception.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="main"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="PlatformNotSupportedException">This platform or runtime cannot host fibers.</exception>
    public static void Run(Action main, HubOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(main);
        Run<object?>(() => { main(); return null; }, options);
    }

    /// <summary>Runs <paramref name="main"/> as the root greenlet of a new hub, blocks until it returns, and
    /// returns its result (rethrowing its exception).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="main"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="PlatformNotSupportedException">This platform or runtime cannot host fibers.</exception>
    public static T Run<T>(Func<T> main, HubOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(main);
        options ??= HubOptions.Default;
        options.Validate();
        RuntimeContract.EnsureVerified();
        var hub = new Hub(options, () => main());
        hub.Start();
        hub._mainError?.Throw();
        return (T)hub._mainResult!;
    }

    private void Start()
    {
        byte* err = stackalloc byte[NativeMethods.ErrorBufferSize];
        _self = GCHandle.Alloc(this);
        try
        {
            var cfg = new NativeMethods.HubConfig
            {
                // one slot more than MaxFibers: a greenlet that ends into a parent that never ran must start that
                // parent while still standing on its own stack, so it briefly needs a slot beyond its own
                Capacity = (uint)_options.MaxFibers + 1,
                Flags = (_options.UnsafeDisableGcProtection ? NativeMethods.FlagUnsafeNoGcRegistration : 0) |
                        (_options.SingleIdentityLane ? NativeMethods.FlagSingleLane : 0) |
                        (_options.ProtectionGuardPages ? NativeMethods.FlagProtectionGuards : 0),
                StackSize = HubOptions.RoundToPage(_options.StackSize),
                HubStackSize = HubOptions.RoundToPage(_options.HubStackSize),
                HubEntry = &HubEntry,
                IdentityEntry = &IdentityEntry,
                FiberEntry = &FiberEntry,
                SwitchCallback = &SwitchCallback,
                User = GCHandle.ToIntPtr(_self),
            };
            nint native;
            int rc = NativeMethods.fr_hub_create(&cfg, &native, err, NativeMethods.ErrorBufferSize);
            if (rc != NativeMethods.Ok)
            {
                string why = NativeMethods.ErrorText(err);
                throw rc switch
                {
                    NativeMethods.EInval => new ArgumentOutOfRangeException(nameof(_options), why),
                    NativeMethods.ENoMem => new OutOfMemoryException("FiberRuntime: " + why),
                    NativeMethods.ERuntime => new PlatformNotSupportedException("FiberRuntime: " + why),
                    _ => new InvalidOperationException("FiberRuntime: " + why),
                };
            }
            NativeMethods.fr_hub_join_and_destroy(native);
        }
        finally
        {
            _self.Free();
        }
        if (_startError is not null) throw new PlatformNotSupportedException("FiberRuntime: " + _startError);
        _hubThreadFailure?.Throw();
    }

    // ---- entry points called by libfiberrt -----------------------------------------------------------

    [UnmanagedCallersOnly]
    private static void HubEntry(nint native, nint user)
    {
        var hub = (Hub)GCHandle.FromIntPtr(user).Target!;
        try
        {
            hub.RunHubThread(native);
        }
        catch (Exception e)
        {
            hub._hubThreadFailure ??= ExceptionDispatchInfo.Capture(e);
        }
    }

    [UnmanagedCallersOnly]
    private static void IdentityEntry(nint native, nint user)
    {
        // Parks in a P/Invoke until the hub is destroyed; meanwhile the GC walks the suspended greenlets
        // through this thread's Frame list. The name tells profilers what the stacks seen on this thread are
        // (suspended fibers, not running code); nothing of it stays on this frame once the call below starts.
        NameIdentityThread(user);
        NativeMethods.fr_identity_park(native, ThreadFields.NativeThread(Thread.CurrentThread));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void NameIdentityThread(nint user) =>
        Thread.CurrentThread.Name = $"FiberRuntime parked fibers (hub {((Hub)GCHandle.FromIntPtr(user).Target!).Id})";

    [UnmanagedCallersOnly]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FiberEntry(nint native, nint user, uint id)
    {
        ((Hub)GCHandle.FromIntPtr(user).Target!).RunContext(id);
    }

    [UnmanagedCallersOnly]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SwitchCallback(nint native, uint target, int exiting)
    {
        // Back in cooperative mode (a GC in progress was waited out); edit the runtime's lists with no GC
        // safe point until we are running on the target's stack.
        NativeMethods.fr_switch_core(native, target, exiting);
    }

    private void RunHubThread(nint native)
    {
        byte* err = stackalloc byte[NativeMethods.ErrorBufferSize];
        _native = native;
        _thread = Thread.CurrentThread;
        _thread.Name ??= "FiberRuntime hub";
        if (NativeMethods.fr_hub_attach(native, ThreadFields.NativeThread(_thread), err, NativeMethods.ErrorBufferSize) != NativeMethods.Ok)
        {
            _startError = NativeMethods.ErrorText(err);
            return;
        }
        _threadId = Environment.CurrentManagedThreadId;
        // a fresh native thread has no execution context: Capture gives the runtime's default one, which
        // stands for "no AsyncLocal values" when a greenlet saved none
        _defaultExecutionContext = ExecutionContext.Capture();
        _rootSlot = _options.MaxFibers + 1;
        _bySlot = new Greenlet?[_rootSlot + 1];
        _root = Greenlet.CreateRoot(this, _rootSlot);
        _bySlot[_rootSlot] = _root;
        _currentSlot = _rootSlot;
        _reactor = new EpollReactor();
        t_current = this;
        Register();
        if (_options.MaxBlockingTime is not null)
        {
            _monitored = true;
            Diagnostics.BlockingMonitor.Watch(this);
        }
        try
        {
            _mainResult = _main();
        }
        catch (Exception e)
        {
            _mainError = ExceptionDispatchInfo.Capture(e);
        }
        finally
        {
            if (_monitored) Diagnostics.BlockingMonitor.Unwatch(this);
            _stopping = true;
            try
            {
                FinishRemaining();
            }
            finally
            {
                Unregister();       // before the native hub goes: counters read it
            }
            NativeMethods.fr_hub_detach(native);
            _reactor.Dispose();
            t_current = null;
        }
    }

    /// <summary>Throws <see cref="GreenletExit"/> into every greenlet still suspended, so their finally blocks
    /// run; a greenlet that refuses to die is abandoned (its stack is released without running it again).</summary>
    private void FinishRemaining()
    {
        for (int pass = 0; pass < 3; pass++)
        {
            bool any = false;
            for (int i = 0; i < _rootSlot; i++)
            {
                if (_bySlot[i] is not { } g) continue;
                any = true;
                g.ParentUnchecked = _root;
                try
                {
                    Transfer(_root!, g, null, new GreenletExit("The hub is shutting down."));
                }
                catch (Exception)
                {
                    // its exception surfaced here, in the root; nothing is left to report it to
                }
            }
            if (!any) return;
        }
        for (int i = 0; i < _rootSlot; i++)
        {
            if (_bySlot[i] is not { } g) continue;
            NativeMethods.fr_context_abandon(_native, (uint)i);
            g.MarkDead();
            if (FiberRuntimeEventSource.LifecycleEnabled) FiberRuntimeEventSource.Log.FiberExit(Id, g.Id, FiberOutcome.Killed);
            _bySlot[i] = null;
            _live--;
        }
    }

    // ---- switching -----------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CheckThread()
    {
        if (Environment.CurrentManagedThreadId != _threadId)
            throw new InvalidOperationException(
                $"This greenlet belongs to the hub on managed thread {_threadId}; it cannot be used from thread {Environment.CurrentManagedThreadId}. Greenlets never move between OS threads.");
    }

    /// <summary>Suspends <paramref name="from"/> (the running greenlet), runs <paramref name="to"/> with the value
    /// or exception, and returns what is delivered when <paramref name="from"/> is resumed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal object? Transfer(Greenlet from, Greenlet to, object? value, Exception? error)
    {
        if (_captureWaitStacks && !ReferenceEquals(from, _loop)) CaptureSuspendedStack(from);
        bool starting = to.Slot < 0;
        if (starting) StartContext(to);
        // both transfer fields are null at rest (TakeTransfer clears them): store only what is there, so the
        // common switch (no value, no exception) stores no reference
        if (value is not null) _transferValue = value;
        if (error is not null) _transferError = error;
        if (!SwitchContexts(from, to, exiting: false))
        {
            _transferValue = null;
            _transferError = null;
            if (starting) UnstartContext(to);
            throw new InvalidOperationException(
                "Cannot switch greenlets inside a callback from native code: the native frames below it would be suspended. Switch after the native call returns.");
        }
        return TakeTransfer();
    }

    /// <summary>Delivers a finished greenlet's result (or exception) to <paramref name="to"/>; when that is the
    /// running greenlet itself, returns or throws here.</summary>
    internal object? Deliver(Greenlet from, Greenlet to, object? value, Exception? error)
    {
        if (ReferenceEquals(from, to))
        {
            if (error is not null) ExceptionDispatchInfo.Throw(error);
            return value;
        }
        return Transfer(from, to, value, error);
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

    private void StartContext(Greenlet g)
    {
        if (_live >= _options.MaxFibers) throw HubFull();
        int id = NativeMethods.fr_context_new(_native);
        if (id < 0)
        {
            throw id == NativeMethods.EFull
                ? HubFull()
                : new OutOfMemoryException(StackCommitFailed(_live));
        }
        g.Slot = id;
        g.MarkStarted();
        _bySlot[id] = g;
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

    /// <summary>Returns false (nothing switched) when the native side refuses: a callback from native code.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool SwitchContexts(Greenlet from, Greenlet to, bool exiting)
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
        _currentSlot = to.Slot;
        int rc = NativeSwitch(_native, (uint)to.Slot, exiting ? 1 : 0);
        if (rc == NativeMethods.ECheck && !NativeCallbackOnStack())
            rc = NativeSwitch(_native, (uint)to.Slot, (exiting ? 1 : 0) | NativeMethods.SwitchNoCallback);
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

    // The one place the switch P/Invoke is called: a method of its own, without exception handling, so the JIT
    // inlines the P/Invoke with an InlinedCallFrame (P/Invokes inside handlers are never inlined).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int NativeSwitch(nint native, uint target, int exiting) => NativeMethods.fr_switch(native, target, exiting);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void RunContext(uint id)
    {
        Greenlet g = CurrentGreenlet;
        RestoreThreadState(g);
        object? result = null;
        Exception? error = null;
        try
        {
            object? argument = TakeTransfer();
            g.MarkRan();
            result = g.InvokeRun(argument);
        }
        catch (GreenletExit exit)
        {
            result = exit;          // ends the greenlet quietly: the parent gets it as a value
        }
        catch (Exception e)
        {
            error = e;              // raised in the parent
        }
        _bySlot[id] = null;
        g.MarkDead();
        _live--;        // its slot is given back once we are off its stack; the spare slot covers the gap
        if (FiberRuntimeEventSource.LifecycleEnabled) FiberRuntimeEventSource.Log.FiberExit(Id, g.Id, g.OutcomeOf(result, error));
        Greenlet to = g.LiveParent();
        if (to.Slot < 0)
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
        _transferValue = result;
        _transferError = error;
        SwitchContexts(g, to, exiting: true);
        Environment.FailFast("FiberRuntime: a finished greenlet was resumed, or its final switch was refused.");
    }

    internal NativeMethods.HubStats GetStats()
    {
        NativeMethods.HubStats s;
        NativeMethods.fr_hub_get_stats(_native, &s);
        return s;
    }

    internal long GetResidentStackPages(int slot) => NativeMethods.fr_context_resident_pages(_native, (uint)slot);

    /// <summary>How many finished fibers' stacks an idle hub keeps resident for quick reuse.</summary>
    internal const int WarmStacksWhenIdle = 64;

    /// <summary>Returns the pages of finished fibers' stacks beyond <see cref="WarmStacksWhenIdle"/> to the kernel.</summary>
    internal uint TrimStacks() => NativeMethods.fr_hub_trim_stacks(_native, WarmStacksWhenIdle);

}
