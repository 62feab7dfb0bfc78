using System.Net;
using System.Net.Sockets;
using FiberRuntime.IO;

namespace FiberRuntime.Tests.IO;

/// <summary>StreamServer.ServeForever, FiberNetworkStream's ownership and its unsupported members, and
/// FiberSocket.Connect's failures (time limit, unknown host).</summary>
public sealed class NetworkPromiseTests
{
    private static FiberSocket NewTcp() => new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    [Fact]
    public void ServeForever_serves_until_Stop_and_then_returns()
    {
        Hub.Run(() =>
        {
            using var server = new StreamServer(new IPEndPoint(IPAddress.Loopback, 0), (c, _) =>
            {
                var b = new byte[1];
                while (c.Receive(b) > 0) c.SendAll(b);
            });
            bool returned = false;
            Fiber serving = Fiber.Spawn(() =>
            {
                server.ServeForever();
                returned = true;
            });
            Fiber.Yield();
            Assert.True(server.IsStarted);                 // ServeForever started it
            using (FiberSocket client = NewTcp())
            {
                client.Connect(server.LocalEndPoint);
                client.SendAll([42]);
                var b = new byte[1];
                Assert.Equal(1, client.Receive(b, timeout: TimeSpan.FromSeconds(5)));
                Assert.Equal(42, b[0]);
            }
            Fiber.Sleep(0.02);
            Assert.False(returned);                        // still serving
            server.Stop();
            Assert.True(serving.Join(TimeSpan.FromSeconds(5)));
            Assert.True(returned);
            Assert.False(server.IsStarted);
        });
    }

    [Fact]
    public void A_stream_that_does_not_own_its_socket_leaves_it_open_when_disposed()
    {
        Hub.Run(() =>
        {
            using var listener = new FiberTcpListener(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Start();
            Fiber<byte[]> server = Fiber.Spawn(() =>
            {
                using FiberSocket c = listener.Accept();
                var got = new List<byte>();
                var b = new byte[16];
                int n;
                while ((n = c.Receive(b)) > 0) got.AddRange(b.AsSpan(0, n).ToArray());
                return got.ToArray();
            });
            using FiberSocket socket = NewTcp();
            socket.Connect(listener.LocalEndPoint);
            using (var borrowed = new FiberNetworkStream(socket, ownsSocket: false)) borrowed.Write([1, 2]);
            socket.SendAll([3]);                            // the socket outlived the stream
            using (var owning = new FiberNetworkStream(socket)) owning.Write([4]);
            Assert.Throws<ObjectDisposedException>(() => socket.SendAll([5]));   // the owning stream closed it
            Assert.Equal([1, 2, 3, 4], server.Get());
        });
    }

    [Fact]
    public void A_network_stream_has_no_length_or_position_and_cannot_seek()
    {
        Hub.Run(() =>
        {
            using var stream = new FiberNetworkStream(NewTcp());
            Assert.False(stream.CanSeek);
            Assert.True(stream.CanRead);
            Assert.True(stream.CanWrite);
            Assert.Throws<NotSupportedException>(() => stream.Length);
            Assert.Throws<NotSupportedException>(() => stream.Position);
            Assert.Throws<NotSupportedException>(() => stream.Position = 0);
            Assert.Throws<NotSupportedException>(() => stream.Seek(0, SeekOrigin.Begin));
            Assert.Throws<NotSupportedException>(() => stream.SetLength(1));
            Assert.Throws<ArgumentNullException>(() => new FiberNetworkStream(null!));
        });
    }

    [Fact]
    public void Connect_times_out_when_nobody_answers_and_the_hub_keeps_running()
    {
        // a listener that never accepts, its backlog filled: the kernel drops further SYNs, so connect waits
        using var full = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        full.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        full.Listen(1);
        var fillers = new List<Socket>();
        try
        {
            Hub.Run(() =>
            {
                bool timedOut = false;
                for (int i = 0; i < 16 && !timedOut; i++)
                {
                    var s = NewTcp();
                    fillers.Add(s.Socket);
                    try
                    {
                        s.Connect(full.LocalEndPoint!, TimeSpan.FromMilliseconds(300));
                    }
                    catch (FiberTimeoutException)
                    {
                        timedOut = true;
                    }
                }
                Assert.True(timedOut, "every connect to a listener that never accepts succeeded");
                HubProbe.AssertHubWorks();
            });
        }
        finally
        {
            foreach (Socket s in fillers) s.Dispose();
        }
    }

    [Fact]
    public void Connect_to_a_host_that_does_not_resolve_throws_host_not_found()
    {
        Hub.Run(() =>
        {
            using FiberSocket s = NewTcp();
            // .invalid never resolves (RFC 2606)
            var e = Assert.ThrowsAny<SocketException>(() => s.Connect("no-such-host.invalid", 80, TimeSpan.FromSeconds(30)));
            Assert.Contains(e.SocketErrorCode, new[] { SocketError.HostNotFound, SocketError.NoData, SocketError.TryAgain });
            // a name that resolves only to another address family than the socket's
            using FiberSocket v4 = NewTcp();
            var family = Assert.Throws<SocketException>(() => v4.Connect("::1", 80));
            Assert.Equal(SocketError.HostNotFound, family.SocketErrorCode);
            HubProbe.AssertHubWorks();
        });
    }
}
