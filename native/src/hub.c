/* Hubs: the hub thread, its identity thread, and the switch.
 *
 * The invariant that makes managed code on many stacks GC-safe:
 *   - the RUNNING context's Frame / ExInfo / GCFrame lists are the hub Thread's own lists, so the GC
 *     walks it like any thread;
 *   - every SUSPENDED context's lists are linked, in ascending stack address (= ascending context id),
 *     into the identity thread's lists. The identity thread is parked in a P/Invoke (preemptive), so the
 *     GC walks it from m_pFrame alone and never looks at its registers: it sees the suspended contexts'
 *     real InlinedCallFrames as one long stack, and their exception records and GCFrames as that stack's.
 *   - lists are only edited in fr_switch_core / fr_context_abandon / fr_hub_detach, which run in
 *     cooperative mode with no GC safe point (SuppressGCTransition), so no stack walk sees a half edit.
 * A switch usually moves the incoming context into the outgoing one's place in address order: O(1). Otherwise
 * removal is O(1) (doubly linked) and insertion O(log64 n) (fr_idset finds the successor), plus the length of
 * the one context's own lists. Never O(number of fibers). */
#include "fr_internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TH_FRAME(th)   FR_AT((th), fr_rt.thread_frame)
#define TH_EXINFO(th)  FR_AT((th), fr_rt.thread_exception_tracker)
#define TH_GCFRAME(th) FR_AT((th), fr_rt.thread_gcframe)

/* ---- the three per-thread lists, described once ---------------------------------------------- */
typedef struct list_kind {
    size_t head, tail;        /* offsets of the head / tail pointers inside fr_ctx */
    long link;                /* offset of the link field inside a list node */
} list_kind;

#define CTX_PTR(c, off) (*(char**)((char*)(c) + (off)))

static list_kind K[FR_LISTS];

static void init_kinds(void) {
    K[FR_LIST_FRAMES] = (list_kind){ offsetof(fr_ctx, frame), offsetof(fr_ctx, frame_tail), fr_rt.frame_next };
    K[FR_LIST_EXINFOS] = (list_kind){ offsetof(fr_ctx, exinfo), offsetof(fr_ctx, exinfo_tail), fr_rt.exinfo_prev };
    K[FR_LIST_GCFRAMES] = (list_kind){ offsetof(fr_ctx, gcframe), offsetof(fr_ctx, gcframe_tail), fr_rt.gcframe_next };
}

/* Last node of a list that ends at `end`. Bounded by this one context's own depth. */
static char* tail_of(char* head, long link, char* end) {
    char* n = head;
    while (FR_AT(n, link) != end) n = FR_AT(n, link);
    return n;
}

/* Where a context's own list of kind k ends when it runs (and must end again when it leaves the lane). */
static inline char* own_end(const fr_hub* h, int k) {
    return k == FR_LIST_FRAMES ? FR_FRAME_TOP : k == FR_LIST_EXINFOS ? NULL : h->base_gcframe;
}

/* Does context c, suspended, have a list of kind k to contribute? */
static inline int has_list(const fr_hub* h, const fr_ctx* c, int k) {
    return k == FR_LIST_FRAMES || (k == FR_LIST_EXINFOS ? c->exinfo != NULL : c->gcframe != h->base_gcframe);
}

static inline char* head_of(fr_hub* h, int k, int32_t id) { return CTX_PTR(&h->ctx[id], K[k].head); }
static inline char** tail_link(fr_hub* h, int k, int32_t id) { return (char**)(CTX_PTR(&h->ctx[id], K[k].tail) + K[k].link); }
static inline char* head_or_end(fr_hub* h, fr_chain* ch, int k, int32_t id) { return id >= 0 ? head_of(h, k, id) : ch->end; }

/* Make the runtime list continue after member p (or start, p < 0) with `to`. */
static inline void point_after(fr_hub* h, fr_chain* ch, int k, int32_t p, char* to) {
    if (p >= 0) *tail_link(h, k, p) = to; else *ch->head_slot = to;
}

/* Set id's neighbours to p / s and theirs to id. */
static inline void set_neighbours(fr_hub* h, fr_chain* ch, int k, int32_t id, int32_t p, int32_t s) {
    h->ctx[id].prev[k] = p;
    h->ctx[id].next[k] = s;
    if (p >= 0) h->ctx[p].next[k] = id; else ch->first = id;
    if (s >= 0) h->ctx[s].prev[k] = id; else ch->last = id;
}

