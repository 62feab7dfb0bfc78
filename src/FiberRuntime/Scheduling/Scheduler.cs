using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using FiberRuntime.Diagnostics;

namespace FiberRuntime.Scheduling;

/// <summary>
/// A hub's scheduler (gevent's hub loop): the loop greenlet, its ready queue, timers, the reactor it sleeps in, the
/// inbox other threads post to, and deadlock detection. The waiting protocol is in Scheduler.Waiting.cs; switching
/// is the <see cref="Hub"/>'s. Every member but <see cref="Post"/> and the racy counters runs on the hub thread.
/// </summary>
internal sealed partial class Scheduler
{
    private readonly Hub _hub;
    private readonly ReadyQueue _ready = new();
    private readonly TimerHeap _timers = new();
    private readonly ConcurrentQueue<Action> _inbox = new();
    private WaitQueue? _spareWaitQueue;
    private IReactor? _reactor;
    private Greenlet? _loop;
    private int _keepAlive;              // outstanding things that may wake the hub from outside (Task awaits, ...)
    internal bool IsDefaultHub;          // the default hub's main parks forever on purpose: never a deadlock

    // counters: written by the hub thread only, read racily by diagnostics (an int or a long is read whole on x64 and arm64)
    private long _reactorWaits;          // reactor (epoll) waits made, polls included
    private long _idleTicks;             // Stopwatch ticks spent asleep in the reactor (waits with a timeout)
    private long _sleepingSince;         // when the current sleep began; 0 while awake
    private long _startedAt;

    // the blocking monitor (HubOptions.MaxBlockingTime)
    private bool _monitored;
    private long _runningSince;          // when the thread was handed to the running greenlet; 0 while the loop runs
    private Greenlet? _monitoredRunner;  // the greenlet whose run _runningSince times
    private int _blockedFlag;            // set by the monitor thread: the current run is over the limit
    private string? _blockedTrace;

    internal Scheduler(Hub hub)
    {
        _hub = hub;
    }

    /// <summary>Hub thread, before main runs: the reactor to sleep in, and whether the blocking monitor watches.</summary>
    internal void Start(IReactor reactor, bool monitored)
    {
        _reactor = reactor;
        _monitored = monitored;
        _startedAt = Hub.Now;
    }

    /// <summary>Hub thread, once every greenlet has finished.</summary>
    internal void Stop() => _reactor?.Dispose();

    internal Greenlet LoopGreenlet => _loop ??= new HubLoopGreenlet(_hub, this);

    /// <summary>The loop greenlet if it was ever needed (nothing has waited yet otherwise).</summary>
    internal Greenlet? LoopIfCreated => _loop;

    // ---- the ready queue, timers and the inbox ------------------------------------------------------------

    /// <summary>Resumes <paramref name="g"/>'s wait <paramref name="token"/> with a value (or an exception), once.
    /// Returns false when that wait is over or already being resumed.</summary>
    internal bool Wake(Greenlet g, int token, object? value = null, Exception? error = null)
    {
        ref WaitState w = ref g.Waiting;
        if (w.Token != token || w.WakePending || g.IsDead) return false;
        w.WakePending = true;
        if (error is null) _ready.Enqueue(g, value, token, isError: false);
        else _ready.Enqueue(g, error, token, isError: true);
        return true;
    }

    /// <summary>Ends whatever <paramref name="g"/> waits for and resumes it with <paramref name="error"/>: a kill.
    /// Registrations of its current wait go stale.</summary>
    internal void Interrupt(Greenlet g, Exception error)
    {
        ref WaitState w = ref g.Waiting;
        int token = ++w.Token;
        w.WakePending = true;
        _ready.Enqueue(g, error, token, isError: true);
    }

    /// <summary>Schedules a greenlet that has not started (a spawned fiber) to start with <paramref name="argument"/>.</summary>
    internal void ScheduleStart(Greenlet g, object? argument = null)
    {
        g.Waiting.WakePending = true;
        _ready.Enqueue(g, argument, g.Waiting.Token, isError: false);
    }

    /// <summary>Runs <paramref name="callback"/> on the hub loop soon (after what is already queued).</summary>
    internal void ScheduleCallback(Action<object?> callback, object? state)
    {
        _ready.Enqueue(callback, state, 0, isError: false);
    }

