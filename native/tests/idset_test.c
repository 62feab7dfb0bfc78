/* fr_idset against a reference model (a sorted array of members).
 * Edge cases first, for universes on each side of every level boundary (1..5 levels of 64-bit words):
 * empty set, a single member at each word / level boundary, two members as far apart as the tree allows
 * (pred / succ must climb to the top level and come back down), the full set, and emptying it again.
 * Then a long randomised run per universe in phases of different density (sparse, clustered around level
 * boundaries, dense in a window), checking every pred / succ / count against the model and the tree's own
 * invariant (a bit of level k+1 is set exactly when word k below it is non-zero). Contract, as in hub.c:
 * insert only non-members, erase only members. */
#include "fr_internal.h"
#include <stdlib.h>
#include <string.h>

static int fails;
#define CHECK(c, ...) do { if (!(c)) { if (fails++ < 20) { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } } while (0)

/* ---- reference model: sorted members ---- */
typedef struct { uint32_t* v; uint32_t n, cap; } model;

static uint32_t lower_bound(const model* m, uint32_t id) {
    uint32_t lo = 0, hi = m->n;
    while (lo < hi) { uint32_t mid = lo + (hi - lo) / 2; if (m->v[mid] < id) lo = mid + 1; else hi = mid; }
    return lo;
}
static int has(const model* m, uint32_t id) { uint32_t i = lower_bound(m, id); return i < m->n && m->v[i] == id; }
static void model_insert(model* m, uint32_t id) {
    if (m->n == m->cap) { m->cap = m->cap ? m->cap * 2 : 64; m->v = realloc(m->v, m->cap * sizeof *m->v); if (!m->v) abort(); }
    uint32_t i = lower_bound(m, id);
    memmove(m->v + i + 1, m->v + i, (m->n - i) * sizeof *m->v);
    m->v[i] = id; m->n++;
}
static void model_erase(model* m, uint32_t id) {
    uint32_t i = lower_bound(m, id);
    memmove(m->v + i, m->v + i + 1, (m->n - i - 1) * sizeof *m->v);
    m->n--;
}
static int64_t model_pred(const model* m, uint32_t id) { uint32_t i = lower_bound(m, id); return i ? (int64_t)m->v[i - 1] : -1; }
static int64_t model_succ(const model* m, uint32_t id) {
    uint32_t i = lower_bound(m, id);
    if (i < m->n && m->v[i] == id) i++;
    return i < m->n ? (int64_t)m->v[i] : -1;
}

/* ---- the set and the model side by side ---- */
typedef struct { fr_idset s; model m; uint32_t universe; } pair;

static int pair_init(pair* p, uint32_t universe) {
    memset(p, 0, sizeof *p);
    p->universe = universe;
    if (fr_idset_init(&p->s, universe) != FR_OK) { CHECK(0, "init %u failed", universe); return 0; }
    return 1;
}
static void pair_free(pair* p) { fr_idset_free(&p->s); free(p->m.v); }
static void add(pair* p, uint32_t id) { if (!has(&p->m, id)) { fr_idset_insert(&p->s, id); model_insert(&p->m, id); } }
static void del(pair* p, uint32_t id) { if (has(&p->m, id)) { fr_idset_erase(&p->s, id); model_erase(&p->m, id); } }

static void query(const pair* p, uint32_t q, const char* what) {
    int64_t gp = fr_idset_pred(&p->s, q), wp = model_pred(&p->m, q);
    int64_t gs = fr_idset_succ(&p->s, q), ws = model_succ(&p->m, q);
    CHECK(gp == wp, "%s u=%u n=%u: pred(%u)=%lld want %lld", what, p->universe, p->m.n, q, (long long)gp, (long long)wp);
    CHECK(gs == ws, "%s u=%u n=%u: succ(%u)=%lld want %lld", what, p->universe, p->m.n, q, (long long)gs, (long long)ws);
    CHECK(p->s.count == p->m.n, "%s u=%u: count %u want %u", what, p->universe, p->s.count, p->m.n);
}

/* Ids on each side of every word and level boundary (multiples of 64^k), and the universe's ends. */
static uint32_t boundaries(uint32_t universe, uint32_t* out) {
    uint32_t n = 0;
    for (uint64_t span = 64; span <= (1ull << 30); span *= 64)
        for (uint64_t mult = 1; mult <= 2; mult++) {
            uint64_t edge = span * mult;
            if (edge - 1 < universe) out[n++] = (uint32_t)(edge - 1);
            if (edge < universe) out[n++] = (uint32_t)edge;
        }
    out[n++] = 0;
    if (universe > 1) out[n++] = 1;
    out[n++] = universe / 2;
    if (universe > 2) out[n++] = universe - 2;
    out[n++] = universe - 1;
    return n;
}

static void query_boundaries(const pair* p, const char* what) {
    uint32_t b[64];
    uint32_t n = boundaries(p->universe, b);
    for (uint32_t i = 0; i < n; i++) query(p, b[i], what);
}

/* Every upper bit is set exactly when the word below is non-zero, and the top is a single word. */
static void check_invariant(const pair* p, const char* what) {
    const fr_idset* s = &p->s;
    CHECK(s->words[s->levels - 1] == 1, "%s u=%u: %d levels, top has %u words", what, p->universe, s->levels, s->words[s->levels - 1]);
    for (int k = 0; k + 1 < s->levels; k++)
        for (uint32_t w = 0; w < s->words[k]; w++) {
            int up = (int)((s->level[k + 1][w >> 6] >> (w & 63)) & 1);
            CHECK(up == (s->level[k][w] != 0), "%s u=%u: level %d bit %u is %d, word below is %s", what, p->universe, k + 1, w, up,
                  s->level[k][w] ? "non-zero" : "zero");
            if (fails > 20) return;
        }
}

