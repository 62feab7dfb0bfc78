using System.Diagnostics;

namespace FiberRuntime.Tests.Scheduling;

/// <summary>Who waits for a fiber: one joiner (kept on the fiber itself), several (moved to a wait queue when the
/// second comes), joiners that stop waiting, and threads that join or read the token while the fiber ends (the fiber's
/// end has no fence of its own: Fiber.PublishToHub).</summary>
public sealed class JoinersTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public void Several_joiners_wake_in_the_order_they_joined_after_the_links()
    {
        Hub.Run(() =>
        {
            var order = new List<string>();
            var release = new FiberEvent();
            Fiber target = Fiber.Spawn(() => release.Wait());
            target.Link(_ => order.Add("link"));
            Fiber[] joiners = [.. Enumerable.Range(0, 4).Select(i => Fiber.Spawn(() =>
            {
                Assert.True(target.Join());
                order.Add($"joiner {i}");
            }))];
            Fiber.Yield();                          // all four wait in Join
            release.Set();
            Assert.True(target.Join());
            order.Add("main");
            Fiber.JoinAll(joiners);
            Assert.Equal(["link", "joiner 0", "joiner 1", "joiner 2", "joiner 3", "main"], order);
        });
    }

    [Fact]
    public void A_first_joiner_that_times_out_leaves_the_others_waiting()
    {
        Hub.Run(() =>
        {
            var release = new FiberEvent();
            Fiber target = Fiber.Spawn(() => release.Wait());
            bool? first = null, second = null;
            Fiber a = Fiber.Spawn(() => first = target.Join(TimeSpan.FromMilliseconds(20)));
            Fiber b = Fiber.Spawn(() => second = target.Join(Long));
            Assert.True(a.Join(Long));
            Assert.False(first);
            Assert.False(b.IsReady);
            release.Set();
            Assert.True(b.Join(Long));
            Assert.True(second);
        });
    }

    [Fact]
    public void A_sole_joiner_that_timed_out_can_join_again_and_a_later_joiner_is_woken()
    {
        Hub.Run(() =>
        {
            var release = new FiberEvent();
            Fiber target = Fiber.Spawn(() => release.Wait());
            Assert.False(target.Join(TimeSpan.FromMilliseconds(10)));
            Assert.False(target.Join(TimeSpan.FromMilliseconds(10)));
            bool? late = null;
            Fiber other = Fiber.Spawn(() => late = target.Join(Long));
            Fiber.Yield();
            release.Set();
            Assert.True(target.Join(Long));
            Assert.True(other.Join(Long));
            Assert.True(late);
        });
    }

    [Fact]
    public void A_joiner_killed_while_joining_dies_and_the_other_joiners_still_wake()
    {
        Hub.Run(() =>
        {
            var release = new FiberEvent();
            Fiber target = Fiber.Spawn(() => release.Wait());
            Fiber killed = Fiber.Spawn(() => target.Join());
            int woken = 0;
            Fiber a = Fiber.Spawn(() => { if (target.Join()) woken++; });
            Fiber b = Fiber.Spawn(() => { if (target.Join()) woken++; });
            Fiber.Yield();
            killed.Kill();
            Assert.True(killed.WasKilled);
            release.Set();
            Fiber.JoinAll([a, b, target]);
            Assert.Equal(2, woken);
            // the killed joiner was not woken by the end: it was dead, and is still
            Assert.True(killed.IsDead);
        });
    }

    [Fact]
    public void Threads_that_join_fibers_as_they_end_always_see_the_end()
    {
        Hub.Run(() =>
        {
            var fibers = new Fiber?[Racers];
            Task<int> joiner = Task.Run(() =>
            {
                int joined = 0;
                for (int i = 0; i < Racers; i++)
                    if (Published(fibers, i) is { } f && f.Join(Long)) joined++;
                return joined;
            });
            SpawnRacers(fibers, seed: 11);
            Assert.Equal(Racers, Fiber.Await(joiner));
            Assert.All(fibers, f => Assert.True(f!.IsSuccessful));
        });
    }

    [Fact]
    public void Tokens_read_on_another_thread_as_fibers_end_are_all_cancelled()
    {
        Hub.Run(() =>
        {
            var fibers = new Fiber?[Racers];
            Task<CancellationToken[]> reader = Task.Run(() =>
            {
                var tokens = new CancellationToken[Racers];
                for (int i = 0; i < Racers; i++)
                    if (Published(fibers, i) is { } f) tokens[i] = f.CancellationToken;
                return tokens;
            });
            SpawnRacers(fibers, seed: 12);
            CancellationToken[] tokens = Fiber.Await(reader);
            Fiber.JoinAll(fibers!);
            // every fiber has ended: a token read before its end was cancelled by it, one read after came cancelled
            Assert.Equal(Racers, tokens.Count(t => t.IsCancellationRequested));
        });
    }

    private const int Racers = 4000;

    /// <summary>On the hub: spawns a fiber into each entry of <paramref name="fibers"/>, each ending after 0-2 yields,
    /// so that its end races with what another thread does with it as soon as it sees it.</summary>
    private static void SpawnRacers(Fiber?[] fibers, int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < fibers.Length; i++)
        {
            int yields = random.Next(3);
            Volatile.Write(ref fibers[i], Fiber.Spawn(() => { for (int y = 0; y < yields; y++) Fiber.Yield(); }));
            if (i % 8 == 0) Fiber.Yield();
        }
    }

    /// <summary>On the other thread: the fiber spawned into entry <paramref name="i"/>, once it is there (null after
    /// a long wait: the test then fails on its count).</summary>
    private static Fiber? Published(Fiber?[] fibers, int i)
    {
        var wait = Stopwatch.StartNew();
        Fiber? f;
        while ((f = Volatile.Read(ref fibers[i])) is null)
            if (wait.Elapsed > Long) return null;
        return f;
    }
}
