using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace FiberRuntime.Benchmarks;

/// <summary>One echo row: what samples/EchoClient reported against one server model.</summary>
internal sealed record EchoResult(long RoundTripsPerSecond, string MegabytesPerSecond, long P50Micros, long P99Micros, long Errors);

/// <summary>
/// Echo throughput and latency, side by side: samples/EchoServer as a fiber server (one hub thread), an async/await
/// Socket server and a thread-per-connection server, each driven by the same samples/EchoClient process on loopback,
/// at 100 and 1000 connections with 64 B and 4 KiB messages.
/// <c>dotnet run -c Release --project benchmarks/FiberRuntime.Benchmarks -- echo [--seconds S]</c>
/// </summary>
/// <remarks>The samples are built with this project (ProjectReferences that do not reference their assemblies), in
/// the same configuration, so their programs sit beside their projects in bin/&lt;configuration&gt;/&lt;tfm&gt;/.</remarks>
internal static partial class EchoComparison
{
    public static readonly string[] Models = ["fiber", "async", "threads"];

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    internal static partial Regex Listening();

    [GeneratedRegex(@"(\d+) round trips, (\d+)/s, ([\d.]+) MB/s each way, latency p50 (\d+) us p99 (\d+) us, errors (\d+)")]
    private static partial Regex Report();

    public static int Run(string[] args)
    {
        int i = Array.IndexOf(args, "--seconds");
        string seconds = i >= 0 && i + 1 < args.Length ? args[i + 1] : "3";
        (string server, string client) = Binaries();
        (int Connections, int Size)[] loads = [(100, 64), (100, 4096), (1000, 64), (1000, 4096)];
        var rows = new List<string>();
        foreach ((int connections, int size) in loads)
        {
            foreach (string model in Models)
            {
                Console.Error.WriteLine($"echo: {model} server, {connections} connections, {size} B ...");
                EchoResult r = RunOne(server, client, model, connections, size, seconds);
                rows.Add($"| {connections} | {size} B | {model} | {r.RoundTripsPerSecond:N0} | {r.MegabytesPerSecond} | {r.P50Micros} | {r.P99Micros} | {r.Errors} |");
            }
        }
        Console.WriteLine($"Echo on loopback, {seconds} s per row, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} CPUs, .NET {Environment.Version}; one client process (one hub) per row");
        Console.WriteLine();
        Console.WriteLine("| connections | message | server | round trips/s | MB/s each way | p50 µs | p99 µs | errors |");
        Console.WriteLine("|---:|---:|---|---:|---:|---:|---:|---:|");
        rows.ForEach(Console.WriteLine);
        return 0;
    }

    /// <summary>Starts the <paramref name="model"/> echo server, drives it with the client for
    /// <paramref name="seconds"/>, stops it with SIGTERM and returns the client's report.</summary>
    public static EchoResult RunOne(string server, string client, string model, int connections, int size, string seconds)
    {
        using Process s = Start(server, "--port", "0", "--model", model);
        try
        {
            Match listening = Listening().Match(s.StandardOutput.ReadLine() ?? "");
            if (!listening.Success) throw new InvalidOperationException($"{model} server did not start");
            using Process c = Start(client, "--port", listening.Groups[1].Value, "--connections", connections.ToString(CultureInfo.InvariantCulture),
                                    "--seconds", seconds, "--size", size.ToString(CultureInfo.InvariantCulture));
            string report = c.StandardOutput.ReadToEnd();
            c.WaitForExit();
            Match m = Report().Match(report);
            if (!m.Success) throw new InvalidOperationException($"unexpected client output: {report}");
            return new EchoResult(long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), m.Groups[3].Value,
                                  long.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[5].Value, CultureInfo.InvariantCulture),
                                  long.Parse(m.Groups[6].Value, CultureInfo.InvariantCulture));
        }
        finally
        {
            if (!s.HasExited)
            {
                using (Process kill = Process.Start("kill", ["-TERM", s.Id.ToString(CultureInfo.InvariantCulture)])!) kill.WaitForExit();
                if (!s.WaitForExit(10_000)) s.Kill(entireProcessTree: true);
            }
        }
    }

    internal static Process Start(string dll, params string[] args)
    {
        var psi = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>samples/EchoServer and samples/EchoClient as built beside this program (same configuration); built on
    /// demand when missing (e.g. this program was copied elsewhere).</summary>
    public static (string Server, string Client) Binaries()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);          // .../bin/<configuration>/<tfm>/
        string tfm = here.Name, configuration = here.Parent?.Name ?? "Release";
        string root = RepositoryRoot();
        return (Built(root, "EchoServer", configuration, tfm), Built(root, "EchoClient", configuration, tfm));
    }

    internal static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "FiberRuntime.sln"))) return d.FullName;
        throw new InvalidOperationException("run from the repository (FiberRuntime.sln not found above the benchmark)");
    }

    internal static string Built(string root, string sample, string configuration, string tfm)
    {
        string dll = Path.Combine(root, "samples", sample, "bin", configuration, tfm, sample + ".dll");
        if (File.Exists(dll)) return dll;
        using Process build = Process.Start(DotnetHost(), ["build", Path.Combine(root, "samples", sample), "-c", configuration, "--nologo", "-v", "q"])!;
        build.WaitForExit();
        if (build.ExitCode != 0 || !File.Exists(dll)) throw new InvalidOperationException($"building samples/{sample} failed");
        return dll;
    }
}
