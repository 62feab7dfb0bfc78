/* Is a native callback active on the running context? (fr_switch refuses to switch then.)
 *
 * Managed code that calls native code that calls back into managed code leaves an active InlinedCallFrame (the
 * outer P/Invoke's, CallerReturnAddress set) below the switch's own. Suspending those native frames (locks held,
 * thread-affine state, a caller expecting a prompt return) is refused.
 *
 * Exception handling needs care. The runtime's managed dispatcher (System.Runtime.EH, .NET 9+) calls filter
 * funclets through a P/Invoke of its own (measured: catch and finally funclets leave no active frame), from frames
 * below the ExInfo of the exception it dispatches. Nothing in the frame tells it apart from a callback's: its return
 * address and its Datum word both change when the dispatcher is recompiled (measured: Datum 0x2 from the
 * precompiled dispatcher, a tagged MethodDesc after tier-up), and neither the pass (filter or not) nor the funclet
 * kind is in the .NET 10 descriptor. What is known is where it can be: between two consecutive exception records in
 * address order (and between the innermost one and the switch) at most one active frame can be the dispatcher's,
 * above the outermost record none. So: more than that is a callback (FR_CALLBACK); exactly that is ambiguous
 * (FR_CALLBACK_MAYBE) and the managed side decides from a stack trace, which shows an [UnmanagedCallersOnly] method
 * for a callback and none for a filter; that costs a stack trace only for a switch inside a filter or a callback. */
#include "fr_internal.h"

int fr_native_callback_active(const char* th) {
    char* head = FR_AT(th, fr_rt.thread_frame);
    char* ex = FR_AT(th, fr_rt.thread_exception_tracker);       /* innermost first, ascending addresses */
    int allowed = ex != NULL, used = 0;
    for (char* n = FR_AT(head, fr_rt.frame_next); n != FR_FRAME_TOP; n = FR_AT(n, fr_rt.frame_next)) {
        while (ex && (uintptr_t)n > (uintptr_t)ex) {
            ex = FR_AT(ex, fr_rt.exinfo_prev);
            allowed = ex != NULL;
        }
        if (*(uintptr_t*)n != fr_rt.icf_identifier || FR_AT(n, fr_rt.icf_caller_ra) == NULL) continue;
        if (!allowed) return FR_CALLBACK;
        allowed--;
        used++;
    }
    return used ? FR_CALLBACK_MAYBE : 0;
}
