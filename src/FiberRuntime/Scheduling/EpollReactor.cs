using System.Runtime.CompilerServices;
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
    private const ulong WakeData = ulong.MaxValue;

    private readonly int _epoll;
    private readonly int _wakeFd;
    private int _wakePending;           // 1 while a wake-up is written and not yet consumed
    private readonly Dictionary<int, FdState> _fds = [];

    /// <summary>What epoll is told about one descriptor: the watcher of each direction.</summary>
    private sealed class FdState
    {
        public int Fd;
        public IoWatcher? Reader, Writer;
        public bool Registered;
        public bool Detached;               // cancelled (its descriptor is closing): no longer in epoll or the table
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
        byte* ev = stackalloc byte[MaxEventSize];
        EpollEvent.Write(ev, EPOLLIN, WakeData);
        if (epoll_ctl(_epoll, EPOLL_CTL_ADD, _wakeFd, ev) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            close(_wakeFd);
            close(_epoll);
            throw new InvalidOperationException(ResourceLimits.Describe("FiberRuntime: epoll_ctl", errno));
        }
    }

    /// <summary>Armed watchers (at most one per descriptor and direction).</summary>
    public int IoWaiters { get; private set; }

    /// <summary>Thread-safe: makes a current or next <see cref="Wait"/> return. Coalesced: one write per
    /// sleep, however many threads call it.</summary>
    public void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 1) return;
        ulong one = 1;
        write(_wakeFd, &one, sizeof(ulong));
    }

    /// <summary>Hub thread: arms <paramref name="watcher"/> on <paramref name="fd"/>; <see cref="Wait"/> calls it when
    /// the descriptor is ready or fails.</summary>
    /// <exception cref="InvalidOperationException">Another watcher is armed on that descriptor in that direction.</exception>
    /// <exception cref="IOException">epoll refused the descriptor (e.g. a regular file, or a closed descriptor).</exception>
    public void Arm(IoWatcher watcher, int fd, bool write)
    {
        if (!_fds.TryGetValue(fd, out FdState? st))
        {
            st = new FdState { Fd = fd };
            _fds[fd] = st;
        }
        if ((write ? st.Writer : st.Reader) is not null)
            throw new InvalidOperationException($"Another fiber is already waiting for descriptor {fd} to become {(write ? "writable" : "readable")}.");
        (watcher.Fd, watcher.Write, watcher.Fired, watcher.ReactorState) = (fd, write, false, st);
        if (write) st.Writer = watcher; else st.Reader = watcher;
        try
        {
            Rearm(st);
        }
        catch
        {
            if (write) st.Writer = null; else st.Reader = null;
            watcher.ReactorState = null;
            Forget(st);
            throw;
        }
        watcher.IsArmed = true;
        IoWaiters++;
    }

    /// <summary>Hub thread: ends a watcher's interest (after it fired, timed out or its owner was killed).</summary>
    public void Disarm(IoWatcher watcher)
    {
        if (!watcher.IsArmed) return;
        var st = (FdState)watcher.ReactorState!;
        watcher.IsArmed = false;
        watcher.ReactorState = null;
        if (watcher.Write) st.Writer = null; else st.Reader = null;
        IoWaiters--;
        // both directions idle: the registration stays (one-shot, so at most one stray event) for the next wait
        if ((st.Reader is not null || st.Writer is not null) && !st.Detached) Rearm(st);
    }

    /// <summary>Hub thread: calls the watchers armed on <paramref name="fd"/> with <paramref name="error"/> (the
    /// descriptor is being closed); their owners disarm them.</summary>
    public void Cancel(int fd, Exception error)
    {
        if (!_fds.TryGetValue(fd, out FdState? st)) return;
        IoWatcher? reader = st.Reader, writer = st.Writer;
        reader?.OnReady(error);
        writer?.OnReady(error);
        // forget it while the descriptor is still open (its number may be reused as soon as it closes); watchers just
        // called disarm the detached record without touching epoll
        Forget(st);
        st.Detached = true;
    }

    private void Rearm(FdState st)
    {
        uint events = EPOLLONESHOT | (st.Reader is { Fired: false } ? EPOLLIN | EPOLLRDHUP : 0) |
                      (st.Writer is { Fired: false } ? EPOLLOUT : 0);
        byte* ev = stackalloc byte[MaxEventSize];
        EpollEvent.Write(ev, events, (ulong)(uint)st.Fd);
        int rc = epoll_ctl(_epoll, st.Registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, st.Fd, ev);
        if (rc != 0 && !st.Registered && Marshal.GetLastPInvokeError() == EEXIST)
            rc = epoll_ctl(_epoll, EPOLL_CTL_MOD, st.Fd, ev);     // registered by an earlier watcher of a reused fd
        else if (rc != 0 && st.Registered && Marshal.GetLastPInvokeError() == ENOENT)
            rc = epoll_ctl(_epoll, EPOLL_CTL_ADD, st.Fd, ev);     // closed without Cancel (the kernel dropped it), then reused
        if (rc != 0)
            throw new IOException($"Cannot wait on descriptor {st.Fd}: epoll_ctl failed (errno {Marshal.GetLastPInvokeError()}).");
        st.Registered = true;
    }

    private void Forget(FdState st)
    {
        if (st.Registered)
        {
            epoll_ctl(_epoll, EPOLL_CTL_DEL, st.Fd, null);     // may fail if already closed: nothing left to undo
            st.Registered = false;
        }
        _fds.Remove(st.Fd);
    }

    /// <summary>Hub thread: sleeps until <see cref="Wake"/>, a descriptor event, or <paramref name="timeoutMs"/>
    /// (-1: no limit). Calls the watchers whose descriptors became ready.</summary>
    public void Wait(int timeoutMs)
    {
        byte* events = stackalloc byte[64 * MaxEventSize];
        int n = epoll_wait(_epoll, events, 64, timeoutMs);
        for (int i = 0; i < n; i++)
        {
            byte* ev = events + i * EpollEvent.Size;
            ulong data = EpollEvent.Data(ev);
            if (data == WakeData)
            {
                ulong value;
                read(_wakeFd, &value, sizeof(ulong));
                Volatile.Write(ref _wakePending, 0);
                continue;
            }
            if (!_fds.TryGetValue((int)data, out FdState? st)) continue;
            uint e = EpollEvent.Events(ev);
            const uint failed = EPOLLERR | EPOLLHUP;
            // one-shot: epoll disabled the descriptor; report the direction(s) that fired and re-arm for the other
            IoWatcher? reader = null, writer = null;
            bool rearm = false;
            if (st.Reader is { Fired: false } r)
            {
                if ((e & (EPOLLIN | EPOLLRDHUP | failed)) != 0) (reader = r).Fired = true;
                else rearm = true;
            }
            if (st.Writer is { Fired: false } w)
            {
                if ((e & (EPOLLOUT | failed)) != 0) (writer = w).Fired = true;
                else rearm = true;
            }
            if (rearm) Rearm(st);
            reader?.OnReady(null);
            writer?.OnReady(null);
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

    /// <summary>struct epoll_event {uint32_t events; uint64_t data;}: packed (12 bytes, data at 4) on x86_64 only; on
    /// arm64 data is 8-byte aligned (16 bytes, data at 8). Read and written by offset, so one build serves both.</summary>
    private static class EpollEvent
    {
        private static readonly bool s_packed = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;

        public static int Size => s_packed ? 12 : 16;

        private static int DataOffset => s_packed ? 4 : 8;

        public static uint Events(byte* ev) => Unsafe.ReadUnaligned<uint>(ev);

        public static ulong Data(byte* ev) => Unsafe.ReadUnaligned<ulong>(ev + DataOffset);

        public static void Write(byte* ev, uint events, ulong data)
        {
            new Span<byte>(ev, MaxEventSize).Clear();
            Unsafe.WriteUnaligned(ev, events);
            Unsafe.WriteUnaligned(ev + DataOffset, data);
        }
    }

    private const int MaxEventSize = 16;

    private const int EPOLL_CLOEXEC = 0x80000, EFD_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800;
    private const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3, EEXIST = 17, ENOENT = 2;
    private const uint EPOLLIN = 0x1, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10, EPOLLRDHUP = 0x2000, EPOLLONESHOT = 1u << 30;

    [LibraryImport("libc", SetLastError = true)] private static partial int epoll_create1(int flags);
    [LibraryImport("libc", SetLastError = true)] private static partial int epoll_ctl(int epfd, int op, int fd, byte* ev);
    [LibraryImport("libc", SetLastError = true)] private static partial int epoll_wait(int epfd, byte* events, int max, int timeout);
    [LibraryImport("libc", SetLastError = true)] private static partial int eventfd(uint initval, int flags);
    [LibraryImport("libc")] private static partial nint read(int fd, void* buf, nuint count);
    [LibraryImport("libc")] private static partial nint write(int fd, void* buf, nuint count);
    [LibraryImport("libc")] private static partial int close(int fd);
}
