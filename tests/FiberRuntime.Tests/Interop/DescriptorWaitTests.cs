using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FiberRuntime.Scheduling;

namespace FiberRuntime.Tests.Interop;

/// <summary>Hub.WaitReadable / WaitWritable: readiness waits on any descriptor, through the hub's epoll reactor.</summary>
public sealed class DescriptorWaitTests
{
    [Fact]
    public void WaitReadable_suspends_only_the_fiber_until_data_arrives()
    {
        using var pair = new LoopbackPair();
        var log = new List<string>();
        Hub.Run(() =>
        {
            int ticks = 0;
            Fiber ticker = Fiber.Spawn(() =>
            {
                for (int i = 0; i < 5; i++) { ticks++; Fiber.Sleep(0.005); }
            });
            Fiber sender = Fiber.Spawn(() =>
            {
                ticker.Join();          // the ticks run while main waits for the descriptor; then the data
                log.Add("sending");
                pair.Client.Send("hello"u8);
            });
            Assert.Throws<SocketException>(() => pair.Server.Receive(new byte[16]));      // nothing yet: EAGAIN
            bool ready = Hub.WaitReadable(pair.ServerFd);
            var buffer = new byte[16];
            int n = pair.Server.Receive(buffer);
            log.Add($"ready={ready} got {System.Text.Encoding.ASCII.GetString(buffer, 0, n)} after {ticks} ticks");
            Fiber.JoinAll([ticker, sender]);
        });
        Assert.Equal(["sending", "ready=True got hello after 5 ticks"], log);
    }

    [Fact]
    public void WaitReadable_times_out_and_returns_false()
    {
        using var pair = new LoopbackPair();
        Hub.Run(() =>
        {
            var sw = Stopwatch.StartNew();
            Assert.False(Hub.WaitReadable(pair.ServerFd, TimeSpan.FromMilliseconds(50)));
            Assert.True(sw.ElapsedMilliseconds >= 40, $"returned after {sw.ElapsedMilliseconds} ms");
            // the descriptor can be waited on again afterwards
            pair.Client.Send([1]);
            Assert.True(Hub.WaitReadable(pair.ServerFd, TimeSpan.FromSeconds(5)));
        });
    }

    [Fact]
    public void Ready_descriptors_return_at_once()
    {
        using var pair = new LoopbackPair();
        pair.Client.Send([1, 2, 3]);
        Hub.Run(() =>
        {
            Assert.True(Hub.WaitWritable(pair.ServerFd, TimeSpan.Zero + TimeSpan.FromSeconds(5)));
            Thread.Sleep(20);                                   // let the bytes arrive (blocking the hub on purpose)
            Assert.True(Hub.WaitReadable(pair.ServerFd, TimeSpan.FromSeconds(5)));
            Assert.Equal(3, pair.Server.Receive(new byte[8]));
        });
    }

    [Fact]
    public void A_reader_and_a_writer_wait_on_one_descriptor_at_once()
    {
        using var pair = new LoopbackPair();
        var log = new List<string>();
        Hub.Run(() =>
        {
            Fiber reader = Fiber.Spawn(() => log.Add("readable " + Hub.WaitReadable(pair.ServerFd, TimeSpan.FromSeconds(5))));
            Fiber writer = Fiber.Spawn(() => log.Add("writable " + Hub.WaitWritable(pair.ServerFd, TimeSpan.FromSeconds(5))));
            writer.Join();                                      // writable at once, while the reader keeps waiting
            log.Add("sending");
            pair.Client.Send([7]);
            reader.Join();
        });
        Assert.Equal(["writable True", "sending", "readable True"], log);
    }

    [Fact]
    public void A_second_reader_on_the_same_descriptor_is_refused_and_the_hub_keeps_working()
    {
        using var pair = new LoopbackPair();
        Hub.Run(() =>
        {
            Fiber first = Fiber.Spawn(() => Hub.WaitReadable(pair.ServerFd, TimeSpan.FromSeconds(5)));
            Fiber.Yield();                                      // first is waiting now
            var e = Assert.Throws<InvalidOperationException>(() => Hub.WaitReadable(pair.ServerFd));
            Assert.Contains("already waiting", e.Message);
            pair.Client.Send([1]);
            first.Get();
            Assert.True(first.IsSuccessful);
            Assert.Equal(42, Fiber.Spawn(() => 42).Get());
        });
    }

    [Fact]
    public void Cancelling_a_descriptor_wakes_its_waiters_with_the_exception()
    {
        using var pair = new LoopbackPair();
        Hub.Run(() =>
        {
            Fiber waiter = Fiber.Spawn(() => Hub.WaitReadable(pair.ServerFd));
            Fiber.Yield();
            Hub.Current!.CancelDescriptorWaits(pair.ServerFd, new ObjectDisposedException("socket"));
            waiter.Join();
            Assert.IsType<ObjectDisposedException>(waiter.Exception);
        });
    }

    [Fact]
    public void From_a_plain_thread_the_wait_blocks_it()
    {
        using var pair = new LoopbackPair();
        var sender = new Thread(() =>
        {
            Thread.Sleep(30);
            pair.Client.Send([1]);
        });
        sender.Start();
        Assert.True(Hub.WaitReadable(pair.ServerFd, TimeSpan.FromSeconds(5)));
        Assert.False(Hub.WaitReadable((int)pair.Client.Handle, TimeSpan.FromMilliseconds(10)));
        sender.Join();
    }

    [Fact]
    public void Bad_descriptors_throw_and_the_hub_keeps_working()
    {
        Hub.Run(() =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Hub.WaitReadable(-1));
            Assert.Throws<IOException>(() => Hub.WaitReadable(999_999));              // not an open descriptor
            Assert.Throws<ArgumentOutOfRangeException>(() => Hub.WaitWritable(0, TimeSpan.FromSeconds(-2)));
            Assert.Equal(7, Fiber.Spawn(() => 7).Get());
        });
    }

    [Fact]
    public void A_fiber_waiting_only_on_io_is_not_reported_as_a_deadlock()
    {
        using var pair = new LoopbackPair();
        var sender = new Thread(() =>
        {
            Thread.Sleep(50);
            pair.Client.Send([9]);
        });
        sender.Start();
        Hub.Run(() => Assert.True(Hub.WaitReadable(pair.ServerFd)));   // nothing else on the hub can wake it
        sender.Join();
    }

    [Fact]
    public void Many_fibers_wait_on_their_own_sockets()
    {
        const int count = 200;
        var pairs = Enumerable.Range(0, count).Select(_ => new LoopbackPair()).ToArray();
        try
        {
            long sum = Hub.Run(() =>
            {
                var fibers = pairs.Select((p, i) => Fiber.Spawn(() =>
                {
                    Assert.True(Hub.WaitReadable(p.ServerFd, TimeSpan.FromSeconds(10)));
                    var b = new byte[1];
                    Assert.Equal(1, p.Server.Receive(b));
                    return (long)b[0] * i;
                })).ToList();
                Fiber.Yield();                                   // all are waiting now
                for (int i = 0; i < count; i++) pairs[i].Client.Send([(byte)(i % 251)]);
                return fibers.Sum(f => f.Get());
            }, new HubOptions { MaxFibers = count + 8 });
            Assert.Equal(Enumerable.Range(0, count).Sum(i => (long)(i % 251) * i), sum);
        }
        finally
        {
            foreach (LoopbackPair p in pairs) p.Dispose();
        }
    }
}
