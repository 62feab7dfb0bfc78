/* Hubs, part two: the threads. The hub thread runs the contexts (hub.c switches them); identity threads ("lanes")
 * park in a P/Invoke forever so that the GC walks the suspended contexts through them (see hub.c for the invariant).
 * Here: starting and parking those threads, checking the hub Thread's state when it enters managed code (attach),
 * giving every identity thread its own lists back before it is released (detach), creating and destroying hubs,
 * and the counters. Nothing here runs on the switch path. */
#include "fr_internal.h"
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* ---- homing identity threads on different GC heaps ----------------------------------------------------------
 * Under Server GC each GC thread scans the stacks of the threads whose home heap is its own, and a thread's home
 * heap is the heap of the CPU it made its first allocation on (identity threads allocate once, at start-up, and
 * a thread that never allocated is scanned by GC thread 0). Left alone, every identity thread of every hub could
 * land on one heap, and one GC thread would walk every parked fiber of the process while the others wait. So each
 * identity thread starts pinned to the next CPU in turn (process-wide, over the CPUs the process may use), makes
 * its first managed allocation there, and drops the pin before it parks (fr_identity_park): consecutive lanes are
 * homed on consecutive CPUs, hence on different heaps (the runtime maps CPUs to heaps in turn). Harmless under
 * workstation GC; best effort (an affinity call that fails leaves the thread where the scheduler puts it). */
static atomic_uint next_home;
static _Thread_local int home_pinned;
static _Thread_local cpu_set_t home_saved;

static void home_pin(void) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
    int n = CPU_COUNT(&allowed);
    if (n <= 1) return;
    unsigned k = atomic_fetch_add_explicit(&next_home, 1, memory_order_relaxed) % (unsigned)n;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed) || k-- != 0) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (sched_setaffinity(0, sizeof one, &one) == 0) {
            home_saved = allowed;
            home_pinned = 1;
        }
        return;
    }
}

static void home_unpin(void) {
    if (!home_pinned) return;
    home_pinned = 0;
    (void)sched_setaffinity(0, sizeof home_saved, &home_saved);
}

static void* identity_main(void* arg) {
    fr_hub* h = arg;
    home_pin();                                 /* before the thread first enters managed code */
    h->cfg.identity_entry(h, h->cfg.user);
    return NULL;
}

