namespace FiberRuntime;

public sealed partial class Hub
{
    /// <summary>Starts <paramref name="action"/> in a new fiber on this hub, from any thread (another hub's fiber, a
    /// thread-pool thread, <c>Main</c>). Thread-safe; the fiber never runs on another thread.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    public Fiber Spawn(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return Fiber.StartOn(new Fiber(this, action));
    }

    /// <summary>Starts <paramref name="func"/> in a new fiber on this hub, from any thread.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="func"/> is null.</exception>
    public Fiber<T> Spawn<T>(Func<T> func)
    {
        ArgumentNullException.ThrowIfNull(func);
        return (Fiber<T>)Fiber.StartOn(new Fiber<T>(this, func));
    }

    /// <summary>Starts <paramref name="action"/> in a fiber on this hub and returns a <see cref="Task"/> for code
    /// outside fibers (await it, or <see cref="Fiber.Await(Task)"/> it from a fiber of another hub). The task faults
    /// with the fiber's exception and is cancelled when the fiber is killed.</summary>
    public Task SpawnAsync(Action action) => SpawnAsync<object?>(() =>
    {
        action();
        return null;
    });

    /// <summary>Starts <paramref name="func"/> in a fiber on this hub and returns a <see cref="Task{T}"/> of its result
    /// (see <see cref="SpawnAsync(Action)"/>).</summary>
    public Task<T> SpawnAsync<T>(Func<T> func)
    {
        ArgumentNullException.ThrowIfNull(func);
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Fiber<T> fiber = Spawn(func);
        fiber.Link(f =>
        {
            if (f.Exception is { } e) tcs.TrySetException(e);
            else if (f.WasKilled) tcs.TrySetCanceled();
            else tcs.TrySetResult(((Fiber<T>)f).Value!);
        });
        return tcs.Task;
    }
}
