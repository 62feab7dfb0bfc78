using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace FiberRuntime.Tests.Scheduling;

/// <summary>Join, Get, the status properties, Kill and links of a single fiber.</summary>
public class JoinKillLinkTests
{
    private sealed class BoomException(string message) : Exception(message);

    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int ThrowingMethodForGet() => throw new BoomException("boom from the fiber");

    // ---- Join / Get ---------------------------------------------------------------------------------------

    [Fact]
    public void Join_ReturnsTrue_WhenTheFiberFinishes()
    {
        Hub.Run(() =>
        {
            Fiber f = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(20)));
            Assert.True(f.Join());
            Assert.True(f.IsReady);
            Assert.True(f.Join(TimeSpan.Zero));          // already finished: true at once
        });
    }

    [Fact]
    public void JoinWithTimeout_ReturnsFalse_OnTimeout_AndTheFiberKeepsRunning()
    {
        Hub.Run(() =>
        {
            Fiber f = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(300)));
            var sw = Stopwatch.StartNew();
            Assert.False(f.Join(TimeSpan.FromMilliseconds(50)));
            Assert.True(sw.Elapsed < TimeSpan.FromMilliseconds(280), $"elapsed {sw.Elapsed}");
            Assert.False(f.IsReady);
            Assert.False(f.Join(TimeSpan.Zero));
            Assert.True(f.Join(TimeSpan.FromSeconds(10)));
            Assert.True(f.IsSuccessful);
        });
    }

    [Fact]
    public void Get_RethrowsTheFibersException_WithTypeMessageAndOriginalStackTrace()
    {
        Hub.Run(() =>
        {
            Fiber<int> f = Fiber.Spawn(ThrowingMethodForGet);
            var e = Assert.Throws<BoomException>(() => f.Get());
            Assert.Equal("boom from the fiber", e.Message);
            Assert.Contains(nameof(ThrowingMethodForGet), e.StackTrace);
            Assert.Same(e, f.Exception);

            Fiber plain = Fiber.Spawn(() => { ThrowingMethodForGet(); });
            var e2 = Assert.Throws<BoomException>(() => plain.Get());
            Assert.Contains(nameof(ThrowingMethodForGet), e2.StackTrace);
        });
    }

    [Fact]
    public void GetWithTimeout_ThrowsFiberTimeoutException_WhenNotFinished()
    {
        Hub.Run(() =>
        {
            Fiber<int> f = Fiber.Spawn(() => { Fiber.Sleep(TimeSpan.FromMilliseconds(300)); return 1; });
            Assert.Throws<FiberTimeoutException>(() => f.Get(TimeSpan.FromMilliseconds(20)));
            Assert.Equal(1, f.Get());
        });
    }

    [Fact]
    public void FiberT_ValueAndGet()
    {
        Hub.Run(() =>
        {
            Fiber<int> ok = Fiber.Spawn(() => { Fiber.Yield(); return 7; });
            Assert.Equal(0, ok.Value);                  // default before it finished
            Assert.Equal(7, ok.Get());
            Assert.Equal(7, ok.Value);

            Fiber<int> bad = Fiber.Spawn<int>(() => throw new BoomException("no value"));
            Assert.True(bad.Join(TimeSpan.FromSeconds(10)));
            Assert.False(bad.IsSuccessful);
            Assert.Equal(0, bad.Value);                 // default after a failure
            Assert.Throws<BoomException>(() => bad.Get());
        });
    }

    [Fact]
    public void StatusProperties_ThroughTheLifeOfAFiber()
    {
        Hub.Run(() =>
        {
            Fiber f = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(20)));
            Assert.False(f.IsReady);
            Assert.False(f.IsSuccessful);
            Assert.False(f.IsDead);
            Assert.Null(f.Exception);
            Fiber.Yield();                              // now it is sleeping
            Assert.True(f.IsStarted);
            Assert.False(f.IsReady);
            Assert.False(f.IsDead);
            f.Join();
            Assert.True(f.IsReady);
            Assert.True(f.IsSuccessful);
            Assert.True(f.IsDead);
            Assert.Null(f.Exception);

            Fiber bad = Fiber.Spawn(() => throw new BoomException("status"));
            bad.Join();
            Assert.True(bad.IsReady);
            Assert.False(bad.IsSuccessful);
            Assert.True(bad.IsDead);
            Assert.IsType<BoomException>(bad.Exception);

            Fiber exit = Fiber.Spawn(() => throw new GreenletExit());
            exit.Join();
            Assert.True(exit.IsSuccessful);            // GreenletExit ends a fiber successfully
            Assert.Null(exit.Exception);
        });
    }

    // ---- Kill ---------------------------------------------------------------------------------------------

    [Fact]
    public void Kill_Default_RaisesGreenletExit_AndTheFiberEndsSuccessfully()
    {
        Hub.Run(() =>
        {
            Exception? seen = null;
            Fiber f = Fiber.Spawn(() =>
            {
                try
                {
                    Fiber.Sleep(Long);
                }
                catch (Exception e)
                {
                    seen = e;
                    throw;
                }
            });
            Fiber.Yield();
            f.Kill();
            Assert.IsType<GreenletExit>(seen);
            Assert.True(f.IsReady);
            Assert.True(f.IsSuccessful);
            Assert.True(f.IsDead);
            Assert.Null(f.Exception);
        });
    }

    [Fact]
    public void Kill_WithACustomException_FailsTheFiberWithIt()
    {
        Hub.Run(() =>
        {
            Fiber f = Fiber.Spawn(() => Fiber.Sleep(Long));
            Fiber.Yield();
            var boom = new BoomException("killed");
            f.Kill(boom);
            Assert.True(f.IsReady);
            Assert.False(f.IsSuccessful);
            Assert.Same(boom, f.Exception);
            Assert.Same(boom, Assert.Throws<BoomException>(() => f.Get()));
        });
    }

    [Fact]
    public void Kill_BlockTrue_WaitsForTheFibersFinally_BlockFalseDoesNot()
    {
        Hub.Run(() =>
        {
            bool cleaned = false;
            Fiber f = Fiber.Spawn(() =>
            {
                try
                {
                    Fiber.Sleep(Long);
                }
                finally
                {
                    Fiber.Sleep(TimeSpan.FromMilliseconds(30));     // a finally that blocks
                    cleaned = true;
                }
            });
            Fiber.Yield();
            f.Kill();
            Assert.True(cleaned);
            Assert.True(f.IsReady);

            bool cleaned2 = false;
            Fiber g = Fiber.Spawn(() =>
            {
                try
                {
                    Fiber.Sleep(Long);
                }
                finally
                {
                    Fiber.Sleep(TimeSpan.FromMilliseconds(30));
                    cleaned2 = true;
                }
            });
            Fiber.Yield();
            g.Kill(block: false);
            Assert.False(cleaned2);
            Assert.False(g.IsReady);
            Assert.True(g.Join(TimeSpan.FromSeconds(10)));
            Assert.True(cleaned2);
            Assert.True(g.IsSuccessful);
        });
    }

    [Fact]
    public void Kill_WithTimeout_ThrowsWhenAFiberRefusesToDie()
    {
        Hub.Run(() =>
        {
            Fiber f = Fiber.Spawn(() =>
            {
                try
                {
                    Fiber.Sleep(Long);
                }
                catch (GreenletExit)
                {
                    Fiber.Sleep(TimeSpan.FromMilliseconds(400));   // ignores the kill for a while
                }
            });
            Fiber.Yield();
            Assert.Throws<FiberTimeoutException>(() => f.Kill(timeout: TimeSpan.FromMilliseconds(50)));
            Assert.False(f.IsReady);
            Assert.True(f.Join(TimeSpan.FromSeconds(10)));
        });
    }

    [Fact]
    public void Kill_BeforeStart_TheFiberNeverRuns()
    {
        Hub.Run(() =>
        {
            bool ran = false;
            Fiber f = Fiber.Spawn(() => ran = true);
            f.Kill();
            Assert.True(f.IsReady);
            Assert.True(f.IsSuccessful);
            Assert.True(f.IsDead);
            Fiber.Yield();
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            Assert.False(ran);
            Assert.False(f.IsStarted);

            bool ran2 = false;
            Fiber g = Fiber.Spawn(() => ran2 = true);
            var boom = new BoomException("before start");
            g.Kill(boom);
            Fiber.Yield();
            Assert.False(ran2);
            Assert.False(g.IsSuccessful);
            Assert.Same(boom, g.Exception);
        });
    }

    [Fact]
    public void Kill_OfASleepingFiber_RunsItsFinally()
    {
        Hub.Run(() =>
        {
            var log = new List<string>();
            Fiber f = Fiber.Spawn(() =>
            {
                try
                {
                    log.Add("sleeping");
                    Fiber.Sleep(Long);
                    log.Add("woke (must not happen)");
                }
                finally
                {
                    log.Add("finally");
                }
            });
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            f.Kill();
            Assert.Equal(["sleeping", "finally"], log);
        });
    }

    [Fact]
    public void Kill_OfAFiberBlockedInJoin_RunsItsFinally()
    {
        Hub.Run(() =>
        {
            bool cleaned = false;
            Fiber sleeper = Fiber.Spawn(() => Fiber.Sleep(Long));
            Fiber joiner = Fiber.Spawn(() =>
            {
                try
                {
                    sleeper.Join();
                }
                finally
                {
                    cleaned = true;
                }
            });
            Fiber.Yield();
            joiner.Kill();
            Assert.True(cleaned);
            Assert.True(joiner.IsSuccessful);
            Assert.False(sleeper.IsReady);
            sleeper.Kill();
            Assert.True(sleeper.IsReady);
        });
    }

    [Fact]
    public void Kill_FromAnotherOsThread_OnAHubRunFiber()
    {
        Hub.Run(() =>
        {
            bool cleaned = false;
            Fiber f = Fiber.Spawn(() =>
            {
                try
                {
                    Fiber.Sleep(Long);
                }
                finally
                {
                    cleaned = true;
                }
            });
            Fiber.Yield();
            Exception? killerError = null;
            var killer = new Thread(() =>
            {
                try
                {
                    f.Kill();                   // posts the kill to the hub, blocks this thread until f is done
                }
                catch (Exception e)
                {
                    killerError = e;
                }
            });
            killer.Start();
            Assert.True(f.Join(TimeSpan.FromSeconds(10)));
            Assert.True(cleaned);
            Assert.True(f.IsSuccessful);
            Assert.True(killer.Join(TimeSpan.FromSeconds(10)));
            Assert.Null(killerError);
        });
    }

    [Fact]
    public void Kill_FromThePlainTestThread_OnTheDefaultHub()
    {
        bool cleaned = false;
        using var started = new ManualResetEventSlim();
        Fiber f = Fiber.Spawn(() =>
        {
            try
            {
                started.Set();
                Fiber.Sleep(Long);
            }
            finally
            {
                cleaned = true;
            }
        });
        Assert.True(started.Wait(TimeSpan.FromSeconds(30)));     // running, so the kill must go through its finally
        f.Kill();
        Assert.True(f.IsReady);
        Assert.True(f.IsSuccessful);
        Assert.True(cleaned);

        Fiber g = Fiber.Spawn(() => Fiber.Sleep(Long));
        var boom = new BoomException("cross-thread kill");
        g.Kill(boom);
        Assert.Same(boom, g.Exception);
    }

    [Fact]
    public void Kill_OfAFinishedFiber_DoesNothing()
    {
        Hub.Run(() =>
        {
            Fiber<int> f = Fiber.Spawn(() => 5);
            Assert.Equal(5, f.Get());
            f.Kill(new BoomException("too late"));
            Assert.True(f.IsSuccessful);
            Assert.Equal(5, f.Value);
        });
    }

    // ---- links --------------------------------------------------------------------------------------------

    [Fact]
    public void Link_IsCalledOnce_OnTheHub_WithTheFiber()
    {
        Hub.Run(() =>
        {
            Hub hub = Hub.Current!;
            var calls = new List<(Fiber F, Hub? OnHub, int Thread)>();
            Fiber f = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(10)));
            f.Link(x => calls.Add((x, Hub.Current, Environment.CurrentManagedThreadId)));
            Assert.Empty(calls);
            f.Join();
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            var call = Assert.Single(calls);
            Assert.Same(f, call.F);
            Assert.Same(hub, call.OnHub);
            Assert.Equal(hub.ManagedThreadId, call.Thread);
        });
    }

    [Fact]
    public void LinkValue_OnlyOnSuccess_LinkException_OnlyOnFailure()
    {
        Hub.Run(() =>
        {
            var log = new List<string>();
            Fiber ok = Fiber.Spawn(() => Fiber.Yield());
            Fiber bad = Fiber.Spawn(() => { Fiber.Yield(); throw new BoomException("link"); });
            foreach ((string name, Fiber f) in new[] { ("ok", ok), ("bad", bad) })
            {
                f.Link(x => log.Add($"{name}:link:{ReferenceEquals(x, f)}"));
                f.LinkValue(x => log.Add($"{name}:value:{ReferenceEquals(x, f)}"));
                f.LinkException(x => log.Add($"{name}:exception:{ReferenceEquals(x, f)}:{x.Exception?.Message}"));
            }
            Fiber.JoinAll([ok, bad]);
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            Assert.Equal(
                new[] { "ok:link:True", "ok:value:True", "bad:link:True", "bad:exception:True:link" }.Order(),
                log.Order());
        });
    }

    [Fact]
    public void Link_AfterTheFiberFinished_IsStillCalledOnce()
    {
        Hub.Run(() =>
        {
            int calls = 0, values = 0, exceptions = 0;
            Fiber f = Fiber.Spawn(() => { });
            f.Join();
            f.Link(_ => calls++);
            f.LinkValue(_ => values++);
            f.LinkException(_ => exceptions++);
            Assert.Equal(0, calls);                     // not inline: on the hub, soon
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            Assert.Equal((1, 1, 0), (calls, values, exceptions));
        });
    }

    [Fact]
    public void Unlink_RemovesTheCallback()
    {
        Hub.Run(() =>
        {
            int kept = 0, removed = 0;
            Action<Fiber> remove = _ => removed++;
            Fiber f = Fiber.Spawn(() => Fiber.Yield());
            f.Link(remove);
            f.LinkValue(remove);
            f.Link(_ => kept++);
            f.Unlink(remove);
            f.Join();
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            Assert.Equal(0, removed);
            Assert.Equal(1, kept);
        });
    }

    [Fact]
    public void Link_FromAPlainThread_OnTheDefaultHub_IsCalledOnTheHub()
    {
        using var called = new ManualResetEventSlim();
        Fiber? seen = null;
        Hub? onHub = null;
        Fiber f = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(20)));
        f.Link(x =>
        {
            seen = x;
            onHub = Hub.Current;
            called.Set();
        });
        Assert.True(called.Wait(TimeSpan.FromSeconds(10)));
        Assert.Same(f, seen);
        Assert.Same(Hub.Default, onHub);
    }

    [Fact]
    public void ALinkCallbackThatThrows_DoesNotBreakTheHub()
    {
        Hub.Run(() =>
        {
            int after = 0;
            Fiber f = Fiber.Spawn(() => { });
            f.Link(_ => throw new BoomException("in a link"));
            f.Link(_ => after++);
            f.Join();
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            Assert.Equal(1, after);
            Assert.Equal(3, Fiber.Spawn(() => 3).Get());
        });
    }

    [Fact]
    public void Unlink_FromAPlainThread_LikeLink_Works()
    {
        int removed = 0;
        Action<Fiber> remove = _ => Interlocked.Increment(ref removed);
        Fiber f = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromMilliseconds(200)));
        f.Link(remove);
        f.Unlink(remove);                                         // observed: InvalidOperationException ("belongs to the hub on managed thread N")
        Assert.True(f.Join(TimeSpan.FromSeconds(10)));
        Thread.Sleep(50);
        Assert.Equal(0, removed);
    }
}