    /// <summary>An empty wait queue, reused: a fiber's joiners use one each, from the first join to the fiber's end,
    /// and spawn-and-join would otherwise allocate one per fiber.</summary>
    internal WaitQueue RentWaitQueue()
    {
        WaitQueue? q = _spareWaitQueue;
        if (q is null) return new WaitQueue();
        _spareWaitQueue = null;
        return q;
    }

    /// <summary>Gives back a queue that is empty and that nothing will link a node into again. A waiter woken from it
    /// may still call <see cref="WaitQueue.Remove"/> on it: a no-op, its node is in no queue.</summary>
    internal void ReturnWaitQueue(WaitQueue q)
    {
        if (q.IsEmpty) _spareWaitQueue = q;
    }

    internal void StartTimer(HubTimer timer, TimeSpan delay) => _timers.Add(timer, Hub.DueAfter(delay));

    internal void CancelTimer(HubTimer timer) => _timers.Remove(timer);

    /// <summary>Runs <paramref name="action"/> on the hub thread (thread-safe, from any thread).</summary>
    internal void Post(Action action)
    {
        _inbox.Enqueue(action);
        _reactor?.Wake();
    }

    /// <summary>Something outside the hub (a Task, another thread) will wake it: do not declare a deadlock while
    /// any is outstanding.</summary>
    internal void AddKeepAlive() => _keepAlive++;

    internal void ReleaseKeepAlive() => _keepAlive--;

    // ---- the loop ----------------------------------------------------------------------------------------

    private sealed class HubLoopGreenlet : Greenlet
    {
        private readonly Scheduler _scheduler;

        internal HubLoopGreenlet(Hub hub, Scheduler scheduler) : base(hub, hub.RootGreenlet)
        {
            _scheduler = scheduler;
            if (FiberRuntimeEventSource.LifecycleEnabled) FiberRuntimeEventSource.Log.FiberSpawn(hub.Id, Id, hub.RootGreenlet.Id, Kind, Kind);
        }

        internal override string Kind => "hub loop";

        internal override bool RecordsWaitStacks => false;

        protected override object? Run(object? argument)
        {
            _scheduler.RunLoop();
            return null;
        }
    }

    /// <summary>The hub loop, libuv's order: run due timers, take work posted from other threads, run a round of what
    /// is ready (bounded: see <see cref="RunReady"/>), then sleep in the reactor until the next timer or a wake-up (or,
    /// when work is still ready, only poll it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunLoop()
    {
        IReactor reactor = _reactor!;
        while (true)
        {
            if (_timers.Count > 0)
            {
                long now = Hub.Now;
                while (_timers.PopDue(now) is { } timer) RunGuarded(static t => ((HubTimer)t!).Fire(), timer);
            }
            if (!_inbox.IsEmpty)
                while (_inbox.TryDequeue(out Action? posted)) RunGuarded(static a => ((Action)a!)(), posted);

            int ran = RunReady();

            if (_ready.Count > 0 || !_inbox.IsEmpty)
            {
                if (reactor.IoWaiters > 0) WaitInReactor(reactor, 0);   // busy: still look at I/O every round
                if (FiberRuntimeEventSource.LoopEnabled) TraceLoopIteration(ran, 0, 0);
                continue;
            }
            int timeout = MillisecondsUntilNextTimer();
            if (timeout < 0 && _keepAlive == 0 && reactor.IoWaiters == 0 && !IsDefaultHub && ReportBlockedForever()) continue;
            _hub.TrimStacks();      // going idle: give finished fibers' stack pages back, in one batch
            long slept = WaitInReactor(reactor, timeout);
            if (FiberRuntimeEventSource.LoopEnabled) TraceLoopIteration(ran, timeout, slept);
        }
    }

    private int MillisecondsUntilNextTimer()
    {
        if (_timers.Peek() is not { } next) return -1;
        long ticks = next.Due - Hub.Now;
        if (ticks <= 0) return 0;
        // in double: ticks * 1000 overflows a long for timers a few months away (Stopwatch.Frequency is 1e9 here)
        return (int)Math.Min(int.MaxValue, Math.Ceiling(ticks * 1000.0 / Stopwatch.Frequency));
    }