static void chain_insert(fr_hub* h, fr_lane* L, int k, int32_t id) {
    fr_chain* ch = &L->chain[k];
    int32_t s;
    if (L->indexed) {
        s = (int32_t)fr_idset_succ(&ch->members, (uint32_t)id);
    } else {
        for (s = ch->first; s >= 0 && s < id; s = h->ctx[s].next[k]) { }   /* at most FR_HANDLER_LANE_CAP */
    }
    int32_t p = s >= 0 ? h->ctx[s].prev[k] : ch->last;
    set_neighbours(h, ch, k, id, p, s);
    *tail_link(h, k, id) = head_or_end(h, ch, k, s);
    point_after(h, ch, k, p, head_of(h, k, id));
    if (L->indexed) fr_idset_insert(&ch->members, (uint32_t)id);
}

static void chain_erase(fr_hub* h, fr_lane* L, int k, int32_t id) {
    fr_chain* ch = &L->chain[k];
    int32_t p = h->ctx[id].prev[k], s = h->ctx[id].next[k];
    if (p >= 0) h->ctx[p].next[k] = s; else ch->first = s;
    if (s >= 0) h->ctx[s].prev[k] = p; else ch->last = p;
    point_after(h, ch, k, p, head_or_end(h, ch, k, s));
    *tail_link(h, k, id) = own_end(h, k);
    if (L->indexed) fr_idset_erase(&ch->members, (uint32_t)id);
}

/* The common case of a switch: the context coming in (in) fits exactly where the one going out (out) was in
 * address order, so it takes its place with no search. Returns 0 when it does not fit. */
static int chain_replace(fr_hub* h, fr_lane* L, int k, int32_t out, int32_t in) {
    fr_chain* ch = &L->chain[k];
    int32_t p = h->ctx[out].prev[k], s = h->ctx[out].next[k];
    if ((p >= 0 && p > in) || (s >= 0 && s < in)) return 0;
    set_neighbours(h, ch, k, in, p, s);
    *tail_link(h, k, in) = head_or_end(h, ch, k, s);
    point_after(h, ch, k, p, head_of(h, k, in));
    *tail_link(h, k, out) = own_end(h, k);
    if (L->indexed) {
        fr_idset_erase(&ch->members, (uint32_t)out);
        fr_idset_insert(&ch->members, (uint32_t)in);
    }
    return 1;
}

static int start_lane(fr_hub* h, uint32_t l);

static int registering(const fr_hub* h) { return !(h->cfg.flags & FR_HUB_UNSAFE_NO_GC_REGISTRATION); }

/* A handler lane gained or lost room: keep fr_hub.free_lanes (the lanes with room) in step, O(1). */
static void lane_room_changed(fr_hub* h, uint32_t l) {
    fr_lane* L = &h->lanes[l];
    if (l == 0) return;
    int has_room = L->count < FR_HANDLER_LANE_CAP;
    if (has_room && L->free_pos < 0) {
        L->free_pos = (int)h->nfree;
        h->free_lanes[h->nfree++] = (uint8_t)l;
    } else if (!has_room && L->free_pos >= 0) {
        uint8_t last = h->free_lanes[--h->nfree];
        h->free_lanes[L->free_pos] = last;
        h->lanes[last].free_pos = L->free_pos;
        L->free_pos = -1;
        /* the last lane with room just filled: start the next one at the next fr_switch, before it is needed */
        if (h->nfree == 0 && h->nlanes < FR_MAX_LANES) h->want_lane = 1;
    }
}

/* Which lane a context just suspended goes to: a handler lane with room when it holds exception records. */
static uint8_t pick_lane(fr_hub* h, const fr_ctx* c) {
    if (!c->exinfo || (h->cfg.flags & FR_HUB_SINGLE_LANE)) return 0;
    if (h->nfree > 0) return h->free_lanes[h->nfree - 1];
    if (h->nlanes < FR_MAX_LANES) h->want_lane = 1;      /* lane 0 for now; correct, only slower to scan */
    return 0;
}

static void lane_add_all(fr_hub* h, int32_t id) {
    fr_lane* L = &h->lanes[h->ctx[id].lane];
    for (int k = 0; k < FR_LISTS; k++)
        if (has_list(h, &h->ctx[id], k)) chain_insert(h, L, k, id);
    L->count++;
}

static void lane_remove_all(fr_hub* h, int32_t id) {
    fr_lane* L = &h->lanes[h->ctx[id].lane];
    for (int k = 0; k < FR_LISTS; k++)
        if (has_list(h, &h->ctx[id], k)) chain_erase(h, L, k, id);
    L->count--;
}

