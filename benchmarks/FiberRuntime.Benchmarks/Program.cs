using BenchmarkDotNet.Running;
using FiberRuntime.Benchmarks.Compare;

namespace FiberRuntime.Benchmarks;

// dotnet run -c Release --project benchmarks/FiberRuntime.Benchmarks -- compare        one table, ~1 minute (the default)
// dotnet run -c Release --project benchmarks/FiberRuntime.Benchmarks -- scale [--counts 10000,100000,1000000]
// dotnet run -c Release --project benchmarks/FiberRuntime.Benchmarks -- echo [--seconds S]   echo servers side by side
// dotnet run -c Release --project benchmarks/FiberRuntime.Benchmarks -- http [--seconds S] [--rounds R] [--servers ...]
//     HTTP servers under wrk: the fiber sample, Kestrel, thread per connection (needs wrk: apt-get install wrk)
// dotnet run -c Release --project benchmarks/FiberRuntime.Benchmarks -- --full [BenchmarkDotNet options]   the BDN suite
// dotnet run -c Release --project benchmarks/FiberRuntime.Benchmarks -- --filter '*' --job short           BDN, as before
public static class Program
{
    public static int Main(string[] args)
    {
        string first = args.Length > 0 ? args[0] : "compare";
        string[] rest = args.Length > 0 ? args[1..] : [];
        if (first == "compare" && rest.Contains("--full")) (first, rest) = ("--full", [.. rest.Where(a => a != "--full")]);
        switch (first)
        {
            case "compare":
                return CompareCommand.Run(rest);
            case "scale":
                return ScaleCommand.Run(rest);
            case "idle":                    // hidden: the child process of compare / scale
                return IdleUnits.Run(rest);
            case "echo":
                return EchoComparison.Run(rest);
            case "http":
                return HttpComparison.Run(rest);
            case "--full":
                string[] bdn = rest.Contains("--filter") ? rest : ["--filter", "*", .. rest];
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(bdn);
                return 0;
            default:
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
                return 0;
        }
    }
}
