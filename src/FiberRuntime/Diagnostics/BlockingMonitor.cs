using System.Diagnostics;

namespace FiberRuntime.Diagnostics;

/// <summary>What the blocking monitor saw: a fiber kept its hub's thread for longer than
/// <see cref="HubOptions.MaxBlockingTime"/> (a non-cooperative call such as <see cref="Thread.Sleep(int)"/>,
/// <see cref="Task.Wait()"/>, a contended <c>lock</c> or a long computation).</summary>
/// <param name="Hub">The hub that was blocked.</param>
/// <param name="Greenlet">The greenlet that held the thread.</param>
/// <param name="Duration">How long it held it, in all.</param>
/// <param name="StackTrace">Where it was when it next yielded (the frames right after the blocking call), or null
/// when it finished without yielding.</param>
public sealed record BlockingReport(Hub Hub, Greenlet Greenlet, TimeSpan Duration, string? StackTrace)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"FiberRuntime: {Greenlet} blocked the hub on managed thread {Hub.ManagedThreadId} for {Duration.TotalMilliseconds:F0} ms " +
        $"(limit {Hub.Options.MaxBlockingTime?.TotalMilliseconds:F0} ms)" +
        (StackTrace is null ? "; it finished without yielding." : $"; where it next yielded:\n{StackTrace}");
}

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
                    hub.CheckBlocking(Stopwatch.GetTimestamp());
                    if (hub.Options.MaxBlockingTime is { } max && max / 4 < period) period = max / 4;
                }
            }
            Thread.Sleep(period < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : period);
        }
    }
}
