// A fresh application using FiberRuntime from its NuGet package: fibers, sleeps, and socket I/O over loopback.
// tests/FiberRuntime.Tests/Packaging/PackageConsumerTests.cs runs it and compares its output exactly.
using System.Net;
using System.Net.Sockets;
using System.Text;
using FiberRuntime;
using FiberRuntime.IO;

Hub.Run(() =>
{
    // fibers that sleep wake in deadline order, not in the order they were spawned
    var woke = new List<string>();
    Fiber[] sleepers =
    [
        .. new[] { ("third", 0.15), ("first", 0.05), ("second", 0.10) }
            .Select(s => Fiber.Spawn(() => { Fiber.Sleep(s.Item2); woke.Add(s.Item1); })),
    ];
    Fiber.JoinAll(sleepers);
    Console.WriteLine("woke: " + string.Join(", ", woke));
    Console.WriteLine("answer: " + Fiber.Spawn(() => 6 * 7).Get());

    // an echo server and its client, each a fiber on this one hub thread
    using var listener = new FiberTcpListener(new IPEndPoint(IPAddress.Loopback, 0));
    listener.Start();
    Fiber<int> server = Fiber.Spawn(() =>
    {
        using FiberSocket connection = listener.Accept();
        var buffer = new byte[1024];
        int echoed = 0, n;
        while ((n = connection.Receive(buffer)) > 0)
        {
            connection.SendAll(buffer.AsSpan(0, n));
            echoed += n;
        }
        return echoed;
    });
    using var client = new FiberSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    client.Connect(listener.LocalEndPoint);
    foreach (string message in new[] { "hello", "from a fiber" })
    {
        client.SendAll(Encoding.UTF8.GetBytes(message));
        var reply = new byte[message.Length];
        for (int got = 0; got < reply.Length;)
        {
            int n = client.Receive(reply.AsSpan(got));
            if (n == 0) throw new IOException("the echo server closed early");
            got += n;
        }
        Console.WriteLine("echo: " + Encoding.UTF8.GetString(reply));
    }
    client.Shutdown(SocketShutdown.Send);
    Console.WriteLine($"server echoed {server.Get()} bytes");
});
Console.WriteLine("done");
