using System.Runtime.InteropServices;
using FiberRuntime.Interop;

namespace FiberRuntime.Scheduling;

/// <summary>
/// The Linux <see cref="IReactor"/>: an epoll instance, with an eventfd for wake-ups from other
/// threads (a cross-thread spawn, a completed Task) and file-descriptor readiness for fibers waiting on I/O.
/// </summary>
/// <remarks>
/// Readiness is level-triggered and armed one-shot per wait (<c>EPOLLONESHOT</c>): a wait on a descriptor that is
/// already readable returns at once, and any descriptor works, not only ones drained to <c>EAGAIN</c>. Each wait
/// costs one <c>epoll_ctl</c>: a descriptor stays registered (disabled, once its one-shot fired) between waits, so a
/// connection's next receive re-arms it with one <c>EPOLL_CTL_MOD</c> instead of an ADD and a DEL, and allocates
/// nothing; <see cref="Cancel"/> (the descriptor is about to close) removes it. One reader and one writer may wait on
/// a descriptor at a time.
/// </remarks>
internal sealed unsafe partial class EpollReactor : IReactor
{
    private readonly int _epoll;
    private readonly int _wakeFd;
    private int _wakePending;           // 1 while a wake-up is written and not yet consumed
    private readonly Dictionary<int, FdWatcher> _watchers = [];

    /// <summary>Fibers waiting on a descriptor (one per direction).</summary>
    internal sealed class FdWatcher(int fd)
    {
        public readonly int Fd = fd;
        public Greenlet? Reader, Writer;
        public int ReaderToken, WriterToken;
        public bool ReaderWoken, WriterWoken;   // fired and not yet disarmed: not re-armed meanwhile
        public bool Registered;
        public bool Detached;                   // cancelled (its descriptor is closing): no longer in epoll or the table
    }

    public EpollReactor()
    {
        _epoll = epoll_create1(EPOLL_CLOEXEC);
        if (_epoll < 0) throw new InvalidOperationException(ResourceLimits.Describe("FiberRuntime: epoll_create1", Marshal.GetLastPInvokeError()));
        _wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (_wakeFd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            close(_epoll);
            throw new InvalidOperationException(ResourceLimits.Describe("FiberRuntime: eventfd", errno));
        }
        var ev = new EpollEvent { Events = EPOLLIN, Data = WakeData };
        if (epoll_ctl(_epoll, EPOLL_CTL_ADD, _wakeFd, &ev) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            close(_wakeFd);
            close(_epoll);
            throw new InvalidOperationException(ResourceLimits.Describe("FiberRuntime: epoll_ctl", errno));
        }
    }

    private const ulong WakeData = ulong.MaxValue;

    /// <summary>Number of fibers waiting on descriptors: while any is, the hub is not deadlocked.</summary>
    public int IoWaiters { get; private set; }

