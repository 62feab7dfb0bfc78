using System.Diagnostics;
using System.Text.RegularExpressions;

namespace FiberRuntime.Benchmarks;

/// <summary>
/// Echo throughput and latency, side by side: samples/EchoServer as a fiber server (one hub thread), an async/await
/// Socket server and a thread-per-connection server, each driven by the same samples/EchoClient process on loopback,
/// at 100 and 1000 connections with 64 B and 4 KiB messages.
/// <c>dotnet run -c Release --project benchmarks/FiberRuntime.Benchmarks -- echo [--seconds S]</c>
/// </summary>
internal static partial class EchoComparison
{
    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex Listening();

    [GeneratedRegex(@"(\d+) round trips, (\d+)/s, ([\d.]+) MB/s each way, latency p50 (\d+) us p99 (\d+) us, errors (\d+)")]
    private static partial Regex Report();

    public static int Run(string[] args)
    {
        int i = Array.IndexOf(args, "--seconds");
        string seconds = i >= 0 && i + 1 < args.Length ? args[i + 1] : "3";
        string root = RepositoryRoot();
        string server = Built(root, "EchoServer"), client = Built(root, "EchoClient");
        (int Connections, int Size)[] loads = [(100, 64), (100, 4096), (1000, 64), (1000, 4096)];
        string[] models = ["fiber", "async", "threads"];
        var rows = new List<string>();
        foreach ((int connections, int size) in loads)
        {
            foreach (string model in models)
            {
                Console.Error.WriteLine($"echo: {model} server, {connections} connections, {size} B ...");
                using Process s = Start(server, "--port", "0", "--model", model);
                Match listening = Listening().Match(s.StandardOutput.ReadLine() ?? "");
                if (!listening.Success) throw new InvalidOperationException($"{model} server did not start");
                using Process c = Start(client, "--port", listening.Groups[1].Value, "--connections", connections.ToString(),
                                        "--seconds", seconds, "--size", size.ToString());
                string report = c.StandardOutput.ReadToEnd();
                c.WaitForExit();
                using (Process kill = Process.Start("kill", ["-TERM", s.Id.ToString()])!) kill.WaitForExit();
                if (!s.WaitForExit(10_000)) s.Kill(entireProcessTree: true);
                Match m = Report().Match(report);
                if (!m.Success) throw new InvalidOperationException($"unexpected client output: {report}");
                rows.Add($"| {connections} | {size} B | {model} | {long.Parse(m.Groups[2].Value):N0} | {m.Groups[3].Value} | {m.Groups[4].Value} | {m.Groups[5].Value} | {m.Groups[6].Value} |");
            }
        }
        Console.WriteLine($"Echo on loopback, {seconds} s per row, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} CPUs, .NET {Environment.Version}; one client process (one hub) per row");
        Console.WriteLine();
        Console.WriteLine("| connections | message | server | round trips/s | MB/s each way | p50 µs | p99 µs | errors |");
        Console.WriteLine("|---:|---:|---|---:|---:|---:|---:|---:|");
        rows.ForEach(Console.WriteLine);
        return 0;
    }

    private static Process Start(string dll, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "FiberRuntime.sln"))) return d.FullName;
        throw new InvalidOperationException("run from the repository (FiberRuntime.sln not found above the benchmark)");
    }

    private static string Built(string root, string sample)
    {
        string dll = Path.Combine(root, "samples", sample, "bin", "Release", "net10.0", sample + ".dll");
        using Process build = Process.Start("dotnet", ["build", Path.Combine(root, "samples", sample), "-c", "Release", "--nologo", "-v", "q"])!;
        build.WaitForExit();
        if (build.ExitCode != 0 || !File.Exists(dll)) throw new InvalidOperationException($"building samples/{sample} failed");
        return dll;
    }
}
