using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using FiberRuntime.IO;

namespace FiberRuntime.Tests.IO;

/// <summary>Cooperative sockets on loopback: many connections on one hub thread, plain blocking code per connection.</summary>
public sealed class FiberSocketTests
{
    private static readonly IPEndPoint AnyLoopback = new(IPAddress.Loopback, 0);

    private static void Echo(FiberSocket connection)
    {
        using (connection)
        {
            var buffer = new byte[8192];
            int n;
            while ((n = connection.Receive(buffer)) > 0) connection.SendAll(buffer.AsSpan(0, n));
        }
    }

    private static FiberSocket NewTcp() => new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    [Fact]
    public void Many_connections_echo_checksummed_payloads_through_one_hub()
    {
        const int connections = 1000;
        var failures = new List<string>();
        int verified = 0;
        Hub.Run(() =>
        {
            using var listener = new FiberTcpListener(AnyLoopback);
            listener.Start();
            var handlers = new FiberGroup();
            Fiber server = Fiber.Spawn(() =>
            {
                for (int i = 0; i < connections; i++)
                {
                    FiberSocket c = listener.Accept();
                    handlers.Spawn(() => Echo(c));
                }
            });
            var clients = Enumerable.Range(0, connections).Select(i => Fiber.Spawn(() =>
            {
                var rnd = new Random(i);
                var payload = new byte[1 + rnd.Next(i % 10 == 0 ? 200_000 : 4096)];   // every tenth is big
                rnd.NextBytes(payload);
                using FiberSocket s = NewTcp();
                s.Connect(listener.LocalEndPoint);
                // send and receive at once: a big payload fills both directions' buffers otherwise
                Fiber writer = Fiber.Spawn(() =>
                {
                    s.SendAll(payload);
                    s.Shutdown(SocketShutdown.Send);
                });
                var received = new MemoryStream();
                var buffer = new byte[16384];
                int n;
                while ((n = s.Receive(buffer)) > 0) received.Write(buffer, 0, n);
                writer.Get();
                if (received.Length != payload.Length || !SHA256.HashData(received.ToArray()).AsSpan().SequenceEqual(SHA256.HashData(payload)))
                    failures.Add($"connection {i}: {received.Length} of {payload.Length} bytes, or different bytes");
                else verified++;
            })).ToList();
            foreach (Fiber c in clients) c.Get();
            server.Get();
            handlers.Join();
        }, new HubOptions { MaxFibers = 4 * connections + 16 });
        Assert.Empty(failures);
        Assert.Equal(connections, verified);
    }

    /// <summary>Whether ::1 can be bound here (a kernel or container may have IPv6 off even when the OS supports it).</summary>
    private static string? Ipv6LoopbackMissing()
    {
        if (!Socket.OSSupportsIPv6) return "the OS reports no IPv6 support";
        try
        {
            using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            return null;
        }
        catch (SocketException e)
        {
            return $"::1 cannot be bound here ({e.SocketErrorCode})";
        }
    }

    [SkippableFact]
    public void IPv6_loopback_connect_accept_and_echo()
    {
        string? missing = Ipv6LoopbackMissing();
        Skip.If(missing is not null, "no IPv6 loopback: " + missing);        // reported as skipped, not passed
        Hub.Run(() =>
        {
            using var listener = new FiberTcpListener(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            listener.Start();
            Fiber server = Fiber.Spawn(() => Echo(listener.Accept()));
            using var s = new FiberSocket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            s.Connect(listener.LocalEndPoint);
            s.SendAll("v6"u8);
            var b = new byte[2];
            Assert.Equal(2, s.Receive(b, timeout: TimeSpan.FromSeconds(5)));
            Assert.Equal("v6"u8.ToArray(), b);
            s.Shutdown(SocketShutdown.Send);
            server.Get();
        });
    }

    [Fact]
    public void BinaryReader_and_BinaryWriter_over_FiberNetworkStream()
    {
        long sum = Hub.Run(() =>
        {
            using var listener = new FiberTcpListener(AnyLoopback);
            listener.Start();
            Fiber<long> server = Fiber.Spawn(() =>
            {
                using var reader = new BinaryReader(new FiberNetworkStream(listener.Accept()));
                long total = 0;
                for (int i = 0; i < 10_000; i++) total += reader.ReadInt64();
                return total;
            });
            FiberSocket client = NewTcp();
            client.Connect(listener.LocalEndPoint);
            using (var writer = new BinaryWriter(new FiberNetworkStream(client)))
                for (long i = 0; i < 10_000; i++) writer.Write(i * i);
            return server.Get();
        });
        Assert.Equal(Enumerable.Range(0, 10_000).Sum(i => (long)i * i), sum);
    }

    [Fact]
    public void StreamReader_and_StreamWriter_run_cooperatively_over_FiberNetworkStream()
    {
        var replies = new List<string>();
        Hub.Run(() =>
        {
            using var listener = new FiberTcpListener(AnyLoopback);
            listener.Start();
            Fiber server = Fiber.Spawn(() =>
            {
                using var stream = new FiberNetworkStream(listener.Accept());
                using var reader = new StreamReader(stream, Encoding.UTF8);
                using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
                string? line;
                while ((line = reader.ReadLine()) is not null) writer.WriteLine(line.ToUpperInvariant());
            });
            FiberSocket client = NewTcp();
            client.Connect(listener.LocalEndPoint);
            using var cs = new FiberNetworkStream(client);
            using var cr = new StreamReader(cs, Encoding.UTF8);
            using var cw = new StreamWriter(cs, new UTF8Encoding(false)) { AutoFlush = true };
            foreach (string word in new[] { "hello", "fibers", "ünïcode" })
            {
                cw.WriteLine(word);
                replies.Add(cr.ReadLine()!);
            }
            client.Shutdown(SocketShutdown.Send);
            server.Get();
        });
        Assert.Equal(["HELLO", "FIBERS", "ÜNÏCODE"], replies);
    }

    [Fact]
    public void Connection_refused_surfaces_as_SocketException_in_the_calling_fiber()
    {
        Hub.Run(() =>
        {
            IPEndPoint closedPort;
            using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                probe.Bind(AnyLoopback);
                closedPort = (IPEndPoint)probe.LocalEndPoint!;      // bound, never listening, then closed
            }
            using FiberSocket s = NewTcp();
            var e = Assert.Throws<SocketException>(() => s.Connect(closedPort));
            Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
            Assert.Equal(3, Fiber.Spawn(() => 3).Get());           // the hub goes on
        });
    }