    /// <summary>Runs a round of the ready queue: as many entries as were ready when it began, or
    /// <see cref="HandOffsPerRound"/> if that is more. Greenlets that suspend meanwhile switch straight to the next entry
    /// (<see cref="TakeHandOff"/>), spending the same budget; control comes back here when it is spent, when the next
    /// entry is a callback, or when nothing is ready. Returns how many entries ran.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int RunReady()
    {
        _roundLeft = Math.Max(_ready.Count, HandOffsPerRound);
        _ranInRound = 0;
        while (_roundLeft > 0 && _ready.Count > 0)
        {
            ref ReadyQueue.Entry e = ref _ready.Head;
            if (e.Item is Action<object?> callback)
            {
                object? state = e.Arg;
                _ready.DropHead();
                _roundLeft--;
                _ranInRound++;
                RunGuarded(callback, state);
                continue;
            }
            // the value and exception go through fields, not out-locals: this frame stays suspended while g runs
            if (TakeGreenlet(ref e) is { } g) RunItem(g);
        }
        _roundLeft = 0;
        return _ranInRound;
    }

    /// <summary>Runs <paramref name="g"/> with the wake-up RunReady left in the hand-off fields (no hand-off is in flight:
    /// the loop's own switch). Nothing after the switch names <paramref name="g"/> or its value: the loop's frame stays
    /// suspended while greenlets run, and must not keep the last one it ran alive — which also needs the loop's frames
    /// fully optimized from their first call: unoptimized (Tier0) code reports every local for the whole method.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunItem(Greenlet g)
    {
        object? value = _handOffValue;
        Exception? error = _handOffError;
        ClearHandOff();
        if (_monitored) BeginMonitoredRun(g);
        try
        {
            // a scheduled fiber that cannot get a stack (MaxFibers reached, memory) fails with the reason, so its
            // joiners wake and see it, instead of waiting for a fiber that will never run
            if (g is Fiber { IsNotStarted: true, IsDead: false } f && !StartOrFail(f)) return;
            _hub.Transfer(_loop!, g, value, error);
        }
        catch (Exception e) when (e is not GreenletExit)
        {
            // an exception raised in the loop: a raw greenlet whose parent is the loop died with it.
            // (GreenletExit is the hub shutting the loop down: it ends RunLoop.)
            ReportLoopError(e);
        }
        finally
        {
            if (_monitored) EndMonitoredRun();
        }
    }

    private bool StartOrFail(Fiber f)
    {
        try
        {
            _hub.StartContext(f);
            return true;
        }
        catch (Exception e)
        {
            f.FailToStart(e);
            return false;
        }
    }

    /// <summary>Sleeps in (or, with a zero timeout, polls) the reactor, counting the wait and the time asleep.
    /// Returns the ticks spent asleep (0 for a poll).</summary>
    private long WaitInReactor(IReactor reactor, int timeoutMs)
    {
        _reactorWaits++;
        if (timeoutMs == 0)
        {
            reactor.Wait(0);
            return 0;
        }
        long start = Hub.Now;
        Volatile.Write(ref _sleepingSince, start);
        reactor.Wait(timeoutMs);
        long slept = Hub.Now - start;
        Volatile.Write(ref _sleepingSince, 0);
        Volatile.Write(ref _idleTicks, _idleTicks + slept);
        return slept;
    }

    private void TraceLoopIteration(int ran, int timeoutMs, long sleptTicks) =>
        FiberRuntimeEventSource.Log.HubLoopIteration(_hub.Id, ran, _ready.Count, _timers.Count, _reactor!.IoWaiters, timeoutMs,
                                                     sleptTicks * 1000.0 / Stopwatch.Frequency);

    private static void RunGuarded(Action<object?> action, object? state)
    {
        try
        {
            action(state);
        }
        catch (Exception e)
        {
            ReportLoopError(e);
        }
    }

    private static void ReportLoopError(Exception e)
    {
        try
        {
            Console.Error.WriteLine($"FiberRuntime: an exception escaped into the hub loop and was ignored: {e}");
        }
        catch (IOException)
        {
            // standard error cannot be opened (no descriptor free): the loop goes on without the report
        }
    }

