using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FiberRuntime.Benchmarks.Compare;

/// <summary>
/// The hidden <c>idle</c> subcommand (a child process, so that its memory readings see nothing else):
/// <c>idle --model fiber|async|threads --count N [--gc-reps R] [--compacting-reps R] [--stack-kib K] [--hubs H]</c>. Creates N idle units that each hold the same
/// small object graph and wait for one signal — fibers parked on one <see cref="FiberEvent"/> (one hub), async methods
/// awaiting one <see cref="TaskCompletionSource"/>, OS threads (64 KiB stacks) blocked on one
/// <see cref="ManualResetEventSlim"/> — then measures RSS, managed heap and GC pauses with all of them parked, wakes
/// them all and checks that every one completed. Prints one <see cref="IdleResult"/> JSON line.
/// </summary>
internal static class IdleUnits
{
    public const int ThreadStackSize = 64 * 1024;

    private static object? s_sink;
    private static int s_compactingReps;
    private static int s_stackSize = HubOptions.DefaultStackSize;
    private static int s_hubs = 1;

    public static int Run(string[] args)
    {
        string model = Arg(args, "--model", "fiber");
        int count = int.Parse(Arg(args, "--count", "100000"), CultureInfo.InvariantCulture);
        int reps = int.Parse(Arg(args, "--gc-reps", "5"), CultureInfo.InvariantCulture);
        s_compactingReps = int.Parse(Arg(args, "--compacting-reps", reps.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        s_hubs = int.Parse(Arg(args, "--hubs", "1"), CultureInfo.InvariantCulture);
        s_stackSize = int.Parse(Arg(args, "--stack-kib", (HubOptions.DefaultStackSize / 1024).ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture) * 1024;
        IdleResult r = model switch
        {
            "fiber" => Fibers(count, reps),
            "async" => Async(count, reps),
            "threads" => Threads(count, reps),
            _ => throw new ArgumentException($"unknown --model {model} (fiber, async or threads)"),
        };
        Console.WriteLine(IdleResult.Marker + r.ToJson());
        return r.Ok ? 0 : 2;
    }

    private static string Arg(string[] args, string name, string dflt)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt;
    }

    // ---- the object graph every unit holds while it waits ---------------------------------------------------

    private sealed class Payload
    {
        public int Id;
        public long Stamp;
    }

    /// <summary>A list of three small objects (~220 bytes in all), held by the unit across its wait.</summary>
    internal static List<object> Graph(int id) => new(4) { new byte[32], new Payload { Id = id, Stamp = id * 7L }, new string('u', 8) };

    internal static void Check(List<object> graph, int id)
    {
        if (graph.Count != 3 || graph[0] is not byte[] { Length: 32 } || graph[1] is not Payload p || p.Id != id || p.Stamp != id * 7L ||
            graph[2] is not string { Length: 8 })
            throw new InvalidOperationException($"unit {id}: its object graph is damaged");
    }

    private sealed class Counter
    {
        public int Arrived;
        public int Woken;
        public int Frames;
    }

    // ---- measurements shared by the models ---------------------------------------------------------------------

    private static void FullGc()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    private static void Before(IdleResult r)
    {
        FullGc();
        ProcStatus s = ProcStatus.Read();
        (r.RssBefore, r.AnonBefore, r.PteBefore) = (s.VmRss, s.RssAnon, s.VmPte);
        r.ManagedBefore = GC.GetTotalMemory(false);
        r.GcCommittedBefore = GC.GetGCMemoryInfo().TotalCommittedBytes;
        if (Proc.Slab("vm_area_struct") is { } vma) (r.VmaBefore, r.VmaSize) = vma;
    }

    private static void After(IdleResult r)
    {
        FullGc();
        ProcStatus s = ProcStatus.Read();
        (r.RssAfter, r.AnonAfter, r.PteAfter) = (s.VmRss, s.RssAnon, s.VmPte);
        r.ManagedAfter = GC.GetTotalMemory(false);
        r.GcCommittedAfter = GC.GetGCMemoryInfo().TotalCommittedBytes;
        if (Proc.Slab("vm_area_struct") is { } vma) r.VmaAfter = vma.Active;
    }

    /// <summary>GC pauses with every unit parked: gen0 GCs induced by allocating garbage (the pause the runtime
    /// reports for each), and forced blocking full GCs, sweeping and compacting.</summary>
    private static void GcPauses(IdleResult r, int reps)
    {
        var gen0 = new List<double>();
        var gen0Cpu = new List<double>();
        for (int attempt = 0; gen0.Count < reps && attempt < reps * 20; attempt++)
        {
            int before = GC.CollectionCount(0);
            TimeSpan cpu = CpuTime();
            while (GC.CollectionCount(0) == before) s_sink = new byte[512];
            double cpuMs = (CpuTime() - cpu).TotalMilliseconds;
            GCMemoryInfo info = GC.GetGCMemoryInfo(GCKind.Ephemeral);
            if (info.Generation == 0 && info.PauseDurations.Length > 0)
            {
                gen0.Add(info.PauseDurations[0].TotalMilliseconds);
                gen0Cpu.Add(cpuMs);
            }
        }
        s_sink = null;
        r.Gen0PausesMs = [.. gen0];
        r.Gen0CpuMs = [.. gen0Cpu];
        TimeSpan fullCpu = CpuTime();
        r.FullPausesMs = FullGcPauses(reps, compacting: false);
        r.FullCpuMs = [(CpuTime() - fullCpu).TotalMilliseconds / Math.Max(1, reps)];
        r.FullCompactingPausesMs = FullGcPauses(s_compactingReps, compacting: true);
    }

    /// <summary>The runtime's pause for each of <paramref name="reps"/> forced blocking gen2 GCs (the wall time of the
    /// call if it reports none). A compacting GC walks the roots twice (mark, then relocate), a sweeping one once.</summary>
    private static double[] FullGcPauses(int reps, bool compacting)
    {
        var full = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            long start = Stopwatch.GetTimestamp();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting);
            double wallMs = TimingRunner.Since(start) * 1000;
            GCMemoryInfo info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
            full[i] = info.PauseDurations.Length > 0 && info.PauseDurations[0] > TimeSpan.Zero ? info.PauseDurations[0].TotalMilliseconds : wallMs;
        }
        return full;
    }

