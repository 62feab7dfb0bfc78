using System.Diagnostics;
using System.Text.RegularExpressions;
using FiberRuntime.Tests.Scheduling;
using Xunit.Abstractions;

namespace FiberRuntime.Tests.IO;

/// <summary>samples/EchoServer and samples/EchoClient end to end, as separate processes on loopback.</summary>
public sealed partial class EchoSamplesTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@": (\d+) round trips, .* errors (\d+)$")]
    private static partial Regex ReportLine();

    [Fact]
    public void The_echo_server_serves_the_client_and_stops_cleanly_on_SIGTERM()
    {
        var samples = new SamplesTests(output);
        string serverDll = samples.SampleDll("EchoServer");
        string clientDll = samples.SampleDll("EchoClient");

        var psi = new ProcessStartInfo(ProcessRun.DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(serverDll);
        psi.ArgumentList.Add("--port");
        psi.ArgumentList.Add("0");
        using var server = Process.Start(psi)!;
        try
        {
            string first = server.StandardOutput.ReadLine() ?? "";
            Match listening = ListeningLine().Match(first);
            Assert.True(listening.Success, $"unexpected first line: {first}");
            string port = listening.Groups[1].Value;

            (int clientExit, string report) = samples.Run(
                [clientDll, "--port", port, "--connections", "200", "--seconds", "1", "--size", "512"], TimeSpan.FromMinutes(1));
            output.WriteLine(report);
            Assert.Equal(0, clientExit);
            Match m = ReportLine().Match(report.Trim());
            Assert.True(m.Success, $"unexpected report: {report}");
            Assert.True(long.Parse(m.Groups[1].Value) >= 200, "every connection completes at least one round trip");
            Assert.Equal("0", m.Groups[2].Value);

            using (Process kill = Process.Start("kill", ["-TERM", server.Id.ToString()])!) kill.WaitForExit();
            Assert.True(server.WaitForExit(10_000), "the server did not stop on SIGTERM");
            Assert.Equal(0, server.ExitCode);
            Assert.Equal("stopped", server.StandardOutput.ReadToEnd().Trim());
        }
        finally
        {
            if (!server.HasExited) server.Kill(entireProcessTree: true);
        }
    }
}
