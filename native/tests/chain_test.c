/* The identity lanes' chains (hub.c) against a reference model, without a runtime.
 *
 * hub.c is compiled into this test with fake runtime lists: every context owns a two-node Frame list (head and
 * tail, linked through Frame.Next), and some also an ExInfo and a GCFrame list. A random walk of switches,
 * exits and abandons registers and unregisters contexts on lane 0 through lane_switch, as fr_switch_core does (and
 * lane_exchange, as fr_context_abandon does),
 * while the number of suspended contexts grows past FR_INDEX_ON (the lane builds its bit trees), shrinks below
 * FR_INDEX_OFF (it drops them) and oscillates around both thresholds. After every step the identity thread's
 * three lists must be exactly the suspended contexts' lists in ascending id order ending at the thread's own
 * list end, every unregistered context's list must end at its own end again, the lane's count must match,
 * and the bit trees must be live exactly when the hysteresis says and then hold exactly the members. */
#include "../src/hub.c"
#include <stdlib.h>

fr_layout fr_rt;
fr_stack_layout fr_sl = { .state = -1 };

/* hub.c's neighbours, not exercised here */
void fr_arena_give_back(fr_hub* h, uint32_t id) { (void)h; (void)id; }
void fr_hijack_found(fr_hub* h, uint32_t from) { (void)h; (void)from; }
int fr_lane_start(fr_hub* h, uint32_t l) { (void)h; (void)l; return -1; }
int32_t fr_arena_take(fr_hub* h) { (void)h; return -1; }
void fr_swap(void** save_sp, void* new_sp) { (void)save_sp; (void)new_sp; abort(); }
#if FR_SWAP_PLAIN_ASM
int fr_swap_plain(void** save_sp, void* new_sp, uint32_t* pgc, fr_hub* h) { (void)save_sp; (void)new_sp; (void)pgc; (void)h; abort(); }
#endif
void* fr_make_context(void* stack_top, void* arg) { (void)stack_top; (void)arg; return NULL; }
int fr_native_callback_active(const char* th) { (void)th; return 0; }
int32_t* fr_trap_address;
int fr_switch_path_mode;
int32_t* fr_trap_decode_call_site(const void* ra) { (void)ra; return NULL; }

static int fails;
#define CHECK(c, ...) do { if (!(c)) { if (fails++ < 20) { fprintf(stderr, "FAIL line %d: ", __LINE__); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } } while (0)

#define N 400                    /* contexts 0..N-1; a node is {identifier, link} */
typedef struct { uintptr_t id; char* link; } node;
static node frames[N][2], exinfos[N], gcframes[N][2];
static char* ident_frame, *ident_exinfo, *ident_gcframe;   /* the fake identity thread's list heads */
static char base_gc_end_node;
#define BASE_GC_END (&base_gc_end_node)
static char* IDENT_FRAME_END = (char*)(uintptr_t)0x1000, *IDENT_GC_END = (char*)(uintptr_t)0x2000;

static fr_hub hub;
static int suspended[N];          /* the model: registered on lane 0 */
static int has_ex[N], has_gc[N];

/* What a context looks like when fr_switch_core takes it off the Thread (its lists end at their own ends). */
static void make_suspended(int32_t id) {
    fr_ctx* c = &hub.ctx[id];
    c->frame = (char*)&frames[id][0];
    frames[id][0].link = (char*)&frames[id][1];
    c->frame_tail = (char*)&frames[id][1];
    frames[id][1].link = FR_FRAME_TOP;
    c->exinfo = has_ex[id] ? (char*)&exinfos[id] : NULL;
    c->exinfo_tail = c->exinfo;
    if (c->exinfo) exinfos[id].link = NULL;
    c->gcframe = has_gc[id] ? (char*)&gcframes[id][0] : BASE_GC_END;
    c->gcframe_tail = has_gc[id] ? (char*)&gcframes[id][1] : NULL;
    if (has_gc[id]) { gcframes[id][0].link = (char*)&gcframes[id][1]; gcframes[id][1].link = BASE_GC_END; }
    c->state = FR_CTX_SUSPENDED;
}

