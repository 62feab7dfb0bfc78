using FiberRuntime.Scheduling;
using Pair = FiberRuntime.Tests.Interop.DescriptorWaitTests.Pair;

namespace FiberRuntime.Tests.Scheduling;

/// <summary>The epoll reactor on its own, with no hub or greenlet: it calls the watchers it was given (libuv's
/// uv__io_t callback), once per arm, and allocates nothing per wait.</summary>
public sealed class ReactorTests
{
    private sealed class CountingWatcher : IoWatcher
    {
        public int Ready;
        public Exception? LastError;

        internal override void OnReady(Exception? error)
        {
            Ready++;
            LastError = error;
        }
    }

    /// <summary>Arms a reader and a writer on the same descriptor.</summary>
    private static (CountingWatcher Reader, CountingWatcher Writer) ArmBoth(EpollReactor reactor, int fd)
    {
        var reader = new CountingWatcher();
        var writer = new CountingWatcher();
        reactor.Arm(reader, fd, write: false);
        reactor.Arm(writer, fd, write: true);
        return (reader, writer);
    }

    [Fact]
    public void ArmedWatcher_IsCalledOnceWhenReadable_AndNotAgainUntilRearmed()
    {
        using var reactor = new EpollReactor();
        using var pair = new Pair();
        var w = new CountingWatcher();
        reactor.Arm(w, pair.ServerFd, write: false);
        Assert.Equal(1, reactor.IoWaiters);
        reactor.Wait(0);
        Assert.Equal(0, w.Ready);                       // nothing to read yet

        pair.Client.Send([42]);
        reactor.Wait(5000);
        Assert.Equal(1, w.Ready);
        Assert.Null(w.LastError);
        reactor.Wait(0);
        Assert.Equal(1, w.Ready);                       // one-shot: still readable, but reported once per arm

        reactor.Disarm(w);
        reactor.Disarm(w);                              // a second disarm is a no-op
        Assert.Equal(0, reactor.IoWaiters);
        reactor.Arm(w, pair.ServerFd, write: false);    // the same watcher, re-armed: the byte is still there
        reactor.Wait(5000);
        Assert.Equal(2, w.Ready);
        reactor.Disarm(w);
    }

    [Fact]
    public void ReaderAndWriter_OnOneDescriptor_AreReportedSeparately_AndASecondReaderIsRefused()
    {
        using var reactor = new EpollReactor();
        using var pair = new Pair();
        (CountingWatcher reader, CountingWatcher writer) = ArmBoth(reactor, pair.ServerFd);
        var e = Assert.Throws<InvalidOperationException>(() => reactor.Arm(new CountingWatcher(), pair.ServerFd, write: false));
        Assert.Contains("already waiting", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, reactor.IoWaiters);

        reactor.Wait(5000);                             // writable at once (empty send buffer), not readable
        Assert.Equal((0, 1), (reader.Ready, writer.Ready));
        pair.Client.Send([1]);
        reactor.Wait(5000);
        Assert.Equal((1, 1), (reader.Ready, writer.Ready));
        reactor.Disarm(reader);
        reactor.Disarm(writer);
        Assert.Equal(0, reactor.IoWaiters);
    }

    [Fact]
    public void Cancel_CallsEveryWatcherOfTheDescriptor_WithTheError()
    {
        using var reactor = new EpollReactor();
        using var pair = new Pair();
        (CountingWatcher reader, CountingWatcher writer) = ArmBoth(reactor, pair.ServerFd);
        var closing = new ObjectDisposedException("socket");
        reactor.Cancel(pair.ServerFd, closing);
        Assert.Same(closing, reader.LastError);
        Assert.Same(closing, writer.LastError);
        reactor.Cancel(pair.ServerFd + 1000, closing);    // nobody waits there: nothing happens
        reactor.Disarm(reader);
        reactor.Disarm(writer);
        Assert.Equal(0, reactor.IoWaiters);
    }

    [Fact]
    public void ArmingABadDescriptor_ThrowsIOException_AndLeavesNothingArmed()
    {
        using var reactor = new EpollReactor();
        var w = new CountingWatcher();
        Assert.Throws<IOException>(() => reactor.Arm(w, 1 << 20, write: false));
        Assert.Equal(0, reactor.IoWaiters);
        reactor.Disarm(w);                              // never armed: a no-op
    }

    [Fact]
    public void ArmWaitDisarm_AllocatesNothingPerWait()
    {
        using var reactor = new EpollReactor();
        using var pair = new Pair();
        pair.Client.Send([7]);                          // stays unread: every arm reports at once
        var w = new CountingWatcher();
        void Round()
        {
            reactor.Arm(w, pair.ServerFd, write: false);
            reactor.Wait(5000);
            reactor.Disarm(w);
        }
        for (int i = 0; i < 2000; i++) Round();        // warm: JIT, dictionary and pool sizes
        const int rounds = 1000;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < rounds; i++) Round();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(2000 + rounds, w.Ready);
        Assert.True(allocated < rounds, $"{allocated} bytes allocated over {rounds} waits");
    }

    [Fact]
    public void DescriptorWaitsOfAFiber_AllocateNothingPerWait()
    {
        // end to end: the fiber's own watcher (and the reactor's per-descriptor record) is reused for every wait
        using var pair = new Pair();
        pair.Client.Send([7]);                          // stays unread: every wait is woken by the next reactor poll
        long allocated = Hub.Run(() =>
        {
            for (int i = 0; i < 2000; i++) Assert.True(Hub.WaitReadable(pair.ServerFd));
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++) Hub.WaitReadable(pair.ServerFd);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        });
        Assert.True(allocated < 1000, $"{allocated} bytes allocated over 1000 descriptor waits");
    }
}
