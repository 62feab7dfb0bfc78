/*
 * fiberrt.h — the native half of FiberRuntime: stack switching that the CoreCLR GC can see.
 *
 * A hub is one OS thread whose stack is one big reservation: the low part is cut into fiber stack
 * slots (each with a PROT_NONE guard page below it), the top part is the hub thread's own stack.
 * Managed code runs on every slot. A suspended fiber's explicit Frames (its InlinedCallFrame from the
 * switch P/Invoke), exception records (ExInfo) and GCFrames are linked, in stack-address order, onto
 * a parked "identity" thread, so the GC walks them as if they were one long stack (README.md, "How it works").
 *
 * Contexts are named by a small integer: 0..capacity-1 are fiber slots, `capacity` is the hub's own
 * stack. The managed side owns scheduling; this library owns stacks, registers and
 * the runtime's per-thread lists.
 *
 * Call discipline (the GC-safety contract; the managed side follows it, nothing else may call these):
 *   fr_switch            a NORMAL P/Invoke. The JIT pushes an InlinedCallFrame and the thread goes
 *                        preemptive; fr_switch then re-enters cooperative mode itself, as the JIT's P/Invoke
 *                        epilog does, when start-up verified g_TrapReturningThreads and no suspension is under
 *                        way (trap.c), else through the hub's switch callback (an [UnmanagedCallersOnly] managed
 *                        method, whose entry waits out a suspension), and runs the switch core.
 *   fr_switch_core       [SuppressGCTransition] only, from that callback. Runs in cooperative mode with no
 *                        GC safe point, so no stack walk can observe the half-edited chains. A context resumes
 *                        the way it left: through its callback's return, or fr_switch's own return to preemptive.
 *   fr_verify_*          the start-up layout verification steps, driven by managed code (see contract.c).
 */
#ifndef FIBERRT_H
#define FIBERRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define FR_API __declspec(dllexport)
#else
#define FR_API __attribute__((visibility("default")))
#endif

/* Result codes. Every function that can fail returns one and, where it takes an error buffer, writes
 * a sentence that names the failed check. */
enum fr_status {
    FR_OK = 0,
    FR_E_INVAL = -1,      /* bad argument (size out of range, unknown context id, ...) */
    FR_E_NOMEM = -2,      /* address space or memory could not be reserved / committed */
    FR_E_FULL = -3,       /* every stack slot of the hub is in use */
    FR_E_RUNTIME = -4,    /* the runtime layout is not verified, or a check failed */
    FR_E_THREAD = -5,     /* OS thread creation or CLR thread identification failed */
    FR_E_STATE = -6,      /* call not valid in the hub's current state */
    FR_E_CHECK = -7       /* fr_switch: a native callback may be active; decide and call again (see fr_switch) */
};

/* ---- runtime contract (process-wide) ---------------------------------------------------------- */

/* Parses DotNetRuntimeContractDescriptor from the loaded libcoreclr and checks every field FiberRuntime
 * uses is present. Idempotent. */
FR_API int fr_contract_load(char* err, size_t errlen);

/* The loaded descriptor's layout fingerprint: one "name=value" line per descriptor value FiberRuntime reads, in a
 * fixed order, "-" for an optional field the descriptor does not describe (see native/src/descriptor.c). The
 * managed side compares it with the layouts the project has verified. FR_E_STATE before fr_contract_load. */
FR_API int fr_contract_fingerprint(char* out, size_t outlen);

/* The same for a descriptor's JSON text given here (either the .NET 10 or the .NET 11 shape): parses it as
 * fr_contract_load would and writes its fingerprint, or explains why it is refused. For tests and tools. */
FR_API int fr_descriptor_fingerprint(const char* json, char* out, size_t outlen, char* err, size_t errlen);

/* Start-up verification of the Thread layout (including Thread::m_pGCFrame, which the descriptor does
 * not describe). Driven from managed code on one thread, in this order: fr_verify_begin;
 * then per sample fr_verify_outside (normal P/Invoke), fr_verify_outside_coop (SuppressGCTransition),
 * fr_verify_in_catch(1|2) inside a catch block at nesting depth 1 or 2 (normal P/Invoke),
 * fr_verify_in_catch_coop(depth, &caught) (SuppressGCTransition; the address of the local holding the
 * caught exception); finally fr_verify_end, which
 * returns FR_OK and records the layout as verified, or explains the refusal. */
