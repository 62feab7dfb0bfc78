using System.Diagnostics;
using System.Runtime.CompilerServices;
using FiberRuntime.Diagnostics;

namespace FiberRuntime;

/// <summary>
/// A stackful coroutine on its own native stack (the <c>greenlet</c> module): code runs in plain blocking style
/// and <see cref="Switch"/> transfers control, with a value, to another greenlet of the same hub.
/// </summary>
/// <remarks>
/// <para>A greenlet starts the first time it is switched to: its run receives the switched value as argument.
/// When the run returns, control and the return value go to its <see cref="Parent"/> (the first one not dead);
/// when an exception escapes the run, it is raised in the parent instead — except <see cref="GreenletExit"/>,
/// which the parent receives as a value.</para>
/// <para>Greenlets must be created and used on a hub thread (inside <see cref="Hub.Run(Action, HubOptions?)"/>);
/// using one from another OS thread throws <see cref="InvalidOperationException"/>.</para>
/// <para>A greenlet takes its creator's <see cref="ExecutionContext"/> (AsyncLocal values, culture) and
/// <see cref="SynchronizationContext"/> when it is constructed; from then on both are its own: changes it makes are
/// not seen by other greenlets, and theirs are not seen by it.</para>
/// <para>A parent that never ran is started by its child's end, with the child's result as its run's argument; a
/// <see cref="GreenletExit"/> that ends the child is such a result, as in greenlet.</para>
/// </remarks>
[DebuggerDisplay("{DebuggerState,nq}")]
public class Greenlet
{
    private enum State : byte { NotStarted, Started, Dead }

    private static long s_nextId;

    private protected readonly Delegate? _body;     // a Func<object?, object?> or an Action (see Run); a fiber's Action
    private readonly Hub _hub;
    private Greenlet? _parent;
    private State _state;
    private bool _everRan;

    /// <summary>This greenlet is a <see cref="Fiber"/>: a byte read where the type test would call a cast helper in
    /// code compiled without profile data (the fiber entry, the end of a run).</summary>
    internal bool IsFiber { get; private protected init; }

    internal int Slot = -1;
    internal ExecutionContext? SavedExecutionContext;
    internal SynchronizationContext? SavedSynchronizationContext;

    // The scheduler's waiting protocol (Scheduling/Scheduler.Waiting.cs): the current wait, whether its wake-up is
    // queued, what it waits for, and the node, timer and watcher reused by every wait.
    internal Scheduling.WaitState Waiting;
    private GreenletDiagnostics? _diagnostics;     // name, spawn site, suspended stack: only when used

    /// <summary>A number that identifies the greenlet in diagnostics (events, run-info dumps, messages): unique in
    /// the process, assigned in creation order.</summary>
    public long Id { get; } = Interlocked.Increment(ref s_nextId);

    /// <summary>A name for diagnostics (run-info dumps, trace events); null by default, when the name of the
    /// greenlet's body method is shown instead.</summary>
    public string? Name
    {
        get => _diagnostics?.Name;
        set
        {
            if (value is null && _diagnostics is null) return;
            Diag.Name = value;
        }
    }

    internal GreenletDiagnostics Diag => _diagnostics ??= new GreenletDiagnostics();

    internal GreenletDiagnostics? DiagIfAny => _diagnostics;

    /// <summary>Creates a greenlet that will run <paramref name="run"/>; its argument is the value of the first
    /// <see cref="Switch"/> to it and its return value goes to <paramref name="parent"/>.</summary>
    /// <param name="run">The greenlet's body.</param>
    /// <param name="parent">Where control goes when <paramref name="run"/> ends; defaults to the current greenlet.</param>
    /// <exception cref="ArgumentNullException"><paramref name="run"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The calling thread is not a hub thread.</exception>
    public Greenlet(Func<object?, object?> run, Greenlet? parent = null) : this(parent)
    {
        ArgumentNullException.ThrowIfNull(run);
        _body = run;
        OnCreated();
    }

