using System.Diagnostics;

namespace FiberRuntime.Diagnostics;

/// <summary>The EventCounters' values, summed over the live hubs. Called by the counters' timer thread; reads each
/// hub's fields racily (see Scheduler's counters).</summary>
internal static class HubMetrics
{
    private static readonly Lock s_lock = new();
    private static readonly Dictionary<Hub, (long At, long Idle)> s_last = new(ReferenceEqualityComparer.Instance);

    public static double Hubs() => Hub.LiveHubs.Count;

    /// <summary>A per-hub reading summed over the live hubs (once a second per counter: a delegate is fine).</summary>
    private static double Sum(Func<Hub, long> read)
    {
        long n = 0;
        foreach (Hub hub in Hub.LiveHubs) n += read(hub);
        return n;
    }

    /// <summary>Started, unfinished greenlets other than the hub's loop, the main greenlet included.</summary>
    public static double LiveGreenlets() => Sum(static hub => hub.LiveRacy - (hub.Scheduler.LoopIfCreated is { Slot: >= 0 } ? 1 : 0) + 1);

    public static double RunQueueLength() => Sum(static hub => hub.Scheduler.ReadyCountRacy);

    public static double PendingTimers() => Sum(static hub => hub.Scheduler.TimerCountRacy);

    public static double IoWaiters() => Sum(static hub => hub.Scheduler.IoWaitersRacy);

    public static double Switches() => HubRegistry.TotalSwitches();

    public static double ReactorWaits() => HubRegistry.TotalReactorWaits();

    public static double CallbackSwitches() => HubRegistry.TotalCallbackSwitches();

    /// <summary>The share of time the hub threads were not asleep in the reactor since the previous call (or since
    /// they started), in percent of all live hubs' time.</summary>
    public static double Utilisation()
    {
        lock (s_lock)
        {
            long now = Stopwatch.GetTimestamp();
            long wall = 0, idle = 0;
            IReadOnlyList<Hub> hubs = Hub.LiveHubs;
            foreach (Hub hub in hubs)
            {
                long idleNow = hub.Scheduler.IdleTicksRacy(now);
                (long at, long idleThen) = s_last.TryGetValue(hub, out var last) ? last : (hub.Scheduler.StartedAt, 0);
                if (now > at)
                {
                    wall += now - at;
                    idle += Math.Clamp(idleNow - idleThen, 0, now - at);
                }
                s_last[hub] = (now, idleNow);
            }
            foreach (Hub gone in s_last.Keys.Where(h => !hubs.Contains(h)).ToList()) s_last.Remove(gone);
            return wall == 0 ? 0 : Math.Round(100.0 * (wall - idle) / wall, 1);
        }
    }
}
