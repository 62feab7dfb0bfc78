using System.Runtime.CompilerServices;

namespace FiberRuntime.Tests;

/// <summary>Switch semantics of the raw greenlet API: values both ways, results to parents, parent chains.</summary>
public class GreenletSwitchTests
{
    [Fact]
    public void Switch_passes_values_in_both_directions()
    {
        var seen = new List<object?>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(arg =>
            {
                seen.Add(arg);                        // first switch: run's argument
                seen.Add(root.Switch("from g #1"));   // returns what root passes next
                seen.Add(root.Switch("from g #2"));
                return "g result";
            });

            Assert.Equal("from g #1", g.Switch("start"));
            Assert.Equal("from g #2", g.Switch(11));
            Assert.Equal("g result", g.Switch(22.5));
            Assert.True(g.IsDead);
        });
        Assert.Equal(["start", 11, 22.5], seen);
    }

    [Fact]
    public void Switch_without_argument_delivers_null_and_object_identity_is_preserved()
    {
        Hub.Run(() =>
        {
            var payload = new object();
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(arg =>
            {
                Assert.Null(arg);
                object? got = root.Switch(payload);
                Assert.Null(got);
                return payload;
            });
            Assert.Same(payload, g.Switch());
            Assert.Same(payload, g.Switch());
        });
    }

    [Fact]
    public void Action_greenlet_returns_null_to_parent()
    {
        bool ran = false;
        Hub.Run(() =>
        {
            var g = new Greenlet(() => { ran = true; });
            Assert.Null(g.Switch("ignored"));
            Assert.True(g.IsDead);
        });
        Assert.True(ran);
    }

    [Fact]
    public void Return_value_goes_to_explicit_parent_not_to_switcher()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var parent = new Greenlet(arg =>
            {
                log.Add($"parent started with {arg}");
                object? fromChild = root.Switch("parent suspended");
                log.Add($"parent got {fromChild}");
                return "parent done";
            });
            var child = new Greenlet(arg => $"child result for {arg}", parent);
            Assert.Same(parent, child.Parent);

            Assert.Equal("parent suspended", parent.Switch("p"));
            // root starts child; child's result goes to its parent, whose result then comes back to root.
            Assert.Equal("parent done", child.Switch("x"));
            Assert.True(child.IsDead);
            Assert.True(parent.IsDead);
        });
        Assert.Equal(["parent started with p", "parent got child result for x"], log);
    }

    [Fact]
    public void Dead_parent_is_skipped_result_goes_to_grandparent()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            Greenlet? c = null;
            var gp = new Greenlet(_ =>
            {
                object? fromP = root.Switch("gp ready");
                log.Add($"gp got {fromP}");
                object? fromC = c!.Switch("go");
                log.Add($"gp got {fromC}");
                return "gp done";
            });
            var p = new Greenlet(_ => "p done", gp);
            c = new Greenlet(arg =>
            {
                object? resumed = root.Switch($"c started with {arg}");
                return $"c done ({resumed})";
            }, p);

            Assert.Equal("c started with 1", c.Switch(1));   // c suspended, p and gp not started
            Assert.Equal("gp ready", gp.Switch());
            // p runs and returns to gp (its live parent), gp resumes c, c ends: p is dead so gp receives it.
            Assert.Equal("gp done", p.Switch());
            Assert.True(p.IsDead);
            Assert.True(c.IsDead);
            Assert.True(gp.IsDead);
            Assert.Same(p, c.Parent);   // the parent link is kept; only the delivery skips the dead one
        });
        Assert.Equal(["gp got p done", "gp got c done (go)"], log);
    }

    [Fact]
    public void Chain_of_dead_parents_result_goes_to_root()
    {
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var p1 = new Greenlet(_ => "p1");
            var p2 = new Greenlet(_ => "p2", p1);
            var c = new Greenlet(_ => $"c got {root.Switch("c suspended")}", p2);
            Assert.Equal("c suspended", c.Switch());
            Assert.Equal("p1", p1.Switch());
            Assert.Equal("p2", p2.Switch());      // p2's parent p1 is dead: p2's result comes to root
            Assert.True(p2.IsDead);
            Assert.Equal("c got last", c.Switch("last"));   // c's parent p2 and grandparent p1 are dead
            Assert.True(c.IsDead);
        });
    }

    [Fact]
    public void Unstarted_parent_is_started_with_childs_result()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            var parent = new Greenlet(arg =>
            {
                log.Add($"parent started with {arg}");
                return $"parent returns {arg}";
            });
            var child = new Greenlet(arg => (int)arg! * 2, parent);
            Assert.False(parent.IsStarted);

            // child returns 42 to its parent, which was never started: 42 becomes its argument,
            // and the parent's own result goes to ITS parent, the root.
            Assert.Equal("parent returns 42", child.Switch(21));
            Assert.True(parent.IsStarted);
            Assert.True(parent.IsDead);
        });
        Assert.Equal(["parent started with 42"], log);
    }

    [Fact]
    public void Switch_returns_what_the_switcher_back_passed_even_from_a_third_greenlet()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            Greenlet? a = null;
            var b = new Greenlet(arg =>
            {
                log.Add($"b started with {arg}");
                object? back = a!.Switch("from b");
                log.Add($"b resumed with {back}");
                return "b end";
            });
            a = new Greenlet(_ =>
            {
                object? first = root.Switch("a waiting");
                log.Add($"a resumed with {first}");
                return "a end";
            });

            Assert.Equal("a waiting", a.Switch());
            // root → b ("hi"); b → a ("from b"); a returns "a end" to ITS parent, root.
            Assert.Equal("a end", b.Switch("hi"));
            Assert.False(b.IsDead);
            Assert.Equal("b end", b.Switch("bye"));
        });
        Assert.Equal(["b started with hi", "a resumed with from b", "b resumed with bye"], log);
    }

    [Fact]
    public void Current_is_null_outside_a_hub_root_in_main_self_in_greenlet()
    {
        Assert.Null(Greenlet.Current);
        Assert.Null(Hub.Current);
        Hub? seenHub = null;
        int callerThread = Environment.CurrentManagedThreadId;
        Hub.Run(() =>
        {
            Assert.NotEqual(callerThread, Environment.CurrentManagedThreadId);   // main runs on the hub's own thread
            Hub hub = Hub.Current!;
            seenHub = hub;
            Assert.NotNull(hub);
            Assert.Same(hub.RootGreenlet, Greenlet.Current);
            Assert.Null(hub.RootGreenlet.Parent);
            Assert.True(hub.RootGreenlet.IsStarted);
            Assert.False(hub.RootGreenlet.IsDead);
            Assert.Equal(Environment.CurrentManagedThreadId, hub.ManagedThreadId);

            Greenlet? inside = null;
            Hub? insideHub = null;
            var g = new Greenlet(() =>
            {
                inside = Greenlet.Current;
                insideHub = Hub.Current;
            });
            Assert.Same(hub.RootGreenlet, g.Parent);
            Assert.Same(hub, g.Hub);
            g.Switch();
            Assert.Same(g, inside);
            Assert.Same(hub, insideHub);
            Assert.Same(hub.RootGreenlet, Greenlet.Current);
        });
        Assert.NotNull(seenHub);
        Assert.Null(Greenlet.Current);
        Assert.Null(Hub.Current);
    }

    [Fact]
    public void IsStarted_and_IsDead_follow_the_lifecycle()
    {
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(() => root.Switch());
            Assert.False(g.IsStarted);
            Assert.False(g.IsDead);
            g.Switch();
            Assert.True(g.IsStarted);
            Assert.False(g.IsDead);
            g.Switch();
            Assert.True(g.IsStarted);
            Assert.True(g.IsDead);
        });
    }

    [Fact]
    public void Default_parent_is_the_creating_greenlet()
    {
        Hub.Run(() =>
        {
            Greenlet? inner = null;
            var outer = new Greenlet(() =>
            {
                inner = new Greenlet(_ => "inner result");
                Assert.Same(Greenlet.Current, inner.Parent);
                Assert.Equal("inner result", inner.Switch());
            });
            outer.Switch();
            Assert.Same(outer, inner!.Parent);
        });
    }

    private sealed class CountingGreenlet : Greenlet
    {
        public CountingGreenlet() : base((Greenlet?)null) { }

        protected override object? Run(object? argument)
        {
            int n = (int)argument!;
            while (n < 3) n = (int)Parent!.Switch(n)! + 1;
            return $"subclass done at {n}";
        }
    }

    [Fact]
    public void Subclass_overriding_run_works()
    {
        Hub.Run(() =>
        {
            var g = new CountingGreenlet();
            Assert.Equal(0, g.Switch(0));
            Assert.Equal(2, g.Switch(1));
            Assert.Equal("subclass done at 3", g.Switch(2));
        });
    }

    [Fact]
    public void Many_greenlets_alive_at_once_pass_a_counter_around_a_ring()
    {
        const int N = 2000, Rounds = 5;
        var received = new int[N];
        int finished = 0;

        int final = Hub.Run(() =>
        {
            var ring = new Greenlet[N];
            for (int i = 0; i < N; i++)
            {
                int me = i;
                ring[i] = new Greenlet(arg =>
                {
                    int v = (int)arg!;
                    for (int r = 0; r < Rounds; r++)
                    {
                        Assert.Equal(r * N + me, v);     // exact value of the counter on each visit
                        received[me]++;
                        v = (int)ring[(me + 1) % N].Switch(v + 1)!;
                    }
                    finished++;
                    return v;
                });
            }

            // g0's last switch is answered by g(N-1): the counter has gone round Rounds times.
            int result = (int)ring[0].Switch(0)!;
            Assert.True(ring[0].IsDead);
            for (int i = 1; i < N; i++)
            {
                Assert.False(ring[i].IsDead);
                Assert.Equal(-i, ring[i].Switch(-i));   // they end, returning what we resumed them with
                Assert.True(ring[i].IsDead);
            }
            return result;
        });

        Assert.Equal(N * Rounds, final);
        Assert.Equal(N, finished);
        Assert.All(received, count => Assert.Equal(Rounds, count));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Recurse(int depth, Greenlet home, List<int> log)
    {
        string local = "frame " + depth;       // a reference on each frame, checked after the switch
        if (depth == 0)
        {
            object? v = home.Switch("deepest");
            GC.Collect();
            log.Add((int)v!);
            return (int)v!;
        }
        long below = Recurse(depth - 1, home, log);
        Assert.Equal("frame " + depth, local);
        return below + depth;
    }

    // Recurse's frame is ~160 bytes in this (Debug) test assembly, so 2000 frames need more than the default
    // 256 KiB fiber stack; 1 MiB leaves ample room. (Overflowing a fiber stack kills the process, as on any thread.)
    [Theory]
    [InlineData(2000, 1024 * 1024)]
    [InlineData(1000, HubOptions.DefaultStackSize)]
    public void Deep_recursion_inside_a_greenlet_survives_switching_out_and_back(int depth, int stackSize)
    {
        var log = new List<int>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var g = new Greenlet(_ => Recurse(depth, root, log));
            Assert.Equal("deepest", g.Switch());
            GC.Collect();
            AssertOtherGreenletsStillWork();
            object? result = g.Switch(1000);
            Assert.Equal(1000L + (long)depth * (depth + 1) / 2, result);
            Assert.True(g.IsDead);
        }, new HubOptions { StackSize = stackSize });
        Assert.Equal([1000], log);

        static void AssertOtherGreenletsStillWork() => HubProbe.AssertHubWorks();
    }
}
