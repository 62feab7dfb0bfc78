namespace FiberRuntime.Interop;

/// <summary>
/// Which .NET runtimes FiberRuntime accepts. A runtime is accepted when (a) its contract descriptor has a layout
/// fingerprint the project has verified — the values of exactly the descriptor fields and globals the library reads
/// (see native/src/descriptor.c) — and (b) start-up verification passes on it (<see cref="RuntimeContract"/>). A later
/// patch with an identical layout therefore runs with no new package; a changed layout is refused naming each field
/// that differs, expected against found. The verified layouts and the runtime versions the GC stress suite ran on live
/// here and nowhere else; <c>.ci/runtime-matrix</c> runs the suite on the latter.
/// </summary>
internal static class RuntimePolicy
{
    /// <summary>A descriptor layout on which the GC stress suite and its negative controls behaved as they must.</summary>
    /// <param name="Platform">The runtime identifier it applies to.</param>
    /// <param name="Runtimes">The runtime versions whose descriptors have this layout (for messages and the README).</param>
    /// <param name="Fingerprint">The fingerprint text: one <c>name=value</c> line per descriptor value read.</param>
    internal sealed record VerifiedLayout(string Platform, string Runtimes, string Fingerprint)
    {
        /// <summary>A short name for the fingerprint: FNV-1a 64 of its text, in hex.</summary>
        internal string Id => FingerprintId(Fingerprint);
    }

    /// <summary>The layouts the project has verified.</summary>
    internal static readonly VerifiedLayout[] VerifiedLayouts =
    [
        // descriptors byte-identical from 10.0.11 to 10.0.15
        new("linux-x64", "10.0.11–10.0.15", """
            Architecture=x64
            OperatingSystem=1
            contract Thread=1
            Thread.Frame=8
            Thread.PreemptiveGCDisabled=4
            Thread.OSId=296
            Thread.LinkNext=112
            Thread.ExceptionTracker=352
            Thread.GCFrame=-
            Thread.CachedStackBase=-
            Thread.CachedStackLimit=-
            ThreadStore.FirstThreadLink=88
            Frame.Next=8
            InlinedCallFrame.!=56
            InlinedCallFrame.CallSiteSP=24
            InlinedCallFrame.CallerReturnAddress=32
            ExceptionInfo.PreviousNestedInfo=0
            ExceptionInfo.ThrownObject=8
            GCFrame.Next=-
            GCFrame.ObjRefs=-
            GCFrame.NumObjRefs=-
            InlinedCallFrameIdentifier=1
            """),
        new("linux-x64", "11.0.0", """
            Architecture=x64
            OperatingSystem=Unix
            contract Thread=1
            Thread.Frame=8
            Thread.PreemptiveGCDisabled=4
            Thread.OSId=224
            Thread.LinkNext=112
            Thread.ExceptionTracker=280
            Thread.GCFrame=608
            Thread.CachedStackBase=120
            Thread.CachedStackLimit=128
            ThreadStore.FirstThreadLink=88
            Frame.Next=8
            InlinedCallFrame.!=56
            InlinedCallFrame.CallSiteSP=24
            InlinedCallFrame.CallerReturnAddress=32
            ExceptionInfo.PreviousNestedInfo=0
            ExceptionInfo.ThrownObject=168
            GCFrame.Next=0
            GCFrame.ObjRefs=16
            GCFrame.NumObjRefs=24
            InlinedCallFrameIdentifier=1
            """),
        // read from the 10.0.12 runtime pack's libcoreclr by descriptor.c; the emulator-sized suite subset and negative
        // controls run on it under qemu (a .ci/runtime-matrix entry)
        new("linux-arm64", "10.0.12", """
            Architecture=arm64
            OperatingSystem=1
            contract Thread=1
            Thread.Frame=8
            Thread.PreemptiveGCDisabled=4
            Thread.OSId=336
            Thread.LinkNext=152
            Thread.ExceptionTracker=392
            Thread.GCFrame=-
            Thread.CachedStackBase=-
            Thread.CachedStackLimit=-
            ThreadStore.FirstThreadLink=88
            Frame.Next=8
            InlinedCallFrame.!=56
            InlinedCallFrame.CallSiteSP=24
            InlinedCallFrame.CallerReturnAddress=32
            ExceptionInfo.PreviousNestedInfo=0
            ExceptionInfo.ThrownObject=8
            GCFrame.Next=-
            GCFrame.ObjRefs=-
            GCFrame.NumObjRefs=-
            InlinedCallFrameIdentifier=1
            """),
    ];

    /// <summary>The runtime versions the GC stress suite and its negative controls ran on (the entries of
    /// <c>.ci/runtime-matrix</c>): what strict mode accepts.</summary>
    internal static readonly (string Platform, Version Version)[] SuiteRanOn =
    [
        ("linux-x64", new(10, 0, 12)),
        ("linux-x64", new(10, 0, 15)),
        ("linux-x64", new(11, 0, 0)),
        ("linux-arm64", new(10, 0, 12)),
    ];

