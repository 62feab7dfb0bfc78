using System.Diagnostics;
using System.Globalization;

namespace FiberRuntime.Benchmarks.Compare;

/// <summary>
/// <c>compare [--smoke]</c>: the one-command demo. Fibers vs Tasks vs OS threads, measured side by side in one run
/// (about a minute on 2 cores), printed as one table with ratios. Progress goes to standard error, one line per
/// measurement; the table to standard output.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Micro rows: <see cref="TimingRunner"/> (calibrated runs of ~0.25 s, the three models' runs interleaved,
/// median of 5 each).</item>
/// <item>Echo: the <c>echo</c> command's machinery, one row at 1000 connections, 3 s per server.</item>
/// <item>Idle units: a child process per model (the hidden <c>idle</c> subcommand) so that RSS is its own:
/// 100 000 fibers (fewer when <c>vm.max_map_count</c> cannot hold them, said in the row), 100 000 async methods,
/// 10 000 threads.</item>
/// </list>
/// <c>--smoke</c> runs everything tiny (for the test that checks the table's shape): the numbers mean nothing.
/// </remarks>
internal static class CompareCommand
{
    public const int IdleUnits = 100_000;
    public const int IdleThreads = 10_000;

    private sealed class Steps(int total)
    {
        private int _done;
        private readonly Stopwatch _wall = Stopwatch.StartNew();

        public void Report(string row, string model, string what)
        {
            _done++;
            Console.Error.WriteLine($"[{_done,2}/{total}] {_wall.Elapsed.TotalSeconds,5:F1}s  {row} · {model}: {what}");
        }
    }

