/* Per-fiber stack facts the runtime caches per OS thread (stackguard.c) and the return-address hijack guard
 * (hijack.c). Internal; included by hub.c and contract.c. */
#ifndef FR_STACKGUARD_H
#define FR_STACKGUARD_H

#include <stdint.h>
#include <stddef.h>

typedef struct fr_hub fr_hub;

/* Offsets inside CoreCLR's Thread, found and verified at start-up (fr_stackguard_discover / _confirm):
 *   m_CacheStackBase, m_CacheStackLimit, m_CacheStackSufficientExecutionLimit (what
 *   RuntimeHelpers.[Try]EnsureSufficientExecutionStack compare the stack pointer with) and, right after
 *   m_CacheStackStackAllocNonRiskyExecutionLimit, the hijack pair m_pvHJRetAddr / m_ppvHJRetAddrPtr. */
typedef struct fr_stack_layout {
    long base;                /* m_CacheStackBase (upper bound) */
    long limit;               /* m_CacheStackLimit (lower bound) */
    long sufficient;          /* m_CacheStackSufficientExecutionLimit */
    long hj_retaddr;          /* m_pvHJRetAddr: the return address a hijack replaced, -1 when not verified */
    long hj_retaddr_ptr;      /* m_ppvHJRetAddrPtr: the stack slot a hijack wrote */
    long state;               /* Thread.State (m_State, from the descriptor) */
    int verified;             /* the sufficient-execution limit was confirmed by behaviour */
    int hijack_verified;      /* the hijack pair was recognised (constructor poison or a live hijack) */
} fr_stack_layout;

extern fr_stack_layout fr_sl;

#define FR_TS_HIJACKED 0x80u  /* ThreadState::TS_Hijacked, unchanged since .NET Core 1.0 */

/* What the runtime's Thread::SetStackLimits computes for a stack [lo, hi) on a 64-bit host: a limit
 * 128 KiB above the bottom, or the middle of a stack of 256 KiB or less. */
static inline uintptr_t fr_sufficient_limit(uintptr_t lo, uintptr_t hi) {
    const uintptr_t min_exec = (uintptr_t)128 << 10;
    return hi - lo > 2 * min_exec ? lo + min_exec : hi - (hi - lo) / 2;
}

/* Per hub: the values a switch stores (see fr_stackguard_attach). */
typedef struct fr_hub_guard {
    uintptr_t root_limit;     /* the hub stack's own sufficient-execution limit */
    uintptr_t orig_limit;     /* what the runtime computed for the whole reservation, restored at detach */
    uintptr_t slot_delta;     /* slot i's limit = base + i * stack_size + slot_delta */
    uint64_t hijacks_seen;    /* switches that found the hub thread hijacked */
    uint64_t hijacks_in_outgoing; /* ... with the hijacked return-address slot on the outgoing context's stack */
    uint64_t hijacks_undone;  /* of those, undone by the guard */
} fr_hub_guard;

/* Start-up verification, on the layout probe thread (driven by RuntimeContract.cs): discover finds the fields,
 * force(1) sets the candidate limit above every stack address and force(0) restores it, confirm gets what
 * TryEnsureSufficientExecutionStack returned in both states. FR_OK or FR_E_RUNTIME with a sentence. */
FR_API int fr_stackguard_discover(void* clr_thread, char* err, size_t errlen);
FR_API void fr_stackguard_force(int insufficient);
FR_API int fr_stackguard_confirm(int while_forced, int after_restore, char* err, size_t errlen);

/* The sufficient-execution limit a context runs with (tests, diagnostics). */
FR_API int64_t fr_context_stack_limit(const fr_hub* h, uint32_t id);

/* contract.c: a field offset the loaded descriptor describes, or -1 (descriptor.c: the same in a given JSON). Used for
 * fields outside the layout fingerprint: Thread.State, the stack-bound cross-check. */
long fr_described_field(const char* type, const char* field);
long fr_descriptor_field(const char* json, const char* type, const char* name);

/* Hub thread, at attach: checks the hub Thread's cached bounds against the reservation and precomputes the
 * per-context limits. Returns FR_OK or FR_E_RUNTIME with a sentence. */
int fr_stackguard_attach(fr_hub* h, char* err, size_t errlen);
void fr_stackguard_detach(fr_hub* h);

/* hijack.c. fr_switch_core calls fr_hijack_found when the hub Thread has TS_Hijacked set as it leaves context
 * `from` (switch-out or exit): the hijack is undone as UnhijackThread would, and counted. */
void fr_hijack_found(fr_hub* h, uint32_t from);
/* For the provoking test: a native thread (unknown to the runtime, so GC suspensions do not stop it) that samples
 * the hub Thread's m_State and hijack pair until stopped, counting samples, samples hijacked with the pair reading as
 * a hijack of one of the hub's stacks (slot in the arena, saved address outside), and samples where it did not
 * (twice in a row), and hijack events (a hijacked sample after an unhijacked one). NULL when the hijack fields are not verified. */
FR_API void* fr_hijack_sampler_start(const fr_hub* h);
FR_API uint64_t fr_hijack_sampler_events(void* sampler);
FR_API void fr_hijack_sampler_stop(void* sampler, uint64_t* samples, uint64_t* hijacked, uint64_t* inconsistent, uint64_t* events);
/* TEST ONLY, hub thread, SuppressGCTransition: records a hijack of `slot` (a word on the running greenlet's stack)
 * with original value `value`, as HijackThread would, so the test suite can show the guard undoes it. */
FR_API int fr_hijack_test_plant(fr_hub* h, void** slot, void* value);

/* misuse.c: FR_CALLBACK when a callback from native code is active on the running context, FR_CALLBACK_MAYBE when
 * an active frame may be the exception dispatcher's filter call or a callback (see there), else 0. */
enum { FR_CALLBACK = 1, FR_CALLBACK_MAYBE = 2 };
int fr_native_callback_active(const char* clr_thread);

#endif
