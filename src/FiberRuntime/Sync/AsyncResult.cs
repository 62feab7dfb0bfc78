using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

/// <summary>
/// A one-shot result that fibers can wait for (gevent's <c>gevent.event.AsyncResult</c>): a producer calls
/// <see cref="Set"/> or <see cref="SetException"/>, consumers call <see cref="Get"/> (value or rethrown exception)
/// or <see cref="Wait"/>.
/// </summary>
/// <typeparam name="T">The type of the value.</typeparam>
/// <remarks>
/// <para>As in gevent, a later <see cref="Set"/> or <see cref="SetException"/> replaces the earlier outcome; waiters
/// are woken by the first one, in FIFO order, each once; a fiber that calls <see cref="Wait"/> or <see cref="Get"/>
/// while those woken waiters have not run yet runs after them (gevent's order). Bound to the hub of the first fiber
/// that uses it.</para>
/// <para>Thread safety: <see cref="Set"/> and <see cref="SetException"/> may be called from any thread; from a thread
/// other than the owner hub's they are posted to the hub and take effect there shortly after the call returns.
/// <see cref="Get"/> and <see cref="Wait"/> never block an OS thread: from another thread they return at once when
/// the result is ready (or the timeout is zero), and otherwise throw <see cref="InvalidOperationException"/>.</para>
/// </remarks>
[DebuggerDisplay("AsyncResult: IsReady = {IsReady}, IsSuccessful = {IsSuccessful}, Waiters = {WaiterCount}")]
public sealed class AsyncResult<T>
{
    private const int Pending = 0, HasValue = 1, HasException = 2;

    private readonly Linkable _link = new();
    private T? _value;
    private Exception? _exception;
    private volatile int _state;

    /// <summary>True once a value or an exception was set (gevent's <c>ready()</c>).</summary>
    public bool IsReady => _state != Pending;

    /// <summary>True once a value (not an exception) was set (gevent's <c>successful()</c>).</summary>
    public bool IsSuccessful => _state == HasValue;

    /// <summary>The value if one was set, else <c>default</c> (gevent's <c>value</c>).</summary>
    public T? Value => _state == HasValue ? _value : default;

    /// <summary>The exception if one was set, else null (gevent's <c>exception</c>).</summary>
    public Exception? Exception => _state == HasException ? _exception : null;

    private int WaiterCount => _link.WaiterCount;

    /// <summary>Stores <paramref name="value"/> and wakes every waiter (gevent's <c>set(value)</c>). Callable from any thread.</summary>
    /// <param name="value">The result.</param>
    public void Set(T value) => Complete(value, null);

    /// <summary>Stores <paramref name="exception"/>, which <see cref="Get"/> rethrows, and wakes every waiter
    /// (gevent's <c>set_exception(exc)</c>). Callable from any thread.</summary>
    /// <param name="exception">The failure.</param>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    public void SetException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Complete(default, exception);
    }

    /// <summary>Suspends the calling fiber until the result is ready or <paramref name="timeout"/> passes
    /// (gevent's <c>wait(timeout)</c>, returning whether it is ready rather than the value).</summary>
    /// <param name="timeout">How long to wait; null or <see cref="Timeout.InfiniteTimeSpan"/>: no limit.</param>
    /// <returns>True if the result is ready; false on timeout.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">It would have to block, and the caller is not a fiber of the
    /// result's hub.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Wait(TimeSpan? timeout = null)
    {
        Hub.ValidateTimeout(timeout);
        if (_state != Pending)
        {
            _link.WaitBehindNotified(timeout, "AsyncResult.Wait");
            return true;
        }
        if (SyncHub.IsZero(timeout)) return false;
        Hub hub = _link.Bind("AsyncResult.Wait");
        if (_state != Pending) return true;
        _link.WaitOn(hub, timeout, "AsyncResult.Wait");
        return _state != Pending;
    }

    /// <summary>Waits like <see cref="Wait"/>, then returns the value or rethrows the exception that was set
    /// (gevent's <c>get(timeout=...)</c>).</summary>
    /// <param name="timeout">How long to wait; null or <see cref="Timeout.InfiniteTimeSpan"/>: no limit;
    /// <see cref="TimeSpan.Zero"/>: do not block (gevent's <c>get(block=False)</c>).</param>
    /// <returns>The value.</returns>
    /// <exception cref="FiberTimeoutException">The result was not ready within <paramref name="timeout"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">It would have to block, and the caller is not a fiber of the
    /// result's hub.</exception>
    public T Get(TimeSpan? timeout = null)
    {
        if (!Wait(timeout)) throw new FiberTimeoutException($"AsyncResult.Get: no result within {timeout}.");
        if (_state == HasException) ExceptionDispatchInfo.Throw(_exception!);
        return _value!;
    }

    private void Complete(T? value, Exception? exception) =>
        _link.Change((this, value, exception), static s => s.Item1.Store(s.Item2, s.Item3), static (hub, s) =>
        {
            s.Item1.Store(s.Item2, s.Item3);
            s.Item1._link.NotifyAll(hub);
        });

    private void Store(T? value, Exception? exception)
    {
        _value = value;
        _exception = exception;
        _state = exception is null ? HasValue : HasException;     // volatile write publishes value/exception
    }
}
