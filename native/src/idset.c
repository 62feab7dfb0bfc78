/* Ordered set of small integers as a 64-ary bit tree.
 *
 * The identity thread's lists must stay sorted by stack address, and a switch inserts one context and
 * removes another. With a flat bitmap, finding the neighbour of an id costs O(n/64); here each level
 * summarises the one below (bit w of level k+1 is set when word w of level k is non-zero), so
 * predecessor / successor climb at most `levels` words and come back down: O(log64 n), i.e. at most
 * 4 words for 16 M ids. */
#include "fr_internal.h"
#include <stdlib.h>
#include <string.h>

int fr_idset_init(fr_idset* s, uint32_t universe) {
    memset(s, 0, sizeof *s);
    uint64_t n = universe ? universe : 1;
    for (int k = 0; k < FR_IDSET_MAX_LEVELS; k++) {
        uint32_t w = (uint32_t)((n + 63) / 64);
        s->words[k] = w;
        s->level[k] = calloc(w, sizeof(uint64_t));
        if (!s->level[k]) { fr_idset_free(s); return FR_E_NOMEM; }
        s->levels = k + 1;
        if (w == 1) return FR_OK;
        n = w;
    }
    fr_idset_free(s);
    return FR_E_INVAL;
}

void fr_idset_free(fr_idset* s) {
    for (int k = 0; k < FR_IDSET_MAX_LEVELS; k++) { free(s->level[k]); s->level[k] = NULL; }
    s->levels = 0;
}

void fr_idset_insert(fr_idset* s, uint32_t id) {
    uint64_t i = id;
    for (int k = 0; k < s->levels; k++) {
        uint64_t* w = &s->level[k][i >> 6];
        int was_empty = *w == 0;
        *w |= 1ULL << (i & 63);
        if (!was_empty) break;      /* upper levels already mark this word */
        i >>= 6;
    }
    s->count++;
}

void fr_idset_erase(fr_idset* s, uint32_t id) {
    uint64_t i = id;
    for (int k = 0; k < s->levels; k++) {
        uint64_t* w = &s->level[k][i >> 6];
        *w &= ~(1ULL << (i & 63));
        if (*w != 0) break;         /* word still non-empty: upper levels stay */
        i >>= 6;
    }
    s->count--;
}

/* Descend from word `i` of level k (known non-empty) to the largest (max=1) or smallest id below it. */
static uint32_t descend(const fr_idset* s, int k, uint64_t i, int max) {
    for (;;) {
        uint64_t w = s->level[k][i];
        uint64_t b = max ? (uint64_t)(63 - __builtin_clzll(w)) : (uint64_t)__builtin_ctzll(w);
        i = (i << 6) | b;
        if (k == 0) return (uint32_t)i;
        k--;
    }
}

int64_t fr_idset_pred(const fr_idset* s, uint32_t id) {
    uint64_t i = id;
    for (int k = 0; k < s->levels; k++) {
        uint64_t bit = i & 63;
        uint64_t w = s->level[k][i >> 6] & ((1ULL << bit) - 1);   /* members strictly below i in this word */
        if (w) {
            uint64_t j = ((i >> 6) << 6) | (uint64_t)(63 - __builtin_clzll(w));
            return k == 0 ? (int64_t)j : (int64_t)descend(s, k - 1, j, 1);
        }
        i >>= 6;
    }
    return -1;
}

int64_t fr_idset_succ(const fr_idset* s, uint32_t id) {
    uint64_t i = id;
    for (int k = 0; k < s->levels; k++) {
        uint64_t bit = i & 63;
        uint64_t w = bit == 63 ? 0 : s->level[k][i >> 6] & (~0ULL << (bit + 1));  /* strictly above */
        if (w) {
            uint64_t j = ((i >> 6) << 6) | (uint64_t)__builtin_ctzll(w);
            return k == 0 ? (int64_t)j : (int64_t)descend(s, k - 1, j, 0);
        }
        i >>= 6;
    }
    return -1;
}
