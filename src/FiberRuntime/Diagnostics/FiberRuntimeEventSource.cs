using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Tracing;

namespace FiberRuntime.Diagnostics;

/// <summary>
/// The <c>FiberRuntime</c> event source: hub and fiber lifecycle, switches, the hub loop, blocking reports,
/// unhandled fiber exceptions and run-info dumps, plus EventCounters (live fibers, switches/s, run queue, timers,
/// epoll waits/s, hub utilisation, hubs). For <c>dotnet-trace</c>, <c>dotnet-counters</c>, PerfView or an
/// in-process <see cref="EventListener"/>.
/// </summary>
/// <remarks>
/// Filtering is by level first: <c>Error</c> unhandled fiber exceptions, <c>Warning</c> blocking reports,
/// <c>Informational</c> runtime verification (once), hub start/stop and fiber spawn/exit (and run-info dumps on request). These events have no
/// keyword, so <c>dotnet-trace collect --providers FiberRuntime</c> (keyword mask 0, Informational) shows them: EventPipe
/// enables only keyword-less events for a zero mask. The two high-volume streams are Verbose and need their keyword:
/// <see cref="Keywords.Switch"/> (2, one event per switch) and <see cref="Keywords.Scheduler"/> (4, one event per hub
/// loop round). Enabling the source with the argument <c>RunInfo=1</c> (e.g.
/// <c>--providers FiberRuntime::4:RunInfo=1</c>) writes a run-info dump (<c>RunInfoHub</c> and <c>RunInfoFiber</c>
/// events) into the session.
/// The hot paths test plain static flags that <see cref="OnEventCommand"/> keeps up to date, so with no session
/// attached an event point costs one load and a branch, and nothing is allocated.
/// </remarks>
[EventSource(Name = "FiberRuntime")]
[UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "WriteEventCore is only given primitives and strings.")]
internal sealed unsafe class FiberRuntimeEventSource : EventSource
{
    /// <summary>The one instance.</summary>
    public static readonly FiberRuntimeEventSource Log = new();

    // Hot-path guards: plain fields, refreshed on every enable / disable / update command. A stale read for a moment
    // after a session starts or stops only drops or adds a few events.
    internal static bool LifecycleEnabled;
    internal static bool SwitchEnabled;
    internal static bool LoopEnabled;

    /// <summary>Event keywords: only the Verbose high-volume events have one (1 and 8 are left unused: they named
    /// groups of events that are now keyword-less, so old masks still select what they did).</summary>
    public static class Keywords
    {
        /// <summary>Every greenlet switch (Verbose).</summary>
        public const EventKeywords Switch = (EventKeywords)2;

        /// <summary>Every round of a hub loop (Verbose).</summary>
        public const EventKeywords Scheduler = (EventKeywords)4;
    }

    internal const int HubStartedId = 1, HubStoppedId = 2, FiberSpawnId = 3, FiberExitId = 4, FiberSwitchId = 5, HubLoopIterationId = 6,
                       BlockingReportId = 7, UnhandledFiberExceptionId = 8, RunInfoHubId = 9, RunInfoFiberId = 10,
                       RuntimeVerifiedId = 11;

    private PollingCounter? _liveFibers, _runQueue, _timers, _ioWaiters, _utilisation, _hubs;
    private IncrementingPollingCounter? _switches, _callbackSwitches, _epollWaits;

    private FiberRuntimeEventSource() : base(EventSourceSettings.EtwManifestEventFormat)
    {
    }

