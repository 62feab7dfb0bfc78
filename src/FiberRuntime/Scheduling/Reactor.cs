using System.Runtime.InteropServices;

namespace FiberRuntime.Scheduling;

/// <summary>
/// Where a hub thread sleeps when nothing is ready: an epoll instance with an eventfd for wake-ups from other
/// threads (a cross-thread spawn, a completed Task). Level-triggered. The socket layer will register its file
/// descriptors here too; a Windows IOCP reactor will sit behind the same members.
/// </summary>
internal sealed unsafe partial class Reactor : IDisposable
{
    private readonly int _epoll;
    private readonly int _wakeFd;
    private int _wakePending;           // 1 while a wake-up is written and not yet consumed

    public Reactor()
    {
        _epoll = epoll_create1(EPOLL_CLOEXEC);
        if (_epoll < 0) throw new InvalidOperationException($"epoll_create1 failed (errno {Marshal.GetLastPInvokeError()})");
        _wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (_wakeFd < 0)
        {
            close(_epoll);
            throw new InvalidOperationException($"eventfd failed (errno {Marshal.GetLastPInvokeError()})");
        }
        var ev = new EpollEvent { Events = EPOLLIN, Data = (ulong)_wakeFd };
        if (epoll_ctl(_epoll, EPOLL_CTL_ADD, _wakeFd, &ev) != 0)
            throw new InvalidOperationException($"epoll_ctl failed (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Thread-safe: makes a current or next <see cref="Wait"/> return. Coalesced: one write per
    /// sleep, however many threads call it.</summary>
    public void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 1) return;
        ulong one = 1;
        write(_wakeFd, &one, sizeof(ulong));
    }

    /// <summary>Hub thread: sleeps until <see cref="Wake"/>, or <paramref name="timeoutMs"/> passes (-1: no limit).
    /// Returns the number of wake-ups consumed (0 on timeout).</summary>
    public int Wait(int timeoutMs)
    {
        EpollEvent* events = stackalloc EpollEvent[8];
        int n = epoll_wait(_epoll, events, 8, timeoutMs);
        int woken = 0;
        for (int i = 0; i < n; i++)
        {
            if (events[i].Data == (ulong)_wakeFd)
            {
                ulong value;
                read(_wakeFd, &value, sizeof(ulong));
                Volatile.Write(ref _wakePending, 0);
                woken++;
            }
        }
        return woken;
    }

    public void Dispose()
    {
        close(_wakeFd);
        close(_epoll);
    }

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    private const int EPOLL_CLOEXEC = 0x80000, EFD_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800, EPOLL_CTL_ADD = 1;
    private const uint EPOLLIN = 1;

    [LibraryImport("libc", SetLastError = true)] private static partial int epoll_create1(int flags);
    [LibraryImport("libc", SetLastError = true)] private static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);
    [LibraryImport("libc", SetLastError = true)] private static partial int epoll_wait(int epfd, EpollEvent* events, int max, int timeout);
    [LibraryImport("libc", SetLastError = true)] private static partial int eventfd(uint initval, int flags);
    [LibraryImport("libc")] private static partial nint read(int fd, void* buf, nuint count);
    [LibraryImport("libc")] private static partial nint write(int fd, void* buf, nuint count);
    [LibraryImport("libc")] private static partial int close(int fd);
}