    /// <summary>Thread-safe: makes a current or next <see cref="Wait"/> return. Coalesced: one write per
    /// sleep, however many threads call it.</summary>
    public void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 1) return;
        ulong one = 1;
        write(_wakeFd, &one, sizeof(ulong));
    }

    /// <summary>Hub thread: registers <paramref name="g"/>'s wait <paramref name="token"/> for readability (or
    /// writability) of <paramref name="fd"/>. <see cref="Wait"/> resumes the wait through the hub when the descriptor
    /// is ready or fails.</summary>
    /// <exception cref="InvalidOperationException">Another fiber already waits on that descriptor in that direction.</exception>
    /// <exception cref="IOException">epoll refused the descriptor (e.g. a regular file, or a closed descriptor).</exception>
    public object Arm(int fd, bool write, Greenlet g, int token)
    {
        if (!_watchers.TryGetValue(fd, out FdWatcher? w)) _watchers[fd] = w = new FdWatcher(fd);
        if ((write ? w.Writer : w.Reader) is not null)
            throw new InvalidOperationException($"Another fiber is already waiting for descriptor {fd} to become {(write ? "writable" : "readable")}.");
        if (write) (w.Writer, w.WriterToken, w.WriterWoken) = (g, token, false);
        else (w.Reader, w.ReaderToken, w.ReaderWoken) = (g, token, false);
        try
        {
            Rearm(w);
        }
        catch
        {
            if (write) w.Writer = null; else w.Reader = null;
            Forget(w);
            throw;
        }
        IoWaiters++;
        return w;
    }

    /// <summary>Hub thread: ends a wait registered with <see cref="Arm"/> (after it was woken, timed out or killed).</summary>
    public void Disarm(object registration, bool write, Greenlet g)
    {
        var w = (FdWatcher)registration;
        if (write ? !ReferenceEquals(w.Writer, g) : !ReferenceEquals(w.Reader, g)) return;
        if (write) w.Writer = null; else w.Reader = null;
        IoWaiters--;
        // both directions idle: the registration stays (one-shot, so at most one stray event) for the next wait
        if ((w.Reader is not null || w.Writer is not null) && !w.Detached) Rearm(w);
    }

    /// <summary>Hub thread: wakes every fiber waiting on <paramref name="fd"/> with <paramref name="error"/> (the
    /// descriptor is being closed) and forgets it.</summary>
    public void Cancel(Hub hub, int fd, Exception error)
    {
        if (!_watchers.TryGetValue(fd, out FdWatcher? w)) return;
        if (w.Reader is { } r) hub.Wake(r, w.ReaderToken, null, error);
        if (w.Writer is { } wr) hub.Wake(wr, w.WriterToken, null, error);
        // forget it while the descriptor is still open (its number may be reused as soon as it closes); waiters just
        // woken disarm the detached watcher without touching epoll
        Forget(w);
        w.Detached = true;
    }

    private void Rearm(FdWatcher w)
    {
        uint events = EPOLLONESHOT | (w.Reader is not null && !w.ReaderWoken ? EPOLLIN | EPOLLRDHUP : 0) |
                      (w.Writer is not null && !w.WriterWoken ? EPOLLOUT : 0);
        var ev = new EpollEvent { Events = events, Data = (ulong)(uint)w.Fd };
        int rc = epoll_ctl(_epoll, w.Registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w.Fd, &ev);
        if (rc != 0 && !w.Registered && Marshal.GetLastPInvokeError() == EEXIST)
            rc = epoll_ctl(_epoll, EPOLL_CTL_MOD, w.Fd, &ev);     // registered by an earlier watcher of a reused fd
        else if (rc != 0 && w.Registered && Marshal.GetLastPInvokeError() == ENOENT)
            rc = epoll_ctl(_epoll, EPOLL_CTL_ADD, w.Fd, &ev);     // closed without Cancel (the kernel dropped it), then reused
        if (rc != 0)
            throw new IOException($"Cannot wait on descriptor {w.Fd}: epoll_ctl failed (errno {Marshal.GetLastPInvokeError()}).");
        w.Registered = true;
    }

    private void Forget(FdWatcher w)
    {
        if (w.Registered)
        {
            epoll_ctl(_epoll, EPOLL_CTL_DEL, w.Fd, null);     // may fail if already closed: nothing left to undo
            w.Registered = false;
        }
        _watchers.Remove(w.Fd);
    }

    /// <summary>Hub thread: sleeps until <see cref="Wake"/>, a descriptor event, or <paramref name="timeoutMs"/>
    /// (-1: no limit). Wakes the fibers whose descriptors became ready.</summary>
    public void Wait(Hub hub, int timeoutMs)
    {
        EpollEvent* events = stackalloc EpollEvent[64];
        int n = epoll_wait(_epoll, events, 64, timeoutMs);
        for (int i = 0; i < n; i++)
        {
            if (events[i].Data == WakeData)
            {
                ulong value;
                read(_wakeFd, &value, sizeof(ulong));
                Volatile.Write(ref _wakePending, 0);
                continue;
            }
            if (!_watchers.TryGetValue((int)events[i].Data, out FdWatcher? w)) continue;
            uint e = events[i].Events;
            const uint failed = EPOLLERR | EPOLLHUP;
            // one-shot: epoll disabled the descriptor; wake the direction(s) that fired and re-arm for the other
            bool rearm = false;
            if (w.Reader is { } r && !w.ReaderWoken)
            {
                if ((e & (EPOLLIN | EPOLLRDHUP | failed)) != 0) { w.ReaderWoken = true; hub.Wake(r, w.ReaderToken); }
                else rearm = true;
            }
            if (w.Writer is { } wr && !w.WriterWoken)
            {
                if ((e & (EPOLLOUT | failed)) != 0) { w.WriterWoken = true; hub.Wake(wr, w.WriterToken); }
                else rearm = true;
            }
            if (rearm) Rearm(w);
        }
    }

    public void Dispose()
    {
        close(_wakeFd);
        close(_epoll);
    }

    /// <summary>For callers that are not fibers: blocks the thread in poll(2) until the descriptor is ready.</summary>
    public static bool PollBlocking(int fd, bool write, TimeSpan? timeout)
    {
        RuntimeContract.EnsurePlatformSupported();     // poll(2) from libc: a refusal, not a DllNotFoundException
        int ms = timeout is { } t && t != System.Threading.Timeout.InfiniteTimeSpan ? (int)Math.Min(int.MaxValue, Math.Ceiling(t.TotalMilliseconds)) : -1;
        var p = new PollFd { Fd = fd, Events = write ? POLLOUT : POLLIN };
        while (true)
        {
            int rc = poll(&p, 1, ms);
            if (rc >= 0) return rc > 0;
            if (Marshal.GetLastPInvokeError() != EINTR) throw new IOException($"poll on descriptor {fd} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    private const short POLLIN = 0x1, POLLOUT = 0x4;
    private const int EINTR = 4;

    [LibraryImport("libc", SetLastError = true)] private static partial int poll(PollFd* fds, nuint n, int timeout);

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    private const int EPOLL_CLOEXEC = 0x80000, EFD_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800;
    private const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3, EEXIST = 17, ENOENT = 2;
    private const uint EPOLLIN = 0x1, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10, EPOLLRDHUP = 0x2000, EPOLLONESHOT = 1u << 30;

    [LibraryImport("libc", SetLastError = true)] private static partial int epoll_create1(int flags);
    [LibraryImport("libc", SetLastError = true)] private static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);
    [LibraryImport("libc", SetLastError = true)] private static partial int epoll_wait(int epfd, EpollEvent* events, int max, int timeout);
    [LibraryImport("libc", SetLastError = true)] private static partial int eventfd(uint initval, int flags);
    [LibraryImport("libc")] private static partial nint read(int fd, void* buf, nuint count);
    [LibraryImport("libc")] private static partial nint write(int fd, void* buf, nuint count);
    [LibraryImport("libc")] private static partial int close(int fd);
}
