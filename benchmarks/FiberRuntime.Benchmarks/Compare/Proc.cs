using System.Globalization;

namespace FiberRuntime.Benchmarks.Compare;

/// <summary>What the kernel says about this process's memory (Linux <c>/proc</c>), in KiB.</summary>
/// <param name="VmRss">Resident set: every page of the process in RAM (anonymous + file + shmem).</param>
/// <param name="RssAnon">Resident anonymous pages (heaps, stacks): what units of work cost.</param>
/// <param name="VmPte">Page tables of the process: kernel memory that RSS does not count.</param>
internal readonly record struct ProcStatus(long VmRss, long RssAnon, long VmPte)
{
    public static ProcStatus Read()
    {
        long rss = -1, anon = -1, pte = -1;
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = KiB(line);
            else if (line.StartsWith("RssAnon:", StringComparison.Ordinal)) anon = KiB(line);
            else if (line.StartsWith("VmPTE:", StringComparison.Ordinal)) pte = KiB(line);
        }
        return new ProcStatus(rss, anon, pte);
    }

    // "VmRSS:\t   12345 kB"
    private static long KiB(string line) =>
        long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
}

internal static class Proc
{
    /// <summary>vm.max_map_count: how many memory mappings a process may have (-1 when unknown).</summary>
    public static long MaxMapCount() =>
        long.TryParse(TryRead("/proc/sys/vm/max_map_count")?.Trim(), out long v) ? v : -1;

    /// <summary>How many memory mappings this process has now.</summary>
    public static int MapCount() => File.ReadLines("/proc/self/maps").Count();

    /// <summary>Whether fiber stacks share one mapping (kernel guard markers, Linux 6.13+): asked of a real hub once.</summary>
    public static bool FiberStacksShareOneMapping => s_shareOneMapping.Value;

    private static readonly Lazy<bool> s_shareOneMapping =
        new(() => Hub.Run(() => Hub.Current!.GetStats().GuardMarkers != 0, new HubOptions { MaxFibers = 16 }));

    /// <summary>Mappings a process needs for <paramref name="fibers"/> live fibers: none each where the stacks share
    /// one mapping, else two each (guard page + stack); plus what the runtime already has, plus slack for the
    /// runtime's own growth.</summary>
    public static long MapsNeededForFibers(long fibers, int current) =>
        (FiberStacksShareOneMapping ? 0 : 2 * fibers) + current + 4096;

    /// <summary>Active objects of a kernel slab cache (e.g. <c>vm_area_struct</c>) and the object size, or null when
    /// <c>/proc/slabinfo</c> is not readable. System-wide: other processes move it too.</summary>
    public static (long Active, long Size)? Slab(string name)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/slabinfo"))
            {
                if (!line.StartsWith(name + " ", StringComparison.Ordinal)) continue;
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return (long.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }

    public static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
