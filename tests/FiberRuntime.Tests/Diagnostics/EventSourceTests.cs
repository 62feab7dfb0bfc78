using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using FiberRuntime.Diagnostics;

namespace FiberRuntime.Tests.Diagnostics;

/// <summary>The <c>FiberRuntime</c> event source seen by an in-process <see cref="EventListener"/>. A listener only
/// receives what it enabled itself, and every test keeps only its own hub's events, so these tests may run in
/// parallel with each other; but they run apart from the rest of the suite, because an enabled source makes every hub
/// in the process write events, and that allocates on the hub threads of tests that count allocated bytes
/// (e.g. SyncStressTests.WaitingAndWaking_AllocateNothing saw 5 MB).</summary>
[Collection(EventListenerCollection.Name)]
public sealed class EventSourceTests
{
    private sealed class Listener(EventLevel level, EventKeywords keywords) : EventListener
    {
        public readonly ConcurrentQueue<EventWrittenEventArgs> Events = new();

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "FiberRuntime") EnableEvents(source, level, keywords);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e) => Events.Enqueue(e);

        public List<EventWrittenEventArgs> OfHub(int hubId, string name) =>
            Events.Where(e => e.EventName == name && e.Payload![0] is int h && h == hubId).ToList();
    }

    private static object? Get(EventWrittenEventArgs e, string name) => e.Payload![e.PayloadNames!.IndexOf(name)];

    [Fact]
    public void The_source_is_named_FiberRuntime_and_describes_its_events()
    {
        Assert.Equal("FiberRuntime", FiberRuntimeEventSource.Log.Name);
        string manifest = EventSource.GenerateManifest(typeof(FiberRuntimeEventSource), "FiberRuntime.dll")!;
        foreach (string e in new[] { "HubStarted", "HubStopped", "FiberSpawn", "FiberExit", "FiberSwitch", "HubLoopIteration",
                                     "BlockingReport", "UnhandledFiberException", "RunInfoHub", "RunInfoFiber" })
            Assert.Contains($"\"{e}\"", manifest);
    }

    [Fact]
    public void Spawns_and_exits_are_reported_with_ids_and_outcomes_and_no_switches_without_the_switch_keyword()
    {
        using var listener = new Listener(EventLevel.Informational, EventKeywords.None);
        int hubId = 0;
        long mainId = 0;
        List<long> ok = [];
        long failedId = 0, killedId = 0, killedEarlyId = 0;
        Hub.UnhandledFiberException += Quiet;
        try
        {
            Hub.Run(() =>
            {
                hubId = Hub.Current!.Id;
                mainId = Fiber.Current!.Id;
                var fibers = Enumerable.Range(0, 5).Select(_ => Fiber.Spawn(() => Fiber.Yield())).ToList();
                Fiber failed = Fiber.Spawn(() => throw new FormatException("reported"));
                Fiber killed = Fiber.Spawn(() => Fiber.Sleep(TimeSpan.FromHours(1)));
                Fiber killedEarly = Fiber.Spawn(() => { });
                killedEarly.Kill();                               // before it ever ran
                Fiber.Yield();
                killed.Kill();
                Fiber.JoinAll([.. fibers, failed, killed]);
                ok = fibers.Select(f => f.Id).ToList();
                (failedId, killedId, killedEarlyId) = (failed.Id, killed.Id, killedEarly.Id);
            });
        }
        finally
        {
            Hub.UnhandledFiberException -= Quiet;
        }

        EventWrittenEventArgs start = Assert.Single(listener.OfHub(hubId, "HubStarted"));
        Assert.Equal(HubOptions.DefaultMaxFibers, Get(start, "MaxFibers"));
        Assert.Single(listener.OfHub(hubId, "HubStopped"));
        var spawns = listener.OfHub(hubId, "FiberSpawn");
        var exits = listener.OfHub(hubId, "FiberExit").ToDictionary(e => (long)Get(e, "FiberId")!, e => (int)Get(e, "Outcome")!);
        foreach (long id in ok.Concat([failedId, killedId, killedEarlyId]))
        {
            EventWrittenEventArgs spawn = Assert.Single(spawns, e => (long)Get(e, "FiberId")! == id);
            Assert.Equal("fiber", Get(spawn, "Kind"));
            Assert.Equal(mainId, Get(spawn, "SpawnerId"));
            Assert.Contains("(lambda)", (string)Get(spawn, "Name")!);
        }
        foreach (long id in ok) Assert.Equal((int)FiberOutcome.Success, exits[id]);
        Assert.Equal((int)FiberOutcome.Exception, exits[failedId]);
        Assert.Equal((int)FiberOutcome.Killed, exits[killedId]);
        Assert.Equal((int)FiberOutcome.Killed, exits[killedEarlyId]);
        // every exit has its spawn (the hub loop's included)
        Assert.All(exits.Keys, id => Assert.Single(spawns, e => (long)Get(e, "FiberId")! == id));

        EventWrittenEventArgs unhandled = Assert.Single(listener.OfHub(hubId, "UnhandledFiberException"));
        Assert.Equal(failedId, Get(unhandled, "FiberId"));
        Assert.Equal(typeof(FormatException).FullName, Get(unhandled, "ExceptionType"));
        Assert.Equal("reported", Get(unhandled, "Message"));

        Assert.Empty(listener.OfHub(hubId, "FiberSwitch"));
        Assert.Empty(listener.OfHub(hubId, "HubLoopIteration"));
    }

    private static void Quiet(Fiber f, Exception e)
    {
    }

    [Fact]
    public void Switches_and_loop_rounds_are_reported_at_verbose_level_with_their_keywords()
    {
        using var listener = new Listener(EventLevel.Verbose, FiberRuntimeEventSource.Keywords.Switch | FiberRuntimeEventSource.Keywords.Scheduler);
        int hubId = 0;
        long rootId = 0, gId = 0;
        Hub.Run(() =>
        {
            hubId = Hub.Current!.Id;
            Greenlet root = Greenlet.Current!;
            rootId = root.Id;
            var g = new Greenlet(() =>
            {
                for (int i = 0; i < 3; i++) root.Switch();
            });
            gId = g.Id;
            while (!g.IsDead) g.Switch();
            // through the hub loop: a round that sleeps. The Yield first starts the loop greenlet (its first run
            // compiles code), so the sleep's timer cannot be already due when the loop computes its timeout.
            Fiber.Yield();
            Fiber.Sleep(0.2);
        });
        var switches = listener.OfHub(hubId, "FiberSwitch").Select(e => ((long)Get(e, "FromId")!, (long)Get(e, "ToId")!)).ToList();
        // main -> g, g -> main, three times, then g's end: g -> main
        Assert.Equal(4, switches.Count(s => s == (rootId, gId)));
        Assert.Equal(4, switches.Count(s => s == (gId, rootId)));
        Assert.Contains(listener.OfHub(hubId, "HubLoopIteration"), e => (int)Get(e, "WaitTimeoutMs")! > 0);
        Assert.NotEmpty(listener.OfHub(hubId, "HubStarted"));      // keyword-less events come with any mask at their level
    }

    [Fact]
    public void A_blocking_report_is_an_event_too()
    {
        using var listener = new Listener(EventLevel.Warning, EventKeywords.None);
        int hubId = 0;
        long culprit = 0;
        Hub.Blocked += Ignore;
        try
        {
            Hub.Run(() =>
            {
                hubId = Hub.Current!.Id;
                Hub hub = Hub.Current!;
                Fiber f = Fiber.Spawn(() =>
                {
                    // blocks the hub (Thread.Sleep is not cooperative) until the monitor has flagged it
                    var limit = System.Diagnostics.Stopwatch.StartNew();
                    while (!hub.Scheduler.BlockingFlagged && limit.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(10);
                    Fiber.Yield();
                });
                culprit = f.Id;
                f.Join();
            }, new HubOptions { MaxBlockingTime = TimeSpan.FromMilliseconds(50) });
        }
        finally
        {
            Hub.Blocked -= Ignore;
        }
        EventWrittenEventArgs e = Assert.Single(listener.OfHub(hubId, "BlockingReport"));
        Assert.Equal(culprit, Get(e, "FiberId"));
        Assert.True((double)Get(e, "DurationMs")! > 50);
        Assert.Empty(listener.OfHub(hubId, "HubStarted"));            // Informational events are below Warning
    }

    private static void Ignore(BlockingReport r)
    {
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EventListenerCollection
{
    public const string Name = "In-process event listeners (run apart: an enabled source makes every hub write events)";
}
