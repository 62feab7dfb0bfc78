using BenchmarkDotNet.Running;

namespace FiberRuntime.Benchmarks;

// dotnet run -c Release --project benchmarks/FiberRuntime.Benchmarks -- --filter '*'     BenchmarkDotNet suite
// dotnet run -c Release --project benchmarks/FiberRuntime.Benchmarks -- echo [--seconds S]   echo servers side by side
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "echo") return EchoComparison.Run(args[1..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