static int expected_levels(uint32_t universe) {
    int levels = 1;
    for (uint64_t span = 64; span < universe; span *= 64) levels++;
    return levels;
}

static void edge_cases(uint32_t universe) {
    pair p;
    if (!pair_init(&p, universe)) return;
    CHECK(p.s.levels == expected_levels(universe), "u=%u: %d levels, want %d", universe, p.s.levels, expected_levels(universe));
    query_boundaries(&p, "empty");

    /* one member at each boundary: seen from every other boundary, across levels */
    uint32_t b[64];
    uint32_t nb = boundaries(universe, b);
    for (uint32_t i = 0; i < nb; i++) {
        add(&p, b[i]);
        query_boundaries(&p, "single");
        check_invariant(&p, "single");
        del(&p, b[i]);
    }
    query_boundaries(&p, "emptied");

    /* the two ends: succ(0) must climb to the top and come down at the far end, pred likewise */
    if (universe > 2) {
        add(&p, 0);
        add(&p, universe - 1);
        query_boundaries(&p, "ends");
        query(&p, 1, "ends");
        del(&p, 0);
        del(&p, universe - 1);
    }

    /* all boundaries at once, then removed one by one */
    for (uint32_t i = 0; i < nb; i++) add(&p, b[i]);
    query_boundaries(&p, "all boundaries");
    check_invariant(&p, "all boundaries");
    for (uint32_t i = 0; i < nb; i++) { del(&p, b[i]); query_boundaries(&p, "boundaries leaving"); }

    /* full and emptied again (only where that stays fast) */
    if (universe <= (1u << 18) + 1) {
        for (uint32_t id = 0; id < universe; id++) { fr_idset_insert(&p.s, id); }
        CHECK(p.s.count == universe, "full u=%u: count %u", universe, p.s.count);
        for (uint32_t i = 0; i < nb; i++) {
            int64_t pr = fr_idset_pred(&p.s, b[i]), su = fr_idset_succ(&p.s, b[i]);
            CHECK(pr == (int64_t)b[i] - 1, "full u=%u: pred(%u)=%lld", universe, b[i], (long long)pr);
            CHECK(su == (b[i] + 1 < universe ? (int64_t)b[i] + 1 : -1), "full u=%u: succ(%u)=%lld", universe, b[i], (long long)su);
        }
        for (uint32_t id = 0; id < universe; id++) fr_idset_erase(&p.s, id);
        CHECK(p.s.count == 0, "emptied u=%u: count %u", universe, p.s.count);
        for (int k = 0; k < p.s.levels; k++)
            for (uint32_t w = 0; w < p.s.words[k]; w++) CHECK(p.s.level[k][w] == 0, "emptied u=%u: level %d word %u left set", universe, k, w);
        query_boundaries(&p, "full, emptied");
    }
    pair_free(&p);
}

/* xorshift: the same sequence on every libc */
static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void randomized(uint32_t universe, int ops, uint64_t seed) {
    pair p;
    if (!pair_init(&p, universe)) return;
    rng_state = seed;
    uint32_t b[64];
    uint32_t nb = boundaries(universe, b);
    uint32_t window = universe < 512 ? universe : 512;
    for (int k = 0; k < ops && fails <= 20; k++) {
        int phase = (k / 2000) % 3;
        uint32_t id;
        if (phase == 0) id = rnd(universe);                                         /* sparse, anywhere */
        else if (phase == 1) {                                                      /* clustered at boundaries */
            int64_t c = (int64_t)b[rnd(nb)] + (int64_t)rnd(9) - 4;
            id = c < 0 ? 0 : c >= universe ? universe - 1 : (uint32_t)c;
        } else id = (universe - window) / 3 + rnd(window);                          /* dense window */
        /* sparse phases lean to erasing, so the population rises and falls */
        int insert = phase == 0 ? rnd(5) < 2 : rnd(3) != 0;
        if (insert) add(&p, id); else del(&p, id);
        query(&p, rnd(universe), "random");
        query(&p, id, "random at op");
        if (k % 4096 == 0) { query_boundaries(&p, "random"); if (universe <= 300000) check_invariant(&p, "random"); }
    }
    /* drain in random order, checking as it empties */
    while (p.m.n > 0 && fails <= 20) {
        del(&p, p.m.v[rnd(p.m.n)]);
        query(&p, rnd(universe), "drain");
    }
    query_boundaries(&p, "drained");
    pair_free(&p);
}

int main(void) {
    /* each side of every level boundary: 1, 2, 3, 4 and 5 levels */
    const uint32_t sizes[] = { 1, 2, 63, 64, 65, 4095, 4096, 4097, 262143, 262144, 262145, 16777216, 16777217 };
    const int n = (int)(sizeof sizes / sizeof *sizes);
    for (int i = 0; i < n; i++) edge_cases(sizes[i]);
    for (int i = 0; i < n; i++) randomized(sizes[i], sizes[i] > 300000 ? 60000 : 120000, 0x9E3779B97F4A7C15ull + (uint64_t)i);
    printf("%s\n", fails ? "idset: FAILED" : "idset: ok");
    return fails != 0;
}
