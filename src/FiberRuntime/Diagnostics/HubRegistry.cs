using FiberRuntime.Interop;

namespace FiberRuntime.Diagnostics;

/// <summary>The registry of live hubs and the process-wide totals that outlive them. A hub adds itself on its thread
/// before main runs and removes itself before its memory is released; this is where diagnostics learn of hubs
/// (events, the blocking monitor, the run-info signal), so the hub calls nothing else of Diagnostics but the
/// event source.</summary>
internal static class HubRegistry
{
    private static readonly Lock s_lock = new();
    private static Hub[] s_live = [];
    private static long s_switchesOfStoppedHubs, s_callbackSwitchesOfStoppedHubs, s_reactorWaitsOfStoppedHubs;

    /// <summary>The hubs that are running now (a snapshot), in start order.</summary>
    internal static IReadOnlyList<Hub> Live => Volatile.Read(ref s_live);

    /// <summary>Hub thread, before main runs.</summary>
    internal static void Add(Hub hub)
    {
        FiberRuntimeEventSource log = FiberRuntimeEventSource.Log;     // created here, so sessions can find it
        lock (s_lock) s_live = [.. s_live, hub];
        RunInfo.EnableSignalFromEnvironment();
        if (FiberRuntimeEventSource.LifecycleEnabled)
            log.HubStarted(hub.Id, hub.ManagedThreadId, hub.Options.MaxFibers, hub.Options.StackSize);
        if (hub.Options.MaxBlockingTime is not null) BlockingMonitor.Watch(hub);
    }

    /// <summary>Hub thread, before its memory is released: no counter may read the native hub after this.</summary>
    internal static void Remove(Hub hub)
    {
        if (hub.Options.MaxBlockingTime is not null) BlockingMonitor.Unwatch(hub);
        ulong switches;
        lock (s_lock)
        {
            s_live = Array.FindAll(s_live, h => !ReferenceEquals(h, hub));
            NativeMethods.HubStats stats = hub.GetStats();
            switches = stats.Switches;
            // what this hub did stays in the totals: a rate must not go negative when a hub stops
            s_switchesOfStoppedHubs += (long)switches;
            s_callbackSwitchesOfStoppedHubs += (long)stats.CallbackSwitches;
            s_reactorWaitsOfStoppedHubs += hub.Scheduler.ReactorWaitsRacy;
        }
        if (FiberRuntimeEventSource.LifecycleEnabled) FiberRuntimeEventSource.Log.HubStopped(hub.Id, (long)switches);
    }

    internal static long TotalSwitches()
    {
        lock (s_lock)
        {
            long total = s_switchesOfStoppedHubs;
            foreach (Hub hub in s_live) total += (long)hub.GetStats().Switches;
            return total;
        }
    }

    /// <summary>Switches that entered cooperative mode through the reverse-P/Invoke callback rather than by themselves
    /// (Interop/SwitchFastPath.cs): while a GC suspension was under way, from a call site whose JIT epilog was not
    /// recognised, or on every switch when the fast path did not verify or was turned off.</summary>
    internal static long TotalCallbackSwitches()
    {
        lock (s_lock)
        {
            long total = s_callbackSwitchesOfStoppedHubs;
            foreach (Hub hub in s_live) total += (long)hub.GetStats().CallbackSwitches;
            return total;
        }
    }

    internal static long TotalReactorWaits()
    {
        lock (s_lock)
        {
            long total = s_reactorWaitsOfStoppedHubs;
            foreach (Hub hub in s_live) total += hub.Scheduler.ReactorWaitsRacy;
            return total;
        }
    }
}
