using System.Net.Sockets;
using System.Text;

namespace FiberRuntime.Tests;

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
