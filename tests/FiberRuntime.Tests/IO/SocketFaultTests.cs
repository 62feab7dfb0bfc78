using System.Net;
using System.Net.Sockets;
using System.Text;
using FiberRuntime.IO;

namespace FiberRuntime.Tests.IO;

/// <summary>Socket faults (issue 12): a peer that resets mid-send, half-close, a peer that never reads. Each fault
/// surfaces as an exception in the one fiber doing that I/O; the hub and its other fibers go on. (Descriptor
/// exhaustion and 10k connect/close cycles run in child processes: <see cref="FaultTests"/>.)</summary>
public sealed class SocketFaultTests
{
    private static readonly IPEndPoint AnyLoopback = new(IPAddress.Loopback, 0);

    private static FiberSocket NewTcp() => new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    [Fact]
    public void A_peer_reset_mid_send_raises_a_SocketException_in_the_sending_fiber_only()
    {
        Exception? sendError = null;
        long sent = 0, ticks = 0;
        Hub.Run(() =>
        {
            using var listener = new FiberTcpListener(AnyLoopback);
            listener.Start();
            Fiber server = Fiber.Spawn(() =>
            {
                using FiberSocket c = listener.Accept();
                c.Receive(new byte[1]);
                c.Socket.LingerState = new LingerOption(true, 0);     // close with RST, data in flight
            });
            bool done = false;
            Fiber ticker = Fiber.Spawn(() => { while (!done) { ticks++; Fiber.Sleep(0.001); } });
            using FiberSocket s = NewTcp();
            s.Connect(listener.LocalEndPoint);
            var chunk = new byte[64 * 1024];
            try
            {
                for (int i = 0; i < 4096; i++)                         // up to 256 MiB: the reset arrives long before
                {
                    s.SendAll(chunk, timeout: TimeSpan.FromSeconds(30));
                    sent += chunk.Length;
                }
            }
            catch (Exception e)
            {
                sendError = e;
            }
            done = true;
            server.Join();
            ticker.Join();
            HubProbe.AssertHubWorks();
        });
        var se = Assert.IsType<SocketException>(sendError);
        Assert.Contains(se.SocketErrorCode, new[] { SocketError.ConnectionReset, SocketError.Shutdown, SocketError.ConnectionAborted });
        Assert.True(ticks > 0, "the other fiber ran while the sender was blocked");
    }

    [Fact]
    public void Half_close_delivers_the_end_of_stream_and_the_reply_still_arrives()
    {
        string reply = "";
        Hub.Run(() =>
        {
            using var listener = new FiberTcpListener(AnyLoopback);
            listener.Start();
            Fiber server = Fiber.Spawn(() =>
            {
                using FiberSocket c = listener.Accept();
                var buf = new byte[256];
                int total = 0, n;
                while ((n = c.Receive(buf)) > 0) total += n;          // until the client's FIN
                c.SendAll(Encoding.ASCII.GetBytes($"got {total} bytes"));
            });
            using FiberSocket s = NewTcp();
            s.Connect(listener.LocalEndPoint);
            s.SendAll(new byte[1000]);
            s.Shutdown(SocketShutdown.Send);
            var received = new MemoryStream();
            var buffer = new byte[256];
            int r;
            while ((r = s.Receive(buffer, timeout: TimeSpan.FromSeconds(10))) > 0) received.Write(buffer, 0, r);
            reply = Encoding.ASCII.GetString(received.ToArray());
            server.Join();
        });
        Assert.Equal("got 1000 bytes", reply);
    }

    [Fact]
    public void A_peer_that_never_reads_times_the_send_out_and_the_hub_goes_on()
    {
        Exception? sendError = null;
        long sentBeforeTimeout = 0;
        int otherWork = 0;
        Hub.Run(() =>
        {
            using var listener = new FiberTcpListener(AnyLoopback);
            listener.Start();
            using FiberSocket client = NewTcp();                     // connected, never reads
            Fiber connector = Fiber.Spawn(() => client.Connect(listener.LocalEndPoint));
            using FiberSocket c = listener.Accept();
            connector.Join();
            Fiber other = Fiber.Spawn(() => { for (int i = 0; i < 20; i++) { otherWork++; Fiber.Sleep(0.001); } });
            var chunk = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    c.SendAll(chunk, timeout: TimeSpan.FromMilliseconds(200));
                    sentBeforeTimeout += chunk.Length;
                }
            }
            catch (Exception e)
            {
                sendError = e;
            }
            other.Join();
            HubProbe.AssertHubWorks();
        });
        Assert.IsType<FiberTimeoutException>(sendError);
        Assert.True(sentBeforeTimeout > 0, "the buffers took some data first");
        Assert.Equal(20, otherWork);
    }
}
