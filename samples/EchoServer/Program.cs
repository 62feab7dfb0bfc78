// The tutorial's "model 3": one thread, non-blocking I/O, events — written as plain blocking code per connection.
//   dotnet run -c Release --project samples/EchoServer -- --port N [--hubs K] [--model fiber|async|threads]
//   (port default 7000, 0 picks a free port; K hubs, default 1: one OS thread each, sharing the port).
//   --model async / threads run the same echo as an async/await Socket server or a thread per connection, for
//   the side-by-side comparison (benchmarks: `-- echo`).
// Prints "listening on <endpoint>" once it accepts connections, echoes every byte back, and stops cleanly on
// Ctrl+C / SIGTERM (stops accepting, lets connections finish for up to 2 s, prints "stopped").
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using FiberRuntime;
using FiberRuntime.IO;

string Arg(string name, string dflt)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt;
}

int port = int.Parse(Arg("--port", "7000"));
int hubs = int.Parse(Arg("--hubs", "1"));
string model = Arg("--model", "fiber");

static void Echo(FiberSocket connection, IPEndPoint remote)
{
    var buffer = new byte[16384];
    try
    {
        int n;
        while ((n = connection.Receive(buffer)) > 0) connection.SendAll(buffer.AsSpan(0, n));
    }
    catch (SocketException)
    {
        // the client went away mid-stream: nothing to echo to
    }
}

if (model != "fiber")
{
    Baseline.Serve(model, port);
    return;
}

if (hubs > 1)
{
    // many hubs: each serves the same port; the kernel spreads connections over them
    using var stopped = new ManualResetEventSlim();
    using var onTermMany = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stopped.Set(); });
    using var onIntMany = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stopped.Set(); });
    using (var group = new HubGroup(hubs))
    {
        Console.WriteLine($"listening on {group.Serve(new IPEndPoint(IPAddress.Loopback, port), Echo)}");
        stopped.Wait();
        Console.WriteLine($"connections per hub: {string.Join(", ", group.ConnectionsServedPerHub)}");
    }
    Console.WriteLine("stopped");
    return;
}

Hub.Run(() =>
{
    var stop = new FiberEvent();
    using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
    using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
    using var server = new StreamServer(new IPEndPoint(IPAddress.Loopback, port), Echo);
    server.Start();
    Console.WriteLine($"listening on {server.LocalEndPoint}");
    stop.Wait();
    server.Stop(TimeSpan.FromSeconds(2));
    Console.WriteLine("stopped");
});

/// <summary>The same echo written the two usual .NET ways, for comparison.</summary>
static class Baseline
{
    public static void Serve(string model, int port)
    {
        using var stopped = new ManualResetEventSlim();
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stopped.Set(); });
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stopped.Set(); });
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(1024);
        Console.WriteLine($"listening on {listener.LocalEndPoint}");
        if (model == "async") _ = AcceptAsync(listener);
        else if (model == "threads") new Thread(() => AcceptThreads(listener)) { IsBackground = true }.Start();
        else throw new ArgumentException($"unknown --model {model} (fiber, async or threads)");
        stopped.Wait();
        Console.WriteLine("stopped");
    }

    private static async Task AcceptAsync(Socket listener)
    {
        while (true)
        {
            Socket c = await listener.AcceptAsync();
            _ = Task.Run(async () =>
            {
                using (c)
                {
                    var buffer = new byte[16384];
                    try
                    {
                        int n;
                        while ((n = await c.ReceiveAsync(buffer)) > 0)
                        {
                            for (int sent = 0; sent < n;) sent += await c.SendAsync(buffer.AsMemory(sent, n - sent));
                        }
                    }
                    catch (SocketException)
                    {
                    }
                }
            });
        }
    }

    private static void AcceptThreads(Socket listener)
    {
        while (true)
        {
            Socket c = listener.Accept();
            new Thread(() =>
            {
                using (c)
                {
                    var buffer = new byte[16384];
                    try
                    {
                        int n;
                        while ((n = c.Receive(buffer)) > 0)
                        {
                            for (int sent = 0; sent < n;) sent += c.Send(buffer, sent, n - sent, SocketFlags.None);
                        }
                    }
                    catch (SocketException)
                    {
                    }
                }
            }, 128 * 1024) { IsBackground = true }.Start();
        }
    }
}
