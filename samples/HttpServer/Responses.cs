using System.Buffers;
using System.Text;

namespace HttpServer;

/// <summary>A connection's pending responses: everything answered since the last send goes out in one send, so a
/// batch of pipelined requests costs one system call.</summary>
internal sealed class ResponseWriter : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(4096);

    public int Count { get; private set; }

    public ReadOnlySpan<byte> Pending => _buffer.AsSpan(0, Count);

    public void Clear() => Count = 0;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (_buffer.Length - Count < bytes.Length) Grow(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(Count));
        Count += bytes.Length;
    }

    public void WriteNumber(long value)
    {
        if (_buffer.Length - Count < 20) Grow(20);
        value.TryFormat(_buffer.AsSpan(Count), out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        Count += written;
    }

    private void Grow(int more)
    {
        byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, Count + more));
        _buffer.AsSpan(0, Count).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}

/// <summary>The responses, as bytes.</summary>
internal static class Responses
{
    public static ReadOnlySpan<byte> HelloWorld => "Hello, World!"u8;
    public static ReadOnlySpan<byte> JsonHello => "{\"message\":\"Hello, World!\"}"u8;
    public static ReadOnlySpan<byte> TextPlain => "text/plain"u8;
    public static ReadOnlySpan<byte> Json => "application/json"u8;
    public static ReadOnlySpan<byte> OctetStream => "application/octet-stream"u8;
    public static ReadOnlySpan<byte> Continue => "HTTP/1.1 100 Continue\r\n\r\n"u8;

    /// <summary>Writes a complete response: status line, the headers Kestrel also sends (Content-Length,
    /// Content-Type, Date, Server), <c>Connection: close</c> when the connection ends after it, and the body.</summary>
    public static void Write(ResponseWriter w, int status, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, bool close)
    {
        w.Write(StatusLine(status));
        w.Write("Content-Length: "u8);
        w.WriteNumber(body.Length);
        w.Write("\r\nContent-Type: "u8);
        w.Write(contentType);
        w.Write("\r\nDate: "u8);
        w.Write(DateHeader.Current);
        w.Write(close ? "\r\nServer: FiberRuntime\r\nConnection: close\r\n\r\n"u8 : "\r\nServer: FiberRuntime\r\n\r\n"u8);
        w.Write(body);
    }

    /// <summary>An error response, which always closes the connection.</summary>
    public static void WriteError(ResponseWriter w, int status, string reason) =>
        Write(w, status, TextPlain, Encoding.ASCII.GetBytes(reason + "\n"), close: true);

    private static ReadOnlySpan<byte> StatusLine(int status) => status switch
    {
        200 => "HTTP/1.1 200 OK\r\n"u8,
        400 => "HTTP/1.1 400 Bad Request\r\n"u8,
        404 => "HTTP/1.1 404 Not Found\r\n"u8,
        408 => "HTTP/1.1 408 Request Timeout\r\n"u8,
        413 => "HTTP/1.1 413 Content Too Large\r\n"u8,
        431 => "HTTP/1.1 431 Request Header Fields Too Large\r\n"u8,
        501 => "HTTP/1.1 501 Not Implemented\r\n"u8,
        505 => "HTTP/1.1 505 HTTP Version Not Supported\r\n"u8,
        _ => "HTTP/1.1 500 Internal Server Error\r\n"u8,
    };
}

/// <summary>The Date header's value (RFC 9110 IMF-fixdate), formatted once a second and shared by every connection and
/// hub: a reader gets the whole array of the current second.</summary>
internal static class DateHeader
{
    private sealed record Stamp(long Second, byte[] Bytes);

    private static Stamp s_current = new(-1, []);

    public static byte[] Current
    {
        get
        {
            long second = Environment.TickCount64 / 1000;
            Stamp s = Volatile.Read(ref s_current);
            if (s.Second == second) return s.Bytes;
            s = new Stamp(second, Encoding.ASCII.GetBytes(DateTime.UtcNow.ToString("r", System.Globalization.CultureInfo.InvariantCulture)));
            Volatile.Write(ref s_current, s);
            return s.Bytes;
        }
    }
}
