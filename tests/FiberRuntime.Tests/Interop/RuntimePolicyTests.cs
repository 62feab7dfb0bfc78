using FiberRuntime.Interop;

namespace FiberRuntime.Tests.Interop;

/// <summary>
/// The runtime policy (<see cref="RuntimePolicy"/>) and the descriptor parser it relies on (native/src/descriptor.c),
/// on the contract descriptors of two real runtimes (Interop/Descriptors: .NET 10.0.12 and 11.0.0, dumped from their
/// libcoreclr) and on edited and malformed copies of them.
/// </summary>
public sealed class RuntimePolicyTests
{
    private static readonly Version Net10 = new(10, 0, 12), Net11 = new(11, 0, 0);

    private static string Descriptor(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Interop", "Descriptors", name + ".json"));

    private static string Net10Json => Descriptor("linux-x64-10.0.12");

    private static string Net11Json => Descriptor("linux-x64-11.0.0");

    private static string? Check(string json, Version version, bool strict = false, bool allowUnverified = false) =>
        RuntimePolicy.Check("linux-x64", version, RuntimeContract.DescriptorFingerprint(json), strict, allowUnverified);

    private static string Refusal(string json)
    {
        var e = Assert.Throws<PlatformNotSupportedException>(() => RuntimeContract.DescriptorFingerprint(json));
        return e.Message;
    }

    [Fact]
    public void Both_descriptor_shapes_parse_to_the_layouts_the_project_verified()
    {
        string f10 = RuntimeContract.DescriptorFingerprint(Net10Json);
        string f11 = RuntimeContract.DescriptorFingerprint(Net11Json);
        Assert.Empty(RuntimePolicy.Differences(RuntimePolicy.VerifiedLayouts[0].Fingerprint, f10));
        Assert.Empty(RuntimePolicy.Differences(RuntimePolicy.VerifiedLayouts[1].Fingerprint, f11));
        // .NET 10: numbers and [value,"type"] globals, nothing about GCFrame; .NET 11: "c1", bare-string globals, GCFrame described
        Assert.Contains("Thread.OSId=296\n", f10);
        Assert.Contains("Thread.GCFrame=-\n", f10);
        Assert.Contains("OperatingSystem=1\n", f10);
        Assert.Contains("Thread.OSId=224\n", f11);
        Assert.Contains("Thread.GCFrame=608\n", f11);
        Assert.Contains("Thread.CachedStackBase=120\n", f11);
        Assert.Contains("GCFrame.NumObjRefs=24\n", f11);
        Assert.Contains("OperatingSystem=Unix\n", f11);
        Assert.Contains("contract Thread=1\n", f11);
        Assert.Null(Check(Net10Json, new Version(10, 0, 13)));     // a later patch with the same layout: accepted
        Assert.Null(Check(Net11Json, Net11));
    }

    [Fact]
    public void The_running_runtime_has_a_verified_layout()
    {
        Hub.Run(() => { });            // loads and verifies the contract
        Assert.Null(RuntimePolicy.Check("linux-x64", Environment.Version, RuntimeContract.LoadedFingerprint(), false, false));
    }

    [Fact]
    public void A_changed_layout_is_refused_naming_each_field_that_differs_expected_and_found()
    {
        string json = Net10Json.Replace("\"OSId\":296", "\"OSId\":300", StringComparison.Ordinal)
                               .Replace("\"ThrownObject\":8", "\"ThrownObject\":16", StringComparison.Ordinal);
        string? why = Check(json, new Version(10, 0, 16));
        Assert.NotNull(why);
        Assert.Contains(".NET 10.0.16", why);
        Assert.Contains($"layout {RuntimePolicy.VerifiedLayouts[0].Id} (.NET 10.0.11–10.0.15)", why);
        Assert.Contains("Thread.OSId (expected 296, found 300), ExceptionInfo.ThrownObject (expected 8, found 16)", why);
        Assert.DoesNotContain("Thread.Frame", why);
        Assert.Contains(RuntimePolicy.AllowUnverifiedVariable + "=1", why);
        Assert.Contains(RuntimePolicy.FingerprintId(RuntimeContract.DescriptorFingerprint(json)), why);
        Assert.Null(Check(json, new Version(10, 0, 16), allowUnverified: true));     // the override: start-up checks decide
    }

    [Fact]
    public void A_field_the_descriptor_starts_describing_is_named_as_a_difference()
    {
        // .NET 10's layout with the GCFrame type added: compared with the closest verified layout
        string json = Net10Json.Replace("\"types\":{", "\"types\":{\"GCFrame\":{\"Next\":0,\"ObjRefs\":16,\"NumObjRefs\":24},", StringComparison.Ordinal);
        string? why = Check(json, new Version(10, 0, 16));
        Assert.NotNull(why);
        Assert.Contains("GCFrame.Next (expected -, found 0)", why);
    }

    [Fact]
    public void A_descriptor_that_only_adds_or_changes_fields_the_library_does_not_read_keeps_its_fingerprint()
    {
        string json = Net10Json
            .Replace("\"types\":{", "\"types\":{\"SomethingNew\":{\"!\":8,\"Field\":0},", StringComparison.Ordinal)
            .Replace("\"Id\":16,\"OSId\":296", "\"Id\":20,\"NewField\":900,\"OSId\":296", StringComparison.Ordinal)
            .Replace("\"globals\":{", "\"globals\":{\"NewGlobal\":[\"0x7\",\"uint8\"],", StringComparison.Ordinal);
        Assert.Equal(RuntimeContract.DescriptorFingerprint(Net10Json), RuntimeContract.DescriptorFingerprint(json));
        Assert.Null(Check(json, new Version(10, 0, 17)));
    }

    [Fact]
    public void Strict_mode_accepts_only_the_runtime_versions_the_suite_ran_on()
    {
        Assert.Null(Check(Net10Json, Net10, strict: true));
        Assert.Null(Check(Net11Json, Net11, strict: true));
        string? why = Check(Net10Json, new Version(10, 0, 13), strict: true);
        Assert.NotNull(why);
        Assert.Contains(RuntimePolicy.StrictVariable + "=1", why);
        Assert.Contains(RuntimePolicy.StrictSwitch, why);
        Assert.Contains(".NET 10.0.13", why);
        Assert.Contains("10.0.12, 10.0.15, 11.0.0 on linux-x64", why);
        Assert.Contains(RuntimePolicy.VerifiedLayouts[0].Id, why);
        Assert.Null(Check(Net10Json, new Version(10, 0, 13), strict: true, allowUnverified: true));
        // a version the suite ran on does not make an unverified layout acceptable
        string changed = Net11Json.Replace("\"OSId\":224", "\"OSId\":232", StringComparison.Ordinal);
        Assert.Contains("Thread.OSId (expected 224, found 232)", Check(changed, Net11, strict: true));
    }

    [Fact]
    public void Every_version_the_suite_ran_on_has_a_verified_layout_on_its_platform()
    {
        foreach ((string platform, Version version) in RuntimePolicy.SuiteRanOn)
            Assert.Contains(RuntimePolicy.VerifiedLayouts, l => l.Platform == platform);
        Assert.Equal(RuntimePolicy.VerifiedLayouts.Length, RuntimePolicy.VerifiedLayouts.Select(l => l.Id).Distinct().Count());
        Assert.Matches("^[0-9a-f]{16}$", RuntimePolicy.VerifiedLayouts[0].Id);
    }

    [Fact]
    public void A_platform_with_no_verified_layout_is_named_as_such()
    {
        string? why = RuntimePolicy.Check("linux-riscv64", Net10, RuntimeContract.DescriptorFingerprint(Net10Json), false, false);
        Assert.NotNull(why);
        Assert.Contains("no layout is verified for linux-riscv64", why);
    }

    [Fact]
    public void A_descriptor_without_the_Architecture_global_is_refused_as_such_not_as_another_platform()
    {
        string why = Refusal(Net11Json.Replace("\"Architecture\":[\"x64\",\"string\"],", "", StringComparison.Ordinal));
        Assert.Contains("has no Architecture global", why);
        Assert.Contains("an x64 process", why);
        Assert.DoesNotContain("not for", why);
    }

    [Fact]
    public void A_descriptor_for_another_architecture_is_refused_naming_it()
    {
        string why = Refusal(Net10Json.Replace("\"Architecture\":[\"x64\",\"string\"]", "\"Architecture\":[\"arm64\",\"string\"]", StringComparison.Ordinal));
        Assert.Contains("describes architecture 'arm64'", why);
        Assert.Contains("built for 'x64'", why);
    }

    [Theory]
    [InlineData("\"Thread\":\"c1\"", "\"Thread\":\"c2\"", "Thread contract is version 2 (FiberRuntime knows version 1)")]
    [InlineData("\"Thread\":\"c1\"", "\"Thread\":\"cx\"", "has no Thread contract version")]
    [InlineData("\"Thread\":\"c1\"", "\"Thread\":null", "has no Thread contract version")]
    [InlineData("\"OSId\":224", "\"OSId\":\"abc\"", "has no Thread.OSId")]
    [InlineData("\"GCFrame\":{\"Next\":0,", "\"GCFrame\":{", "has no GCFrame.Next")]
    [InlineData("\"CachedStackLimit\":128,", "", "only one of Thread.CachedStackBase and Thread.CachedStackLimit")]
    [InlineData("\"ThreadStore\":[[3],\"pointer\"]", "\"ThreadStore\":\"0x3\"", "has no pointer global ThreadStore")]
    [InlineData("\"InlinedCallFrameIdentifier\":\"0x1\"", "\"InlinedCallFrameIdentifier\":\"one\"", "has no global InlinedCallFrameIdentifier")]
    [InlineData("\"contracts\":{", "\"contractz\":{", "lacks contracts")]
    public void A_net11_descriptor_missing_what_the_library_reads_is_refused_naming_it(string find, string replace, string expected)
    {
        string json = Net11Json.Replace(find, replace, StringComparison.Ordinal);
        Assert.NotEqual(Net11Json, json);
        Assert.Contains(expected, Refusal(json));
    }

    [Fact]
    public void A_net10_descriptor_missing_a_field_is_refused_naming_it()
    {
        Assert.Contains("Thread contract is version 2", Refusal(Net10Json.Replace("\"Thread\":1}", "\"Thread\":2}", StringComparison.Ordinal)));
        Assert.Contains("has no ExceptionInfo.PreviousNestedInfo", Refusal(Net10Json.Replace("\"PreviousNestedInfo\":0", "\"Previous\":0", StringComparison.Ordinal)));
        Assert.Contains("has no Thread.LinkNext", Refusal(Net10Json.Replace("\"LinkNext\":[112,\"pointer\"]", "\"LinkNext\":[\"pointer\"]", StringComparison.Ordinal)));
    }

    public static TheoryData<string> Malformed => new()
    {
        "",
        "   ",
        "[]",
        "{",
        "{\"types\":",
        "{\"types\":{}}x",
        "{\"types\":{\"Thread\":{\"Frame\":8}",
        new string('[', 100_000),
        "\"just a string\"",
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_json_is_refused_without_crashing(string json)
    {
        Assert.Contains("descriptor", Refusal(json));
    }

    [Fact]
    public void Truncated_real_descriptors_are_refused_at_every_cut()
    {
        foreach (string full in new[] { Net10Json.TrimEnd(), Net11Json.TrimEnd() })
        {
            for (int cut = 0; cut < full.Length - 1; cut += 97)
                Assert.Contains("descriptor", Refusal(full[..cut]));
        }
    }

    [Fact]
    public void Refusals_name_what_is_supported()
    {
        string supported = RuntimePolicy.Supported(RuntimeContract.SupportedPlatforms);
        Assert.StartsWith("FiberRuntime supports linux-x64, linux-arm64 on .NET runtimes whose layout it has verified", supported);
        Assert.Contains("linux-x64 10.0.11–10.0.15; linux-x64 11.0.0; linux-arm64 10.0.12", supported);
        Assert.Contains("the GC stress suite ran on linux-x64 10.0.12, linux-x64 10.0.15, linux-x64 11.0.0", supported);
    }
}
