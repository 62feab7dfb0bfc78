using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FiberRuntime.Interop;

/// <summary>
/// Decides, once per process, whether this runtime may host fibers: the platform, the native asset, the runtime's
/// contract descriptor and its layout fingerprint (<see cref="RuntimePolicy"/>), and a live verification of the Thread
/// layout (see native/src/contract.c). Every refusal is a <see cref="PlatformNotSupportedException"/> that names what
/// was found and what is supported.
/// </summary>
internal static unsafe class RuntimeContract
{

    private static readonly Lock s_lock = new();
    private static volatile bool s_verified;
    private static string? s_failure;
    private static string? s_switchNote;

    /// <summary>Throws <see cref="PlatformNotSupportedException"/> unless fibers can run in this process.</summary>
    internal static void EnsureVerified()
    {
        if (s_verified) return;
        lock (s_lock)
        {
            if (s_verified) return;
            if (s_failure is null)
            {
                try
                {
                    Verify();
                    Note = new string((sbyte*)NativeMethods.fr_contract_note()) + "; " + s_switchNote;
                    if (Diagnostics.FiberRuntimeEventSource.Log.IsEnabled()) Diagnostics.FiberRuntimeEventSource.Log.RuntimeVerified(Note);
                    s_verified = true;
                    return;
                }
                catch (PlatformNotSupportedException e)
                {
                    s_failure = e.Message;
                }
            }
            throw new PlatformNotSupportedException(s_failure);
        }
    }

    /// <summary>Once verified: how the layout was established (platform, Thread::m_pGCFrame, whether the per-architecture
    /// GCFrame::Pop code-pattern cross-check agreed or was skipped, how memory is probed) and how a switch enters
    /// cooperative mode (<see cref="SwitchFastPath"/>: the fast path, or the callback and why). Also the RuntimeVerified event.</summary>
    internal static string? Note { get; private set; }

    /// <summary>The runtime identifiers with a native fiber switch (a runtimes/&lt;rid&gt;/native asset in the package;
    /// FiberRtNativeRid in FiberRuntime.csproj).</summary>
    internal static readonly string[] SupportedPlatforms = ["linux-x64", "linux-arm64"];

    private static string Supported => RuntimePolicy.Supported(SupportedPlatforms);

    /// <summary>Throws <see cref="PlatformNotSupportedException"/> when this operating system and process architecture
    /// have no native library. Cheap (no native call, no lock): for entry points that reach native code without a hub.</summary>
    internal static void EnsurePlatformSupported()
    {
        if (PlatformGate.Refusal is { } refusal) throw new PlatformNotSupportedException(refusal);
    }

    /// <summary>The platform gate's verdict for this process, decided once.</summary>
    private static class PlatformGate
    {
        internal static readonly string? Refusal = CheckPlatform(
            OperatingSystem.IsLinux() ? OSPlatform.Linux
            : OperatingSystem.IsWindows() ? OSPlatform.Windows
            : OperatingSystem.IsMacOS() ? OSPlatform.OSX
            : OperatingSystem.IsFreeBSD() ? OSPlatform.FreeBSD
            : OSPlatform.Create(RuntimeInformation.OSDescription),
            RuntimeInformation.ProcessArchitecture, RuntimeInformation.OSArchitecture,
            RuntimeInformation.RuntimeIdentifier, RuntimeInformation.OSDescription);
    }

