using System.Diagnostics;

namespace FiberRuntime.Tests.Scheduling;

/// <summary>Spawn, SpawnLater, Sleep and Yield on a hub: when fibers run and in which order.</summary>
public class SpawnAndSleepTests
{
    [Fact]
    public void Spawn_runs_later_not_inline_until_the_spawner_yields()
    {
        Hub.Run(() =>
        {
            bool ran = false;
            Fiber f = Fiber.Spawn(() => ran = true);
            Assert.False(ran);
            Assert.False(f.IsReady);
            Assert.False(f.IsDead);
            Fiber.Yield();
            Assert.True(ran);
            Assert.True(f.IsReady);
            Assert.True(f.IsSuccessful);
            Assert.True(f.IsDead);
        });
    }

    [Fact]
    public void SpawnT_runs_later_and_returns_its_value()
    {
        Hub.Run(() =>
        {
            int calls = 0;
            Fiber<string> f = Fiber.Spawn(() => { calls++; return "forty-two"; });
            Assert.Equal(0, calls);
            Assert.Null(f.Value);
            Assert.Equal("forty-two", f.Get());
            Assert.Equal("forty-two", f.Value);
            Assert.Equal(1, calls);
        });
    }

    [Fact]
    public void Spawn_inside_a_spawned_fiber_also_runs_later()
    {
        Hub.Run(() =>
        {
            var log = new List<string>();
            Fiber outer = Fiber.Spawn(() =>
            {
                Fiber inner = Fiber.Spawn(() => log.Add("inner"));
                log.Add("outer after spawn");
                inner.Join();
                log.Add("outer after join");
            });
            outer.Join();
            Assert.Equal(["outer after spawn", "inner", "outer after join"], log);
        });
    }

    [Fact]
    public void Spawn_fibers_start_in_spawn_order()
    {
        Hub.Run(() =>
        {
            var log = new List<int>();
            var fibers = Enumerable.Range(0, 20).Select(i => Fiber.Spawn(() => log.Add(i))).ToList();
            Fiber.JoinAll(fibers);
            Assert.Equal(Enumerable.Range(0, 20), log);
        });
    }

