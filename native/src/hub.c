/* Hubs, part one: the chains of suspended contexts and the switch (the threads are in hub_threads.c).
 *
 * The invariant that makes managed code on many stacks GC-safe:
 *   - the RUNNING context's Frame / ExInfo / GCFrame lists are the hub Thread's own lists, so the GC
 *     walks it like any thread;
 *   - every SUSPENDED context's lists are linked, in ascending stack address (= ascending context id),
 *     into the identity thread's lists. The identity thread is parked in a P/Invoke (preemptive), so the
 *     GC walks it from m_pFrame alone and never looks at its registers: it sees the suspended contexts'
 *     real InlinedCallFrames as one long stack, and their exception records and GCFrames as that stack's.
 *   - lists are only edited in fr_switch_core, fr_switch's plain path (switch_plain), fr_context_abandon and
 *     fr_hub_detach, which run in cooperative mode with no GC safe point (entered by fr_switch itself, or inside a
 *     SuppressGCTransition call), so no stack walk sees a half edit.
 * A switch usually moves the incoming context into the outgoing one's place in address order: O(1). Otherwise
 * removal is O(1) (doubly linked) and insertion O(log64 n) (fr_idset finds the successor; on a lane of at most
 * FR_INDEX_ON contexts a walk of at most that many), plus the length of the one context's own lists. Never
 * O(number of fibers). */
#include "fr_internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* ---- the three per-thread lists, described once ---------------------------------------------- */
typedef struct list_kind {
    size_t head, tail;        /* offsets of the head / tail pointers inside fr_ctx */
    long link;                /* offset of the link field inside a list node */
} list_kind;

#define CTX_PTR(c, off) (*(char**)((char*)(c) + (off)))

static list_kind K[FR_LISTS];

void fr_chains_init(void) {
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
    if (L->index_live) {
        s = (int32_t)fr_idset_succ(&ch->members, (uint32_t)id);
    } else {
        /* lane 0 unindexed holds at most FR_INDEX_ON contexts, a handler lane at most FR_HANDLER_LANE_CAP */
        for (s = ch->first; s >= 0 && s < id; s = h->ctx[s].next[k]) { }
    }
    int32_t p = s >= 0 ? h->ctx[s].prev[k] : ch->last;
    set_neighbours(h, ch, k, id, p, s);
    *tail_link(h, k, id) = head_or_end(h, ch, k, s);
    point_after(h, ch, k, p, head_of(h, k, id));
    if (L->index_live) fr_idset_insert(&ch->members, (uint32_t)id);
}

static void chain_erase(fr_hub* h, fr_lane* L, int k, int32_t id) {
    fr_chain* ch = &L->chain[k];
    int32_t p = h->ctx[id].prev[k], s = h->ctx[id].next[k];
    if (p >= 0) h->ctx[p].next[k] = s; else ch->first = s;
    if (s >= 0) h->ctx[s].prev[k] = p; else ch->last = p;
    point_after(h, ch, k, p, head_or_end(h, ch, k, s));
    *tail_link(h, k, id) = own_end(h, k);
    if (L->index_live) fr_idset_erase(&ch->members, (uint32_t)id);
}

/* Does `in` fit exactly where `out` is in list k's address order (between out's neighbours), so that it can take
 * out's place with no search? */
static inline int fits_at(const fr_hub* h, int k, int32_t in, int32_t out) {
    int32_t p = h->ctx[out].prev[k], s = h->ctx[out].next[k];
    return !((p >= 0 && p > in) || (s >= 0 && s < in));
}

/* The common case of a switch: the context coming in (in) fits exactly where the one going out (out) was in
 * address order, so it takes its place with no search. Returns 0 when it does not fit. */
static int chain_replace(fr_hub* h, fr_lane* L, int k, int32_t out, int32_t in) {
    if (!fits_at(h, k, in, out)) return 0;
    fr_chain* ch = &L->chain[k];
    int32_t p = h->ctx[out].prev[k], s = h->ctx[out].next[k];
    set_neighbours(h, ch, k, in, p, s);
    *tail_link(h, k, in) = head_or_end(h, ch, k, s);
    point_after(h, ch, k, p, head_of(h, k, in));
    *tail_link(h, k, out) = own_end(h, k);
    if (L->index_live) {
        fr_idset_erase(&ch->members, (uint32_t)out);
        fr_idset_insert(&ch->members, (uint32_t)in);
    }
    return 1;
}


