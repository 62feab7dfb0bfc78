using System.Runtime.CompilerServices;

namespace FiberRuntime.Tests.Interop;

/// <summary>Fiber.Offload: blocking work on the offload pool while only the calling fiber waits.</summary>
public sealed class OffloadTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int ThrowingWork() => throw new FormatException("from the offloaded work");

    [Fact]
    public void Offload_runs_the_work_off_the_hub_while_the_hub_serves_other_fibers()
    {
        Hub.Run(() =>
        {
            int hubThread = Environment.CurrentManagedThreadId;
            using var release = new ManualResetEventSlim();
            int ticks = 0;
            Fiber ticker = Fiber.Spawn(() =>
            {
                for (; ticks < 5; ticks++) Fiber.Sleep(0.005);
                release.Set();                 // only a running hub gets here
            });
            // the work blocks its thread until a fiber of this hub releases it: were the hub blocked, it never would
            (int thread, bool released) = Fiber.Offload(() => (Environment.CurrentManagedThreadId, release.Wait(Long)));
            Assert.True(released);
            Assert.NotEqual(hubThread, thread);
            Assert.Equal(5, ticks);
            ticker.Get();
            // the void and the token overloads
            int ran = 0;
            Fiber.Offload(() => { ran++; });
            Fiber.Offload(ct => { Assert.True(ct.CanBeCanceled); ran++; });
            Assert.Equal(42, Fiber.Offload(ct => ct.IsCancellationRequested ? -1 : 42));
            Assert.Equal(2, ran);
        });
    }

    [Fact]
    public void The_works_exception_comes_back_with_its_type_and_stack()
    {
        Hub.Run(() =>
        {
            FormatException e = Assert.Throws<FormatException>(() => Fiber.Offload(ThrowingWork));
            Assert.Equal("from the offloaded work", e.Message);
            Assert.Contains(nameof(ThrowingWork), e.StackTrace);
            Assert.Throws<InvalidOperationException>(() => Fiber.Offload(() => throw new InvalidOperationException()));
            Assert.Throws<OperationCanceledException>(() => Fiber.Offload(ct => throw new OperationCanceledException(ct)));
            Assert.Equal(3, Fiber.Offload(() => 3));        // the fiber and the pool are fine afterwards
        });
    }

    [Fact]
    public void Killing_the_fiber_while_it_waits_ends_it_and_cancels_the_works_token()
    {
        Hub.Run(() =>
        {
            using var workSawCancel = new ManualResetEventSlim();
            using var started = new ManualResetEventSlim();
            bool reachedAfter = false;
            Fiber f = Fiber.Spawn(() =>
            {
                Fiber.Offload(ct =>
                {
                    started.Set();
                    if (ct.WaitHandle.WaitOne(Long)) workSawCancel.Set();
                });
                reachedAfter = true;
            });
            Fiber.Await(Task.Run(() => started.Wait(Long)));   // the work is running on its thread
            f.Kill();                                           // blocks until the fiber has ended
            Assert.True(f.IsReady);
            Assert.True(f.WasKilled);
            Assert.False(reachedAfter);
            Assert.True(Fiber.Await(Task.Run(() => workSawCancel.Wait(Long))), "the work's token was not cancelled");
        });
    }

    [Fact]
    public void A_result_that_arrives_after_the_kill_is_discarded_and_the_hub_goes_on()
    {
        Hub.Run(() =>
        {
            using var release = new ManualResetEventSlim();
            using var finished = new ManualResetEventSlim();
            using var started = new ManualResetEventSlim();
            Fiber f = Fiber.Spawn(() => Fiber.Offload(() =>
            {
                started.Set();
                release.Wait(Long);         // ignores cancellation: keeps running after the kill
                finished.Set();
                return 1;
            }));
            Fiber.Await(Task.Run(() => started.Wait(Long)));
            f.Kill();
            Assert.True(f.WasKilled);
            release.Set();
            Assert.True(Fiber.Await(Task.Run(() => finished.Wait(Long))));
            Fiber.Sleep(0.02);               // a stale wake-up, had one been posted, would arrive now and be ignored
            Assert.True(f.WasKilled);
            Assert.Equal(2, Fiber.Offload(() => 2));
        });
    }

    [Fact]
    public void A_FiberTimeout_that_expires_during_the_wait_raises_in_the_fiber_and_cancels_the_token()
    {
        Hub.Run(() =>
        {
            // The timeout must expire while the work runs. On a loaded machine the pool may not even start the work
            // within the timeout (then the work is dropped, which is right too): try again with a doubled timeout
            // until the work started before it expired — a retry on a count, not a timing threshold.
            for (int ms = 30; ; ms *= 2)
            {
                var workStarted = new ManualResetEventSlim();
                var workSawCancel = new ManualResetEventSlim();
                Assert.Throws<FiberTimeoutException>(() => Fiber.WithTimeout(TimeSpan.FromMilliseconds(ms), () =>
                    Fiber.Offload(ct =>
                    {
                        workStarted.Set();
                        if (ct.WaitHandle.WaitOne(Long)) workSawCancel.Set();
                        return 0;
                    })));
                if (!workStarted.IsSet)
                {
                    Assert.True(ms < 30 << 10, "the offload pool never started the work within the timeout");
                    continue;
                }
                Assert.True(Fiber.Await(Task.Run(() => workSawCancel.Wait(Long))));
                break;
            }
            Assert.Equal("still usable", Fiber.Offload(() => "still usable"));
        });
    }

    [Fact]
    public void Many_fibers_offloading_at_once_all_get_their_results_through_the_bounded_pool()
    {
        const int count = 300;
        long sum = Hub.Run(() =>
        {
            var fibers = Enumerable.Range(0, count).Select(i => Fiber.Spawn(() =>
            {
                return Fiber.Offload(() =>
                {
                    Thread.Sleep(1);            // genuinely blocking work
                    return (long)i * i;
                });
            })).ToList();
            return fibers.Sum(f => f.Get());
        });
        Assert.Equal(Enumerable.Range(0, count).Sum(i => (long)i * i), sum);
        Assert.True(OffloadPool.Threads <= Fiber.MaxOffloadThreads, $"{OffloadPool.Threads} offload threads, limit {Fiber.MaxOffloadThreads}");
    }

    [Fact]
    public void The_work_sees_the_fibers_AsyncLocal_values()
    {
        var local = new AsyncLocal<string>();
        Hub.Run(() =>
        {
            local.Value = "fiber's";
            Assert.Equal("fiber's", Fiber.Offload(() => local.Value));
        });
    }

    [Fact]
    public void Outside_a_fiber_the_work_runs_on_the_calling_thread()
    {
        int me = Environment.CurrentManagedThreadId;
        Assert.Equal(me, Fiber.Offload(() => Environment.CurrentManagedThreadId));
        Assert.False(Fiber.Offload(ct => ct.CanBeCanceled));
        int ran = 0;
        Fiber.Offload(() => { ran += Environment.CurrentManagedThreadId == me ? 1 : 100; });
        Fiber.Offload(_ => { ran += Environment.CurrentManagedThreadId == me ? 1 : 100; });
        Assert.Equal(2, ran);
        Assert.Throws<FormatException>(() => Fiber.Offload(ThrowingWork));
    }

    [Fact]
    public void A_blocking_call_through_Offload_is_not_reported_by_the_blocking_monitor()
    {
        var reports = new List<FiberRuntime.Diagnostics.BlockingReport>();
        Hub? mine = null;
        void OnBlocked(FiberRuntime.Diagnostics.BlockingReport r)
        {
            lock (reports) if (ReferenceEquals(r.Hub, mine)) reports.Add(r);   // the event is static
        }
        Hub.Blocked += OnBlocked;
        try
        {
            Hub.Run(() =>
            {
                mine = Hub.Current;
                Fiber.Offload(() => Thread.Sleep(1500));       // on the hub's thread this would be reported
            }, new HubOptions { MaxBlockingTime = TimeSpan.FromMilliseconds(500) });
        }
        finally
        {
            Hub.Blocked -= OnBlocked;
        }
        // a busy machine may deschedule the hub thread for a moment; nothing comes near the offloaded 1.5 s
        lock (reports) Assert.DoesNotContain(reports, r => r.Duration >= TimeSpan.FromMilliseconds(1400));
    }

    [Fact]
    public void Null_work_is_refused_and_the_hub_keeps_running()
    {
        Hub.Run(() =>
        {
            Assert.Throws<ArgumentNullException>(() => Fiber.Offload((Func<int>)null!));
            Assert.Throws<ArgumentNullException>(() => Fiber.Offload((Action)null!));
            Assert.Throws<ArgumentNullException>(() => Fiber.Offload((Func<CancellationToken, int>)null!));
            Assert.Throws<ArgumentNullException>(() => Fiber.Offload((Action<CancellationToken>)null!));
            Assert.Equal(1, Fiber.Spawn(() => Fiber.Offload(() => 1)).Get());
        });
        Assert.Throws<ArgumentNullException>(() => Fiber.Offload((Func<int>)null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => Fiber.MaxOffloadThreads = 0);
    }
}