    /// <summary>The platform gate: null when a process on <paramref name="os"/> / <paramref name="processArchitecture"/>
    /// has a native library (<see cref="SupportedPlatforms"/>), else the refusal, naming the platform and the supported
    /// ones (the message of the <see cref="PlatformNotSupportedException"/>). The other parameters only go into it.</summary>
    internal static string? CheckPlatform(OSPlatform os, Architecture processArchitecture,
        Architecture osArchitecture, string runtimeIdentifier, string osDescription)
    {
        string osPart = os == OSPlatform.Linux ? "linux"
            : os == OSPlatform.Windows ? "win"
            : os == OSPlatform.OSX ? "osx"
            : os.ToString().ToLowerInvariant();
        string platform = $"{osPart}-{processArchitecture.ToString().ToLowerInvariant()}";
        if (SupportedPlatforms.Contains(platform)) return null;
        string arch = processArchitecture == osArchitecture
            ? processArchitecture.ToString()
            : $"{processArchitecture} process on {osArchitecture}";
        return $"FiberRuntime has no native library for {platform} (runtime identifier {runtimeIdentifier}; {osDescription}; {arch}). {Supported}.";
    }

    private static PlatformNotSupportedException Refuse(string why) =>
        new($"{why}. {Supported} (this process: {RuntimeInformation.RuntimeIdentifier}, {RuntimeInformation.FrameworkDescription}).");

    private static void Verify()
    {
        EnsurePlatformSupported();          // first: elsewhere the native library is not there to load
        if (!RuntimeInformation.FrameworkDescription.StartsWith(".NET ", StringComparison.Ordinal) || RuntimeFeature.IsDynamicCodeSupported == false)
            throw Refuse("FiberRuntime needs the CoreCLR runtime (not Mono or NativeAOT)");
        if (IsSet("DOTNET_gcConservative") || IsSet("COMPlus_gcConservative"))
            throw Refuse("Conservative GC (DOTNET_gcConservative) scans thread stacks by address range and cannot see fiber stacks");

        try
        {
            Thread t = Thread.CurrentThread;
            _ = ThreadFields.NativeThread(t);
            _ = ThreadFields.ExecutionContext(t);
            _ = ThreadFields.SynchronizationContext(t);
        }
        catch (MissingFieldException e)
        {
            throw Refuse($"System.Threading.Thread lacks a field FiberRuntime moves between fibers ({e.Message})");
        }

        byte* err = stackalloc byte[NativeMethods.ErrorBufferSize];
        try
        {
            if (NativeMethods.fr_contract_load(err, NativeMethods.ErrorBufferSize) != NativeMethods.Ok)
                throw Refuse(NativeMethods.ErrorText(err));
        }
        catch (DllNotFoundException e)
        {
            throw Refuse($"The native library libfiberrt for {RuntimeInformation.RuntimeIdentifier} could not be loaded ({e.Message})");
        }
        string platform = $"linux-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
        if (RuntimePolicy.Check(platform, Environment.Version, LoadedFingerprint(),
                RuntimePolicy.StrictRequested, RuntimePolicy.AllowUnverifiedRequested) is { } policyProblem)
            throw Refuse(policyProblem);

        // The layout check runs on a fresh thread: the caller may itself be inside a handler, which
        // would make "outside any handler" samples wrong.
        string? failure = null;
        var thread = new Thread(() =>
        {
            failure = VerifyLayoutOnThisThread();
            if (failure is null) s_switchNote = SwitchFastPath.Decide();
        }, 256 * 1024) { Name = "FiberRuntime layout check" };
        thread.Start();
        thread.Join();
        if (failure is not null) throw Refuse(failure);
    }

    /// <summary>The layout fingerprint of this runtime's contract descriptor (after <c>fr_contract_load</c>).</summary>
    internal static string LoadedFingerprint()
    {
        byte* fingerprint = stackalloc byte[NativeMethods.FingerprintBufferSize];
        if (NativeMethods.fr_contract_fingerprint(fingerprint, NativeMethods.FingerprintBufferSize) != NativeMethods.Ok)
            throw new InvalidOperationException("the runtime contract descriptor is not loaded");
        return NativeMethods.ErrorText(fingerprint);
    }

