using System.Diagnostics;

namespace FiberRuntime.Tests.Pools;

/// <summary>gevent.pool.Group semantics, including the gevent tutorial's examples.</summary>
public class FiberGroupTests
{
    private static readonly TimeSpan Ms50 = TimeSpan.FromMilliseconds(50);

    [Fact]
    public void Tutorial_group_add_and_join_all_run_and_the_group_empties()
    {
        // def talk(msg): for i in xrange(3): print(msg)
        // g1 = gevent.spawn(talk, 'bar'); g2 = gevent.spawn(talk, 'foo'); g3 = gevent.spawn(talk, 'fizz')
        // group = Group(); group.add(g1); group.add(g2); group.join()
        var printed = new List<string>();
        Hub.Run(() =>
        {
            void Talk(string msg)
            {
                for (int i = 0; i < 3; i++)
                {
                    printed.Add(msg);
                    Fiber.Yield();
                }
            }
            Fiber g1 = Fiber.Spawn(() => Talk("bar"));
            Fiber g2 = Fiber.Spawn(() => Talk("foo"));
            Fiber g3 = Fiber.Spawn(() => Talk("fizz"));
            var group = new FiberGroup();
            group.Add(g1);
            group.Add(g2);
            Assert.Equal(2, group.Count);
            Assert.True(group.Contains(g1));
            Assert.False(group.Contains(g3));
            Assert.True(group.Join());
            Assert.Equal(0, group.Count);
            Assert.True(g1.IsReady && g2.IsReady);
            group.Add(g3);
            Assert.True(group.Join());
        });
        Assert.Equal(["bar", "foo", "fizz", "bar", "foo", "fizz", "bar", "foo", "fizz"], printed);
    }

    [Fact]
    public void Tutorial_map_over_range_3_returns_identity_and_the_group_holds_all_three()
    {
        // def hello_from(n): print('Size of group %s' % len(group)); group.map(hello_from, xrange(3))
        var sizes = new List<int>();
        List<int> result = Hub.Run(() =>
        {
            var group = new FiberGroup();
            return group.Map(Enumerable.Range(0, 3), n =>
            {
                sizes.Add(group.Count);
                return n;
            });
        });
        Assert.Equal([0, 1, 2], result);
        // gevent prints "Size of group 3" three times: there a finished greenlet leaves at its link callback, which
        // runs after the other two have started. Count here excludes a member as soon as it has finished.
        Assert.Equal([3, 2, 1], sizes);
    }