/* Walks one identity list and checks it against the model. */
static void check_list(const char* what, char* head, char* end, int k) {
    char* p = head;
    for (int32_t id = 0; id < N; id++) {
        if (!suspended[id] || (k == FR_LIST_EXINFOS && !has_ex[id]) || (k == FR_LIST_GCFRAMES && !has_gc[id])) continue;
        char* first = k == FR_LIST_FRAMES ? (char*)&frames[id][0] : k == FR_LIST_EXINFOS ? (char*)&exinfos[id] : (char*)&gcframes[id][0];
        CHECK(p == first, "%s: expected context %d's list next", what, id);
        if (p != first) return;
        p = k == FR_LIST_EXINFOS ? exinfos[id].link : ((node*)((node*)p)->link)->link;
    }
    CHECK(p == end, "%s does not end at the identity thread's own end", what);
}

static int in_set(const fr_idset* s, int32_t id) {
    return id == 0 ? fr_idset_pred(s, 1) == 0 : fr_idset_succ(s, (uint32_t)id - 1) == id;
}

static void check_all(void) {
    fr_lane* L = &hub.lanes[0];
    uint32_t n = 0;
    for (int32_t id = 0; id < N; id++) {
        if (suspended[id]) { n++; continue; }
        /* an unregistered context's lists end at its own ends again */
        if (hub.ctx[id].state == FR_CTX_SUSPENDED || !hub.ctx[id].frame) continue;     /* never suspended */
        CHECK(frames[id][1].link == FR_FRAME_TOP, "context %d's Frame list was not given its end back", id);
        if (has_ex[id] && hub.ctx[id].exinfo) CHECK(exinfos[id].link == NULL, "context %d's ExInfo list was not given its end back", id);
        if (has_gc[id] && hub.ctx[id].gcframe != BASE_GC_END) CHECK(gcframes[id][1].link == BASE_GC_END, "context %d's GCFrame list was not given its end back", id);
    }
    CHECK(L->count == n, "lane count %u, model %u", L->count, n);
    check_list("Frame list", ident_frame, IDENT_FRAME_END, FR_LIST_FRAMES);
    check_list("ExInfo list", ident_exinfo, NULL, FR_LIST_EXINFOS);
    check_list("GCFrame list", ident_gcframe, IDENT_GC_END, FR_LIST_GCFRAMES);
    if (L->index_live) {
        CHECK(n >= FR_INDEX_OFF, "bit trees live with %u contexts (below FR_INDEX_OFF)", n);
        for (int k = 0; k < FR_LISTS; k++) {
            uint32_t members = 0;
            for (int32_t id = 0; id < N; id++)
                if (suspended[id] && (k == FR_LIST_FRAMES || (k == FR_LIST_EXINFOS ? has_ex[id] : has_gc[id]))) members++;
            CHECK(L->chain[k].members.count == members, "list %d: bit tree holds %u, model %u", k, L->chain[k].members.count, members);
            for (int32_t id = 0; id < N; id++) {
                int member = suspended[id] && (k == FR_LIST_FRAMES || (k == FR_LIST_EXINFOS ? has_ex[id] : has_gc[id]));
                CHECK(in_set(&L->chain[k].members, id) == member, "list %d: context %d is %s the bit tree", k, id, member ? "missing from" : "wrongly in");
            }
        }
    } else {
        CHECK(n <= FR_INDEX_ON, "bit trees not live with %u contexts (above FR_INDEX_ON)", n);
        for (int k = 0; k < FR_LISTS; k++) CHECK(L->chain[k].members.count == 0, "list %d: dropped bit tree still holds %u", k, L->chain[k].members.count);
    }
}

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(uint32_t n) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng % n); }

static int32_t running = -1;       /* not registered */
static uint32_t count_suspended(void) { uint32_t n = 0; for (int i = 0; i < N; i++) n += suspended[i]; return n; }
static int32_t pick(int want_suspended) {
    for (;;) { int32_t id = (int32_t)rnd(N); if (id != running && suspended[id] == want_suspended) return id; }
}

