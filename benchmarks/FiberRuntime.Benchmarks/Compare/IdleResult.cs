using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FiberRuntime.Benchmarks.Compare;

/// <summary>
/// What one child process measured about <see cref="Count"/> idle units of one model (printed by the hidden
/// <c>idle</c> subcommand as one JSON line, read by the parent).
/// </summary>
internal sealed class IdleResult
{
    public const string Marker = "IDLE-RESULT ";

    public string Model { get; set; } = "";
    public int Count { get; set; }

    /// <summary>Set when the model was not measured (the cell says this instead of a number).</summary>
    public string? Error { get; set; }

    // process memory (KiB) before the units exist and with all of them parked, each after a full GC
    public long RssBefore { get; set; }
    public long RssAfter { get; set; }
    public long AnonBefore { get; set; }
    public long AnonAfter { get; set; }
    public long PteBefore { get; set; }
    public long PteAfter { get; set; }

    // managed heap (bytes): live objects (GC.GetTotalMemory after a full GC) and what the GC has committed
    public long ManagedBefore { get; set; }
    public long ManagedAfter { get; set; }
    public long GcCommittedBefore { get; set; }
    public long GcCommittedAfter { get; set; }

    // kernel VMA objects (system-wide slab count; others move it too), null when /proc/slabinfo is unreadable
    public long? VmaBefore { get; set; }
    public long? VmaAfter { get; set; }
    public long? VmaSize { get; set; }

    public double CreateSeconds { get; set; }
    public double CreateGcPauseSeconds { get; set; }   // GC pauses while the units were being created
    public double CreateCpuSeconds { get; set; }       // the process's CPU time (user + system, all threads) meanwhile
    public int CreateGcCount { get; set; }
    public double WakeSeconds { get; set; }
    public int Arrived { get; set; }
    public int Woken { get; set; }

    public double[] Gen0PausesMs { get; set; } = [];
    public double[] FullPausesMs { get; set; } = [];
    public double[] FullCompactingPausesMs { get; set; } = [];
    // the process's CPU time (all threads) over each induced gen0 GC / forced full GC: on a loaded machine a pause
    // also counts the time the GC waited for a core, its CPU time does not
    public double[] Gen0CpuMs { get; set; } = [];
    public double[] FullCpuMs { get; set; } = [];

    // fibers only: resident pages of each parked fiber's stack (mincore), and managed frames below the wait
    public long StackPagesTotal { get; set; }
    public long StackPagesMin { get; set; }
    public long StackPagesMax { get; set; }
    public int PageSize { get; set; } = Environment.SystemPageSize;
    public int FramesAtWait { get; set; }
    public int StackSize { get; set; }                 // bytes reserved per fiber stack (HubOptions.StackSize)

    [JsonIgnore] public bool Ok => Error is null;

    // derived, for the tables (not serialized: a median of nothing is NaN)
    [JsonIgnore] public double RssKiBPerUnit => (RssAfter - RssBefore) / (double)Count;
    [JsonIgnore] public double AnonKiBPerUnit => (AnonAfter - AnonBefore) / (double)Count;
    [JsonIgnore] public double PteBytesPerUnit => (PteAfter - PteBefore) * 1024.0 / Count;
    [JsonIgnore] public double ManagedBytesPerUnit => (ManagedAfter - ManagedBefore) / (double)Count;
    [JsonIgnore] public double GcCommittedBytesPerUnit => (GcCommittedAfter - GcCommittedBefore) / (double)Count;
    [JsonIgnore] public double StackKiBPerUnit => StackPagesTotal * (double)PageSize / 1024 / Count;
    [JsonIgnore] public double? VmaBytesPerUnit => VmaBefore is { } b && VmaAfter is { } a && VmaSize is { } s ? (a - b) * (double)s / Count : null;
    [JsonIgnore] public double CreateMicrosPerUnit => CreateSeconds * 1e6 / Count;
    /// <summary>CPU time per unit created: on a loaded machine wall time mostly measures waiting for a core.</summary>
    [JsonIgnore] public double CreateCpuMicrosPerUnit => CreateCpuSeconds * 1e6 / Count;
    [JsonIgnore] public double CreateGcMicrosPerUnit => CreateGcPauseSeconds * 1e6 / Count;
    [JsonIgnore] public double WakeMicrosPerUnit => WakeSeconds * 1e6 / Count;
    [JsonIgnore] public double Gen0Ms => Median(Gen0PausesMs);
    [JsonIgnore] public double FullMs => Median(FullPausesMs);
    [JsonIgnore] public double FullCompactingMs => Median(FullCompactingPausesMs);
    [JsonIgnore] public double Gen0NsPerUnit => Gen0Ms * 1e6 / Count;
    [JsonIgnore] public double FullNsPerUnit => FullMs * 1e6 / Count;
    /// <summary>Creation time per unit without the GC pauses that fell into it.</summary>
    [JsonIgnore] public double CreateMicrosPerUnitExcludingGc => (CreateSeconds - CreateGcPauseSeconds) * 1e6 / Count;

    public static double Median(double[] xs)
    {
        if (xs.Length == 0) return double.NaN;
        double[] s = [.. xs];
        Array.Sort(s);
        return s[s.Length / 2];
    }

    private static readonly JsonSerializerOptions s_json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    public static IdleResult? FromOutput(string stdout)
    {
        foreach (string line in stdout.Split('\n'))
            if (line.StartsWith(Marker, StringComparison.Ordinal)) return JsonSerializer.Deserialize<IdleResult>(line[Marker.Length..], s_json);
        return null;
    }
}
