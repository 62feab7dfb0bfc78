using System.Runtime.CompilerServices;

namespace FiberRuntime.TestHost;

/// <summary>A small object without references: reading a dead one through a stale reference reads whatever the GC
/// wrote over it (a free-object header) without faulting.</summary>
internal sealed class Cell(long a, long b, long c)
{
    public long A = a, B = b, C = c;
}

/// <summary>
/// The quiet scenario: the checksum detector's own proof. Each round a fiber allocates cells that only its suspended
/// stack refers to, each followed by an anchor cell held in a table (so every stack-only cell starts its own gap when
/// freed), and checks their values after the switch. Everything else the fibers touch is held elsewhere too. With
/// sweeping GCs (--sweep) nothing moves, so without protection nothing faults: the GC simply does not see the
/// stack-only cells, frees them, and the fiber reads the free-object header that replaced their fields. That must
/// end in VERDICT: CORRUPTION, never in a crash; with protection, in PASS.
/// </summary>
internal sealed partial class Torture
{
    private const int QuietCells = 2;
    private readonly Cell[] _anchors;

    private static long Value(int id, int round, int k) => unchecked((id + 1L) * 0x1E3779B97F4A7C15L ^ (round + 1L) * 0x632BE59BD9B4E019L ^ k);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Cell NewCell(int id, int round, int k)
    {
        var cell = new Cell(Value(id, round, k), ~Value(id, round, k), Value(id, round, k) * 3);
        _anchors[id * QuietCells + k] = new Cell(k, k, k);
        return cell;
    }

    private bool Intact(Cell c, int id, int round, int k)
    {
        long v = Value(id, round, k);
        return c.A == v && c.B == ~v && c.C == v * 3;
    }

    private void QuietBody(int id)
    {
        for (int r = 0; r < o.Rounds; r++)
        {
            Cell first = NewCell(id, r, 0), second = NewCell(id, r, 1);
            Yield(id);
            // no message is built unless a check fails: the only allocations between GCs are the cells and witnesses
            bool firstOk = Intact(first, id, r, 0), secondOk = Intact(second, id, r, 1);
            Checks += 2;
            if (!firstOk) Fail($"fiber {id} round {r}: a cell only its stack refers to changed (A={first.A:x})");
            if (!secondOk) Fail($"fiber {id} round {r}: a cell only its stack refers to changed (A={second.A:x})");
            RoundsCompleted++;
        }
    }
}
