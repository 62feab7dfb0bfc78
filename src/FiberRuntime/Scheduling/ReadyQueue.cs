namespace FiberRuntime.Scheduling;

/// <summary>The scheduler's FIFO of ready work: greenlets to resume (with the value or exception their wait ends with)
/// and hub callbacks, in one order. A ring buffer of small entries written field by field: an enqueue stores one
/// reference (two for a value or a callback's state), a dequeue clears them with null stores, which need no GC write
/// barrier (<see cref="Queue{T}"/> copies its whole element with a bulk barrier both ways). Hub thread only.</summary>
internal sealed class ReadyQueue
{
    /// <summary>One piece of ready work. <see cref="Item"/> is a <see cref="Greenlet"/> (whose wait
    /// <see cref="Token"/> it resumes, with <see cref="Arg"/> as the value, or as the exception when
    /// <see cref="IsError"/>) or an <see cref="Action{T}"/> of object (a callback, <see cref="Arg"/> its state).</summary>
    internal struct Entry
    {
        internal object? Item;
        internal object? Arg;
        internal int Token;
        internal bool IsError;
    }

    private Entry[] _items = new Entry[64];     // a power of two
    private int _head;
    private int _count;

    /// <summary>Entries queued, stale ones (whose wait ended another way) included.</summary>
    public int Count => _count;

    public void Enqueue(object item, object? arg, int token, bool isError)
    {
        if (_count == _items.Length) Grow();
        ref Entry e = ref _items[(_head + _count) & (_items.Length - 1)];
        Fill(ref e, item, arg, token, isError);
        _count++;
    }

    /// <summary>Puts an entry just taken back at the front (a hand-off that could not happen): it stays next.</summary>
    public void PushFront(object item, object? arg, int token, bool isError)
    {
        if (_count == _items.Length) Grow();
        _head = (_head - 1) & (_items.Length - 1);
        Fill(ref _items[_head], item, arg, token, isError);
        _count++;
    }

    /// <summary>The first entry; only while <see cref="Count"/> is positive, and only until the queue changes.</summary>
    public ref Entry Head => ref _items[_head];

    /// <summary>Drops the first entry (read through <see cref="Head"/>), letting go of what it referenced.</summary>
    public void DropHead()
    {
        ref Entry e = ref _items[_head];
        e.Item = null;
        if (e.Arg is not null) e.Arg = null;
        _head = (_head + 1) & (_items.Length - 1);
        _count--;
    }

    /// <summary>The entries in order (diagnostics).</summary>
    public IEnumerable<Entry> Snapshot()
    {
        var copy = new Entry[_count];
        for (int i = 0; i < copy.Length; i++) copy[i] = _items[(_head + i) & (_items.Length - 1)];
        return copy;
    }

    private static void Fill(ref Entry e, object item, object? arg, int token, bool isError)
    {
        e.Item = item;
        if (arg is not null) e.Arg = arg;       // a free slot's Arg is null already (DropHead)
        e.Token = token;
        e.IsError = isError;
    }

    private void Grow()
    {
        var bigger = new Entry[_items.Length * 2];
        for (int i = 0; i < _count; i++) bigger[i] = _items[(_head + i) & (_items.Length - 1)];
        _items = bigger;
        _head = 0;
    }
}
