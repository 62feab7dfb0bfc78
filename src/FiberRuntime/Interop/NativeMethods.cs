using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FiberRuntime.Interop;

/// <summary>Declarations of libfiberrt (native/include/fiberrt.h). Every signature is blittable.</summary>
internal static unsafe partial class NativeMethods
{
    private const string Lib = "fiberrt";

    internal const int ErrorBufferSize = 512;

    /// <summary>FR_MAX_CAPACITY in fiberrt.h: the most stack slots a native hub holds.</summary>
    internal const int MaxCapacity = 1 << 24;

    internal const int FingerprintBufferSize = 2048;

    /// <summary>fr_status codes.</summary>
    internal const int Ok = 0, EInval = -1, ENoMem = -2, EFull = -3, ERuntime = -4, EThread = -5, EState = -6, ECheck = -7;

    /// <summary>fr_switch flag: no native callback is active (the caller checked after <see cref="ECheck"/>).</summary>
    internal const int SwitchNoCallback = 2;

    [StructLayout(LayoutKind.Sequential)]
    internal struct HubConfig
    {
        public uint Capacity;
        public uint Flags;
        public nuint StackSize;
        public nuint HubStackSize;
        public delegate* unmanaged<nint, nint, void> HubEntry;
        public delegate* unmanaged<nint, nint, void> IdentityEntry;
        public delegate* unmanaged<nint, nint, uint, void> FiberEntry;
        public delegate* unmanaged<nint, uint, int, void> SwitchCallback;
        public nint User;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct HubStats
    {
        public ulong Switches;
        public uint LiveContexts;
        public uint Registered;
        public uint SuspendedInHandler;
        public uint SlotsTouched;
        public uint WarmFree;
        public uint Capacity;
        public nuint StackSize;
        public uint Lanes;
        public uint GuardMarkers;
        public ulong HijacksSeen;
        public ulong HijacksInOutgoing;
        public ulong HijacksUndone;
        public ulong CallbackSwitches;
    }

    internal const uint FlagUnsafeNoGcRegistration = 1, FlagSingleLane = 2, FlagProtectionGuards = 4;

    // ---- runtime contract ----
    [LibraryImport(Lib)] internal static partial int fr_contract_load(byte* err, nuint errlen);
    [LibraryImport(Lib)] internal static partial int fr_contract_fingerprint(byte* fingerprint, nuint length);
    [LibraryImport(Lib)] internal static partial int fr_descriptor_fingerprint(byte* json, byte* fingerprint, nuint length, byte* err, nuint errlen);
    [LibraryImport(Lib)] internal static partial int fr_verify_begin(nint clrThread, byte* err, nuint errlen);
    [LibraryImport(Lib)] internal static partial int fr_verify_outside();
    [LibraryImport(Lib), SuppressGCTransition] internal static partial int fr_verify_outside_coop();
    [LibraryImport(Lib)] internal static partial int fr_verify_in_catch(int depth);
    [LibraryImport(Lib), SuppressGCTransition] internal static partial int fr_verify_in_catch_coop(int depth, void* caughtRef);
    [LibraryImport(Lib)] internal static partial int fr_verify_end(byte* err, nuint errlen);
    [LibraryImport(Lib)] internal static partial byte* fr_contract_note();
    [LibraryImport(Lib)] internal static partial int fr_stackguard_discover(nint clrThread, byte* err, nuint errlen);
    [LibraryImport(Lib), SuppressGCTransition] internal static partial void fr_stackguard_force(int insufficient);
    [LibraryImport(Lib)] internal static partial int fr_stackguard_confirm(int whileForced, int afterRestore, byte* err, nuint errlen);
    [LibraryImport(Lib)] internal static partial long fr_context_stack_limit(nint hub, uint id);
    [LibraryImport(Lib)] internal static partial nint fr_hijack_sampler_start(nint hub);
    [LibraryImport(Lib), SuppressGCTransition] internal static partial ulong fr_hijack_sampler_events(nint sampler);
    [LibraryImport(Lib)] internal static partial void fr_hijack_sampler_stop(nint sampler, ulong* samples, ulong* hijacked, ulong* inconsistent, ulong* events);
    [LibraryImport(Lib), SuppressGCTransition] internal static partial int fr_hijack_test_plant(nint hub, void* slot, nint value);

