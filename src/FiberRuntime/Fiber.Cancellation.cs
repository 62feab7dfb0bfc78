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
            CancellationTokenSource? raced = Interlocked.CompareExchange(ref Side.Cancellation, created, null);
            if (raced is not null)
            {
                created.Dispose();
                return raced.Token;         // its creator cancels it if the kill or end missed it
            }
            // a reader on another thread can race with the fiber's end or kill, which set the flag and then look for a
            // source with no fence between (an asymmetric Dekker: Fiber.PublishToHub); on the hub thread program
            // order alone orders the two
            if (!Hub.IsCallerOnHub) PublishToHub();
            if (_cancellationRequested) CancelQuietly(created);
            return created.Token;
        }
    }

    /// <summary>The fiber is being killed or has ended: cancel its token (if anyone asked for it).</summary>
    private void CancelFiberToken()
    {
        _cancellationRequested = true;      // then the side state, with no fence between: see Fiber.PublishToHub
        if (Volatile.Read(ref _side) is { } side) CancelCreatedToken(side);
    }

    /// <summary>The second half of <see cref="CancelFiberToken"/>, for a caller that has set
    /// <c>_cancellationRequested</c> and read the side state after it (a fiber's end, with its status).</summary>
    private static void CancelCreatedToken(SideState side)
    {
        if (Volatile.Read(ref side.Cancellation) is { IsCancellationRequested: false } cts) CancelQuietly(cts);
    }
}
