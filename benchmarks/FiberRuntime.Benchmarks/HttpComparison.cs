using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace FiberRuntime.Benchmarks;

/// <summary>
/// HTTP/1.1 throughput and latency, side by side, driven by wrk on loopback: samples/HttpServer as a fiber server
/// (a fiber per connection on one hub, or on <c>--hubs K</c>), the same HTTP code on a thread per connection, and
/// ASP.NET Core Kestrel with a minimal API (samples/KestrelServer), at 256 and 1,000 connections.
/// <c>dotnet run -c Release --project benchmarks/FiberRuntime.Benchmarks -- http [--seconds S] [--rounds R]
/// [--connections 256,1000] [--endpoints plaintext,json] [--servers fiber,fiber-2-hubs,kestrel,threads]</c>
/// </summary>
/// <remarks>All servers run for the whole benchmark and are measured interleaved (A B C, A B C, ...), so noise from
/// a shared machine falls on all of them alike; the table gives each server's median round and the fiber / Kestrel
/// ratio of every round. wrk shares the cores with the server (2 threads).</remarks>
internal static partial class HttpComparison
{
    private sealed record Server(string Name, string Sample, string[] Args);

    private sealed record WrkResult(double RequestsPerSecond, double P50Ms, double P99Ms, long Errors, double CpuMicrosPerRequest = 0);

