using System.Globalization;
using System.Text;

namespace FiberRuntime.Benchmarks.Compare;

/// <summary>One model's number in a row, or why there is none.</summary>
internal readonly record struct Cell(double Value, string? Why)
{
    public static Cell Of(double value) => double.IsFinite(value) ? new(value, null) : new(double.NaN, "no value");

    public static Cell Missing(string why) => new(double.NaN, why);

    public bool HasValue => Why is null;

    public override string ToString() => HasValue ? Format.Number(Value) : Why!;
}

/// <summary>A row of the comparison: fibers, Tasks and OS threads doing the same thing.</summary>
/// <param name="HigherIsBetter">Throughput rows: the ratio is fiber ÷ other; otherwise other ÷ fiber.</param>
/// <param name="ThreadRatio">False when the thread cell measured something not comparable (e.g. fewer units).</param>
internal sealed record Row(string Name, string Unit, bool HigherIsBetter, Cell Fiber, Cell Task, Cell Thread, bool ThreadRatio = true)
{
    /// <summary>How many times more the other model costs than fibers (time, memory) or how many times more
    /// fibers deliver (throughput): above 1 fibers win, below 1 they lose.</summary>
    public static string Ratio(Cell fiber, Cell other, bool higherIsBetter)
    {
        if (!fiber.HasValue || !other.HasValue || fiber.Value <= 0 || other.Value <= 0) return "—";
        double r = higherIsBetter ? fiber.Value / other.Value : other.Value / fiber.Value;
        return Format.Ratio(r);
    }
}

internal static class Format
{
    public static string Number(double v)
    {
        double a = Math.Abs(v);
        string s = a >= 1000 ? v.ToString("N0", CultureInfo.InvariantCulture)
            : a >= 100 ? v.ToString("F0", CultureInfo.InvariantCulture)
            : a >= 10 ? v.ToString("F1", CultureInfo.InvariantCulture)
            : a >= 1 ? v.ToString("F2", CultureInfo.InvariantCulture)
            : v.ToString("F3", CultureInfo.InvariantCulture);
        return s;
    }

    public static string Ratio(double r)
    {
        if (r < 0.1)
        {
            // two significant digits, no exponent: 0.062×, 0.00019× (0.0998 rounds to 0.10×)
            int decimals = Math.Min(15, 1 - (int)Math.Floor(Math.Log10(r)));
            r = Math.Round(r, decimals);
            if (r < 0.1) return r.ToString("F" + decimals, CultureInfo.InvariantCulture) + "×";
        }
        return (r >= 100 ? r.ToString("N0", CultureInfo.InvariantCulture)
                : r >= 10 ? r.ToString("F0", CultureInfo.InvariantCulture)
                : r >= 0.995 ? r.ToString("F1", CultureInfo.InvariantCulture)
                : r.ToString("F2", CultureInfo.InvariantCulture)) + "×";
    }

    /// <summary>A markdown table with the columns right-aligned except the first <paramref name="leftColumns"/>.</summary>
    public static string Markdown(string[] header, IEnumerable<string[]> rows, int leftColumns = 1)
    {
        var sb = new StringBuilder();
        sb.Append("| ").AppendJoin(" | ", header).AppendLine(" |");
        sb.Append('|').AppendJoin('|', header.Select((_, i) => i < leftColumns ? "---" : "---:")).AppendLine("|");
        foreach (string[] r in rows) sb.Append("| ").AppendJoin(" | ", r).AppendLine(" |");
        return sb.ToString();
    }

    public static string Machine() =>
        $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} CPUs{CpuModel()}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";

    private static string CpuModel()
    {
        string? info = Proc.TryRead("/proc/cpuinfo");
        string? line = info?.Split('\n').FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line is null ? "" : " (" + line[(line.IndexOf(':') + 1)..].Trim() + ")";
    }
}
