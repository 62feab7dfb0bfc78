using System.Diagnostics;

namespace FiberRuntime.Scheduling;

/// <summary>A timer of a hub: fires once on the hub thread when <see cref="Due"/> (a <see cref="Stopwatch"/>
/// timestamp, monotonic) has passed. Intrusive: it knows its own place in the heap, so a timer object can be
/// reused for every wait of its owner without allocating.</summary>
internal abstract class HubTimer
{
    internal long Due;
    internal long Sequence;          // ties broken in start order
    internal int HeapIndex = -1;

    internal bool IsScheduled => HeapIndex >= 0;

    /// <summary>Runs on the hub thread, in the hub loop, after the timer was removed from the heap.</summary>
    internal abstract void Fire();
}

/// <summary>A binary min-heap of <see cref="HubTimer"/>s by due time (libuv's timer heap, array-based).
/// Add, remove and pop are O(log n); nothing is allocated once the array has grown.</summary>
internal sealed class TimerHeap
{
    private HubTimer[] _items = new HubTimer[16];
    private long _sequence;

    public int Count { get; private set; }

    public HubTimer? Peek() => Count > 0 ? _items[0] : null;

    /// <summary>The scheduled timers, in heap order (for diagnostics).</summary>
    public ReadOnlySpan<HubTimer> Items => _items.AsSpan(0, Count);

    public void Add(HubTimer t, long due)
    {
        if (t.IsScheduled) Remove(t);
        t.Due = due;
        t.Sequence = ++_sequence;
        if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        _items[Count] = t;
        t.HeapIndex = Count;
        Count++;
        Up(t.HeapIndex);
    }

    public bool Remove(HubTimer t)
    {
        int i = t.HeapIndex;
        if (i < 0) return false;
        Debug.Assert(ReferenceEquals(_items[i], t));
        Count--;
        HubTimer last = _items[Count];
        _items[Count] = null!;
        t.HeapIndex = -1;
        if (i < Count)
        {
            _items[i] = last;
            last.HeapIndex = i;
            if (!Up(i)) Down(i);
        }
        return true;
    }

    /// <summary>Removes and returns the earliest timer if it is due at <paramref name="now"/>.</summary>
    public HubTimer? PopDue(long now)
    {
        if (Count == 0 || _items[0].Due > now) return null;
        HubTimer t = _items[0];
        Remove(t);
        return t;
    }

    private static bool Less(HubTimer a, HubTimer b) => a.Due < b.Due || (a.Due == b.Due && a.Sequence < b.Sequence);

    private bool Up(int i)
    {
        bool moved = false;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Less(_items[i], _items[parent])) break;
            Swap(i, parent);
            i = parent;
            moved = true;
        }
        return moved;
    }

    private void Down(int i)
    {
        while (true)
        {
            int l = 2 * i + 1, r = l + 1, m = i;
            if (l < Count && Less(_items[l], _items[m])) m = l;
            if (r < Count && Less(_items[r], _items[m])) m = r;
            if (m == i) return;
            Swap(i, m);
            i = m;
        }
    }

    private void Swap(int a, int b)
    {
        (_items[a], _items[b]) = (_items[b], _items[a]);
        _items[a].HeapIndex = a;
        _items[b].HeapIndex = b;
    }
}
