namespace FiberRuntime.Scheduling;

/// <summary>
/// Interest in one direction of one descriptor (libuv's <c>uv__io_t</c>): the reactor calls <see cref="OnReady"/>
/// and knows nothing else of whoever waits. An owner keeps one watcher and reuses it for every wait (a greenlet
/// waits on one descriptor at a time), so a wait allocates nothing.
/// </summary>
internal abstract class IoWatcher
{
    internal int Fd = -1;
    internal bool Write;
    internal bool IsArmed;
    internal bool Fired;                // reported and not yet disarmed: not re-armed meanwhile
    internal object? ReactorState;      // the reactor's per-descriptor record, found without a lookup

    /// <summary>Hub thread, called by the reactor: the descriptor is ready (or failed), or, with
    /// <paramref name="error"/>, its waits were cancelled because it is being closed. Must not arm or disarm.</summary>
    internal abstract void OnReady(Exception? error);
}

/// <summary>
/// Where a hub thread sleeps when nothing is ready, and how it learns that a descriptor became ready or another
/// thread posted work. One per hub; every member but <see cref="Wake"/> is called on the hub thread.
/// Implementations: <see cref="EpollReactor"/> (Linux). A Windows IOCP reactor will implement the same members
/// (readiness there is emulated over completions, as libuv does) and run the same tests, once a Windows machine
/// is available to build and test it.
/// </summary>
internal interface IReactor : IDisposable
{
    /// <summary>Armed watchers: while any is, something outside the hub may still wake it.</summary>
    int IoWaiters { get; }

    /// <summary>Thread-safe: makes a current or next <see cref="Wait"/> return.</summary>
    void Wake();

    /// <summary>Arms <paramref name="watcher"/> for readability (or, with <paramref name="write"/>, writability) of
    /// <paramref name="fd"/>: a later <see cref="Wait"/> calls it once the descriptor is ready.</summary>
    void Arm(IoWatcher watcher, int fd, bool write);

    /// <summary>Ends <paramref name="watcher"/>'s interest (it fired, timed out or its owner was killed); no-op when
    /// it is not armed.</summary>
    void Disarm(IoWatcher watcher);

    /// <summary>Calls every watcher armed on <paramref name="fd"/> with <paramref name="error"/>.</summary>
    void Cancel(int fd, Exception error);

    /// <summary>Sleeps until a wake-up, a descriptor event or <paramref name="timeoutMs"/> (-1: no limit), and calls
    /// the watchers whose descriptors became ready.</summary>
    void Wait(int timeoutMs);
}
