namespace FiberRuntime;

/// <summary>A fiber that computes a value of type <typeparamref name="T"/> (<see cref="Fiber.Spawn{T}(Func{T})"/>).</summary>
/// <typeparam name="T">The result type.</typeparam>
public sealed class Fiber<T> : Fiber
{
    private readonly Func<T> _func;
    private T? _result;

    internal Fiber(Hub hub, Func<T> func) : base(hub, null)
    {
        _func = func;
    }

    private protected override void InvokeBody() => _result = _func();     // kept typed: no boxing

    internal override Delegate? Body => _func;

    /// <summary>The result once the fiber finished successfully; <c>default</c> before that or after a failure
    /// (gevent's <c>value</c>).</summary>
    public T? Value => IsSuccessful ? _result : default;

    /// <summary>Waits for the fiber and returns its result, rethrowing the exception that ended it.</summary>
    /// <exception cref="FiberTimeoutException">It did not finish within <paramref name="timeout"/>.</exception>
    public new T Get(TimeSpan? timeout = null)
    {
        base.Get(timeout);
        return _result!;
    }
}
