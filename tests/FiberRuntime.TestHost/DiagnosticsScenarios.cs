// Child processes of the diagnostics tests (tests/FiberRuntime.Tests/Diagnostics/EventPipeTests.cs). Each prints
// "ready", waits for "go" on standard input (so the test can attach an EventPipe session first), does its work,
// prints what the test checks against, then waits for "exit" (so the session can be stopped while the process is
// still alive) and exits 0.
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace FiberRuntime.TestHost;

internal static class DiagnosticsScenarios
{
    private static int Int(string[] args, string name, int dflt)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : dflt;
    }

    private static bool WaitFor(string word)
    {
        Console.WriteLine(word == "go" ? "ready" : "waiting for " + word);
        Console.Out.Flush();
        string? line;
        while ((line = Console.ReadLine()) is not null)
            if (line.Trim() == word) return true;
        return false;
    }

    /// <summary>events --fibers N --parked K: N fibers that yield and finish, one that fails, one killed; then K fibers
    /// parked on an event and one fiber switching in bursts until "exit". Prints "spawned id,id,...", "failed id",
    /// "killed id", "parked id,id,...", "hub id", then "done".</summary>
    public static int Events(string[] args)
    {
        int n = Int(args, "--fibers", 20), parkedCount = Int(args, "--parked", 50);
        if (!WaitFor("go")) return 2;
        Hub.UnhandledFiberException += (_, _) => { };      // expected failure: keep standard error quiet
        Hub.Run(() =>
        {
            Console.WriteLine("hub " + Hub.Current!.Id);
            var fibers = new List<Fiber>();
            for (int i = 0; i < n; i++)
                fibers.Add(Fiber.Spawn(() =>
                {
                    for (int k = 0; k < 3; k++) Fiber.Yield();
                }));
            Fiber failing = Fiber.Spawn(() =>
            {
                Fiber.Yield();
                throw new InvalidOperationException("expected failure");
            });
            Fiber killed = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromHours(1)));
            Fiber.Yield();
            killed.Kill();
            Fiber.JoinAll([.. fibers, failing, killed]);
            Console.WriteLine("spawned " + string.Join(",", fibers.Select(f => f.Id)));
            Console.WriteLine("failed " + failing.Id);
            Console.WriteLine("killed " + killed.Id);

            var stop = new FiberEvent();
            var parked = new List<Fiber>();
            for (int i = 0; i < parkedCount; i++) parked.Add(Fiber.Spawn(() => { stop.Wait(); }));
            Fiber switcher = Fiber.Spawn(() =>
            {
                while (!stop.IsSet)
                {
                    for (int k = 0; k < 100; k++) Fiber.Yield();
                    Fiber.Sleep(0.005);
                }
            });
            Fiber.Yield();
            Console.WriteLine("parked " + string.Join(",", parked.Select(f => f.Id)));
            Console.WriteLine("done");
            Console.Out.Flush();
            Fiber.Await(Task.Run(() => WaitFor("exit")));
            stop.Set();
            Fiber.JoinAll([.. parked, switcher]);
        });
        Console.WriteLine("bye");
        return 0;
    }

    /// <summary>profile --fibers N --seconds S [--min-rounds K]: N suspended fibers — a third parked inside catch blocks,
    /// a third at the bottom of deep call chains, a third plain — all yielding round after round for at least S seconds and
    /// until each made K rounds (at most S + 120 s) while a sampling profiler walks the threads. Each fiber checks its own data after every switch. Prints "lanes tid,..."
    /// (the OS ids of the hub's identity threads, where the profiler sees the parked fibers) once they are parked, then
    /// "PROFILE: PASS fibers=N rounds=R perFiber=P checks=C" when every check held and every fiber made at least K
    /// rounds (default 10), else "PROFILE: CORRUPTION ..." (exit 3) or "PROFILE: TOO-FEW-ROUNDS ..." (exit 5).</summary>
    public static int Profile(string[] args)
    {
        int n = Int(args, "--fibers", 2000), seconds = Int(args, "--seconds", 3), minRounds = Int(args, "--min-rounds", 10);
        if (!WaitFor("go")) return 2;
        long rounds = 0, checks = 0, errors = 0;
        var perFiber = new long[n];
        var sw = Stopwatch.StartNew();
        Hub.Run(() =>
        {
            bool stop = false;
            var fibers = new Fiber[n];
            for (int i = 0; i < n; i++)
            {
                int id = i;
                fibers[i] = Fiber.Spawn(() =>
                {
                    while (!stop)
                    {
                        long expected = Mix(id, rounds);
                        long got = (id % 3) switch
                        {
                            0 => InCatch(id, expected),
                            1 => Deep(id, expected, 24),
                            _ => Plain(id, expected),
                        };
                        checks++;
                        if (got != expected) errors++;
                        rounds++;
                        perFiber[id]++;
                    }
                });
            }
            Fiber.Sleep(0.2);
            Console.WriteLine("lanes " + string.Join(",", ThreadsNamed("FiberRuntime pa")));
            Console.Out.Flush();
            // at least S seconds, and on until every fiber has made its rounds (a profiler attached slows the switches
            // down: each sample walks every suspended stack), within a bound
            while ((sw.Elapsed < TimeSpan.FromSeconds(seconds) || perFiber.Min() < minRounds) && sw.Elapsed < TimeSpan.FromSeconds(seconds + 120))
                Fiber.Sleep(0.05);
            stop = true;
            Fiber.JoinAll(fibers);
            foreach (Fiber f in fibers)
                if (!f.IsSuccessful) errors++;
        }, new HubOptions { MaxFibers = n + 16 });
        long fewest = perFiber.Min();
        string verdict = errors != 0 ? "CORRUPTION" : fewest < minRounds ? "TOO-FEW-ROUNDS" : "PASS";
        Console.WriteLine($"PROFILE: {verdict} fibers={n} rounds={rounds} perFiber={fewest} checks={checks} errors={errors} gen2={GC.CollectionCount(2)}");
        Console.Out.Flush();
        WaitFor("exit");
        return verdict switch { "PASS" => 0, "CORRUPTION" => 3, _ => 5 };
    }

    /// <summary>threads --fibers N: in a process with no other hub, lists the OS threads (/proc/self/task/*/comm)
    /// before, during and after one hub with N parked fibers. Prints "before a,b", "hub-thread NAME", "during
    /// tid=comm,...", "lanes L", "after a,b" (tid lists of the threads whose name starts with "FiberRuntime").</summary>
    public static int Threads(string[] args)
    {
        int n = Int(args, "--fibers", 100);
        Console.WriteLine("before " + FiberRuntimeThreads());
        Hub.Run(() =>
        {
            var stop = new FiberEvent();
            var parked = Enumerable.Range(0, n).Select(_ => Fiber.Spawn(() => { stop.Wait(); })).ToList();
            Fiber.Yield();
            Console.WriteLine("hub-thread " + Thread.CurrentThread.Name + " tid=" + Environment.CurrentManagedThreadId);
            Console.WriteLine("during " + FiberRuntimeThreads());
            Console.WriteLine("lanes " + Hub.Current!.GetStats().Lanes);
            stop.Set();
            Fiber.JoinAll(parked);
        }, new HubOptions { MaxFibers = n + 16 });
        // the identity threads are released when the hub is destroyed; give them a moment to leave /proc
        for (int i = 0; i < 100 && FiberRuntimeThreads().Contains("=FiberRuntime pa", StringComparison.Ordinal); i++) Thread.Sleep(20);
        Console.WriteLine("after " + FiberRuntimeThreads());
        return 0;
    }

    private static IEnumerable<string> ThreadsNamed(string prefix) =>
        Directory.EnumerateDirectories("/proc/self/task")
            .Where(task => File.Exists(Path.Combine(task, "comm")) && File.ReadAllText(Path.Combine(task, "comm")).StartsWith(prefix, StringComparison.Ordinal))
            .Select(Path.GetFileName)!;

    private static string FiberRuntimeThreads() =>
        string.Join(",", Directory.EnumerateDirectories("/proc/self/task")
            .Select(task => (Tid: Path.GetFileName(task), Comm: File.Exists(Path.Combine(task, "comm")) ? File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') : ""))
            .Where(t => t.Comm.StartsWith("FiberRuntime", StringComparison.Ordinal))
            .Select(t => $"{t.Tid}={t.Comm}"));

    private static long Mix(int id, long round) => (id * 1_000_003L) ^ (round * 7919L);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Plain(int id, long expected)
    {
        var box = new long[] { expected, id };
        Fiber.Yield();
        return box[1] == id ? box[0] : -1;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long InCatch(int id, long expected)
    {
        try
        {
            throw new InvalidOperationException(expected.ToString());
        }
        catch (InvalidOperationException e)
        {
            var keep = new[] { id };
            Fiber.Yield();                  // suspended inside a catch block while the profiler samples
            _ = new byte[64];
            return keep[0] == id ? long.Parse(e.Message) : -1;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Deep(int id, long expected, int depth)
    {
        var local = new[] { depth, id };
        if (depth == 0)
        {
            Fiber.Yield();                  // suspended at the bottom of a deep chain
            return local[1] == id ? expected : -1;
        }
        long r = Deep(id, expected, depth - 1);
        return local[0] == depth && local[1] == id ? r : -1;
    }
}
