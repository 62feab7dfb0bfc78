using System.Runtime.CompilerServices;

namespace FiberRuntime.TestHost;

internal sealed class Node
{
    public int Value;
    public string Label = "";
    public int[] Data = [];
    public Node? Next;
}

/// <summary>A struct holding references: lives in a stack frame, so its fields are stack roots.</summary>
internal struct Holder
{
    public string Text;
    public int[] Numbers;
    public object Boxed;
}

internal sealed partial class Torture
{
    // ---- stress: checksummed graphs on the stack across switches and forced compacting GCs ----

    private static long Checksum(int[] arr, string s, List<object> list, Node? n, in Holder h)
    {
        long c = 17;
        foreach (int x in arr) c = c * 31 + x;
        foreach (char ch in s) c = c * 31 + ch;
        foreach (object item in list)
        {
            if (item is string str) foreach (char ch in str) c = c * 31 + ch;
            else if (item is int[] ia) foreach (int x in ia) c = c * 31 + x;
            else c ^= 0xBAD;
        }
        for (; n is not null; n = n.Next)
        {
            c = c * 31 + n.Value;
            c = c * 31 + n.Label.Length;
            foreach (int x in n.Data) c = c * 31 + x;
        }
        foreach (char ch in h.Text) c = c * 37 + ch;
        foreach (int x in h.Numbers) c = c * 37 + x;
        c = c * 41 + (long)h.Boxed;
        return c;
    }

    private void StressBody(int id)
    {
        var rnd = new Random(id * 7919 + 1);
        int[] arr = new int[16 + rnd.Next(100)];
        for (int i = 0; i < arr.Length; i++) arr[i] = rnd.Next();
        string str = "fiber-" + id;
        var list = new List<object>();
        for (int k = 0; k < 8; k++) list.Add(k % 2 == 0 ? "s" + k + "_" + id : new[] { k, id });
        var node = new Node { Value = id, Label = "n" + id, Data = [id, id + 1], Next = new Node { Value = -id, Label = "m", Data = new int[3] } };
        var holder = new Holder { Text = "holder" + id, Numbers = [id, 2 * id, 3 * id], Boxed = (long)id * 1000003 };
        for (int r = 0; r < o.Rounds; r++)
        {
            for (int g = 0; g < 16; g++) _ = new byte[32 + rnd.Next(300)];          // churn the heap
            arr[rnd.Next(arr.Length)] += 1;
            list[rnd.Next(list.Count)] = r % 2 == 0 ? "r" + r + "_" + id : new[] { r, id, 5 };
            node.Next = new Node { Value = r, Label = "x" + r, Data = [r, id] };
            if ((r & 7) == 0) arr = (int[])arr.Clone();                            // a fresh object each 8 rounds
            str = string.Concat("fiber-", id.ToString(), "-", r.ToString());
            holder.Numbers = r % 3 == 0 ? [r, id] : holder.Numbers;
            long expected = Checksum(arr, str, list, node, holder);

            // an interior pointer into a heap array, held on this stack across the switch
            Span<int> span = arr.AsSpan(1, arr.Length - 2);
            long spanSum = 0;
            foreach (int x in span) spanSum += x;

            if (r % 4 == 3) DeepYield(id, r, o.Depth);
            else Yield(id);

            long after = 0;
            foreach (int x in span) after += x;
            Expect(after == spanSum, $"fiber {id} round {r}: span sum {after} != {spanSum}");
            Expect(Unsafe.AreSame(ref span[0], ref arr[1]), $"fiber {id} round {r}: span no longer points into its array");
            Expect(Checksum(arr, str, list, node, holder) == expected, $"fiber {id} round {r}: checksum changed");
            Expect(holder.Boxed is long b && b == (long)id * 1000003, $"fiber {id} round {r}: boxed value changed");
            RoundsCompleted++;
        }
    }

    /// <summary>Recursion with references at every level; switches at the bottom, verifies every level on the way up.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void DeepYield(int id, int round, int depth)
    {
        var local = new[] { id, round, depth };
        string label = $"d{depth}-{id}";
        var st = new Holder { Text = label, Numbers = local, Boxed = (long)depth };
        if (depth == 0) Yield(id);
        else DeepYield(id, round, depth - 1);
        Expect(local[0] == id && local[1] == round && local[2] == depth, $"fiber {id} depth {depth}: local array changed");
        Expect(label == $"d{depth}-{id}" && ReferenceEquals(st.Text, label) && ReferenceEquals(st.Numbers, local) && (long)st.Boxed == depth,
               $"fiber {id} depth {depth}: frame references changed");
    }
}
