using System.Diagnostics;
using FiberRuntime.Interop;

namespace FiberRuntime.Tests.Interop;

/// <summary>
/// <c>.ci/runtime-matrix</c> (the GC stress suite on each runtime of the CI matrix) stays what it claims to be: its
/// entries are the runtime versions <see cref="RuntimePolicy.SuiteRanOn"/> (strict mode) and the README's table name.
/// (Its stress configurations and its rule for negative controls are GcTortureTests' own by construction: it asks the
/// published host's <c>suite</c> command for both.)
/// </summary>
public sealed class RuntimeMatrixTests
{
    private static string[] Script(string option)
    {
        string root = RepoRoot();
        var psi = new ProcessStartInfo("bash") { WorkingDirectory = root };
        psi.ArgumentList.Add(Path.Combine(root, ".ci", "runtime-matrix"));
        psi.ArgumentList.Add(option);
        ProcessRun run = ProcessRun.Run(psi, TimeSpan.FromSeconds(30));
        Assert.True(run.ExitCode == 0, run.Output);
        return run.StdoutLines;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, ".ci", "runtime-matrix"))) return dir.FullName;
        throw new InvalidOperationException($"no repository above {AppContext.BaseDirectory}");
    }

    [Fact]
    public void The_matrix_entries_are_the_runtimes_strict_mode_accepts_and_the_readme_names()
    {
        string[] entries = Script("--print-entries");
        Assert.Equal(RuntimePolicy.SuiteRanOn.Select(s => $"{s.Platform}|{s.Version}"), entries);
        string readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));
        foreach (string entry in entries)
        {
            string[] parts = entry.Split('|');
            Assert.Contains($"| {parts[0]} | {parts[1]} | **verified by the suite**", readme);
        }
    }
}
