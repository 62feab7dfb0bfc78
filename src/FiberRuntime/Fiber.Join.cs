using System.Runtime.CompilerServices;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

// Waiting for a fiber to finish: Join from a greenlet of its hub (one joiner kept on the fiber, more in a wait queue),
// and from any other thread (an event in the side state, published without a fence on the hub's side).
public partial class Fiber
{
    /// <summary>Waits until the fiber has finished or <paramref name="timeout"/> passed; true if it finished
    /// (gevent's <c>join</c>). From a fiber it suspends only the caller; from another thread it blocks that thread.</summary>
    /// <exception cref="InvalidOperationException">A fiber joins itself.</exception>
    // The waiting protocol's steps (Scheduler.WaitOn's shape, with _joiners for the queue) written out here, so that
    // they inline into this method, compiled fully optimized: a parked joiner keeps no frame of plumbing
    // (ParkedFrameTests).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Join(TimeSpan? timeout = null)
    {
        if (timeout is not null) Hub.ValidateTimeout(timeout);
        if (IsReady) return true;
        Hub hub = Hub;
        if (!hub.IsCallerOnHub) return JoinFromAnotherThread(timeout);
        Scheduler scheduler = hub.Scheduler;
        Greenlet me = hub.CurrentGreenlet;
        if (ReferenceEquals(me, this)) throw new InvalidOperationException("A fiber cannot join itself: it would wait forever.");
        int token = scheduler.PrepareWait();
        if (_joiners is null)
        {
            _joiners = me;
            _joinToken = token;
        }
        else EnqueueJoiner(scheduler, me, token);
        try
        {
            scheduler.ParkWithTimeout(me, token, timeout, "Fiber.Join", this);
        }
        finally
        {
            if (_joiners is not null) LeaveJoiners(me);     // not woken by the end: timed out or killed
        }
        return IsReady;
    }

    /// <summary>A second joiner (or more): the joiners move to a wait queue, the first one in front.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EnqueueJoiner(Scheduler scheduler, Greenlet me, int token)
    {
        if (_joiners is not WaitQueue queue)
        {
            queue = scheduler.RentWaitQueue();
            queue.Enqueue(JoinNode(Unsafe.As<Greenlet>(_joiners!), _joinToken));
            _joiners = queue;
        }
        queue.Enqueue(JoinNode(me, token));
    }

    private static WaitNode JoinNode(Greenlet g, int token)
    {
        WaitNode node = g.Waiting.Node ??= new WaitNode(g);     // free: g waits in this Join, nowhere else
        node.Token = token;
        node.Item = null;
        return node;
    }

    /// <summary>A joiner's wait ended before the fiber did: it stops being a joiner.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LeaveJoiners(Greenlet me)
    {
        if (ReferenceEquals(_joiners, me)) _joiners = null;
        else if (_joiners is WaitQueue queue && me.Waiting.Node is { } node) queue.Remove(node);     // a no-op when not in it
    }

    private bool JoinFromAnotherThread(TimeSpan? timeout)
    {
        SideState side = Side;
        ManualResetEventSlim? done = Volatile.Read(ref side.Done);
        if (done is null)
        {
            var created = new ManualResetEventSlim();
            done = Interlocked.CompareExchange(ref side.Done, created, null);
            if (done is not null) created.Dispose();
            else
            {
                done = created;
                // the one that published the event makes sure the fiber's end sees it, or sees the end itself, and
                // then sets it for everyone waiting on it (a joiner that found it already there may be among them)
                PublishToHub();
                if (IsReady) done.Set();
            }
        }
        if (IsReady) return true;
        return done.Wait(timeout ?? System.Threading.Timeout.InfiniteTimeSpan);
    }

    /// <summary>Another thread has just published something into the side state (a join event, a token source) that
    /// the fiber's end on the hub thread must see, and reads the end's flags next: the slow half of an asymmetric
    /// Dekker, so that the hub's half (<see cref="Complete"/>: store the status and the cancellation flag, then read
    /// the side state) needs no fence on every fiber's end.</summary>
    /// <remarks>Why one of the two sides sees the other. The hub thread H stores the flags and then loads the side
    /// state, in that program order: both are volatile accesses, which the JIT keeps in program order; the hardware
    /// may still let the load pass the store (x64's store buffer; arm64 where a volatile load is an ldapr, which need
    /// not wait for an earlier stlr). This thread X published its object with an interlocked exchange (a full fence: visible
    /// to all before X goes on), then calls <see cref="Interlocked.MemoryBarrierProcessWide"/>, which makes every
    /// running thread of the process execute a full fence at some point during the call (a thread not running has
    /// been fenced by its context switch), and only then loads the flags. If H's fence falls before its load of the
    /// side state, that load comes after X's publication was visible to all: H sees it and acts on it (sets the
    /// event, cancels the token). If it falls after H's load, it also falls after H's earlier stores, which are then
    /// visible to all before the call returns: X's load sees the fiber ended and acts itself. Either way the object
    /// is acted on (both may act: setting an event or cancelling a source twice is harmless). The cost, a system call
    /// with inter-processor interrupts, is paid once per published object and only off the hub thread; on the hub
    /// thread program order alone suffices.</remarks>
    private static void PublishToHub() => Interlocked.MemoryBarrierProcessWide();

}
