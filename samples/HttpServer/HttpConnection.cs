using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;

namespace HttpServer;

/// <summary>Limits and timeouts of the server.</summary>
internal sealed record HttpOptions
{
    /// <summary>How long a keep-alive connection may wait for its next request.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long one request may take to arrive (head and body) once its first byte came, and how long a
    /// client may take to read a response: slow clients (slowloris) lose their connection, with a 408.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The request line and headers together; beyond it, 431.</summary>
    public int MaxHeadBytes { get; init; } = 8 * 1024;

    /// <summary>The largest request body accepted; beyond it, 413.</summary>
    public int MaxBodyBytes { get; init; } = 1024 * 1024;
}

/// <summary>
/// One HTTP/1.1 connection in plain blocking style: read a request, answer it, repeat. Requests are parsed in place in
/// the connection's receive buffer; responses collect in a <see cref="ResponseWriter"/> and go out when the buffer
/// holds no further complete request, so pipelined requests are answered in order with one send per batch.
/// </summary>
internal sealed class HttpConnection<T>(T transport, HttpOptions options) where T : struct, ITransport
{
    private const int BufferSize = 16 * 1024;
    private const int MaxLineBytes = 4096;          // chunk-size and trailer lines

    private T _io = transport;
    private byte[] _in = [];
    private int _start, _end;                       // unconsumed bytes: _in[_start.._end]
    private readonly ResponseWriter _out = new();
    private byte[]? _body;                          // POST /echo's body, rented when first needed
    private int _bodyLength;
    private bool _inRequest;                        // between a request's first byte and its response
    private long _deadline;                         // of the current request, Stopwatch ticks

