using FiberRuntime.Scheduling;

namespace FiberRuntime.Tests.Scheduling;

/// <summary>Direct hand-off (Scheduler.HandOff.cs): a suspending or finishing fiber switches straight to the next ready
/// greenlet. What must not change: FIFO order, timers / posted work / I/O served within a bounded number of yields
/// however busy the hub is, kills, deadlock detection. Bounds are counts of yields, never times.</summary>
public sealed class HandOffTests
{
    /// <summary>The most entries one loop round runs with <paramref name="ready"/> entries ready as it begins.</summary>
    private static int RoundBudget(int ready) => Math.Max(ready, Scheduler.HandOffsPerRound);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(100)]
    public void Yielding_fibers_take_turns_in_FIFO_order_across_many_rounds(int fibers)
    {
        const int turns = 150;      // several rounds' budgets: the order holds across the loop's passes
        var log = new List<int>();
        Hub.Run(() =>
        {
            var all = new Fiber[fibers];
            for (int f = 0; f < fibers; f++)
            {
                int me = f;
                all[f] = Fiber.Spawn(() =>
                {
                    for (int t = 0; t < turns; t++)
                    {
                        log.Add(me);
                        Fiber.Yield();
                    }
                });
            }
            Fiber.JoinAll(all);
        });
        Assert.Equal(fibers * turns, log.Count);
        for (int i = 0; i < log.Count; i++) Assert.Equal(i % fibers, log[i]);
    }

    /// <summary>N fibers yield in a loop until told to stop, counting their yields.</summary>
    private sealed class YieldStorm
    {
        private readonly Fiber[] _fibers;
        private bool _stop;

        public int Yields;

        public YieldStorm(int fibers)
        {
            _fibers = new Fiber[fibers];
            for (int i = 0; i < fibers; i++)
            {
                _fibers[i] = Fiber.Spawn(() =>
                {
                    while (!_stop)
                    {
                        Yields++;
                        Fiber.Yield();
                    }
                });
            }
            while (Yields < 4 * RoundBudget(fibers)) Fiber.Yield();      // well under way, over several rounds
        }

        public void Stop()
        {
            _stop = true;
            Fiber.JoinAll(_fibers);
        }
    }

    // what can be ready during the storm: the storm's fibers, main, and the one being served
    private static int Bound(int fibers) => 2 * RoundBudget(fibers + 2) + fibers + 2;

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(150)]
    public void A_due_timer_is_served_within_a_bounded_number_of_yields_of_a_storm(int fibers)
    {
        Hub.Run(() =>
        {
            var storm = new YieldStorm(fibers);
            int firedAt = -1;
            var sinceArmed = System.Diagnostics.Stopwatch.StartNew();
            Fiber late = Fiber.SpawnLater(TimeSpan.FromTicks(1), () => firedAt = storm.Yields);
            // count from the moment it is due (the hub stands still meanwhile): not a time limit, a starting line
            while (sinceArmed.Elapsed <= TimeSpan.FromTicks(2)) Thread.SpinWait(1);
            int dueAt = storm.Yields;
            late.Join();
            storm.Stop();
            Assert.InRange(firedAt - dueAt, 0, Bound(fibers));
        });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(150)]
    public void Posted_work_is_served_within_a_bounded_number_of_yields_of_a_storm(int fibers)
    {
        Hub.Run(() =>
        {
            Hub hub = Hub.Current!;
            var storm = new YieldStorm(fibers);
            int postedAt = storm.Yields, ranAt = -1;
            hub.Post(() => ranAt = storm.Yields);
            while (ranAt < 0) Fiber.Yield();
            storm.Stop();
            Assert.InRange(ranAt - postedAt, 0, Bound(fibers));
        });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(150)]
    public void Socket_input_is_served_within_a_bounded_number_of_yields_of_a_storm(int fibers)
    {
        using var pair = new LoopbackPair();
        Hub.Run(() =>
        {
            int readyAt = -1, wokenAt = -1;
            YieldStorm? storm = null;
            Fiber reader = Fiber.Spawn(() =>
            {
                Assert.True(Hub.WaitReadable(pair.ServerFd));
                wokenAt = storm!.Yields;
            });
            Fiber.Yield();                                  // the reader waits in the reactor
            storm = new YieldStorm(fibers);
            pair.Client.Send("x"u8);
            // from the moment the kernel has the byte (polled without the hub: the storm stands still meanwhile)
            while (!pair.Server.Poll(0, System.Net.Sockets.SelectMode.SelectRead)) Thread.Yield();
            readyAt = storm.Yields;
            reader.Join();
            storm.Stop();
            Assert.InRange(wokenAt - readyAt, 0, Bound(fibers));
        });
    }

    [Fact]
    public void A_fiber_woken_meanwhile_runs_behind_those_already_ready()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            var ev = new FiberEvent();
            Fiber waiter = Fiber.Spawn(() => { ev.Wait(); log.Add("waiter"); });
            Fiber.Yield();                                                      // waiter parks on the event
            Fiber a = Fiber.Spawn(() => { log.Add("a sets"); ev.Set(); Fiber.Yield(); log.Add("a again"); });
            Fiber b = Fiber.Spawn(() => log.Add("b"));
            Fiber.JoinAll([waiter, a, b]);
        });
        // ready when a set the event: b (spawned), then the waiter, then a (yielded after it)
        Assert.Equal(["a sets", "b", "waiter", "a again"], log);
    }

    [Fact]
    public void Killing_a_fiber_that_is_next_in_line_and_not_started_skips_it()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Fiber a = Fiber.Spawn(() =>
            {
                Fiber next = Fiber.Spawn(() => log.Add("next ran"));
                Fiber after = Fiber.Spawn(() => log.Add("after ran"));
                next.Kill(block: false);
                Fiber.Yield();                              // next in line is dead: the hand-off goes to `after`
                log.Add("a resumed");
                Assert.True(next.WasKilled && next.IsDead && !next.IsStarted);
                after.Join();
            });
            a.Join();
        });
        Assert.Equal(["after ran", "a resumed"], log);
    }

    [Fact]
    public void Killing_a_parked_fiber_hands_it_the_kill_when_its_turn_comes()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            var never = new FiberEvent();
            Fiber victim = Fiber.Spawn(() =>
            {
                try
                {
                    never.Wait();
                }
                finally
                {
                    log.Add("victim unwinds");
                }
            });
            Fiber other = Fiber.Spawn(() => log.Add("other"));
            Fiber.Yield();                                  // victim parks, other runs
            Fiber killer = Fiber.Spawn(() =>
            {
                victim.Kill(block: false);                  // the kill is queued: the victim is next in line
                Fiber.Yield();
                log.Add("killer resumed");
            });
            Fiber.JoinAll([victim, killer, other]);
            Assert.True(victim.WasKilled);
        });
        Assert.Equal(["other", "victim unwinds", "killer resumed"], log);
    }

    [Fact]
    public void A_kill_after_a_wake_is_raised_at_the_next_blocking_point_after_the_wake_is_delivered()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            var ev = new FiberEvent();
            Fiber victim = Fiber.Spawn(() =>
            {
                log.Add($"woken {ev.Wait()}");
                try
                {
                    Fiber.Yield();
                }
                catch (GreenletExit)
                {
                    log.Add("killed at its next yield");
                    throw;
                }
            });
            Fiber.Yield();
            ev.Set();                                       // victim is next in line, with its wake-up
            victim.Kill(block: false);
            victim.Join();
        });
        Assert.Equal(["woken True", "killed at its next yield"], log);
    }

    [Fact]
    public void Fibers_that_hand_off_to_each_other_then_all_wait_still_raise_LoopExit_in_main()
    {
        Hub.Run(() =>
        {
            var never = new FiberEvent();
            var fibers = new Fiber[3];
            for (int i = 0; i < fibers.Length; i++)
            {
                fibers[i] = Fiber.Spawn(() =>
                {
                    for (int t = 0; t < 200; t++) Fiber.Yield();        // many hand-offs, across rounds
                    never.Wait();
                });
            }
            var e = Assert.Throws<LoopExitException>(() => Fiber.JoinAll(fibers));
            Assert.Contains("block forever", e.Message);
            Fiber.KillAll(fibers);
            Assert.All(fibers, f => Assert.True(f.WasKilled));
        });
    }

    [Fact]
    public void A_raw_greenlet_started_by_a_hub_callback_returns_to_it_even_with_fibers_ready()
    {
        object? got = null;
        Hub.Run(() =>
        {
            Fiber busy = Fiber.Spawn(() =>
            {
                for (int i = 0; i < 5; i++) Fiber.Yield();
            });
            Fiber done = Fiber.Spawn(() => { });
            // link callbacks run on the hub loop: a greenlet created there has the loop as its parent
            done.Link(_ => got = new Greenlet(_ => "its result").Switch());
            Fiber.JoinAll([busy, done]);
            Fiber.Yield();
        });
        Assert.Equal("its result", got);
    }

    [Fact]
    public void A_spawn_and_join_loop_runs_each_fiber_once_and_leaves_nothing_behind()
    {
        Hub.Run(() =>
        {
            Hub hub = Hub.Current!;
            int ran = 0;
            for (int i = 0; i < 1000; i++)
            {
                Fiber f = Fiber.Spawn(() => ran++);
                f.Join();
                Assert.True(f.IsSuccessful && f.IsDead);
            }
            Assert.Equal(1000, ran);
            Assert.Equal(0, hub.Scheduler.ReadyCountRacy);
            Assert.Equal(1, hub.LiveRacy);                   // the loop greenlet; every fiber's slot was given back
        });
    }
}
