using System.Runtime.CompilerServices;
using FiberRuntime.Scheduling;

namespace FiberRuntime;

public partial class Fiber
{
    /// <summary>Waits for <paramref name="task"/> and rethrows its exception (or <see cref="TaskCanceledException"/>),
    /// suspending only the calling fiber: the hub keeps running other fibers meanwhile. On a thread that is not a
    /// hub it blocks the thread, like <c>task.GetAwaiter().GetResult()</c>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="task"/> is null.</exception>
    public static void Await(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        WaitForCompletion(task);
        task.GetAwaiter().GetResult();
    }

    /// <summary>Waits for <paramref name="task"/> and returns its result (see <see cref="Await(Task)"/>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="task"/> is null.</exception>
    public static T Await<T>(Task<T> task)
    {
        ArgumentNullException.ThrowIfNull(task);
        WaitForCompletion(task);
        return task.GetAwaiter().GetResult();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WaitForCompletion(Task task)
    {
        if (task.IsCompleted || Hub.Current is not { } hub) return;
        Greenlet g = hub.CurrentGreenlet;
        int token = hub.PrepareWait();
        // The task completes on some other thread: wake this fiber through the hub's thread-safe inbox. Until then
        // the hub must not mistake the wait for a deadlock (nothing on the hub itself can wake it).
        hub.AddKeepAlive();
        try
        {
            task.GetAwaiter().UnsafeOnCompleted(() => hub.Post(() => hub.Wake(g, token)));
            hub.Park("Fiber.Await", task);
        }
        finally
        {
            hub.ReleaseKeepAlive();
        }
    }
}
