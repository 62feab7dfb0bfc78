using System.Runtime.CompilerServices;

namespace FiberRuntime.Interop;

/// <summary>
/// Decides, once per process after the layout check, how a switch enters cooperative mode (native/src/trap.c): by
/// itself, mirroring the JIT's P/Invoke epilog (a store to the Thread's preemptive flag, then a check of the runtime's
/// g_TrapReturningThreads), or through the hub's [UnmanagedCallersOnly] switch callback. The fast path needs the
/// global's address, which no descriptor gives: it is read from the JIT's own epilog of a P/Invoke compiled like the
/// switch's, and must then behave like the trap (non-zero while a GC waits for a thread held in cooperative mode, 0
/// before and after). Anything else keeps the callback; this never refuses the runtime.
/// <para>Environment <c>FIBERRUNTIME_SWITCH_PATH</c>: <c>callback</c> forces the callback for every switch (also the
/// AppContext switch <c>FiberRuntime.SwitchThroughCallback</c>), <c>alternate</c> sends every other switch through it
/// (tests: contexts suspended one way resume the other).</para>
/// </summary>
internal static unsafe class SwitchFastPath
{
    /// <summary>How long the holding thread waits for the trap to be raised before giving up (a wrong candidate).</summary>
    private const int HoldTimeoutMs = 10_000;

    /// <summary>On the layout check thread, after the layout is verified. Returns the native note (which way, why).</summary>
    internal static string Decide()
    {
        string? mode = Environment.GetEnvironmentVariable("FIBERRUNTIME_SWITCH_PATH");
        if (mode == "callback" || (AppContext.TryGetSwitch("FiberRuntime.SwitchThroughCallback", out bool forced) && forced))
        {
            NativeMethods.fr_switch_set_path(NativeMethods.PathCallback);
            Refuse("forced by FIBERRUNTIME_SWITCH_PATH=callback or FiberRuntime.SwitchThroughCallback");
        }
        else
        {
            NativeMethods.fr_switch_set_path(mode == "alternate" ? NativeMethods.PathAlternate : NativeMethods.PathFast);
            if (Verify() is { } why) Refuse(why);
        }
        return new string((sbyte*)NativeMethods.fr_trap_note());
    }

    private static void Refuse(string why)
    {
        byte[] text = System.Text.Encoding.UTF8.GetBytes(why + "\0");
        fixed (byte* p = text) NativeMethods.fr_trap_refused(p);
    }

    private static string? Verify()
    {
        byte* err = stackalloc byte[NativeMethods.ErrorBufferSize];
        if (Discover(err) != NativeMethods.Ok) return NativeMethods.ErrorText(err);
        for (int attempt = 0; ; attempt++)
        {
            int rc = HoldWhileCollecting();
            if (rc == NativeMethods.Ok) break;
            // EState: a suspension was already under way when the holder started; anything else: the candidate never
            // turned non-zero while a GC waited
            if (rc != NativeMethods.EState || attempt == 4)
                return "the trap global candidate did not turn non-zero while a GC waited for a thread in cooperative mode";
        }
        for (int attempt = 0; ; attempt++)
        {
            int rc = NativeMethods.fr_trap_confirm(err, NativeMethods.ErrorBufferSize);
            if (rc == NativeMethods.Ok) return null;
            // another suspension may have begun since ours ended: the trap must read 0 again soon
            if (rc != NativeMethods.ECheck || attempt == 100) return NativeMethods.ErrorText(err);
            Thread.Sleep(1);
        }
    }

    // Compiled as the switch's callers are (Hub.NativeSwitch, and the fully optimized methods SwitchContexts inlines the
    // switch P/Invoke into): the JIT inlines the P/Invoke, and the native side finds the same epilog at its return
    // address (each switch call site's epilog is checked again at its first switch, native/src/hub.c).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Discover(byte* err) => NativeMethods.fr_trap_discover(err, NativeMethods.ErrorBufferSize);

    /// <summary>A second thread parks in cooperative mode (fr_trap_hold) while this one runs a blocking GC, which
    /// cannot finish suspending the runtime until the holder sees the trap raised and returns.</summary>
    private static int HoldWhileCollecting()
    {
        int rc = NativeMethods.ERuntime;
        var holder = new Thread(() => rc = NativeMethods.fr_trap_hold(HoldTimeoutMs), 256 * 1024)
        {
            IsBackground = true,
            Name = "FiberRuntime trap check",
        };
        holder.Start();
        while (NativeMethods.fr_trap_holding() == 0 && holder.IsAlive) Thread.Yield();
        if (holder.IsAlive) GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        holder.Join();
        return rc;
    }
}
