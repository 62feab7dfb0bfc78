using System.Diagnostics;
using System.Diagnostics.Tracing;
using FiberRuntime.Diagnostics;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Xunit.Abstractions;

namespace FiberRuntime.Tests.Diagnostics;

/// <summary>
/// What <c>dotnet-trace</c> and <c>dotnet-counters</c> see: EventPipe sessions opened on a FiberRuntime.TestHost child
/// process through the diagnostics IPC channel (Microsoft.Diagnostics.NETCore.Client), the stream parsed with
/// TraceEvent. The child waits for "go" on standard input, so each session is attached before the work starts.
/// </summary>
[Collection(EventPipeCollection.Name)]
public sealed class EventPipeTests(ITestOutputHelper output)
{
    // keyword mask 0 at Informational is what `dotnet-trace collect --providers FiberRuntime` asks for
    private const long NoKeywords = 0, Switch = 2;

    private static readonly Guid FiberRuntimeGuid = EventSource.GetGuid(typeof(FiberRuntimeEventSource));
    private static readonly Guid SampleProfilerGuid = new("3c530d44-97ae-513a-1e6d-783e8f8e03a9");    // Microsoft-DotNETCore-SampleProfiler (see SampleProfilerTests)

    /// <summary>One parsed event, copied out of TraceEvent's reused objects.</summary>
    private sealed record Ev(string Provider, string Name, Dictionary<string, object?> Payload)
    {
        public long Long(string key) => Convert.ToInt64(Payload[key]);

        public string Text(string key) => Payload[key] as string ?? "";
    }

    /// <summary>An EventPipe session on a child, read on a background thread until stopped.</summary>
    private sealed class Session : IDisposable
    {
        private readonly EventPipeSession _session;
        private readonly Task _reader;
        private readonly List<Ev> _events = [];

        public Session(int pid, IEnumerable<EventPipeProvider> providers, bool rundown = false)
        {
            _session = new DiagnosticsClient(pid).StartEventPipeSession(providers, requestRundown: rundown);
            _reader = Task.Factory.StartNew(() =>
            {
                using var source = new EventPipeEventSource(_session.EventStream);
                // ours through the dynamic parser (EventPipe carries their metadata), with their payloads
                source.Dynamic.All += e =>
                {
                    if (e.ProviderGuid != FiberRuntimeGuid) return;
                    var payload = new Dictionary<string, object?>();
                    for (int i = 0; i < e.PayloadNames.Length; i++) payload[e.PayloadNames[i]] = e.PayloadValue(i);
                    lock (_events) _events.Add(new Ev("FiberRuntime", e.EventName ?? "", payload));
                };
                // the runtime's only counted, by provider
                source.AllEvents += e =>
                {
                    if (e.ProviderGuid == FiberRuntimeGuid) return;
                    string provider = e.ProviderGuid == SampleProfilerGuid ? "Microsoft-DotNETCore-SampleProfiler" : e.ProviderName;
                    lock (_events) _events.Add(new Ev(provider, e.EventName ?? "", []));
                };
                source.Process();
            }, TaskCreationOptions.LongRunning);
        }

        public List<Ev> Events
        {
            get { lock (_events) return [.. _events]; }
        }

        public List<Ev> Named(string name) => Events.Where(e => e.Provider == "FiberRuntime" && e.Name == name).ToList();

        /// <summary>The EventCounters payloads for <paramref name="counter"/>, in arrival order.</summary>
        public List<IDictionary<string, object>> Counter(string counter) =>
            Events.Where(e => e.Provider == "FiberRuntime" && e.Name == "EventCounters")
                  .Select(e => CounterPayload(e.Payload.Values.FirstOrDefault()))
                  .Where(p => p is not null && (string)p["Name"] == counter)
                  .Select(p => p!).ToList();

        /// <summary>An EventCounters event's one field is a dictionary, holding the counter's fields under "Payload".</summary>
        private static IDictionary<string, object>? CounterPayload(object? value) =>
            value is IDictionary<string, object> d ? d.TryGetValue("Payload", out object? inner) && inner is IDictionary<string, object> p ? p : d : null;

        /// <summary>Waits (bounded) until <paramref name="condition"/> holds on the events received so far.</summary>
        public bool WaitUntil(Func<Session, bool> condition, TimeSpan timeout)
        {
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < timeout)
            {
                if (condition(this)) return true;
                if (_reader.IsCompleted) return condition(this);
                Thread.Sleep(100);
            }
            return false;
        }

        /// <summary>Stops the session and waits for the reader to reach the end of the stream.</summary>
        public void Stop()
        {
            _session.Stop();
            if (!_reader.Wait(TimeSpan.FromSeconds(60))) throw new TimeoutException("the trace reader did not finish after the session stopped");
        }

