using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.Versioning;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FiberRuntime.Tests.Scheduling;
using Xunit.Abstractions;

namespace FiberRuntime.Tests.Packaging;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackagingCollection
{
    public const string Name = "Packaging (dotnet pack and a consumer application in child processes, run alone)";
}

/// <summary>
/// The NuGet package as a user gets it: <c>dotnet pack src/FiberRuntime -c Release</c> into a temporary folder feed,
/// then a fresh console application (tests/PackageConsumer, copied to a temporary directory) that takes FiberRuntime
/// from that feed alone, builds without compiling any C, and runs fibers, sleeps and loopback socket I/O.
/// </summary>
/// <remarks>Nothing is written into the repository: the pack's bin/, obj/ and native build directory, the feed, the
/// consumer and its packages folder all live in one temporary directory. Build servers are off so that no MSBuild node
/// or compiler server outlives the test. To do the same by hand:
/// <code>
/// dotnet pack src/FiberRuntime -c Release -o /tmp/pc/feed
/// cp -r tests/PackageConsumer /tmp/pc/consumer &amp;&amp; cd /tmp/pc/consumer
/// dotnet run -c Release -p:FiberRuntimeVersion=&lt;version&gt;
/// </code></remarks>
[Collection(PackagingCollection.Name)]
public sealed class PackageConsumerTests(PackedFiberRuntime packed, ITestOutputHelper output) : IClassFixture<PackedFiberRuntime>
{
    private const string NativeEntry = "runtimes/linux-x64/native/libfiberrt.so";
    private const string Arm64NativeEntry = "runtimes/linux-arm64/native/libfiberrt.so";

