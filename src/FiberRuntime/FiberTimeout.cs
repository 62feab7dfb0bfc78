using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// A time limit on the calling fiber (gevent's <c>Timeout</c>): when it expires before being disposed, a
/// <see cref="FiberTimeoutException"/> (or the exception given to <see cref="Start"/>) is raised in the fiber at
/// its current blocking point. <c>using var t = FiberTimeout.Start(TimeSpan.FromSeconds(2));</c>
/// </summary>
public sealed class FiberTimeout : IDisposable
{
    private readonly Hub _hub;
    private readonly Greenlet _target;
    private readonly Timer _timer;
    private readonly Exception? _exception;

    private FiberTimeout(Hub hub, Greenlet target, TimeSpan timeout, Exception? exception)
    {
        _hub = hub;
        _target = target;
        _exception = exception;
        Duration = timeout;
        _timer = new Timer(this);
    }

    /// <summary>The limit.</summary>
    public TimeSpan Duration { get; }

    /// <summary>True while the timer runs (started, not expired, not cancelled).</summary>
    public bool Pending => _timer.IsScheduled;

    /// <summary>True once the limit expired.</summary>
    public bool Expired { get; private set; }

    /// <summary>Starts a time limit on the calling fiber. <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>
    /// makes one that never expires.</summary>
    /// <exception cref="InvalidOperationException">The caller is not a fiber.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    public static FiberTimeout Start(TimeSpan timeout, Exception? exception = null)
    {
        Hub.ValidateTimeout(timeout);
        Hub hub = Hub.Current ?? throw new InvalidOperationException("FiberTimeout limits a fiber: start it on a hub thread.");
        var t = new FiberTimeout(hub, hub.CurrentGreenlet, timeout, exception);
        if (timeout != System.Threading.Timeout.InfiniteTimeSpan) hub.StartTimer(t._timer, timeout);
        return t;
    }

    /// <summary>Stops the timer; nothing is raised afterwards.</summary>
    public void Cancel()
    {
        if (_timer.IsScheduled) _hub.CancelTimer(_timer);
    }

    /// <summary>Same as <see cref="Cancel"/>.</summary>
    public void Dispose() => Cancel();

    private sealed class Timer(FiberTimeout owner) : HubTimer
    {
        internal override void Fire()
        {
            owner.Expired = true;
            owner._hub.InterruptSoon(owner._target, owner._exception ?? new FiberTimeoutException($"Timed out after {owner.Duration}.", owner));
        }
    }
}

/// <summary>Raised when a fiber operation's time limit expires (gevent's <c>Timeout</c> exception).</summary>
public class FiberTimeoutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    public FiberTimeoutException() : base("The operation timed out.") { }

    /// <summary>Creates the exception with a message.</summary>
    public FiberTimeoutException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public FiberTimeoutException(string message, Exception innerException) : base(message, innerException) { }

    internal FiberTimeoutException(string message, FiberTimeout timeout) : base(message) => Timeout = timeout;

    /// <summary>The <see cref="FiberTimeout"/> that expired, when one did.</summary>
    public FiberTimeout? Timeout { get; }
}
