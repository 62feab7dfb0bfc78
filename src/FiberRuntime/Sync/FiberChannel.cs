using System.Collections;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// A rendezvous channel between fibers (gevent's <c>gevent.queue.Channel</c>): it holds no items; <see cref="Put"/>
/// suspends the calling fiber until a getter has taken its item and run, and <see cref="Get"/> suspends until a
/// putter hands one.
/// </summary>
/// <typeparam name="T">The type of the items.</typeparam>
/// <remarks>
/// <para>Rendezvous, as in gevent: <see cref="Put"/> (and <see cref="PutNoWait"/>) returns only after the getter
/// that took the item has been switched to (it runs until it blocks again, then the putter resumes), so a producer
/// is never an item ahead of its consumer. <see cref="TryPut"/> is the exception: it never blocks, so the getter
/// runs after it returns. A <see cref="Get"/> that finds a putter waiting takes its item without blocking; that
/// putter resumes after the getter next blocks.</para>
/// <para>Fairness: waiting getters and waiting putters are each served in the order they began to wait. An item
/// changes hands only when both sides agree: a putter that times out or is killed before a getter took its item
/// keeps it (its <see cref="Put"/> did not happen), and a getter that times out or is killed before being handed an
/// item takes nothing. A side that was already served when a kill arrives completes its operation first, and the
/// kill is raised at its next blocking point, so no item is lost or duplicated.</para>
/// <para>Bound to the hub of the first fiber that uses it; every member except the properties must be called by
/// fibers of that hub (<see cref="InvalidOperationException"/> otherwise). Waiting allocates nothing in the steady
/// state (a waiting putter's item sits in a pooled box).</para>
/// <para>Enumeration follows gevent's <c>for item in channel</c>: each step is a blocking <see cref="Get"/>, and it
/// never ends by itself.</para>
/// </remarks>
[DebuggerDisplay("FiberChannel: Balance = {Balance}, Getters = {_getters.Count}, Putters = {_putters.Count}")]
public sealed class FiberChannel<T> : IEnumerable<T>
{
    private readonly WaitQueue _getters = new();
    private readonly WaitQueue _putters = new();     // each waiting putter's node carries a StrongBox<T> with its item
    private readonly Queue<T> _handoff = new();      // items handed to getters that were woken but have not run yet
    private readonly Stack<StrongBox<T>> _boxes = new();
    private Hub? _hub;

    /// <summary>Waiting putters minus waiting getters (gevent's <c>balance</c>): positive when items are offered,
    /// negative when getters wait.</summary>
    public int Balance => _putters.Count - _getters.Count;