    private static TimeSpan CpuTime() => Process.GetCurrentProcess().TotalProcessorTime;

    private static (TimeSpan Pause, int Count, TimeSpan Cpu) GcSoFar() => (GC.GetTotalPauseDuration(), GC.CollectionCount(0), CpuTime());

    private static void CreatedWith(IdleResult r, double seconds, (TimeSpan Pause, int Count, TimeSpan Cpu) gcAtStart)
    {
        r.CreateSeconds = seconds;
        r.CreateCpuSeconds = (CpuTime() - gcAtStart.Cpu).TotalSeconds;
        r.CreateGcPauseSeconds = (GC.GetTotalPauseDuration() - gcAtStart.Pause).TotalSeconds;
        r.CreateGcCount = GC.CollectionCount(0) - gcAtStart.Count;
        Progress(r, $"created in {seconds:F2} s ({r.CreateGcCount} GCs pausing {r.CreateGcPauseSeconds:F2} s meanwhile); measuring memory");
    }

    private static void Progress(IdleResult r, string what) =>
        Console.Error.WriteLine($"    idle {r.Model} x{r.Count:N0}: {what}");

    // ---- fibers ---------------------------------------------------------------------------------------------------

    private static IdleResult Fibers(int count, int reps)
    {
        var r = new IdleResult { Model = "fiber", Count = count, StackSize = s_stackSize };
        long max = Proc.MaxMapCount();
        long need = Proc.MapsNeededForFibers(count, Proc.MapCount());
        if (max >= 0 && max < need)
        {
            r.Error = $"needs vm.max_map_count ≥ {need:N0} (is {max:N0})";
            Console.Error.WriteLine(
                $"idle fiber x{count:N0}: without kernel guard markers (Linux 6.13+) each live fiber stack is two memory mappings (guard page + stack), so {count:N0} fibers need " +
                $"vm.max_map_count ≥ {need}, and it is {max}. Raise it (as root) with:  sysctl -w vm.max_map_count={need}");
            return r;
        }
        FiberRound(Math.Min(count, 256), null, 0);          // warm-up: JIT the whole path on a small hub
        var fibers = new Fiber[count];                        // the handles exist in every model: not counted
        Before(r);
        if (s_hubs <= 1)
        {
            FiberRound(count, r, reps, fibers);
            return r;
        }
        // --hubs H: H - 1 other hubs park count / H fibers each, this one the rest (see IdleOtherHubs)
        int perHub = count / s_hubs, own = count - perHub * (s_hubs - 1);
        IdleOtherHubs others = IdleOtherHubs.Start(s_hubs - 1, perHub, s_stackSize);
        FiberRound(own, r, reps, fibers[..own]);
        int woken = others.WakeAll();
        r.Arrived += perHub * (s_hubs - 1);
        r.Woken += Math.Max(0, woken);
        if (woken != perHub * (s_hubs - 1)) r.Error ??= $"the other hubs' fibers: {woken} of {perHub * (s_hubs - 1)} woke and completed";
        return r;
    }