    // ---- the switch's cooperative-mode fast path (native/src/trap.c) ----
    [LibraryImport(Lib)] internal static partial int fr_trap_discover(byte* err, nuint errlen);
    [LibraryImport(Lib), SuppressGCTransition] internal static partial int fr_trap_hold(int timeoutMs);
    [LibraryImport(Lib), SuppressGCTransition] internal static partial int fr_trap_holding();
    [LibraryImport(Lib)] internal static partial int fr_trap_confirm(byte* err, nuint errlen);
    [LibraryImport(Lib)] internal static partial void fr_trap_refused(byte* why);
    [LibraryImport(Lib)] internal static partial byte* fr_trap_note();
    [LibraryImport(Lib)] internal static partial void fr_switch_set_path(int mode);

    /// <summary>fr_switch_set_path modes.</summary>
    internal const int PathFast = 0, PathCallback = 1, PathAlternate = 2;

    // ---- hubs ----
    [LibraryImport(Lib)] internal static partial int fr_hub_create(HubConfig* config, nint* hub, byte* err, nuint errlen);
    [LibraryImport(Lib)] internal static partial int fr_hub_join_and_destroy(nint hub);
    [LibraryImport(Lib)] internal static partial int fr_hub_attach(nint hub, nint clrThread, byte* err, nuint errlen);
    [LibraryImport(Lib)] internal static partial void fr_identity_park(nint hub, nint clrThread);
    [LibraryImport(Lib), SuppressGCTransition] internal static partial void fr_hub_detach(nint hub);
    [LibraryImport(Lib), SuppressGCTransition] internal static partial int fr_context_new(nint hub);
    [LibraryImport(Lib), SuppressGCTransition] internal static partial void fr_context_abandon(nint hub, uint id);
    [LibraryImport(Lib)] internal static partial void fr_hub_get_stats(nint hub, HubStats* stats);
    [LibraryImport(Lib)] internal static partial void fr_hub_stack_range(nint hub, nuint* lo, nuint* hi);
    [LibraryImport(Lib)] internal static partial long fr_context_resident_pages(nint hub, uint id);
    [LibraryImport(Lib)] internal static partial uint fr_hub_trim_stacks(nint hub, uint keep);

    /// <summary>The switch. A normal P/Invoke on purpose: the JIT pushes the InlinedCallFrame that the
    /// suspended context is later found by, and the thread goes preemptive (see fiberrt.h).</summary>
    [LibraryImport(Lib)] internal static partial int fr_switch(nint hub, uint target, int exiting);

    /// <summary>Only from <see cref="Hub"/>'s switch callback: cooperative mode, no GC safe point.</summary>
    [LibraryImport(Lib), SuppressGCTransition] internal static partial void fr_switch_core(nint hub, uint target, int exiting);

    internal static string ErrorText(byte* buffer) => Marshal.PtrToStringUTF8((nint)buffer) ?? "";
}

/// <summary>Private fields of <see cref="Thread"/> that a switch must move or that identify the native thread.
/// Compiled to direct field access (no reflection); their presence is checked at start-up.</summary>
internal static class ThreadFields
{
    /// <summary>The runtime's native <c>Thread*</c> for a managed thread.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_DONT_USE_InternalThread")]
    internal static extern ref nint NativeThread(Thread thread);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_executionContext")]
    internal static extern ref ExecutionContext? ExecutionContext(Thread thread);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_synchronizationContext")]
    internal static extern ref SynchronizationContext? SynchronizationContext(Thread thread);
}
