using System.Runtime.CompilerServices;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.InteropServices;
using FiberRuntime.Interop;

namespace FiberRuntime;

// Test and diagnostics hooks of the per-greenlet stack limit and the hijack guard (native/src/stackguard.c, hijack.c).
public sealed unsafe partial class Hub
{
    /// <summary>The limit RuntimeHelpers.EnsureSufficientExecutionStack compares with while context
    /// <paramref name="slot"/> runs (the root's slot is MaxFibers + 1).</summary>
    internal long ContextStackLimit(int slot) => NativeMethods.fr_context_stack_limit(_native, (uint)slot);

    /// <summary>Starts a native thread sampling whether the hub thread is hijacked (see fiberrt's
    /// fr_hijack_sampler_start); <see cref="StopHijackSampler"/> returns its counts. Zero when not verified.</summary>
    internal nint StartHijackSampler() => NativeMethods.fr_hijack_sampler_start(_native);

    /// <summary>Hijacks a running sampler has seen begin so far.</summary>
    internal static ulong HijackSamplerEvents(nint sampler) => NativeMethods.fr_hijack_sampler_events(sampler);

    /// <summary>Stops a sampler: samples taken, samples with the hub thread hijacked, samples that did not read as a hijack
    /// of one of its stacks, and hijacks seen begin.</summary>
    internal static (ulong Samples, ulong Hijacked, ulong Inconsistent, ulong Events) StopHijackSampler(nint sampler)
    {
        ulong samples = 0, hijacked = 0, inconsistent = 0, events = 0;
        NativeMethods.fr_hijack_sampler_stop(sampler, &samples, &hijacked, &inconsistent, &events);
        return (samples, hijacked, inconsistent, events);
    }

    /// <summary>TEST ONLY, hub thread: records a hijack of <paramref name="word"/> (on the running greenlet's stack)
    /// with original value <paramref name="original"/>, as the runtime's HijackThread would.</summary>
    internal bool PlantTestHijack(nint* word, nint original) => NativeMethods.fr_hijack_test_plant(_native, word, original) == NativeMethods.Ok;

    /// <summary>Inside exception handling, an active P/Invoke frame below the switch may be the runtime dispatcher's call
    /// of a filter or a callback from native code (native/src/misuse.c). A callback shows on the stack as an
    /// [UnmanagedCallersOnly] method other than the hub's own entry points; a filter call does not. Costs a stack
    /// trace, only for switches inside filters (or callbacks).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only attributes of methods on the stack are read; a trimmed method's missing metadata reads as no callback.")]
    private static bool NativeCallbackOnStack()
    {
        foreach (StackFrame frame in new StackTrace(false).GetFrames())
        {
            MethodBase? m = frame.GetMethod();
            // the hub's own entry points and the runtime's (System.Private.CoreLib: .NET 11's exception dispatch enters
            // managed code through [UnmanagedCallersOnly] methods) are not callbacks of user code
            if (m is null || m.DeclaringType == typeof(Hub) || m.Module.Assembly == typeof(object).Assembly) continue;
            if (m.IsDefined(typeof(UnmanagedCallersOnlyAttribute), false)) return true;
        }
        return false;
    }
}
