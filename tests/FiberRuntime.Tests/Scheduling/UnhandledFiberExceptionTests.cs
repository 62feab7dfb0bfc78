namespace FiberRuntime.Tests.Scheduling;

/// <summary><see cref="Hub.UnhandledFiberException"/> is static: these tests run alone (no other test class runs
/// while they do), and each handler still only counts the fibers its own test created.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class UnhandledFiberExceptionCollection
{
    public const string Name = "UnhandledFiberException (static event, not parallel)";
}

[Collection(UnhandledFiberExceptionCollection.Name)]
public class UnhandledFiberExceptionTests
{
    private sealed class ReportedException(string message) : Exception(message);

    [Fact]
    public void A_failing_fiber_is_reported_exactly_once_on_the_hub_and_does_not_crash_the_process()
    {
        var reports = new List<(Fiber Fiber, Exception Error, Hub? OnHub)>();
        Fiber? failing = null;
        Action<Fiber, Exception> handler = (f, e) =>
        {
            lock (reports)
            {
                if (ReferenceEquals(f, failing)) reports.Add((f, e, Hub.Current));
            }
        };
        Hub.UnhandledFiberException += handler;
        try
        {
            Hub.Run(() =>
            {
                failing = Fiber.Spawn(() => { Fiber.Yield(); throw new ReportedException("unhandled in a fiber"); });
                failing.Join();
                // give any duplicate report time to arrive: links, callbacks, the next rounds of the loop
                Fiber.Sleep(TimeSpan.FromMilliseconds(50));
                Assert.IsType<ReportedException>(failing.Exception);
                Assert.Equal(5, Fiber.Spawn(() => 5).Get());

                // Get rethrows it, Join/Get again do not report again
                Assert.Throws<ReportedException>(() => failing.Get());
                failing.Join();
                Fiber.Sleep(TimeSpan.FromMilliseconds(20));

                var report = Assert.Single(reports);
                Assert.Same(failing, report.Fiber);
                Assert.Same(failing.Exception, report.Error);
                Assert.Same(Hub.Current, report.OnHub);
            });
        }
        finally
        {
            Hub.UnhandledFiberException -= handler;
        }
        Assert.Single(reports);
    }

    [Fact]
    public void A_failing_fiber_on_the_default_hub_is_reported_once_and_the_default_hub_keeps_working()
    {
        int count = 0;
        Fiber? failing = null;
        using var reported = new ManualResetEventSlim();
        Action<Fiber, Exception> handler = (f, e) =>
        {
            if (ReferenceEquals(f, Volatile.Read(ref failing)) && e is ReportedException)
            {
                Interlocked.Increment(ref count);
                reported.Set();
            }
        };
        Hub.UnhandledFiberException += handler;
        try
        {
            Volatile.Write(ref failing, Fiber.Spawn(() => { Fiber.Sleep(TimeSpan.FromMilliseconds(20)); throw new ReportedException("default hub"); }));
            Assert.True(reported.Wait(TimeSpan.FromSeconds(10)));
            Assert.Throws<ReportedException>(() => failing!.Get());
            Assert.Equal(7, Fiber.Spawn(() => 7).Get());
            Thread.Sleep(50);
            Assert.Equal(1, count);
        }
        finally
        {
            Hub.UnhandledFiberException -= handler;
        }
    }

    [Fact]
    public void A_handler_that_throws_does_not_crash_the_hub()
    {
        Action<Fiber, Exception> handler = (_, _) => throw new InvalidOperationException("handler failed");
        Hub.UnhandledFiberException += handler;
        try
        {
            Hub.Run(() =>
            {
                Fiber f = Fiber.Spawn(() => throw new ReportedException("with a bad handler"));
                f.Join();
                Assert.IsType<ReportedException>(f.Exception);
                Assert.Equal(9, Fiber.Spawn(() => 9).Get());
            });
        }
        finally
        {
            Hub.UnhandledFiberException -= handler;
        }
    }

    [Fact]
    public void Killed_with_GreenletExit_is_not_reported()
    {
        int count = 0;
        Fiber? target = null;
        Action<Fiber, Exception> handler = (f, _) => { if (ReferenceEquals(f, target)) count++; };
        Hub.UnhandledFiberException += handler;
        try
        {
            Hub.Run(() =>
            {
                target = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromSeconds(30)));
                Fiber.Yield();
                target.Kill();
                Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            });
        }
        finally
        {
            Hub.UnhandledFiberException -= handler;
        }
        Assert.Equal(0, count);
    }
}
