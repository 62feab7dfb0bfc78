// Load for samples/EchoServer: C connections, each sending B-byte messages and waiting for the echo, for S seconds.
//   dotnet run -c Release --project samples/EchoClient -- --host H --port N --connections C --seconds S --size B
// Prints one line: round trips, throughput, latency percentiles and the number of errors (bytes that did not come
// back intact). Every connection is a fiber of one hub thread.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FiberRuntime;
using FiberRuntime.IO;

string Arg(string name, string dflt)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt;
}

string host = Arg("--host", "127.0.0.1");
int port = int.Parse(Arg("--port", "7000"));
int connections = int.Parse(Arg("--connections", "100"));
double seconds = double.Parse(Arg("--seconds", "5"), System.Globalization.CultureInfo.InvariantCulture);
int size = int.Parse(Arg("--size", "64"));

string report = Hub.Run(() =>
{
    long deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
    var latencies = new List<long>[connections];
    int errors = 0;
    var fibers = Enumerable.Range(0, connections).Select(i => Fiber.Spawn(() =>
    {
        var samples = latencies[i] = new List<long>(1024);
        var payload = new byte[size];
        new Random(i).NextBytes(payload);
        var echo = new byte[size];
        using var socket = new FiberSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Socket.NoDelay = true;
        socket.Connect(host, port);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            long start = Stopwatch.GetTimestamp();
            socket.SendAll(payload);
            int got = 0;
            while (got < size)
            {
                int n = socket.Receive(echo.AsSpan(got));
                if (n == 0) throw new IOException("the server closed the connection");
                got += n;
            }
            samples.Add(Stopwatch.GetTimestamp() - start);
            if (!echo.AsSpan().SequenceEqual(payload)) errors++;
        }
    })).ToList();
    var sw = Stopwatch.StartNew();
    foreach (Fiber f in fibers) f.Join();
    double elapsed = sw.Elapsed.TotalSeconds;
    errors += fibers.Count(f => !f.IsSuccessful);
    long[] all = latencies.Where(l => l is not null).SelectMany(l => l).Order().ToArray();
    double Us(double q) => all.Length == 0 ? 0 : all[(int)Math.Min(all.Length - 1, q * all.Length)] * 1e6 / Stopwatch.Frequency;
    return $"{connections} connections, {size} B messages, {elapsed:F1} s: {all.Length} round trips, {all.Length / elapsed:F0}/s, " +
           $"{all.Length * (double)size / elapsed / 1e6:F2} MB/s each way, latency p50 {Us(0.50):F0} us p99 {Us(0.99):F0} us, errors {errors}";
}, new HubOptions { MaxFibers = connections + 16 });
Console.WriteLine(report);
