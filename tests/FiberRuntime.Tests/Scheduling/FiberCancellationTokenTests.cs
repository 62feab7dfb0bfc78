namespace FiberRuntime.Tests.Scheduling;

/// <summary>Fiber.CancellationToken: cancelled at the kill (before it is raised in the fiber) and at the end.</summary>
public sealed class FiberCancellationTokenTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public void A_kill_cancels_the_token_so_an_awaited_delay_stops_at_once()
    {
        Hub.Run(() =>
        {
            Task? delay = null;
            var order = new List<string>();
            Fiber f = Fiber.Spawn(() =>
            {
                CancellationToken token = Fiber.Current!.CancellationToken;
                Assert.False(token.IsCancellationRequested);
                token.Register(() => order.Add("token cancelled"));
                delay = Task.Delay(Long, token);
                try
                {
                    Fiber.Await(delay);
                }
                catch (GreenletExit)
                {
                    order.Add($"kill raised, token cancelled: {token.IsCancellationRequested}");
                    throw;
                }
            });
            Fiber.Sleep(0.01);                   // the fiber is awaiting the delay
            f.Kill();
            Assert.True(f.WasKilled);
            Assert.True(delay!.IsCanceled);     // cancelled by the kill, not left running for 30 s
            Assert.Equal(["token cancelled", "kill raised, token cancelled: True"], order);
        });
    }

    [Fact]
    public void The_token_is_cancelled_when_the_fiber_ends_however_it_ends()
    {
        Hub.Run(() =>
        {
            CancellationToken ok = default, failed = default;
            Fiber a = Fiber.Spawn(() => { ok = Fiber.Current!.CancellationToken; });
            Fiber b = Fiber.Spawn(() =>
            {
                failed = Fiber.Current!.CancellationToken;
                throw new FormatException("ends with an exception");
            });
            Fiber.JoinAll([a, b]);
            Assert.True(ok.IsCancellationRequested);
            Assert.True(failed.IsCancellationRequested);
            // read after the end: cancelled at once
            Assert.True(a.CancellationToken.IsCancellationRequested);
            // a fiber killed before it started
            Fiber c = Fiber.Spawn(() => { });
            c.Kill();
            Assert.True(c.CancellationToken.IsCancellationRequested);
        });
    }

    [Fact]
    public void A_token_read_before_the_kill_from_another_thread_is_cancelled_by_it()
    {
        using var running = new ManualResetEventSlim();
        Fiber f = Fiber.Spawn(() =>
        {
            running.Set();
            Fiber.Sleep(Long);
        });
        Assert.True(running.Wait(Long));
        CancellationToken token = f.CancellationToken;       // from this thread, not the hub's
        Assert.False(token.IsCancellationRequested);
        f.Kill(timeout: Long);
        Assert.True(f.WasKilled);
        Assert.True(token.IsCancellationRequested);
    }

    [Fact]
    public void A_fiber_that_never_asks_for_the_token_gets_no_source()
    {
        Hub.Run(() =>
        {
            Fiber f = Fiber.Spawn(() => Fiber.Sleep(Long));
            Fiber.Yield();
            f.Kill();
            // no source, nor even the side state that would hold one (Fiber.Side.cs)
            Assert.Null(typeof(Fiber).GetField("_side", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(f));
            Assert.True(f.CancellationToken.IsCancellationRequested);
        });
    }

    [Fact]
    public void A_throwing_callback_does_not_stop_the_kill()
    {
        Hub.Run(() =>
        {
            Fiber f = Fiber.Spawn(() =>
            {
                Fiber.Current!.CancellationToken.Register(() => throw new InvalidOperationException("callback"));
                Fiber.Sleep(Long);
            });
            Fiber.Yield();
            f.Kill();
            Assert.True(f.WasKilled);
            Assert.Null(f.Exception);
        });
    }
}
