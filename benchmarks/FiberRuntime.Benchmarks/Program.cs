using BenchmarkDotNet.Running;

namespace FiberRuntime.Benchmarks;

// dotnet run -c Release --project benchmarks/FiberRuntime.Benchmarks -- --filter '*'
public static class Program
{
    // Only BenchmarkDotNet for now; other modes (e.g. a quick side-by-side "compare" runner) will dispatch on
    // args[0] here before falling through to the switcher.
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
