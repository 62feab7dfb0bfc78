using System.Runtime.CompilerServices;
using FiberRuntime.Diagnostics;

namespace FiberRuntime.Tests.Diagnostics;

public sealed class BlockingMonitorTests
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void BlockTheHubWithThreadSleep()
    {
        Thread.Sleep(300);          // not cooperative: the whole hub stops
        Fiber.Yield();
    }

    [Fact]
    public void A_fiber_that_blocks_the_hub_is_reported_with_where_it_was()
    {
        var reports = new List<BlockingReport>();
        Hub? mine = null;
        void OnBlocked(BlockingReport r)
        {
            lock (reports) if (ReferenceEquals(r.Hub, mine)) reports.Add(r);   // the event is static
        }
        Hub.Blocked += OnBlocked;
        Fiber? culprit = null;
        try
        {
            Hub.Run(() =>
            {
                mine = Hub.Current;
                Fiber polite = Fiber.Spawn(() =>
                {
                    for (int i = 0; i < 20; i++) Fiber.Sleep(0.01);   // cooperative: never reported
                });
                culprit = Fiber.Spawn(BlockTheHubWithThreadSleep);
                Fiber.JoinAll([polite, culprit]);
            }, new HubOptions { MaxBlockingTime = TimeSpan.FromMilliseconds(100) });
        }
        finally
        {
            Hub.Blocked -= OnBlocked;
        }
        lock (reports)
        {
            BlockingReport report = Assert.Single(reports);
            Assert.Same(culprit, report.Greenlet);
            Assert.True(report.Duration >= TimeSpan.FromMilliseconds(250), $"duration {report.Duration}");
            Assert.Contains(nameof(BlockTheHubWithThreadSleep), report.StackTrace);
            Assert.Contains("blocked the hub", report.ToString());
        }
    }

    [Fact]
    public void The_limit_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Hub.Run(() => { }, new HubOptions { MaxBlockingTime = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Hub.Run(() => { }, new HubOptions { MaxBlockingTime = TimeSpan.FromSeconds(-1) }));
    }
}