static int registering(const fr_hub* h) { return !(h->cfg.flags & FR_HUB_UNSAFE_NO_GC_REGISTRATION); }

/* A handler lane gained or lost room: keep fr_hub.free_lanes (the lanes with room) in step, O(1). */
void fr_lane_room_changed(fr_hub* h, uint32_t l) {
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
        if (h->nfree == 0 && h->nlanes < FR_MAX_LANES) h->slow |= FR_SLOW_WANT_LANE;
    }
}

/* Which lane a context just suspended goes to: a handler lane with room when it holds exception records. */
static uint8_t pick_lane(fr_hub* h, const fr_ctx* c) {
    if (!c->exinfo || (h->cfg.flags & FR_HUB_SINGLE_LANE)) return 0;
    if (h->nfree > 0) return h->free_lanes[h->nfree - 1];
    if (h->nlanes < FR_MAX_LANES) h->slow |= FR_SLOW_WANT_LANE;      /* lane 0 for now; correct, only slower to scan */
    return 0;
}

/* Builds lane 0's bit trees when it grows past FR_INDEX_ON and drops them below FR_INDEX_OFF: O(members) once per
 * crossing, and the hysteresis puts at least FR_INDEX_ON - FR_INDEX_OFF registrations between two crossings. */
static void lane_index_fit(fr_hub* h, fr_lane* L) {
    if (!L->indexed) return;
    int want = L->index_live ? L->count >= FR_INDEX_OFF : L->count > FR_INDEX_ON;
    if (want == L->index_live) return;
    for (int k = 0; k < FR_LISTS; k++)
        for (int32_t m = L->chain[k].first; m >= 0; m = h->ctx[m].next[k]) {
            if (want) fr_idset_insert(&L->chain[k].members, (uint32_t)m);
            else fr_idset_erase(&L->chain[k].members, (uint32_t)m);
        }
    L->index_live = want;
}

static void lane_add_all(fr_hub* h, int32_t id) {
    fr_lane* L = &h->lanes[h->ctx[id].lane];
    for (int k = 0; k < FR_LISTS; k++)
        if (has_list(h, &h->ctx[id], k)) chain_insert(h, L, k, id);
    L->count++;
    lane_index_fit(h, L);
}

static void lane_remove_all(fr_hub* h, int32_t id) {
    fr_lane* L = &h->lanes[h->ctx[id].lane];
    for (int k = 0; k < FR_LISTS; k++)
        if (has_list(h, &h->ctx[id], k)) chain_erase(h, L, k, id);
    L->count--;
    lane_index_fit(h, L);
}

/* fits_at for lane 0's Frame list. */
static inline int lane0_fits(const fr_hub* h, int32_t in, int32_t out) { return fits_at(h, FR_LIST_FRAMES, in, out); }

/* chain_replace for lane 0's Frame list, spelled out (no list-kind table): `in` (just suspended, its frame list set)
 * takes the place of `out` (about to run), which lane0_fits allowed. Frames only: neither holds other lists. */
static inline __attribute__((always_inline)) void lane0_replace_frames(fr_hub* h, int32_t in, int32_t out) {
    fr_chain* ch = &h->lanes[0].chain[FR_LIST_FRAMES];
    fr_ctx* ci = &h->ctx[in];
    fr_ctx* co = &h->ctx[out];
    long next = fr_rt.frame_next;
    int32_t p = co->prev[FR_LIST_FRAMES], s = co->next[FR_LIST_FRAMES];
    ci->prev[FR_LIST_FRAMES] = p;
    ci->next[FR_LIST_FRAMES] = s;
    ci->lane = 0;
    if (p >= 0) h->ctx[p].next[FR_LIST_FRAMES] = in; else ch->first = in;
    if (s >= 0) h->ctx[s].prev[FR_LIST_FRAMES] = in; else ch->last = in;
    FR_AT(ci->frame_tail, next) = s >= 0 ? h->ctx[s].frame : ch->end;
    if (p >= 0) FR_AT(h->ctx[p].frame_tail, next) = ci->frame; else *ch->head_slot = ci->frame;
    FR_AT(co->frame_tail, next) = FR_FRAME_TOP;
    if (__builtin_expect(h->lanes[0].index_live, 0)) {
        fr_idset_erase(&ch->members, (uint32_t)out);
        fr_idset_insert(&ch->members, (uint32_t)in);
    }
}