    public static int Run(string[] args)
    {
        bool smoke = args.Contains("--smoke");
        TimingRunner runner = smoke ? TimingRunner.Smoke : TimingRunner.Default;
        int echoConnections = smoke ? 50 : 1000;
        string echoSeconds = smoke ? "1" : "3";
        int gcReps = smoke ? 3 : 5;
        int units = smoke ? 2000 : FiberCountThatFits(IdleUnits);
        int asyncUnits = smoke ? 2000 : IdleUnits;
        int threads = smoke ? 200 : IdleThreads;

        var wall = Stopwatch.StartNew();
        var steps = new Steps(6 * 3 + 3 + 3);
        bool failed = false;
        var rows = new List<Row>();

        Row Micro(string name, string unit, Func<long, double> fiber, Func<long, double> task, Func<long, double> thread)
        {
            string[] models = ["fiber", "Task", "thread"];
            var results = runner.MeasureSideBySide([fiber, task, thread]);
            var cells = new Cell[3];
            for (int i = 0; i < 3; i++)
            {
                if (results[i] is { Timing: { } t })
                {
                    steps.Report(name, models[i], $"{Format.Number(t.NsPerOp)} {unit} (median of {t.Runs} × {t.OpsPerRun:N0} ops, range " +
                                                  $"{Format.Number(t.MinNs)}–{Format.Number(t.MaxNs)}, " +
                                                  $"{t.WarmupRounds} warm-up round(s){(t.Settled ? "" : ", JIT still compiling")}, {t.Wall.TotalSeconds:F1} s)");
                    cells[i] = Cell.Of(t.NsPerOp);
                }
                else
                {
                    failed = true;
                    steps.Report(name, models[i], $"FAILED: {results[i].Error}");
                    cells[i] = Cell.Missing($"failed: {results[i].Error!.GetType().Name}");
                }
            }
            return new Row(name, unit, false, cells[0], cells[1], cells[2]);
        }

        using (var hub = new BenchmarkHub())
        {
            var fw = new FiberWorkloads(hub);
            rows.Add(Micro("switch ping-pong", "ns/hand-off", fw.SwitchPingPong, TaskWorkloads.SwitchPingPong, ThreadWorkloads.SwitchPingPong));
            rows.Add(Micro($"deep stack ({DeepStackWorkloads.Depth} calls)", "ns/round trip", fw.DeepStack, DeepStackWorkloads.Task, DeepStackWorkloads.Thread));
            rows.Add(Micro("semaphore ping-pong", "ns/hand-off", fw.SemaphorePingPong, TaskWorkloads.SemaphorePingPong, ThreadWorkloads.SemaphorePingPong));
            rows.Add(Micro("yield round trip", "ns/yield", fw.Yield, TaskWorkloads.Yield, ThreadWorkloads.Yield));
            rows.Add(Micro("spawn + join (empty)", "ns/spawn", fw.SpawnJoin, TaskWorkloads.SpawnJoin, ThreadWorkloads.SpawnJoin));
            rows.Add(Micro("queue hand-off, capacity 64", "ns/item", fw.Queue, TaskWorkloads.Queue, ThreadWorkloads.Queue));
        }

        // ---- echo ----
        string echoRow = $"echo, {echoConnections:N0} connections, 64 B";
        var echo = new Dictionary<string, Cell>();
        try
        {
            (string server, string client) = EchoComparison.Binaries();
            foreach (string model in EchoComparison.Models)
            {
                try
                {
                    EchoResult r = EchoComparison.RunOne(server, client, model, echoConnections, 64, echoSeconds);
                    echo[model] = r.Errors == 0 ? Cell.Of(r.RoundTripsPerSecond) : Cell.Missing($"{r.Errors} errors");
                    failed |= r.Errors != 0;
                    steps.Report(echoRow, model, $"{r.RoundTripsPerSecond:N0} round trips/s, p50 {r.P50Micros:N0} µs, p99 {r.P99Micros:N0} µs, errors {r.Errors}");
                }
                catch (Exception e)
                {
                    failed = true;
                    echo[model] = Cell.Missing($"failed: {e.GetType().Name}");
                    steps.Report(echoRow, model, $"FAILED: {e.Message}");
                }
            }
        }
        catch (Exception e)
        {
            failed = true;
            Console.Error.WriteLine($"echo: {e.Message}");
        }
        Cell EchoCell(string model) => echo.TryGetValue(model, out Cell c) ? c : Cell.Missing("not run");
        rows.Add(new Row(echoRow, "round trips/s", true, EchoCell("fiber"), EchoCell("async"), EchoCell("threads")));

        // ---- idle units, each model in a child process ----
        string idleRow = $"idle units ({Count(units)} fibers, {Count(asyncUnits)} async, {Count(threads)} threads)";
        IdleResult Idle(string model, int count)
        {
            IdleResult r = SelfProcess.Idle(model, count, gcReps, compactingReps: 0);
            failed |= !r.Ok && !r.Error!.StartsWith("needs", StringComparison.Ordinal);
            steps.Report(idleRow, model, r.Ok
                ? $"{Format.Number(r.RssKiBPerUnit)} KiB/unit RSS, created in {Format.Number(r.CreateMicrosPerUnit)} µs/unit ({Format.Number(r.CreateMicrosPerUnitExcludingGc)} without GC pauses, {Format.Number(r.CreateCpuMicrosPerUnit)} CPU), gen0 GC {Format.Number(r.Gen0Ms)} ms, " +
                  $"full GC {Format.Number(r.FullMs)} ms, {r.Woken:N0}/{r.Count:N0} woke"
                : r.Error!);
            return r;
        }
        IdleResult fi = Idle("fiber", units), ai = Idle("async", asyncUnits), ti = Idle("threads", threads);
        Cell C(IdleResult r, Func<IdleResult, double> f) => r.Ok ? Cell.Of(f(r)) : Cell.Missing(r.Error!);
        rows.Add(new Row("idle unit memory (RSS after full GC)", "KiB/unit", false, C(fi, r => r.RssKiBPerUnit), C(ai, r => r.RssKiBPerUnit), C(ti, r => r.RssKiBPerUnit)));
        rows.Add(new Row("create an idle unit (GC pauses excluded)", "µs/unit", false,
            C(fi, r => r.CreateMicrosPerUnitExcludingGc), C(ai, r => r.CreateMicrosPerUnitExcludingGc), C(ti, r => r.CreateMicrosPerUnitExcludingGc)));
        rows.Add(new Row("gen0 GC pause while they wait", "ms", false, C(fi, r => r.Gen0Ms), C(ai, r => r.Gen0Ms), C(ti, r => r.Gen0Ms), ThreadRatio: threads == units));
        rows.Add(new Row("full blocking GC pause while they wait", "ms", false, C(fi, r => r.FullMs), C(ai, r => r.FullMs), C(ti, r => r.FullMs), ThreadRatio: threads == units));
        // per waiting unit, so that fibers compare with threads whatever their counts
        rows.Add(new Row("gen0 GC pause per waiting unit", "ns/unit", false, C(fi, r => r.Gen0NsPerUnit), C(ai, r => r.Gen0NsPerUnit), C(ti, r => r.Gen0NsPerUnit)));
        rows.Add(new Row("full GC pause per waiting unit", "ns/unit", false, C(fi, r => r.FullNsPerUnit), C(ai, r => r.FullNsPerUnit), C(ti, r => r.FullNsPerUnit)));

        // ---- the table ----
        Console.WriteLine($"Fibers vs Tasks vs OS threads, one run{(smoke ? " (SMOKE: tiny runs, numbers meaningless)" : "")}: {Format.Machine()}");
        Console.WriteLine();
        Console.Write(Format.Markdown(
            ["benchmark", "unit", "fiber", "Task", "thread", "Task ÷ fiber", "thread ÷ fiber"],
            rows.Select(r => new[]
            {
                r.Name, r.Unit, r.Fiber.ToString(), r.Task.ToString(), r.Thread.ToString(),
                Row.Ratio(r.Fiber, r.Task, r.HigherIsBetter),
                r.ThreadRatio ? Row.Ratio(r.Fiber, r.Thread, r.HigherIsBetter) : "n/a (" + Count(threads) + " threads)",
            }),
            leftColumns: 2));
        Console.WriteLine();
        Console.WriteLine(Legend(units, asyncUnits, threads, echoSeconds, runner));
        Console.WriteLine($"Total wall time: {wall.Elapsed.TotalSeconds:F0} s.");
        return failed ? 1 : 0;
    }

