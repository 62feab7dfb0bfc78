using System.Diagnostics;

namespace FiberRuntime.Tests.Pools;

/// <summary>FiberGroup and FiberPool members: Apply, ApplyAsync, leaving and Discard, Join with a timeout, Kill, and use from other threads and hubs.</summary>
public class FiberGroupMemberTests
{
    [Fact]
    public void Apply_runs_in_a_member_fiber_and_rethrows_inline_when_the_caller_is_a_member()
    {
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            Fiber caller = Fiber.Current!;
            Fiber? ranIn = null;
            int r = group.Apply(() =>
            {
                ranIn = Fiber.Current;
                Assert.True(group.Contains(ranIn!));
                return 42;
            });
            Assert.Equal(42, r);
            Assert.NotSame(caller, ranIn);
            Assert.Throws<ArithmeticException>(() => group.Apply<int>(() => throw new ArithmeticException()));

            Fiber member = group.Spawn(() =>
            {
                Fiber self = Fiber.Current!;
                Assert.Same(self, group.Apply(() => Fiber.Current));   // inline, like gevent
            });
            member.Get();
            Assert.True(member.IsSuccessful);
        });
    }

    [Fact]
    public void ApplyAsync_returns_the_fiber_and_calls_the_callback_with_the_result()
    {
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            var got = new List<string>();
            Fiber<string> f = group.ApplyAsync(() => "hello", s => got.Add(s));
            Assert.True(group.Contains(f));
            Assert.Equal("hello", f.Get());
            Fiber.Sleep(TimeSpan.FromMilliseconds(5));
            Assert.Equal(["hello"], got);

            Fiber<int> failing = group.ApplyAsync<int>(() => throw new TimeoutException(), _ => got.Add("never"));
            Assert.False(failing.Join(TimeSpan.FromSeconds(5)) && failing.IsSuccessful);
            Assert.IsType<TimeoutException>(failing.Exception);
            Fiber.Sleep(TimeSpan.FromMilliseconds(5));
            Assert.Equal(["hello"], got);

            Fiber<List<int>> mapped = group.MapAsync(Enumerable.Range(1, 3), i => i * 10);
            Assert.Equal([10, 20, 30], mapped.Get());
        });
    }

    [Fact]
    public void A_fiber_that_ends_leaves_its_group_discard_stops_tracking()
    {
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            Fiber quick = group.Spawn(() => { });
            Fiber slow = group.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(30)));
            Assert.Equal(2, group.Count);
            Assert.Equal(2, group.Count());               // enumeration
            quick.Join();
            Assert.False(group.Contains(quick));
            Assert.Equal([slow], group.ToList());
            group.Discard(slow);
            Assert.Equal(0, group.Count);
            Assert.True(group.Join(TimeSpan.Zero));
            Assert.False(slow.IsReady);
            slow.Join();

            Fiber done = Fiber.Spawn(() => { });
            done.Join();
            group.Add(done);                              // finished: not added (gevent)
            Assert.Equal(0, group.Count);
        });
    }

    [Fact]
    public void Join_WithTimeout_returns_false_while_members_run_and_raise_error_rethrows()
    {
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            group.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(200)));
            Assert.False(group.Join(TimeSpan.FromMilliseconds(20)));
            Assert.True(group.Join());

            group.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(5)));
            group.Spawn(() => throw new DivideByZeroException("member failed"));
            var e = Assert.Throws<DivideByZeroException>(() => group.Join(raiseError: true));
            Assert.Equal("member failed", e.Message);
            Assert.Equal(0, group.Count);
        });
    }

    [Fact]
    public void Kill_kills_every_member_runs_their_finally_blocks_and_empties_the_group()
    {
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            int cleaned = 0;
            var members = Enumerable.Range(0, 5).Select(_ => group.Spawn(() =>
            {
                try
                {
                    Fiber.Sleep(TimeSpan.FromSeconds(30));
                }
                finally
                {
                    cleaned++;
                }
            })).ToList();
            Fiber.Yield();                                // let them start
            var sw = Stopwatch.StartNew();
            group.Kill();
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
            Assert.Equal(5, cleaned);
            Assert.All(members, m => Assert.True(m.IsReady && m.IsSuccessful));  // GreenletExit is success
            Assert.Equal(0, group.Count);

            Fiber custom = group.Spawn(() => Fiber.Sleep(TimeSpan.FromSeconds(30)));
            Fiber notStarted = group.Spawn(() => cleaned = -100);
            group.Kill(new OperationCanceledException("stop"), block: false);
            Assert.True(group.Join(TimeSpan.FromSeconds(5)));
            Assert.IsType<OperationCanceledException>(custom.Exception);
            Assert.Equal(5, cleaned);                     // the unstarted one never ran
            Assert.True(notStarted.IsReady);
        });
    }

    [Fact]
    public void Kill_from_a_member_kills_the_others_then_the_caller()
    {
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            Fiber other = group.Spawn(() => Fiber.Sleep(TimeSpan.FromSeconds(30)));
            bool after = false;
            Fiber killer = group.Spawn(() =>
            {
                Fiber.Yield();
                group.Kill();
                after = true;
            });
            Assert.True(group.Join(TimeSpan.FromSeconds(5)));
            Assert.True(other.IsReady);
            Assert.True(killer.IsSuccessful);
            Assert.False(after);
        });
    }

    [Fact]
    public void From_a_non_hub_thread_the_group_runs_on_the_default_hub_and_blocks_the_caller()
    {
        var group = new FiberGroup();
        Assert.Same(Hub.Default, group.Hub);
        Assert.Equal([1, 2, 3], group.Map(new[] { 0, 1, 2 }, i =>
        {
            Fiber.Sleep(TimeSpan.FromMilliseconds(5));
            return i + 1;
        }));
        Assert.Equal([0, 1, 2], group.Imap(Enumerable.Range(0, 3), i => i, maxSize: 1).ToList());
        Fiber f = group.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(20)));
        Assert.True(group.Contains(f));
        Assert.True(group.Join(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, group.Count);
        Assert.Throws<InvalidCastException>(() => group.Apply<int>(() => throw new InvalidCastException()));
    }

    [Fact]
    public void Using_a_group_from_another_hub_is_refused()
    {
        var group = new FiberGroup();                     // on the default hub
        Hub.Run(() =>
        {
            Assert.Throws<InvalidOperationException>(() => group.Spawn(() => { }));
            Assert.Throws<ArgumentException>(() => group.Add(Fiber.Spawn(() => { })));
            HubProbe.AssertHubWorks();
        });
    }
}