/* A suspended context with no exception records and no GCFrames: it is on lane 0, in its Frame list only. */
static inline int plain(const fr_hub* h, const fr_ctx* c) { return !c->exinfo && c->gcframe == h->base_gcframe && c->lane == 0; }

/* The common switch, taken before lane_exchange's general walk over lanes and lists: both contexts are plain and `in`
 * takes `out`'s place in lane 0's Frame list. 0 when not that. */
static inline int lane_swap_plain(fr_hub* h, int32_t in, int32_t out) {
    fr_ctx* ci = &h->ctx[in];
    if (ci->exinfo || ci->gcframe != h->base_gcframe || !plain(h, &h->ctx[out]) || !lane0_fits(h, in, out)) return 0;
    lane0_replace_frames(h, in, out);
    return 1;
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
        fr_lane_room_changed(h, (uint32_t)lout);
    }
    if (in >= 0) {
        lane_add_all(h, in);
        fr_lane_room_changed(h, (uint32_t)lin);
    }
}

/* What a switch does to the lanes: the common case inline, the rest out of line. */
static inline void lane_switch(fr_hub* h, int32_t in, int32_t out) {
    if (!(in >= 0 && out >= 0 && lane_swap_plain(h, in, out))) lane_exchange(h, in, out);
}

/* Give back the slot of a context that exited, once we are no longer on its stack. */
static inline void reap(fr_hub* h) {
    if (h->zombie >= 0) {
        fr_arena_give_back(h, (uint32_t)h->zombie);
        h->zombie = -1;
    }
}

/* fr_switch_core's body: inlined into fr_switch's fast path, called through the exported symbol by the callback. */
static inline __attribute__((always_inline)) void switch_core(fr_hub* h, uint32_t target, int exiting) {
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
        lane_switch(h, exiting ? -1 : (int32_t)from, t->state == FR_CTX_SUSPENDED ? (int32_t)target : -1);

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
    *(uintptr_t*)(th + fr_sl.sufficient) = t->stack_limit;
    t->state = FR_CTX_RUNNING;
    h->current = target;
    h->switches++;
    fr_swap(save, t->sp);
    /* resumed: someone switched back to us */
    reap(h);
}

void fr_switch_core(fr_hub* h, uint32_t target, int exiting) { switch_core(h, target, exiting); }

/* Cooperative mode the way the JIT's P/Invoke epilog enters it (trap.c): the store, then the trap check. 0 when a
 * suspension is under way (back to preemptive: the callback waits it out). */
static inline int enter_cooperative(volatile uint32_t* pgc, const int32_t* trap) {
    *pgc = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (__builtin_expect(*(volatile const int32_t*)trap == 0, 1)) return 1;
    __atomic_store_n(pgc, 0, __ATOMIC_RELEASE);
    return 0;
}

/* fr_switch's common case, all of it in one place: nothing makes the hub take the general path (h->slow == 0), the
 * switch's own InlinedCallFrame is alone on this stack (head, whose next is FRAME_TOP: no native callback below), the
 * running context and the target are plain (no exception records, no GCFrames: lane 0's Frame list only), the
 * target is suspended, and the running context fits where the target was in lane 0's address order. What
 * switch_core would do up to the stack swap, minus its tests and walks: the Frame list is the one node `head`, the
 * other lists are empty. Returns the running context, to be swapped out by fr_swap_plain; NULL (nothing done) when
 * any of that is not so, or the hub thread is hijacked, or a suspension is under way. */
static inline __attribute__((always_inline)) fr_ctx* switch_plain(fr_hub* h, char* th, char* head, uint32_t target) {
    uint32_t from = h->current;
    fr_ctx* c = &h->ctx[from];
    fr_ctx* t = &h->ctx[target];
    if (t->state != FR_CTX_SUSPENDED || !plain(h, t) || TH_EXINFO(th) || TH_GCFRAME(th) != h->base_gcframe ||
        !lane0_fits(h, (int32_t)from, (int32_t)target))
        return NULL;
    /* a return-address hijack is switch_core's business (fr_hijack_found) */
    if (fr_sl.state >= 0 && (*(volatile uint32_t*)(th + fr_sl.state) & FR_TS_HIJACKED)) return NULL;
    if (!enter_cooperative((uint32_t*)(th + fr_rt.thread_pgc_disabled), h->trap)) return NULL;
    c->frame = c->frame_tail = head;
    c->exinfo = c->exinfo_tail = NULL;
    c->gcframe = h->base_gcframe;
    c->gcframe_tail = NULL;
    c->state = FR_CTX_SUSPENDED;
    lane0_replace_frames(h, (int32_t)from, (int32_t)target);
    TH_FRAME(th) = t->frame;                    /* the Thread's ExInfo and GCFrame lists stay empty */
    *(uintptr_t*)(th + fr_sl.sufficient) = t->stack_limit;
    t->state = FR_CTX_RUNNING;
    h->current = target;
    h->switches++;
    return c;
}

