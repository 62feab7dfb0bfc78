using System.Runtime.CompilerServices;

namespace FiberRuntime.TestHost;

internal sealed class Probe(int id, int round) : Exception($"probe-{id}-{round}")
{
    public readonly int Id = id, Round = round;
    public readonly int[] Payload = [id, round, id ^ round];
}

internal sealed partial class Torture
{
    // ---- exceptions: switches inside handlers, GCs while fibers sit in catch/finally ----

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Thrower(int id, int round, int depth)
    {
        var local = new[] { id, round, depth };
        if (depth > 0)
        {
            Thrower(id, round, depth - 1);
            GC.KeepAlive(local);
        }
        if ((round & 1) == 0) Yield(id);
        throw new Probe(id, round);
    }

    private void Check(Probe e, int id, int round, string where) =>
        Expect(e.Id == id && e.Round == round && e.Message == $"probe-{id}-{round}" && e.Payload[0] == id && e.Payload[1] == round,
               $"exception check {where} fiber {id} round {round}");

    private bool FilterWithSwitch(Probe e, int id)
    {
        Yield(id);                      // a switch inside an exception filter (first pass of dispatch)
        return e.Id == id;
    }

    private void ExceptionBody(int id)
    {
        var keep = new Node { Value = id, Label = "keep" + id, Data = [id, 7] };
        long keepSum = keep.Value * 31L + keep.Label.Length + keep.Data.Sum();
        for (int r = 0; r < o.Rounds; r++)
        {
            switch ((id + r) % 6)
            {
                case 0:     // switch inside catch
                    try { Thrower(id, r, id % 4); }
                    catch (Probe e)
                    {
                        var local = new[] { r, id };
                        Yield(id);
                        Check(e, id, r, "catch-1");
                        for (int g = 0; g < 8; g++) _ = new byte[100];
                        Yield(id);
                        Check(e, id, r, "catch-2");
                        Expect(local[0] == r && local[1] == id, "catch local");
                    }
                    break;
                case 1:     // switch inside finally during exceptional unwind
                    try
                    {
                        try { Yield(id); throw new Probe(id, r); }
                        finally
                        {
                            string l2 = "fin" + r;
                            Yield(id);
                            Expect(l2 == "fin" + r, "finally local");
                            Yield(id);
                        }
                    }
                    catch (Probe e) { Check(e, id, r, "after-finally"); }
                    break;
                case 2:     // switch inside a non-exceptional finally
                    {
                        var l3 = new[] { r };
                        try { Yield(id); }
                        finally { Yield(id); Expect(l3[0] == r, "finally-2 local"); }
                    }
                    break;
                case 3:     // nested: throw inside catch, switch in the inner catch, rethrow the outer
                    try
                    {
                        try { Thrower(id, r, 1); }
                        catch (Probe e1)
                        {
                            Yield(id);
                            try { throw new Probe(id, r + 1000); }
                            catch (Probe e2) { Yield(id); Check(e2, id, r + 1000, "nested-inner"); }
                            Check(e1, id, r, "nested-outer");
                            throw;
                        }
                    }
                    catch (Probe e3) { Yield(id); Check(e3, id, r, "rethrown"); }
                    break;
                case 4:     // stack traces inside a fiber
                    {
                        string st = Environment.StackTrace;
                        Expect(st.Contains(nameof(ExceptionBody)), "Environment.StackTrace lacks the fiber's frames");
                        try { Thrower(id, r, 2); }
                        catch (Probe e) { Expect(e.StackTrace?.Contains(nameof(Thrower)) == true, "exception stack trace lacks the thrower"); }
                        Yield(id);
                    }
                    break;
                case 5:     // switch inside an exception filter
                    try { Thrower(id, r, 1); }
                    catch (Probe e) when (FilterWithSwitch(e, id))
                    {
                        Check(e, id, r, "after-filter");
                        Yield(id);
                    }
                    break;
            }
            Expect(keep.Value * 31L + keep.Label.Length + keep.Data.Sum() == keepSum, $"fiber {id} round {r}: kept graph changed");
            RoundsCompleted++;
        }
    }
}
