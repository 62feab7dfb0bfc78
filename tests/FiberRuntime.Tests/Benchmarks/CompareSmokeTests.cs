using System.Globalization;
using FiberRuntime.Tests.Scheduling;
using Xunit.Abstractions;

namespace FiberRuntime.Tests.Benchmarks;

/// <summary>
/// The one-command comparison (<c>benchmarks/FiberRuntime.Benchmarks -- compare</c>) in its smoke mode: tiny runs of
/// every measurement, every model, in a child process (the benchmark program, built beside this project by a
/// ProjectReference). Checks the table's shape — every row, a number in every model's cell — never the numbers.
/// </summary>
public sealed class CompareSmokeTests(ITestOutputHelper output)
{
    private static readonly string[] Rows =
    [
        "switch ping-pong", "deep stack (10 calls)", "semaphore ping-pong", "yield round trip", "spawn + join (empty)", "queue hand-off, capacity 64",
        "echo, 50 connections, 64 B", "idle unit memory (RSS after full GC)", "create an idle unit (GC pauses excluded)",
        "gen0 GC pause while they wait", "full blocking GC pause while they wait", "gen0 GC pause per waiting unit",
        "full GC pause per waiting unit",
    ];

    [Fact]
    public void Compare_smoke_prints_every_row_with_a_number_for_every_model()
    {
        (int exit, string stdout) = new SamplesTests(output).Run([BenchmarkDll(), "compare", "--smoke"], TimeSpan.FromMinutes(2));
        output.WriteLine(stdout);
        Assert.Equal(0, exit);

        // | benchmark | unit | fiber | Task | thread | Task ÷ fiber | thread ÷ fiber |
        List<string[]> table = stdout.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("| ", StringComparison.Ordinal))
            .Select(l => l.Trim('|').Split('|').Select(c => c.Trim()).ToArray())
            .ToList();
        Assert.Equal(["benchmark", "unit", "fiber", "Task", "thread", "Task ÷ fiber", "thread ÷ fiber"], table[0]);
        Assert.Equal(Rows, table.Skip(1).Select(r => r[0]));
        foreach (string[] row in table.Skip(1))
        {
            Assert.Equal(7, row.Length);
            for (int model = 2; model <= 4; model++)
                Assert.True(IsNumber(row[model]), $"{row[0]}: model cell '{row[model]}' is not a number");
            // a ratio, or "—" when a model measured 0 (e.g. no echo round trip completed on a starved machine), or
            // "n/a" where the thread cell counts fewer units
            Assert.True(IsRatio(row[5]) || row[5] == "—", $"{row[0]}: Task ratio '{row[5]}'");
            Assert.True(IsRatio(row[6]) || row[6] == "—" || row[6].StartsWith("n/a", StringComparison.Ordinal), $"{row[0]}: thread ratio '{row[6]}'");
        }
    }

    private static bool IsNumber(string cell) =>
        double.TryParse(cell, NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v >= 0;

    private static bool IsRatio(string cell) => cell.EndsWith('×') && IsNumber(cell[..^1]);

    /// <summary>benchmarks/FiberRuntime.Benchmarks, built beside this project (same configuration) by its ProjectReference.</summary>
    private static string BenchmarkDll()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);           // tests/FiberRuntime.Tests/bin/<cfg>/<tfm>/
        string tfm = here.Name, configuration = here.Parent!.Name;
        DirectoryInfo root = here.Parent.Parent!.Parent!.Parent!.Parent!; // the repository
        string dll = Path.Combine(root.FullName, "benchmarks", "FiberRuntime.Benchmarks", "bin", configuration, tfm, "FiberRuntime.Benchmarks.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: it is built by the test project's ProjectReference");
        return dll;
    }
}
