/* The return-address hijack guard.
 *
 * To stop a thread running managed code at a safe point, CoreCLR's activation handler may replace the return
 * address of the interrupted frame with a stub (Thread::HijackThread: m_pvHJRetAddr = the real address,
 * m_ppvHJRetAddrPtr = the stack slot, TS_Hijacked set in m_State); UnhijackThread later writes m_pvHJRetAddr
 * back through m_ppvHJRetAddrPtr. A hijack placed during a suspension is undone before the suspension ends
 * (ResumeAllThreads), so before our switch callback can re-enter cooperative mode; but the debugger's
 * RestartEE(FALSE) retry path and a late activation signal can leave one standing. If the hub thread then
 * switched away from that stack and never came back (the greenlet exits: the frame whose return address was
 * patched never returns), a later UnhijackThread would write into whatever reuses that slot's stack.
 *
 * So every switch checks TS_Hijacked (one load; the bit is never set at a switch in practice, see README,
 * "Reliability") and, if set with the slot in the hub's arena, does what UnhijackThread does, before the outgoing
 * stack is left. fr_switch_core runs in cooperative mode with no safe point, so no suspension is in progress
 * and nothing else writes these fields meanwhile (the activation handler hijacks managed code only). The
 * fields were recognised at start-up (stackguard.c); a live hijack seen by fr_hijack_sample checks them again. */
#include "fr_internal.h"
#include <stdlib.h>

static void stack_of(const fr_hub* h, uint32_t id, uintptr_t* lo, uintptr_t* hi) {
    uintptr_t base = (uintptr_t)h->base;
    if (id == h->root) { *lo = base + (size_t)h->capacity * h->cfg.stack_size; *hi = base + h->total; }
    else { *lo = base + (size_t)id * h->cfg.stack_size; *hi = *lo + h->cfg.stack_size; }
}

void fr_hijack_found(fr_hub* h, uint32_t from) {
    char* th = h->thread;
    h->guard.hijacks_seen++;
    if (!fr_sl.hijack_verified) {
        /* Without verified offsets it cannot be undone. Leaving a stack that may be reused with a hijack on it
         * risks silent stack corruption later: stop now, saying why. */
        fprintf(stderr, "FiberRuntime: the hub thread is hijacked (TS_Hijacked) at a switch, and this runtime's hijack fields "
                        "(m_pvHJRetAddr, m_ppvHJRetAddrPtr) were not verified at start-up, so it cannot be undone safely\n");
        abort();
    }
    uintptr_t slot = *(uintptr_t*)(th + fr_sl.hj_retaddr_ptr), lo, hi;
    uintptr_t arena_lo = (uintptr_t)h->base, arena_hi = arena_lo + h->total;
    if (slot < arena_lo || slot >= arena_hi || (slot & 7)) {
        fprintf(stderr, "FiberRuntime: the hub thread is hijacked at a switch with its return-address slot %#lx outside every "
                        "greenlet stack [%#lx, %#lx): the runtime's hijack state is not what start-up verification found\n",
                (unsigned long)slot, (unsigned long)arena_lo, (unsigned long)arena_hi);
        abort();
    }
    stack_of(h, from, &lo, &hi);
    if (slot >= lo && slot < hi) h->guard.hijacks_in_outgoing++;
    /* UnhijackThread: put the real return address back, then clear the flag */
    *(void**)slot = *(void**)(th + fr_sl.hj_retaddr);
    __atomic_fetch_and((uint32_t*)(th + fr_sl.state), ~FR_TS_HIJACKED, __ATOMIC_SEQ_CST);
    h->guard.hijacks_undone++;
}

/* The sampler is a plain pthread, unknown to the runtime: a managed sampler would itself be stopped by every GC
 * suspension, which is exactly when hijacks stand. */
typedef struct sampler {
    const fr_hub* h;
    volatile int stop;
    pthread_t thread;
    uint64_t samples, hijacked, inconsistent, events;
} sampler;

static int classify(const fr_hub* h) {
    const volatile char* th = h->thread;
    uint32_t state = *(const volatile uint32_t*)(th + fr_sl.state);
    if (!(state & FR_TS_HIJACKED)) return 0;
    uintptr_t slot = *(const volatile uintptr_t*)(th + fr_sl.hj_retaddr_ptr);
    uintptr_t ret = *(const volatile uintptr_t*)(th + fr_sl.hj_retaddr);
    uintptr_t lo = (uintptr_t)h->base, hi = lo + h->total;
    /* a hijack of the hub thread patches a slot on one of its stacks and saved a return address into code */
    return slot >= lo && slot < hi && !(slot & 7) && (ret < lo || ret >= hi) && ret > 4096 ? 1 : 2;
}

static void* sampler_main(void* arg) {
    sampler* s = arg;
    int prev = 0;
    while (!s->stop) {
        int r = classify(s->h);
        s->samples++;
        if (r != 0 && prev == 0) s->events++;          /* a hijack began since the last sample */
        prev = r;
        if (r == 1) s->hijacked++;
        else if (r == 2) {
            /* the bit may have been set a moment before the pair was written, or cleared after: read again */
            int again = classify(s->h);
            if (again == 2) s->inconsistent++;
            else if (again == 1) s->hijacked++;
        }
    }
    return NULL;
}

void* fr_hijack_sampler_start(const fr_hub* h) {
    if (!h || !h->thread || !fr_sl.hijack_verified) return NULL;
    sampler* s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->h = h;
    if (pthread_create(&s->thread, NULL, sampler_main, s) != 0) { free(s); return NULL; }
    return s;
}

uint64_t fr_hijack_sampler_events(void* handle) {
    return handle ? __atomic_load_n(&((sampler*)handle)->events, __ATOMIC_RELAXED) : 0;
}

void fr_hijack_sampler_stop(void* handle, uint64_t* samples, uint64_t* hijacked, uint64_t* inconsistent, uint64_t* events) {
    sampler* s = handle;
    if (!s) return;
    s->stop = 1;
    pthread_join(s->thread, NULL);
    *samples = s->samples;
    *hijacked = s->hijacked;
    *inconsistent = s->inconsistent;
    *events = s->events;
    free(s);
}

int fr_hijack_test_plant(fr_hub* h, void** slot, void* value) {
    if (!fr_sl.hijack_verified) return FR_E_RUNTIME;
    char* th = h->thread;
    *(void**)(th + fr_sl.hj_retaddr) = value;
    *(void***)(th + fr_sl.hj_retaddr_ptr) = slot;
    __atomic_fetch_or((uint32_t*)(th + fr_sl.state), FR_TS_HIJACKED, __ATOMIC_SEQ_CST);
    return FR_OK;
}
