using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using FiberRuntime.Diagnostics;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// A scheduled greenlet (gevent's <c>Greenlet</c>): spawned onto a hub, run by its loop, its result or exception
/// kept on the fiber. Blocking calls inside it (<see cref="Sleep(TimeSpan)"/>, <see cref="Join"/>, queues,
/// events, sockets) suspend only the fiber.
/// </summary>
/// <remarks>
/// From a thread that is not a hub (for example <c>Main</c>), <see cref="Spawn(Action)"/> runs the fiber on
/// <see cref="Hub.Default"/>, and <see cref="Join"/> / <see cref="Get"/> block the calling thread until it is done.
/// An exception that ends a fiber is stored (<see cref="Exception"/>), reported once through
/// <see cref="Hub.UnhandledFiberException"/> (standard error when nobody listens), and never crashes the process;
/// <see cref="GreenletExit"/> ends a fiber successfully.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public partial class Fiber : Greenlet
{
    private enum Status : byte { Pending, Running, Succeeded, Failed }

    private volatile Status _status;
    private readonly bool _isRoot;
    // Who waits in Join: null, the one joiner (a Greenlet, waiting with _joinToken), or a WaitQueue once a second one
    // comes. Most fibers have one joiner at most: it waits with no queue to rent, link into and give back.
    private object? _joiners;
    private int _joinToken;

    // the action is the greenlet's body (one field for both); a Fiber<T> has none and keeps its typed function itself
    internal Fiber(Hub hub, Action? action) : base(hub, null, action)
    {
        IsFiber = true;
    }

    /// <summary>Runs the fiber's body (<see cref="Fiber{T}"/> keeps its typed result itself).</summary>
    private protected virtual void InvokeBody() => Unsafe.As<Action>(_body!)();

    /// <summary>The root fiber of a hub: the greenlet <see cref="Hub.Run(Action, HubOptions?)"/>'s main runs on.</summary>
    internal Fiber(Hub hub, int rootSlot) : base(hub, rootSlot)
    {
        IsFiber = true;
        _status = Status.Running;
        _isRoot = true;
    }

    internal override string Kind => _isRoot ? "main" : "fiber";

    internal override FiberOutcome OutcomeOf(object? result, Exception? error) =>
        _status == Status.Failed || error is not null ? FiberOutcome.Exception : WasKilled ? FiberOutcome.Killed : FiberOutcome.Success;

    /// <summary>The fiber running on the calling thread, or <see langword="null"/> outside fibers.</summary>
    public static new Fiber? Current => Greenlet.Current as Fiber;

    /// <summary>True once the fiber has finished, successfully or not (gevent's <c>ready()</c>).</summary>
    public bool IsReady => _status >= Status.Succeeded;

    /// <summary>True once the fiber has finished without an exception (<see cref="GreenletExit"/> counts as success).</summary>
    public bool IsSuccessful => _status == Status.Succeeded;

    /// <summary>True when the fiber was ended by <see cref="GreenletExit"/> (a kill) rather than by finishing its body.</summary>
    public bool WasKilled { get; private set; }

    /// <summary>The exception that ended the fiber, or <see langword="null"/>.</summary>
    public Exception? Exception => _status == Status.Failed ? _side!.Exception : null;

    /// <inheritdoc />
    public override string ToString() => $"Fiber #{Id} ({_status.ToString().ToLowerInvariant()})";

    // ---- spawning -----------------------------------------------------------------------------------------

    /// <summary>Starts <paramref name="action"/> in a new fiber (gevent's <c>spawn</c>) on the calling thread's hub,
    /// or on <see cref="Hub.Default"/> when the caller is not a hub thread. It runs when the hub gets to it.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    public static Fiber Spawn(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return Start(new Fiber(Hub.ForCaller, action), null);
    }

    /// <summary>Starts <paramref name="func"/> in a new fiber whose <see cref="Fiber{T}.Value"/> is its result.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="func"/> is null.</exception>
    public static Fiber<T> Spawn<T>(Func<T> func)
    {
        ArgumentNullException.ThrowIfNull(func);
        return (Fiber<T>)Start(new Fiber<T>(Hub.ForCaller, func), null);
    }

    /// <summary>Starts <paramref name="action"/> in a new fiber after <paramref name="delay"/> (gevent's <c>spawn_later</c>).</summary>
    public static Fiber SpawnLater(TimeSpan delay, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Hub.ValidateTimeout(delay, nameof(delay));
        return Start(new Fiber(Hub.ForCaller, action), delay);
    }

    /// <summary>Starts <paramref name="func"/> in a new fiber after <paramref name="delay"/>.</summary>
    public static Fiber<T> SpawnLater<T>(TimeSpan delay, Func<T> func)
    {
        ArgumentNullException.ThrowIfNull(func);
        Hub.ValidateTimeout(delay, nameof(delay));
        return (Fiber<T>)Start(new Fiber<T>(Hub.ForCaller, func), delay);
    }

    internal static Fiber StartOn(Fiber f) => Start(f, null);

    private static Fiber Start(Fiber f, TimeSpan? delay)
    {
        Hub hub = f.Hub;
        if (hub.Options.CaptureSpawnSites) f.Diag.SpawnSite = new StackTrace(fNeedFileInfo: true);
        if (FiberRuntimeEventSource.LifecycleEnabled)
            FiberRuntimeEventSource.Log.FiberSpawn(hub.Id, f.Id, Greenlet.Current?.Id ?? 0, f.Kind, f.DisplayName);
        if (hub.IsCallerOnHub) f.Schedule(delay);
        else f.ScheduleFromAnotherThread(delay);
        return f;
    }

    // a method of its own: a lambda in Start would capture its parameters, and C# allocates the closure when the
    // method is entered, on the hub's path too (40 B per spawn)
    private void ScheduleFromAnotherThread(TimeSpan? delay) => Hub.Post(() => Schedule(delay));

    internal sealed class StartTimer(Fiber fiber) : HubTimer
    {
        internal Fiber Target => fiber;

        internal override void Fire()
        {
            if (fiber.IsNotStarted) fiber.Hub.ScheduleStart(fiber);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Schedule(TimeSpan? delay)
    {
        ParentUnchecked ??= Hub.Scheduler.LoopGreenlet;
        if (IsDead) return;                                  // killed before it was scheduled
        if (delay is { } d && d > TimeSpan.Zero) Hub.StartTimer(new StartTimer(this), d);
        else Hub.ScheduleStart(this);
    }

    // ---- running ------------------------------------------------------------------------------------------

    /// <inheritdoc />
    protected sealed override object? Run(object? argument)
    {
        try
        {
            RunBody();
        }
        catch (Exception e)
        {
            if (RunEndedBy(e).Error is { } error) ExceptionDispatchInfo.Throw(error);
        }
        return null;
    }

    /// <summary>Runs the body and completes the fiber. The hub's context entry inlines it (through
    /// <see cref="Greenlet.InvokeRun"/>): a plain fiber's action is then called straight from the entry frame, so a
    /// parked fiber carries no frame of plumbing between its entry and the user's code (every GC walks every frame
    /// of every parked fiber). No exception handling here, so that it inlines: an exception that escapes the body
    /// (or the completion) goes to <see cref="RunEndedBy"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void RunBody()
    {
        _status = Status.Running;
        if (_body is { } action) Unsafe.As<Action>(action)();     // a plain fiber (a Fiber<T> has no body here: it stores a typed result)
        else InvokeBody();
        Complete(null);
    }

    /// <summary>An exception ended the run: the fiber completes with it (a <see cref="GreenletExit"/> is a kill, a
    /// success) and reports any other; the parent (the hub loop) gets nothing, unless the completion itself failed.</summary>
    internal override (object? Result, Exception? Error) RunEndedBy(Exception e)
    {
        try
        {
            if (e is GreenletExit)
            {
                WasKilled = true;
                Complete(null);
            }
            else
            {
                Complete(e);
                Hub.ReportFiberException(this, e);
            }
            return (null, null);
        }
        catch (Exception failure)
        {
            return (null, failure);
        }
    }

    private void Complete(Exception? error)
    {
        if (error is not null) Side.Exception = error;      // before the status that publishes it
        _status = error is null ? Status.Succeeded : Status.Failed;
        _cancellationRequested = true;          // its token is cancelled at the end (Fiber.Cancellation.cs)
        // No fence between those stores and the reads below (an asymmetric Dekker: see PublishToHub)
        if (Volatile.Read(ref _side) is { } side)
        {
            Volatile.Read(ref side.Done)?.Set();
            CancelCreatedToken(side);
        }
        // links first, then joiners, both through the FIFO run queue: as in gevent, a joiner that resumes sees
        // the fiber's link callbacks already run
        ScheduleLinks();
        if (_joiners is { } joiners)
        {
            _joiners = null;                // a finished fiber is never waited on again
            if (joiners is WaitQueue queue)
            {
                queue.WakeAll(Hub);
                Hub.Scheduler.ReturnWaitQueue(queue);       // it can serve another fiber's joiners
            }
            else Hub.Wake(Unsafe.As<Greenlet>(joiners), _joinToken);
        }
    }

    /// <summary>Waits for the fiber and returns nothing, rethrowing the exception that ended it (gevent's <c>get</c>).</summary>
    /// <exception cref="FiberTimeoutException">It did not finish within <paramref name="timeout"/>.</exception>
    public void Get(TimeSpan? timeout = null)
    {
        if (!Join(timeout)) throw new FiberTimeoutException($"{this} did not finish within {timeout}.");
        if (_status == Status.Failed) ExceptionDispatchInfo.Throw(_side!.Exception!);
    }

    // ---- killing ------------------------------------------------------------------------------------------

    /// <summary>Raises <paramref name="exception"/> (default: a <see cref="GreenletExit"/>) in the fiber at its switch
    /// point (gevent's <c>kill</c>). A fiber that has not started dies without running. With
    /// <paramref name="block"/>, waits up to <paramref name="timeout"/> for it to finish.</summary>
    /// <remarks>Timeouts follow the API's rule: calls that wait to observe (<see cref="Join"/>, <see cref="JoinAll"/>,
    /// <see cref="Wait"/>) return what they saw; calls that must bring something about (<see cref="Get"/>, and
    /// <see cref="Kill"/> / <see cref="KillAll"/> with <paramref name="block"/>) throw when it did not happen in
    /// time. gevent's <c>killall</c> raises its <c>Timeout</c> so; its <c>Greenlet.kill</c> returns silently.</remarks>
    /// <exception cref="FiberTimeoutException"><paramref name="block"/> is true and the fiber was still running after
    /// <paramref name="timeout"/> (it still has the exception to handle: it may end later).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    public void Kill(Exception? exception = null, bool block = true, TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        Hub hub = Hub;
        if (!hub.IsCallerOnHub) hub.Post(() => KillOnHub(exception));
        else if (ReferenceEquals(hub.CurrentGreenlet, this)) throw exception ?? new GreenletExit();
        else KillOnHub(exception);
        if (block && !Join(timeout)) throw new FiberTimeoutException($"{this} was killed but did not finish within {timeout}.");
    }

    /// <summary>The hub could not start this scheduled fiber (no free stack): it ends failed with <paramref name="reason"/>.</summary>
    internal void FailToStart(Exception reason) => KillOnHub(reason);

    private void KillOnHub(Exception? exception)
    {
        if (IsReady || IsDead) return;
        if (EndIfNotStarted(exception))
        {
            if (exception is null or GreenletExit)
            {
                WasKilled = true;
                Complete(null);
            }
            else
            {
                Complete(exception);
                Hub.ReportFiberException(this, exception);     // as gevent reports it
            }
            return;
        }
        CancelFiberToken();                     // before the kill is raised: what the fiber awaits stops with it
        Hub.InterruptSoon(this, exception ?? new GreenletExit());
    }

    // ---- gevent.killall (the other module-level functions are in Fiber.Module.cs) ---------------------

    /// <summary>Kills every fiber (gevent's <c>killall</c>); with <paramref name="block"/>, waits up to
    /// <paramref name="timeout"/> for them all to finish.</summary>
    /// <remarks>As with <see cref="Kill"/>, a timeout that passes with fibers still running throws (gevent's
    /// <c>killall(timeout=...)</c> raises <c>Timeout</c>); every fiber was still sent the kill.</remarks>
    /// <exception cref="FiberTimeoutException"><paramref name="block"/> is true and some fiber was still running after
    /// <paramref name="timeout"/>.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="fibers"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    public static void KillAll(IEnumerable<Fiber> fibers, Exception? exception = null, bool block = true, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(fibers);
        Hub.ValidateTimeout(timeout);
        Fiber[] all = fibers.ToArray();
        foreach (Fiber f in all) f.Kill(exception, block: false);
        if (!block) return;
        JoinAll(all, timeout);
        int alive = all.Distinct().Count(f => !f.IsReady);
        if (alive > 0) throw new FiberTimeoutException($"Fiber.KillAll: {alive} of the fibers killed did not finish within {timeout}.");
    }
}
