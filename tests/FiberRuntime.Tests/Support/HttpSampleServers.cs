using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using FiberRuntime.Tests.Scheduling;
using Xunit.Abstractions;

namespace FiberRuntime.Tests;

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
