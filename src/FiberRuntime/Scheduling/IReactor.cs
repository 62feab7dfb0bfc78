namespace FiberRuntime.Scheduling;

/// <summary>
/// Where a hub thread sleeps when nothing is ready, and how it learns that a descriptor became ready or another
/// thread posted work. One per hub; every member but <see cref="Wake"/> is called on the hub thread.
/// Implementations: <see cref="EpollReactor"/> (Linux). A Windows IOCP reactor will implement the same members
/// (readiness there is emulated over completions, as libuv does) and run the same tests, once a Windows machine
/// is available to build and test it.
/// </summary>
internal interface IReactor : IDisposable
{
    /// <summary>Fibers waiting on descriptors: while any is, the hub is not deadlocked.</summary>
    int IoWaiters { get; }

    /// <summary>Thread-safe: makes a current or next <see cref="Wait"/> return.</summary>
    void Wake();

    /// <summary>Registers <paramref name="g"/>'s wait <paramref name="token"/> for readability or writability of
    /// <paramref name="fd"/>; returns a registration for <see cref="Disarm"/>.</summary>
    object Arm(int fd, bool write, Greenlet g, int token);

    /// <summary>Ends a wait registered with <see cref="Arm"/> (woken, timed out or killed).</summary>
    void Disarm(object registration, bool write, Greenlet g);

    /// <summary>Wakes every fiber waiting on <paramref name="fd"/> with <paramref name="error"/>.</summary>
    void Cancel(Hub hub, int fd, Exception error);

    /// <summary>Sleeps until a wake-up, a descriptor event or <paramref name="timeoutMs"/> (-1: no limit), and wakes
    /// the fibers whose descriptors became ready.</summary>
    void Wait(Hub hub, int timeoutMs);
}