    private static string Count(int n) => n % 1000 == 0 && n >= 10_000 ? $"{n / 1000}k" : n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>The largest multiple of 1000, at most <paramref name="wanted"/>, whose fibers fit under
    /// vm.max_map_count (two mappings per live fiber stack on kernels without guard markers).</summary>
    private static int FiberCountThatFits(int wanted)
    {
        long max = Proc.MaxMapCount();
        if (max < 0 || Proc.FiberStacksShareOneMapping) return wanted;
        long fits = (max - Proc.MapCount() - 4096) / 2 / 1000 * 1000;
        return (int)Math.Clamp(fits, 1000, wanted);
    }

    private static string Legend(int units, int asyncUnits, int threads, string echoSeconds, TimingRunner runner) => $"""
        Ratios: the other model's cost ÷ the fiber's (time per operation, memory per unit, pause) — for throughput,
        fiber ÷ other. Above 1× fibers win; below 1× they lose. Micro rows: median of {runner.Runs} runs of ~{runner.PerRunSeconds} s each,
        after a calibration and up to {runner.SettleRounds} warm-up rounds (until a round compiles nothing: steady-state
        code), the three models' runs interleaved in an order rotated each round; fiber rows run on one hub thread,
        Task rows on the thread pool.
        - switch ping-pong: fiber = two greenlets Switch()ing to each other; Task = two async methods handing off
          through a reusable IValueTaskSource whose continuation runs inline (no allocation, no pool hop: the cheapest
          Task hand-off); thread = two threads, AutoResetEvent each way.
        - deep stack: the switch ping-pong with the suspended side {DeepStackWorkloads.Depth} calls deep, per round trip
          (suspend + resume, two hand-offs): fiber = {DeepStackWorkloads.Depth} plain non-inlined calls, then Switch();
          Task = {DeepStackWorkloads.Depth} nested async Task methods each awaiting the next, the innermost awaiting the
          same inline IValueTaskSource (every level allocates and runs a continuation); thread = {DeepStackWorkloads.Depth}
          calls, then AutoResetEvent.WaitOne().
        - semaphore ping-pong: fiber = two fibers, FiberSemaphore Release/Acquire (through the hub's run queue);
          Task = two async methods, SemaphoreSlim.WaitAsync; thread = two threads, SemaphoreSlim.Wait.
        - yield round trip: one unit gives up its turn and is resumed with nothing else to run: Fiber.Yield()
          (to the hub loop and back); await Task.Yield() (continuation queued to the pool); Thread.Yield() (sched_yield).
        - spawn + join: Fiber.Spawn(empty).Join(); await Task.Run(empty); new Thread(empty).Start() + Join().
        - queue hand-off: one producer, one consumer, capacity 64, per item: FiberQueue<int>;
          Channel.CreateBounded<int> (async writer/reader); BlockingCollection<int> (two threads).
        - echo: samples/EchoServer as a fiber server (one hub thread), async/await Socket server, thread per
          connection; driven for {echoSeconds} s by samples/EchoClient (one hub, 64 B messages); loopback.
        - idle units, each model in a fresh child process: every unit holds the same small object graph (a list of 3
          objects, ~220 B) and waits: {units:N0} fibers parked on one FiberEvent (one hub, 256 KiB stack reserved each),
          {asyncUnits:N0} async methods awaiting one TaskCompletionSource, {threads:N0} threads (64 KiB stacks) blocked on
          one ManualResetEventSlim. Memory: RSS growth after a full GC ÷ units (hub / runtime set-up included).
          Create: spawn until every unit waits, less the GC pauses that fell into it. GC pauses: median of the
          runtime's pause for gen0 GCs induced by allocating, and of GC.Collect(2, Forced, blocking) — while all units
          wait. Every unit is then woken and checked. Thread GC ratios are n/a when the thread count differs (a GC
          walks every thread's stack); the per-unit rows divide each pause by its model's unit count (the process's
          fixed GC cost, ~1 ms, included), so there fibers and threads compare per parked unit.
        """;
}