    /// <summary>Set to <c>1</c> to run on a runtime whose layout is not verified (or that strict mode refuses). The
    /// start-up layout checks still run and still refuse a layout that does not verify.</summary>
    internal const string AllowUnverifiedVariable = "FIBERRUNTIME_ALLOW_UNVERIFIED_RUNTIME";

    /// <summary>Set to <c>1</c> for strict mode: only the runtime versions in <see cref="SuiteRanOn"/>.</summary>
    internal const string StrictVariable = "FIBERRUNTIME_STRICT_RUNTIME";

    /// <summary>The AppContext switch for strict mode (e.g. <c>&lt;RuntimeHostConfigurationOption Include="FiberRuntime.StrictRuntimeVersion" Value="true" /&gt;</c>).</summary>
    internal const string StrictSwitch = "FiberRuntime.StrictRuntimeVersion";

    /// <summary>Whether this process asked for strict mode (environment variable or AppContext switch).</summary>
    internal static bool StrictRequested =>
        Environment.GetEnvironmentVariable(StrictVariable) == "1" || (AppContext.TryGetSwitch(StrictSwitch, out bool on) && on);

    /// <summary>Whether this process set the override.</summary>
    internal static bool AllowUnverifiedRequested => Environment.GetEnvironmentVariable(AllowUnverifiedVariable) == "1";

    /// <summary>One sentence for refusals: what is supported.</summary>
    internal static string Supported(IEnumerable<string> platforms) =>
        $"FiberRuntime supports {string.Join(", ", platforms)} on .NET runtimes whose layout it has verified " +
        $"({string.Join("; ", VerifiedLayouts.Select(l => $"{l.Platform} {l.Runtimes}"))}; the GC stress suite ran on " +
        $"{string.Join(", ", SuiteRanOn.Select(s => $"{s.Platform} {s.Version}"))})";

    /// <summary>The policy: null when a runtime of <paramref name="version"/> with descriptor fingerprint
    /// <paramref name="fingerprint"/> may go on to start-up verification on <paramref name="platform"/>, else why not.</summary>
    internal static string? Check(string platform, Version version, string fingerprint, bool strict, bool allowUnverified)
    {
        if (allowUnverified) return null;
        VerifiedLayout? match = VerifiedLayouts.FirstOrDefault(l => l.Platform == platform && Differences(l.Fingerprint, fingerprint).Count == 0);
        if (match is null)
        {
            VerifiedLayout? closest = VerifiedLayouts.Where(l => l.Platform == platform)
                .MinBy(l => Differences(l.Fingerprint, fingerprint).Count);
            string what = closest is null
                ? $"no layout is verified for {platform}"
                : $"it differs from the verified {platform} layout {closest.Id} (.NET {closest.Runtimes}) in " +
                  string.Join(", ", Differences(closest.Fingerprint, fingerprint).Select(d => $"{d.Name} (expected {d.Expected}, found {d.Found})"));
            return $"FiberRuntime has not verified the runtime layout of .NET {version} (fingerprint {FingerprintId(fingerprint)}): {what}. " +
                   $"Set {AllowUnverifiedVariable}=1 to run its start-up layout checks on it anyway";
        }
        if (strict && !SuiteRanOn.Contains((platform, version)))
            return $"Strict runtime mode ({StrictVariable}=1 or the AppContext switch {StrictSwitch}) accepts only the runtime versions " +
                   $"the GC stress suite ran on ({string.Join(", ", SuiteRanOn.Where(s => s.Platform == platform).Select(s => s.Version))} on {platform}); " +
                   $"this is .NET {version}, whose layout matches verified layout {match.Id} (.NET {match.Runtimes}). " +
                   $"Turn strict mode off or set {AllowUnverifiedVariable}=1 to run on it";
        return null;
    }

    /// <summary>A field that differs between two fingerprints ("-": not described).</summary>
    internal readonly record struct Difference(string Name, string Expected, string Found);

    /// <summary>Every name whose value differs, in the order of <paramref name="expected"/>, then names only
    /// <paramref name="found"/> has.</summary>
    internal static List<Difference> Differences(string expected, string found)
    {
        List<(string Name, string Value)> e = Parse(expected), f = Parse(found);
        var result = new List<Difference>();
        foreach ((string name, string value) in e)
        {
            string other = f.FirstOrDefault(x => x.Name == name).Value ?? "absent";
            if (other != value) result.Add(new(name, value, other));
        }
        foreach ((string name, string value) in f)
            if (!e.Any(x => x.Name == name)) result.Add(new(name, "absent", value));
        return result;
    }

    private static List<(string Name, string Value)> Parse(string fingerprint) =>
        [.. fingerprint.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('=', 2))
            .Select(kv => (kv[0], kv.Length > 1 ? kv[1] : ""))];

    /// <summary>FNV-1a 64 of the fingerprint's lines (whitespace around lines ignored), in hex.</summary>
    internal static string FingerprintId(string fingerprint)
    {
        ulong h = 0xcbf29ce484222325;
        foreach ((string name, string value) in Parse(fingerprint))
        {
            foreach (char c in $"{name}={value}\n")
            {
                h ^= c;
                h *= 0x100000001b3;
            }
        }
        return h.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
    }
}
