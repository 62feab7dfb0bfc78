using System.Diagnostics;
using FiberRuntime.Pools;

namespace FiberRuntime;

/// <summary>
/// A <see cref="FiberGroup"/> with at most <see cref="Size"/> fibers at once (gevent's <c>gevent.pool.Pool</c>):
/// <see cref="FiberGroup.Spawn(Action)"/> and <see cref="FiberGroup.Add"/> wait while the pool is full, so mapping
/// over a pool (<see cref="FiberGroup.Map{TIn, TResult}(IEnumerable{TIn}, Func{TIn, TResult})"/>, <c>Imap</c>, ...)
/// never runs more than <see cref="Size"/> calls at once.
/// </summary>
/// <remarks>
/// Waiting for a slot suspends only the calling fiber; slots are handed to waiters in FIFO order. From a thread that
/// is not a hub, the call blocks that thread (see <see cref="FiberGroup"/>). A fiber spawned on a full pool does not
/// start until it has a slot.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public class FiberPool : FiberGroup
{
    private readonly FiberBoundedSemaphore _slots;     // FIFO hand-off; Release beyond Size would be a bug

    /// <summary>Creates a pool that holds at most <paramref name="size"/> fibers at once (gevent's <c>Pool(size)</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is less than 1.</exception>
    public FiberPool(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        Size = size;
        _slots = new FiberBoundedSemaphore(size);
    }

    /// <summary>The most fibers the pool holds at once (gevent's <c>size</c>).</summary>
    public int Size { get; }

    /// <summary>How many fibers can be added now without waiting (gevent's <c>free_count()</c>).</summary>
    public int FreeCount => OnHub(() =>
    {
        Sweep();
        return _slots.CurrentCount;
    });

    /// <summary>True when no slot is free, so <see cref="FiberGroup.Spawn(Action)"/> would wait (gevent's <c>full()</c>).</summary>
    public bool IsFull => FreeCount == 0;

    /// <summary>Waits until a fiber can be added without waiting, or <paramref name="timeout"/> passed; returns the
    /// number of free slots, 0 after a timeout (gevent's <c>wait_available</c>). It takes no slot, so another fiber
    /// may take the slot before the caller uses it.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    public int WaitAvailable(TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        return OnHub(() =>
        {
            Sweep();
            return _slots.Wait(timeout);
        });
    }

    /// <summary>Adds <paramref name="fiber"/> if a slot frees up within <paramref name="timeout"/> (gevent's
    /// <c>add(greenlet, timeout=...)</c>, with false instead of <c>PoolFull</c>); <see cref="TimeSpan.Zero"/> does not
    /// wait. True if the fiber is a member (or had already finished).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="fiber"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    public bool TryAdd(Fiber fiber, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(fiber);
        Hub.ValidateTimeout(timeout);
        if (!ReferenceEquals(fiber.Hub, Hub)) throw new ArgumentException($"{fiber} runs on another hub than this pool.", nameof(fiber));
        return OnHub(() => AddCore(fiber, timeout));
    }

    /// <inheritdoc />
    public override string ToString() => $"FiberPool: {Size - _slots.CurrentCount}/{Size} slot(s) taken";

    private protected override bool AcquireSlot(TimeSpan? timeout)
    {
        if (_slots.CurrentCount == 0) Sweep();
        return _slots.Acquire(timeout);
    }

    private protected override void ReleaseSlot() => _slots.Release();

    internal override bool IsFullNoSweep => _slots.CurrentCount == 0;
}