    /// <inheritdoc />
    protected override void OnEventCommand(EventCommandEventArgs command)
    {
        LifecycleEnabled = IsEnabled(EventLevel.Informational, EventKeywords.None);
        SwitchEnabled = IsEnabled(EventLevel.Verbose, Keywords.Switch);
        LoopEnabled = IsEnabled(EventLevel.Verbose, Keywords.Scheduler);
        // a session that starts arrives as Enable, or as Update (EventPipe passes its arguments with either)
        if (command.Command is EventCommand.Enable or EventCommand.Update && IsEnabled())
        {
            CreateCounters();
            if (command.Arguments is { } args && args.TryGetValue("RunInfo", out string? v) &&
                v is not null && (v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase)))
            {
                // the dump asks every hub for a snapshot and waits for it: not on the thread enabling the session
                ThreadPool.UnsafeQueueUserWorkItem(static _ => RunInfo.WriteEvents(), null);
            }
        }
    }

    [NonEvent]
    private void CreateCounters()
    {
        if (_liveFibers is not null) return;
        _liveFibers = new PollingCounter("live-fibers", this, () => HubMetrics.LiveGreenlets())
            { DisplayName = "Live fibers (started, not finished)" };
        _switches = new IncrementingPollingCounter("switches", this, () => HubMetrics.Switches())
            { DisplayName = "Switches", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
        // the switch's slow way into cooperative mode: a few while GCs suspend the runtime; a steady share of the switches
        // means a call site whose epilog was not recognised, or a fast path that did not verify (RuntimeContract.Note)
        _callbackSwitches = new IncrementingPollingCounter("callback-switches", this, () => HubMetrics.CallbackSwitches())
            { DisplayName = "Switches through the runtime callback", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
        _runQueue = new PollingCounter("run-queue-length", this, () => HubMetrics.RunQueueLength())
            { DisplayName = "Run queue length" };
        _timers = new PollingCounter("pending-timers", this, () => HubMetrics.PendingTimers())
            { DisplayName = "Pending timers" };
        _ioWaiters = new PollingCounter("io-waiters", this, () => HubMetrics.IoWaiters())
            { DisplayName = "Fibers waiting on I/O" };
        _epollWaits = new IncrementingPollingCounter("epoll-waits", this, () => HubMetrics.ReactorWaits())
            { DisplayName = "epoll waits", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
        _utilisation = new PollingCounter("hub-utilization", this, () => HubMetrics.Utilisation())
            { DisplayName = "Hub utilization", DisplayUnits = "%" };
        _hubs = new PollingCounter("hubs", this, () => HubMetrics.Hubs())
            { DisplayName = "Hubs" };
    }

    // ---- events ---------------------------------------------------------------------------------------------

    [Event(HubStartedId, Level = EventLevel.Informational, Message = "Hub {0} started on thread {1}")]
    public void HubStarted(int HubId, int ManagedThreadId, int MaxFibers, int StackSize)
    {
        EventData* d = stackalloc EventData[4];
        Set(d, &HubId);
        Set(d + 1, &ManagedThreadId);
        Set(d + 2, &MaxFibers);
        Set(d + 3, &StackSize);
        WriteEventCore(HubStartedId, 4, d);
    }

    /// <summary>Once per process, when start-up verification accepted the runtime: how (see RuntimeContract.Note). A
    /// cross-check that could not run on this platform says SKIPPED here.</summary>
    [Event(RuntimeVerifiedId, Level = EventLevel.Informational, Message = "Runtime verified: {0}")]
    public void RuntimeVerified(string Note) => WriteEvent(RuntimeVerifiedId, Note);

    [Event(HubStoppedId, Level = EventLevel.Informational, Message = "Hub {0} stopped after {1} switches")]
    public void HubStopped(int HubId, long Switches) => WriteEvent(HubStoppedId, HubId, Switches);

    [Event(FiberSpawnId, Level = EventLevel.Informational, Message = "Hub {0}: {3} {1} ({4}) spawned by {2}")]
    public void FiberSpawn(int HubId, long FiberId, long SpawnerId, string Kind, string Name)
    {
        fixed (char* kind = Kind)
        fixed (char* name = Name)
        {
            EventData* d = stackalloc EventData[5];
            Set(d, &HubId);
            Set(d + 1, &FiberId);
            Set(d + 2, &SpawnerId);
            Set(d + 3, kind, Kind);
            Set(d + 4, name, Name);
            WriteEventCore(FiberSpawnId, 5, d);
        }
    }

    [Event(FiberExitId, Level = EventLevel.Informational, Message = "Hub {0}: fiber {1} ended ({2})")]
    public void FiberExit(int HubId, long FiberId, FiberOutcome Outcome)
    {
        int outcome = (int)Outcome;
        EventData* d = stackalloc EventData[3];
        Set(d, &HubId);
        Set(d + 1, &FiberId);
        Set(d + 2, &outcome);
        WriteEventCore(FiberExitId, 3, d);
    }

    [Event(FiberSwitchId, Level = EventLevel.Verbose, Keywords = Keywords.Switch, Message = "Hub {0}: {1} -> {2}")]
    public void FiberSwitch(int HubId, long FromId, long ToId)
    {
        EventData* d = stackalloc EventData[3];
        Set(d, &HubId);
        Set(d + 1, &FromId);
        Set(d + 2, &ToId);
        WriteEventCore(FiberSwitchId, 3, d);
    }

    [Event(HubLoopIterationId, Level = EventLevel.Verbose, Keywords = Keywords.Scheduler,
           Message = "Hub {0}: ran {1}, ready {2}, timers {3}, I/O waits {4}, slept {6} ms (timeout {5} ms)")]
    public void HubLoopIteration(int HubId, int Ran, int Ready, int Timers, int IoWaiters, int WaitTimeoutMs, double WaitedMs)
    {
        EventData* d = stackalloc EventData[7];
        Set(d, &HubId);
        Set(d + 1, &Ran);
        Set(d + 2, &Ready);
        Set(d + 3, &Timers);
        Set(d + 4, &IoWaiters);
        Set(d + 5, &WaitTimeoutMs);
        Set(d + 6, &WaitedMs);
        WriteEventCore(HubLoopIterationId, 7, d);
    }

    [Event(BlockingReportId, Level = EventLevel.Warning, Message = "Hub {0}: fiber {1} blocked the hub for {2} ms")]
    public void BlockingReport(int HubId, long FiberId, double DurationMs, string StackTrace)
    {
        fixed (char* st = StackTrace)
        {
            EventData* d = stackalloc EventData[4];
            Set(d, &HubId);
            Set(d + 1, &FiberId);
            Set(d + 2, &DurationMs);
            Set(d + 3, st, StackTrace);
            WriteEventCore(BlockingReportId, 4, d);
        }
    }

    [Event(UnhandledFiberExceptionId, Level = EventLevel.Error, Message = "Hub {0}: fiber {1} failed with {2}: {3}")]
    public void UnhandledFiberException(int HubId, long FiberId, string ExceptionType, string Message)
    {
        fixed (char* type = ExceptionType)
        fixed (char* message = Message)
        {
            EventData* d = stackalloc EventData[4];
            Set(d, &HubId);
            Set(d + 1, &FiberId);
            Set(d + 2, type, ExceptionType);
            Set(d + 3, message, Message);
            WriteEventCore(UnhandledFiberExceptionId, 4, d);
        }
    }

    [Event(RunInfoHubId, Level = EventLevel.Informational, Message = "Run info {0}: hub {1}: {7}")]
    public void RunInfoHub(int DumpId, int HubId, int ManagedThreadId, int Greenlets, int Ready, int Timers, int IoWaiters, string Status)
    {
        fixed (char* status = Status)
        {
            EventData* d = stackalloc EventData[8];
            Set(d, &DumpId);
            Set(d + 1, &HubId);
            Set(d + 2, &ManagedThreadId);
            Set(d + 3, &Greenlets);
            Set(d + 4, &Ready);
            Set(d + 5, &Timers);
            Set(d + 6, &IoWaiters);
            Set(d + 7, status, Status);
            WriteEventCore(RunInfoHubId, 8, d);
        }
    }

    [Event(RunInfoFiberId, Level = EventLevel.Informational, Message = "Run info {0}: hub {1}: #{2} {3} ({4}) {5} {6}")]
    public void RunInfoFiber(int DumpId, int HubId, long FiberId, string Name, string Kind, string State, string WaitsOn, string SpawnSite, string StackTrace)
    {
        fixed (char* name = Name)
        fixed (char* kind = Kind)
        fixed (char* state = State)
        fixed (char* waits = WaitsOn)
        fixed (char* spawn = SpawnSite)
        fixed (char* stack = StackTrace)
        {
            EventData* d = stackalloc EventData[9];
            Set(d, &DumpId);
            Set(d + 1, &HubId);
            Set(d + 2, &FiberId);
            Set(d + 3, name, Name);
            Set(d + 4, kind, Kind);
            Set(d + 5, state, State);
            Set(d + 6, waits, WaitsOn);
            Set(d + 7, spawn, SpawnSite);
            Set(d + 8, stack, StackTrace);
            WriteEventCore(RunInfoFiberId, 9, d);
        }
    }

    private static void Set<T>(EventData* d, T* value) where T : unmanaged
    {
        d->DataPointer = (nint)value;
        d->Size = sizeof(T);
    }

    private static void Set(EventData* d, char* chars, string s)
    {
        d->DataPointer = (nint)chars;
        d->Size = (s.Length + 1) * sizeof(char);
    }
}