    /// <summary>Nothing is ready, no timer is pending and nothing outside can wake the hub: every greenlet waits
    /// for another. gevent raises LoopExit in the main greenlet; so do we, naming what it waits for.</summary>
    private bool ReportBlockedForever()
    {
        Greenlet root = _hub.RootGreenlet;
        string waits = DescribeWait(root);
        var blocked = new LoopExitException(
            $"This operation would block forever: the hub's main greenlet waits for {waits}, and no other greenlet is ready, no timer is pending and no I/O or other thread can wake it.");
        if (root.Waiting.IsParked)
        {
            Interrupt(root, blocked);
            return true;
        }
        // main is suspended in a raw Switch: raise it there
        try
        {
            _hub.Transfer(_loop!, root, null, blocked);
        }
        catch (Exception e)
        {
            ReportLoopError(e);
        }
        return true;
    }

    // ---- the blocking monitor (HubOptions.MaxBlockingTime) -------------------------------------------------

    /// <summary>Monitor thread: flags the hub when its current run is over the limit.</summary>
    internal void CheckBlocking(long now)
    {
        long since = Volatile.Read(ref _runningSince);
        if (since != 0 && _hub.Options.MaxBlockingTime is { } max && now - since > max.TotalSeconds * Stopwatch.Frequency)
            Interlocked.CompareExchange(ref _blockedFlag, 1, 0);
    }

    /// <summary>The monitor has flagged the current run as over the limit (for tests).</summary>
    internal bool BlockingFlagged => Volatile.Read(ref _blockedFlag) == 1;

    /// <summary>Called by a greenlet about to yield: if the monitor flagged its run, note where it is.</summary>
    private void NoteBlockingSite()
    {
        if (Volatile.Read(ref _blockedFlag) == 1 && _blockedTrace is null)
            _blockedTrace = new StackTrace(2, fNeedFileInfo: true).ToString();
    }

    private void BeginMonitoredRun(Greenlet g)
    {
        _monitoredRunner = g;
        Volatile.Write(ref _runningSince, Hub.Now);
    }

    /// <summary>The loop has the thread back: ends the timed run, reporting it if the monitor flagged it.</summary>
    private void EndMonitoredRun()
    {
        Greenlet g = _monitoredRunner!;
        _monitoredRunner = null;
        long since = Volatile.Read(ref _runningSince);
        Volatile.Write(ref _runningSince, 0);
        if (Interlocked.Exchange(ref _blockedFlag, 0) == 0) return;
        var report = new BlockingReport(_hub, g, TimeSpan.FromSeconds((Hub.Now - since) / (double)Stopwatch.Frequency), _blockedTrace);
        _blockedTrace = null;
        if (FiberRuntimeEventSource.Log.IsEnabled(System.Diagnostics.Tracing.EventLevel.Warning, System.Diagnostics.Tracing.EventKeywords.None))
            FiberRuntimeEventSource.Log.BlockingReport(_hub.Id, g.Id, report.Duration.TotalMilliseconds, report.StackTrace ?? "");
        RunGuarded(static r => Hub.RaiseBlocked((BlockingReport)r!), report);
    }

    // ---- counters (racy reads from other threads) -----------------------------------------------------------

    internal int ReadyCountRacy => _ready.Count;

    internal int TimerCountRacy => _timers.Count;

    internal int IoWaitersRacy => _reactor?.IoWaiters ?? 0;

    internal long ReactorWaitsRacy => Volatile.Read(ref _reactorWaits);

    /// <summary>When the loop started, in <see cref="Hub.Now"/> ticks (the start of its idle-time accounting).</summary>
    internal long StartedAt => _startedAt;

    /// <summary>Ticks asleep in the reactor since the hub started, the current sleep included. Racy read.</summary>
    internal long IdleTicksRacy(long now)
    {
        long since = Volatile.Read(ref _sleepingSince);
        long idle = Volatile.Read(ref _idleTicks);
        return since != 0 && now > since ? idle + (now - since) : idle;
    }

    /// <summary>Hub thread: the greenlets in the ready queue that have not started (for run-info snapshots).</summary>
    internal IEnumerable<Greenlet> NotStartedInReadyQueue()
    {
        foreach (ReadyQueue.Entry e in _ready.Snapshot())
            if (e.Item is Greenlet { IsDead: false, IsNotStarted: true } g) yield return g;
    }

    /// <summary>Hub thread: the pending timers, in heap order (for run-info snapshots).</summary>
    internal ReadOnlySpan<HubTimer> Timers => _timers.Items;
}