#if FR_SWAP_PLAIN_ASM
const long fr_hub_zombie_offset = offsetof(fr_hub, zombie);
void fr_reap(fr_hub* h) { reap(h); }
#else
/* The portable fr_swap_plain (fr_internal.h): the swap, then what the resumed plain switch does. */
static inline int fr_swap_plain(void** save_sp, void* new_sp, uint32_t* pgc, fr_hub* h) {
    fr_swap(save_sp, new_sp);
    reap(h);
    __atomic_store_n(pgc, 0, __ATOMIC_RELEASE);
    return FR_OK;
}
#endif

/* Where a site (the return address of an fr_switch call) is or goes in a site table: its FR_SITE_WAYS slots from here. */
static inline uint32_t site_slot(const void* ra) {
    uintptr_t a = (uintptr_t)ra;
    return (uint32_t)(a ^ (a >> 6) ^ (a >> 12)) & (FR_SITES - 1);
}

static inline int site_in(const void* const* table, const void* ra) {
    uint32_t i = site_slot(ra);
    for (int w = 0; w < FR_SITE_WAYS; w++)
        if (table[(i + w) & (FR_SITES - 1)] == ra) return 1;
    return 0;
}

static void site_add(fr_hub* h, const void** table, const void* ra) {
    uint32_t i = site_slot(ra);
    for (int w = 0; w < FR_SITE_WAYS; w++)
        if (!table[(i + w) & (FR_SITES - 1)]) { table[(i + w) & (FR_SITES - 1)] = ra; return; }
    table[(i + h->site_evict++ % FR_SITE_WAYS) & (FR_SITES - 1)] = ra;
}

/* May the fast path return to `ra`? Only when the JIT's epilog there tests the verified trap global (trap.c): each call
 * site is decoded once, at its first switch, and remembered either way (a forgotten one is decoded again). */
static int site_checked(fr_hub* h, const void* ra) {
    if (site_in(h->sites, ra)) return 1;
    if (site_in(h->bad_sites, ra)) return 0;
    int ok = fr_trap_decode_call_site(ra) == h->trap;
    site_add(h, ok ? h->sites : h->bad_sites, ra);
    return ok;
}

/* Everything fr_switch's plain path does not take: exits, native callbacks, handler contexts, the first switch, the
 * first switch from a call site, the callback path and the alternate path mode. `ra` is fr_switch's return address
 * (the JIT's epilog). */
