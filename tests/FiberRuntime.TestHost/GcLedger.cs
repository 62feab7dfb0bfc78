using System.Runtime.CompilerServices;

namespace FiberRuntime.TestHost;

/// <summary>
/// Which GCs a torture run actually went through, and with how many fibers suspended. Every change of the parked
/// count passes through <see cref="Park"/>/<see cref="Unpark"/> on the hub thread, so between two observations the
/// set of suspended fibers is fixed: the GCs counted in between (GC.CollectionCount(0) counts every GC, whatever its
/// generation) happened with exactly that many fibers parked. GCs from other threads are attributed the same way.
/// </summary>
internal sealed class GcLedger(int parkedThreshold)
{
    private readonly int _gen0 = GC.CollectionCount(0), _gen1 = GC.CollectionCount(1), _gen2 = GC.CollectionCount(2);
    private int _seen = GC.CollectionCount(0);
    private long _lastCompactingIndex = -1;

    /// <summary>Fibers suspended inside the torture's switch right now.</summary>
    public int Parked;
    /// <summary>GCs that ran while at least the threshold of fibers was parked; of those, known compacting ones.</summary>
    public long GcsParked, CompactingParked;
    /// <summary>The most fibers seen parked during any GC.</summary>
    public int MaxParkedAtGc;

    public int Gen0 => GC.CollectionCount(0) - _gen0;
    public int Gen1 => GC.CollectionCount(1) - _gen1;
    public int Gen2 => GC.CollectionCount(2) - _gen2;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Park()
    {
        Observe();
        Parked++;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Unpark()
    {
        Observe();
        Parked--;
    }

    /// <summary>Attributes the GCs since the last observation to the current parked count. Whether a GC compacted is
    /// known for the last one only (GC.GetGCMemoryInfo), so several GCs between two observations count as at most
    /// one compacting GC: a lower bound.</summary>
    public void Observe()
    {
        int now = GC.CollectionCount(0);
        int gcs = now - _seen;
        if (gcs == 0) return;
        _seen = now;
        if (Parked > MaxParkedAtGc) MaxParkedAtGc = Parked;
        if (Parked < parkedThreshold) return;
        GcsParked += gcs;
        GCMemoryInfo last = GC.GetGCMemoryInfo(GCKind.Any);
        if (last.Compacted && last.Index != _lastCompactingIndex)
        {
            _lastCompactingIndex = last.Index;
            CompactingParked++;
        }
    }
}