    /// <summary>Creates a greenlet that will run <paramref name="run"/>; when it returns, its parent receives
    /// <see langword="null"/>.</summary>
    /// <param name="run">The greenlet's body.</param>
    /// <param name="parent">Where control goes when <paramref name="run"/> ends; defaults to the current greenlet.</param>
    /// <exception cref="ArgumentNullException"><paramref name="run"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The calling thread is not a hub thread.</exception>
    public Greenlet(Action run, Greenlet? parent = null) : this(parent)
    {
        ArgumentNullException.ThrowIfNull(run);
        _body = run;
        OnCreated();
    }

    /// <summary>For subclasses that override <see cref="Run"/>.</summary>
    /// <param name="parent">Where control goes when the run ends; defaults to the current greenlet.</param>
    /// <exception cref="InvalidOperationException">The calling thread is not a hub thread.</exception>
    protected Greenlet(Greenlet? parent)
    {
        _hub = Hub.Current ?? throw new InvalidOperationException(
            "Greenlets run on a hub thread: create them inside Hub.Run(...). The calling thread is not a hub.");
        if (parent is not null) CheckParent(parent);
        _parent = parent ?? _hub.CurrentGreenlet;
        Thread thread = Thread.CurrentThread;
        SavedExecutionContext = Interop.ThreadFields.ExecutionContext(thread);
        SavedSynchronizationContext = Interop.ThreadFields.SynchronizationContext(thread);
    }

    /// <summary>For greenlets the runtime creates on a given hub, possibly from another thread (spawned fibers,
    /// the hub loop). Takes the calling thread's execution context, as <see cref="Task.Run(Action)"/> does.</summary>
    private protected Greenlet(Hub hub, Greenlet? parent, Delegate? body = null)
    {
        _hub = hub;
        // a new object's fields are null already: store only what is there (each reference store costs a GC write
        // barrier, and a spawned fiber usually has no parent yet and its spawner no synchronization context)
        if (parent is not null) _parent = parent;
        if (body is not null) _body = body;
        Thread thread = hub.IsCallerOnHub ? hub.HubThread : Thread.CurrentThread;     // the hub's: no thread-local lookup
        if (Interop.ThreadFields.ExecutionContext(thread) is { } ec) SavedExecutionContext = ec;
        if (Interop.ThreadFields.SynchronizationContext(thread) is { } sc) SavedSynchronizationContext = sc;
    }

    private protected Greenlet(Hub hub, int rootSlot)
    {
        _hub = hub;
        Slot = rootSlot;
        _state = State.Started;
        _everRan = true;
    }

    internal static Greenlet CreateRoot(Hub hub, int rootSlot) => new Fiber(hub, rootSlot);

    /// <summary>A raw greenlet was created by the running greenlet: record its spawn site and trace it, when enabled.</summary>
    private void OnCreated()
    {
        if (_hub.Options.CaptureSpawnSites) Diag.SpawnSite = new StackTrace(fNeedFileInfo: true);
        if (FiberRuntimeEventSource.LifecycleEnabled)
            FiberRuntimeEventSource.Log.FiberSpawn(_hub.Id, Id, _hub.CurrentGreenlet.Id, Kind, DisplayName);
    }

    /// <summary>What sort of greenlet this is, for diagnostics: "greenlet", "fiber", "main" or "hub loop".</summary>
    internal virtual string Kind => "greenlet";

    /// <summary>Whether <see cref="HubOptions.CaptureWaitStacks"/> records this greenlet's stack when it suspends (the
    /// hub loop's is always the same).</summary>
    internal virtual bool RecordsWaitStacks => true;

    /// <summary>The body delegate, for diagnostics (its method names the greenlet when it has no <see cref="Name"/>).</summary>
    internal virtual Delegate? Body => _body;

    /// <summary><see cref="Name"/>, else the body's method (<c>Type.Method</c>; a lambda as <c>Type.Enclosing (lambda)</c>),
    /// else the kind. Uses reflection: for diagnostics only, never on a hot path.</summary>
    internal string DisplayName => Name ?? GreenletDiagnostics.DescribeBody(Body) ?? Kind;

