using System.Diagnostics;

namespace FiberRuntime.Tests.Scheduling;

/// <summary>The module-level functions over many fibers: JoinAll, KillAll, Wait, IWait.</summary>
public class GroupFunctionTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private static Fiber<string> SleepThen(int ms, string name) =>
        Fiber.Spawn(() => { Fiber.Sleep(TimeSpan.FromMilliseconds(ms)); return name; });

    [Fact]
    public void JoinAll_waits_for_all_and_returns_them()
    {
        Hub.Run(() =>
        {
            var fibers = new[] { SleepThen(30, "a"), SleepThen(10, "b"), SleepThen(20, "c") };
            IReadOnlyList<Fiber> done = Fiber.JoinAll(fibers);
            Assert.Equal(3, done.Count);
            Assert.All(fibers, f => Assert.True(f.IsReady));
            Assert.Equal(fibers.ToHashSet<Fiber>(), done.ToHashSet());
            Assert.Empty(Fiber.JoinAll([]));
        });
    }

    [Fact]
    public void JoinAll_WithTimeout_returns_only_the_finished_ones()
    {
        Hub.Run(() =>
        {
            Fiber slow = SleepThen(5_000, "slow");           // first in the list: JoinAll must not stop at it
            Fiber fast1 = SleepThen(10, "fast1");
            Fiber fast2 = SleepThen(20, "fast2");
            var sw = Stopwatch.StartNew();
            IReadOnlyList<Fiber> done = Fiber.JoinAll([slow, fast1, fast2], TimeSpan.FromMilliseconds(200));
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"elapsed {sw.Elapsed}");
            Assert.Equal(new HashSet<Fiber> { fast1, fast2 }, done.ToHashSet());
            Assert.False(slow.IsReady);
            slow.Kill();
        });
    }

    [Fact]
    public void JoinAll_from_a_plain_thread_on_the_default_hub()
    {
        var fibers = Enumerable.Range(0, 5).Select(i => SleepThen(10 * i, "f" + i)).ToList();
        Assert.Equal(5, Fiber.JoinAll(fibers).Count);
        Assert.Equal(["f0", "f1", "f2", "f3", "f4"], fibers.Select(f => f.Value));

        Fiber slow = SleepThen(5_000, "slow");
        Assert.Empty(Fiber.JoinAll([slow], TimeSpan.FromMilliseconds(50)));
        slow.Kill();
    }

    [Fact]
    public void KillAll_kills_every_fiber_running_their_finallys()
    {
        Hub.Run(() =>
        {
            int cleaned = 0;
            var fibers = Enumerable.Range(0, 5).Select(_ => Fiber.Spawn(() =>
            {
                try
                {
                    Fiber.Sleep(Long);
                }
                finally
                {
                    cleaned++;
                }
            })).ToList();
            Fiber notStarted = Fiber.Spawn(() => cleaned += 100);
            Fiber.Sleep(TimeSpan.FromMilliseconds(10));
            fibers.Add(Fiber.Spawn(() => cleaned += 1000));       // spawned, not started yet
            Fiber.KillAll(fibers);
            Assert.All(fibers, f => Assert.True(f.IsReady && f.IsSuccessful));
            Assert.Equal(5 + 100, cleaned);                        // notStarted ran (it was not killed); the last one never ran
            Assert.True(notStarted.IsReady);
        });
    }

    [Fact]
    public void KillAll_with_an_exception_and_block_false()
    {
        Hub.Run(() =>
        {
            var fibers = Enumerable.Range(0, 3).Select(_ => Fiber.Spawn(() => Fiber.Sleep(Long))).ToList();
            Fiber.Yield();
            var boom = new InvalidProgramException("killall");
            Fiber.KillAll(fibers, boom, block: false);
            Assert.All(fibers, f => Assert.False(f.IsReady));
            Assert.Equal(3, Fiber.JoinAll(fibers, TimeSpan.FromSeconds(10)).Count);
            Assert.All(fibers, f => Assert.Same(boom, f.Exception));
        });
    }

    [Fact]
    public void KillAll_from_a_plain_thread()
    {
        var fibers = Enumerable.Range(0, 3).Select(_ => Fiber.Spawn(() => Fiber.Sleep(Long))).ToList();
        Fiber.KillAll(fibers, timeout: TimeSpan.FromSeconds(10));
        Assert.All(fibers, f => Assert.True(f.IsSuccessful));
    }

    [Fact]
    public void Wait_with_count_returns_that_many_in_completion_order()
    {
        Hub.Run(() =>
        {
            Fiber a = SleepThen(150, "a"), b = SleepThen(20, "b"), c = SleepThen(80, "c"), d = SleepThen(5_000, "d");
            IReadOnlyList<Fiber> two = Fiber.Wait([a, b, c, d], count: 2);
            Assert.Equal([b, c], two);
            IReadOnlyList<Fiber> timedOut = Fiber.Wait([a, d], TimeSpan.FromMilliseconds(400));
            Assert.Equal([a], timedOut);
            d.Kill();
            Assert.Equal(4, Fiber.Wait([a, b, c, d]).Count);
        });
    }

    [Fact]
    public void IWait_yields_fibers_in_completion_order()
    {
        Hub.Run(() =>
        {
            Fiber<string> a = SleepThen(150, "a"), b = SleepThen(30, "b"), c = SleepThen(90, "c");
            var order = new List<string>();
            foreach (Fiber f in Fiber.IWait([a, b, c])) order.Add(((Fiber<string>)f).Value!);
            Assert.Equal(["b", "c", "a"], order);
        });
    }

    [Fact]
    public void IWait_WithTimeout_stops_early()
    {
        Hub.Run(() =>
        {
            Fiber a = SleepThen(10, "a"), slow = SleepThen(5_000, "slow");
            var sw = Stopwatch.StartNew();
            Assert.Equal([a], Fiber.IWait([slow, a], TimeSpan.FromMilliseconds(100)).ToList());
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"elapsed {sw.Elapsed}");
            slow.Kill();
        });
    }

    [Fact]
    public void IWait_from_a_plain_thread_completion_order()
    {
        Fiber<string> a = SleepThen(200, "a"), b = SleepThen(20, "b"), c = SleepThen(100, "c");
        Assert.Equal(["b", "c", "a"], Fiber.IWait([a, b, c]).Select(f => ((Fiber<string>)f).Value!).ToList());
        Fiber slow = SleepThen(5_000, "slow");
        Assert.Empty(Fiber.IWait([slow], TimeSpan.FromMilliseconds(50)));
        slow.Kill();
    }

    [Fact]
    public void IWait_includes_fibers_that_already_finished()
    {
        Hub.Run(() =>
        {
            Fiber done = Fiber.Spawn(() => { });
            done.Join();
            Fiber later = SleepThen(20, "later");
            Assert.Equal([done, later], Fiber.IWait([later, done]).ToList());
        });
    }

    [Fact]
    public void Wait_with_count_zero_returns_at_once_empty()
    {
        Hub.Run(() =>
        {
            var never = new FiberEvent();
            Fiber slow = Fiber.Spawn(() => never.Wait());         // finishes only when killed
            IReadOnlyList<Fiber> none = Fiber.Wait([slow], count: 0);
            Assert.Empty(none);                                   // observed before the fix: [slow], once it finished
            Assert.False(slow.IsReady);                           // returned at once, not when slow finished
            slow.Kill();
        });
    }
}
