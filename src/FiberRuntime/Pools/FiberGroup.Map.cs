using FiberRuntime.Pools;

namespace FiberRuntime;

// gevent's apply / map family: calls run in fibers of the group (on a FiberPool, at most its size at once).
public partial class FiberGroup
{
    /// <summary>Runs <paramref name="func"/> in a new fiber of the group and waits for its result (gevent's
    /// <c>apply</c>); its exception is rethrown here. Called from a fiber that is already a member, it runs
    /// <paramref name="func"/> inline (as gevent does: spawning could wait on a slot the caller holds).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="func"/> is null.</exception>
    public T Apply<T>(Func<T> func)
    {
        ArgumentNullException.ThrowIfNull(func);
        return OnHub(() => ContainsCurrentFiber() ? func() : Spawn(func).Get());
    }

    /// <summary>Runs <paramref name="action"/> like <see cref="Apply{T}"/> and waits for it.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    public void Apply(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Apply<object?>(() =>
        {
            action();
            return null;
        });
    }

    /// <summary>Starts <paramref name="func"/> in a new fiber and returns it without waiting (gevent's
    /// <c>apply_async</c>). If <paramref name="callback"/> is given, it is called with the result in a new fiber once
    /// <paramref name="func"/> succeeds (not if it fails).</summary>
    /// <remarks>Never waits, even on a full pool: then the returned fiber is not a member; it waits for a slot itself
    /// and runs <paramref name="func"/> through <see cref="Apply{T}"/>. Join the returned fiber, not the group.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="func"/> is null.</exception>
    public Fiber<T> ApplyAsync<T>(Func<T> func, Action<T>? callback = null)
    {
        ArgumentNullException.ThrowIfNull(func);
        return OnHub(() =>
        {
            if (IsFullNow())
            {
                return Fiber.Spawn(() =>
                {
                    T result = Apply(func);
                    if (callback is not null) Fiber.Spawn(() => callback(result));
                    return result;
                });
            }
            Fiber<T> fiber = Spawn(func);
            if (callback is not null) fiber.LinkValue(f => Fiber.Spawn(() => callback(((Fiber<T>)f).Value!)));
            return fiber;
        });
    }

    /// <summary>Applies <paramref name="func"/> to every item in parallel, each call in a fiber of the group, and
    /// returns the results in input order (gevent's <c>map</c>). The first exception (in input order) is rethrown
    /// here; the other calls keep running. On a <see cref="FiberPool"/> at most its size run at once.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="items"/> or <paramref name="func"/> is null.</exception>
    public List<TResult> Map<TIn, TResult>(IEnumerable<TIn> items, Func<TIn, TResult> func)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(func);
        return OnHub(() =>
        {
            var results = new List<TResult>();
            using var e = new MapEnumerator<TIn, TResult>(this, items, func, 0, ordered: true);
            while (e.MoveNextOnHub()) results.Add(e.Current);
            return results;
        });
    }

    /// <summary><see cref="Map{TIn, TResult}(IEnumerable{TIn}, Func{TIn, TResult})"/> with gevent's argument order.</summary>
    public List<TResult> Map<TIn, TResult>(Func<TIn, TResult> func, IEnumerable<TIn> items) => Map(items, func);

    /// <summary>Runs <see cref="Map{TIn, TResult}(IEnumerable{TIn}, Func{TIn, TResult})"/> in a new fiber (not a member) and
    /// returns that fiber (gevent's <c>map_async</c>); <paramref name="callback"/>, if given, gets the list.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="items"/> or <paramref name="func"/> is null.</exception>
    public Fiber<List<TResult>> MapAsync<TIn, TResult>(IEnumerable<TIn> items, Func<TIn, TResult> func, Action<List<TResult>>? callback = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(func);
        return OnHub(() => Fiber.Spawn(() =>
        {
            List<TResult> results = Map(items, func);
            callback?.Invoke(results);
            return results;
        }));
    }

    /// <summary>A lazy parallel map that yields results in input order (gevent's <c>imap</c>). Nothing starts until
    /// the sequence is enumerated; each enumeration starts the calls afresh, each in a fiber of the group. A failed
    /// call's exception is rethrown by <c>MoveNext</c> at its position.</summary>
    /// <param name="items">The inputs, read lazily on the group's hub while enumerating.</param>
    /// <param name="func">The function to apply.</param>
    /// <param name="maxSize">At most this many calls are in flight (running, or finished and not yet yielded), so at
    /// most this many run at once and the results never get more than this far ahead of the consumer; 0 means no
    /// bound. A <see cref="FiberPool"/> also bounds it by its size. (gevent lets one more start once the consumer
    /// asks for the next result; this bound is strict.)</param>
    /// <exception cref="ArgumentNullException"><paramref name="items"/> or <paramref name="func"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSize"/> is negative.</exception>
    public IEnumerable<TResult> Imap<TIn, TResult>(IEnumerable<TIn> items, Func<TIn, TResult> func, int maxSize = 0) =>
        MapLazily(items, func, maxSize, ordered: true);

    /// <summary><see cref="Imap{TIn, TResult}(IEnumerable{TIn}, Func{TIn, TResult}, int)"/> with gevent's argument order.</summary>
    public IEnumerable<TResult> Imap<TIn, TResult>(Func<TIn, TResult> func, IEnumerable<TIn> items, int maxSize = 0) => Imap(items, func, maxSize);

    /// <summary>Like <see cref="Imap{TIn, TResult}(IEnumerable{TIn}, Func{TIn, TResult}, int)"/> but yields results in
    /// completion order (gevent's <c>imap_unordered</c>).</summary>
    /// <param name="items">The inputs, read lazily on the group's hub while enumerating.</param>
    /// <param name="func">The function to apply.</param>
    /// <param name="maxSize">At most this many calls in flight (running or finished and not yet yielded); 0 means no bound.</param>
    /// <exception cref="ArgumentNullException"><paramref name="items"/> or <paramref name="func"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSize"/> is negative.</exception>
    public IEnumerable<TResult> ImapUnordered<TIn, TResult>(IEnumerable<TIn> items, Func<TIn, TResult> func, int maxSize = 0) =>
        MapLazily(items, func, maxSize, ordered: false);

    private MapEnumerable<TIn, TResult> MapLazily<TIn, TResult>(IEnumerable<TIn> items, Func<TIn, TResult> func, int maxSize, bool ordered)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(func);
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        return new MapEnumerable<TIn, TResult>(this, items, func, maxSize, ordered);
    }

    /// <summary><see cref="ImapUnordered{TIn, TResult}(IEnumerable{TIn}, Func{TIn, TResult}, int)"/> with gevent's argument order.</summary>
    public IEnumerable<TResult> ImapUnordered<TIn, TResult>(Func<TIn, TResult> func, IEnumerable<TIn> items, int maxSize = 0) => ImapUnordered(items, func, maxSize);
}
