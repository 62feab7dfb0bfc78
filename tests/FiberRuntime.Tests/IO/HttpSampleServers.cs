using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using FiberRuntime.Tests.Scheduling;
using Xunit.Abstractions;

namespace FiberRuntime.Tests.IO;

/// <summary>samples/HttpServer as child processes, one per model, started on first use and stopped with SIGTERM when
/// the test class is done. Short timeouts (2 s) so the slow-client tests finish quickly.</summary>
public sealed partial class HttpSampleServers : IDisposable
{
    private readonly Dictionary<string, (Process Process, int Port)> _servers = [];

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();

    /// <summary>The models the conformance tests run against: one hub, two hubs, a thread per connection.</summary>
    public static TheoryData<string> Models => new() { "fiber", "fiber-2-hubs", "threads" };

    public static readonly TimeSpan ServerTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The port of the running server for <paramref name="model"/>, started when first asked for.</summary>
    public int Port(string model)
    {
        lock (_servers)
        {
            if (_servers.TryGetValue(model, out var s)) return s.Port;
            string[] args = model switch
            {
                "fiber" => [],
                "fiber-2-hubs" => ["--hubs", "2"],
                "threads" => ["--model", "threads"],
                _ => throw new ArgumentException(model),
            };
            (Process p, int port) = Start(args);
            _servers[model] = (p, port);
            return port;
        }
    }

    /// <summary>Starts the sample on a free port with the test timeouts; returns the process and its port.</summary>
    public static (Process Process, int Port) Start(params string[] extra)
    {
        string dll = new SamplesTests(new DiscardOutput()).SampleDll("HttpServer");
        var psi = new ProcessStartInfo(ProcessRun.DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])[dll, "--port", "0", "--idle-timeout", "2", "--request-timeout", "2", .. extra]) psi.ArgumentList.Add(a);
        Process p = Process.Start(psi)!;
        string first = p.StandardOutput.ReadLine() ?? "";
        Match m = ListeningLine().Match(first);
        if (!m.Success)
        {
            p.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"unexpected first line: {first} {p.StandardError.ReadToEnd()}");
        }
        return (p, int.Parse(m.Groups[1].Value));
    }

    /// <summary>Sends SIGTERM and waits for the exit; returns (exited in time, exit code, the rest of standard output).</summary>
    public static (bool Exited, int ExitCode, string Output) Terminate(Process p)
    {
        using (Process kill = Process.Start("kill", ["-TERM", p.Id.ToString()])!) kill.WaitForExit();
        bool exited = p.WaitForExit(15_000);
        if (!exited) p.Kill(entireProcessTree: true);
        return (exited, exited ? p.ExitCode : -1, exited ? p.StandardOutput.ReadToEnd() : "");
    }

    public void Dispose()
    {
        foreach ((Process p, _) in _servers.Values)
        {
            Terminate(p);
            p.Dispose();
        }
    }

    private sealed class DiscardOutput : ITestOutputHelper
    {
        public void WriteLine(string message) { }

        public void WriteLine(string format, params object[] args) { }
    }
}

/// <summary>A response as read off the wire.</summary>
public sealed record HttpResponse(int Status, Dictionary<string, string> Headers, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);

    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out string? v) ? v : null;
}

/// <summary>A raw HTTP/1.1 client over a blocking socket: sends exactly the bytes given and parses responses
/// (Content-Length framed, as the sample always sends).</summary>
public sealed class RawHttpClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    public RawHttpClient(int port, TimeSpan? readTimeout = null)
    {
        _socket.Connect("127.0.0.1", port);
        _socket.NoDelay = true;
        _socket.ReceiveTimeout = (int)(readTimeout ?? TimeSpan.FromSeconds(30)).TotalMilliseconds;
    }

    public void Send(string ascii) => Send(Encoding.ASCII.GetBytes(ascii));

    public void Send(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty) bytes = bytes[_socket.Send(bytes)..];
    }

    /// <summary>Reads one response; throws at the end of the stream.</summary>
    public HttpResponse Read()
    {
        string statusLine = ReadLine() ?? throw new EndOfStreamException("the server closed the connection");
        string[] parts = statusLine.Split(' ', 3);
        Assert.Equal("HTTP/1.1", parts[0]);
        var headers = new Dictionary<string, string>();
        for (string? line = ReadLine(); !string.IsNullOrEmpty(line); line = ReadLine())
        {
            int colon = line.IndexOf(':');
            headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }
        int length = int.Parse(headers["content-length"]);
        var body = new byte[length];
        for (int got = 0; got < length;)
        {
            if (_start == _end && !Fill()) throw new EndOfStreamException("the body was cut short");
            int n = Math.Min(length - got, _end - _start);
            _buffer.AsSpan(_start, n).CopyTo(body.AsSpan(got));
            _start += n;
            got += n;
        }
        return new HttpResponse(int.Parse(parts[1]), headers, body);
    }

    /// <summary>True when the server has closed the connection (reads end of stream, or a reset) with nothing more sent.</summary>
    public bool ServerClosed()
    {
        try
        {
            return _start == _end && !Fill();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
    }

    private string? ReadLine()
    {
        while (true)
        {
            int lf = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (lf >= 0)
            {
                string line = Encoding.ASCII.GetString(_buffer, _start, lf).TrimEnd('\r');
                _start += lf + 1;
                return line;
            }
            if (!Fill()) return null;
        }
    }

    private bool Fill()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        int n = _socket.Receive(_buffer.AsSpan(_end));
        _end += n;
        return n > 0;
    }

    public void Dispose() => _socket.Dispose();
}
