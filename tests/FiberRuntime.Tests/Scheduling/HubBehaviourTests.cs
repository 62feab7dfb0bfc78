using System.Collections.Concurrent;

namespace FiberRuntime.Tests.Scheduling;

/// <summary>The default hub, cross-thread use, would-block-forever detection and bad input.</summary>
public class HubBehaviourTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    /// <summary>Proof that the hub of the calling fiber still schedules: spawns, sleeps, yields, joins.</summary>
    private static void AssertSchedulerWorks()
    {
        var log = new List<int>();
        Fiber<int> a = Fiber.Spawn(() => { log.Add(1); Fiber.Yield(); log.Add(3); return 10; });
        Fiber<int> b = Fiber.Spawn(() => { log.Add(2); Fiber.Sleep(TimeSpan.FromMilliseconds(5)); log.Add(4); return 20; });
        Assert.Equal(30, a.Get() + b.Get());
        Assert.Equal([1, 2, 3, 4], log);
        HubProbe.AssertHubWorks();
    }

    // ---- the default hub ----------------------------------------------------------------------------------

    [Fact]
    public void Spawn_from_a_plain_thread_runs_on_the_default_hub_on_another_thread()
    {
        Assert.Null(Hub.Current);
        int testThread = Environment.CurrentManagedThreadId;
        Fiber<(int Thread, Hub? Hub, bool IsFiber)> f = Fiber.Spawn(() =>
        {
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            return (Environment.CurrentManagedThreadId, Hub.Current, Fiber.Current is not null);
        });
        Assert.True(f.Join(TimeSpan.FromSeconds(10)));
        var (thread, hub, isFiber) = f.Get();
        Assert.NotEqual(testThread, thread);
        Assert.Same(Hub.Default, hub);
        Assert.Equal(Hub.Default.ManagedThreadId, thread);
        Assert.True(isFiber);
    }

    [Fact]
    public void Join_and_get_from_a_plain_thread_block_until_done_and_rethrow()
    {
        Fiber<int> f = Fiber.Spawn(() => { Fiber.Sleep(TimeSpan.FromMilliseconds(50)); return 5; });
        Assert.Equal(5, f.Get());
        Assert.True(f.IsReady);

        Fiber bad = Fiber.Spawn(() => { Fiber.Sleep(TimeSpan.FromMilliseconds(10)); throw new FormatException("bad on default hub"); });
        Assert.Equal("bad on default hub", Assert.Throws<FormatException>(() => bad.Get()).Message);

        Fiber slow = Fiber.Spawn(() => Fiber.Sleep(Long));
        Assert.False(slow.Join(TimeSpan.FromMilliseconds(30)));
        Assert.Throws<FiberTimeoutException>(() => slow.Get(TimeSpan.FromMilliseconds(10)));
        slow.Kill();
        Assert.True(slow.IsReady);
    }

    [Fact]
    public void Spawn_from_many_threads_concurrently_all_results_correct()
    {
        const int threads = 8, perThread = 200;
        var all = new ConcurrentBag<(int Expected, Fiber<int> Fiber)>();
        using var go = new ManualResetEventSlim();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            go.Wait();
            for (int i = 0; i < perThread; i++)
            {
                int k = t * 1000 + i;
                Fiber<int> f = i % 3 == 0
                    ? Fiber.SpawnLater(TimeSpan.FromMilliseconds(1), () => k * 2)
                    : Fiber.Spawn(() => { Fiber.Yield(); return k * 2; });
                all.Add((k * 2, f));
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        go.Set();
        workers.ForEach(w => Assert.True(w.Join(TimeSpan.FromSeconds(30))));
        Assert.Equal(threads * perThread, all.Count);
        Assert.Equal(threads * perThread, Fiber.JoinAll(all.Select(x => x.Fiber), TimeSpan.FromSeconds(30)).Count);
        Assert.All(all, x => Assert.Equal(x.Expected, x.Fiber.Get()));
    }

    [Fact]
    public void Spawn_from_a_hub_thread_stays_on_that_hub()
    {
        Hub.Run(() =>
        {
            Hub mine = Hub.Current!;
            Fiber<Hub?> f = Fiber.Spawn(() => Hub.Current);
            Assert.Same(mine, f.Get());
            Assert.NotSame(Hub.Default, mine);
        });
    }

    // ---- would block forever ------------------------------------------------------------------------------

    [Fact]
    public void Main_joining_a_fiber_that_parks_forever_gets_LoopExitException_and_the_hub_keeps_working()
    {
        Hub.Run(() =>
        {
            Fiber root = Fiber.Current!;
            Fiber stuck = Fiber.Spawn(() => root.Join());       // waits for main, which waits for it
            var e = Assert.Throws<LoopExitException>(() => stuck.Join());
            Assert.Contains("block forever", e.Message);
            Assert.Contains("Fiber.Join", e.Message);
            Assert.Contains($"Fiber #{stuck.Id}", e.Message);
            Assert.False(stuck.IsReady);

            AssertSchedulerWorks();
            // and again: detection still works after the first one
            Assert.Throws<LoopExitException>(() => stuck.Get());
            stuck.Kill();
            Assert.True(stuck.IsSuccessful);
            AssertSchedulerWorks();
        });
    }

    [Fact]
    public void Main_joining_a_cycle_of_fibers_gets_LoopExitException()
    {
        Hub.Run(() =>
        {
            Fiber? b = null;
            Fiber a = Fiber.Spawn(() => b!.Join());
            b = Fiber.Spawn(() => a.Join());
            Assert.Throws<LoopExitException>(() => Fiber.JoinAll([a, b]));
            Fiber.KillAll([a, b]);
            Assert.True(a.IsReady && b.IsReady);
            AssertSchedulerWorks();
        });
    }

    [Fact]
    public void A_hub_with_a_pending_timer_is_not_declared_blocked()
    {
        Hub.Run(() =>
        {
            Fiber root = Fiber.Current!;
            Fiber stuck = Fiber.Spawn(() => root.Join());
            Fiber.Spawn(() => { Fiber.Sleep(TimeSpan.FromMilliseconds(100)); stuck.Kill(); });
            Assert.True(stuck.Join());                          // woken by the sleeper's kill, not LoopExit
            Assert.True(stuck.IsSuccessful);
        });
    }

    // ---- bad input ----------------------------------------------------------------------------------------

    [Fact]
    public void Null_delegates_throw_ArgumentNullException_and_the_hub_keeps_working()
    {
        Hub.Run(() =>
        {
            Assert.Throws<ArgumentNullException>(() => Fiber.Spawn(null!));
            Assert.Throws<ArgumentNullException>(() => Fiber.Spawn<int>(null!));
            Assert.Throws<ArgumentNullException>(() => Fiber.SpawnLater(TimeSpan.Zero, null!));
            Assert.Throws<ArgumentNullException>(() => Fiber.SpawnLater<int>(TimeSpan.Zero, null!));
            Assert.Throws<ArgumentNullException>(() => Fiber.WithTimeout(TimeSpan.FromSeconds(1), (Action)null!));
            Assert.Throws<ArgumentNullException>(() => Fiber.WithTimeout<int>(TimeSpan.FromSeconds(1), null!));
            Assert.Throws<ArgumentNullException>(() => Fiber.JoinAll(null!));
            Assert.Throws<ArgumentNullException>(() => Fiber.KillAll(null!));
            Assert.Throws<ArgumentNullException>(() => Fiber.Wait(null!));
            Assert.Throws<ArgumentNullException>(() => Fiber.IWait(null!));
            Fiber f = Fiber.Spawn(() => { });
            Assert.Throws<ArgumentNullException>(() => f.Link(null!));
            Assert.Throws<ArgumentNullException>(() => f.LinkValue(null!));
            Assert.Throws<ArgumentNullException>(() => f.LinkException(null!));
            Assert.Throws<ArgumentNullException>(() => f.Unlink(null!));
            f.Join();
            AssertSchedulerWorks();
        });
    }

    [Fact]
    public void Null_delegates_from_a_plain_thread_throw_ArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => Fiber.Spawn(null!));
        Assert.Throws<ArgumentNullException>(() => Fiber.Spawn<string>(null!));
        Assert.Equal(1, Fiber.Spawn(() => 1).Get());
    }

    [Fact]
    public void Negative_timeouts_throw_ArgumentOutOfRangeException_and_the_hub_keeps_working()
    {
        TimeSpan neg = TimeSpan.FromMilliseconds(-5);
        Hub.Run(() =>
        {
            Fiber<int> f = Fiber.Spawn(() => { Fiber.Sleep(TimeSpan.FromMilliseconds(10)); return 1; });
            Assert.Throws<ArgumentOutOfRangeException>(() => Fiber.Sleep(neg));
            Assert.Throws<ArgumentOutOfRangeException>(() => Fiber.Sleep(-0.5));
            Assert.Throws<ArgumentOutOfRangeException>(() => Fiber.SpawnLater(neg, () => { }));
            Assert.Throws<ArgumentOutOfRangeException>(() => Fiber.SpawnLater(neg, () => 1));
            Assert.Throws<ArgumentOutOfRangeException>(() => f.Join(neg));
            Assert.Throws<ArgumentOutOfRangeException>(() => f.Get(neg));
            Assert.Throws<ArgumentOutOfRangeException>(() => f.Kill(timeout: neg));
            Assert.Throws<ArgumentOutOfRangeException>(() => Fiber.JoinAll([f], neg));
            Assert.Throws<ArgumentOutOfRangeException>(() => Fiber.IWait([f], neg));
            Assert.Throws<ArgumentOutOfRangeException>(() => Fiber.Wait([f], neg));
            Assert.Throws<ArgumentOutOfRangeException>(() => Fiber.Wait([f], count: -1));
            Assert.Throws<ArgumentOutOfRangeException>(() => FiberTimeout.Start(neg));
            Assert.Throws<ArgumentOutOfRangeException>(() => Fiber.WithTimeout(neg, () => { }));
            Assert.False(f.IsReady);                            // the kill with a bad timeout did nothing
            Assert.Equal(1, f.Get());
            AssertSchedulerWorks();
        });
    }

    [Fact]
    public void Negative_timeouts_from_a_plain_thread_throw_ArgumentOutOfRangeException()
    {
        Fiber<int> f = Fiber.Spawn(() => { Fiber.Sleep(TimeSpan.FromMilliseconds(10)); return 1; });
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Join(TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Fiber.Sleep(TimeSpan.FromSeconds(-1)));
        Assert.Equal(1, f.Get());
    }

    [Fact]
    public void A_fiber_joining_itself_throws_InvalidOperationException_and_keeps_running()
    {
        Hub.Run(() =>
        {
            Fiber<string> f = Fiber.Spawn(() =>
            {
                var e = Assert.Throws<InvalidOperationException>(() => Fiber.Current!.Join());
                Assert.Throws<InvalidOperationException>(() => Fiber.Current!.Get());
                Assert.Contains("itself", e.Message);
                Fiber.Yield();
                return "still alive";
            });
            Assert.Equal("still alive", f.Get());
            Assert.Throws<InvalidOperationException>(() => Fiber.Current!.Join());   // main joining itself
            AssertSchedulerWorks();
        });
    }

    [Fact]
    public void Killing_itself_raises_in_the_fiber_and_ends_it()
    {
        Hub.Run(() =>
        {
            bool after = false;
            Fiber f = Fiber.Spawn(() => { Fiber.Current!.Kill(); after = true; });
            f.Join();
            Assert.False(after);
            Assert.True(f.IsSuccessful);
            AssertSchedulerWorks();
        });
    }

    [Fact]
    public void Sleep_infinite_in_a_fiber_does_not_return_immediately()
    {
        // Timeout.InfiniteTimeSpan is accepted by the validation ("none"), and on a plain thread Fiber.Sleep
        // calls Thread.Sleep(Infinite), which sleeps forever. In a fiber it must not act as Yield.
        Hub.Run(() =>
        {
            bool returned = false;
            Fiber f = Fiber.Spawn(() => { Fiber.Sleep(Timeout.InfiniteTimeSpan); returned = true; });
            Fiber.Sleep(TimeSpan.FromMilliseconds(50));
            Assert.False(returned);
            f.Kill();
        });
    }

    [Fact]
    public void A_long_sleep_is_a_pending_timer_not_a_block_forever()
    {
        Hub.Run(() =>
        {
            Fiber sleeper = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromDays(200)));
            Fiber.Yield();
            // another thread ends the sleeper soon; until then the hub has a pending (if distant) timer, so main's
            // Join must wait, as it does for Fiber.Sleep(TimeSpan.FromDays(100))
            var killer = new Thread(() => { Thread.Sleep(300); sleeper.Kill(block: false); });
            killer.Start();
            Exception? e = Record.Exception(() => sleeper.Join());
            killer.Join();
            Assert.Null(e);                                       // observed: LoopExitException at once
            Assert.True(sleeper.IsSuccessful);
        });
    }

    [Fact]
    public void A_100_day_sleep_is_a_pending_timer_not_a_block_forever()
    {
        Hub.Run(() =>
        {
            Fiber sleeper = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromDays(100)));
            Fiber.Yield();
            var killer = new Thread(() => { Thread.Sleep(300); sleeper.Kill(block: false); });
            killer.Start();
            Exception? e = Record.Exception(() => sleeper.Join());
            killer.Join();
            Assert.Null(e);
            Assert.True(sleeper.IsSuccessful);
        });
    }
}
