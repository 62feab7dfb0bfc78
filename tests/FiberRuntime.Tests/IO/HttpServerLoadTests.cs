using System.Net.Sockets;
using System.Text;

namespace FiberRuntime.Tests.IO;

/// <summary>samples/HttpServer under many concurrent keep-alive connections, and its shutdown on SIGTERM.</summary>
public sealed class HttpServerLoadTests
{
    [Theory]
    [InlineData("fiber")]
    [InlineData("fiber-2-hubs")]
    public async Task Many_concurrent_keep_alive_connections_get_every_response(string model)
    {
        const int connections = 500, requestsEach = 40, pipelineDepth = 4;
        (System.Diagnostics.Process server, int port) = HttpSampleServers.Start(model == "fiber" ? [] : ["--hubs", "2"]);
        try
        {
            byte[] batch = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("GET /plaintext HTTP/1.1\r\nHost: load\r\n\r\n", pipelineDepth)));
            long ok = 0, wrong = 0;
            async Task Client()
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync("127.0.0.1", port);
                var buffer = new byte[8192];
                var pending = new StringBuilder();
                for (int sent = 0; sent < requestsEach; sent += pipelineDepth)
                {
                    await s.SendAsync(batch);
                    int answered = 0;
                    while (answered < pipelineDepth)
                    {
                        int n = await s.ReceiveAsync(buffer);
                        if (n == 0) throw new EndOfStreamException("the server closed a keep-alive connection");
                        pending.Append(Encoding.ASCII.GetString(buffer, 0, n));
                        string text = pending.ToString();
                        int end;
                        while ((end = text.IndexOf("Hello, World!", StringComparison.Ordinal)) >= 0)
                        {
                            if (text.StartsWith("HTTP/1.1 200 OK\r\n", StringComparison.Ordinal)) Interlocked.Increment(ref ok);
                            else Interlocked.Increment(ref wrong);
                            text = text[(end + "Hello, World!".Length)..];
                            answered++;
                        }
                        pending.Clear().Append(text);
                    }
                }
            }
            Task all = Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(Client)));
            await all.WaitAsync(TimeSpan.FromMinutes(3));      // a TimeoutException fails the test: bounded, not timed
            Assert.Equal(0, wrong);
            Assert.Equal((long)connections * requestsEach, ok);
        }
        finally
        {
            (bool exited, int code, string rest) = HttpSampleServers.Terminate(server);
            Assert.True(exited, "the server did not stop on SIGTERM");
            Assert.Equal(0, code);
            Assert.Equal("stopped", rest.Trim());
            server.Dispose();
        }
    }

    [Theory]
    [InlineData("fiber")]
    [InlineData("fiber-2-hubs")]
    [InlineData("threads")]
    public void SIGTERM_stops_the_server_cleanly_with_connections_open(string model)
    {
        (System.Diagnostics.Process server, int port) = HttpSampleServers.Start(model switch
        {
            "fiber" => [],
            "fiber-2-hubs" => ["--hubs", "2"],
            _ => ["--model", "threads"],
        });
        using var idle = new RawHttpClient(port);
        idle.Send("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
        Assert.Equal(200, idle.Read().Status);          // a keep-alive connection stays open across the SIGTERM
        (bool exited, int code, string rest) = HttpSampleServers.Terminate(server);
        server.Dispose();
        Assert.True(exited, "the server did not stop on SIGTERM");
        Assert.Equal(0, code);
        Assert.Equal("stopped", rest.Trim());
    }
}