    /// <summary>Hands <paramref name="item"/> to a getter, suspending the calling fiber until one has taken it and
    /// been switched to (gevent's <c>put(item, timeout=...)</c>).</summary>
    /// <param name="item">The item.</param>
    /// <param name="timeout">How long to wait for a getter; null or <see cref="Timeout.InfiniteTimeSpan"/>: no limit;
    /// <see cref="TimeSpan.Zero"/>: only if a getter waits now. Once a getter took the item the put has happened: the
    /// caller then only waits for that getter to run, whatever the timeout.</param>
    /// <exception cref="QueueFullException">No getter took the item within <paramref name="timeout"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the channel's hub.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Put(T item, TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        Hub hub = SyncHub.Bind(ref _hub, "FiberChannel.Put");
        if (!_getters.IsEmpty)
        {
            SyncHub.RaisePendingInterrupt(hub, "FiberChannel.Put");      // a kill that came first: nothing changes hands
            if (TryHandToGetter(hub, item))
            {
                // resume after the getter has run (from a hub callback it only hands the item over, as gevent's
                // put from the hub does)
                SyncHub.RunAfterWoken(hub, "FiberChannel.Put");
                return;
            }
        }
        if (SyncHub.IsZero(timeout)) throw new QueueFullException("FiberChannel.Put: no getter is waiting.");
        StrongBox<T> box = _boxes.Count > 0 ? _boxes.Pop() : new StrongBox<T>();
        box.Value = item;
        try
        {
            object? r = hub.WaitOn(_putters, timeout, "FiberChannel.Put", box);
            if (ReferenceEquals(r, WakeTimer.TimedOut)) throw new QueueFullException($"FiberChannel.Put: no getter took the item within {timeout}.");
        }
        finally
        {
            box.Value = default!;
            _boxes.Push(box);
        }
    }

    /// <summary>Hands <paramref name="item"/> to a getter that waits now (gevent's <c>put_nowait</c>): it does not wait
    /// for a getter, but like <see cref="Put"/> it returns after the getter has been switched to.</summary>
    /// <param name="item">The item.</param>
    /// <exception cref="QueueFullException">No getter is waiting.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the channel's hub.</exception>
    public void PutNoWait(T item) => Put(item, TimeSpan.Zero);

    /// <summary>Hands <paramref name="item"/> to a getter if one waits now; never blocks, so unlike <see cref="Put"/>
    /// it returns before the getter runs (usable from hub callbacks).</summary>
    /// <param name="item">The item.</param>
    /// <returns>True if a getter received the item.</returns>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the channel's hub.</exception>
    public bool TryPut(T item) => TryHandToGetter(SyncHub.Bind(ref _hub, "FiberChannel.TryPut"), item);

    private bool TryHandToGetter(Hub hub, T item)
    {
        if (!_getters.WakeOne(hub, SyncHub.Granted)) return false;
        _handoff.Enqueue(item);          // the woken getter takes it when it runs (getters run in the order woken)
        return true;
    }

    /// <summary>Takes an item from a putter, suspending the calling fiber until one offers it
    /// (gevent's <c>get(timeout=...)</c>).</summary>
    /// <param name="timeout">How long to wait for a putter; null or <see cref="Timeout.InfiniteTimeSpan"/>: no limit;
    /// <see cref="TimeSpan.Zero"/>: only if a putter waits now.</param>
    /// <returns>The item.</returns>
    /// <exception cref="QueueEmptyException">No putter offered an item within <paramref name="timeout"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the channel's hub.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public T Get(TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        Hub hub = SyncHub.Bind(ref _hub, "FiberChannel.Get");
        if (TryTakeFromPutter(hub, out T? item)) return item;
        if (SyncHub.IsZero(timeout)) throw new QueueEmptyException("FiberChannel.Get: no putter is waiting.");
        object? r = hub.WaitOn(_getters, timeout, "FiberChannel.Get");
        if (ReferenceEquals(r, WakeTimer.TimedOut)) throw new QueueEmptyException($"FiberChannel.Get: no item was offered within {timeout}.");
        return _handoff.Dequeue();
    }

    /// <summary>Takes an item from a putter that waits now, without blocking (gevent's <c>get_nowait</c>).</summary>
    /// <returns>The item.</returns>
    /// <exception cref="QueueEmptyException">No putter is waiting.</exception>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the channel's hub.</exception>
    public T GetNoWait() => Get(TimeSpan.Zero);

    /// <summary>Takes an item from a putter if one waits now; never blocks.</summary>
    /// <param name="item">The item, or <c>default</c>.</param>
    /// <returns>True if an item was taken.</returns>
    /// <exception cref="InvalidOperationException">The caller is not a fiber of the channel's hub.</exception>
    public bool TryGet([MaybeNullWhen(false)] out T item) => TryTakeFromPutter(SyncHub.Bind(ref _hub, "FiberChannel.TryGet"), out item);

    private bool TryTakeFromPutter(Hub hub, [MaybeNullWhen(false)] out T item)
    {
        while (_putters.First is { } node)
        {
            var box = (StrongBox<T>)node.Item!;
            _putters.Remove(node);
            // the item changes hands only if the putter's wait is still current (not timed out or being killed)
            if (hub.Wake(node.Owner, node.Token, SyncHub.Granted))
            {
                item = box.Value!;
                return true;
            }
        }
        item = default;
        return false;
    }

    /// <summary>Consumes the channel like gevent's <c>for item in channel</c>: each step is a blocking <see cref="Get"/>,
    /// and the enumeration never ends by itself.</summary>
    /// <returns>An enumerator that takes items as it yields them.</returns>
    public IEnumerator<T> GetEnumerator()
    {
        while (true) yield return Get();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
