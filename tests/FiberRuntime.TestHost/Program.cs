// GC torture host: runs one scenario in its own process (GC mode, tiering and the negative control are
// per-process settings) and ends with one verdict line that the xunit suite parses:
//   VERDICT: PASS ...        every checksum matched (exit 0)
//   VERDICT: CORRUPTION ...  a checksum or reference changed across a switch (exit 3)
// A broken protection usually does not get that far: the process dies in the GC or with an access violation,
// or control flow goes astray (fewer rounds completed than fibers x rounds), which is also CORRUPTION.
//
// Usage: FiberRuntime.TestHost smoke | overflow
//        FiberRuntime.TestHost events | profile [...]   (diagnostics scenarios: see DiagnosticsScenarios.cs)
//        FiberRuntime.TestHost <stress|exceptions> [--fibers N] [--rounds R] [--gc-every K] [--depth D]
//                              [--ring] [--scheduled] [--gc-thread] [--unprotected]
// --scheduled: Fiber.Spawn'ed fibers yielding through the hub loop instead of raw greenlet switches.
// --gc-every K: the hub forces a compacting gen2 GC every K switches; with --gc-thread an external thread does,
// paced by the hub's switch count.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using FiberRuntime;
using FiberRuntime.TestHost;

switch (args.FirstOrDefault())
{
    case "smoke":
        // one greenlet round trip; used with a perturbed runtime layout to check start-up refusal
        try
        {
            using var verification = new VerificationListener();
            Console.WriteLine("result " + Hub.Run(() => new Greenlet(x => (int)x! + 1).Switch(41)));
            Console.WriteLine("runtime: " + FiberRuntime.Interop.RuntimeContract.Note);
            Console.WriteLine("event RuntimeVerified: " + verification.Note);
            return 0;
        }
        catch (PlatformNotSupportedException e)
        {
            Console.WriteLine("REFUSED: " + e.Message);
            return 4;
        }
    case "gcpause":
        return GcPause.Run(args);
    case "events":
        return DiagnosticsScenarios.Events(args);
    case "profile":
        return DiagnosticsScenarios.Profile(args);
    case "overflow":
        // unbounded recursion on a fiber: must hit the slot's guard page and die as a stack overflow.
        // --protection-guards: the guard is a PROT_NONE mapping (the pre-6.13 kernel path), not a guard marker.
        // A few fibers are parked first so that the overflowing one's slot lies above other slots' stacks.
        Hub.Run(() =>
        {
            var parked = Enumerable.Range(0, 3).Select(_ => new Greenlet(() => Greenlet.Current!.Parent!.Switch())).ToList();
            parked.ForEach(g => g.Switch());
            Console.WriteLine($"guard markers: {Hub.Current!.GetStats().GuardMarkers}");
            new Greenlet(() => Console.WriteLine(Recursion.Deep(0))).Switch();
        }, new HubOptions { ProtectionGuardPages = args.Contains("--protection-guards") });
        Console.WriteLine("UNREACHABLE: the recursion returned");
        return 0;
}

var o = Options.Parse(args);
Console.WriteLine($"scenario={o.Scenario} fibers={o.Fibers} rounds={o.Rounds} gcEvery={o.GcEvery} depth={o.Depth} ring={o.Ring} " +
                  $"gcThread={o.GcThread} unprotected={o.Unprotected} serverGC={System.Runtime.GCSettings.IsServerGC} " +
                  $"tiered={Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") ?? "default"}");
var torture = new Torture(o);
var sw = Stopwatch.StartNew();
int g2 = GC.CollectionCount(2);
torture.Run();
sw.Stop();
long expectedRounds = (long)o.Fibers * o.Rounds;
string stats = $"rounds={torture.RoundsCompleted}/{expectedRounds} switches={torture.Switches} forcedGCs={torture.ForcedGcs} externalGCs={torture.ExternalGcs} " +
               $"gen2={GC.CollectionCount(2) - g2} checks={torture.Checks} errors={torture.Errors} ms={sw.ElapsedMilliseconds}";
// PASS needs every round of every fiber to have run and every check to have held.
if (torture.Errors == 0 && torture.RoundsCompleted == expectedRounds && torture.Checks > 0)
{
    Console.WriteLine("VERDICT: PASS " + stats);
    return 0;
}
Console.WriteLine("VERDICT: CORRUPTION " + stats);
return 3;

namespace FiberRuntime.TestHost
{
    /// <summary>Median full-GC pause with N fibers suspended inside catch blocks (N/2) and outside handlers (N/2).
    /// Usage: gcpause --fibers N [--single-lane]. Prints "gcpause: fibers=N lanes=L median_ms=X".</summary>
    internal static class GcPause
    {
        public static int Run(string[] args)
        {
            int i = Array.IndexOf(args, "--fibers");
            int n = i >= 0 ? int.Parse(args[i + 1]) : 1000;
            bool single = args.Contains("--single-lane");
            var options = new HubOptions { MaxFibers = n + 8, SingleIdentityLane = single };
            string line = Hub.Run(() =>
            {
                Greenlet root = Greenlet.Current!;
                var parked = new List<Greenlet>();
                for (int k = 0; k < n; k++)
                {
                    int id = k;
                    var g = new Greenlet(() =>
                    {
                        var keep = new int[] { id };
                        if (id % 2 == 0)
                        {
                            try { throw new InvalidOperationException("parked in a handler " + id); }
                            catch (InvalidOperationException) { root.Switch(); }
                        }
                        else root.Switch();
                        GC.KeepAlive(keep);
                    });
                    g.Switch();
                    parked.Add(g);
                }
                var times = new List<double>();
                for (int r = 0; r < 21; r++)
                {
                    var sw = Stopwatch.StartNew();
                    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                    times.Add(sw.Elapsed.TotalMilliseconds);
                }
                times.Sort();
                uint lanes = Hub.Current!.GetStats().Lanes;
                foreach (Greenlet g in parked) g.Switch();
                return $"gcpause: fibers={n} lanes={lanes} median_ms={times[times.Count / 2]:F2}";
            }, options);
            Console.WriteLine(line);
            return 0;
        }
    }

