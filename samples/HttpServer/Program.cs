// An HTTP/1.1 server written in plain blocking style: one fiber per connection over FiberRuntime's sockets.
//   dotnet run -c Release --project samples/HttpServer -- --port N [--hubs K] [--model fiber|threads]
//       [--idle-timeout S] [--request-timeout S] [--max-header-bytes B]
//   (port default 8080, 0 picks a free port; K hubs, default 1: one OS thread each, sharing the port).
//   GET /plaintext -> "Hello, World!" (text/plain); GET /json -> {"message":"Hello, World!"} (application/json);
//   POST /echo -> the request body (Content-Length or chunked); anything else -> 404. Keep-alive and pipelining
//   (responses in order, one send per batch); Connection: close; a malformed request -> 400 and close; a head over the
//   limit -> 431 and close; slow clients are cut off by the timeouts (408).
//   --model threads serves the same HTTP code from a thread per connection over blocking sockets (benchmarks: `-- http`).
// Prints "listening on <endpoint>" once it accepts connections and stops cleanly on Ctrl+C / SIGTERM (stops
// accepting, lets connections finish for up to 2 s, prints "stopped").
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using FiberRuntime;
using FiberRuntime.IO;
using HttpServer;

string Arg(string name, string dflt)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt;
}

double Seconds(string name, double dflt) => double.Parse(Arg(name, dflt.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

int port = int.Parse(Arg("--port", "8080"), CultureInfo.InvariantCulture);
int hubs = int.Parse(Arg("--hubs", "1"), CultureInfo.InvariantCulture);
string model = Arg("--model", "fiber");
var options = new HttpOptions
{
    IdleTimeout = TimeSpan.FromSeconds(Seconds("--idle-timeout", 60)),
    RequestTimeout = TimeSpan.FromSeconds(Seconds("--request-timeout", 30)),
    MaxHeadBytes = int.Parse(Arg("--max-header-bytes", "8192"), CultureInfo.InvariantCulture),
};
var endPoint = new IPEndPoint(IPAddress.Loopback, port);

void Handle(FiberSocket connection, IPEndPoint remote)
{
    connection.Socket.NoDelay = true;
    new HttpConnection<FiberTransport>(new FiberTransport(connection), options).Serve();
}

using var stopped = new ManualResetEventSlim();
if (model == "threads")
{
    using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stopped.Set(); });
    using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stopped.Set(); });
    using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    listener.Bind(endPoint);
    listener.Listen(1024);
    Console.WriteLine($"listening on {listener.LocalEndPoint}");
    new Thread(() => ThreadPerConnection.Accept(listener, options)) { IsBackground = true, Name = "accept" }.Start();
    stopped.Wait();
    Console.WriteLine("stopped");
    return;
}
if (model != "fiber") throw new ArgumentException($"unknown --model {model} (fiber or threads)");

if (hubs > 1)
{
    // many hubs: each serves the same port (SO_REUSEPORT); the kernel spreads connections over them
    using var onTermMany = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stopped.Set(); });
    using var onIntMany = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stopped.Set(); });
    using (var group = new HubGroup(hubs))
    {
        Console.WriteLine($"listening on {group.Serve(endPoint, Handle)}");
        stopped.Wait();
    }
    Console.WriteLine("stopped");
    return;
}

Hub.Run(() =>
{
    var stop = new FiberEvent();
    using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
    using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
    using var server = new StreamServer(endPoint, Handle);
    server.Start();
    Console.WriteLine($"listening on {server.LocalEndPoint}");
    stop.Wait();
    server.Stop(TimeSpan.FromSeconds(2));
    Console.WriteLine("stopped");
});

/// <summary>The classic alternative: the same connection code on a thread of its own per connection.</summary>
internal static class ThreadPerConnection
{
    public static void Accept(Socket listener, HttpOptions options)
    {
        while (true)
        {
            Socket c;
            try
            {
                c = listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            c.NoDelay = true;
            new Thread(() =>
            {
                using (c) new HttpConnection<ThreadTransport>(new ThreadTransport(new ThreadTransportState(c)), options).Serve();
            }, 256 * 1024) { IsBackground = true }.Start();
        }
    }
}
