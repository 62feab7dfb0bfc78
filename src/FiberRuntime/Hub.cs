using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using FiberRuntime.Diagnostics;
using FiberRuntime.Interop;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// One OS thread that runs greenlets, with its stack arena and its identity thread (README.md, "How it works").
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
    private static int s_nextHubId;
    private static readonly Lock s_defaultLock = new();
    private static Hub? s_default;      // Hub.Default: where fibers spawned from ordinary threads run

    private readonly HubOptions _options;
    private readonly Scheduler _scheduler;
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
    private bool _captureWaitStacks;
    private volatile bool _stopping;     // main has returned: no more run-info requests

    private Hub(HubOptions options, Func<object?> main)
    {
        _options = options;
        _main = main;
        _scheduler = new Scheduler(this);
    }

    /// <summary>A number that identifies the hub in diagnostics (events, run-info dumps): unique in the process,
    /// in creation order.</summary>
    public int Id { get; } = Interlocked.Increment(ref s_nextHubId);

    internal Greenlet CurrentGreenlet => _bySlot[_currentSlot]!;

    /// <summary>The hub's OS thread (set when it starts).</summary>
    internal Thread HubThread => _thread!;

    /// <summary>This hub's scheduler: its loop, ready queue, timers, reactor and waiting protocol.</summary>
    internal Scheduler Scheduler => _scheduler;

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
                // (HubOptions.MaxFibersLimit keeps this within NativeMethods.MaxCapacity)
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

    // A context's first frame, and the frame its greenlet's body is called from: StartRun, Greenlet.InvokeRun and
    // Fiber.RunBody are inlined here (none handles exceptions: the JIT does not inline a method that catches), and an
    // exception that ends the run is sorted here by Greenlet.RunEndedBy. So a parked fiber's stack holds this frame,
    // then the user's code: every GC walks every frame of every parked fiber (ParkedFrameTests pins the count).
    [UnmanagedCallersOnly]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FiberEntry(nint native, nint user, uint id)
    {
        var hub = (Hub)GCHandle.FromIntPtr(user).Target!;
        // one greenlet's run per pass: EndRun returns when the context, parked idle, is given the next greenlet. The
        // run's result and exception go through the hub's transfer fields, not locals, so that nothing of an ended
        // run stays reachable from this frame while it waits idle.
        while (true)
        {
            try
            {
                Greenlet g = hub.CurrentGreenlet;
                object? result = g.InvokeRun(hub.StartRun(g));
                if (result is not null) hub._transferValue = result;
            }
            catch (Exception e)
            {
                (object? result, Exception? error) = hub.CurrentGreenlet.RunEndedBy(e);
                if (result is not null) hub._transferValue = result;
                if (error is not null) hub._transferError = error;
            }
            hub.EndRun(id);
        }
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
        OpenStackRange(native);
        // a fresh native thread has no execution context: Capture gives the runtime's default one, which
        // stands for "no AsyncLocal values" when a greenlet saved none
        _defaultExecutionContext = ExecutionContext.Capture();
        _rootSlot = _options.MaxFibers + 1;
        _bySlot = new Greenlet?[_rootSlot + 1];
        _root = Greenlet.CreateRoot(this, _rootSlot);
        _bySlot[_rootSlot] = _root;
        _currentSlot = _rootSlot;
        _captureWaitStacks = _options.CaptureWaitStacks;
        _scheduler.Start(new EpollReactor(), monitored: _options.MaxBlockingTime is not null);
        t_current = this;
        HubRegistry.Add(this);
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
            _stopping = true;
            try
            {
                FinishRemaining();
            }
            finally
            {
                HubRegistry.Remove(this);       // before the native hub goes: counters read it
            }
            EndIdleContexts();
            CloseStackRange();
            NativeMethods.fr_hub_detach(native);
            _scheduler.Stop();
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
            Retire(g, i, FiberOutcome.Killed);
        }
    }

    /// <summary>Ends <paramref name="g"/>'s life: the one place a greenlet dies (its run returned or threw, it was
    /// killed before it started, or the hub abandoned it), so its slot, the live count and the FiberExit event
    /// always agree. A greenlet that ends by its run returning calls this while still on its own stack: the slot
    /// is given back once the final switch is off it (the spare slot covers the gap).</summary>
    /// <param name="g">The greenlet.</param>
    /// <param name="slot">Its slot as the native side named it (not read from the greenlet: the native id is what the
    /// slot table is indexed by), or -1 when it never had one.</param>
    /// <param name="outcome">How it ended, for the event.</param>
    internal void Retire(Greenlet g, int slot, FiberOutcome outcome)
    {
        RetireUntraced(g, slot);
        if (FiberRuntimeEventSource.LifecycleEnabled) FiberRuntimeEventSource.Log.FiberExit(Id, g.Id, outcome);
    }

    /// <summary><see cref="Retire"/> without its event, for a caller that traces it (and works out the outcome only
    /// when tracing is on).</summary>
    private void RetireUntraced(Greenlet g, int slot)
    {
        if (slot >= 0)
        {
            _bySlot[slot] = null;
            _live--;
        }
        g.MarkDead();
    }

    // ---- for diagnostics (Diagnostics/: the registry, counters, run-info snapshots) --------------------------

    /// <summary>The hubs that are running now (a snapshot), in start order.</summary>
    public static IReadOnlyList<Hub> LiveHubs => HubRegistry.Live;

    internal bool IsStopping => _stopping;

    /// <summary>The greenlet slots (index = slot; the root's is the last). Hub thread.</summary>
    internal ReadOnlySpan<Greenlet?> Slots => _bySlot;

    /// <summary>Started, unfinished greenlets in fiber slots (the root excluded). Racy read.</summary>
    internal int LiveRacy => _live;

    /// <summary>The greenlet running on the hub thread now. Racy read from another thread (for "hub is busy" notes).</summary>
    internal Greenlet? RunningGreenletRacy
    {
        get
        {
            Greenlet?[] slots = _bySlot;
            int slot = Volatile.Read(ref _currentSlot);
            return (uint)slot < (uint)slots.Length ? slots[slot] : null;
        }
    }

    internal NativeMethods.HubStats GetStats()
    {
        NativeMethods.HubStats s;
        NativeMethods.fr_hub_get_stats(_native, &s);
        s.LiveContexts -= (uint)_idleCount;     // idle contexts hold no greenlet (Hub.IdleContexts.cs)
        return s;
    }

    internal long GetResidentStackPages(int slot) => NativeMethods.fr_context_resident_pages(_native, (uint)slot);

    /// <summary>How many finished fibers' stacks an idle hub keeps resident for quick reuse.</summary>
    internal const int WarmStacksWhenIdle = 64;

    /// <summary>Returns the pages of finished fibers' stacks beyond <see cref="WarmStacksWhenIdle"/> to the kernel.</summary>
    internal uint TrimStacks() => NativeMethods.fr_hub_trim_stacks(_native, (uint)(WarmStacksWhenIdle - _idleCount));

}