    public void Serve()
    {
        _in = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (ServeOne()) { }
            Flush();
        }
        catch (HttpError e)
        {
            Responses.WriteError(_out, e.Status, e.Message);
            CloseAfterError();
        }
        catch (TimeoutException)
        {
            // a request that started and did not finish in time gets a 408; an idle keep-alive connection just ends
            if (_inRequest || _start < _end)
            {
                _out.Clear();
                Responses.WriteError(_out, 408, "request timeout");
                CloseAfterError();
            }
        }
        catch (SocketException)
        {
            // the client went away
        }
        catch (ObjectDisposedException)
        {
            // the server closed the connection (shutting down)
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_in);
            if (_body is not null) ArrayPool<byte>.Shared.Return(_body);
            _out.Dispose();
        }
    }

    /// <summary>Reads and answers one request; false when the connection is to end.</summary>
    private bool ServeOne()
    {
        _inRequest = false;
        _deadline = 0;
        var head = default(RequestHead);
        int lineLength = -1, scanned = 0, headLength;
        while ((headLength = FindHead(ref head, ref lineLength, ref scanned)) < 0)
        {
            if (!Fill()) return false;          // end of stream (a partial request is dropped, as servers do)
        }
        _inRequest = true;
        HttpParser.ParseHeaders(_in.AsSpan(_start + lineLength + 2, headLength - lineLength - 2), ref head);
        _start += headLength;

        bool echo = head.Route == Route.Echo;
        _bodyLength = 0;
        if (head.ContentLength > options.MaxBodyBytes) throw new HttpError(413, "request body too large");
        if (head.ExpectContinue && (head.Chunked || head.ContentLength > 0) && _start == _end) _out.Write(Responses.Continue);
        if (head.Chunked) ReadChunkedBody(echo);
        else if (head.ContentLength > 0) ReadBody(head.ContentLength, echo);

        bool close = !head.KeepAlive;
        switch (head.Route)
        {
            case Route.Plaintext: Responses.Write(_out, 200, Responses.TextPlain, Responses.HelloWorld, close); break;
            case Route.Json: Responses.Write(_out, 200, Responses.Json, Responses.JsonHello, close); break;
            case Route.Echo: Responses.Write(_out, 200, Responses.OctetStream, _body.AsSpan(0, _bodyLength), close); break;
            default: Responses.Write(_out, 404, Responses.TextPlain, "Not Found"u8, close); break;
        }
        if (_out.Count >= BufferSize) Flush();     // a long pipeline: do not let the batch grow without bound
        return !close;
    }

    /// <summary>Looks for the end of the request head (the empty line) in the buffered bytes; returns its length
    /// including that line, or -1 when more bytes are needed. The request line is checked as soon as it is complete, so
    /// garbage is refused at once; a bare LF is refused; a head over the limit is refused with 431.</summary>
    private int FindHead(ref RequestHead head, ref int lineLength, ref int scanned)
    {
        ReadOnlySpan<byte> data = _in.AsSpan(_start, _end - _start);
        while (true)
        {
            int rel = data[scanned..].IndexOf((byte)'\n');
            if (rel < 0) break;
            int lf = scanned + rel;
            if (lf >= options.MaxHeadBytes) throw new HttpError(431, "request header fields too large");
            if (lf == 0 || data[lf - 1] != (byte)'\r') throw HttpError.BadRequest("bare LF in the request head");
            if (lineLength < 0)
            {
                lineLength = lf - 1;
                HttpParser.ParseRequestLine(data[..lineLength], ref head);
            }
            else if (data[lf - 2] == (byte)'\n')
            {
                return lf + 1;
            }
            scanned = lf + 1;
        }
        scanned = data.Length;
        if (data.Length >= options.MaxHeadBytes) throw new HttpError(431, "request header fields too large");
        return -1;
    }

    private void ReadBody(long length, bool keep)
    {
        while (length > 0)
        {
            if (_start == _end && !Fill()) throw new SocketException((int)SocketError.ConnectionReset);
            int take = (int)Math.Min(length, _end - _start);
            if (keep) AppendBody(_in.AsSpan(_start, take));
            _start += take;
            length -= take;
        }
    }

    private void ReadChunkedBody(bool keep)
    {
        long total = 0;
        while (true)
        {
            long size = HttpParser.ParseChunkSize(ReadLine());
            if (size == 0) break;
            total += size;
            if (total > options.MaxBodyBytes) throw new HttpError(413, "request body too large");
            ReadBody(size, keep);
            if (!ReadLine().IsEmpty) throw HttpError.BadRequest("chunk data longer than its size");
        }
        while (!ReadLine().IsEmpty) { }         // trailer fields: read and ignored
    }

    /// <summary>Reads one CRLF-terminated line of the body framing and consumes it.</summary>
    private ReadOnlySpan<byte> ReadLine()
    {
        while (true)
        {
            int crlf = _in.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (crlf >= 0)
            {
                ReadOnlySpan<byte> line = _in.AsSpan(_start, crlf);
                _start += crlf + 2;
                return line;
            }
            if (_end - _start > MaxLineBytes) throw HttpError.BadRequest("chunk line too long");
            if (!Fill()) throw new SocketException((int)SocketError.ConnectionReset);
        }
    }

    private void AppendBody(ReadOnlySpan<byte> bytes)
    {
        _body ??= ArrayPool<byte>.Shared.Rent(Math.Max(4096, bytes.Length));
        if (_body.Length - _bodyLength < bytes.Length)
        {
            byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_body.Length * 2, _bodyLength + bytes.Length));
            _body.AsSpan(0, _bodyLength).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_body);
            _body = bigger;
        }
        bytes.CopyTo(_body.AsSpan(_bodyLength));
        _bodyLength += bytes.Length;
    }

    /// <summary>Sends what is pending, then receives more bytes; false at the end of the stream. The only place the
    /// connection waits for the client: so every response is out before the server waits.</summary>
    private bool Fill()
    {
        bool answered = _out.Count > 0;
        Flush();
        if (_start == _end) _start = _end = 0;
        else if (_end == _in.Length)
        {
            _in.AsSpan(_start, _end - _start).CopyTo(_in);
            _end -= _start;
            _start = 0;
        }
        TimeSpan timeout = _start == _end && !_inRequest ? options.IdleTimeout : RequestTimeLeft();
        int n = answered && _start == _end ? _io.ReceiveAfterWait(_in.AsSpan(_end), timeout) : _io.Receive(_in.AsSpan(_end), timeout);
        if (n == 0) return false;
        _end += n;
        return true;
    }

    private TimeSpan RequestTimeLeft()
    {
        long now = Stopwatch.GetTimestamp();
        if (_deadline == 0) _deadline = now + (long)(options.RequestTimeout.TotalSeconds * Stopwatch.Frequency);
        long left = _deadline - now;
        if (left <= 0) throw new TimeoutException("request timeout");
        return Stopwatch.GetElapsedTime(0, left);
    }

    private void Flush()
    {
        if (_out.Count == 0) return;
        _io.Send(_out.Pending, options.RequestTimeout);
        _out.Clear();
    }

    private void CloseAfterError()
    {
        try
        {
            Flush();
            _io.LingeringClose();
        }
        catch (Exception e) when (e is SocketException or TimeoutException or ObjectDisposedException)
        {
            // the client is gone or will not listen: closing is all that is left
        }
    }
}
