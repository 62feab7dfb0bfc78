using System.Diagnostics;

namespace FiberRuntime.Tests;

/// <summary>A run of FiberRuntime.TestHost in a child process.</summary>
internal sealed record HostRun(int ExitCode, string Output, bool TimedOut)
{
    public static HostRun Start(string arguments, string[] environment, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(ProcessRun.DotnetHost(), $"\"{HostAssembly()}\" {arguments}");
        // a clean GC / JIT configuration: only what this run asks for
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("DOTNET_gc", StringComparison.OrdinalIgnoreCase) ||
                                                               k.StartsWith("DOTNET_GC", StringComparison.Ordinal) ||
                                                               k.StartsWith("DOTNET_Tiered", StringComparison.Ordinal)).ToList())
            psi.Environment.Remove(key);
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        psi.Environment["DOTNET_EnableCrashReport"] = "0";
        foreach (string kv in environment)
        {
            int eq = kv.IndexOf('=');
            psi.Environment[kv[..eq]] = kv[(eq + 1)..];
        }
        ProcessRun run = ProcessRun.Run(psi, timeout);
        return new HostRun(run.ExitCode, run.Output, run.TimedOut);
    }

    /// <summary>The host is built beside this test project (same configuration) by its ProjectReference.</summary>
    internal static string HostAssembly()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);           // tests/FiberRuntime.Tests/bin/<cfg>/<tfm>/
        string tfm = here.Name, configuration = here.Parent!.Name;
        DirectoryInfo tests = here.Parent.Parent!.Parent!.Parent!;       // tests/
        string path = Path.Combine(tests.FullName, "FiberRuntime.TestHost", "bin", configuration, tfm, "FiberRuntime.TestHost.dll");
        if (!File.Exists(path)) throw new FileNotFoundException("FiberRuntime.TestHost was not built beside the tests", path);
        return path;
    }
}