        public void Dispose()
        {
            try
            {
                _session.Stop();
            }
            catch (Exception e) when (e is ServerNotAvailableException or IOException or ObjectDisposedException)
            {
            }
            _session.Dispose();
        }
    }

    private static EventPipeProvider FiberRuntime(EventLevel level, long keywords, Dictionary<string, string>? arguments = null) =>
        new("FiberRuntime", level, keywords, arguments);

    private static long[] Ids(string line) => line[(line.IndexOf(' ') + 1)..].Split(',').Select(long.Parse).ToArray();

    [Fact]
    public void A_session_like_dotnet_trace_providers_FiberRuntime_sees_every_spawn_and_exit_and_the_counters_but_no_switches()
    {
        const int fibers = 40, parked = 60;
        using var child = new ChildHost($"events --fibers {fibers} --parked {parked}");
        child.WaitForLine("ready");
        using var session = new Session(child.Pid, [FiberRuntime(EventLevel.Informational, NoKeywords,
            new Dictionary<string, string> { ["EventCounterIntervalSec"] = "1" })]);
        child.Send("go");
        child.WaitForLine("done");
        long[] spawned = Ids(child.WaitForLine("spawned "));
        long failed = Ids(child.WaitForLine("failed "))[0], killed = Ids(child.WaitForLine("killed "))[0];
        long[] parkedIds = Ids(child.WaitForLine("parked "));
        int hub = (int)Ids(child.WaitForLine("hub "))[0];
        Assert.Equal(fibers, spawned.Length);

        // counters are sampled once a second: wait for one taken while the parked fibers wait and the switcher runs
        bool sampled = session.WaitUntil(s =>
            s.Counter("live-fibers").Any(p => Convert.ToDouble(p["Mean"]) >= parked) &&
            s.Counter("switches").Any(p => Convert.ToDouble(p["Increment"]) > 0), TimeSpan.FromSeconds(60));
        session.Stop();
        Assert.Equal(0, child.Exit());
        output.WriteLine(child.Output);
        Assert.True(sampled, "no counter sample with the parked fibers live and switches counted");

        List<Ev> spawns = session.Named("FiberSpawn"), exits = session.Named("FiberExit");
        output.WriteLine($"{session.Events.Count} events, {spawns.Count} spawns, {exits.Count} exits");
        foreach (long id in spawned.Append(failed).Append(killed).Concat(parkedIds))
        {
            Ev spawn = Assert.Single(spawns, e => e.Long("FiberId") == id);
            Assert.Equal(hub, spawn.Long("HubId"));
            Assert.Equal("fiber", spawn.Text("Kind"));
        }
        var outcome = exits.ToDictionary(e => e.Long("FiberId"), e => (FiberOutcome)e.Long("Outcome"));
        foreach (long id in spawned) Assert.Equal(FiberOutcome.Success, outcome[id]);
        Assert.DoesNotContain(parkedIds, outcome.ContainsKey);       // still parked when the session stopped
        Assert.Equal(FiberOutcome.Exception, outcome[failed]);
        Assert.Equal(FiberOutcome.Killed, outcome[killed]);
        Assert.All(outcome.Keys, id => Assert.Single(spawns, e => e.Long("FiberId") == id));

        Ev unhandled = Assert.Single(session.Named("UnhandledFiberException"));
        Assert.Equal(failed, unhandled.Long("FiberId"));
        Assert.Equal("expected failure", unhandled.Text("Message"));
        Assert.Single(session.Named("HubStarted"), e => e.Long("HubId") == hub);
        Assert.Empty(session.Named("HubStopped"));                       // it was still running when the session stopped
        Assert.Empty(session.Named("FiberSwitch"));
        Assert.Empty(session.Named("HubLoopIteration"));

        // the counters' other values are sane for this child: one hub, nothing on I/O
        Assert.Contains(session.Counter("hubs"), p => Convert.ToDouble(p["Mean"]) == 1);
        Assert.All(session.Counter("io-waiters"), p => Assert.Equal(0, Convert.ToDouble(p["Mean"])));
        Assert.All(session.Counter("hub-utilization"), p => Assert.InRange(Convert.ToDouble(p["Mean"]), 0, 100));
        Assert.Contains(session.Counter("epoll-waits"), p => Convert.ToDouble(p["Increment"]) > 0);
        Assert.NotEmpty(session.Counter("pending-timers"));
        Assert.NotEmpty(session.Counter("run-queue-length"));
        // the fast path verified here: the callback takes only the switches that met a GC suspension
        double switched = session.Counter("switches").Sum(p => Convert.ToDouble(p["Increment"]));
        double throughCallback = session.Counter("callback-switches").Sum(p => Convert.ToDouble(p["Increment"]));
        output.WriteLine($"switches {switched}, through the callback {throughCallback}");
        Assert.NotEmpty(session.Counter("callback-switches"));
        Assert.InRange(throughCallback, 0, switched / 2);
    }

    [Fact]
    public void The_callback_switches_counter_counts_switches_forced_through_the_callback()
    {
        using var child = new ChildHost("events --fibers 40 --parked 60", "FIBERRUNTIME_SWITCH_PATH=callback");
        child.WaitForLine("ready");
        using var session = new Session(child.Pid, [FiberRuntime(EventLevel.Informational, NoKeywords,
            new Dictionary<string, string> { ["EventCounterIntervalSec"] = "1" })]);
        child.Send("go");
        child.WaitForLine("done");
        bool sampled = session.WaitUntil(s => s.Counter("callback-switches").Any(p => Convert.ToDouble(p["Increment"]) > 0),
            TimeSpan.FromSeconds(60));
        session.Stop();
        Assert.Equal(0, child.Exit());
        Assert.True(sampled, "no callback-switches sample counted a switch while every switch took the callback");
        // every switch of the child's one hub took the callback, so the two counters move together (the two are read
        // one after the other at each sample: a switch in between may land in one counter's sample before the other's)
        double switched = session.Counter("switches").Sum(p => Convert.ToDouble(p["Increment"]));
        double throughCallback = session.Counter("callback-switches").Sum(p => Convert.ToDouble(p["Increment"]));
        output.WriteLine($"switches {switched}, through the callback {throughCallback}");
        Assert.True(switched > 0);
        Assert.InRange(throughCallback, switched - Math.Max(10, switched / 20), switched + Math.Max(10, switched / 20));
    }

    [Fact]
    public void Switch_events_need_the_switch_keyword_at_verbose_level()
    {
        using var child = new ChildHost("events --fibers 5 --parked 3");
        child.WaitForLine("ready");
        using var session = new Session(child.Pid, [FiberRuntime(EventLevel.Verbose, Switch)]);
        child.Send("go");
        child.WaitForLine("done");
        long[] spawned = Ids(child.WaitForLine("spawned "));
        session.Stop();
        Assert.Equal(0, child.Exit());

        List<Ev> switches = session.Named("FiberSwitch");
        output.WriteLine($"{switches.Count} switches");
        // each spawned fiber yields three times: it is switched to at least four times and away as often
        foreach (long id in spawned)
        {
            Assert.True(switches.Count(e => e.Long("ToId") == id) >= 4, $"fiber {id} switched to fewer than 4 times");
            Assert.True(switches.Count(e => e.Long("FromId") == id) >= 4, $"fiber {id} switched away fewer than 4 times");
        }
        Assert.True(session.Named("FiberSpawn").Count >= spawned.Length);     // keyword-less: on at any mask
    }

    [Fact]
    public void A_session_enabled_with_RunInfo_receives_a_dump_of_every_fiber()
    {
        using var child = new ChildHost("events --fibers 3 --parked 25");
        child.WaitForLine("ready");
        child.Send("go");
        child.WaitForLine("done");
        long[] parkedIds = Ids(child.WaitForLine("parked "));
        using var session = new Session(child.Pid, [FiberRuntime(EventLevel.Informational, NoKeywords,
            // counters keep the stream flowing: the runtime sends a block of events when more follow
            new Dictionary<string, string> { ["RunInfo"] = "1", ["EventCounterIntervalSec"] = "1" })]);
        bool all = session.WaitUntil(s => parkedIds.All(id => s.Named("RunInfoFiber").Any(e => e.Long("FiberId") == id)), TimeSpan.FromSeconds(60));
        session.Stop();
        Assert.Equal(0, child.Exit());
        Assert.True(all, "not every parked fiber was in the dump");
        List<Ev> fibers = session.Named("RunInfoFiber");
        foreach (long id in parkedIds)
        {
            Ev e = Assert.Single(fibers, x => x.Long("FiberId") == id);
            Assert.Equal("parked", e.Text("State"));
            Assert.Equal("FiberEvent.Wait", e.Text("WaitsOn"));
        }
        Ev hub = Assert.Single(session.Named("RunInfoHub"));
        Assert.Equal("answered", hub.Text("Status"));
        Assert.Equal(hub.Long("Greenlets"), fibers.Count);
    }

    [Fact]
    public void SIGUSR1_prints_the_dump_when_the_environment_enables_it()
    {
        using var child = new ChildHost("events --fibers 3 --parked 4", "FIBERRUNTIME_RUNINFO_SIGNAL=1", "FIBERRUNTIME_WAIT_STACKS=1");
        child.WaitForLine("ready");
        child.Send("go");
        child.WaitForLine("done");
        long[] parkedIds = Ids(child.WaitForLine("parked "));
        using (Process kill = Process.Start("kill", ["-USR1", child.Pid.ToString()])!) kill.WaitForExit();
        child.WaitForError($"#{parkedIds[^1]} ");
        Assert.Equal(0, child.Exit());          // the signal did not end the process
        string dump = child.StandardError;
        output.WriteLine(dump);
        Assert.Contains("FiberRuntime run info: process " + child.Pid, dump);
        foreach (long id in parkedIds) Assert.Contains($"#{id} DiagnosticsScenarios.Events (lambda) [fiber] parked: FiberEvent.Wait", dump);
        Assert.Contains("stack (when it suspended):", dump);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EventPipeCollection
{
    public const string Name = "EventPipe sessions on child processes (run alone)";
}
