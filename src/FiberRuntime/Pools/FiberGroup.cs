using System.Collections;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using FiberRuntime.Pools;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// A set of running fibers (gevent's <c>gevent.pool.Group</c>): fibers are added with <see cref="Add"/> or
/// <see cref="Spawn(Action)"/> and leave on their own when they finish. The group can be joined
/// (<see cref="Join(TimeSpan?, bool)"/>), killed (<see cref="Kill"/>), and maps functions over sequences in parallel
/// (<see cref="Map{TIn, TResult}(IEnumerable{TIn}, Func{TIn, TResult})"/>, <see cref="Imap{TIn, TResult}(IEnumerable{TIn}, Func{TIn, TResult}, int)"/>,
/// <see cref="ImapUnordered{TIn, TResult}(IEnumerable{TIn}, Func{TIn, TResult}, int)"/>, <see cref="Apply{T}"/>,
/// <see cref="ApplyAsync{T}"/>).
/// </summary>
/// <remarks>
/// <para>A group belongs to one hub: the hub of the thread that creates it, or <see cref="Hub.Default"/> when it is
/// created on a thread that is not a hub (like <see cref="Fiber.Spawn(Action)"/>). Its members must run on that
/// hub. Called from a fiber of that hub, blocking methods suspend only the calling fiber. Called from a thread that is
/// not a hub (for example <c>Main</c>), every method runs on the group's hub and blocks the calling thread until it
/// is done (gevent's main-greenlet behaviour); results and exceptions come back to the caller. Calling it from a
/// fiber of a <em>different</em> hub throws <see cref="InvalidOperationException"/> (that would stall a whole hub).</para>
/// <para>Mapping methods take the sequence first (LINQ style); overloads taking the function first follow gevent's
/// argument order (<c>group.map(func, iterable)</c>).</para>
/// </remarks>
[DebuggerDisplay("{DebuggerDisplay,nq}")]
public partial class FiberGroup : IEnumerable<Fiber>
{
    private readonly HashSet<Fiber> _members = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<Fiber> _dying = new(ReferenceEqualityComparer.Instance);
    private readonly WaitQueue _emptyWaiters = new();
    private readonly Action<Fiber> _onMemberDone;

    /// <summary>Creates an empty group bound to the calling thread's hub (or <see cref="Hub.Default"/>).</summary>
    public FiberGroup()
    {
        Hub = Hub.ForCaller;
        _onMemberDone = OnMemberDone;
    }

    /// <summary>The hub the group's fibers run on.</summary>
    public Hub Hub { get; }

    private string DebuggerDisplay => $"{GetType().Name}: {_members.Count} fiber(s)";

    /// <inheritdoc />
    public override string ToString() => DebuggerDisplay;

    // ---- membership ---------------------------------------------------------------------------------------

    /// <summary>The number of fibers in the group that have not finished (gevent's <c>len(group)</c>).</summary>
    /// <remarks>A member stops counting as soon as it has finished, so after <c>fiber.Join()</c> it is gone. (In gevent
    /// it leaves when its link callback runs: the tutorial's <c>group.map(hello_from, range(3))</c> prints size 3
    /// three times; here it sees 3, 2, 1.)</remarks>
    public int Count => OnHub(() =>
    {
        Sweep();
        return _members.Count;
    });

    /// <summary>True if <paramref name="fiber"/> is in the group and has not finished (gevent's <c>fiber in group</c>).</summary>
    public bool Contains(Fiber fiber)
    {
        ArgumentNullException.ThrowIfNull(fiber);
        return OnHub(() => ContainsLive(fiber));
    }

    /// <summary>Adds <paramref name="fiber"/> to the group (gevent's <c>add</c>); it leaves the group by itself when it
    /// finishes. A fiber that has already finished, or is already a member, is not added again.</summary>
    /// <remarks>On a <see cref="FiberPool"/> this waits while the pool is full.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="fiber"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="fiber"/> runs on another hub.</exception>
    public void Add(Fiber fiber)
    {
        ArgumentNullException.ThrowIfNull(fiber);
        CheckSameHub(fiber);
        OnHub(() => AddCore(fiber, null));
    }

    /// <summary>Removes <paramref name="fiber"/> from the group without touching it (gevent's <c>discard</c>); nothing
    /// happens if it is not a member.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="fiber"/> is null.</exception>
    public void Discard(Fiber fiber)
    {
        ArgumentNullException.ThrowIfNull(fiber);
        OnHub(() =>
        {
            if (Remove(fiber)) fiber.Unlink(_onMemberDone);
            return 0;
        });
    }

