using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using FiberRuntime.Diagnostics;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

// The hub's scheduler: the loop greenlet, its run queue, timers and the reactor it sleeps in.
//
// Waiting protocol (every blocking primitive follows it; nothing is allocated per wait):
//   int token = hub.PrepareWait();              // a new wait of the current greenlet
//   ... register (greenlet, token) with whatever will wake it, maybe arm the greenlet's wait timer ...
//   object? v = hub.Park("FiberEvent.Wait");    // switch to the hub loop until woken; throws if woken with an error
//   ... unregister in a finally ...
// hub.Wake(greenlet, token, value) resumes that wait once (later wakes for the same token are ignored), in FIFO
// order through the run queue. A kill bumps the token (so every registration of the current wait goes stale)
// and resumes the greenlet with the exception.
public sealed partial class Hub
{
    private struct ReadyItem
    {
        public Greenlet? Target;
        public int Token;
        public object? Value;
        public Exception? Error;
        public Action<object?>? Callback;
        public object? State;
    }

    private readonly Queue<ReadyItem> _ready = new();
    private readonly TimerHeap _timers = new();
    private readonly ConcurrentQueue<Action> _inbox = new();
    private IReactor? _reactor;
    private Greenlet? _loop;
    private bool _isDefaultHub;
    private int _keepAlive;              // outstanding things that may wake the hub from outside (Task awaits, ...)

    /// <summary>Raised on the hub thread when a fiber ends with an exception (other than <see cref="GreenletExit"/>).
    /// Without a handler, the exception is written to standard error. Either way it stays on the fiber
    /// (<see cref="Fiber.Exception"/>) and never crashes the process.</summary>
    public static event Action<Fiber, Exception>? UnhandledFiberException;

    /// <summary>Current time of the hub's timers, in <see cref="Stopwatch"/> ticks (monotonic).</summary>
    internal static long Now => Stopwatch.GetTimestamp();

    internal static long DueAfter(TimeSpan delay) =>
        delay <= TimeSpan.Zero ? Now : Now + (long)Math.Min(delay.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 4.0);

    /// <summary>A deadline for a wait made of several steps: <paramref name="timeout"/> from now, in <see cref="Now"/>
    /// ticks, or <see cref="NoDeadline"/> when there is no limit (null or Timeout.InfiniteTimeSpan).</summary>
    internal static long DeadlineAfter(TimeSpan? timeout) =>
        timeout is { } t && t != System.Threading.Timeout.InfiniteTimeSpan ? DueAfter(t) : NoDeadline;

    internal const long NoDeadline = long.MaxValue;

    /// <summary>The time left before <paramref name="deadline"/> (never negative), or null for <see cref="NoDeadline"/>.</summary>
    internal static TimeSpan? TimeLeft(long deadline) =>
        deadline == NoDeadline ? null : TimeSpan.FromSeconds(Math.Max(0, (deadline - Now) / (double)Stopwatch.Frequency));

    internal Greenlet LoopGreenlet => _loop ??= new HubLoopGreenlet(this);

    // ---- waiting and waking (hub thread) -------------------------------------------------------------

    /// <summary>Starts a new wait of the running greenlet and returns its token.</summary>
    internal int PrepareWait()
    {
        Greenlet g = CurrentGreenlet;
        g.WakePending = false;
        return ++g.WaitToken;
    }

    /// <summary>Switches from the running greenlet to the hub loop until its current wait is woken; returns the
    /// value it was woken with, or throws the exception it was woken with.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal object? Park(string reason, object? subject = null)
    {
        Greenlet g = CurrentGreenlet;
        if (ReferenceEquals(g, _loop))
            throw new InvalidOperationException($"{reason}: the hub loop itself cannot block (this is a hub callback).");
        if (_monitored) NoteBlockingSite();
        if (g.PendingInterrupt is { } pending)
        {
            // a kill or timeout arrived while this greenlet was being woken: raise it here, at its next blocking
            // point, and void the wait it was about to start (any wake-up already queued for it goes stale)
            g.PendingInterrupt = null;
            g.WaitToken++;
            g.WakePending = false;
            ExceptionDispatchInfo.Throw(pending);
        }
        // reference stores only when they change: each costs a GC write barrier, and most waits repeat
        if (!ReferenceEquals(g.WaitReason, reason)) g.WaitReason = reason;
        if (!ReferenceEquals(g.WaitSubject, subject)) g.WaitSubject = subject;
        g.IsParked = true;
        try
        {
            return Transfer(g, LoopGreenlet, null, null);
        }
        finally
        {
            g.IsParked = false;
            if (g.WaitSubject is not null) g.WaitSubject = null;    // do not keep the subject alive
        }
    }