static __attribute__((noinline)) int switch_general(fr_hub* h, uint32_t target, int exiting, const void* ra) {
    /* We are preemptive here, inside the JIT's InlinedCallFrame (the head of the Thread's Frame list). Another
     * active InlinedCallFrame further down, other than the exception dispatcher's own, means managed code called
     * native code that called back into managed code that is now switching: refused (misuse.c); when it may be the
     * exception dispatcher's instead, the managed side looks at a stack trace and calls again. Only this thread
     * writes its own Frame list, so reading it here is safe. */
    char* th = h->thread;
    int callback = FR_AT(TH_FRAME(th), fr_rt.frame_next) == FR_FRAME_TOP ? 0 : fr_native_callback_active(th);
    if (callback == FR_CALLBACK) return FR_E_STATE;
    if (callback == FR_CALLBACK_MAYBE && !(exiting & FR_SWITCH_NO_CALLBACK)) return FR_E_CHECK;
    exiting &= 1;
    /* A context in exception handling had to share lane 0: start another handler lane now, while preemptive
     * (the new identity thread must enter managed code, possibly across a GC). Rare: at most FR_MAX_LANES. */
    if (h->slow & FR_SLOW_WANT_LANE) {
        h->slow &= ~(uint32_t)FR_SLOW_WANT_LANE;
        if (h->nlanes < FR_MAX_LANES && fr_lane_start(h, h->nlanes) != 0)
            fprintf(stderr, "FiberRuntime: could not start identity thread %u; handler fibers share lane 0\n", h->nlanes);
    }
    if (__builtin_expect(h->slow & FR_SLOW_FIRST, 0)) {
        h->trap = fr_trap_address;
        h->slow &= ~(uint32_t)FR_SLOW_FIRST;
        if (!h->trap || fr_switch_path_mode == FR_PATH_CALLBACK) h->slow |= FR_SLOW_CALLBACK;
        else if (fr_switch_path_mode == FR_PATH_ALTERNATE) h->slow |= FR_SLOW_ALTERNATE;
    }
    int32_t* trap = h->trap;
    if (__builtin_expect(trap != NULL, 1) && fr_switch_path_mode != FR_PATH_CALLBACK &&
        (fr_switch_path_mode != FR_PATH_ALTERNATE || (h->switches & 1)) && site_checked(h, ra)) {
        volatile uint32_t* pgc = (uint32_t*)(th + fr_rt.thread_pgc_disabled);
        if (enter_cooperative(pgc, trap)) {
            switch_core(h, target, exiting);
            /* resumed on our own stack, cooperative: leave the way the callback's reverse-P/Invoke return would,
             * back to preemptive for the JIT's epilog, after every edit made in cooperative mode */
            __atomic_store_n(pgc, 0, __ATOMIC_RELEASE);
            return FR_OK;
        }
    }
    h->callback_switches++;
    /* The callback re-enters cooperative mode (waiting out a GC in progress) and calls fr_switch_core. */
    h->cfg.switch_callback(h, target, exiting);
    return FR_OK;
}

int fr_switch(fr_hub* h, uint32_t target, int exiting) {
    char* th = h->thread;
    char* head = TH_FRAME(th);
    const void* ra = __builtin_return_address(0);
    /* FIBERRUNTIME_SWITCH_PATH=alternate: the plain path on odd switches (the callback takes the even ones, in
     * switch_general), so contexts saved by fr_swap_plain resume through the callback's fr_swap and the other way */
    uint32_t slow = h->slow;
    if (__builtin_expect(slow == FR_SLOW_ALTERNATE, 0) && (h->switches & 1)) slow = 0;
    if (__builtin_expect((slow | (uint32_t)exiting) == 0, 1) && FR_AT(head, fr_rt.frame_next) == FR_FRAME_TOP &&
        site_in(h->sites, ra)) {
        fr_ctx* c = switch_plain(h, th, head, target);
        /* a tail call where the compiler makes one: resumed, the swap returns straight to the managed caller */
        if (c) return fr_swap_plain(&c->sp, h->ctx[target].sp, (uint32_t*)(th + fr_rt.thread_pgc_disabled), h);
    }
    return switch_general(h, target, exiting, ra);
}

void fr_fiber_start(fr_hub* h) {
    reap(h);
    /* We arrive in cooperative mode: the switch core runs cooperative (fr_switch's fast path, or the callback's
     * SuppressGCTransition call of fr_switch_core). The managed entry is a
     * reverse P/Invoke, which must be entered from preemptive native code, so make the single store the
     * runtime's own reverse-P/Invoke exit makes. m_pFrame is FRAME_TOP: a GC starting now sees no frames
     * on this stack, which is the truth. */
    *(volatile uint32_t*)(h->thread + fr_rt.thread_pgc_disabled) = 0;
    h->cfg.fiber_entry(h, h->cfg.user, h->current);
    fprintf(stderr, "FiberRuntime: a fiber entry returned to native code; a context must end by switching away\n");
    abort();
}

void fr_hub_stack_range(const fr_hub* h, uintptr_t* lo, uintptr_t* hi) {
    *lo = (uintptr_t)h->base;
    *hi = (uintptr_t)h->base + h->total;
}

int32_t fr_context_new(fr_hub* h) {
    int32_t id = fr_arena_take(h);
    if (id < 0) return id;
    fr_ctx* c = &h->ctx[id];
    /* The slot top is page-aligned (stack_size is a multiple of the page size), which the ABIs' 16-byte stack
     * alignment needs; the initial frame itself is the switch's business (fr_make_context, in the .S). */
    c->sp = fr_make_context(h->base + ((size_t)id + 1) * h->cfg.stack_size, h);
    c->state = FR_CTX_NEW;
    c->stack_limit = (uintptr_t)fr_context_stack_limit(h, (uint32_t)id);
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