/* One step towards `target` suspended contexts: a switch to a suspended or a fresh context, an exit or an abandon. */
static void step(uint32_t target) {
    uint32_t n = count_suspended();
    int grow = n < target ? 1 : n > target ? -1 : (int)rnd(3) - 1;
    if (n == 0) grow = 1;                     /* nothing to switch to, exit into or abandon */
    if (grow > 0) {                 /* switch from running to a fresh context: +1 */
        make_suspended(running);
        lane_switch(&hub, running, -1);
        suspended[running] = 1;
        running = pick(0);
        hub.ctx[running].state = FR_CTX_RUNNING;
    } else if (grow < 0 && rnd(2)) { /* the running one exits into a suspended one: -1 */
        int32_t to = pick(1);
        lane_switch(&hub, -1, to);
        suspended[to] = 0;
        hub.ctx[running].state = FR_CTX_FREE;
        running = to;
        hub.ctx[to].state = FR_CTX_RUNNING;
    } else if (grow < 0) {          /* a suspended one is abandoned: -1 */
        int32_t id = pick(1);
        lane_exchange(&hub, -1, id);
        suspended[id] = 0;
        hub.ctx[id].state = FR_CTX_FREE;
    } else {                        /* a plain switch between two contexts: +0 */
        int32_t to = pick(1);
        make_suspended(running);
        lane_switch(&hub, running, to);
        suspended[running] = 1;
        suspended[to] = 0;
        running = to;
        hub.ctx[to].state = FR_CTX_RUNNING;
    }
    check_all();
}

int main(void) {
    fr_rt.frame_next = offsetof(node, link);
    fr_rt.exinfo_prev = offsetof(node, link);
    fr_rt.gcframe_next = offsetof(node, link);
    fr_chains_init();
    hub.capacity = N;
    hub.root = N;
    hub.cfg.flags = FR_HUB_SINGLE_LANE;   /* contexts with exception records stay on lane 0 too */
    hub.base_gcframe = BASE_GC_END;
    hub.ctx = calloc(N + 1, sizeof(fr_ctx));
    fr_lane* L = &hub.lanes[0];
    L->indexed = 1;
    L->free_pos = -1;
    ident_frame = IDENT_FRAME_END;
    ident_exinfo = NULL;
    ident_gcframe = IDENT_GC_END;
    char** heads[FR_LISTS] = { &ident_frame, &ident_exinfo, &ident_gcframe };
    char* ends[FR_LISTS] = { IDENT_FRAME_END, NULL, IDENT_GC_END };
    for (int k = 0; k < FR_LISTS; k++) {
        if (fr_idset_init(&L->chain[k].members, N + 1) != FR_OK) { fprintf(stderr, "out of memory\n"); return 1; }
        L->chain[k].first = L->chain[k].last = -1;
        L->chain[k].head_slot = heads[k];
        L->chain[k].end = ends[k];
    }
    hub.nlanes = 1;
    for (int i = 0; i < N; i++) { has_ex[i] = i % 7 == 3; has_gc[i] = i % 5 == 1; }
    running = 0;
    hub.ctx[0].state = FR_CTX_RUNNING;

    int crossed_on = 0, crossed_off = 0, prev_live = 0;
    uint32_t targets[] = { 3, 2, 40, 200, 300, 120, 10, 0, FR_INDEX_ON + 1, FR_INDEX_OFF - 1, FR_INDEX_ON + 2, FR_INDEX_OFF - 2, 70, 5 };
    for (size_t t = 0; t < sizeof targets / sizeof *targets && !fails; t++) {
        for (int s = 0; s < 3000 && !fails; s++) {
            step(targets[t]);
            if (L->index_live != prev_live) { if (L->index_live) crossed_on++; else crossed_off++; prev_live = L->index_live; }
        }
    }
    CHECK(crossed_on >= 3 && crossed_off >= 3, "the walk crossed the thresholds only %d / %d times", crossed_on, crossed_off);
    printf("chain_test: %s (index built %d times, dropped %d times)\n", fails ? "FAILED" : "ok", crossed_on, crossed_off);
    return fails ? 1 : 0;
}