FR_API int fr_verify_begin(void* clr_thread, char* err, size_t errlen);
FR_API int fr_verify_outside(void);
FR_API int fr_verify_outside_coop(void);
FR_API int fr_verify_in_catch(int depth);
FR_API int fr_verify_in_catch_coop(int depth, void** caught_object_ref);
FR_API int fr_verify_end(char* err, size_t errlen);
/* After a successful fr_verify_end: one line saying how the layout was established (the platform, where
 * Thread::m_pGCFrame is, whether the GCFrame::Pop code-pattern cross-check agreed or was skipped, and how
 * memory is probed). For the start-up diagnostic; empty before. */
FR_API const char* fr_contract_note(void);

/* ---- hubs ------------------------------------------------------------------------------------- */

typedef struct fr_hub fr_hub;

/* Managed entry points, all [UnmanagedCallersOnly]. `user` is the value given in fr_hub_config. */
typedef void (*fr_hub_entry_fn)(fr_hub* hub, void* user);                 /* runs on the hub thread */
typedef void (*fr_identity_entry_fn)(fr_hub* hub, void* user);            /* must call fr_identity_park */
typedef void (*fr_fiber_entry_fn)(fr_hub* hub, void* user, uint32_t id);  /* first code on a new slot */
typedef void (*fr_switch_fn)(fr_hub* hub, uint32_t target, int exiting);  /* must call fr_switch_core */

enum fr_hub_flags {
    /* TEST ONLY: do not make suspended contexts visible to the GC. The GC stress suite runs with this
     * as its negative control and asserts that the process then crashes or detects corruption. */
    FR_HUB_UNSAFE_NO_GC_REGISTRATION = 1,
    /* Diagnostics: register every suspended context on the one identity thread, as before handler lanes
     * existed (correct; full GCs get slower with many fibers suspended inside exception handlers). */
    FR_HUB_SINGLE_LANE = 2,
    /* Tests/diagnostics: make every slot's guard page a PROT_NONE mapping of its own (two mappings per slot,
     * bounded by vm.max_map_count), as on kernels without guard markers, even where MADV_GUARD_INSTALL works. */
    FR_HUB_PROTECTION_GUARDS = 4
};

typedef struct fr_hub_config {
    uint32_t capacity;          /* number of fiber stack slots (1 .. FR_MAX_CAPACITY) */
    uint32_t flags;             /* fr_hub_flags */
    size_t stack_size;          /* bytes per fiber slot incl. its guard page; page multiple, 64 KiB .. 64 MiB */
    size_t hub_stack_size;      /* bytes for the hub thread's own stack (>= 256 KiB) */
    fr_hub_entry_fn hub_entry;
    fr_identity_entry_fn identity_entry;
    fr_fiber_entry_fn fiber_entry;
    fr_switch_fn switch_callback;
    void* user;
} fr_hub_config;

#define FR_MAX_CAPACITY (1u << 24)
#define FR_MIN_STACK_SIZE ((size_t)64 << 10)
#define FR_MAX_STACK_SIZE ((size_t)64 << 20)

/* Reserves the hub's address space, starts its identity thread (which enters managed code through
 * identity_entry and parks), then starts the hub thread on the reservation (which enters hub_entry).
 * Requires a verified contract. */
FR_API int fr_hub_create(const fr_hub_config* config, fr_hub** out, char* err, size_t errlen);

/* Waits for the hub thread to end, releases the identity thread and the reservation. Call from
 * another thread after hub_entry has returned or is returning. */
FR_API int fr_hub_join_and_destroy(fr_hub* hub);

/* Hub thread, normal P/Invoke, first thing in hub_entry: binds the CLR Thread* (the managed side reads
 * it from Thread.CurrentThread) after checking it against the thread store and the OS thread id. */
FR_API int fr_hub_attach(fr_hub* hub, void* clr_thread, char* err, size_t errlen);

/* Identity thread, normal P/Invoke from identity_entry: records the thread and parks it (preemptive)
 * until fr_identity_release. */
FR_API void fr_identity_park(fr_hub* hub, void* clr_thread);

/* Hub thread, [SuppressGCTransition], once every context but the root is dead or abandoned: puts the
 * identity thread's own Frame / ExInfo / GCFrame lists back. */
FR_API void fr_hub_detach(fr_hub* hub);

/* Hub thread. Prepares a free slot for a new context and returns its id, or FR_E_FULL / FR_E_NOMEM. */
FR_API int32_t fr_context_new(fr_hub* hub);

/* Hub thread: abandons a started-but-suspended context at shutdown (no switch back will happen). */
FR_API void fr_context_abandon(fr_hub* hub, uint32_t id);