    [Fact]
    public void Map_gevent_argument_order_and_empty_input()
    {
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            Assert.Equal([0, 2, 4], group.Map((int x) => x * 2, Enumerable.Range(0, 3)));
            Assert.Empty(group.Map(Array.Empty<int>(), x => x));
            Assert.Empty(group.Imap(Array.Empty<int>(), x => x));
        });
    }

    [Fact]
    public void Tutorial_imap_yields_in_input_order_ImapUnordered_in_completion_order()
    {
        // def intensive(n): gevent.sleep(3 - n); return 'task', n
        (string, int) Intensive(int n)
        {
            Fiber.Sleep(Ms50 * (3 - n));
            return ("task", n);
        }
        var ordered = new List<(string, int)>();
        var unordered = new List<(string, int)>();
        Hub.Run(() =>
        {
            var ogroup = new FiberGroup();
            foreach (var r in ogroup.Imap(Enumerable.Range(0, 3), Intensive)) ordered.Add(r);
            var igroup = new FiberGroup();
            foreach (var r in igroup.ImapUnordered(Enumerable.Range(0, 3), Intensive)) unordered.Add(r);
        });
        Assert.Equal([("task", 0), ("task", 1), ("task", 2)], ordered);
        Assert.Equal([("task", 2), ("task", 1), ("task", 0)], unordered);
    }

    [Fact]
    public void Tutorial_ImapUnordered_on_a_pool_of_3_completion_order_and_they_ran_concurrently()
    {
        var printed = new List<string>();
        int sleeping = 0, peak = 0;
        Hub.Run(() =>
        {
            var pool = new FiberPool(3);
            foreach (var (task, n) in pool.ImapUnordered(Enumerable.Range(0, 3), n =>
            {
                peak = Math.Max(peak, ++sleeping);
                Fiber.Sleep(Ms50 * (3 - n));
                sleeping--;
                return ("task", n);
            }, maxSize: 3))
                printed.Add($"({task}, {n})");
        });
        Assert.Equal(["(task, 2)", "(task, 1)", "(task, 0)"], printed);
        Assert.Equal(3, peak);      // the three sleeps (150, 100, 50 ms) overlapped: counted, not timed
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Imap_with_MaxSize_3_over_20_items_never_runs_more_than_3_at_once(bool ordered)
    {
        int running = 0, peak = 0;
        var results = new List<int>();
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            Func<int, int> work = i =>
            {
                running++;
                peak = Math.Max(peak, running);
                Fiber.Sleep(TimeSpan.FromMilliseconds(1 + (i * 7 % 5)));
                running--;
                return i * i;
            };
            IEnumerable<int> seq = ordered ? group.Imap(Enumerable.Range(0, 20), work, maxSize: 3)
                                           : group.ImapUnordered(Enumerable.Range(0, 20), work, maxSize: 3);
            foreach (int r in seq)
            {
                Assert.InRange(running, 0, 3);
                results.Add(r);
            }
        });
        Assert.Equal(3, peak);
        if (ordered) Assert.Equal(Enumerable.Range(0, 20).Select(i => i * i), results);
        else Assert.Equal(Enumerable.Range(0, 20).Select(i => i * i).Order(), results.Order());
    }

    [Fact]
    public void Imap_is_lazy_and_never_starts_more_than_MaxSize_ahead_of_the_consumer()
    {
        var started = new List<int>();
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            IEnumerable<int> seq = group.Imap(Enumerable.Range(0, 10), i =>
            {
                started.Add(i);
                return i;
            }, maxSize: 2);
            Fiber.Sleep(TimeSpan.FromMilliseconds(10));
            Assert.Empty(started);                       // nothing before enumeration
            using IEnumerator<int> e = seq.GetEnumerator();
            Assert.True(e.MoveNext());
            Assert.Equal(0, e.Current);
            Fiber.Sleep(TimeSpan.FromMilliseconds(10));  // the consumer dawdles: results 1 is buffered, nothing more starts
            Assert.Equal([0, 1], started);
            Assert.True(e.MoveNext());
            Assert.Equal(1, e.Current);
            Fiber.Sleep(TimeSpan.FromMilliseconds(10));
            Assert.Equal([0, 1, 2], started);
        });
    }

    [Fact]
    public void Imap_slow_first_item_results_are_buffered_in_order()
    {
        var order = new List<int>();
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            foreach (int r in group.Imap(Enumerable.Range(0, 6), i =>
            {
                Fiber.Sleep(TimeSpan.FromMilliseconds(i == 0 ? 60 : 5));
                return i;
            }, maxSize: 3))
                order.Add(r);
        });
        Assert.Equal([0, 1, 2, 3, 4, 5], order);
    }

    [Fact]
    public void Map_exception_in_the_mapped_function_surfaces_on_the_caller_and_the_hub_keeps_working()
    {
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            var e = Assert.Throws<InvalidOperationException>(() => group.Map(Enumerable.Range(0, 5), i =>
            {
                Fiber.Yield();
                return i == 3 ? throw new InvalidOperationException("boom 3") : i;
            }));
            Assert.Equal("boom 3", e.Message);

            var seen = new List<int>();
            var e2 = Assert.Throws<FormatException>(() =>
            {
                foreach (int r in group.Imap(Enumerable.Range(0, 5), i => i == 2 ? throw new FormatException("bad 2") : i, maxSize: 2))
                    seen.Add(r);
            });
            Assert.Equal("bad 2", e2.Message);
            Assert.Equal([0, 1], seen);

            Assert.Throws<FormatException>(() => group.ImapUnordered(Enumerable.Range(0, 3), i => i == 1 ? throw new FormatException() : i).ToList());
            Assert.True(group.Join(TimeSpan.FromSeconds(5)));
            Assert.Equal([0, 1, 2], group.Map(Enumerable.Range(0, 3), i => i));
            HubProbe.AssertHubWorks();
        });
    }
}