/* Registers `in` (just suspended, or -1) and unregisters `out` (about to run, or -1). */
static void lane_exchange(fr_hub* h, int32_t in, int32_t out) {
    if (in >= 0) h->ctx[in].lane = pick_lane(h, &h->ctx[in]);
    int lin = in >= 0 ? h->ctx[in].lane : -1, lout = out >= 0 ? h->ctx[out].lane : -1;
    if (in >= 0 && out >= 0 && lin == lout) {
        fr_lane* L = &h->lanes[lin];
        for (int k = 0; k < FR_LISTS; k++) {
            int adding = has_list(h, &h->ctx[in], k);
            int removing = has_list(h, &h->ctx[out], k);
            if (adding && removing) {
                if (!chain_replace(h, L, k, out, in)) { chain_erase(h, L, k, out); chain_insert(h, L, k, in); }
            } else if (adding) {
                chain_insert(h, L, k, in);
            } else if (removing) {
                chain_erase(h, L, k, out);
            }
        }
        return;
    }
    if (out >= 0) {
        lane_remove_all(h, out);
        lane_room_changed(h, (uint32_t)lout);
    }
    if (in >= 0) {
        lane_add_all(h, in);
        lane_room_changed(h, (uint32_t)lin);
    }
}

/* Give back the slot of a context that exited, once we are no longer on its stack. */
static inline void reap(fr_hub* h) {
    if (h->zombie >= 0) {
        fr_arena_give_back(h, (uint32_t)h->zombie);
        h->zombie = -1;
    }
}

void fr_switch_core(fr_hub* h, uint32_t target, int exiting) {
    char* th = h->thread;
    uint32_t from = h->current;
    fr_ctx* c = &h->ctx[from];
    fr_ctx* t = &h->ctx[target];
    void* discard;
    void** save = &c->sp;

    /* a return-address hijack must not outlive our stay on this stack (hijack.c) */
    if (__builtin_expect(fr_sl.state >= 0 && (*(volatile uint32_t*)(th + fr_sl.state) & FR_TS_HIJACKED), 0)) fr_hijack_found(h, from);

    if (exiting) {
        /* Its last P/Invoke frame is dropped with it; nothing of it stays reachable. */
        h->zombie = from;
        save = &discard;
    } else {
        /* Take the running context's lists off the Thread. Its head Frame is the InlinedCallFrame of the
         * fr_switch P/Invoke we are inside; the JIT pops it (m_pFrame = ICF.Next) when it resumes. */
        c->frame = TH_FRAME(th);
        c->frame_tail = tail_of(c->frame, fr_rt.frame_next, FR_FRAME_TOP);
        c->exinfo = TH_EXINFO(th);
        c->exinfo_tail = c->exinfo ? tail_of(c->exinfo, fr_rt.exinfo_prev, NULL) : NULL;
        c->gcframe = TH_GCFRAME(th);
        c->gcframe_tail = c->gcframe != h->base_gcframe ? tail_of(c->gcframe, fr_rt.gcframe_next, h->base_gcframe) : NULL;
        c->state = FR_CTX_SUSPENDED;
        if (c->exinfo) h->in_handler++;
    }

    if (registering(h))
        lane_exchange(h, exiting ? -1 : (int32_t)from, t->state == FR_CTX_SUSPENDED ? (int32_t)target : -1);

    if (t->state == FR_CTX_SUSPENDED) {
        if (t->exinfo) h->in_handler--;
        TH_FRAME(th) = t->frame;
        TH_EXINFO(th) = t->exinfo;
        TH_GCFRAME(th) = t->gcframe;
    } else {
        /* FR_CTX_NEW: an empty stack. */
        TH_FRAME(th) = FR_FRAME_TOP;
        TH_EXINFO(th) = NULL;
        TH_GCFRAME(th) = h->base_gcframe;
    }
    /* the incoming context's stack limit for RuntimeHelpers.EnsureSufficientExecutionStack (stackguard.c) */
    *(uintptr_t*)(th + fr_sl.sufficient) = target == h->root ? h->guard.root_limit
        : (uintptr_t)h->base + (size_t)target * h->cfg.stack_size + h->guard.slot_delta;
    t->state = FR_CTX_RUNNING;
    h->current = target;
    h->switches++;
    fr_swap(save, t->sp);
    /* resumed: someone switched back to us */
    reap(h);
}

