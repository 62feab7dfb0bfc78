using System.Diagnostics;

namespace FiberRuntime;

/// <summary>
/// A priority queue between fibers (gevent's <c>gevent.queue.PriorityQueue</c>): <see cref="FiberQueue{T}.Get"/>
/// returns the smallest item according to the comparer (items that compare equal come out in no particular order).
/// Blocking, bounds, fairness and threading are those of <see cref="FiberQueue{T}"/>.
/// </summary>
/// <typeparam name="T">The type of the items.</typeparam>
[DebuggerDisplay("FiberPriorityQueue: Count = {Count}, MaxSize = {MaxSize}")]
public sealed class FiberPriorityQueue<T> : FiberQueue<T>
{
    private readonly PriorityQueue<T, T> _heap;

    /// <summary>Creates a priority queue ordered by <see cref="Comparer{T}.Default"/>, holding at most
    /// <paramref name="maxSize"/> items; 0 (the default) means unbounded.</summary>
    /// <param name="maxSize">The capacity, or 0 for no limit.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSize"/> is negative.</exception>
    public FiberPriorityQueue(int maxSize = 0) : this(Comparer<T>.Default, maxSize)
    {
    }

    /// <summary>Creates a priority queue ordered by <paramref name="comparer"/> (smallest first), holding at most
    /// <paramref name="maxSize"/> items; 0 means unbounded.</summary>
    /// <param name="comparer">The order of the items.</param>
    /// <param name="maxSize">The capacity, or 0 for no limit.</param>
    /// <exception cref="ArgumentNullException"><paramref name="comparer"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSize"/> is negative.</exception>
    public FiberPriorityQueue(IComparer<T> comparer, int maxSize = 0) : base(maxSize, "FiberPriorityQueue", null)
    {
        ArgumentNullException.ThrowIfNull(comparer);
        _heap = new PriorityQueue<T, T>(comparer);
    }

    /// <summary>The order of the items.</summary>
    public IComparer<T> Comparer => _heap.Comparer;

    private protected override int StoredCount => _heap.Count;

    private protected override void Store(T item) => _heap.Enqueue(item, item);

    private protected override T Take() => _heap.Dequeue();

    private protected override T PeekStored() => _heap.Peek();
}