/* The switch, see the call discipline above. `exiting` != 0 means the current context is finished:
 * it is not registered, and its slot is released once the target runs. Returns FR_OK once the caller is
 * resumed, or FR_E_STATE without switching when called inside a callback from native code (an outer
 * P/Invoke is active on this context's stack), or FR_E_CHECK without switching when inside exception handling
 * such a frame may be the runtime dispatcher's filter call (the caller decides, then passes FR_SWITCH_NO_CALLBACK). */
FR_API int fr_switch(fr_hub* hub, uint32_t target, int exiting);
/* fr_switch's `exiting` may carry this flag: the caller checked that no native callback is active (after
 * FR_E_CHECK: inside exception handling, an active P/Invoke frame that may be the runtime's filter call). */
#define FR_SWITCH_NO_CALLBACK 2
FR_API void fr_switch_core(fr_hub* hub, uint32_t target, int exiting);

/* The cooperative-mode fast path of fr_switch (native/src/trap.c). Start-up, once, from the layout check thread:
 * fr_trap_discover is a NORMAL P/Invoke from a method compiled like the switch's caller (it decodes the JIT's
 * epilog at its return address); fr_trap_hold ([SuppressGCTransition], on a second managed thread) waits in
 * cooperative mode for the candidate to turn non-zero while fr_trap_holding() says so and another thread runs a
 * blocking GC; fr_trap_confirm checks it is 0 again and enables the fast path. fr_trap_refused(why) leaves it off.
 * fr_trap_note says which and why. */
FR_API int fr_trap_discover(char* err, size_t errlen);
FR_API int fr_trap_hold(int timeout_ms);
FR_API int fr_trap_holding(void);
FR_API int fr_trap_confirm(char* err, size_t errlen);
FR_API void fr_trap_refused(const char* why);
FR_API const char* fr_trap_note(void);
/* FR_PATH_FAST: the fast path where verified; FR_PATH_CALLBACK: always the callback; FR_PATH_ALTERNATE: every
 * other switch through the callback (tests: contexts suspended one way resume the other). */
enum { FR_PATH_FAST = 0, FR_PATH_CALLBACK = 1, FR_PATH_ALTERNATE = 2 };
FR_API void fr_switch_set_path(int mode);


typedef struct fr_hub_stats {
    uint64_t switches;          /* completed calls of fr_switch_core */
    uint32_t live_contexts;     /* slots in use (new, running or suspended) */
    uint32_t registered;        /* contexts currently linked onto the identity thread */
    uint32_t suspended_in_handler; /* of those, how many hold exception records */
    uint32_t slots_touched;     /* slots ever committed (high-water mark) */
    uint32_t warm_free;         /* free slots whose pages are kept until the hub next goes idle */
    uint32_t capacity;
    size_t stack_size;
    uint32_t lanes;             /* identity threads: 1 + handler lanes started so far */
    uint32_t guard_markers;     /* 1: guard pages are kernel guard markers (MADV_GUARD_INSTALL, Linux >= 6.13) in
                                   one read/write mapping; 0: each guard is a PROT_NONE mapping of its own */
    uint64_t hijacks_seen;      /* switches that found the hub thread's return address hijacked (TS_Hijacked) */
    uint64_t hijacks_in_outgoing; /* ... with the hijacked slot on the stack being left */
    uint64_t hijacks_undone;    /* ... undone by the switch, as the runtime's UnhijackThread does */
    uint64_t callback_switches; /* switches that entered cooperative mode through the switch callback (the slow path:
                                   no fast path, a GC suspension in progress, or forced) */
} fr_hub_stats;
FR_API void fr_hub_get_stats(const fr_hub* hub, fr_hub_stats* out);

/* The hub's stack reservation [*lo, *hi): every context of the hub runs inside it, and no other thread does. */
FR_API void fr_hub_stack_range(const fr_hub* hub, uintptr_t* lo, uintptr_t* hi);

/* Hub thread: returns the pages of all but the `keep` most recently freed slots to the kernel
 * (MADV_DONTNEED, one batch). The hub calls it when it goes idle. Returns the number of slots trimmed. */
FR_API uint32_t fr_hub_trim_stacks(fr_hub* hub, uint32_t keep);

/* How many pages of a slot's stack are resident in memory (mincore), for tests and diagnostics. */
FR_API int64_t fr_context_resident_pages(const fr_hub* hub, uint32_t id);

#ifdef __cplusplus
}
#endif
#endif /* FIBERRT_H */