    [Fact]
    public void SpawnLater_runs_in_order_of_delay_not_of_spawning()
    {
        Hub.Run(() =>
        {
            var log = new List<string>();
            var sw = Stopwatch.StartNew();
            Fiber a = Fiber.SpawnLater(TimeSpan.FromMilliseconds(300), () => log.Add("a"));
            Fiber<string> b = Fiber.SpawnLater(TimeSpan.FromMilliseconds(100), () => { log.Add("b"); return "B"; });
            Fiber c = Fiber.SpawnLater(TimeSpan.FromMilliseconds(200), () => log.Add("c"));
            Fiber.Yield();
            Assert.Empty(log);                  // not started before its delay
            Fiber.JoinAll([a, b, c]);
            Assert.Equal(["b", "c", "a"], log);
            Assert.Equal("B", b.Value);
            Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(280), $"elapsed {sw.Elapsed}");
        });
    }

    [Fact]
    public void SpawnLater_killed_before_its_delay_never_runs()
    {
        Hub.Run(() =>
        {
            bool ran = false;
            Fiber f = Fiber.SpawnLater(TimeSpan.FromMilliseconds(50), () => ran = true);
            f.Kill();
            Assert.True(f.IsReady);
            Assert.True(f.IsSuccessful);
            Fiber.Sleep(TimeSpan.FromMilliseconds(150));
            Assert.False(ran);
        });
    }

    [Fact]
    public void Sleep_three_fibers_sleeping_200_ms_run_concurrently()
    {
        Hub.Run(() =>
        {
            var sw = Stopwatch.StartNew();
            var fibers = Enumerable.Range(0, 3).Select(_ => Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(200)))).ToList();
            Assert.Equal(3, Fiber.JoinAll(fibers).Count);
            TimeSpan elapsed = sw.Elapsed;
            Assert.True(elapsed >= TimeSpan.FromMilliseconds(190), $"elapsed {elapsed}");
            Assert.True(elapsed < TimeSpan.FromMilliseconds(550), $"elapsed {elapsed}: the sleeps did not overlap");
        });
    }

    [Fact]
    public void Sleep_seconds_overload_sleeps()
    {
        Hub.Run(() =>
        {
            var sw = Stopwatch.StartNew();
            Fiber.Sleep(0.1);
            Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(90), $"elapsed {sw.Elapsed}");
        });
    }

    [Fact]
    public void Sleep_on_a_plain_thread_sleeps_the_thread()
    {
        Assert.Null(Fiber.Current);
        var sw = Stopwatch.StartNew();
        Fiber.Sleep(TimeSpan.FromMilliseconds(50));
        Fiber.Yield();
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(45));
    }

    public static TheoryData<string> YieldKinds => new() { "Yield", "SleepZero", "SleepZeroSeconds" };

    private static void YieldBy(string kind)
    {
        switch (kind)
        {
            case "Yield": Fiber.Yield(); break;
            case "SleepZero": Fiber.Sleep(TimeSpan.Zero); break;
            default: Fiber.Sleep(0.0); break;
        }
    }

    [Theory]
    [MemberData(nameof(YieldKinds))]
    public void Yield_goes_to_the_back_of_the_ready_queue_three_fibers_interleave(string kind)
    {
        Hub.Run(() =>
        {
            var log = new List<string>();
            var fibers = new[] { "a", "b", "c" }.Select(name => Fiber.Spawn(() =>
            {
                for (int i = 0; i < 3; i++)
                {
                    log.Add(name + i);
                    YieldBy(kind);
                }
            })).ToList();
            Fiber.JoinAll(fibers);
            Assert.Equal(["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"], log);
        });
    }

    [Fact]
    public void Yield_in_main_lets_every_ready_fiber_run_once()
    {
        Hub.Run(() =>
        {
            var log = new List<string>();
            Fiber.Spawn(() => { log.Add("x0"); Fiber.Yield(); log.Add("x1"); });
            Fiber.Spawn(() => { log.Add("y0"); Fiber.Yield(); log.Add("y1"); });
            Fiber.Yield();
            log.Add("main");
            Fiber.Yield();
            Assert.Equal(["x0", "y0", "main", "x1", "y1"], log);
        });
    }

    [Fact]
    public void Current_is_the_fiber_inside_it_and_null_on_a_plain_thread()
    {
        Assert.Null(Fiber.Current);
        Hub.Run(() =>
        {
            Fiber root = Fiber.Current!;
            Assert.NotNull(root);
            Assert.Same(Hub.Current!.RootGreenlet, root);
            Fiber? seen = null;
            Fiber f = Fiber.Spawn(() => seen = Fiber.Current);
            f.Join();
            Assert.Same(f, seen);
            Assert.Same(root, Fiber.Current);
        });
    }

    [Fact]
    public void Many_short_fibers_ten_thousand_spawned_and_joined_with_default_options()
    {
        const int n = 10_000;
        long sum = Hub.Run(() =>
        {
            var fibers = new Fiber<int>[n];
            for (int i = 0; i < n; i++)
            {
                int k = i;
                fibers[i] = Fiber.Spawn(() =>
                {
                    Fiber.Yield();          // all 10 000 alive at once
                    return k * 2;
                });
            }
            Assert.Equal(n, Fiber.JoinAll(fibers).Count);
            long s = 0;
            for (int i = 0; i < n; i++)
            {
                Assert.True(fibers[i].IsSuccessful);
                Assert.Equal(i * 2, fibers[i].Value);
                s += fibers[i].Get();
            }
            return s;
        });
        Assert.Equal(2L * n * (n - 1) / 2, sum);
    }

    [Fact]
    public void Many_short_fibers_on_the_default_hub()
    {
        const int n = 10_000;
        var fibers = Enumerable.Range(0, n).Select(i => Fiber.Spawn(() => i + 1)).ToList();
        Assert.Equal(n, Fiber.JoinAll(fibers).Count);
        Assert.Equal((long)n * (n + 1) / 2, fibers.Sum(f => (long)f.Get()));
    }

    private static readonly AsyncLocal<string?> s_flow = new();

    [Fact]
    public void AsyncLocal_flows_from_spawner_to_spawned_fiber_and_not_back()
    {
        Hub.Run(() =>
        {
            s_flow.Value = "from main";
            Fiber<string?> f = Fiber.Spawn<string?>(() =>
            {
                string? seen = s_flow.Value;
                s_flow.Value = "changed in fiber";
                Fiber.Yield();
                return seen;
            });
            s_flow.Value = "main changed after spawn";
            Assert.Equal("from main", f.Get());
            Assert.Equal("main changed after spawn", s_flow.Value);
        });
    }

    [Fact]
    public void AsyncLocal_flows_from_a_plain_thread_to_the_default_hub()
    {
        s_flow.Value = "test thread";
        try
        {
            Fiber<string?> f = Fiber.Spawn<string?>(() => s_flow.Value);
            Assert.Equal("test thread", f.Get());
            Fiber<string?> later = Fiber.SpawnLater<string?>(TimeSpan.FromMilliseconds(10), () => s_flow.Value);
            Assert.Equal("test thread", later.Get());
        }
        finally
        {
            s_flow.Value = null;
        }
    }
}
