using System.Text;

namespace FiberRuntime.Tests.IO;

/// <summary>samples/HttpServer's HTTP/1.1 behaviour through raw sockets, for each model (one hub, two hubs, a thread
/// per connection): the endpoints, keep-alive, pipelining, Connection: close, and the error and timeout paths.</summary>
public sealed class HttpServerSampleTests(HttpSampleServers servers) : IClassFixture<HttpSampleServers>
{
    private const string Plaintext = "GET /plaintext HTTP/1.1\r\nHost: test\r\n\r\n";
    private const string Json = "GET /json HTTP/1.1\r\nHost: test\r\n\r\n";

    private static string Echo(string body) => $"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";

    [Theory]
    [MemberData(nameof(HttpSampleServers.Models), MemberType = typeof(HttpSampleServers))]
    public void Plaintext_json_and_404_on_one_keep_alive_connection(string model)
    {
        using var c = new RawHttpClient(servers.Port(model));
        c.Send(Plaintext);
        HttpResponse r = c.Read();
        Assert.Equal(200, r.Status);
        Assert.Equal("Hello, World!", r.Text);
        Assert.Equal("text/plain", r.Header("Content-Type"));
        Assert.NotNull(r.Header("Date"));
        Assert.Null(r.Header("Connection"));

        c.Send(Json);
        r = c.Read();
        Assert.Equal(200, r.Status);
        Assert.Equal("{\"message\":\"Hello, World!\"}", r.Text);
        Assert.Equal("application/json", r.Header("Content-Type"));

        foreach (string miss in (string[])["GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n", "POST /plaintext HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"])
        {
            c.Send(miss);
            Assert.Equal(404, c.Read().Status);
        }
        c.Send("GET /plaintext?x=1 HTTP/1.1\r\nhOsT: t\r\n\r\n");        // a query string, header names in any case
        Assert.Equal("Hello, World!", c.Read().Text);
    }

    [Theory]
    [MemberData(nameof(HttpSampleServers.Models), MemberType = typeof(HttpSampleServers))]
    public void Echo_returns_Content_Length_and_chunked_bodies(string model)
    {
        using var c = new RawHttpClient(servers.Port(model));
        c.Send(Echo("hello"));
        HttpResponse r = c.Read();
        Assert.Equal(200, r.Status);
        Assert.Equal("hello", r.Text);

        // a body larger than the receive buffer, in several writes
        byte[] big = new byte[200_000];
        new Random(13).NextBytes(big);
        c.Send($"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {big.Length}\r\n\r\n");
        c.Send(big.AsSpan(0, 70_000));
        c.Send(big.AsSpan(70_000));
        Assert.Equal(big, c.Read().Body);

        // chunked: an extension, several chunks, a trailer
        c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\nA\r\nchunked!!!\r\n0\r\nX-Trailer: yes\r\n\r\n");
        Assert.Equal("hello chunked!!!", c.Read().Text);
        c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        Assert.Equal("", c.Read().Text);

        // Expect: 100-continue: the interim response comes first, then the body is sent
        c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
        Assert.Equal(100, ReadInterim(c));
        c.Send("body");
        Assert.Equal("body", c.Read().Text);
    }

    private static int ReadInterim(RawHttpClient c)
    {
        // "HTTP/1.1 100 Continue" has no Content-Length: read it as a response with an empty body
        try
        {
            return c.Read().Status;
        }
        catch (KeyNotFoundException)
        {
            return 100;
        }
    }

    [Theory]
    [MemberData(nameof(HttpSampleServers.Models), MemberType = typeof(HttpSampleServers))]
    public void Pipelined_requests_are_answered_in_order(string model)
    {
        using var c = new RawHttpClient(servers.Port(model));
        var requests = new StringBuilder();
        var expected = new List<(int Status, string Body)>();
        for (int i = 0; i < 60; i++)
        {
            switch (i % 4)
            {
                case 0: requests.Append(Plaintext); expected.Add((200, "Hello, World!")); break;
                case 1: requests.Append(Json); expected.Add((200, "{\"message\":\"Hello, World!\"}")); break;
                case 2: requests.Append(Echo($"request {i}")); expected.Add((200, $"request {i}")); break;
                default: requests.Append($"GET /missing/{i} HTTP/1.1\r\nHost: t\r\n\r\n"); expected.Add((404, "Not Found")); break;
            }
        }
        c.Send(requests.ToString());             // all at once: the server sees them in one or a few receives
        foreach ((int status, string body) in expected)
        {
            HttpResponse r = c.Read();
            Assert.Equal(status, r.Status);
            Assert.Equal(body, r.Text);
        }
        // and the connection is still usable afterwards
        c.Send(Plaintext);
        Assert.Equal(200, c.Read().Status);
    }

