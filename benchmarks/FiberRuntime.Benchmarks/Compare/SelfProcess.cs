using System.Diagnostics;

namespace FiberRuntime.Benchmarks.Compare;

/// <summary>Runs this benchmark program again as a child process (for measurements that need a clean process).</summary>
internal static class SelfProcess
{
    /// <summary>Runs the hidden <c>idle</c> subcommand in a child and returns what it measured; its progress goes to
    /// this process's standard error.</summary>
    public static IdleResult Idle(string model, int count, int gcReps, int compactingReps, int? stackKiB = null)
    {
        ProcessStartInfo psi = StartInfo("idle", "--model", model, "--count", count.ToString(), "--gc-reps", gcReps.ToString(),
                                         "--compacting-reps", compactingReps.ToString());
        if (stackKiB is { } kib)
        {
            psi.ArgumentList.Add("--stack-kib");
            psi.ArgumentList.Add(kib.ToString());
        }
        psi.RedirectStandardOutput = true;
        using Process p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        IdleResult? r = IdleResult.FromOutput(stdout);
        if (r is not null) return r;
        string last = stdout.Trim().Split('\n').LastOrDefault(l => l.Length > 0)?.Trim() ?? "";
        return new IdleResult { Model = model, Count = count, Error = $"child process failed (exit {p.ExitCode}) {last}".Trim() };
    }

    /// <summary>The command line that runs this program: its apphost when started through one (<c>dotnet run</c>),
    /// else <c>dotnet</c> with this assembly.</summary>
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        string host = Environment.ProcessPath ?? "dotnet";
        var psi = new ProcessStartInfo(host) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") psi.ArgumentList.Add(typeof(SelfProcess).Assembly.Location);
        foreach (string a in args) psi.ArgumentList.Add(a);
        return psi;
    }
}
