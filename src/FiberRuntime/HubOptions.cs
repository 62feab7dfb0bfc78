namespace FiberRuntime;

/// <summary>Settings of one hub: how many fibers it can hold at once and how big each fiber's stack is.</summary>
/// <remarks>
/// A hub reserves address space for <see cref="MaxFibers"/> stacks of <see cref="StackSize"/> bytes up front
/// (reserved, not committed: a stack costs memory only for the pages it touches), so the defaults reserve
/// 4 GiB of address space and use a few KiB of memory per live fiber. Every stack has a guard page below it.
/// On Linux 6.13 and later the guard pages are kernel guard markers and all of a hub's stacks form one memory
/// mapping. Older kernels need a mapping of its own for each guard page: two per live fiber, and Linux limits
/// mappings per process (<c>vm.max_map_count</c>, 65530 by default), so there more than ~30 000 simultaneously
/// live fibers need that limit raised.
/// </remarks>
public sealed record HubOptions
{
    /// <summary>Default bytes per fiber stack, guard page included: 256 KiB.</summary>
    public const int DefaultStackSize = 256 * 1024;

    /// <summary>Default number of fibers that can be alive at once on one hub.</summary>
    public const int DefaultMaxFibers = 16 * 1024;

    /// <summary>Smallest allowed <see cref="StackSize"/>: 64 KiB.</summary>
    public const int MinStackSize = 64 * 1024;

    /// <summary>Largest allowed <see cref="StackSize"/>: 64 MiB.</summary>
    public const int MaxStackSize = 64 * 1024 * 1024;

    /// <summary>Largest allowed <see cref="MaxFibers"/>: 2^24 - 1.</summary>
    /// <remarks>The native hub holds one stack slot more than <see cref="MaxFibers"/> (a greenlet that ends into a
    /// parent that never ran starts it while still on its own stack), and at most 2^24 slots.</remarks>
    public const int MaxFibersLimit = Interop.NativeMethods.MaxCapacity - 1;

    /// <summary>The default options.</summary>
    public static HubOptions Default { get; } = new();

    /// <summary>Bytes reserved per fiber stack, guard page included. Rounded up to a multiple of the page size;
    /// must lie in [<see cref="MinStackSize"/>, <see cref="MaxStackSize"/>].</summary>
    public int StackSize { get; init; } = DefaultStackSize;

    /// <summary>How many fibers can be alive (started and not finished) at once on the hub.</summary>
    public int MaxFibers { get; init; } = DefaultMaxFibers;

    /// <summary>Bytes for the hub thread's own stack (where <see cref="Hub.Run(Action, HubOptions?)"/>'s main runs).</summary>
    public int HubStackSize { get; init; } = 8 * 1024 * 1024;

    /// <summary>When set, the blocking monitor reports (through <see cref="Hub.Blocked"/>, else standard error) every
    /// time a fiber keeps the hub's thread longer than this without yielding (gevent's <c>max_blocking_time</c>).
    /// Null (the default): not monitored.</summary>
    public TimeSpan? MaxBlockingTime { get; init; }

    /// <summary>DIAGNOSTICS: record where each greenlet is created (a <see cref="System.Diagnostics.StackTrace"/> with file
    /// and line per spawn: costly, for debugging), shown by run-info dumps (<see cref="Diagnostics.RunInfo"/>). Defaults to
    /// on when the environment variable <c>FIBERRUNTIME_SPAWN_SITES</c> is <c>1</c>. Without it a dump names each
    /// greenlet by its body method, which costs nothing at spawn.</summary>
    public bool CaptureSpawnSites { get; init; } = EnvironmentFlag("FIBERRUNTIME_SPAWN_SITES");

    /// <summary>DIAGNOSTICS: every greenlet records its own stack each time it suspends (a
    /// <see cref="System.Diagnostics.StackTrace"/> per switch: costly, for debugging), so run-info dumps
    /// (<see cref="Diagnostics.RunInfo"/>) can show where each suspended greenlet is — no thread can walk a suspended
    /// fiber's stack from outside. Defaults to on when the environment variable <c>FIBERRUNTIME_WAIT_STACKS</c> is <c>1</c>.</summary>
    public bool CaptureWaitStacks { get; init; } = EnvironmentFlag("FIBERRUNTIME_WAIT_STACKS");

    private static bool EnvironmentFlag(string name) =>
        Environment.GetEnvironmentVariable(name) is { } v && (v.Trim() == "1" || v.Trim().Equals("true", StringComparison.OrdinalIgnoreCase));

    /// <summary>TEST ONLY: suspended fibers are not made visible to the GC. The GC stress suite's negative
    /// control sets this and asserts that the process then crashes or detects corruption.</summary>
    internal bool UnsafeDisableGcProtection { get; init; }

    /// <summary>DIAGNOSTICS: keep fibers suspended inside exception handlers on the hub's main identity thread
    /// instead of handler lanes (to measure what lanes save on GC pauses).</summary>
    internal bool SingleIdentityLane { get; init; }

    /// <summary>TESTS: guard pages as PROT_NONE mappings of their own (two mappings per fiber, the path kernels
    /// older than Linux 6.13 take) even where the kernel offers guard markers.</summary>
    internal bool ProtectionGuardPages { get; init; }

    internal void Validate()
    {
        if (StackSize < MinStackSize || StackSize > MaxStackSize)
            throw new ArgumentOutOfRangeException(nameof(StackSize), StackSize, $"A fiber stack must be between {MinStackSize} and {MaxStackSize} bytes.");
        if (MaxFibers < 1 || MaxFibers > MaxFibersLimit)
            throw new ArgumentOutOfRangeException(nameof(MaxFibers), MaxFibers, $"MaxFibers must be between 1 and {MaxFibersLimit}.");
        if (MaxBlockingTime is { } mbt && mbt <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(MaxBlockingTime), mbt, "MaxBlockingTime must be positive (or null to turn the monitor off).");
        if (HubStackSize < 256 * 1024 || HubStackSize > 1024 * 1024 * 1024)
            throw new ArgumentOutOfRangeException(nameof(HubStackSize), HubStackSize, "The hub stack must be between 256 KiB and 1 GiB.");
    }

    internal static nuint RoundToPage(int bytes)
    {
        nuint page = (nuint)Environment.SystemPageSize;
        return ((nuint)bytes + page - 1) / page * page;
    }
}