    private static void FiberRound(int count, IdleResult? r, int reps, Fiber[]? fibers = null)
    {
        fibers ??= new Fiber[count];
        Hub.Run(() =>
        {
            var c = new Counter();
            var go = new FiberEvent();
            Action body = () =>
            {
                int id = c.Arrived++;
                if (id == 0) c.Frames = new StackTrace(false).FrameCount;
                List<object> graph = Graph(id);
                go.Wait();
                Check(graph, id);
                c.Woken++;
            };
            var gc = GcSoFar();
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < count; i++) fibers[i] = Fiber.Spawn(body);
            Fiber.Yield();                                    // every fiber runs to its wait and parks
            double create = TimingRunner.Since(start);
            if (c.Arrived != count) throw new InvalidOperationException($"{c.Arrived} of {count} fibers reached their wait");
            if (r is not null)
            {
                CreatedWith(r, create, gc);
                r.Arrived = c.Arrived;
                r.FramesAtWait = c.Frames;
                After(r);
                Hub hub = Hub.Current!;
                long total = 0, min = long.MaxValue, maxPages = 0;
                foreach (Fiber f in fibers)
                {
                    long pages = hub.GetResidentStackPages(f.Slot);
                    total += pages;
                    min = Math.Min(min, pages);
                    maxPages = Math.Max(maxPages, pages);
                }
                (r.StackPagesTotal, r.StackPagesMin, r.StackPagesMax) = (total, min, maxPages);
                Progress(r, "measuring GC pauses");
                GcPauses(r, reps);
            }
            start = Stopwatch.GetTimestamp();
            go.Set();
            Fiber.Yield();                                    // every woken fiber runs to its end
            double wake = TimingRunner.Since(start);
            int failed = fibers.Count(f => !f.IsSuccessful);
            if (r is not null)
            {
                r.WakeSeconds = wake;
                r.Woken = c.Woken;
                if (c.Woken != count || failed != 0) r.Error = $"only {c.Woken} of {count} woke and completed ({failed} failed)";
            }
            else if (c.Woken != count || failed != 0) throw new InvalidOperationException($"warm-up: {c.Woken} of {count} woke");
        }, new HubOptions { MaxFibers = count + 64, StackSize = s_stackSize });
    }

    // ---- async methods ------------------------------------------------------------------------------------------

    private static async Task AsyncUnit(Task go, Counter c)
    {
        int id = c.Arrived++;                                 // runs synchronously on the creating thread
        List<object> graph = Graph(id);
        await go.ConfigureAwait(false);                       // graph and id live on in the state machine's box
        Check(graph, id);
        Interlocked.Increment(ref c.Woken);
    }

    private static IdleResult Async(int count, int reps)
    {
        var r = new IdleResult { Model = "async", Count = count };
        AsyncRound(Math.Min(count, 256), null, 0);
        var tasks = new Task[count];
        Before(r);
        AsyncRound(count, r, reps, tasks);
        return r;
    }

    private static void AsyncRound(int count, IdleResult? r, int reps, Task[]? tasks = null)
    {
        tasks ??= new Task[count];
        var c = new Counter();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gc = GcSoFar();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++) tasks[i] = AsyncUnit(go.Task, c);
        double create = TimingRunner.Since(start);
        if (c.Arrived != count || tasks.Any(t => t.IsCompleted)) throw new InvalidOperationException("not every async method is waiting");
        if (r is not null)
        {
            CreatedWith(r, create, gc);
            r.Arrived = c.Arrived;
            After(r);
            Progress(r, "measuring GC pauses");
            GcPauses(r, reps);
        }
        start = Stopwatch.GetTimestamp();
        go.SetResult();
        bool all = Task.WaitAll(tasks, TimeSpan.FromMinutes(5));
        double wake = TimingRunner.Since(start);
        int woken = Volatile.Read(ref c.Woken);
        int failed = tasks.Count(t => !t.IsCompletedSuccessfully);
        if (r is not null)
        {
            r.WakeSeconds = wake;
            r.Woken = woken;
            if (!all || woken != count || failed != 0) r.Error = $"only {woken} of {count} woke and completed ({failed} failed)";
        }
        else if (!all || woken != count || failed != 0) throw new InvalidOperationException($"warm-up: {woken} of {count} woke");
    }

    // ---- OS threads -------------------------------------------------------------------------------------------------

    private static IdleResult Threads(int count, int reps)
    {
        var r = new IdleResult { Model = "threads", Count = count };
        ThreadRound(Math.Min(count, 16), null, 0);
        var threads = new Thread[count];
        Before(r);
        ThreadRound(count, r, reps, threads);
        return r;
    }

    private static void ThreadRound(int count, IdleResult? r, int reps, Thread[]? threads = null)
    {
        threads ??= new Thread[count];
        var c = new Counter();
        using var go = new ManualResetEventSlim(false);
        ThreadStart body = () =>
        {
            int id = Interlocked.Increment(ref c.Arrived) - 1;
            List<object> graph = Graph(id);
            go.Wait();
            Check(graph, id);
            Interlocked.Increment(ref c.Woken);
        };
        var gc = GcSoFar();
        long start = Stopwatch.GetTimestamp();
        int started = 0;
        string? failure = null;
        try
        {
            for (; started < count; started++)
            {
                threads[started] = new Thread(body, ThreadStackSize) { IsBackground = true };
                threads[started].Start();
            }
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            failure = $"thread creation failed after {started:N0} threads: {e.GetType().Name}: {e.Message}";
        }
        while (Volatile.Read(ref c.Arrived) < started) Thread.Sleep(1);
        double create = TimingRunner.Since(start);
        if (r is not null)
        {
            CreatedWith(r, create, gc);
            r.Arrived = started;
            if (failure is null)
            {
                Thread.Sleep(200);                            // let the waiters finish spinning and block in the kernel
                After(r);
                Progress(r, "measuring GC pauses");
                GcPauses(r, reps);
            }
        }
        start = Stopwatch.GetTimestamp();
        go.Set();
        for (int i = 0; i < started; i++) threads[i].Join();
        double wake = TimingRunner.Since(start);
        int woken = Volatile.Read(ref c.Woken);
        if (r is not null)
        {
            r.WakeSeconds = wake;
            r.Woken = woken;
            if (failure is not null) r.Error = failure;
            else if (woken != count) r.Error = $"only {woken} of {count} woke and completed";
        }
        else if (failure is not null || woken != count) throw new InvalidOperationException($"warm-up: {failure ?? $"{woken} of {count} woke"}");
    }
}