    /// <summary>How the greenlet ended, for diagnostics; <paramref name="result"/> and <paramref name="error"/> are
    /// what its run returned or threw.</summary>
    internal virtual FiberOutcome OutcomeOf(object? result, Exception? error) =>
        error is not null ? FiberOutcome.Exception
        : result is GreenletExit ? FiberOutcome.Killed
        : FiberOutcome.Success;

    /// <summary>The greenlet running on the calling thread, or <see langword="null"/> when the thread is not a hub.</summary>
    public static Greenlet? Current => Hub.Current?.CurrentGreenlet;

    /// <summary>The hub this greenlet belongs to.</summary>
    public Hub Hub => _hub;

    /// <summary>Where control and the result go when this greenlet's run ends. The hub's root greenlet has none.</summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    /// <exception cref="ArgumentException">Set to a greenlet of another hub, or to one whose parent chain leads
    /// back to this greenlet.</exception>
    /// <exception cref="InvalidOperationException">Set on the root greenlet, or from another thread.</exception>
    public Greenlet? Parent
    {
        get => _parent;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _hub.CheckThread();
            if (ReferenceEquals(this, _hub.RootGreenlet)) throw new InvalidOperationException("The hub's root greenlet has no parent.");
            CheckParent(value);
            _parent = value;
        }
    }

    internal Greenlet? ParentUnchecked
    {
        get => _parent;
        set => _parent = value;
    }

    /// <summary>True once the greenlet's run has ended (or it was killed before it started).</summary>
    public bool IsDead => _state == State.Dead;

    /// <summary>True once the greenlet's run has begun (it stays true after it ends). A greenlet killed before its
    /// run began (by <see cref="Throw"/>, or by an exception delivered to it as a parent that never ran) stays false.</summary>
    public bool IsStarted => _everRan;

    /// <summary>The greenlet's body; the default runs the delegate given to the constructor.</summary>
    /// <param name="argument">The value of the first switch to this greenlet.</param>
    /// <returns>The value its parent receives.</returns>
    protected virtual object? Run(object? argument)
    {
        switch (_body)
        {
            case Func<object?, object?> run:
                return run(argument);
            case Action run:
                run();
                return null;
            default:
                throw new InvalidOperationException("This greenlet has no run: pass one to the constructor or override Run.");
        }
    }

    /// <summary>Transfers control to this greenlet, passing <paramref name="value"/>: the argument of its run if it
    /// has not started, else the return value of its pending <see cref="Switch"/>. Returns the value passed by
    /// whoever switches back to the caller.</summary>
    /// <param name="value">The value to deliver.</param>
    /// <returns>The value delivered when the calling greenlet is resumed.</returns>
    /// <exception cref="InvalidOperationException">This greenlet is dead, is the calling greenlet, or belongs to a hub
    /// on another thread; or the hub has no free fiber stack.</exception>
    // Fully optimized from the first call: the switch P/Invoke is inlined here (Hub.SwitchContexts), and the native side
    // takes its fast path back only into an epilog as optimized code has it (Tier0 code would go through the callback).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public object? Switch(object? value = null)
    {
        Greenlet current = CheckTarget();
        return _hub.Transfer(current, this, value, null, inlineSwitch: true);
    }

    /// <summary>Raises <paramref name="exception"/> in this greenlet at its pending switch, as if that switch had
    /// thrown it. A greenlet that has not started dies without running, and the exception goes to its parent as
    /// an escaping exception would (a <see cref="GreenletExit"/> arrives there as a value). Returns the value
    /// delivered when the caller is resumed.</summary>
    /// <param name="exception">The exception to raise.</param>
    /// <returns>The value delivered when the calling greenlet is resumed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    /// <exception cref="InvalidOperationException">This greenlet is dead, is the calling greenlet, or belongs to a hub
    /// on another thread.</exception>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]   // as Switch
    public object? Throw(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Greenlet current = CheckTarget();
        if (EndIfNotStarted(exception))
        {
            Greenlet to = LiveParent();
            return exception is GreenletExit
                ? _hub.Deliver(current, to, exception, null)
                : _hub.Deliver(current, to, null, exception);
        }
        return _hub.Transfer(current, this, null, exception, inlineSwitch: true);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private Greenlet CheckTarget()
    {
        _hub.CheckThread();
        Greenlet current = _hub.CurrentGreenlet;
        if (ReferenceEquals(this, current)) throw new InvalidOperationException("A greenlet cannot switch to itself: it is already running.");
        if (_state == State.Dead) throw new InvalidOperationException("Cannot switch to a dead greenlet: its run has ended.");
        return current;
    }

    private void CheckParent(Greenlet parent)
    {
        if (!ReferenceEquals(parent._hub, _hub)) throw new ArgumentException("A greenlet's parent must belong to the same hub.", nameof(parent));
        for (Greenlet? p = parent; p is not null; p = p._parent)
            if (ReferenceEquals(p, this)) throw new ArgumentException("That parent would make the parent chain cyclic.", nameof(parent));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal Greenlet LiveParent()
    {
        Greenlet? p = _parent;
        while (p is { _state: State.Dead }) p = p._parent;
        return p ?? _hub.RootGreenlet;
    }

    /// <summary>Runs the greenlet's body for the hub's context entry, where it is inlined: a fiber runs through
    /// <see cref="Fiber.RunBody"/>, and a plain greenlet (no subclass overriding <see cref="Run"/>) calls its
    /// delegate here, so that the user's code sits right on the entry frame (every GC walks every frame of every
    /// suspended greenlet). A subclass gets its <see cref="Run"/> override. No exception handling here (the JIT
    /// does not inline a method that catches): an exception that escapes goes to <see cref="RunEndedBy"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal object? InvokeRun(object? argument)
    {
        if (IsFiber)
        {
            Unsafe.As<Fiber>(this).RunBody();
            return null;
        }
        if (GetType() == typeof(Greenlet))
        {
            if (_body is Func<object?, object?> func) return func(argument);
            if (_body is Action action)
            {
                action();
                return null;
            }
        }
        return Run(argument);
    }

    /// <summary>What an exception that escaped the run gives the parent: a <see cref="GreenletExit"/> ends the
    /// greenlet quietly (the parent gets it as a value), any other is raised in the parent.</summary>
    internal virtual (object? Result, Exception? Error) RunEndedBy(Exception e) => e is GreenletExit ? (e, null) : (null, e);

    internal void MarkStarted() => _state = State.Started;

    internal void MarkRan()
    {
        _everRan = true;
        _hub.Scheduler.EndHandOff(this);   // a hand-off may have started this run
    }

    internal void MarkNotStarted()
    {
        _state = State.NotStarted;
        _everRan = false;
        Slot = -1;
    }

    /// <summary>Kills a greenlet that has not started, without running it (<see cref="Throw"/>, <see cref="Fiber.Kill"/>):
    /// true if it had not started and is now dead. <paramref name="exception"/> (null: a plain kill) decides the
    /// outcome reported.</summary>
    private protected bool EndIfNotStarted(Exception? exception)
    {
        if (_state != State.NotStarted) return false;
        _hub.Retire(this, -1, exception is null or GreenletExit ? FiberOutcome.Killed : FiberOutcome.Exception);
        return true;
    }

    internal bool IsNotStarted => _state == State.NotStarted;

    internal void MarkDead()
    {
        _state = State.Dead;
        Slot = -1;
    }

    private string DebuggerState => _state switch
    {
        State.NotStarted => "Greenlet (not started)",
        State.Dead => "Greenlet (dead)",
        _ when ReferenceEquals(this, _hub.CurrentGreenlet) => $"Greenlet (running, slot {Slot})",
        _ => $"Greenlet (suspended, slot {Slot})",
    };
}
