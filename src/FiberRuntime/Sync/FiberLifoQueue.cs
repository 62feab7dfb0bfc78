using System.Diagnostics;

namespace FiberRuntime;

/// <summary>
/// A last-in first-out queue between fibers (gevent's <c>gevent.queue.LifoQueue</c>): <see cref="FiberQueue{T}.Get"/>
/// returns the most recently added item. Blocking, bounds, fairness and threading are those of <see cref="FiberQueue{T}"/>.
/// </summary>
/// <typeparam name="T">The type of the items.</typeparam>
[DebuggerDisplay("FiberLifoQueue: Count = {Count}, MaxSize = {MaxSize}")]
public sealed class FiberLifoQueue<T> : FiberQueue<T>
{
    private readonly Stack<T> _stack = new();

    /// <summary>Creates a LIFO queue holding at most <paramref name="maxSize"/> items; 0 (the default) means unbounded.</summary>
    /// <param name="maxSize">The capacity, or 0 for no limit.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSize"/> is negative.</exception>
    public FiberLifoQueue(int maxSize = 0) : base(maxSize, "FiberLifoQueue", null)
    {
    }

    private protected override int StoredCount => _stack.Count;

    private protected override void Store(T item) => _stack.Push(item);

    private protected override T Take() => _stack.Pop();

    private protected override T PeekStored() => _stack.Peek();
}