    private static readonly Server[] AllServers =
    [
        new("fiber", "HttpServer", []),
        new("fiber-2-hubs", "HttpServer", ["--hubs", "2"]),
        new("kestrel", "KestrelServer", []),
        new("threads", "HttpServer", ["--model", "threads"]),
    ];

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline)]
    private static partial Regex Percentile();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xx();

    public static int Run(string[] args)
    {
        string Arg(string name, string dflt)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt;
        }
        string? wrk = FindWrk();
        if (wrk is null)
        {
            Console.Error.WriteLine("http: wrk is not installed. On Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y wrk");
            return 2;
        }
        int seconds = int.Parse(Arg("--seconds", "5"), CultureInfo.InvariantCulture);
        int rounds = int.Parse(Arg("--rounds", "3"), CultureInfo.InvariantCulture);
        int[] connections = [.. Arg("--connections", "256,1000").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))];
        string[] endpoints = Arg("--endpoints", "plaintext,json").Split(',');
        string[] names = Arg("--servers", "fiber,kestrel,threads").Split(',');
        Server[] servers = [.. names.Select(n => AllServers.FirstOrDefault(s => s.Name == n) ?? throw new ArgumentException($"unknown server {n}"))];

        var here = new DirectoryInfo(AppContext.BaseDirectory);
        string tfm = here.Name, configuration = here.Parent?.Name ?? "Release";
        string root = EchoComparison.RepositoryRoot();
        string loadBefore = LoadAverage();
        var running = new List<(Server Server, Process Process, string Url)>();
        try
        {
            foreach (Server s in servers)
            {
                string dll = EchoComparison.Built(root, s.Sample, configuration, tfm);
                Process p = EchoComparison.Start(dll, ["--port", "0", .. s.Args]);
                running.Add((s, p, ""));
                Match m = EchoComparison.Listening().Match(p.StandardOutput.ReadLine() ?? "");
                if (!m.Success) throw new InvalidOperationException($"{s.Name} server did not start");
                running[^1] = (s, p, $"http://127.0.0.1:{m.Groups[1].Value}/");
            }
            foreach ((Server s, _, string url) in running)
            {
                Console.Error.WriteLine($"http: warming up {s.Name} ...");
                foreach (string e in endpoints) Wrk(wrk, url + e, connections[0], 2);
            }
            var results = new Dictionary<(string Endpoint, int Connections, string Server), List<WrkResult>>();
            foreach (string e in endpoints)
                foreach (int c in connections)
                    for (int r = 0; r < rounds; r++)
                        foreach ((Server s, Process p, string url) in running)
                        {
                            Console.Error.WriteLine($"http: {e}, {c} connections, round {r + 1}/{rounds}, {s.Name} ...");
                            double cpuBefore = CpuSeconds(p.Id);
                            WrkResult result = Wrk(wrk, url + e, c, seconds);
                            double requests = result.RequestsPerSecond * seconds;
                            result = result with { CpuMicrosPerRequest = (CpuSeconds(p.Id) - cpuBefore) * 1e6 / Math.Max(1, requests) };
                            (results.TryGetValue((e, c, s.Name), out var list) ? list : results[(e, c, s.Name)] = []).Add(result);
                        }
            Print(results, endpoints, connections, servers, seconds, rounds, loadBefore);
        }
        finally
        {
            foreach ((_, Process p, _) in running)
            {
                if (p.HasExited) continue;
                using (Process kill = Process.Start("kill", ["-TERM", p.Id.ToString(CultureInfo.InvariantCulture)])!) kill.WaitForExit();
                if (!p.WaitForExit(10_000)) p.Kill(entireProcessTree: true);
            }
        }
        return 0;
    }

    private static void Print(Dictionary<(string, int, string), List<WrkResult>> results, string[] endpoints, int[] connections,
                              Server[] servers, int seconds, int rounds, string loadBefore)
    {
        Console.WriteLine($"HTTP/1.1 on loopback, wrk -t2 --latency, {seconds} s per run, {rounds} rounds interleaved, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, " +
                          $"{Environment.ProcessorCount} CPUs, .NET {Environment.Version}; load average before {loadBefore}, after {LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| endpoint | connections | server | req/s (median round) | p50 ms | p99 ms | errors (all rounds) | server CPU µs/req (median) |");
        Console.WriteLine("|---|---:|---|---:|---:|---:|---:|---:|");
        foreach (string e in endpoints)
            foreach (int c in connections)
                foreach (Server s in servers)
                {
                    List<WrkResult> list = results[(e, c, s.Name)];
                    WrkResult median = list.OrderBy(r => r.RequestsPerSecond).ElementAt(list.Count / 2);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| /{e} | {c:N0} | {s.Name} | {median.RequestsPerSecond:N0} | {median.P50Ms:F2} | {median.P99Ms:F2} | {list.Sum(r => r.Errors)} | {list.Select(r => r.CpuMicrosPerRequest).Order().ElementAt(list.Count / 2):F1} |"));
                }
        if (!servers.Any(s => s.Name == "kestrel")) return;
        Console.WriteLine();
        foreach (Server s in servers.Where(s => s.Name.StartsWith("fiber", StringComparison.Ordinal)))
            foreach (string e in endpoints)
                foreach (int c in connections)
                {
                    double[] ratios = [.. results[(e, c, s.Name)].Zip(results[(e, c, "kestrel")], (f, k) => f.RequestsPerSecond / k.RequestsPerSecond)];
                    double median = ratios.Order().ElementAt(ratios.Length / 2);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{s.Name} / kestrel req/s, /{e} at {c:N0} connections, per round: {string.Join(", ", ratios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))} (median {median:F2})"));
                }
    }

    private static WrkResult Wrk(string wrk, string url, int connections, int seconds)
    {
        var psi = new ProcessStartInfo(wrk) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])["-t", "2", "-c", connections.ToString(CultureInfo.InvariantCulture), "-d", $"{seconds}s", "--timeout", "5s", "--latency", url])
            psi.ArgumentList.Add(a);
        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Match rps = RequestsPerSecond().Match(output);
        if (p.ExitCode != 0 || !rps.Success) throw new InvalidOperationException($"wrk failed: {output} {p.StandardError.ReadToEnd()}");
        double p50 = 0, p99 = 0;
        foreach (Match m in Percentile().Matches(output))
        {
            double v = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) * m.Groups[3].Value switch { "us" => 0.001, "ms" => 1, _ => 1000 };
            if (m.Groups[1].Value == "50") p50 = v;
            else p99 = v;
        }
        long errors = 0;
        if (SocketErrors().Match(output) is { Success: true } se) errors += Enumerable.Range(1, 4).Sum(i => long.Parse(se.Groups[i].Value, CultureInfo.InvariantCulture));
        if (Non2xx().Match(output) is { Success: true } bad) errors += long.Parse(bad.Groups[1].Value, CultureInfo.InvariantCulture);
        return new WrkResult(double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture), p50, p99, errors);
    }

    /// <summary>User + system CPU time of a process so far (/proc/PID/stat, in clock ticks of 1/100 s). On a shared
    /// machine req/s follows the CPU share a server gets (the scheduler shares per thread, so a server with more
    /// threads gets more); CPU per request is what each server costs.</summary>
    private static double CpuSeconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static string? FindWrk() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "wrk")).FirstOrDefault(File.Exists);

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