    /// <summary>Starts <paramref name="action"/> in a new fiber and adds it to the group (gevent's <c>spawn</c>).</summary>
    /// <remarks>On a <see cref="FiberPool"/> this waits while the pool is full, and the fiber starts only once it has
    /// a slot.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    public Fiber Spawn(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return OnHub(() => SpawnCore(() => Fiber.Spawn(action)));
    }

    /// <summary>Starts <paramref name="func"/> in a new fiber and adds it to the group (gevent's <c>spawn</c>); its
    /// result is the fiber's <see cref="Fiber{T}.Value"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="func"/> is null.</exception>
    public Fiber<T> Spawn<T>(Func<T> func)
    {
        ArgumentNullException.ThrowIfNull(func);
        return OnHub(() => SpawnCore(() => Fiber.Spawn(func)));
    }

    /// <summary>Returns a snapshot of the fibers in the group, in no particular order (gevent's <c>iter(group)</c>).</summary>
    public IEnumerator<Fiber> GetEnumerator() => OnHub(() =>
    {
        Sweep();
        return new List<Fiber>(_members);
    }).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    // ---- joining and killing ------------------------------------------------------------------------------

    /// <summary>Waits until the group is empty, at least once, or <paramref name="timeout"/> passed (gevent's
    /// <c>join</c>). Returns true if the group became empty.</summary>
    /// <param name="timeout">How long to wait; null (or <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>) waits forever.</param>
    /// <param name="raiseError">When true, rethrows the exception of the first fiber (among those in the group when
    /// the call began) that has failed, after the wait — gevent's <c>raise_error</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Join(TimeSpan? timeout = null, bool raiseError = false)
    {
        Hub.ValidateTimeout(timeout);
        return OnHub(() =>
        {
            Sweep();
            Fiber[] watched = raiseError ? [.. _members] : [];
            bool empty = _members.Count == 0
                || !ReferenceEquals(Hub.WaitOn(_emptyWaiters, timeout, "FiberGroup.Join"), WakeTimer.TimedOut)
                || _members.Count == 0;
            foreach (Fiber f in watched)
                if (f.Exception is { } e) ExceptionDispatchInfo.Throw(e);
            return empty;
        });
    }

    /// <summary>Waits until the group is empty or <paramref name="seconds"/> passed (gevent's <c>join(timeout)</c>).</summary>
    public bool Join(double seconds, bool raiseError = false) => Join(TimeSpan.FromSeconds(seconds), raiseError);

    /// <summary>Kills every fiber in the group (gevent's <c>kill</c>): raises <paramref name="exception"/> (default: a
    /// <see cref="GreenletExit"/>) in each, once. With <paramref name="block"/>, waits up to
    /// <paramref name="timeout"/> until they have all finished (fibers added meanwhile are killed too).</summary>
    /// <remarks>If the calling fiber is itself a member, the others are killed (and waited for) first, then the
    /// exception is raised in the caller. A timeout follows <see cref="Fiber.Kill"/>'s rule: it throws (gevent's
    /// <c>Group.kill</c> returns silently).</remarks>
    /// <exception cref="FiberTimeoutException"><paramref name="block"/> is true and some member was still running
    /// after <paramref name="timeout"/> (when the caller is a member, its own kill is raised instead).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    public void Kill(Exception? exception = null, bool block = true, TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        OnHub(() =>
        {
            long deadline = Hub.DeadlineAfter(timeout);
            Fiber? self = Fiber.Current;
            int alive = 0;
            while (true)
            {
                Sweep();
                Fiber[] others = [.. _members.Where(f => !ReferenceEquals(f, self) && !f.IsReady)];
                if (others.Length == 0) break;
                foreach (Fiber f in others)
                    if (_dying.Add(f)) f.Kill(exception, block: false);
                if (!block) break;
                alive = others.Length - Fiber.JoinAll(others, Hub.TimeLeft(deadline)).Count;
                if (alive > 0) break;    // timed out
            }
            if (self is not null && ContainsLive(self)) throw exception ?? new GreenletExit();
            if (alive > 0) throw new FiberTimeoutException($"FiberGroup.Kill: {alive} member(s) did not finish within {timeout}.");
            return 0;
        });
    }

    /// <summary>Kills <paramref name="fiber"/> if it is a member not already being killed by the group (gevent's
    /// <c>killone</c>); with <paramref name="block"/>, waits up to <paramref name="timeout"/> for it.</summary>
    /// <exception cref="FiberTimeoutException"><paramref name="block"/> is true and the fiber was still running after
    /// <paramref name="timeout"/> (as <see cref="Fiber.Kill"/>).</exception>
    /// <exception cref="ArgumentNullException"><paramref name="fiber"/> is null.</exception>
    public void KillOne(Fiber fiber, Exception? exception = null, bool block = true, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(fiber);
        Hub.ValidateTimeout(timeout);
        OnHub(() =>
        {
            if (!ContainsLive(fiber) || !_dying.Add(fiber)) return 0;
            fiber.Kill(exception, block, timeout);
            return 0;
        });
    }

    // ---- for FiberPool --------------------------------------------------------------------------------------

    /// <summary>Takes a slot for a new member, waiting up to <paramref name="timeout"/>; a group always has room.</summary>
    private protected virtual bool AcquireSlot(TimeSpan? timeout) => true;

    /// <summary>Gives back the slot of a member that left.</summary>
    private protected virtual void ReleaseSlot()
    {
    }

    /// <summary>True when <see cref="Spawn(Action)"/> would wait (gevent's <c>full()</c>); a group is never full.</summary>
    internal virtual bool IsFullNoSweep => false;

    /// <summary><see cref="IsFullNoSweep"/> after dropping members that have finished.</summary>
    internal bool IsFullNow()
    {
        if (IsFullNoSweep) Sweep();
        return IsFullNoSweep;
    }

    // ---- internals ----------------------------------------------------------------------------------------

    internal bool AddCore(Fiber fiber, TimeSpan? timeout)
    {
        if (fiber.IsReady || _members.Contains(fiber)) return true;
        if (!AcquireSlot(timeout)) return false;
        if (fiber.IsReady || _members.Contains(fiber))      // finished, or added by someone else, while we waited
        {
            ReleaseSlot();
            return true;
        }
        AddAcquired(fiber);
        return true;
    }

    private TFiber SpawnCore<TFiber>(Func<TFiber> spawn) where TFiber : Fiber
    {
        AcquireSlot(null);
        TFiber fiber;
        try
        {
            fiber = spawn();
        }
        catch
        {
            ReleaseSlot();
            throw;
        }
        AddAcquired(fiber);
        return fiber;
    }

    private void AddAcquired(Fiber fiber)
    {
        _members.Add(fiber);
        fiber.Link(_onMemberDone);
    }

    private void OnMemberDone(Fiber fiber) => Remove(fiber);

    private bool Remove(Fiber fiber)
    {
        if (!_members.Remove(fiber)) return false;
        _dying.Remove(fiber);
        ReleaseSlot();
        if (_members.Count == 0) _emptyWaiters.WakeAll(Hub);
        return true;
    }

    /// <summary>Removes members that have finished but whose link callback has not run yet, so a fiber that was
    /// joined is no longer counted (as in gevent, where the group's link runs before the joiner's).</summary>
    private protected void Sweep()
    {
        List<Fiber>? done = null;
        foreach (Fiber f in _members)
            if (f.IsReady) (done ??= []).Add(f);
        if (done is null) return;
        foreach (Fiber f in done) Remove(f);
    }

    private bool ContainsLive(Fiber fiber)
    {
        if (!_members.Contains(fiber)) return false;
        if (!fiber.IsReady) return true;
        Remove(fiber);
        return false;
    }

    internal bool ContainsCurrentFiber() => Fiber.Current is { } me && ContainsLive(me);

    private void CheckSameHub(Fiber fiber)
    {
        if (!ReferenceEquals(fiber.Hub, Hub))
            throw new ArgumentException($"{fiber} runs on another hub than this group.", nameof(fiber));
    }

    /// <summary>Runs <paramref name="op"/> on the group's hub: directly from one of its fibers; from a thread that is
    /// not a hub, in a new fiber of the group's hub while the calling thread blocks for the result.</summary>
    internal T OnHub<T>(Func<T> op)
    {
        if (Hub.IsCallerOnHub) return op();
        if (Hub.Current is not null)
            throw new InvalidOperationException($"This {GetType().Name} belongs to another hub; use it from that hub's fibers or from a thread that is not a hub.");
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Hub.Post(() => Fiber.Spawn(() =>
        {
            try
            {
                result.SetResult(op());
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
        }));
        return result.Task.GetAwaiter().GetResult();
    }
}