    /// <summary>What a parked greenlet waits for, for messages: its reason and subject.</summary>
    internal static string DescribeWait(Greenlet g) =>
        !g.IsParked || g.WaitReason is null ? "a switch" : g.WaitSubject is null ? g.WaitReason : $"{g.WaitReason}({g.WaitSubject})";

    /// <summary>Resumes <paramref name="g"/>'s wait <paramref name="token"/> with a value (or an exception), once.
    /// Returns false when that wait is over or already being resumed.</summary>
    internal bool Wake(Greenlet g, int token, object? value = null, Exception? error = null)
    {
        if (g.WaitToken != token || g.WakePending || g.IsDead) return false;
        g.WakePending = true;
        _ready.Enqueue(new ReadyItem { Target = g, Token = token, Value = value, Error = error });
        return true;
    }

    /// <summary>Ends whatever <paramref name="g"/> waits for and resumes it with <paramref name="error"/>: a kill.
    /// Registrations of its current wait go stale.</summary>
    internal void Interrupt(Greenlet g, Exception error)
    {
        int token = ++g.WaitToken;
        g.WakePending = true;
        _ready.Enqueue(new ReadyItem { Target = g, Token = token, Error = error });
    }

    /// <summary>Schedules a greenlet that has not started (a spawned fiber) to start with <paramref name="argument"/>.</summary>
    internal void ScheduleStart(Greenlet g, object? argument = null)
    {
        g.WakePending = true;
        _ready.Enqueue(new ReadyItem { Target = g, Token = g.WaitToken, Value = argument });
    }

    /// <summary>Runs <paramref name="callback"/> on the hub loop soon (after what is already queued).</summary>
    internal void ScheduleCallback(Action<object?> callback, object? state)
    {
        _ready.Enqueue(new ReadyItem { Callback = callback, State = state });
    }

    /// <summary>The common blocking wait: joins <paramref name="queue"/> (optionally offering <paramref name="item"/>),
    /// parks until woken or until <paramref name="timeout"/> passes, and leaves the queue whatever happened.
    /// Returns the wake-up value, or <see cref="WakeTimer.TimedOut"/>.</summary>
    // The wait paths are compiled fully optimized from their first call, with Park, Transfer and SwitchContexts
    // inlined into them (AggressiveInlining: a method marked AggressiveOptimization is never inlined itself, and
    // without profile data the JIT declines Park). A parked fiber keeps the frames it parked with for as long as it
    // waits, so fibers that park before tiering would keep Tier0 frames — more of them, each reporting every GC
    // slot — through every GC. A fiber parked on FiberEvent before tier-up: 16 managed frames before, 12 now (8 after
    // tier-up either way); gen0 GC CPU per such parked fiber about -30%.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal object? WaitOn(WaitQueue queue, TimeSpan? timeout, string reason, object? item = null, object? subject = null)
    {
        Greenlet g = CurrentGreenlet;
        int token = PrepareWait();
        WaitNode node = g.WaitNode;
        node.Token = token;
        node.Item = item;
        queue.Enqueue(node);
        WakeTimer? timer = null;
        if (timeout is { } t && t != System.Threading.Timeout.InfiniteTimeSpan)
        {
            timer = g.WakeTimer;
            timer.Token = token;
            StartTimer(timer, t);
        }
        try
        {
            return Park(reason, subject);
        }
        finally
        {
            queue.Remove(node);
            if (timer is not null) CancelTimer(timer);
        }
    }

    /// <summary>Parks the running greenlet for <paramref name="delay"/> (a timer wakes it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void SleepFor(TimeSpan delay, string reason)
    {
        Greenlet g = CurrentGreenlet;
        int token = PrepareWait();
        if (delay == System.Threading.Timeout.InfiniteTimeSpan)
        {
            Park(reason);               // until killed (or reported as blocking forever)
            return;
        }
        if (delay <= TimeSpan.Zero)
        {
            Wake(g, token);             // to the back of the ready queue
            Park(reason);
            return;
        }
        WakeTimer timer = g.WakeTimer;
        timer.Token = token;
        StartTimer(timer, delay);
        try
        {
            Park(reason);
        }
        finally
        {
            CancelTimer(timer);
        }
    }

