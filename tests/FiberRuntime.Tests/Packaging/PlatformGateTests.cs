using System.Runtime.InteropServices;
using FiberRuntime.Interop;

namespace FiberRuntime.Tests.Packaging;

/// <summary>The platform gate in <see cref="RuntimeContract"/>: every platform without a native library is refused with a
/// message naming it and what is supported. Other platforms cannot run here, so the gate is called with their values.</summary>
public sealed class PlatformGateTests
{
    public static TheoryData<OSPlatform, Architecture, Architecture, string, string, string> Unsupported => new()
    {
        { OSPlatform.Windows, Architecture.X64, Architecture.X64, "win-x64", "Microsoft Windows 10.0.26100", "win-x64" },
        { OSPlatform.Windows, Architecture.Arm64, Architecture.Arm64, "win-arm64", "Microsoft Windows 10.0.26100", "win-arm64" },
        { OSPlatform.OSX, Architecture.Arm64, Architecture.Arm64, "osx-arm64", "Darwin 24.1.0", "osx-arm64" },
        { OSPlatform.OSX, Architecture.X64, Architecture.Arm64, "osx-x64", "Darwin 24.1.0", "osx-x64" },      // under Rosetta
        { OSPlatform.Linux, Architecture.Arm, Architecture.Arm64, "linux-arm", "Raspberry Pi OS 12", "linux-arm" },   // 32-bit process on arm64
        { OSPlatform.Linux, Architecture.X86, Architecture.X64, "linux-x86", "Debian GNU/Linux 12", "linux-x86" },
        { OSPlatform.FreeBSD, Architecture.X64, Architecture.X64, "freebsd-x64", "FreeBSD 14.1-RELEASE", "freebsd-x64" },
    };

    [Theory]
    [MemberData(nameof(Unsupported))]
    public void A_platform_without_a_native_library_is_refused_naming_it_and_what_is_supported(
        OSPlatform os, Architecture process, Architecture osArchitecture, string rid, string description, string platform)
    {
        string? why = RuntimeContract.CheckPlatform(os, process, osArchitecture, rid, description);
        Assert.NotNull(why);
        Assert.StartsWith($"FiberRuntime has no native library for {platform} ", why);
        Assert.Contains(description, why);
        Assert.Contains(process.ToString(), why);
        Assert.Contains("FiberRuntime supports linux-x64, linux-arm64 on .NET runtimes whose layout it has verified", why);
        if (process != osArchitecture) Assert.Contains($"{process} process on {osArchitecture}", why);
    }

    [Theory]
    [InlineData("linux-x64")]
    [InlineData("ubuntu.24.04-x64")]        // a distribution's source-built runtime names its own RID
    public void Linux_x64_is_accepted_whatever_the_runtime_identifier(string rid)
    {
        Assert.Null(RuntimeContract.CheckPlatform(OSPlatform.Linux, Architecture.X64, Architecture.X64, rid, "Linux"));
    }

    [Theory]
    [InlineData("linux-arm64")]
    [InlineData("ubuntu.24.04-arm64")]
    public void Linux_arm64_is_accepted_whatever_the_runtime_identifier(string rid)
    {
        Assert.Null(RuntimeContract.CheckPlatform(OSPlatform.Linux, Architecture.Arm64, Architecture.Arm64, rid, "Linux"));
    }

    [Fact]
    public void The_supported_platforms_are_the_ones_the_package_carries_a_native_library_for()
    {
        Assert.Equal(["linux-x64", "linux-arm64"], RuntimeContract.SupportedPlatforms);
    }

    [Fact]
    public void Every_supported_platform_is_one_the_gate_accepts()
    {
        // the RID list is what the message and the package name; the gate must agree with it
        foreach (string platform in RuntimeContract.SupportedPlatforms)
        {
            string[] parts = platform.Split('-');
            OSPlatform os = parts[0] switch { "linux" => OSPlatform.Linux, "win" => OSPlatform.Windows, "osx" => OSPlatform.OSX, _ => OSPlatform.Create(parts[0]) };
            Architecture arch = Enum.Parse<Architecture>(parts[1], ignoreCase: true);
            Assert.Null(RuntimeContract.CheckPlatform(os, arch, arch, platform, "test"));
        }
    }

    [Fact]
    public void This_process_passes_the_gate()
    {
        RuntimeContract.EnsurePlatformSupported();      // the test machine is linux-x64: must not throw
        Assert.Equal(Architecture.X64, RuntimeInformation.ProcessArchitecture);
    }
}