    [Theory]
    [MemberData(nameof(HttpSampleServers.Models), MemberType = typeof(HttpSampleServers))]
    public void Connection_close_and_HTTP_1_0_end_the_connection_after_the_response(string model)
    {
        using (var c = new RawHttpClient(servers.Port(model)))
        {
            c.Send("GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" + Plaintext);     // the second is never answered
            HttpResponse r = c.Read();
            Assert.Equal("close", r.Header("Connection"));
            Assert.Equal("Hello, World!", r.Text);
            Assert.True(c.ServerClosed());
        }
        using (var c = new RawHttpClient(servers.Port(model)))
        {
            c.Send("GET /json HTTP/1.0\r\n\r\n");
            Assert.Equal(200, c.Read().Status);
            Assert.True(c.ServerClosed());
        }
        using (var c = new RawHttpClient(servers.Port(model)))
        {
            c.Send("GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            Assert.Equal(200, c.Read().Status);
            c.Send("GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            Assert.Equal(200, c.Read().Status);
        }
    }

    public static TheoryData<string, string, int> BadRequests()
    {
        var data = new TheoryData<string, string, int>();
        (string Request, int Status)[] cases =
        [
            ("GARBAGE\r\n\r\n", 400),
            ("GARBAGE\r\n", 400),                                             // refused as soon as the line is complete
            ("GET\r\nHost: t\r\n\r\n", 400),
            ("GET /plaintext\r\nHost: t\r\n\r\n", 400),
            ("GET plaintext HTTP/1.1\r\nHost: t\r\n\r\n", 400),
            ("GET /plaintext HTTP/1.1 extra\r\nHost: t\r\n\r\n", 400),
            ("G(T /plaintext HTTP/1.1\r\nHost: t\r\n\r\n", 400),
            ("GET /plaintext HTTP/1.1\nHost: t\n\n", 400),                    // bare LF
            ("GET /plaintext HTTP/2.0\r\nHost: t\r\n\r\n", 505),
            ("GET /plaintext HTTP/1.1\r\n\r\n", 400),                         // no Host
            ("GET /plaintext HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n", 400),
            ("GET /plaintext HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n", 400),
            ("GET /plaintext HTTP/1.1\r\nHost: t\r\n folded: x\r\n\r\n", 400),
            ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 12x\r\n\r\n", 400),
            ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
            ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
            ("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
            ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n", 413),
        ];
        foreach (string model in (string[])["fiber", "threads"])
            foreach ((string request, int status) in cases) data.Add(model, request, status);
        return data;
    }

    [Theory]
    [MemberData(nameof(BadRequests))]
    public void A_malformed_request_gets_its_error_status_and_the_connection_closes(string model, string request, int status)
    {
        using var c = new RawHttpClient(servers.Port(model));
        c.Send(Plaintext);                            // a good request first: its response still comes, in order
        Assert.Equal(200, c.Read().Status);
        c.Send(request);
        HttpResponse r = c.Read();
        Assert.Equal(status, r.Status);
        Assert.Equal("close", r.Header("Connection"));
        Assert.True(c.ServerClosed());
    }

    [Theory]
    [MemberData(nameof(HttpSampleServers.Models), MemberType = typeof(HttpSampleServers))]
    public void Headers_over_the_limit_get_431_and_the_connection_closes(string model)
    {
        using var c = new RawHttpClient(servers.Port(model));
        c.Send("GET /plaintext HTTP/1.1\r\nHost: t\r\nX-Big: " + new string('a', 10_000) + "\r\n\r\n");
        HttpResponse r = c.Read();
        Assert.Equal(431, r.Status);
        Assert.True(c.ServerClosed());
        // just under the limit is fine
        using var ok = new RawHttpClient(servers.Port(model));
        ok.Send("GET /plaintext HTTP/1.1\r\nHost: t\r\nX-Big: " + new string('a', 7_000) + "\r\n\r\n");
        Assert.Equal(200, ok.Read().Status);
    }

    [Theory]
    [MemberData(nameof(HttpSampleServers.Models), MemberType = typeof(HttpSampleServers))]
    public void Slow_clients_are_cut_off_by_the_timeouts(string model)
    {
        int port = servers.Port(model);
        // a request head that never completes (slowloris): 408 once the request timeout (2 s here) passes
        using (var slow = new RawHttpClient(port))
        {
            slow.Send("GET /plaintext HTTP/1.1\r\nHo");
            Thread.Sleep(500);
            slow.Send("st: t\r\n");                  // still dripping, still within the request's deadline
            HttpResponse r = slow.Read();            // blocks until the server gives up on it
            Assert.Equal(408, r.Status);
            Assert.True(slow.ServerClosed());
        }
        // a body that never arrives
        using (var slowBody = new RawHttpClient(port))
        {
            slowBody.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
            Assert.Equal(408, slowBody.Read().Status);
        }
        // an idle keep-alive connection is closed without a response after the idle timeout (2 s here)
        using (var idle = new RawHttpClient(port))
        {
            idle.Send(Plaintext);
            Assert.Equal(200, idle.Read().Status);
            Assert.True(idle.ServerClosed());
        }
    }
}
