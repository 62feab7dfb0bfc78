/* Is a native callback active on the running context? (fr_switch refuses to switch then.)
 *
 * Managed code that calls native code that calls back into managed code leaves an active InlinedCallFrame (the
 * outer P/Invoke's, CallerReturnAddress set) below the switch's own. Suspending those native frames (locks held,
 * thread-affine state, a caller expecting a prompt return) is refused.
 *
 * Exception handling needs care: the runtime's managed dispatcher (System.Runtime.EH, .NET 9+) calls filter funclets
 * through a P/Invoke of its own (measured: catch and finally funclets leave no active frame), so inside a filter one
 * active InlinedCallFrame is the dispatcher's. Its return address moves when the dispatcher is recompiled, but its
 * Datum (the MethodDesc of the P/Invoke target, the word between Frame.Next and CallSiteSP; not in the .NET 10
 * descriptor) does not. Start-up learns it (fr_misuse_probe inside a filter) and checks the offset: the same P/Invoke
 * gives the same word every time, a different one a different word. While an exception is dispatched, any active
 * InlinedCallFrame other than one with that Datum is a native callback. If the probe did not verify, callbacks
 * inside handlers go undetected (as before) and README says so. */
#include "fr_internal.h"

static long datum_off = -1;
static uintptr_t dispatcher_datum, outside_datum;
static int outside_samples, filter_samples, probe_failures, ready;

static int active_icf(const char* n) {
    return *(const uintptr_t*)n == fr_rt.icf_identifier && FR_AT(n, fr_rt.icf_caller_ra) != NULL;
}

int fr_native_callback_active(const char* th) {
    char* head = FR_AT(th, fr_rt.thread_frame);
    int handling = FR_AT(th, fr_rt.thread_exception_tracker) != NULL;
    if (handling && !ready) return 0;
    for (char* n = FR_AT(head, fr_rt.frame_next); n != FR_FRAME_TOP; n = FR_AT(n, fr_rt.frame_next)) {
        if (!active_icf(n)) continue;
        if (handling && *(uintptr_t*)(n + datum_off) == dispatcher_datum) continue;
        return 1;
    }
    return 0;
}

/* Start-up, on the layout probe thread, through a normal P/Invoke: in_filter 0 outside any handler, 1 inside an
 * exception filter. */
__attribute__((noinline)) int fr_misuse_probe(int in_filter) {
    if (fr_rt.icf_callsite_sp != fr_rt.frame_next + 16) { probe_failures++; return probe_failures; }
    datum_off = fr_rt.frame_next + 8;
    char* th = fr_find_thread_by_tid(fr_gettid(), NULL);
    if (!th) { probe_failures++; return probe_failures; }
    char* head = FR_AT(th, fr_rt.thread_frame);
    uintptr_t own = *(uintptr_t*)(head + datum_off);
    if (!in_filter) {
        if (outside_samples++ && own != outside_datum) probe_failures++;
        outside_datum = own;
        for (char* n = FR_AT(head, fr_rt.frame_next); n != FR_FRAME_TOP; n = FR_AT(n, fr_rt.frame_next))
            if (active_icf(n)) probe_failures++;
        return probe_failures;
    }
    int active = 0;
    for (char* n = FR_AT(head, fr_rt.frame_next); n != FR_FRAME_TOP; n = FR_AT(n, fr_rt.frame_next)) {
        if (!active_icf(n)) continue;
        uintptr_t d = *(uintptr_t*)(n + datum_off);
        if (active++ == 0) {
            if (filter_samples++ && d != dispatcher_datum) probe_failures++;
            dispatcher_datum = d;
        }
    }
    if (active != 1) probe_failures++;
    return probe_failures;
}

int fr_misuse_probe_end(char* err, size_t errlen) {
    ready = probe_failures == 0 && outside_samples >= 2 && filter_samples >= 2 && dispatcher_datum != 0 &&
            dispatcher_datum != outside_datum && outside_datum != 0;
    if (!ready) {
        fr_set_err(err, errlen, "the exception dispatcher's P/Invoke frame could not be recognised (%d failures, %d/%d samples): "
                   "a switch inside a native callback within a catch, finally or filter block is not detected", probe_failures,
                   outside_samples, filter_samples);
        return FR_E_RUNTIME;
    }
    return FR_OK;
}