    internal static class Recursion
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static long Deep(long n)
        {
            Span<byte> pad = stackalloc byte[512];
            pad[(int)(n & 511)] = (byte)n;
            return n > long.MaxValue - 2 ? n : Deep(n + 1) + pad[0];
        }
    }

    internal sealed record Options(string Scenario, int Fibers, int Rounds, int GcEvery, int Depth, bool Ring, bool GcThread, bool Unprotected, bool Scheduled)
    {
        public static Options Parse(string[] args)
        {
            string scenario = args.Length > 0 ? args[0] : "stress";
            int Int(string name, int dflt)
            {
                int i = Array.IndexOf(args, name);
                return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : dflt;
            }
            return new Options(scenario, Int("--fibers", 1000), Int("--rounds", 100), Int("--gc-every", 500), Int("--depth", 24),
                               args.Contains("--ring"), args.Contains("--gc-thread"), args.Contains("--unprotected"), args.Contains("--scheduled"));
        }
    }

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

    internal sealed class Probe(int id, int round) : Exception($"probe-{id}-{round}")
    {
        public readonly int Id = id, Round = round;
        public readonly int[] Payload = [id, round, id ^ round];
    }

    internal sealed class Torture(Options o)
    {
        public long Switches, Checks, ForcedGcs, ExternalGcs, RoundsCompleted;
        public int Errors;
        private Greenlet[] _fibers = [];
        private Greenlet _root = null!;
        private volatile bool _stopGcThread;

        public void Run()
        {
            Thread? gcThread = null;
            if (o.GcThread)
            {
                gcThread = new Thread(ExternalCollector) { IsBackground = true, Name = "external GC" };
                gcThread.Start();
            }
            var options = new HubOptions { MaxFibers = o.Fibers + 8, UnsafeDisableGcProtection = o.Unprotected };
            Hub.Run(Schedule, options);
            _stopGcThread = true;
            gcThread?.Join();
        }

        /// <summary>Forces compacting GCs from another thread at arbitrary points of the hub's work, one each time the
        /// hub has made --gc-every more switches: back-to-back GCs would starve the hub thread (it must reach a safe
        /// point for each, and each walks every suspended stack) and make the run's length a matter of luck.</summary>
        private void ExternalCollector()
        {
            var rnd = new Random(5);
            var hold = new object[64];
            long seen = -1;
            while (!_stopGcThread)
            {
                long now = Volatile.Read(ref Switches);
                if (seen >= 0 && now < seen + Math.Max(1, o.GcEvery))
                {
                    Thread.Yield();
                    continue;
                }
                seen = now;
                for (int i = 0; i < 2000; i++) hold[rnd.Next(64)] = new byte[rnd.Next(16, 400)];
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                Interlocked.Increment(ref ExternalGcs);
            }
        }

        private void Schedule()
        {
            _root = Greenlet.Current!;
            if (o.Scheduled)
            {
                // fibers on the hub's scheduler: spawned into its run queue, yielding through the hub loop
                var spawned = new Fiber[o.Fibers];
                for (int i = 0; i < o.Fibers; i++)
                {
                    int id = i;
                    spawned[i] = o.Scenario == "exceptions" ? Fiber.Spawn(() => ExceptionBody(id)) : Fiber.Spawn(() => StressBody(id));
                }
                Fiber.JoinAll(spawned);
                foreach (Fiber f in spawned)
                    if (!f.IsSuccessful) Fail($"{f} failed: {f.Exception}");
                return;
            }
            _fibers = new Greenlet[o.Fibers];
            for (int i = 0; i < o.Fibers; i++)
            {
                int id = i;
                _fibers[i] = o.Scenario switch
                {
                    "stress" => new Greenlet(() => StressBody(id)),
                    "exceptions" => new Greenlet(() => ExceptionBody(id)),
                    _ => throw new ArgumentException("unknown scenario " + o.Scenario),
                };
            }
            if (o.Ring)
            {
                // fibers switch directly to each other; the root only starts the ring and collects the end
                _fibers[0].Switch();
                while (_fibers.Any(f => !f.IsDead)) _fibers.First(f => !f.IsDead).Switch();
                return;
            }
            int alive = o.Fibers;
            while (alive > 0)
            {
                alive = 0;
                foreach (Greenlet f in _fibers)
                {
                    if (f.IsDead) continue;
                    f.Switch();
                    if (!f.IsDead) alive++;
                }
            }
        }

        // ---- switching ----

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void Yield(int id)
        {
            Switches++;
            if (o.GcEvery > 0 && !o.GcThread && Switches % o.GcEvery == 0)
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                ForcedGcs++;
            }
            if (o.Scheduled)
            {
                Fiber.Yield();
                return;
            }
            if (!o.Ring)
            {
                _root.Switch();
                return;
            }
            for (int k = 1; k <= _fibers.Length; k++)
            {
                Greenlet next = _fibers[(id + k) % _fibers.Length];
                if (!next.IsDead && !ReferenceEquals(next, Greenlet.Current))
                {
                    next.Switch();
                    return;
                }
            }
        }

        private void Fail(string what)
        {
            if (Errors++ < 20) Console.WriteLine("MISMATCH: " + what);
        }

        private void Expect(bool ok, string what)
        {
            Checks++;
            if (!ok) Fail(what);
        }

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
}
