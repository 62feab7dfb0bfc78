/* Randomised check of fr_idset against a plain array: insert / erase / pred / succ agree for several
 * universe sizes, including ones that need 1, 2, 3 and 4 levels. */
#include "fr_internal.h"
#include <stdlib.h>
#include <string.h>

static int fails;
#define CHECK(c, ...) do { if (!(c)) { if (fails++ < 10) { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } } while (0)

static void run(uint32_t universe, int ops, unsigned seed) {
    fr_idset s;
    if (fr_idset_init(&s, universe) != FR_OK) { CHECK(0, "init %u failed", universe); return; }
    unsigned char* ref = calloc(universe, 1);
    srand(seed);
    uint32_t count = 0;
    for (int k = 0; k < ops; k++) {
        uint32_t id = (uint32_t)rand() % universe;
        if (rand() % 3 && !ref[id]) { fr_idset_insert(&s, id); ref[id] = 1; count++; }
        else if (ref[id]) { fr_idset_erase(&s, id); ref[id] = 0; count--; }
        uint32_t q = (uint32_t)rand() % universe;
        int64_t p = -1, n = -1;
        for (int64_t i = (int64_t)q - 1; i >= 0; i--) if (ref[i]) { p = i; break; }
        for (int64_t i = (int64_t)q + 1; i < universe; i++) if (ref[i]) { n = i; break; }
        CHECK(fr_idset_pred(&s, q) == p, "u=%u pred(%u)=%lld want %lld", universe, q, (long long)fr_idset_pred(&s, q), (long long)p);
        CHECK(fr_idset_succ(&s, q) == n, "u=%u succ(%u)=%lld want %lld", universe, q, (long long)fr_idset_succ(&s, q), (long long)n);
        CHECK(s.count == count, "count %u want %u", s.count, count);
    }
    free(ref);
    fr_idset_free(&s);
}

int main(void) {
    uint32_t sizes[] = { 1, 2, 63, 64, 65, 4095, 4096, 4097, 300000 };
    for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) run(sizes[i], sizes[i] > 10000 ? 3000 : 20000, 7u + i);
    printf("%s\n", fails ? "idset: FAILED" : "idset: ok");
    return fails != 0;
}
