using System.Runtime.InteropServices;

namespace FiberRuntime.Scheduling;

/// <summary>Names the operating-system limit behind a failed resource allocation, so an exhausted process says
/// which limit it hit (and its value) instead of a bare errno. Reads limits with getrlimit: no descriptor needed,
/// which matters when descriptors are what ran out.</summary>
internal static partial class ResourceLimits
{
    internal const int EMFILE = 24, ENFILE = 23, ENOMEM = 12;
    private const int RLIMIT_NOFILE = 7, RLIMIT_AS = 9;

    /// <summary>"<paramref name="what"/> failed: ..." with the limit <paramref name="errno"/> points at.</summary>
    internal static string Describe(string what, int errno) => errno switch
    {
        EMFILE => $"{what} failed: too many open files (EMFILE): the process reached its descriptor limit RLIMIT_NOFILE ({Soft(RLIMIT_NOFILE)}; ulimit -n)",
        ENFILE => $"{what} failed: too many open files in the system (ENFILE): the system-wide limit fs.file-max is reached",
        ENOMEM => $"{what} failed: out of memory (ENOMEM; address-space limit RLIMIT_AS: {Soft(RLIMIT_AS)})",
        _ => $"{what} failed (errno {errno})",
    };

    private static string Soft(int resource) =>
        getrlimit(resource, out RLimit r) != 0 ? "unknown" : r.Current == ulong.MaxValue ? "unlimited" : $"soft limit {r.Current}";

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current, Maximum;
    }

    [LibraryImport("libc")]
    private static partial int getrlimit(int resource, out RLimit limit);
}
