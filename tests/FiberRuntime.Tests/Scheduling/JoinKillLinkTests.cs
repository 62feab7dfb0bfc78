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
    public void Join_returns_true_when_the_fiber_finishes()
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
    public void Join_with_timeout_returns_false_on_timeout_and_the_fiber_keeps_running()
    {
        Hub.Run(() =>
        {
            // the fiber can only finish once released, so a Join that returned with the fiber unfinished timed out
            var release = new FiberEvent();
            Fiber f = Fiber.Spawn(() => release.Wait());
            Assert.False(f.Join(TimeSpan.FromMilliseconds(50)));
            Assert.False(f.IsReady);
            Assert.False(f.Join(TimeSpan.Zero));
            release.Set();
            Assert.True(f.Join(TimeSpan.FromSeconds(10)));
            Assert.True(f.IsSuccessful);
        });
    }

    [Fact]
    public void Get_rethrows_the_fibers_exception_with_type_message_and_original_stack_trace()
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
    public void Get_with_timeout_throws_FiberTimeoutException_when_not_finished()
    {
        Hub.Run(() =>
        {
            Fiber<int> f = Fiber.Spawn(() => { Fiber.Sleep(TimeSpan.FromMilliseconds(300)); return 1; });
            Assert.Throws<FiberTimeoutException>(() => f.Get(TimeSpan.FromMilliseconds(20)));
            Assert.Equal(1, f.Get());
        });
    }

    [Fact]
    public void FiberT_value_and_get()
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
    public void Status_properties_through_the_life_of_a_fiber()
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

    // ---- links --------------------------------------------------------------------------------------------

    [Fact]
    public void Link_is_called_once_on_the_hub_with_the_fiber()
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
    public void LinkValue_only_on_success_LinkException_only_on_failure()
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
    public void Link_after_the_fiber_finished_is_still_called_once()
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
    public void Unlink_removes_the_callback()
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
    public void Link_from_a_plain_thread_on_the_default_hub_is_called_on_the_hub()
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
    public void A_link_callback_that_throws_does_not_break_the_hub()
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
    public void Unlink_from_a_plain_thread_like_link_works()
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
