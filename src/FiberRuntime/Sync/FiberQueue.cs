using System.Collections;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// A first-in first-out queue between fibers (gevent's <c>gevent.queue.Queue</c>), optionally bounded:
/// <see cref="Get"/> suspends the calling fiber while the queue is empty, <see cref="Put"/> while it is full.
/// </summary>
/// <typeparam name="T">The type of the items.</typeparam>
/// <remarks>
/// <para>Fairness: blocked getters (and putters) are served in the order they began to wait. When an item arrives
/// while getters wait, it stays in the queue's buffer but is reserved for the first waiting getter, which takes it
/// when it runs; a later non-blocking <see cref="TryGet"/> cannot overtake it. A getter that times out or is killed
/// before being served takes nothing and reserves nothing, so no item is lost (a getter that was already served
/// when a kill arrives returns the item first, and the kill is raised at its next blocking point). Putters are
/// served the same way with free slots; a putter's item stays with it until it is stored.</para>
/// <para>Bound to the hub of the first fiber that uses it; every member that changes the queue must be called by
/// fibers of that hub (<see cref="InvalidOperationException"/> otherwise). Waiting allocates nothing.</para>
/// <para>Enumeration follows gevent's <c>for item in queue</c>: it consumes items with <see cref="Get"/>, blocking
/// while the queue is empty, and never ends by itself; stop it with <c>break</c> (or LINQ's <c>Take</c>), a
/// <see cref="FiberTimeout"/>, or a kill.</para>
/// </remarks>
[DebuggerDisplay("{GetType().Name,nq}: Count = {Count}, MaxSize = {MaxSize}, Getters = {GetterCount}, Putters = {PutterCount}")]
public class FiberQueue<T> : IEnumerable<T>
{
    private readonly Queue<T>? _fifo;
    private readonly WaitQueue _getters = new();
    private readonly WaitQueue _putters = new();
    private readonly WaitQueue _peekers = new();
    private readonly string _getReason, _putReason, _peekReason;
    private Hub? _hub;
    private int _getGrants;      // items in the buffer reserved for getters woken but not yet run
    private int _putGrants;      // free slots reserved for putters woken but not yet run

    /// <summary>Creates a queue holding at most <paramref name="maxSize"/> items; 0 (the default) means unbounded
    /// (gevent's <c>Queue(maxsize=None)</c>).</summary>
    /// <param name="maxSize">The capacity, or 0 for no limit.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSize"/> is negative.</exception>
    public FiberQueue(int maxSize = 0) : this(maxSize, "FiberQueue", new Queue<T>())
    {
    }