    /// <summary>The layout fingerprint of a contract descriptor's JSON text, read by the same native parser as the
    /// running runtime's (either descriptor shape); a descriptor it refuses throws <see cref="PlatformNotSupportedException"/>
    /// with the reason. For tests and tools: nothing here touches the running runtime.</summary>
    internal static string DescriptorFingerprint(string json)
    {
        byte[] text = new byte[System.Text.Encoding.UTF8.GetByteCount(json) + 1];
        System.Text.Encoding.UTF8.GetBytes(json, text);
        byte* fingerprint = stackalloc byte[NativeMethods.FingerprintBufferSize];
        byte* err = stackalloc byte[NativeMethods.ErrorBufferSize];
        fixed (byte* j = text)
        {
            if (NativeMethods.fr_descriptor_fingerprint(j, fingerprint, NativeMethods.FingerprintBufferSize, err, NativeMethods.ErrorBufferSize) != NativeMethods.Ok)
                throw new PlatformNotSupportedException(NativeMethods.ErrorText(err));
        }
        return NativeMethods.ErrorText(fingerprint);
    }

    private static bool IsSet(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } s && s != "0";

    private static string? VerifyLayoutOnThisThread()
    {
        byte* err = stackalloc byte[NativeMethods.ErrorBufferSize];
        if (NativeMethods.fr_verify_begin(ThreadFields.NativeThread(Thread.CurrentThread), err, NativeMethods.ErrorBufferSize) != NativeMethods.Ok)
            return NativeMethods.ErrorText(err);
        for (int i = 0; i < 4; i++) Sample(i);
        if (NativeMethods.fr_verify_end(err, NativeMethods.ErrorBufferSize) != NativeMethods.Ok) return NativeMethods.ErrorText(err);
        return VerifyStackLimitOnThisThread(err);
    }

    /// <summary>Finds the Thread field behind <see cref="RuntimeHelpers.TryEnsureSufficientExecutionStack"/> (not in the
    /// .NET 10 descriptor; see native/src/stackguard.c) and confirms it by behaviour: with the candidate forced above
    /// every stack address the API must answer false, and true again once it is restored.</summary>
    private static string? VerifyStackLimitOnThisThread(byte* err)
    {
        if (NativeMethods.fr_stackguard_discover(ThreadFields.NativeThread(Thread.CurrentThread), err, NativeMethods.ErrorBufferSize) != NativeMethods.Ok)
            return NativeMethods.ErrorText(err);
        bool whileForced, afterRestore;
        NativeMethods.fr_stackguard_force(1);
        try
        {
            whileForced = RuntimeHelpers.TryEnsureSufficientExecutionStack();
        }
        finally
        {
            NativeMethods.fr_stackguard_force(0);
        }
        afterRestore = RuntimeHelpers.TryEnsureSufficientExecutionStack();
        return NativeMethods.fr_stackguard_confirm(whileForced ? 1 : 0, afterRestore ? 1 : 0, err, NativeMethods.ErrorBufferSize) == NativeMethods.Ok
            ? null
            : NativeMethods.ErrorText(err);
    }

    private sealed class ProbeException(string message) : Exception(message);

    private sealed class NestedProbeException(string message) : Exception(message);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowProbe(int i) => throw new ProbeException("layout probe " + i);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNested(int i) => throw new NestedProbeException("nested layout probe " + i);

    // The native side records failures; the return values are the running failure count, read at the end.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Sample(int i)
    {
        NativeMethods.fr_verify_outside();
        NativeMethods.fr_verify_outside_coop();
        try
        {
            ThrowProbe(i);
        }
        catch (ProbeException e)
        {
            NativeMethods.fr_verify_in_catch(1);
            NativeMethods.fr_verify_in_catch_coop(1, Unsafe.AsPointer(ref e));
            try
            {
                ThrowNested(i);
            }
            catch (NestedProbeException e2)
            {
                NativeMethods.fr_verify_in_catch(2);
                NativeMethods.fr_verify_in_catch_coop(2, Unsafe.AsPointer(ref e2));
            }
            NativeMethods.fr_verify_in_catch(1);
        }
        NativeMethods.fr_verify_outside();
    }
}
