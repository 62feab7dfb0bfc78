using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

// Blocking work off the hub (gevent's threadpool.apply): the work runs on a thread of the offload pool while only the
// calling fiber waits; its result, or its exception with the original stack, comes back to the fiber.
public partial class Fiber
{
    /// <summary>How many threads <see cref="Offload{T}(Func{T})"/> may run work on at once, process-wide (default: 16 or
    /// four per processor, whichever is more). Work offloaded beyond that waits in a FIFO queue, and only the fibers
    /// that offloaded it wait: the pool is separate from the .NET thread pool, so a burst of blocking work never
    /// starves timers, Task continuations or ASP.NET Core. Lowering the limit lets surplus threads leave once idle.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set below 1.</exception>
    public static int MaxOffloadThreads
    {
        get => OffloadPool.MaxThreads;
        set => OffloadPool.MaxThreads = value;
    }

    /// <summary>Runs blocking <paramref name="work"/> (synchronous file or database calls, CPU-heavy code) on an offload
    /// thread and suspends only the calling fiber until it returns; the hub keeps running other fibers meanwhile.
    /// Returns its result or rethrows its exception (same type, original stack trace). Outside a fiber it runs
    /// <paramref name="work"/> on the calling thread.</summary>
    /// <remarks>Killing the fiber, or a <see cref="FiberTimeout"/> expiring, while it waits raises the kill (or
    /// timeout) in the fiber at once; work that has not started yet never runs, and work already running keeps its
    /// thread until it returns, when its result (or exception) is discarded. Use the overload that takes a
    /// <see cref="System.Threading.CancellationToken"/> to let the work stop early. The work runs with the fiber's
    /// <see cref="ExecutionContext"/> (AsyncLocal values flow to it, as with <see cref="Task.Run(Action)"/>).</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    public static T Offload<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return Hub.Current is { } hub ? OffloadFrom(hub, new OffloadCall<T>(work, withToken: false)) : work();
    }

    /// <summary>Runs blocking <paramref name="work"/> off the hub, suspending only the calling fiber (see
    /// <see cref="Offload{T}(Func{T})"/>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    public static void Offload(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (Hub.Current is { } hub) OffloadFrom(hub, new OffloadCall<object?>(work, withToken: false));
        else work();
    }

    /// <summary>Runs blocking <paramref name="work"/> off the hub, suspending only the calling fiber (see
    /// <see cref="Offload{T}(Func{T})"/>); the token it receives is cancelled when the fiber stops waiting for it
    /// (killed, or a <see cref="FiberTimeout"/> expired). Outside a fiber the token is never cancelled.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    public static T Offload<T>(Func<CancellationToken, T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return Hub.Current is { } hub ? OffloadFrom(hub, new OffloadCall<T>(work, withToken: true)) : work(CancellationToken.None);
    }

    /// <summary>Runs blocking <paramref name="work"/> off the hub with a token cancelled when the fiber stops waiting
    /// for it (see <see cref="Offload{T}(Func{CancellationToken, T})"/>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    public static void Offload(Action<CancellationToken> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (Hub.Current is { } hub) OffloadFrom(hub, new OffloadCall<object?>(work, withToken: true));
        else work(CancellationToken.None);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T OffloadFrom<T>(Hub hub, OffloadCall<T> call)
    {
        call.Hub = hub;
        call.Waiter = hub.CurrentGreenlet;
        call.WaitToken = hub.PrepareWait();
        // only another thread can wake this wait: the hub must not take it for a deadlock meanwhile
        hub.AddKeepAlive();
        try
        {
            OffloadPool.Queue(call);
            hub.Park("Fiber.Offload", call.Work);
        }
        catch
        {
            call.Abandon();            // killed or timed out while waiting
            throw;
        }
        finally
        {
            hub.ReleaseKeepAlive();
        }
        return call.TakeResult();
    }

    /// <summary>One offloaded call: the work, where its result goes, and the hand-over between the pool thread and
    /// the waiting fiber (Running, then either Posting → Posted by the pool thread, or Abandoned by the fiber).</summary>
    private sealed class OffloadCall<T> : OffloadWork
    {
        private const int Running = 0, Posting = 1, Posted = 2, Abandoned = 3;

        internal readonly Delegate Work;
        private readonly CancellationTokenSource? _cancel;
        private readonly ExecutionContext? _context = ExecutionContext.Capture();
        internal Hub? Hub;
        internal Greenlet? Waiter;
        internal int WaitToken;
        private T? _result;
        private ExceptionDispatchInfo? _error;
        private int _state;

        internal OffloadCall(Delegate work, bool withToken)
        {
            Work = work;
            if (withToken) _cancel = new CancellationTokenSource();
        }

        internal override void Execute()
        {
            if (Volatile.Read(ref _state) == Abandoned) return;        // the fiber stopped waiting before it started
            if (_context is null) Invoke();
            else ExecutionContext.Run(_context, static s => ((OffloadCall<T>)s!).Invoke(), this);
            if (Interlocked.CompareExchange(ref _state, Posting, Running) != Running) return;    // abandoned: dropped
            try
            {
                Hub!.Post(WakeWaiter);
            }
            finally
            {
                Volatile.Write(ref _state, Posted);
            }
        }

        private void Invoke()
        {
            try
            {
                switch (Work)
                {
                    case Func<T> f: _result = f(); break;
                    case Action a: a(); break;
                    case Func<CancellationToken, T> f: _result = f(_cancel!.Token); break;
                    case Action<CancellationToken> a: a(_cancel!.Token); break;
                }
            }
            catch (Exception e)
            {
                _error = ExceptionDispatchInfo.Capture(e);
            }
        }

        private void WakeWaiter() => Hub!.Wake(Waiter!, WaitToken);

        /// <summary>The fiber stops waiting (a kill or timeout is being raised in it): cancel the work's token, or,
        /// when the result is already being posted, let that finish first so the hub outlives the post.</summary>
        internal void Abandon()
        {
            if (Interlocked.CompareExchange(ref _state, Abandoned, Running) == Running)
            {
                if (_cancel is not null) CancelQuietly(_cancel);
                return;
            }
            var spin = new SpinWait();
            while (Volatile.Read(ref _state) != Posted) spin.SpinOnce();
        }

        internal T TakeResult()
        {
            _cancel?.Dispose();
            _error?.Throw();
            return _result!;
        }
    }

    /// <summary>Cancels <paramref name="cts"/> on the hub thread; an exception from a registered callback belongs to
    /// whoever registered it, not to the fiber being killed, so it is reported and not raised here.</summary>
    private static void CancelQuietly(CancellationTokenSource cts)
    {
        try
        {
            cts.Cancel();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"FiberRuntime: a cancellation callback threw: {e}");
        }
    }
}