    private protected FiberQueue(int maxSize, string name, Queue<T>? fifo)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        MaxSize = maxSize;
        _fifo = fifo;
        _getReason = name + ".Get";
        _putReason = name + ".Put";
        _peekReason = name + ".Peek";
    }

    /// <summary>The capacity; 0 means unbounded (gevent's <c>maxsize</c>).</summary>
    public int MaxSize { get; }

    /// <summary>The number of items in the queue (gevent's <c>qsize()</c>).</summary>
    public int Count => StoredCount;

    /// <summary>True when the queue holds no item (gevent's <c>empty()</c>).</summary>
    public bool IsEmpty => StoredCount == 0;

    /// <summary>True when a bounded queue holds <see cref="MaxSize"/> items (gevent's <c>full()</c>).</summary>
    public bool IsFull => MaxSize > 0 && StoredCount >= MaxSize;

    private int GetterCount => _getters.Count;

    private int PutterCount => _putters.Count;

    // ---- storage (overridden by the LIFO and priority queues) --------------------------------------------

    private protected virtual int StoredCount => _fifo!.Count;

    private protected virtual void Store(T item) => _fifo!.Enqueue(item);

    private protected virtual T Take() => _fifo!.Dequeue();

    private protected virtual T PeekStored() => _fifo!.Peek();

    // ---- putting ------------------------------------------------------------------------------------------

    /// <summary>Adds <paramref name="item"/>, suspending the calling fiber while a bounded queue is full
    /// (gevent's <c>put(item, timeout=...)</c>).</summary>
    /// <param name="item">The item.</param>
    /// <param name="timeout">How long to wait for room; null or <see cref="Timeout.InfiniteTimeSpan"/>: no limit;
    /// <see cref="TimeSpan.Zero"/>: do not block.</param>
    /// <exception cref="QueueFullException">No room within <paramref name="timeout"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the queue's hub.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Put(T item, TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        Hub hub = SyncHub.Bind(ref _hub, _putReason);
        if (!HasRoom)
        {
            if (SyncHub.IsZero(timeout)) throw new QueueFullException($"{_putReason}: the queue is full ({MaxSize} items).");
            object? r = hub.WaitOn(_putters, timeout, _putReason);
            if (ReferenceEquals(r, WakeTimer.TimedOut)) throw new QueueFullException($"{_putReason}: the queue stayed full for {timeout}.");
            _putGrants--;                      // the slot reserved for us
        }
        StoreAndSignal(hub, item);
    }

    /// <summary>Adds <paramref name="item"/> without blocking (gevent's <c>put_nowait(item)</c>).</summary>
    /// <param name="item">The item.</param>
    /// <exception cref="QueueFullException">The queue is full.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the queue's hub.</exception>
    public void PutNoWait(T item) => Put(item, TimeSpan.Zero);

    /// <summary>Adds <paramref name="item"/> if there is room now; never blocks.</summary>
    /// <param name="item">The item.</param>
    /// <returns>True if the item was added; false if the queue is full.</returns>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the queue's hub.</exception>
    public bool TryPut(T item)
    {
        Hub hub = SyncHub.Bind(ref _hub, _putReason);
        if (!HasRoom) return false;
        StoreAndSignal(hub, item);
        return true;
    }

    private bool HasRoom => MaxSize == 0 || StoredCount + _putGrants < MaxSize;

    private void StoreAndSignal(Hub hub, T item)
    {
        Store(item);
        OnStored();
        if (StoredCount > _getGrants && _getters.WakeOne(hub, SyncHub.Granted)) _getGrants++;
        if (!_peekers.IsEmpty) _peekers.WakeAll(hub);
    }

    private protected virtual void OnStored()
    {
    }

    private protected Hub BindHub(string operation) => SyncHub.Bind(ref _hub, operation);

    // ---- getting ------------------------------------------------------------------------------------------

    /// <summary>Removes and returns the next item, suspending the calling fiber while the queue is empty
    /// (gevent's <c>get(timeout=...)</c>).</summary>
    /// <param name="timeout">How long to wait for an item; null or <see cref="Timeout.InfiniteTimeSpan"/>: no limit;
    /// <see cref="TimeSpan.Zero"/>: do not block.</param>
    /// <returns>The item.</returns>
    /// <exception cref="QueueEmptyException">No item within <paramref name="timeout"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the queue's hub.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public T Get(TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        Hub hub = SyncHub.Bind(ref _hub, _getReason);
        if (StoredCount <= _getGrants)
        {
            if (SyncHub.IsZero(timeout)) throw new QueueEmptyException($"{_getReason}: the queue is empty.");
            object? r = hub.WaitOn(_getters, timeout, _getReason);
            if (ReferenceEquals(r, WakeTimer.TimedOut)) throw new QueueEmptyException($"{_getReason}: no item arrived within {timeout}.");
            _getGrants--;                      // the item reserved for us
        }
        return TakeAndSignal(hub);
    }

    /// <summary>Removes and returns the next item without blocking (gevent's <c>get_nowait()</c>).</summary>
    /// <returns>The item.</returns>
    /// <exception cref="QueueEmptyException">The queue is empty.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the queue's hub.</exception>
    public T GetNoWait() => Get(TimeSpan.Zero);

    /// <summary>Removes the next item if there is one now; never blocks.</summary>
    /// <param name="item">The item, or <c>default</c>.</param>
    /// <returns>True if an item was removed.</returns>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the queue's hub.</exception>
    public bool TryGet([MaybeNullWhen(false)] out T item)
    {
        Hub hub = SyncHub.Bind(ref _hub, _getReason);
        if (StoredCount <= _getGrants)
        {
            item = default;
            return false;
        }
        item = TakeAndSignal(hub);
        return true;
    }

    private T TakeAndSignal(Hub hub)
    {
        T item = Take();
        if (MaxSize > 0 && StoredCount + _putGrants < MaxSize && _putters.WakeOne(hub, SyncHub.Granted)) _putGrants++;
        return item;
    }

    // ---- peeking ------------------------------------------------------------------------------------------

    /// <summary>Returns the next item without removing it, suspending the calling fiber while the queue is empty
    /// (gevent's <c>peek(timeout=...)</c>). Peeking does not take an item's place in line: getters are still served
    /// first.</summary>
    /// <param name="timeout">How long to wait for an item; null or <see cref="Timeout.InfiniteTimeSpan"/>: no limit;
    /// <see cref="TimeSpan.Zero"/>: do not block.</param>
    /// <returns>The item at the head of the queue.</returns>
    /// <exception cref="QueueEmptyException">No item within <paramref name="timeout"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the queue's hub.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public T Peek(TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        Hub hub = SyncHub.Bind(ref _hub, _peekReason);
        long deadline = Hub.DeadlineAfter(timeout);
        while (StoredCount <= _getGrants)
        {
            TimeSpan? left = Hub.TimeLeft(deadline);
            if (left == TimeSpan.Zero) throw new QueueEmptyException($"{_peekReason}: the queue is empty.");
            hub.WaitOn(_peekers, left, _peekReason);   // woken by every store; the item may go to a getter first
        }
        return PeekStored();
    }

    /// <summary>Returns the next item without removing it, if there is one now; never blocks.</summary>
    /// <param name="item">The item, or <c>default</c>.</param>
    /// <returns>True if the queue holds an item.</returns>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the queue's hub.</exception>
    public bool TryPeek([MaybeNullWhen(false)] out T item)
    {
        SyncHub.Bind(ref _hub, _peekReason);
        if (StoredCount <= _getGrants)
        {
            item = default;
            return false;
        }
        item = PeekStored();
        return true;
    }

    // ---- enumeration --------------------------------------------------------------------------------------

    /// <summary>Consumes the queue like gevent's <c>for item in queue</c>: each step is a blocking <see cref="Get"/>,
    /// and the enumeration never ends by itself (see the remarks on <see cref="FiberQueue{T}"/>).</summary>
    /// <returns>An enumerator that removes items as it yields them.</returns>
    public IEnumerator<T> GetEnumerator()
    {
        while (true) yield return Get();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
