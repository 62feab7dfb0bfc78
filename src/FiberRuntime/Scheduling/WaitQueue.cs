namespace FiberRuntime.Scheduling;

/// <summary>A greenlet's place in a wait queue. One per greenlet, reused for every wait (a greenlet waits on one
/// queue at a time), so waiting allocates nothing.</summary>
internal sealed class WaitNode(Greenlet owner)
{
    internal readonly Greenlet Owner = owner;
    internal int Token;
    internal object? Item;                 // what a waiting producer offers (queues, channels)
    internal WaitNode? Prev, Next;
    internal WaitQueue? Queue;             // the queue it is linked into, if any
}

/// <summary>FIFO of waiting greenlets, intrusive (linked through their <see cref="WaitNode"/>s). Hub thread only.</summary>
internal sealed class WaitQueue
{
    private WaitNode? _head, _tail;

    public int Count { get; private set; }

    public bool IsEmpty => _head is null;

    public WaitNode? First => _head;

    public void Enqueue(WaitNode node)
    {
        node.Queue = this;
        node.Prev = _tail;
        node.Next = null;
        if (_tail is null) _head = node; else _tail.Next = node;
        _tail = node;
        Count++;
    }

    public void Remove(WaitNode node)
    {
        if (!ReferenceEquals(node.Queue, this)) return;
        if (node.Prev is null) _head = node.Next; else node.Prev.Next = node.Next;
        if (node.Next is null) _tail = node.Prev; else node.Next.Prev = node.Prev;
        node.Prev = node.Next = null;
        node.Queue = null;
        node.Item = null;
        Count--;
    }

    public WaitNode? Dequeue()
    {
        WaitNode? n = _head;
        if (n is not null) Remove(n);
        return n;
    }

    /// <summary>Wakes the first waiter whose wait is still current with <paramref name="value"/>; false if none.</summary>
    public bool WakeOne(Hub hub, object? value = null)
    {
        while (Dequeue() is { } n)
            if (hub.Wake(n.Owner, n.Token, value)) return true;
        return false;
    }

    /// <summary>Wakes every waiter, in FIFO order.</summary>
    public int WakeAll(Hub hub, object? value = null)
    {
        int woken = 0;
        while (Dequeue() is { } n)
            if (hub.Wake(n.Owner, n.Token, value)) woken++;
        return woken;
    }
}
