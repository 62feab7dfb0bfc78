/* The stack arena of one hub.
 *
 * One reservation holds every fiber slot and, at the top, the hub thread's own stack: the hub thread is
 * created on the whole range (pthread_attr_setstack), so the runtime caches it as that thread's stack and
 * its stack-bound checks accept code running on any slot.
 *
 *   base                                                                         base + total
 *   | guard | slot 0 stack | guard | slot 1 stack | ... | guard | hub stack (+ glibc TLS at top) |
 *
 * The range is reserved PROT_NONE with MAP_NORESERVE; a slot becomes read/write the first time it is used,
 * and pages are committed by the kernel as they are touched. Its guard page is, where the kernel has them
 * (Linux >= 6.13), a guard marker (MADV_GUARD_INSTALL: a page-table entry that faults on access, kept across
 * mprotect and MADV_DONTNEED), so the slots in use form ONE read/write mapping whatever their number.
 * Elsewhere the guard page stays PROT_NONE, which splits the range into two mappings per slot, and
 * vm.max_map_count (65530 by default) then bounds the number of live fibers to about 32k. A finished slot goes to a "warm" LIFO and is reused as is: no syscall on the spawn/exit path.
 * Fresh slots are prepared in batches ahead of use (prepare_batch): one mprotect for a whole run of slots and
 * their top page committed up front with MADV_POPULATE_WRITE, instead of an mprotect and a first-touch page
 * fault (tens of µs on a VM) per fiber.
 * When the hub goes idle it trims the warm list (fr_hub_trim_stacks), returning the coldest slots' pages with
 * MADV_DONTNEED in one batch, so resident memory follows the peak number of live fibers, never the number
 * ever created. */
#include "fr_internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23     /* Linux 5.14 */
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102     /* Linux 6.13 uapi; older headers lack it, older kernels answer EINVAL */
#endif

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