    [Fact]
    public void Receive_timeout_raises_FiberTimeoutException_and_the_socket_stays_usable()
    {
        Hub.Run(() =>
        {
            using var listener = new FiberTcpListener(AnyLoopback);
            listener.Start();
            using FiberSocket client = NewTcp();
            client.Connect(listener.LocalEndPoint);
            using FiberSocket server = listener.Accept();
            server.Timeout = TimeSpan.FromMilliseconds(50);
            Assert.Throws<FiberTimeoutException>(() => server.Receive(new byte[4]));
            client.SendAll("ok"u8);
            var buffer = new byte[4];
            Assert.Equal(2, server.Receive(buffer, timeout: TimeSpan.FromSeconds(5)));
        });
    }

    [Fact]
    public void Closing_a_socket_wakes_the_fiber_waiting_on_it()
    {
        Hub.Run(() =>
        {
            using var listener = new FiberTcpListener(AnyLoopback);
            listener.Start();
            using FiberSocket client = NewTcp();
            client.Connect(listener.LocalEndPoint);
            FiberSocket server = listener.Accept();
            Fiber reader = Fiber.Spawn(() => server.Receive(new byte[4]));
            Fiber acceptor = Fiber.Spawn(() => listener.Accept());
            Fiber.Yield();                                         // both are waiting now
            server.Close();
            listener.Stop();
            Fiber.JoinAll([reader, acceptor]);
            Assert.IsType<ObjectDisposedException>(reader.Exception);
            Assert.IsType<ObjectDisposedException>(acceptor.Exception);
        });
    }

    [Fact]
    public void A_peer_reset_mid_stream_surfaces_as_SocketException()
    {
        Hub.Run(() =>
        {
            using var listener = new FiberTcpListener(AnyLoopback);
            listener.Start();
            FiberSocket client = NewTcp();
            client.Connect(listener.LocalEndPoint);
            using FiberSocket server = listener.Accept();
            client.SendAll(new byte[100]);
            client.Socket.LingerState = new LingerOption(true, 0);    // close with RST
            client.Close();
            var buffer = new byte[1000];
            var e = Assert.Throws<SocketException>(new Action(() =>
            {
                while (true) server.Receive(buffer);
            }));
            Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
        });
    }

    [Fact]
    public void Udp_datagrams_and_name_resolution()
    {
        Hub.Run(() =>
        {
            using var a = new FiberSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            using var b = new FiberSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            a.Socket.Bind(AnyLoopback);
            b.Socket.Bind(AnyLoopback);
            Fiber<string> receiver = Fiber.Spawn(() =>
            {
                var buffer = new byte[64];
                (int n, EndPoint from) = b.ReceiveFrom(buffer, TimeSpan.FromSeconds(5));
                return $"{Encoding.ASCII.GetString(buffer, 0, n)} from {((IPEndPoint)from).Port}";
            });
            Fiber.Yield();
            a.SendTo("ping"u8, b.Socket.LocalEndPoint!);
            Assert.Equal($"ping from {((IPEndPoint)a.Socket.LocalEndPoint!).Port}", receiver.Get());

            using var listener = new FiberTcpListener(AnyLoopback);
            listener.Start();
            using FiberSocket byName = NewTcp();
            byName.Connect("localhost", listener.LocalEndPoint.Port);   // resolved off the hub thread
            using FiberSocket accepted = listener.Accept();
            Assert.True(accepted.Socket.Connected);
        });
    }
}
