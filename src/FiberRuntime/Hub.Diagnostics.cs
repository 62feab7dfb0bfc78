using System.Diagnostics;
using FiberRuntime.Diagnostics;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

// What diagnostics read from a hub: its id, the registry of live hubs, the loop's counters and the run-info snapshot.
// The counters are plain fields written by the hub thread only; other threads read them racily (an int or a long
// is read whole on x64 and arm64), which is all a periodic counter needs.
public sealed partial class Hub
{
    private static int s_nextHubId;
    private static readonly Lock s_registryLock = new();
    private static Hub[] s_liveHubs = [];
    private static long s_switchesOfStoppedHubs, s_reactorWaitsOfStoppedHubs;

    private long _reactorWaits;          // reactor (epoll) waits made, polls included
    private long _idleTicks;             // Stopwatch ticks spent asleep in the reactor (waits with a timeout)
    private long _sleepingSince;         // when the current sleep began; 0 while awake
    private long _registeredAt;
    private volatile bool _stopping;     // main has returned: no more run-info requests
    private bool _captureWaitStacks;

    /// <summary>A number that identifies the hub in diagnostics (events, run-info dumps): unique in the process,
    /// in creation order.</summary>
    public int Id { get; } = Interlocked.Increment(ref s_nextHubId);

    /// <summary>The hubs that are running now (a snapshot), in start order.</summary>
    public static IReadOnlyList<Hub> LiveHubs => Volatile.Read(ref s_liveHubs);

    private void Register()
    {
        _captureWaitStacks = _options.CaptureWaitStacks;
        _registeredAt = Now;
        FiberRuntimeEventSource log = FiberRuntimeEventSource.Log;     // created here, so sessions can find it
        lock (s_registryLock) s_liveHubs = [.. s_liveHubs, this];
        RunInfo.EnableSignalFromEnvironment();
        if (FiberRuntimeEventSource.LifecycleEnabled)
            log.HubStarted(Id, _threadId, _options.MaxFibers, _options.StackSize);
    }

    /// <summary>Hub thread, before its memory is released: no counter may read the native hub after this.</summary>
    private void Unregister()
    {
        ulong switches;
        lock (s_registryLock)
        {
            s_liveHubs = Array.FindAll(s_liveHubs, h => !ReferenceEquals(h, this));
            switches = GetStats().Switches;
            // what this hub did stays in the totals: a rate must not go negative when a hub stops
            s_switchesOfStoppedHubs += (long)switches;
            s_reactorWaitsOfStoppedHubs += _reactorWaits;
        }
        if (FiberRuntimeEventSource.LifecycleEnabled) FiberRuntimeEventSource.Log.HubStopped(Id, (long)switches);
    }

    /// <summary>Sleeps in (or, with a zero timeout, polls) the reactor, counting the wait and the time asleep.
    /// Returns the ticks spent asleep (0 for a poll).</summary>
    private long WaitInReactor(IReactor reactor, int timeoutMs)
    {
        _reactorWaits++;
        if (timeoutMs == 0)
        {
            reactor.Wait(this, 0);
            return 0;
        }
        long start = Now;
        Volatile.Write(ref _sleepingSince, start);
        reactor.Wait(this, timeoutMs);
        long slept = Now - start;
        Volatile.Write(ref _sleepingSince, 0);
        Volatile.Write(ref _idleTicks, _idleTicks + slept);
        return slept;
    }

    private void TraceLoopIteration(int ran, int timeoutMs, long sleptTicks) =>
        FiberRuntimeEventSource.Log.HubLoopIteration(Id, ran, _ready.Count, _timers.Count, _reactor!.IoWaiters, timeoutMs,
                                                     sleptTicks * 1000.0 / Stopwatch.Frequency);

    /// <summary>Started, unfinished greenlets other than the hub's loop (the main greenlet included). Racy read.</summary>
    internal int LiveGreenletsRacy
    {
        get
        {
            Greenlet? loop = _loop;
            return _live - (loop is { Slot: >= 0 } ? 1 : 0) + 1;
        }
    }

    internal int ReadyCountRacy => _ready.Count;

    internal int TimerCountRacy => _timers.Count;

    internal int IoWaitersRacy => _reactor?.IoWaiters ?? 0;

    internal long ReactorWaitsRacy => Volatile.Read(ref _reactorWaits);

    /// <summary>Ticks asleep in the reactor since the hub started, the current sleep included. Racy read.</summary>
    internal long IdleTicksRacy(long now)
    {
        long since = Volatile.Read(ref _sleepingSince);
        long idle = Volatile.Read(ref _idleTicks);
        return since != 0 && now > since ? idle + (now - since) : idle;
    }

    internal long RegisteredAt => _registeredAt;

    internal static long TotalSwitches()
    {
        lock (s_registryLock)
        {
            long total = s_switchesOfStoppedHubs;
            foreach (Hub hub in s_liveHubs) total += (long)hub.GetStats().Switches;
            return total;
        }
    }

    internal static long TotalReactorWaits()
    {
        lock (s_registryLock)
        {
            long total = s_reactorWaitsOfStoppedHubs;
            foreach (Hub hub in s_liveHubs) total += hub.ReactorWaitsRacy;
            return total;
        }
    }

    // ---- run info ------------------------------------------------------------------------------------------

    internal bool IsStopping => _stopping;

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

    /// <summary>Hub thread: what every greenlet of this hub is doing. Formatting (names, stacks) is left to the caller.</summary>
    internal RunInfo.RawHub Snapshot()
    {
        Greenlet current = CurrentGreenlet;
        var entries = new List<RunInfo.RawGreenlet>();
        var seen = new HashSet<Greenlet>(ReferenceEqualityComparer.Instance);
        void Add(Greenlet g, GreenletRunState state, string? waitsOn, StackTrace? stack)
        {
            if (seen.Add(g)) entries.Add(new RunInfo.RawGreenlet(g, state, waitsOn, g.DiagIfAny?.SpawnSite, stack));
        }
        for (int i = 0; i < _bySlot.Length; i++)
        {
            if (_bySlot[i] is not { IsDead: false } g) continue;
            if (ReferenceEquals(g, current))
            {
                // the dump runs on the hub thread: either the loop (a request from another thread) or the fiber
                // that asked; the latter's own stack is the one it is running on
                Add(g, GreenletRunState.Running, null, ReferenceEquals(g, _loop) ? null : new StackTrace(1, fNeedFileInfo: false));
                continue;
            }
            StackTrace? stack = g.DiagIfAny?.SuspendedStack;
            if (g.IsParked) Add(g, g.WakePending ? GreenletRunState.Ready : GreenletRunState.Parked, DescribeWait(g), stack);
            else if (g.WakePending) Add(g, GreenletRunState.Ready, null, stack);
            else Add(g, GreenletRunState.Suspended, "a switch (suspended in Greenlet.Switch)", stack);
        }
        foreach (ReadyItem item in _ready)
            if (item.Target is { IsDead: false, IsNotStarted: true } g) Add(g, GreenletRunState.NotStarted, "its start (in the run queue)", null);
        foreach (HubTimer t in _timers.Items)
        {
            if (t is Fiber.StartTimer { Target: { IsDead: false, IsNotStarted: true } f })
                Add(f, GreenletRunState.NotStarted,
                    $"its start in {Math.Max(0, (t.Due - Now) * 1000.0 / Stopwatch.Frequency):F0} ms (SpawnLater)", null);
        }
        return new RunInfo.RawHub(this, entries, _ready.Count, _timers.Count, _reactor?.IoWaiters ?? 0);
    }
}