    [Fact]
    public void The_package_holds_the_library_its_docs_a_readme_and_the_native_library()
    {
        output.WriteLine(packed.PackLog);
        Assert.Equal(packed.VersionPrefixInProject, packed.Version.Split('-')[0]);   // the one place the version is set

        using ZipArchive zip = ZipFile.OpenRead(packed.Package);
        string[] entries = zip.Entries.Select(e => e.FullName)
            .Where(n => n != "[Content_Types].xml" && !n.StartsWith("_rels/", StringComparison.Ordinal) && !n.StartsWith("package/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(
        [
            "FiberRuntime.nuspec",
            "README.md",
            "lib/net10.0/FiberRuntime.dll",
            "lib/net10.0/FiberRuntime.xml",
            Arm64NativeEntry,
            NativeEntry,
        ], entries);

        XElement metadata = XDocument.Parse(ReadText(zip, "FiberRuntime.nuspec")).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string Meta(string name) => metadata.Elements().Single(e => e.Name.LocalName == name).Value;
        XElement MetaElement(string name) => metadata.Elements().Single(e => e.Name.LocalName == name);
        Assert.Equal("FiberRuntime", Meta("id"));
        Assert.Equal(packed.Version, Meta("version"));
        Assert.False(string.IsNullOrWhiteSpace(Meta("authors")));
        Assert.Contains("greenlets", Meta("description"), StringComparison.Ordinal);
        Assert.Contains("gevent", Meta("tags").Split(' '));
        Assert.Equal("MIT", Meta("license"));
        Assert.Equal("expression", MetaElement("license").Attribute("type")?.Value);
        Assert.Equal("README.md", Meta("readme"));
        Assert.StartsWith("https://", Meta("projectUrl"), StringComparison.Ordinal);
        XElement repository = MetaElement("repository");
        Assert.Equal("git", repository.Attribute("type")?.Value);
        Assert.StartsWith("https://", repository.Attribute("url")?.Value, StringComparison.Ordinal);
        XElement group = Assert.Single(MetaElement("dependencies").Elements());
        Assert.Equal("net10.0", group.Attribute("targetFramework")?.Value);
        Assert.Empty(group.Elements());                 // no package dependencies

        string readme = ReadText(zip, "README.md");
        Assert.Equal(File.ReadAllText(Path.Combine(packed.RepoRoot, "src", "FiberRuntime", "PACKAGE.md")), readme);
        Assert.Contains("linux-x64", readme, StringComparison.Ordinal);
        Assert.Contains("dotnet add package FiberRuntime", readme, StringComparison.Ordinal);

        Assert.Contains("<member name=\"T:FiberRuntime.Hub\">", ReadText(zip, "lib/net10.0/FiberRuntime.xml"), StringComparison.Ordinal);

        byte[] native = ReadBytes(zip, NativeEntry);
        Assert.Equal("\x7F" + "ELF", Encoding.Latin1.GetString(native, 0, 4));
        Assert.Equal(62, BitConverter.ToUInt16(native, 18));     // e_machine: EM_X86_64
        byte[] arm64 = ReadBytes(zip, Arm64NativeEntry);
        Assert.Equal("\x7F" + "ELF", Encoding.Latin1.GetString(arm64, 0, 4));
        Assert.Equal(183, BitConverter.ToUInt16(arm64, 18));     // e_machine: EM_AARCH64 (cross-compiled; run under qemu by .ci/linux-arm64)

        byte[] dll = ReadBytes(zip, "lib/net10.0/FiberRuntime.dll");
        string dllPath = Path.Combine(packed.Root, "inspect", "FiberRuntime.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(dllPath)!);
        File.WriteAllBytes(dllPath, dll);
        Assert.Equal(Version.Parse(packed.VersionPrefixInProject), StripRevision(AssemblyName.GetAssemblyName(dllPath).Version!));
    }

    [Fact]
    public void The_symbol_package_holds_the_portable_pdb_of_the_packed_dll()
    {
        Assert.True(File.Exists(packed.SymbolPackage), $"{packed.SymbolPackage} is missing");
        using ZipArchive symbols = ZipFile.OpenRead(packed.SymbolPackage);
        Assert.Contains("lib/net10.0/FiberRuntime.pdb", symbols.Entries.Select(e => e.FullName));
        using ZipArchive package = ZipFile.OpenRead(packed.Package);

        using var pe = new PEReader(new MemoryStream(ReadBytes(package, "lib/net10.0/FiberRuntime.dll")));
        DebugDirectoryEntry codeView = pe.ReadDebugDirectory().Single(e => e.Type == DebugDirectoryEntryType.CodeView);
        CodeViewDebugDirectoryData expected = pe.ReadCodeViewDebugDirectoryData(codeView);
        Assert.Equal("FiberRuntime.pdb", Path.GetFileName(expected.Path));
        Assert.Equal(0x504D, codeView.MinorVersion);    // "PM": the DLL points at a portable PDB, not a Windows one

        using MetadataReaderProvider pdb = MetadataReaderProvider.FromPortablePdbStream(new MemoryStream(ReadBytes(symbols, "lib/net10.0/FiberRuntime.pdb")));
        MetadataReader reader = pdb.GetMetadataReader();
        var pdbId = new BlobContentId(reader.DebugMetadataHeader!.Id);
        Assert.Equal(expected.Guid, pdbId.Guid);        // this PDB belongs to that very DLL
        Assert.Contains(reader.Documents.Select(d => reader.GetString(reader.GetDocument(d).Name)),
            name => name.EndsWith("Hub.cs", StringComparison.Ordinal));
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public void A_fresh_console_app_gets_FiberRuntime_from_the_package_alone_and_runs_fibers_and_sockets()
    {
        string consumer = Path.Combine(packed.Root, "consumer");
        Directory.CreateDirectory(consumer);
        foreach (string name in new[] { "PackageConsumer.csproj", "Program.cs", "nuget.config", "Directory.Build.props" })
            File.Copy(Path.Combine(packed.RepoRoot, "tests", "PackageConsumer", name), Path.Combine(consumer, name));

        // a cmake (and C toolchain) that records being called: the consumer must never build C
        string trapDir = Path.Combine(packed.Root, "trap");
        string trapLog = Path.Combine(packed.Root, "trap.log");
        Directory.CreateDirectory(trapDir);
        foreach (string tool in new[] { "cmake", "make", "cc", "gcc" })
        {
            string path = Path.Combine(trapDir, tool);
            File.WriteAllText(path, $"#!/bin/sh\necho \"{tool} $*\" >> \"{trapLog}\"\nexit 1\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var env = new Dictionary<string, string?>
        {
            ["PATH"] = trapDir + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"),
            ["NUGET_PACKAGES"] = Path.Combine(packed.Root, "packages"),        // the same folder nuget.config names
        };
        ProcessRun probe = ProcessRun.Start("sh", ["-c", "cmake --version"], packed.Root, env, TimeSpan.FromSeconds(30));
        Assert.True(probe.ExitCode == 1 && File.Exists(trapLog) && File.ReadAllText(trapLog).StartsWith("cmake --version", StringComparison.Ordinal),
            "the cmake trap is not what PATH finds");
        File.Delete(trapLog);

        var watch = Stopwatch.StartNew();
        ProcessRun build = ProcessRun.Start(ProcessRun.DotnetHost(),
            ["build", consumer, "-c", "Release", "-p:FiberRuntimeVersion=" + packed.Version, "--disable-build-servers", "-warnaserror", "--nologo"],
            consumer, env, TimeSpan.FromMinutes(5));
        output.WriteLine($"consumer build ({watch.Elapsed.TotalSeconds:F1} s):\n{build.Output}");
        Assert.True(build.ExitCode == 0, "the consumer did not build");
        Assert.False(File.Exists(trapLog), "the consumer's build ran a C build tool: " + (File.Exists(trapLog) ? File.ReadAllText(trapLog) : ""));

        // FiberRuntime came from the package just packed, through the consumer's own packages folder
        string restored = Path.Combine(packed.Root, "packages", "fiberruntime", packed.Version.ToLowerInvariant(), $"fiberruntime.{packed.Version.ToLowerInvariant()}.nupkg");
        Assert.True(File.Exists(restored), $"{restored} is missing");
        Assert.Equal(File.ReadAllBytes(packed.Package), File.ReadAllBytes(restored));

        // the native library is the package's, copied into the consumer's output where the host finds it
        string bin = Path.Combine(consumer, "bin", "Release", "net10.0");
        string nativeInBin = Path.Combine(bin, NativeEntry);
        Assert.True(File.Exists(nativeInBin), $"{nativeInBin} is missing");
        using (ZipArchive zip = ZipFile.OpenRead(packed.Package))
            Assert.Equal(ReadBytes(zip, NativeEntry), File.ReadAllBytes(nativeInBin));

        string app = Path.Combine(bin, "PackageConsumer.dll");
        ProcessRun run = ProcessRun.Start(ProcessRun.DotnetHost(), [app], consumer, env, TimeSpan.FromMinutes(1));
        output.WriteLine(run.Output);
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(
        [
            "woke: first, second, third",
            "answer: 42",
            "echo: hello",
            "echo: from a fiber",
            "server echoed 17 bytes",
            "done",
        ], run.StdoutLines);

        // without its native library the application gets the runtime gate's refusal, never a DllNotFoundException
        File.Delete(nativeInBin);
        ProcessRun refused = ProcessRun.Start(ProcessRun.DotnetHost(), [app], consumer, env, TimeSpan.FromMinutes(1));
        output.WriteLine(refused.Output);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("System.PlatformNotSupportedException: The native library libfiberrt for linux-x64 could not be loaded", refused.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("DllNotFoundException", refused.Output, StringComparison.Ordinal);
        Assert.Empty(refused.StdoutLines);
    }

    private static Version StripRevision(Version v) => new(v.Major, v.Minor, Math.Max(v.Build, 0));

    private static byte[] ReadBytes(ZipArchive zip, string entry)
    {
        ZipArchiveEntry e = zip.GetEntry(entry) ?? throw new Xunit.Sdk.XunitException($"the package has no {entry}");
        using Stream s = e.Open();
        using var copy = new MemoryStream();
        s.CopyTo(copy);
        return copy.ToArray();
    }

    private static string ReadText(ZipArchive zip, string entry)
    {
        byte[] bytes = ReadBytes(zip, entry);
        return new UTF8Encoding(false).GetString(bytes).TrimStart('\uFEFF');
    }
}

/// <summary><c>dotnet pack src/FiberRuntime -c Release</c>, once for the packaging tests, with every output (bin, obj, the
/// native build, the feed) in a temporary directory that is deleted afterwards.</summary>
public sealed partial class PackedFiberRuntime : IDisposable
{
    [GeneratedRegex(@"<VersionPrefix>([^<]+)</VersionPrefix>")]
    private static partial Regex VersionPrefixElement();

    public PackedFiberRuntime()
    {
        RepoRoot = FindRepoRoot();
        Root = Path.Combine(Path.GetTempPath(), "fiberruntime-packaging-" + Guid.NewGuid().ToString("N")[..12]);
        string feed = Path.Combine(Root, "feed");
        Directory.CreateDirectory(feed);
        string project = Path.Combine(RepoRoot, "src", "FiberRuntime", "FiberRuntime.csproj");
        VersionPrefixInProject = VersionPrefixElement().Match(File.ReadAllText(project)).Groups[1].Value;

        var watch = Stopwatch.StartNew();
        ProcessRun pack = ProcessRun.Start(ProcessRun.DotnetHost(),
        [
            "pack", project, "-c", "Release", "-o", feed, "--disable-build-servers", "-warnaserror", "--nologo",
            $"-p:BaseOutputPath={Root}/bin/", $"-p:BaseIntermediateOutputPath={Root}/obj/", $"-p:FiberRtNativeBuildRoot={Root}/native/",
        ], RepoRoot, new Dictionary<string, string?>(), TimeSpan.FromMinutes(5));
        PackLog = $"dotnet pack ({watch.Elapsed.TotalSeconds:F1} s), exit {pack.ExitCode}:\n{pack.Output}";
        if (pack.ExitCode != 0) throw new InvalidOperationException(PackLog);

        string[] packages = Directory.GetFiles(feed, "FiberRuntime.*.nupkg").Where(p => !p.EndsWith(".snupkg", StringComparison.Ordinal)).ToArray();
        if (packages.Length != 1) throw new InvalidOperationException($"expected one FiberRuntime.*.nupkg in {feed}, found {packages.Length}\n{PackLog}");
        Package = packages[0];
        string name = Path.GetFileName(Package);
        Version = name["FiberRuntime.".Length..^".nupkg".Length];
        SymbolPackage = Path.Combine(feed, $"FiberRuntime.{Version}.snupkg");
    }

    public string RepoRoot { get; }

    public string Root { get; }

    public string Package { get; }

    public string SymbolPackage { get; }

    public string Version { get; }

    public string VersionPrefixInProject { get; }

    public string PackLog { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a temporary directory
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "src", "FiberRuntime", "FiberRuntime.csproj"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no repository above {AppContext.BaseDirectory}");
    }
}