int fr_arena_reserve(fr_hub* h, char* err, size_t errlen) {
    size_t slots = (size_t)h->capacity * h->cfg.stack_size;
    h->total = slots + h->cfg.hub_stack_size;
    h->base = mmap(NULL, h->total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (h->base == MAP_FAILED) {
        int e = errno;
        struct rlimit as;
        h->base = NULL;
        if (e == ENOMEM && getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY)
            fr_set_err(err, errlen, "could not reserve %zu MiB of address space for %u fiber stacks: the address-space limit RLIMIT_AS "
                       "(ulimit -v, %llu MiB) is reached; lower MaxFibers or StackSize, or raise the limit", h->total >> 20, h->capacity,
                       (unsigned long long)(as.rlim_cur >> 20));
        else
            fr_set_err(err, errlen, "could not reserve %zu MiB of address space for %u fiber stacks: %s", h->total >> 20, h->capacity, strerror(e));
        return FR_E_NOMEM;
    }
    /* hub stack: read/write, with a guard page below it (the page above the last slot is that guard) */
    size_t pg = page_size();
    if (mprotect(h->base + slots + pg, h->cfg.hub_stack_size - pg, PROT_READ | PROT_WRITE) != 0) {
        fr_set_err(err, errlen, "could not commit the hub stack: %s", strerror(errno));
        munmap(h->base, h->total);
        h->base = NULL;
        return FR_E_NOMEM;
    }
    /* Never transparent huge pages for fiber stacks: with THP "always", the first touch of a stack in a 2 MiB
     * range free of guard pages (stacks > 2 MiB) would commit 2 MiB at once. */
    madvise(h->base, slots, MADV_NOHUGEPAGE);
    /* guard markers, if this kernel has them: slot 0's guard page is the probe (it is one either way) */
    h->guard_markers = !(h->cfg.flags & FR_HUB_PROTECTION_GUARDS) && madvise(h->base, pg, MADV_GUARD_INSTALL) == 0;
    h->warm = calloc(h->capacity, sizeof(uint32_t));
    h->cold = calloc(h->capacity, sizeof(uint32_t));
    if (!h->warm || !h->cold) { fr_set_err(err, errlen, "out of memory for slot lists"); return FR_E_NOMEM; }
    return FR_OK;
}

void fr_arena_release(fr_hub* h) {
    if (h->base) munmap(h->base, h->total);
    h->base = NULL;
    free(h->warm); h->warm = NULL;
    free(h->cold); h->cold = NULL;
}

static inline char* slot_lo(const fr_hub* h, uint32_t id) { return h->base + (size_t)id * h->cfg.stack_size; }

/* Makes one slot accessible on its own (the fallback when a batch cannot be). */
static int prepare_one(fr_hub* h, uint32_t id) {
    size_t pg = page_size();
    char* lo = slot_lo(h, id);
    /* With a guard marker on its lowest page the whole slot turns read/write and merges with its
     * neighbours into one mapping; without, everything above the guard page, which stays PROT_NONE. */
    int marked = h->guard_markers && madvise(lo, pg, MADV_GUARD_INSTALL) == 0;
    if (marked ? mprotect(lo, h->cfg.stack_size, PROT_READ | PROT_WRITE) != 0
               : mprotect(lo + pg, h->cfg.stack_size - pg, PROT_READ | PROT_WRITE) != 0)
        return 0;                      /* without guard markers, usually vm.max_map_count exhausted */
    h->ctx[id].committed = 1;
    return 1;
}

/* Slots per batch: as many as the hub has prepared so far (it doubles), from 16 up to 256, so a small hub
 * prepares little ahead and a large one few times. At most 256 top pages (1 MiB with 4 KiB pages) are committed
 * ahead of use. */
#define FR_BATCH_MIN 16u
#define FR_BATCH_MAX 256u

/* Prepares fresh slots [from, from + n): with guard markers, a marker per slot then ONE mprotect for the run
 * (markers survive mprotect); without, the one slot asked for (its guard page must stay PROT_NONE). Then the
 * top page of each slot, where fr_context_new writes the initial frame and the fiber's first frames live, is
 * committed with MADV_POPULATE_WRITE where the kernel has it (probed on first use; without it the first
 * touch faults the page in as before). Returns how many slots from `from` are ready (0 on failure). */
static uint32_t prepare_batch(fr_hub* h, uint32_t from) {
    size_t pg = page_size(), ss = h->cfg.stack_size;
    uint32_t ready = 0;
    /* without guard markers every slot prepared ahead would be two mappings of the bounded vm.max_map_count, and
     * the mprotects could not be merged anyway: only the slot asked for */
    if (h->guard_markers) {
        uint32_t n = h->prepared < FR_BATCH_MIN ? FR_BATCH_MIN : h->prepared > FR_BATCH_MAX ? FR_BATCH_MAX : h->prepared;
        if (n > h->capacity - from) n = h->capacity - from;
        uint32_t marked = 0;
        while (marked < n && madvise(slot_lo(h, from + marked), pg, MADV_GUARD_INSTALL) == 0) marked++;
        if (marked && mprotect(slot_lo(h, from), (size_t)marked * ss, PROT_READ | PROT_WRITE) == 0) ready = marked;
    }
    if (!ready) ready = (uint32_t)prepare_one(h, from);
    for (uint32_t i = 0; i < ready; i++) {
        h->ctx[from + i].committed = 1;
        if (h->populate >= 0) {
            int ok = madvise(slot_lo(h, from + i + 1) - pg, pg, MADV_POPULATE_WRITE) == 0;
            if (!ok && h->populate == 0) h->populate = -1;   /* EINVAL: older kernel; the first touch faults it in */
            else if (ok) h->populate = 1;
        }
    }
    return ready;
}

/* Returns a free slot id with its stack accessible, or FR_E_FULL / FR_E_NOMEM. */
int32_t fr_arena_take(fr_hub* h) {
    uint32_t id;
    if (h->warm_len) id = h->warm[--h->warm_len];
    else if (h->cold_len) id = h->cold[--h->cold_len];
    else if (h->bump < h->capacity) id = h->bump++;
    else return FR_E_FULL;
    if (!h->ctx[id].committed) {
        /* a fresh slot at the prepared frontier starts a batch; any other (a cold id whose preparation once
         * failed) is prepared alone */
        int ok = id == h->prepared ? (h->prepared += prepare_batch(h, id)) > id : prepare_one(h, id);
        if (!ok) {
            h->cold[h->cold_len++] = id;   /* keep the id; it may succeed later */
            return FR_E_NOMEM;
        }
    }
    h->live++;
    return (int32_t)id;
}

void fr_arena_give_back(fr_hub* h, uint32_t id) {
    fr_ctx* c = &h->ctx[id];
    h->live--;
    c->state = FR_CTX_FREE;
    h->warm[h->warm_len++] = id;
}

static int cmp_u32(const void* a, const void* b) {
    uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
    return (x > y) - (x < y);
}

uint32_t fr_hub_trim_stacks(fr_hub* h, uint32_t keep) {
    if (!h || h->warm_len <= keep) return 0;
    uint32_t excess = h->warm_len - keep;
    size_t pg = page_size();
    /* The bottom of the LIFO holds the slots finished longest ago. Every madvise(MADV_DONTNEED) costs a TLB
     * shoot-down on each CPU running a thread of the process, so the ids are sorted and each run of adjacent
     * slots is returned in one call (the guard pages in between hold nothing: dropping them is a no-op).
     * After a burst, most finished slots are adjacent: 20k exits cost a handful of calls, not 20k. Guard markers
 * survive MADV_DONTNEED. */
    uint32_t* ids = h->cold + h->cold_len;
    memcpy(ids, h->warm, (size_t)excess * sizeof(uint32_t));
    qsort(ids, excess, sizeof(uint32_t), cmp_u32);
    for (uint32_t i = 0; i < excess;) {
        uint32_t j = i + 1;
        while (j < excess && ids[j] == ids[j - 1] + 1) j++;
        madvise(slot_lo(h, ids[i]) + pg, (size_t)(ids[j - 1] - ids[i] + 1) * h->cfg.stack_size - pg, MADV_DONTNEED);
        i = j;
    }
    h->cold_len += excess;
    memmove(h->warm, h->warm + excess, (size_t)keep * sizeof(uint32_t));
    h->warm_len = keep;
    return excess;
}

int64_t fr_context_resident_pages(const fr_hub* h, uint32_t id) {
    if (!h || id >= h->capacity || !h->ctx[id].committed) return h && id < h->capacity ? 0 : FR_E_INVAL;
    size_t pg = page_size(), len = h->cfg.stack_size - pg;
    size_t n = len / pg;
    unsigned char* vec = malloc(n);
    if (!vec) return FR_E_NOMEM;
    int64_t resident = FR_E_INVAL;
    if (mincore(slot_lo(h, id) + pg, len, vec) == 0) {
        resident = 0;
        for (size_t i = 0; i < n; i++) resident += vec[i] & 1;
    }
    free(vec);
    return resident;
}