int fr_switch(fr_hub* h, uint32_t target, int exiting) {
    /* We are preemptive here, inside the JIT's InlinedCallFrame (the head of the Thread's Frame list). Another
     * active InlinedCallFrame further down, other than the exception dispatcher's own, means managed code called
     * native code that called back into managed code that is now switching: refused (misuse.c); when it may be the
     * exception dispatcher's instead, the managed side looks at a stack trace and calls again. Only this thread
     * writes its own Frame list, so reading it here is safe. */
    int callback = fr_native_callback_active(h->thread);
    if (callback == FR_CALLBACK) return FR_E_STATE;
    if (callback == FR_CALLBACK_MAYBE && !(exiting & FR_SWITCH_NO_CALLBACK)) return FR_E_CHECK;
    exiting &= 1;
    /* A context in exception handling had to share lane 0: start another handler lane now, while preemptive
     * (the new identity thread must enter managed code, possibly across a GC). Rare: at most FR_MAX_LANES. */
    if (h->want_lane) {
        h->want_lane = 0;
        if (h->nlanes < FR_MAX_LANES && start_lane(h, h->nlanes) != 0)
            fprintf(stderr, "FiberRuntime: could not start identity thread %u; handler fibers share lane 0\n", h->nlanes);
    }
    /* The callback re-enters cooperative mode (waiting out a GC in progress) and calls fr_switch_core. */
    h->cfg.switch_callback(h, target, exiting);
    return FR_OK;
}

void fr_fiber_start(fr_hub* h) {
    reap(h);
    /* We arrive in cooperative mode: fr_switch_core is a SuppressGCTransition call. The managed entry is a
     * reverse P/Invoke, which must be entered from preemptive native code, so make the single store the
     * runtime's own reverse-P/Invoke exit makes. m_pFrame is FRAME_TOP: a GC starting now sees no frames
     * on this stack, which is the truth. */
    *(volatile uint32_t*)(h->thread + fr_rt.thread_pgc_disabled) = 0;
    h->cfg.fiber_entry(h, h->cfg.user, h->current);
    fprintf(stderr, "FiberRuntime: a fiber entry returned to native code; a context must end by switching away\n");
    abort();
}

int32_t fr_context_new(fr_hub* h) {
    int32_t id = fr_arena_take(h);
    if (id < 0) return id;
    fr_ctx* c = &h->ctx[id];
    /* The slot top is page-aligned (stack_size is a multiple of the page size), which the ABIs' 16-byte stack
     * alignment needs; the initial frame itself is the switch's business (fr_make_context, in the .S). */
    c->sp = fr_make_context(h->base + ((size_t)id + 1) * h->cfg.stack_size, h);
    c->state = FR_CTX_NEW;
    c->frame = c->frame_tail = c->exinfo = c->exinfo_tail = c->gcframe_tail = NULL;
    c->gcframe = h->base_gcframe;
    return id;
}

void fr_context_abandon(fr_hub* h, uint32_t id) {
    if (id >= h->capacity) return;
    fr_ctx* c = &h->ctx[id];
    if (c->state == FR_CTX_SUSPENDED) {
        if (registering(h)) lane_exchange(h, -1, (int32_t)id);
        if (c->exinfo) h->in_handler--;
    }
    if (c->state == FR_CTX_SUSPENDED || c->state == FR_CTX_NEW) fr_arena_give_back(h, id);
}

/* ---- threads ----------------------------------------------------------------------------------- */

static void* identity_main(void* arg) {
    fr_hub* h = arg;
    h->cfg.identity_entry(h, h->cfg.user);
    return NULL;
}

void fr_identity_park(fr_hub* h, void* clr_thread) {
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
static int start_lane(fr_hub* h, uint32_t l) {
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
    lane_room_changed(h, l);
    return 0;
}

int fr_hub_create(const fr_hub_config* cfg, fr_hub** out, char* err, size_t errlen) {
    *out = NULL;
    if (!fr_rt.verified) { fr_set_err(err, errlen, "the runtime layout has not been verified"); return FR_E_RUNTIME; }
    if (!valid_config(cfg, err, errlen)) return FR_E_INVAL;
    init_kinds();
    fr_hub* h = calloc(1, sizeof *h);
    if (!h) return FR_E_NOMEM;
    h->cfg = *cfg;
    h->capacity = cfg->capacity;
    h->root = cfg->capacity;
    h->zombie = -1;
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

    if ((rc = start_lane(h, 0)) != 0) {
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
}
