/* Stack guards per fiber.
 *
 * RuntimeHelpers.EnsureSufficientExecutionStack / TryEnsureSufficientExecutionStack (and, through them,
 * System.Linq.Expressions' compiler, the Regex parser and writer, System.Text.Json, ...) compare the address of a
 * local with Thread::m_CacheStackSufficientExecutionLimit, computed once per OS thread by Thread::SetStackLimits
 * from the thread's stack bounds: 128 KiB above the bottom, or the middle of a stack of 256 KiB or less. A hub
 * thread's stack is the whole arena, so that limit lies in slot 0 and a fiber would overflow its own slot long
 * before the check fires. Each context therefore gets the limit the runtime would compute for its own stack, and
 * every switch stores the incoming context's limit (fr_switch_core).
 *
 * None of these fields is in the .NET 10 contract descriptor (.NET 11 describes CachedStackBase and
 * CachedStackLimit). They are found on the verification probe thread, whose bounds are known: the one place in
 * the Thread object holding {base, limit, SetStackLimits(limit, base)} in a row, where base and limit are within
 * 64 KiB of pthread's idea of the stack, and where a described offset agrees. Then by behaviour: with the
 * candidate word set above every stack address, TryEnsureSufficientExecutionStack must say false, and true again
 * once restored. The two words after m_CacheStackStackAllocNonRiskyExecutionLimit are the hijack pair
 * (m_pvHJRetAddr, m_ppvHJRetAddrPtr); the Thread constructor fills both with 0xCC bytes, so on the never-hijacked
 * probe thread they are recognised by that poison. The other cached facts (base, limit) are not changed per
 * fiber: see README, "Per-thread state". */
#include "fr_internal.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

fr_stack_layout fr_sl = { -1, -1, -1, -1, -1, -1, 0, 0 };

#define SCAN_WORDS 256                      /* the first 2 KiB of Thread */
#define SLACK ((uintptr_t)64 << 10)
#define HJ_POISON ((uintptr_t)0xCCCCCCCCCCCCCCCCull)

static char* probe_thread;
static uintptr_t probe_saved;

static int near(uintptr_t v, uintptr_t want) { return v + SLACK >= want && v <= want + SLACK; }

int fr_stackguard_discover(void* clr_thread, char* err, size_t errlen) {
    if (!fr_rt.loaded) { fr_set_err(err, errlen, "contract not loaded"); return FR_E_STATE; }
    pthread_attr_t a;
    void* lo_p;
    size_t sz;
    if (pthread_getattr_np(pthread_self(), &a) != 0) { fr_set_err(err, errlen, "pthread_getattr_np failed"); return FR_E_THREAD; }
    pthread_attr_getstack(&a, &lo_p, &sz);
    pthread_attr_destroy(&a);
    uintptr_t lo = (uintptr_t)lo_p, hi = lo + sz;
    uintptr_t w[SCAN_WORDS];
    if (!fr_safe_read(w, (uintptr_t)clr_thread, sizeof w)) { fr_set_err(err, errlen, "the Thread object is unreadable"); return FR_E_RUNTIME; }
    int n = 0, found = -1;
    for (int i = 0; i + 2 < SCAN_WORDS; i++) {
        if (near(w[i], hi) && near(w[i + 1], lo) && w[i + 1] < w[i] && w[i + 2] == fr_sufficient_limit(w[i + 1], w[i])) { n++; found = i; }
    }
    if (n != 1) {
        fr_set_err(err, errlen, "Thread::m_CacheStackSufficientExecutionLimit: %d places in the Thread object hold this thread's "
                   "stack base, limit and sufficient-execution limit (expected exactly one)", n);
        return FR_E_RUNTIME;
    }
    long d_base = fr_described_field("Thread", "CachedStackBase"), d_limit = fr_described_field("Thread", "CachedStackLimit");
    if ((d_base >= 0 && d_base != (long)found * 8) || (d_limit >= 0 && d_limit != (long)found * 8 + 8)) {
        fr_set_err(err, errlen, "Thread::m_CacheStackBase: found at %#x but the descriptor says CachedStackBase %#lx, CachedStackLimit %#lx",
                   found * 8, d_base, d_limit);
        return FR_E_RUNTIME;
    }
    long state = fr_described_field("Thread", "State");
    fr_sl.base = (long)found * 8;
    fr_sl.limit = fr_sl.base + 8;
    fr_sl.sufficient = fr_sl.base + 16;
    fr_sl.state = state;
    /* after the sufficient-execution limit comes the stackalloc limit, then the hijack pair */
    if (state >= 0 && found + 5 < SCAN_WORDS && w[found + 4] == HJ_POISON && w[found + 5] == HJ_POISON) {
        fr_sl.hj_retaddr = fr_sl.base + 32;
        fr_sl.hj_retaddr_ptr = fr_sl.base + 40;
        fr_sl.hijack_verified = 1;
    }
    {
        /* TEST ONLY: FIBERRT_TEST_PERTURB=StackLimit:<delta> shifts the candidate, so the test suite can show that the
         * behavioural check refuses a word that does not govern TryEnsureSufficientExecutionStack. */
        const char* perturb = getenv("FIBERRT_TEST_PERTURB");
        long delta;
        if (perturb && sscanf(perturb, "StackLimit:%ld", &delta) == 1 && found + 2 + delta / 8 < SCAN_WORDS) fr_sl.sufficient += delta;
    }
    probe_thread = clr_thread;
    probe_saved = *(uintptr_t*)((char*)clr_thread + fr_sl.sufficient);
    return FR_OK;
}

