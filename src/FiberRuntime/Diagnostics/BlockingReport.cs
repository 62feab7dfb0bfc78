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
