using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using FiberRuntime.Diagnostics;

namespace FiberRuntime.Tests.Diagnostics;

/// <summary>Direct hand-off seen in the switch events: who switches to whom.</summary>
[Collection(EventListenerCollection.Name)]
public sealed class HandOffEventTests
{
    private sealed class SwitchListener : EventListener
    {
        public readonly ConcurrentQueue<(int Hub, long From, long To)> Switches = new();

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "FiberRuntime") EnableEvents(source, EventLevel.Verbose, FiberRuntimeEventSource.Keywords.Switch);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName != "FiberSwitch") return;
            int i(string name) => e.PayloadNames!.IndexOf(name);
            Switches.Enqueue(((int)e.Payload![0]!, (long)e.Payload[i("FromId")]!, (long)e.Payload[i("ToId")]!));
        }

        public List<(long From, long To)> OfHub(int hub) => Switches.Where(s => s.Hub == hub).Select(s => (s.From, s.To)).ToList();
    }

    [Fact]
    public void A_finishing_fiber_switches_straight_to_the_next_ready_one_and_a_lone_yielder_does_not_switch()
    {
        using var listener = new SwitchListener();
        int hubId = 0;
        long rootId = 0, aId = 0, bId = 0;
        List<(long From, long To)> switches = [];
        Hub.Run(() =>
        {
            hubId = Hub.Current!.Id;
            rootId = Greenlet.Current!.Id;
            Fiber a = Fiber.Spawn(() => { });
            Fiber b = Fiber.Spawn(() => { });
            (aId, bId) = (a.Id, b.Id);
            b.Join();                       // a ends into b, b ends into main: no trip through the loop
            for (int i = 0; i < 10; i++) Fiber.Yield();     // main alone: its own next
            switches = listener.OfHub(hubId);                // (the hub's shutdown switches come after)
        });
        Assert.Equal([(aId, bId)], switches.Where(s => s.From == aId));
        Assert.Equal([(bId, rootId)], switches.Where(s => s.From == bId));
        // main: to the loop once (it starts it and runs a), back from b; the yields switch nothing
        Assert.Single(switches, s => s.From == rootId);
        Assert.Single(switches, s => s.To == rootId);
    }
}