void fr_identity_park(fr_hub* h, void* clr_thread) {
    home_unpin();                               /* its first allocation (the thread's name) is made: homed */
    int m;
    char* t = fr_find_thread_by_tid(fr_gettid(), &m);
    pthread_mutex_lock(&h->mu);
    if (!t || t != (char*)clr_thread || (char*)TH_FRAME(t) == FR_FRAME_TOP || TH_EXINFO(t) != NULL) {
        h->ident_failed = 1;
    } else {
        fr_lane* L = &h->lanes[h->registering_lane];
        L->thread = t;
        L->orig_frame = TH_FRAME(t);
        L->orig_exinfo = TH_EXINFO(t);
        L->orig_gcframe = TH_GCFRAME(t);
        L->chain[FR_LIST_FRAMES].head_slot = &TH_FRAME(t);
        L->chain[FR_LIST_FRAMES].end = FR_FRAME_TOP;
        L->chain[FR_LIST_EXINFOS].head_slot = &TH_EXINFO(t);
        L->chain[FR_LIST_EXINFOS].end = L->orig_exinfo;
        L->chain[FR_LIST_GCFRAMES].head_slot = &TH_GCFRAME(t);
        L->chain[FR_LIST_GCFRAMES].end = L->orig_gcframe;
        /* From now on the GC sees this thread's stack as the suspended contexts (none yet). Its own
         * frames (the managed identity entry) hold no references. */
        TH_FRAME(t) = FR_FRAME_TOP;
    }
    h->ident_ready = 1;
    pthread_cond_broadcast(&h->cv);
    while (!h->ident_release) pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

static void* hub_main(void* arg) {
    fr_hub* h = arg;
    h->cfg.hub_entry(h, h->cfg.user);
    return NULL;
}

int fr_hub_attach(fr_hub* h, void* clr_thread, char* err, size_t errlen) {
    int m;
    char* t = fr_find_thread_by_tid(fr_gettid(), &m);
    if (!t || t != (char*)clr_thread) { fr_set_err(err, errlen, "hub thread: the thread store and Thread.CurrentThread disagree (%d matches)", m); return FR_E_THREAD; }
    char* f = TH_FRAME(t);
    if (f == FR_FRAME_TOP || *(uintptr_t*)f != fr_rt.icf_identifier || FR_AT(f, fr_rt.frame_next) != FR_FRAME_TOP) {
        fr_set_err(err, errlen, "hub thread: expected exactly one InlinedCallFrame on entry");
        return FR_E_RUNTIME;
    }
    if (*(uint32_t*)(t + fr_rt.thread_pgc_disabled) != 0 || TH_EXINFO(t) != NULL) {
        fr_set_err(err, errlen, "hub thread: unexpected GC mode or exception state on entry");
        return FR_E_RUNTIME;
    }
    if (fr_rt.thread_stack_base >= 0) {
        /* described from .NET 11 on: the runtime must have cached the whole reservation as this thread's stack, or its
         * stack checks would fail on fiber slots */
        char *base = FR_AT(t, fr_rt.thread_stack_base), *limit = FR_AT(t, fr_rt.thread_stack_limit);
        if (base != h->base + h->total || limit < h->base || limit >= h->base + h->cfg.stack_size) {
            fr_set_err(err, errlen, "hub thread: the runtime caches its stack as [%p, %p), not the hub's reservation [%p, %p)",
                       (void*)limit, (void*)base, (void*)h->base, (void*)(h->base + h->total));
            return FR_E_RUNTIME;
        }
    }
    h->thread = t;
    int rc = fr_stackguard_attach(h, err, errlen);
    if (rc != FR_OK) return rc;
    h->base_gcframe = TH_GCFRAME(t);
    h->current = h->root;
    h->ctx[h->root].state = FR_CTX_RUNNING;
    h->ctx[h->root].stack_limit = (uintptr_t)fr_context_stack_limit(h, h->root);
    return FR_OK;
}

void fr_hub_detach(fr_hub* h) {
    fr_stackguard_detach(h);
    for (uint32_t l = 0; l < h->nlanes; l++) {
        fr_lane* L = &h->lanes[l];
        if (!L->thread) continue;
        TH_FRAME(L->thread) = L->orig_frame;
        TH_EXINFO(L->thread) = L->orig_exinfo;
        TH_GCFRAME(L->thread) = L->orig_gcframe;
    }
}

static int valid_config(const fr_hub_config* c, char* err, size_t errlen) {
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    if (c->capacity < 1 || c->capacity > FR_MAX_CAPACITY) { fr_set_err(err, errlen, "capacity %u is outside 1..%u", c->capacity, FR_MAX_CAPACITY); return 0; }
    if (c->stack_size < FR_MIN_STACK_SIZE || c->stack_size > FR_MAX_STACK_SIZE || c->stack_size % pg) {
        fr_set_err(err, errlen, "stack size %zu is not a multiple of the page size between %zu and %zu", c->stack_size, FR_MIN_STACK_SIZE, FR_MAX_STACK_SIZE);
        return 0;
    }
    /* 64 KiB pages (some arm64 kernels) make a 64 KiB slot all guard page */
    if (c->stack_size < 2 * pg) { fr_set_err(err, errlen, "stack size %zu leaves no room beside its guard page of %zu bytes", c->stack_size, pg); return 0; }
    if (c->hub_stack_size < ((size_t)256 << 10) || c->hub_stack_size % pg) { fr_set_err(err, errlen, "hub stack size %zu is below 256 KiB or not page-aligned", c->hub_stack_size); return 0; }
    if (!c->hub_entry || !c->identity_entry || !c->fiber_entry || !c->switch_callback) { fr_set_err(err, errlen, "missing entry point"); return 0; }
    return 1;
}

static void destroy(fr_hub* h) {
    for (int k = 0; k < FR_LISTS; k++) fr_idset_free(&h->lanes[0].chain[k].members);
    fr_arena_release(h);
    free(h->ctx);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

static void release_identity(fr_hub* h) {
    pthread_mutex_lock(&h->mu);
    h->ident_release = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    for (uint32_t l = 0; l < FR_MAX_LANES; l++) {
        if (!h->lanes[l].started) continue;
        pthread_join(h->lanes[l].os_thread, NULL);
        h->lanes[l].started = 0;
    }
}

/* Starts identity thread number `l` and waits until it is parked and registered. Must run in preemptive mode
 * (the new thread enters managed code, and may have to wait for a GC that needs this thread to be safe). */
int fr_lane_start(fr_hub* h, uint32_t l) {
    fr_lane* L = &h->lanes[l];
    L->free_pos = -1;
    L->indexed = l == 0;
    for (int k = 0; k < FR_LISTS; k++) L->chain[k].first = L->chain[k].last = -1;
    pthread_mutex_lock(&h->mu);
    h->registering_lane = l;
    h->ident_ready = 0;
    pthread_mutex_unlock(&h->mu);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, (size_t)256 << 10);
    int rc = pthread_create(&L->os_thread, &a, identity_main, h);
    pthread_attr_destroy(&a);
    if (rc) return rc;
    L->started = 1;
    pthread_mutex_lock(&h->mu);
    while (!h->ident_ready) pthread_cond_wait(&h->cv, &h->mu);
    int failed = h->ident_failed;
    pthread_mutex_unlock(&h->mu);
    if (failed) return -1;
    h->nlanes = l + 1;
    fr_lane_room_changed(h, l);
    return 0;
}

int fr_hub_create(const fr_hub_config* cfg, fr_hub** out, char* err, size_t errlen) {
    *out = NULL;
    if (!fr_rt.verified) { fr_set_err(err, errlen, "the runtime layout has not been verified"); return FR_E_RUNTIME; }
    if (!valid_config(cfg, err, errlen)) return FR_E_INVAL;
    fr_chains_init();
    fr_hub* h = calloc(1, sizeof *h);
    if (!h) return FR_E_NOMEM;
    h->cfg = *cfg;
    h->capacity = cfg->capacity;
    h->root = cfg->capacity;
    h->zombie = -1;
    h->slow = FR_SLOW_FIRST | (cfg->flags & FR_HUB_UNSAFE_NO_GC_REGISTRATION ? FR_SLOW_UNREGISTERED : 0);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    int rc;
    h->ctx = calloc((size_t)h->capacity + 1, sizeof(fr_ctx));
    int ok = h->ctx != NULL;
    for (int k = 0; k < FR_LISTS && ok; k++) ok = fr_idset_init(&h->lanes[0].chain[k].members, h->capacity + 1) == FR_OK;
    if (!ok) {
        fr_set_err(err, errlen, "out of memory for %u contexts", h->capacity);
        destroy(h);
        return FR_E_NOMEM;
    }
    if ((rc = fr_arena_reserve(h, err, errlen)) != FR_OK) { destroy(h); return rc; }

    if ((rc = fr_lane_start(h, 0)) != 0) {
        fr_set_err(err, errlen, rc > 0 ? "could not start the identity thread" : "the identity thread could not be identified in the runtime's thread store");
        release_identity(h);
        destroy(h);
        return FR_E_THREAD;
    }

    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstack(&a, h->base, h->total);
    rc = pthread_create(&h->os_thread, &a, hub_main, h);
    pthread_attr_destroy(&a);
    if (rc) {
        fr_set_err(err, errlen, "could not start the hub thread: %s", strerror(rc));
        /* nothing is registered yet: give the identity thread its own lists back and release it */
        fr_hub_detach(h);
        release_identity(h);
        destroy(h);
        return FR_E_THREAD;
    }
    h->thread_started = 1;
    *out = h;
    return FR_OK;
}

int fr_hub_join_and_destroy(fr_hub* h) {
    if (!h) return FR_E_INVAL;
    if (h->thread_started) pthread_join(h->os_thread, NULL);
    release_identity(h);
    destroy(h);
    return FR_OK;
}

void fr_hub_get_stats(const fr_hub* h, fr_hub_stats* s) {
    s->switches = h->switches;
    s->live_contexts = h->live;
    s->registered = 0;
    for (uint32_t l = 0; l < h->nlanes; l++) s->registered += h->lanes[l].count;
    s->lanes = h->nlanes;
    s->suspended_in_handler = h->in_handler;
    s->slots_touched = h->bump;
    s->warm_free = h->warm_len;
    s->capacity = h->capacity;
    s->stack_size = h->cfg.stack_size;
    s->guard_markers = (uint32_t)h->guard_markers;
    s->hijacks_seen = h->guard.hijacks_seen;
    s->hijacks_in_outgoing = h->guard.hijacks_in_outgoing;
    s->hijacks_undone = h->guard.hijacks_undone;
    s->callback_switches = h->callback_switches;
}