/* Probe thread only, between discover and confirm: 1 makes every stack address "insufficient", 0 restores. */
void fr_stackguard_force(int insufficient) {
    if (!probe_thread) return;
    *(volatile uintptr_t*)(probe_thread + fr_sl.sufficient) = insufficient ? UINTPTR_MAX : probe_saved;
}

/* Managed code reports what TryEnsureSufficientExecutionStack returned while forced and after restoring. */
int fr_stackguard_confirm(int while_forced, int after_restore, char* err, size_t errlen) {
    fr_stackguard_force(0);
    probe_thread = NULL;
    if (while_forced || !after_restore) {
        fr_set_err(err, errlen, "Thread::m_CacheStackSufficientExecutionLimit: the candidate at %#lx does not govern "
                   "TryEnsureSufficientExecutionStack (forced: %d, restored: %d)", fr_sl.sufficient, while_forced, after_restore);
        fr_sl.sufficient = -1;
        return FR_E_RUNTIME;
    }
    fr_sl.verified = 1;
    return FR_OK;
}

int fr_stackguard_attach(fr_hub* h, char* err, size_t errlen) {
    if (!fr_sl.verified) { fr_set_err(err, errlen, "the stack-limit fields of the runtime's Thread are not verified"); return FR_E_RUNTIME; }
    uintptr_t base = *(uintptr_t*)(h->thread + fr_sl.base), limit = *(uintptr_t*)(h->thread + fr_sl.limit);
    uintptr_t suff = *(uintptr_t*)(h->thread + fr_sl.sufficient);
    uintptr_t lo = (uintptr_t)h->base, hi = lo + h->total, pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    if (!(limit >= lo && limit < base && base <= hi && suff == fr_sufficient_limit(limit, base))) {
        fr_set_err(err, errlen, "hub thread: the runtime's cached stack [%#lx, %#lx) (sufficient-execution limit %#lx) is not within its reservation [%#lx, %#lx)",
                   (unsigned long)limit, (unsigned long)base, (unsigned long)suff, (unsigned long)lo, (unsigned long)hi);
        return FR_E_RUNTIME;
    }
    size_t slots = (size_t)h->capacity * h->cfg.stack_size;
    h->guard.orig_limit = suff;
    h->guard.root_limit = fr_sufficient_limit(lo + slots + pg, base);     /* the hub stack above its guard page */
    h->guard.slot_delta = fr_sufficient_limit(pg, h->cfg.stack_size);   /* a slot above its guard page, from its base */
    *(uintptr_t*)(h->thread + fr_sl.sufficient) = h->guard.root_limit;  /* the root runs now */
    static int warned;
    if (!fr_sl.hijack_verified && !warned++)
        fprintf(stderr, "FiberRuntime: warning: this runtime's return-address hijack fields were not recognised at start-up; "
                        "a hijack found standing at a switch will end the process instead of being undone (see README, Known limits)\n");
    return FR_OK;
}

void fr_stackguard_detach(fr_hub* h) {
    *(uintptr_t*)(h->thread + fr_sl.sufficient) = h->guard.orig_limit;
}

int64_t fr_context_stack_limit(const fr_hub* h, uint32_t id) {
    if (!h || id > h->capacity) return FR_E_INVAL;
    return (int64_t)(id == h->root ? h->guard.root_limit : (uintptr_t)h->base + (size_t)id * h->cfg.stack_size + h->guard.slot_delta);
}
