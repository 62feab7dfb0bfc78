// The gevent tutorial's "Synchronous & Asynchronous Execution", with FiberRuntime's Fiber API.
// https://sdiehl.github.io/gevent-tutorial/#synchronous-asynchronous-execution
//
// Expected output (deterministic):
//   Running in foo
//   Explicit context to bar
//   Explicit context switch to foo again
//   Implicit context switch back to bar
//   foo and bar together took about one sleep: yes
//   Synchronous:
//   Task 1 done ... Task 9 done, one a line (in order: each task sleeps before the next one starts)
//   Asynchronous:
//   Task 0, 4, 5, 2, 3, 8, 9, 1, 6, 7 done, one a line: in order of each task's delay (0, 50 or 100 ms from
//   the seeded Random; equal delays finish in spawn order)
using System.Diagnostics;
using FiberRuntime;

Hub.Run(() =>
{
    // ---- foo and bar: two fibers hand control to each other at their sleeps ----------------------------
    TimeSpan pause = TimeSpan.FromMilliseconds(500);

    void Foo()
    {
        Console.WriteLine("Running in foo");
        Fiber.Sleep(pause);
        Console.WriteLine("Explicit context switch to foo again");
    }

    void Bar()
    {
        Console.WriteLine("Explicit context to bar");
        Fiber.Sleep(pause);
        Console.WriteLine("Implicit context switch back to bar");
    }

    var sw = Stopwatch.StartNew();
    Fiber.JoinAll([Fiber.Spawn(Foo), Fiber.Spawn(Bar)]);
    // the two sleeps overlap: about one pause, far less than two
    bool aboutOneSleep = sw.Elapsed < pause * 1.8;
    Console.WriteLine($"foo and bar together took about one sleep: {(aboutOneSleep ? "yes" : $"no ({sw.Elapsed.TotalMilliseconds:F0} ms)")}");

    // ---- task(pid): synchronous vs asynchronous --------------------------------------------------------
    // gevent's task sleeps random.randint(0, 2) * 0.001 s; here 0, 1 or 2 units of 50 ms from a seeded Random,
    // drawn up front so both runs use the same delays.
    var random = new Random(2024);
    TimeSpan[] delays = Enumerable.Range(0, 10).Select(_ => TimeSpan.FromMilliseconds(50 * random.Next(0, 3))).ToArray();

    void Task(int pid)
    {
        Fiber.Sleep(delays[pid]);
        Console.WriteLine($"Task {pid} done");
    }

    void Synchronous()
    {
        for (int i = 1; i < 10; i++) Task(i);
    }

    void Asynchronous()
    {
        var fibers = Enumerable.Range(0, 10).Select(i => Fiber.Spawn(() => Task(i))).ToList();
        Fiber.JoinAll(fibers);
    }

    Console.WriteLine("Synchronous:");
    Synchronous();
    Console.WriteLine("Asynchronous:");
    Asynchronous();
});