    /// <summary>Suspends the calling fiber until <paramref name="fd"/> is readable (data, end of stream or an error to
    /// read), or <paramref name="timeout"/> passes; true if it became ready. Lets other libraries' non-blocking
    /// descriptors cooperate with fibers. On a thread that is not a hub it blocks the thread (poll).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fd"/> or <paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">Another fiber already waits for this descriptor to become readable.</exception>
    /// <exception cref="IOException">The descriptor cannot be waited on (closed, or a regular file).</exception>
    public static bool WaitReadable(int fd, TimeSpan? timeout = null) => WaitDescriptor(fd, write: false, timeout);

    /// <summary>Suspends the calling fiber until <paramref name="fd"/> is writable (or failed), or
    /// <paramref name="timeout"/> passes; true if it became ready. See <see cref="WaitReadable"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fd"/> or <paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">Another fiber already waits for this descriptor to become writable.</exception>
    /// <exception cref="IOException">The descriptor cannot be waited on (closed, or a regular file).</exception>
    public static bool WaitWritable(int fd, TimeSpan? timeout = null) => WaitDescriptor(fd, write: true, timeout);

    private static bool WaitDescriptor(int fd, bool write, TimeSpan? timeout)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        ValidateTimeout(timeout);
        if (Current is not { } hub) return EpollReactor.PollBlocking(fd, write, timeout);
        Greenlet g = hub.CurrentGreenlet;
        int token = hub.PrepareWait();
        object w = hub._reactor!.Arm(fd, write, g, token);
        WakeTimer? timer = null;
        if (timeout is { } t && t != System.Threading.Timeout.InfiniteTimeSpan)
        {
            timer = g.WakeTimer;
            timer.Token = token;
            hub.StartTimer(timer, t);
        }
        try
        {
            return !ReferenceEquals(hub.Park(write ? "Hub.WaitWritable" : "Hub.WaitReadable"), WakeTimer.TimedOut);
        }
        finally
        {
            hub._reactor.Disarm(w, write, g);
            if (timer is not null) hub.CancelTimer(timer);
        }
    }

    /// <summary>Wakes the fibers waiting on <paramref name="fd"/> with <paramref name="error"/>: call before closing a
    /// descriptor that fibers of this hub may be waiting on.</summary>
    internal void CancelDescriptorWaits(int fd, Exception error) => _reactor?.Cancel(this, fd, error);

    /// <summary>Raises <paramref name="error"/> in <paramref name="g"/> at its current (or next) blocking point; a
    /// wake-up already on its way is delivered first, so nothing it was handed is lost.</summary>
    internal void InterruptSoon(Greenlet g, Exception error)
    {
        if (g.IsDead) return;
        if (g.WakePending) g.PendingInterrupt ??= error;     // raised by its next Park
        else Interrupt(g, error);
    }

    /// <summary>Checks a user-supplied timeout: null or <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> mean
    /// none; other negative values are refused.</summary>
    internal static void ValidateTimeout(TimeSpan? timeout, string paramName = "timeout")
    {
        if (timeout is { } t && t < TimeSpan.Zero && t != System.Threading.Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(paramName, t, "A timeout must be non-negative, or Timeout.InfiniteTimeSpan.");
    }

    internal void StartTimer(HubTimer timer, TimeSpan delay) => _timers.Add(timer, DueAfter(delay));

    internal void CancelTimer(HubTimer timer) => _timers.Remove(timer);

    /// <summary>Runs <paramref name="action"/> on this hub's thread (thread-safe, from any thread).</summary>
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
        internal HubLoopGreenlet(Hub hub) : base(hub, hub.RootGreenlet)
        {
            if (FiberRuntimeEventSource.LifecycleEnabled) FiberRuntimeEventSource.Log.FiberSpawn(hub.Id, Id, hub.RootGreenlet.Id, Kind, Kind);
        }

        internal override string Kind => "hub loop";

        protected override object? Run(object? argument)
        {
            Hub.RunLoop();
            return null;
        }
    }

    /// <summary>The hub loop, libuv's order: run due timers, take work posted from other threads, run what is
    /// ready, then sleep in the reactor until the next timer or a wake-up.</summary>
    private void RunLoop()
    {
        IReactor reactor = _reactor!;
        while (true)
        {
            if (_timers.Count > 0)
            {
                long now = Now;
                while (_timers.PopDue(now) is { } timer) RunGuarded(static t => ((HubTimer)t!).Fire(), timer);
            }
            if (!_inbox.IsEmpty)
                while (_inbox.TryDequeue(out Action? posted)) RunGuarded(static a => ((Action)a!)(), posted);

            // run what was ready when this round began; what becomes ready meanwhile waits for the next round,
            // so timers and posted work are never starved
            int ran = _ready.Count;
            for (int n = ran; n > 0 && _ready.TryDequeue(out ReadyItem item); n--) RunItem(item);

            if (_ready.Count > 0 || !_inbox.IsEmpty)
            {
                if (reactor.IoWaiters > 0) WaitInReactor(reactor, 0);   // busy: still look at I/O every round
                if (FiberRuntimeEventSource.LoopEnabled) TraceLoopIteration(ran, 0, 0);
                continue;
            }
            int timeout = MillisecondsUntilNextTimer();
            if (timeout < 0 && _keepAlive == 0 && reactor.IoWaiters == 0 && !_isDefaultHub && ReportBlockedForever()) continue;
            TrimStacks();           // going idle: give finished fibers' stack pages back, in one batch
            long slept = WaitInReactor(reactor, timeout);
            if (FiberRuntimeEventSource.LoopEnabled) TraceLoopIteration(ran, timeout, slept);
        }
    }

    private int MillisecondsUntilNextTimer()
    {
        if (_timers.Peek() is not { } next) return -1;
        long ticks = next.Due - Now;
        if (ticks <= 0) return 0;
        // in double: ticks * 1000 overflows a long for timers a few months away (Stopwatch.Frequency is 1e9 here)
        return (int)Math.Min(int.MaxValue, Math.Ceiling(ticks * 1000.0 / Stopwatch.Frequency));
    }

    private void RunItem(in ReadyItem item)
    {
        if (item.Callback is { } cb)
        {
            RunGuarded(cb, item.State);
            return;
        }
        Greenlet g = item.Target!;
        if (g.IsDead || g.WaitToken != item.Token) return;      // resumed another way, or killed meanwhile
        g.WakePending = false;
        if (_monitored) Volatile.Write(ref _runningSince, Now);
        try
        {
            Transfer(_loop!, g, item.Value, item.Error);
        }
        catch (Exception e) when (e is not GreenletExit)
        {
            // a scheduled fiber that could not get a stack (MaxFibers reached, memory): it fails with the reason, so its
            // joiners wake and see it, instead of waiting for a fiber that will never run
            if (g is Fiber f && f.IsNotStarted && !f.IsDead) f.FailToStart(e);
            // an exception raised in the loop: a raw greenlet whose parent is the loop died with it.
            // (GreenletExit is the hub shutting the loop down: it ends RunLoop.)
            else ReportLoopError(e);
        }
        finally
        {
            if (_monitored) EndMonitoredRun(g);
        }
    }

    // ---- the blocking monitor (HubOptions.MaxBlockingTime) -------------------------------------------------

    private bool _monitored;
    private long _runningSince;          // when the loop handed the thread to a greenlet; 0 while the loop runs
    private int _blockedFlag;            // set by the monitor thread: the current run is over the limit
    private string? _blockedTrace;

    /// <summary>Raised on the hub thread when a fiber kept it longer than <see cref="HubOptions.MaxBlockingTime"/>.
    /// Without a handler the report is written to standard error.</summary>
    public static event Action<Diagnostics.BlockingReport>? Blocked;

    /// <summary>Monitor thread: flags the hub when its current run is over the limit.</summary>
    internal void CheckBlocking(long now)
    {
        long since = Volatile.Read(ref _runningSince);
        if (since != 0 && _options.MaxBlockingTime is { } max && now - since > max.TotalSeconds * Stopwatch.Frequency)
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

    private void EndMonitoredRun(Greenlet g)
    {
        long since = Volatile.Read(ref _runningSince);
        Volatile.Write(ref _runningSince, 0);
        if (Interlocked.Exchange(ref _blockedFlag, 0) == 0) return;
        var report = new Diagnostics.BlockingReport(this, g, TimeSpan.FromSeconds((Now - since) / (double)Stopwatch.Frequency), _blockedTrace);
        _blockedTrace = null;
        if (FiberRuntimeEventSource.Log.IsEnabled(System.Diagnostics.Tracing.EventLevel.Warning, System.Diagnostics.Tracing.EventKeywords.None))
            FiberRuntimeEventSource.Log.BlockingReport(Id, g.Id, report.Duration.TotalMilliseconds, report.StackTrace ?? "");
        if (Blocked is { } handler) RunGuarded(static s => { var (h, r) = ((Action<Diagnostics.BlockingReport>, Diagnostics.BlockingReport))s!; h(r); }, (handler, report));
        else Console.Error.WriteLine(report);
    }

    private void RunGuarded(Action<object?> action, object? state)
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
        Greenlet root = _root!;
        string waits = DescribeWait(root);
        var blocked = new LoopExitException(
            $"This operation would block forever: the hub's main greenlet waits for {waits}, and no other greenlet is ready, no timer is pending and no I/O or other thread can wake it.");
        if (root.IsParked)
        {
            Interrupt(root, blocked);
            return true;
        }
        // main is suspended in a raw Switch: raise it there
        try
        {
            Transfer(_loop!, root, null, blocked);
        }
        catch (Exception e)
        {
            ReportLoopError(e);
        }
        return true;
    }

    internal static void ReportFiberException(Fiber fiber, Exception e)
    {
        if (FiberRuntimeEventSource.Log.IsEnabled(System.Diagnostics.Tracing.EventLevel.Error, System.Diagnostics.Tracing.EventKeywords.None))
            FiberRuntimeEventSource.Log.UnhandledFiberException(fiber.Hub.Id, fiber.Id, e.GetType().FullName ?? e.GetType().Name, e.Message);
        Action<Fiber, Exception>? handler = UnhandledFiberException;
        if (handler is not null)
        {
            try
            {
                handler(fiber, e);
                return;
            }
            catch (Exception inHandler)
            {
                Console.Error.WriteLine($"FiberRuntime: the UnhandledFiberException handler threw: {inHandler}");
            }
        }
        Console.Error.WriteLine($"FiberRuntime: {fiber} failed with {e}");
    }

    // ---- the default hub: where fibers spawned from ordinary threads run ----------------------------------

    private static readonly Lock s_defaultLock = new();
    private static Hub? s_default;

    /// <summary>The process-wide hub that runs fibers spawned from threads that are not hubs (e.g. <c>Main</c>).
    /// Started on first use on a background thread; its main greenlet only keeps it alive.</summary>
    public static Hub Default
    {
        get
        {
            if (Volatile.Read(ref s_default) is { } hub) return hub;
            lock (s_defaultLock)
            {
                if (s_default is not null) return s_default;
                using var started = new ManualResetEventSlim();
                Hub? created = null;
                Exception? failure = null;
                var thread = new Thread(() =>
                {
                    try
                    {
                        Run(() =>
                        {
                            created = Current!;
                            created._isDefaultHub = true;
                            started.Set();
                            while (true) created.Park("the process to exit (default hub)");
                        });
                    }
                    catch (Exception e)
                    {
                        failure = e;
                        started.Set();
                    }
                }) { IsBackground = true, Name = "FiberRuntime default hub starter" };
                thread.Start();
                started.Wait();
                if (failure is not null) throw failure is PlatformNotSupportedException ? failure : new InvalidOperationException("The default hub could not start.", failure);
                Volatile.Write(ref s_default, created);
                return created!;
            }
        }
    }

    /// <summary>The hub the calling thread's fiber operations act on: its own hub, or <see cref="Default"/>.</summary>
    internal static Hub ForCaller => Current ?? Default;

    /// <summary>True when the caller is a greenlet of this hub (it may block by parking); false on other threads.</summary>
    internal bool IsCallerOnHub
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ReferenceEquals(Current, this);
    }
}

/// <summary>gevent's <c>LoopExit</c>: the operation would block forever, because every greenlet of the hub
/// waits and nothing (no ready greenlet, timer, I/O or other thread) can wake any of them.</summary>
public sealed class LoopExitException : InvalidOperationException
{
    /// <summary>Creates the exception with a message naming what is waited for.</summary>
    public LoopExitException(string message) : base(message) { }
}
