using System.Diagnostics;
using System.Globalization;

namespace FiberRuntime.Benchmarks.Compare;

/// <summary>
/// <c>scale [--counts 10000,100000,1000000] [--gc-reps R] [--thread-cap N] [--stack-kib K]</c>: for each count, that many idle fibers,
/// pending async methods and (up to the cap) OS threads, each model in a child process of its own (the hidden
/// <c>idle</c> subcommand): RSS per unit, creation and wake-up time per unit, a check that every unit woke and
/// completed, and GC pauses (gen0 and full) while they all wait; then where a fiber's memory goes.
/// </summary>
internal static class ScaleCommand
{
    public static int Run(string[] args)
    {
        int[] counts = Arg(args, "--counts", "10000,100000,1000000").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => int.Parse(s.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture)).ToArray();
        int reps = int.Parse(Arg(args, "--gc-reps", "5"), CultureInfo.InvariantCulture);
        int threadCap = int.Parse(Arg(args, "--thread-cap", "10000"), CultureInfo.InvariantCulture);
        int stackKiB = int.Parse(Arg(args, "--stack-kib", (HubOptions.DefaultStackSize / 1024).ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        var wall = Stopwatch.StartNew();
        var results = new List<(int Count, IdleResult Fiber, IdleResult Async, IdleResult Threads)>();
        bool failed = false;
        foreach (int n in counts)
        {
            IdleResult Measure(string model)
            {
                Console.Error.WriteLine($"[{wall.Elapsed.TotalSeconds,5:F0}s] scale: {n:N0} {model} ...");
                IdleResult r = SelfProcess.Idle(model, n, reps, reps, model == "fiber" ? stackKiB : null);
                failed |= !r.Ok && !r.Error!.StartsWith("needs", StringComparison.Ordinal);
                Console.Error.WriteLine($"[{wall.Elapsed.TotalSeconds,5:F0}s] scale: {n:N0} {model}: " + (r.Ok
                    ? $"{Format.Number(r.RssKiBPerUnit)} KiB/unit, create {Format.Number(r.CreateMicrosPerUnit)} µs/unit, gen0 {Format.Number(r.Gen0Ms)} ms, full {Format.Number(r.FullMs)} ms, {r.Woken:N0} woke"
                    : r.Error));
                return r;
            }
            IdleResult f = Measure("fiber"), a = Measure("async");
            IdleResult t = n <= threadCap ? Measure("threads") : new IdleResult
            {
                Model = "threads",
                Count = n,
                Error = $"not measured: capped at {threadCap:N0} threads (kernel.pid_max {Proc.TryRead("/proc/sys/kernel/pid_max")?.Trim()}, " +
                        $"kernel.threads-max {Proc.TryRead("/proc/sys/kernel/threads-max")?.Trim()}; each is a kernel task with its own stack)",
            };
            results.Add((n, f, a, t));
        }

        Console.WriteLine($"Idle units at scale, one child process per cell, fiber stacks of {stackKiB} KiB reserved: {Format.Machine()}");
        Console.WriteLine();
        Console.Write(Format.Markdown(
            ["units", "model", "RSS KiB/unit", "GC heap B/unit", "create µs/unit (GC pauses in it)", "wake µs/unit", "woke", "gen0 GC ms", "full GC ms", "full compacting GC ms"],
            results.SelectMany(r => new[] { r.Fiber, r.Async, r.Threads }.Select(x => x.Ok
                ? new[]
                {
                    x.Count.ToString("N0", CultureInfo.InvariantCulture), x.Model, Format.Number(x.RssKiBPerUnit), Format.Number(x.GcCommittedBytesPerUnit),
                    $"{Format.Number(x.CreateMicrosPerUnit)} ({Format.Number(x.CreateGcMicrosPerUnit)}, {x.CreateGcCount} GCs)", Format.Number(x.WakeMicrosPerUnit), $"{x.Woken:N0}/{x.Count:N0}",
                    Format.Number(x.Gen0Ms), Format.Number(x.FullMs), Format.Number(x.FullCompactingMs),
                }
                : [x.Count.ToString("N0", CultureInfo.InvariantCulture), x.Model, x.Error!, "", "", "", "", "", "", ""])),
            leftColumns: 2));
        Console.WriteLine();
        Console.WriteLine("Fibers vs async methods (same count, same object graph per unit); ÷ below 1× means fibers cost less:");
        Console.WriteLine();
        Console.Write(Format.Markdown(
            ["units", "RSS/unit fiber ÷ async", "create fiber ÷ async", "gen0 pause fiber ÷ async", "full pause fiber ÷ async", "gen0 pause per parked fiber", "full pause per parked fiber"],
            results.Select(r => new[]
            {
                r.Count.ToString("N0", CultureInfo.InvariantCulture),
                Ratio(r.Fiber, r.Async, x => x.RssKiBPerUnit), Ratio(r.Fiber, r.Async, x => x.CreateMicrosPerUnit),
                Ratio(r.Fiber, r.Async, x => x.Gen0Ms), Ratio(r.Fiber, r.Async, x => x.FullMs),
                r.Fiber.Ok ? Format.Number(r.Fiber.Gen0Ms * 1e6 / r.Count) + " ns" : "—",
                r.Fiber.Ok ? Format.Number(r.Fiber.FullMs * 1e6 / r.Count) + " ns" : "—",
            })));
        Console.WriteLine();
        Console.WriteLine("Where a parked fiber's memory goes (RSS = stack pages + GC heap + the rest; page tables and VMAs are kernel memory outside RSS):");
        Console.WriteLine();
        Console.Write(Format.Markdown(
            ["fibers", "RSS KiB/fiber", "stack resident KiB/fiber (pages min–max)", "GC heap committed B/fiber", "live managed B/fiber", "rest B/fiber", "page tables B/fiber", "VMAs B/fiber", "managed frames to the wait"],
            results.Where(r => r.Fiber.Ok).Select(r =>
            {
                IdleResult x = r.Fiber;
                double rest = x.RssKiBPerUnit * 1024 - x.StackKiBPerUnit * 1024 - x.GcCommittedBytesPerUnit;
                return new[]
                {
                    x.Count.ToString("N0", CultureInfo.InvariantCulture), Format.Number(x.RssKiBPerUnit),
                    $"{Format.Number(x.StackKiBPerUnit)} ({x.StackPagesMin}–{x.StackPagesMax})", Format.Number(x.GcCommittedBytesPerUnit),
                    Format.Number(x.ManagedBytesPerUnit), Format.Number(rest), Format.Number(x.PteBytesPerUnit),
                    x.VmaBytesPerUnit is { } v ? Format.Number(v) + " (system-wide)" : "unreadable", $"{x.FramesAtWait} + 6 in Wait",
                };
            })));
        Console.WriteLine();
        Console.WriteLine("""
            Every unit holds the same list of 3 small objects and waits: fibers parked on one FiberEvent (one hub, MaxFibers =
            count + 64, HubOptions.StackSize reserved each: see the header), async methods awaiting one TaskCompletionSource, threads (64 KiB stacks)
            blocked on one ManualResetEventSlim. RSS: growth of VmRSS across the creation, each reading after a full GC.
            Stack resident: mincore of every parked fiber's stack. GC heap: growth of the GC's committed bytes; live managed:
            of GC.GetTotalMemory. Rest: RSS not explained by the two (native per-slot bookkeeping, allocator, runtime).
            Page tables: growth of VmPTE. VMAs: growth of the kernel's vm_area_struct slab (two mappings per fiber stack without guard markers),
            system-wide, so other processes add noise. Frames: managed frames from the fiber's entry to FiberEvent.Wait (the
            GC walks them, plus ~6 inside Wait down to the switch, for every parked fiber at every GC).
            """);
        Console.WriteLine($"Total wall time: {wall.Elapsed.TotalSeconds:F0} s.");
        return failed ? 1 : 0;
    }

    private static string Ratio(IdleResult fiber, IdleResult other, Func<IdleResult, double> f) =>
        fiber.Ok && other.Ok && f(other) > 0 ? Format.Ratio(f(fiber) / f(other)) : "—";

    private static string Arg(string[] args, string name, string dflt)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt;
    }
}
