// The tutorial's "model 3": one thread, non-blocking I/O, events — written as plain blocking code per connection.
//   dotnet run -c Release --project samples/EchoServer -- --port N      (default 7000; 0 picks a free port)
// Prints "listening on <endpoint>" once it accepts connections, echoes every byte back, and stops cleanly on
// Ctrl+C / SIGTERM (stops accepting, lets connections finish for up to 2 s, prints "stopped").
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using FiberRuntime;
using FiberRuntime.IO;

int port = args.Length >= 2 && args[0] == "--port" ? int.Parse(args[1]) : 7000;

Hub.Run(() =>
{
    var stop = new FiberEvent();
    using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
    using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
    using var server = new StreamServer(new IPEndPoint(IPAddress.Loopback, port), (connection, remote) =>
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
    });
    server.Start();
    Console.WriteLine($"listening on {server.LocalEndPoint}");
    stop.Wait();
    server.Stop(TimeSpan.FromSeconds(2));
    Console.WriteLine("stopped");
});
