namespace FiberRuntime;

// A fiber's rarely used state, allocated on first use: every spawn allocates a Fiber, and most fibers never fail, are
// never joined from another thread, never have links and never read their CancellationToken. Fields moved here make
// each spawn smaller (fewer bytes to allocate and clear, a gen0 GC less often).
public partial class Fiber
{
    private sealed class SideState
    {
        internal Exception? Exception;                                      // written once, before the status
        internal ManualResetEventSlim? Done;                                // a join from another thread
        internal CancellationTokenSource? Cancellation;                     // created by the first reader of CancellationToken
        internal List<(Action<Fiber> Callback, LinkKind Kind)>? Links;      // hub thread only
        internal bool NotifyingLinks;                                       // a NotifyLinks callback is queued or running
    }

    private SideState? _side;

    /// <summary>The side state, created on first use; any thread (the exchange publishes it, and is a full fence).</summary>
    private SideState Side => Volatile.Read(ref _side) ?? CreateSide();

    private SideState CreateSide()
    {
        var created = new SideState();
        return Interlocked.CompareExchange(ref _side, created, null) ?? created;
    }
}
