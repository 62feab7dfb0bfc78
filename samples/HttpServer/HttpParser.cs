using System.Buffers.Text;
using System.Text;

namespace HttpServer;

/// <summary>The endpoints the sample serves.</summary>
internal enum Route : byte { NotFound, Plaintext, Json, Echo }

/// <summary>What the connection needs to know about one request, parsed from its head without allocating.</summary>
internal struct RequestHead
{
    public Route Route;
    public bool Http11;
    public bool KeepAlive;
    public bool Chunked;
    public bool ExpectContinue;
    public bool HasHost;
    public long ContentLength;          // -1: none given
}

/// <summary>A request the server answers with an error status and then closes the connection.</summary>
internal sealed class HttpError(int status, string reason) : Exception(reason)
{
    public int Status { get; } = status;

    public static HttpError BadRequest(string why) => new(400, why);
}

/// <summary>HTTP/1.1 request-line and header parsing (RFC 9112) over spans of the connection's buffer.</summary>
internal static class HttpParser
{
    /// <summary>Parses <c>METHOD SP request-target SP HTTP-version</c> (without its CRLF).</summary>
    public static void ParseRequestLine(ReadOnlySpan<byte> line, ref RequestHead head)
    {
        int sp1 = line.IndexOf((byte)' ');
        if (sp1 <= 0) throw HttpError.BadRequest("malformed request line");
        ReadOnlySpan<byte> method = line[..sp1];
        if (!IsToken(method)) throw HttpError.BadRequest("malformed method");
        ReadOnlySpan<byte> rest = line[(sp1 + 1)..];
        int sp2 = rest.IndexOf((byte)' ');
        if (sp2 <= 0) throw HttpError.BadRequest("malformed request line");
        ReadOnlySpan<byte> target = rest[..sp2];
        ReadOnlySpan<byte> version = rest[(sp2 + 1)..];
        if (target[0] != (byte)'/' || target.IndexOfAnyInRange((byte)0, (byte)' ') >= 0 || target.Contains((byte)0x7f))
            throw HttpError.BadRequest("malformed request target");
        if (version.SequenceEqual("HTTP/1.1"u8)) head.Http11 = true;
        else if (version.SequenceEqual("HTTP/1.0"u8)) head.Http11 = false;
        else if (version.Length == 8 && version.StartsWith("HTTP/"u8) && char.IsAsciiDigit((char)version[5]) && version[6] == '.' && char.IsAsciiDigit((char)version[7]))
            throw new HttpError(505, "HTTP version not supported");
        else throw HttpError.BadRequest("malformed HTTP version");
        head.KeepAlive = head.Http11;
        int query = target.IndexOf((byte)'?');
        ReadOnlySpan<byte> path = query >= 0 ? target[..query] : target;
        head.Route = path switch
        {
            _ when path.SequenceEqual("/plaintext"u8) && method.SequenceEqual("GET"u8) => Route.Plaintext,
            _ when path.SequenceEqual("/json"u8) && method.SequenceEqual("GET"u8) => Route.Json,
            _ when path.SequenceEqual("/echo"u8) && method.SequenceEqual("POST"u8) => Route.Echo,
            _ => Route.NotFound,
        };
    }

    /// <summary>Parses the header lines (each ending in CRLF) that follow the request line.</summary>
    public static void ParseHeaders(ReadOnlySpan<byte> block, ref RequestHead head)
    {
        head.ContentLength = -1;
        while (!block.IsEmpty)
        {
            int end = block.IndexOf("\r\n"u8);
            ReadOnlySpan<byte> line = block[..end];
            block = block[(end + 2)..];
            if (line.IsEmpty) break;
            int colon = line.IndexOf((byte)':');
            if (colon <= 0) throw HttpError.BadRequest("malformed header line");
            ReadOnlySpan<byte> name = line[..colon];
            if (!IsToken(name)) throw HttpError.BadRequest("malformed header name");   // also refuses obs-fold and "Name :"
            ReadOnlySpan<byte> value = line[(colon + 1)..].Trim(" \t"u8);
            if (value.IndexOfAnyInRange((byte)0, (byte)0x08) >= 0 || value.IndexOfAnyInRange((byte)0x0a, (byte)0x1f) >= 0)
                throw HttpError.BadRequest("control character in a header value");
            Header(name, value, ref head);
        }
        if (head.Http11 && !head.HasHost) throw HttpError.BadRequest("an HTTP/1.1 request needs a Host header");
        // both framings at once is how request smuggling starts (RFC 9112 6.1): refuse it
        if (head.Chunked && head.ContentLength >= 0) throw HttpError.BadRequest("both Content-Length and Transfer-Encoding");
    }

    private static void Header(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ref RequestHead head)
    {
        switch (name.Length)
        {
            case 4 when Ascii.EqualsIgnoreCase(name, "host"u8):
                if (head.HasHost) throw HttpError.BadRequest("more than one Host header");
                head.HasHost = true;
                break;
            case 6 when Ascii.EqualsIgnoreCase(name, "expect"u8):
                if (Ascii.EqualsIgnoreCase(value, "100-continue"u8)) head.ExpectContinue = true;
                break;
            case 10 when Ascii.EqualsIgnoreCase(name, "connection"u8):
                foreach (Range r in value.Split((byte)','))
                {
                    ReadOnlySpan<byte> option = value[r].Trim(" \t"u8);
                    if (Ascii.EqualsIgnoreCase(option, "close"u8)) head.KeepAlive = false;
                    else if (Ascii.EqualsIgnoreCase(option, "keep-alive"u8) && !head.Http11) head.KeepAlive = true;
                }
                break;
            case 14 when Ascii.EqualsIgnoreCase(name, "content-length"u8):
                if (value.IsEmpty || value.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0 ||
                    !Utf8Parser.TryParse(value, out long length, out int used) || used != value.Length)
                    throw HttpError.BadRequest("malformed Content-Length");
                if (head.ContentLength >= 0 && head.ContentLength != length) throw HttpError.BadRequest("conflicting Content-Length headers");
                head.ContentLength = length;
                break;
            case 17 when Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8):
                if (head.Chunked || !Ascii.EqualsIgnoreCase(value, "chunked"u8))
                    throw new HttpError(501, "only a single \"chunked\" transfer coding is implemented");
                if (!head.Http11) throw HttpError.BadRequest("Transfer-Encoding in an HTTP/1.0 request");
                head.Chunked = true;
                break;
        }
    }

    /// <summary>Parses a chunk-size line (hex digits, then optional extensions after ';').</summary>
    public static long ParseChunkSize(ReadOnlySpan<byte> line)
    {
        int semi = line.IndexOf((byte)';');
        ReadOnlySpan<byte> digits = (semi >= 0 ? line[..semi] : line).TrimEnd(" \t"u8);
        if (digits.IsEmpty || digits.Length > 15) throw HttpError.BadRequest("malformed chunk size");
        long size = 0;
        foreach (byte b in digits)
        {
            int d = HexDigit(b);
            if (d < 0) throw HttpError.BadRequest("malformed chunk size");
            size = size * 16 + d;
        }
        return size;
    }

    private static int HexDigit(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    // tchar (RFC 9110 5.6.2): visible ASCII except delimiters
    private static bool IsToken(ReadOnlySpan<byte> s) =>
        !s.IsEmpty && s.IndexOfAnyExcept(TokenChars) < 0;

    private static readonly System.Buffers.SearchValues<byte> TokenChars = System.Buffers.SearchValues.Create(
        Encoding.ASCII.GetBytes("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"));
}
