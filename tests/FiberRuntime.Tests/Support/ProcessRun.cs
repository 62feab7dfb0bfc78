using System.Diagnostics;
using System.Text;

namespace FiberRuntime.Tests;

/// <summary>A finished child process: exit code, standard output lines, standard error, and both streams as one text
/// in arrival order. <see cref="TimedOut"/>: it was killed after the timeout (<see cref="ExitCode"/> is then -1).</summary>
internal sealed record ProcessRun(int ExitCode, string[] StdoutLines, string Stderr, string Output, bool TimedOut)
{
    /// <summary>Standard output as text, a newline after each line.</summary>
    public string Stdout => string.Concat(StdoutLines.Select(line => line + "\n"));

    /// <summary>The <c>dotnet</c> that runs these tests (so children use the same runtime).</summary>
    internal static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>Runs <paramref name="psi"/> (its streams redirected here) to completion, or kills its process tree after
    /// <paramref name="timeout"/>.</summary>
    public static ProcessRun Run(ProcessStartInfo psi, TimeSpan timeout)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        var stdout = new List<string>();
        var stderr = new StringBuilder();
        var all = new StringBuilder();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (all)
            {
                stdout.Add(e.Data);
                all.AppendLine(e.Data);
            }
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (all)
            {
                stderr.AppendLine(e.Data);
                all.AppendLine(e.Data);
            }
        };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        bool exited = p.WaitForExit(timeout);
        if (!exited) p.Kill(entireProcessTree: true);
        p.WaitForExit();                                // the output is read to its end
        lock (all) return new ProcessRun(exited ? p.ExitCode : -1, [.. stdout], stderr.ToString(), all.ToString(), !exited);
    }

    /// <summary>Runs <paramref name="file"/> to completion with the current environment plus
    /// <paramref name="environment"/>, without MSBuild node reuse or a crash dump; throws on timeout.</summary>
    public static ProcessRun Start(string file, string[] arguments, string workingDirectory, IDictionary<string, string?> environment, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory };
        foreach (string a in arguments) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        psi.Environment["DOTNET_EnableCrashReport"] = "0";
        foreach ((string key, string? value) in environment) psi.Environment[key] = value;
        ProcessRun run = Run(psi, timeout);
        if (run.TimedOut) throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish within {timeout}:\n{run.Output}");
        return run;
    }
}
