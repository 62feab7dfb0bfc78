using System.Diagnostics;

namespace FiberRuntime.Diagnostics;

/// <summary>One background thread that watches every hub with a <see cref="HubOptions.MaxBlockingTime"/>
/// (gevent's <c>max_blocking_time</c> monitor). It only reads each hub's "running since" stamp and raises a flag;
/// the hub reports when it gets its thread back.</summary>
internal static class BlockingMonitor
{
    private static readonly Lock s_lock = new();
    private static readonly List<Hub> s_hubs = [];
    private static Thread? s_thread;

    public static void Watch(Hub hub)
    {
        lock (s_lock)
        {
            s_hubs.Add(hub);
            if (s_thread is null)
            {
                s_thread = new Thread(Run) { IsBackground = true, Name = "FiberRuntime blocking monitor" };
                s_thread.Start();
            }
        }
    }

    public static void Unwatch(Hub hub)
    {
        lock (s_lock) s_hubs.Remove(hub);
    }

    private static void Run()
    {
        while (true)
        {
            TimeSpan period = TimeSpan.FromMilliseconds(50);
            lock (s_lock)
            {
                foreach (Hub hub in s_hubs)
                {
                    hub.Scheduler.CheckBlocking(Stopwatch.GetTimestamp());
                    if (hub.Options.MaxBlockingTime is { } max && max / 4 < period) period = max / 4;
                }
            }
            Thread.Sleep(period < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : period);
        }
    }
}
