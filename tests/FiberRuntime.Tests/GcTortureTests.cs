using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace FiberRuntime.Tests;

/// <summary>
/// The GC stress suite: thousands of suspended greenlets holding checksummed object graphs (arrays, strings,
/// lists, structs with references, spans into heap arrays, deep recursion) across forced compacting gen2 GCs,
/// in child processes so the GC flavour, tiering and the protection itself can differ per run. Each positive run
/// must end with every round of every fiber completed and every check held; each negative control (the same
/// stress with the protection switched off) must not: it has to crash or report corruption.
/// </summary>
[Collection(GcTortureCollection.Name)]
public sealed class GcTortureTests(ITestOutputHelper output)
{
    private const string Stress = "stress --fibers 1000 --rounds 40 --gc-every 500";
    private const string Exceptions = "exceptions --fibers 200 --rounds 30 --gc-every 100";
    private static readonly string[] ServerGc = ["DOTNET_gcServer=1", "DOTNET_GCHeapCount=2"];

    public static TheoryData<string, string, string[]> PositiveRuns => new()
    {
        { "workstation GC", Stress, [] },
        { "fibers switching to each other (ring)", Stress + " --ring", [] },
        { "server GC, 2 heaps", Stress, ServerGc },
        { "tiered compilation off", Stress, ["DOTNET_TieredCompilation=0"] },
        { "tiny gen0 budget: GCs at natural allocation points", "stress --fibers 1000 --rounds 40 --gc-every 0", ["DOTNET_GCgen0size=0x10000"] },
        { "an external thread forcing compacting GCs while fibers run", "stress --fibers 1000 --rounds 6 --gc-every 25 --gc-thread", [] },
        { "non-concurrent workstation GC", Stress, ["DOTNET_gcConcurrent=0"] },
        { "scheduled fibers yielding through the hub loop", Stress + " --scheduled", [] },
        { "scheduled fibers switching inside handlers", Exceptions + " --scheduled", [] },
        { "switches inside catch, finally and filters", Exceptions, [] },
        { "switches inside handlers, server GC", Exceptions, ServerGc },
        { "switches inside handlers, tiered compilation off", Exceptions, ["DOTNET_TieredCompilation=0"] },
        { "switches inside handlers, external GC thread", "exceptions --fibers 200 --rounds 20 --gc-every 50 --gc-thread", [] },
    };

    public static TheoryData<string, string, string[]> NegativeControls => new()
    {
        { "stress, protection off", Stress + " --unprotected", [] },
        { "stress, protection off, server GC", Stress + " --unprotected", ServerGc },
        { "handlers, protection off", Exceptions + " --unprotected", [] },
        { "scheduled fibers, protection off", Stress + " --scheduled --unprotected", [] },
    };

    [Theory]
    [MemberData(nameof(PositiveRuns))]
    public void Suspended_greenlets_survive_compacting_GCs(string name, string arguments, string[] environment)
    {
        HostRun run = HostRun.Start(arguments, environment, TimeSpan.FromMinutes(4));
        output.WriteLine($"{name}: exit {run.ExitCode}\n{run.Output}");
        Assert.False(run.TimedOut, "the stress run did not finish in time");
        Assert.Contains("VERDICT: PASS", run.Output);
        Assert.Equal(0, run.ExitCode);
    }

    [Theory]
    [MemberData(nameof(NegativeControls))]
    public void The_same_stress_without_protection_fails(string name, string arguments, string[] environment)
    {
        HostRun run = HostRun.Start(arguments, environment, TimeSpan.FromMinutes(4));
        output.WriteLine($"{name}: exit {run.ExitCode}{(run.TimedOut ? " (killed after timeout)" : "")}\n{run.Output}");
        // Must crash (non-zero exit from a signal / fatal error), go astray, or detect corruption — never pass.
        Assert.DoesNotContain("VERDICT: PASS", run.Output);
        Assert.NotEqual(0, run.ExitCode);
        Assert.True(run.TimedOut || run.ExitCode != 0);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GcTortureCollection
{
    public const string Name = "GC torture (child processes, run alone)";
}

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
