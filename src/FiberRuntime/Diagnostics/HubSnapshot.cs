using System.Diagnostics;
using FiberRuntime.Scheduling;

namespace FiberRuntime.Diagnostics;

/// <summary>What every greenlet of a hub is doing, read on the hub thread for run-info dumps. Formatting (names,
/// stacks) is left to <see cref="RunInfo"/>.</summary>
internal static class HubSnapshot
{
    /// <summary>Hub thread: snapshots <paramref name="hub"/>.</summary>
    internal static RunInfo.RawHub Take(Hub hub)
    {
        Scheduler scheduler = hub.Scheduler;
        Greenlet current = hub.CurrentGreenlet;
        var entries = new List<RunInfo.RawGreenlet>();
        var seen = new HashSet<Greenlet>(ReferenceEqualityComparer.Instance);
        void Add(Greenlet g, GreenletRunState state, string? waitsOn, StackTrace? stack)
        {
            if (seen.Add(g)) entries.Add(new RunInfo.RawGreenlet(g, state, waitsOn, g.DiagIfAny?.SpawnSite, stack));
        }
        foreach (Greenlet? slot in hub.Slots)
        {
            if (slot is not { IsDead: false } g) continue;
            if (ReferenceEquals(g, current))
            {
                // the dump runs on the hub thread: either the loop (a request from another thread) or the fiber
                // that asked; the latter's own stack is the one it is running on
                Add(g, GreenletRunState.Running, null,
                    ReferenceEquals(g, scheduler.LoopIfCreated) ? null : new StackTrace(1, fNeedFileInfo: false));
                continue;
            }
            StackTrace? stack = g.DiagIfAny?.SuspendedStack;
            if (g.Waiting.IsParked)
                Add(g, g.Waiting.WakePending ? GreenletRunState.Ready : GreenletRunState.Parked, Scheduler.DescribeWait(g), stack);
            else if (g.Waiting.WakePending) Add(g, GreenletRunState.Ready, null, stack);
            else Add(g, GreenletRunState.Suspended, "a switch (suspended in Greenlet.Switch)", stack);
        }
        foreach (Greenlet g in scheduler.NotStartedInReadyQueue())
            Add(g, GreenletRunState.NotStarted, "its start (in the run queue)", null);
        foreach (HubTimer t in scheduler.Timers)
        {
            if (t is Fiber.StartTimer { Target: { IsDead: false, IsNotStarted: true } f })
                Add(f, GreenletRunState.NotStarted,
                    $"its start in {Math.Max(0, (t.Due - Hub.Now) * 1000.0 / Stopwatch.Frequency):F0} ms (SpawnLater)", null);
        }
        return new RunInfo.RawHub(hub, entries, scheduler.ReadyCountRacy, scheduler.TimerCountRacy, scheduler.IoWaitersRacy);
    }
}
