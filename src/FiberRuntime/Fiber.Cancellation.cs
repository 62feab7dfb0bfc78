namespace FiberRuntime;

// A fiber's CancellationToken: how a kill reaches the Tasks and async APIs the fiber started.
public partial class Fiber
{
    private volatile bool _cancellationRequested;        // killed or ended: a token made from now on starts cancelled

    /// <summary>A token cancelled when the fiber is killed (before the kill is raised in it) and when it ends, however
    /// it ends. Hand it to the Tasks and async APIs the fiber waits for, e.g.
    /// <c>Fiber.Await(Task.Delay(t, Fiber.Current!.CancellationToken))</c> or an <c>HttpClient</c> call, so that a kill
    /// stops them at once instead of leaving them running. Callbacks registered on it run synchronously on the hub
    /// thread at the kill: keep them short and non-blocking.</summary>
    /// <remarks>Free for fibers that never read it: the source behind it is created on first use. The root fiber
    /// (<see cref="Hub.Run(Action, HubOptions?)"/>'s main) is never killed, so its token is never cancelled.</remarks>
    public CancellationToken CancellationToken
    {
        get
        {
            if (Volatile.Read(ref _side) is { } side && Volatile.Read(ref side.Cancellation) is { } existing) return existing.Token;
            if (_cancellationRequested) return new CancellationToken(canceled: true);
            var created = new CancellationTokenSource();
            CancellationTokenSource cts = Interlocked.CompareExchange(ref Side.Cancellation, created, null) ?? created;
            // a reader on another thread can race with the fiber's end or kill: the exchange above is a full fence, and
            // so is the one after the flag is set (CancelFiberToken on a kill, Fiber.Complete at the end), so one of the
            // two sees the other
            if (_cancellationRequested) CancelQuietly(cts);
            return cts.Token;
        }
    }

    /// <summary>The fiber is being killed or has ended: cancel its token (if anyone asked for it).</summary>
    private void CancelFiberToken()
    {
        _cancellationRequested = true;
        Interlocked.MemoryBarrier();
        CancelCreatedToken();
    }

    /// <summary>The second half of <see cref="CancelFiberToken"/>, for a caller that has set
    /// <c>_cancellationRequested</c> and issued a full fence itself (a fiber's end: one fence for its status and this).</summary>
    private void CancelCreatedToken()
    {
        if (Volatile.Read(ref _side) is { } side && Volatile.Read(ref side.Cancellation) is { IsCancellationRequested: false } cts) CancelQuietly(cts);
    }
}
