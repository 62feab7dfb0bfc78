using System.Net;
using System.Net.Sockets;
using FiberRuntime.IO;

namespace FiberRuntime.Tests.IO;

public sealed class StreamServerTests
{
    private static FiberSocket ConnectTo(StreamServer server)
    {
        var s = new FiberSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Connect(server.LocalEndPoint);
        return s;
    }

    [Fact]
    public void A_handler_exception_closes_only_its_connection()
    {
        var reported = new List<string>();
        void OnFailure(Fiber f, Exception e)
        {
            lock (reported) reported.Add(e.Message);      // the event is static: other tests' hubs may raise it too
        }
        Hub.UnhandledFiberException += OnFailure;
        try
        {
            Hub.Run(() =>
            {
                using var server = new StreamServer(new IPEndPoint(IPAddress.Loopback, 0), (c, _) =>
                {
                    var b = new byte[1];
                    c.Receive(b);
                    if (b[0] == 0) throw new InvalidDataException("bad first byte");
                    c.SendAll(b);
                });
                server.Start();
                using FiberSocket bad = ConnectTo(server), good = ConnectTo(server);
                bad.SendAll([0]);
                Assert.Equal(0, bad.Receive(new byte[1], timeout: TimeSpan.FromSeconds(5)));   // closed by the server
                good.SendAll([5]);
                var echo = new byte[1];
                Assert.Equal(1, good.Receive(echo, timeout: TimeSpan.FromSeconds(5)));
                Assert.Equal(5, echo[0]);
            });
        }
        finally
        {
            Hub.UnhandledFiberException -= OnFailure;
        }
        lock (reported) Assert.Contains("bad first byte", reported);
    }

    [Fact]
    public void A_pool_bounds_the_connections_handled_at_once()
    {
        int running = 0, most = 0;
        Hub.Run(() =>
        {
            var pool = new FiberPool(3);
            using var server = new StreamServer(new IPEndPoint(IPAddress.Loopback, 0), (c, _) =>
            {
                most = Math.Max(most, ++running);
                Fiber.Sleep(0.03);
                running--;
                c.SendAll([1]);
            }, pool);
            server.Start();
            var clients = Enumerable.Range(0, 10).Select(_ => Fiber.Spawn(() =>
            {
                using FiberSocket s = ConnectTo(server);
                return s.Receive(new byte[1], timeout: TimeSpan.FromSeconds(10));
            })).ToList();
            Assert.All(clients, c => Assert.Equal(1, c.Get()));
        });
        Assert.Equal(3, most);
    }

    [Fact]
    public void Stop_waits_for_handlers_then_kills_the_rest_and_refuses_new_connections()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            var server = new StreamServer(new IPEndPoint(IPAddress.Loopback, 0), (c, _) =>
            {
                try
                {
                    Fiber.Sleep(60);                                 // never finishes by itself
                }
                finally
                {
                    log.Add("handler unwound");
                }
            });
            server.Start();
            IPEndPoint where = server.LocalEndPoint;
            using FiberSocket client = ConnectTo(server);
            Fiber.Sleep(0.02);                                       // the handler is running
            Assert.Equal(1, server.Connections);
            server.Stop(TimeSpan.FromMilliseconds(50));
            Assert.False(server.IsStarted);
            Assert.Equal(0, server.Connections);
            using var late = new FiberSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            Assert.Equal(SocketError.ConnectionRefused, Assert.Throws<SocketException>(() => late.Connect(where)).SocketErrorCode);
        });
        Assert.Equal(["handler unwound"], log);
    }

    [Fact]
    public void Bad_arguments_and_starting_off_a_hub_are_refused()
    {
        var ep = new IPEndPoint(IPAddress.Loopback, 0);
        Assert.Throws<ArgumentNullException>(() => new StreamServer(null!, (_, _) => { }));
        Assert.Throws<ArgumentNullException>(() => new StreamServer(ep, null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StreamServer(ep, (_, _) => { }, backlog: 0));
        Assert.Throws<InvalidOperationException>(() => new StreamServer(ep, (_, _) => { }).Start());
    }
}
