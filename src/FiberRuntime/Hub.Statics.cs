using System.Diagnostics;
using System.Runtime.CompilerServices;
using FiberRuntime.Diagnostics;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

// The hub's static side: the default hub, events raised for every hub, descriptor waits and the timeout helpers the
// layers above share. The fields are declared in Hub.cs.
public sealed partial class Hub
{
    /// <summary>Raised on the hub thread when a fiber ends with an exception (other than <see cref="GreenletExit"/>).
    /// Without a handler, the exception is written to standard error. Either way it stays on the fiber
    /// (<see cref="Fiber.Exception"/>) and never crashes the process.</summary>
    public static event Action<Fiber, Exception>? UnhandledFiberException;

    /// <summary>Current time of the hub's timers, in <see cref="Stopwatch"/> ticks (monotonic).</summary>
    internal static long Now => Stopwatch.GetTimestamp();

    internal static long DueAfter(TimeSpan delay) =>
        delay <= TimeSpan.Zero ? Now : Now + (long)Math.Min(delay.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 4.0);

    /// <summary>A deadline for a wait made of several steps: <paramref name="timeout"/> from now, in <see cref="Now"/>
    /// ticks, or <see cref="NoDeadline"/> when there is no limit (null or Timeout.InfiniteTimeSpan).</summary>
    internal static long DeadlineAfter(TimeSpan? timeout) =>
        timeout is { } t && t != System.Threading.Timeout.InfiniteTimeSpan ? DueAfter(t) : NoDeadline;

    internal const long NoDeadline = long.MaxValue;

    /// <summary>The time left before <paramref name="deadline"/> (never negative), or null for <see cref="NoDeadline"/>.</summary>
    internal static TimeSpan? TimeLeft(long deadline) =>
        deadline == NoDeadline ? null : TimeSpan.FromSeconds(Math.Max(0, (deadline - Now) / (double)Stopwatch.Frequency));

    /// <summary>Raised on the hub thread when a fiber kept it longer than <see cref="HubOptions.MaxBlockingTime"/>.
    /// Without a handler the report is written to standard error.</summary>
    public static event Action<BlockingReport>? Blocked;

    internal static void RaiseBlocked(BlockingReport report)
    {
        if (Blocked is { } handler) handler(report);
        else Console.Error.WriteLine(report);
    }

    /// <summary>Suspends the calling fiber until <paramref name="fd"/> is readable (data, end of stream or an error to
    /// read), or <paramref name="timeout"/> passes; true if it became ready. Lets other libraries' non-blocking
    /// descriptors cooperate with fibers. On a thread that is not a hub it blocks the thread (poll).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fd"/> or <paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">Another fiber already waits for this descriptor to become readable.</exception>
    /// <exception cref="IOException">The descriptor cannot be waited on (closed, or a regular file).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool WaitReadable(int fd, TimeSpan? timeout = null) => WaitDescriptor(fd, write: false, timeout);

    /// <summary>Suspends the calling fiber until <paramref name="fd"/> is writable (or failed), or
    /// <paramref name="timeout"/> passes; true if it became ready. See <see cref="WaitReadable"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fd"/> or <paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">Another fiber already waits for this descriptor to become writable.</exception>
    /// <exception cref="IOException">The descriptor cannot be waited on (closed, or a regular file).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool WaitWritable(int fd, TimeSpan? timeout = null) => WaitDescriptor(fd, write: true, timeout);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool WaitDescriptor(int fd, bool write, TimeSpan? timeout)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        ValidateTimeout(timeout);
        return Current is { } hub ? hub._scheduler.WaitDescriptor(fd, write, timeout) : EpollReactor.PollBlocking(fd, write, timeout);
    }

    /// <summary>Checks a user-supplied timeout: null or <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> mean
    /// none; other negative values are refused.</summary>
    internal static void ValidateTimeout(TimeSpan? timeout, string paramName = "timeout")
    {
        if (timeout is { } t && t < TimeSpan.Zero && t != System.Threading.Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(paramName, t, "A timeout must be non-negative, or Timeout.InfiniteTimeSpan.");
    }

    internal static void ReportFiberException(Fiber fiber, Exception e)
    {
        if (FiberRuntimeEventSource.Log.IsEnabled(System.Diagnostics.Tracing.EventLevel.Error, System.Diagnostics.Tracing.EventKeywords.None))
            FiberRuntimeEventSource.Log.UnhandledFiberException(fiber.Hub.Id, fiber.Id, e.GetType().FullName ?? e.GetType().Name, e.Message);
        Action<Fiber, Exception>? handler = UnhandledFiberException;
        if (handler is not null)
        {
            try
            {
                handler(fiber, e);
                return;
            }
            catch (Exception inHandler)
            {
                Console.Error.WriteLine($"FiberRuntime: the UnhandledFiberException handler threw: {inHandler}");
            }
        }
        Console.Error.WriteLine($"FiberRuntime: {fiber} failed with {e}");
    }

    // ---- the default hub: where fibers spawned from ordinary threads run ----------------------------------

    /// <summary>The process-wide hub that runs fibers spawned from threads that are not hubs (e.g. <c>Main</c>).
    /// Started on first use on a background thread; its main greenlet only keeps it alive.</summary>
    public static Hub Default
    {
        get
        {
            if (Volatile.Read(ref s_default) is { } hub) return hub;
            lock (s_defaultLock)
            {
                if (s_default is not null) return s_default;
                using var started = new ManualResetEventSlim();
                Hub? created = null;
                Exception? failure = null;
                var thread = new Thread(() =>
                {
                    try
                    {
                        Run(() =>
                        {
                            created = Current!;
                            created._scheduler.IsDefaultHub = true;
                            started.Set();
                            while (true) created.Park("the process to exit (default hub)");
                        });
                    }
                    catch (Exception e)
                    {
                        failure = e;
                        started.Set();
                    }
                }) { IsBackground = true, Name = "FiberRuntime default hub starter" };
                thread.Start();
                started.Wait();
                if (failure is not null) throw failure is PlatformNotSupportedException ? failure : new InvalidOperationException("The default hub could not start.", failure);
                Volatile.Write(ref s_default, created);
                return created!;
            }
        }
    }

    /// <summary>The hub the calling thread's fiber operations act on: its own hub, or <see cref="Default"/>.</summary>
    internal static Hub ForCaller => Current ?? Default;

    /// <summary>True when the caller is a greenlet of this hub (it may block by parking); false on other threads.</summary>
    internal bool IsCallerOnHub
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ReferenceEquals(Current, this);
    }
}
