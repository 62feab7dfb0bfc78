/* The switch's cooperative-mode fast path: finding and verifying g_TrapReturningThreads.
 *
 * fr_switch is a normal P/Invoke, so it runs preemptive; fr_switch_core must run cooperative. The slow way back is
 * the hub's [UnmanagedCallersOnly] switch callback, whose reverse-P/Invoke entry does what the runtime's own fast
 * path does (m_fPreemptiveGCDisabled = 1; if g_TrapReturningThreads is set, undo and wait out the suspension) plus
 * a thread lookup through TLS. fr_switch can do the same two steps itself, given the address of
 * g_TrapReturningThreads, and take the callback only when the trap is set.
 *
 * Neither descriptor describes that global (.NET 10 and 11), nor does the DAC's globals table (g_dacTable). The
 * JIT knows it: every inline P/Invoke's epilog in JIT'd code stores 1 to the calling Thread's
 * m_fPreemptiveGCDisabled and then compares the global with 0 (getAddrOfCaptureThreadGlobal). So the candidate is
 * read from the epilog we return into, the only code whose protocol we mirror, and verified by behaviour:
 *   1. the epilog at this call's return address is that store (at the descriptor's PreemptiveGCDisabled offset)
 *      followed by a compare of one 32-bit global with 0; the global lies in libcoreclr's writable data and is 0;
 *   2. a managed thread parks inside a SuppressGCTransition call (cooperative mode, no safe point), so a GC
 *      started on another thread cannot finish suspending the runtime: the candidate must turn non-zero while it
 *      waits (fr_trap_hold), and
 *   3. be 0 again once that GC has finished (fr_trap_confirm).
 * Anything else leaves the fast path off (the callback stays), with the reason in fr_trap_note. A hub also decodes
 * the epilog of each call site of fr_switch at its first switch (the P/Invoke is inlined into several managed
 * methods) and takes the fast path back to a site only when that epilog tests the same global (hub.c, site_checked).
 *
 * Memory ordering mirrors the JIT's epilog: a plain store of 1, then a plain load of the trap (the compiler is kept
 * from reordering them; the hardware may, and SuspendEE's FlushProcessWriteBuffers after raising the trap is what
 * makes that safe, for JIT'd code and for us alike). Leaving cooperative mode is a release store of 0, so every
 * list edit made in cooperative mode is visible before a GC can see the thread preemptive. */
#include "fr_internal.h"
#include <dlfcn.h>
#include <link.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int32_t* fr_trap_address;              /* verified &g_TrapReturningThreads; NULL: switch through the callback */
int fr_switch_path_mode;               /* FR_PATH_* (tests force the callback, or alternate the two ways) */

static int32_t* candidate;
static volatile int holding;
static int32_t seen_while_held;
static char note[320];

FR_API const char* fr_trap_note(void) { return note; }

/* ---- the epilog decoder, per architecture: the trap global's address, or NULL when the code is not the pattern */
#if defined(__x86_64__)
#define EPILOG_BYTES 32
/* mov byte ptr [reg + pgc], 1 ; then cmp dword ptr [rip + d32], 0   or   mov reg, imm64 ; cmp dword ptr [reg], 0.
 * With r12 as the Thread register the store has a SIB byte (0x24: base r12, no index), e.g. 41 c6 44 24 04 01. */
static int32_t* decode_epilog(const uint8_t* p, long pgc) {
    const uint8_t* q = p;
    int rex_b = 0;
    if ((*q & 0xF0) == 0x40) {                              /* REX (r8-r15 as the Thread register) */
        if (*q & 2) return NULL;                            /* REX.X: an index register, never the pattern */
        rex_b = *q++ & 1;
    }
    if (q[0] != 0xC6 || ((q[1] >> 3) & 7) != 0) return NULL;
    int sib = (q[1] & 7) == 4;
    if (sib && !(rex_b && q[2] == 0x24)) return NULL;       /* [r12 + disp] only, not rsp or an index */
    long disp;
    int mod = q[1] >> 6;
    const uint8_t* d8 = q + 2 + sib;
    if (mod == 1) { disp = (int8_t)*d8; q = d8 + 1; }
    else if (mod == 2) { int32_t d; memcpy(&d, d8, 4); disp = d; q = d8 + 4; }
    else return NULL;
    if (disp != pgc || *q++ != 0x01) return NULL;
    if (q[0] == 0x83 && q[1] == 0x3D && q[6] == 0x00) {       /* cmp dword ptr [rip + d32], 0 */
        int32_t d;
        memcpy(&d, q + 2, 4);
        return (int32_t*)(q + 7 + d);
    }
    if ((q[0] & 0xFE) == 0x48 && (q[1] & 0xF8) == 0xB8) {   /* mov r64, imm64 */
        int reg = (q[1] & 7) | ((q[0] & 1) << 3);
        uint64_t imm;
        memcpy(&imm, q + 2, 8);
        q += 10;
        if ((*q & 0xF0) == 0x40) { if ((*q & 1) != reg >> 3) return NULL; q++; } else if (reg >> 3) return NULL;
        if (q[0] == 0x83 && q[1] == (0x38 | (reg & 7)) && q[2] == 0x00 && (reg & 7) != 4 && (reg & 7) != 5) return (int32_t*)(uintptr_t)imm;
    }
    return NULL;
}
#elif defined(__aarch64__)
/* [up to 3 moves saving the return value, e.g. mov w19, w0] ; mov wA, #1 ; strb wA, [xT, #pgc] ;
 * the address into xR (movz/movk, or adrp [+ add]) ; ldr wB, [xR{, #imm12*4}]
 * (measured on 10.0.12 under qemu: mov w19, w0; mov w0, #1; strb w0, [x20, #4]; movz/movk/movk x0; ldr w0, [x0]) */
#define EPILOG_BYTES 48
static int32_t* decode_epilog(const uint8_t* p, long pgc) {
    enum { W = EPILOG_BYTES / 4 };
    uint32_t w[W];
    memcpy(w, p, sizeof w);
    int i = 0;
    while (i < 3 && (w[i] & 0x7FE0FFE0u) == 0x2A0003E0u) i++;               /* mov wd/xd, wm (orr rd, zr, rm) */
    if ((w[i] & 0xFFFFFFE0u) != 0x52800020u) return NULL;                   /* movz wA, #1 */
    uint32_t a = w[i] & 31;
    i++;
    if ((w[i] & 0xFFC00000u) != 0x39000000u || (w[i] & 31) != a || (long)((w[i] >> 10) & 0xFFF) != pgc) return NULL;  /* strb */
    i++;
    uint64_t addr = 0;
    uint32_t r;
    if ((w[i] & 0x9F000000u) == 0x90000000u) {                              /* adrp xR, page */
        r = w[i] & 31;
        int64_t imm = (int64_t)((((w[i] >> 5) & 0x7FFFF) << 2) | ((w[i] >> 29) & 3));
        if (imm & (1 << 20)) imm -= 1 << 21;
        addr = ((uintptr_t)(p + i * 4) & ~(uintptr_t)0xFFF) + (uint64_t)(imm << 12);
        i++;
        if ((w[i] & 0xFFC00000u) == 0x91000000u && (w[i] & 31) == r && ((w[i] >> 5) & 31) == r) {  /* add xR, xR, #lo12 */
            addr += (w[i] >> 10) & 0xFFF;
            i++;
        }
    } else if ((w[i] & 0xFF800000u) == 0xD2800000u) {                       /* movz xR, #imm16, lsl #(16*hw) */
        r = w[i] & 31;
        addr = (uint64_t)((w[i] >> 5) & 0xFFFF) << (16 * ((w[i] >> 21) & 3));
        for (i++; i < W - 1 && (w[i] & 0xFF800000u) == 0xF2800000u && (w[i] & 31) == r; i++) {   /* movk xR, #imm16, lsl */
            unsigned sh = 16 * ((w[i] >> 21) & 3);
            addr = (addr & ~((uint64_t)0xFFFF << sh)) | (uint64_t)((w[i] >> 5) & 0xFFFF) << sh;
        }
    } else {
        return NULL;
    }
    if (i >= W || (w[i] & 0xFFC00000u) != 0xB9400000u || ((w[i] >> 5) & 31) != r) return NULL;   /* ldr wB, [xR, #imm12*4] */
    return (int32_t*)(uintptr_t)(addr + ((w[i] >> 10) & 0xFFF) * 4);
}
#endif

static const char* bytes_at(const uint8_t* p) {
    static char buf[3 * 32 + 1];
    for (int i = 0; i < 32; i++) snprintf(buf + 3 * i, 4, "%02x ", p[i]);
    return buf;
}

/* Is [a, a+4) inside a writable segment of libcoreclr? */
static uintptr_t seg_check_addr;
static int seg_found;
static int writable_scan(struct dl_phdr_info* info, size_t size, void* data) {
    (void)size; (void)data;
    if (!info->dlpi_name || !strstr(info->dlpi_name, "libcoreclr.so")) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) && seg_check_addr >= lo && seg_check_addr + 4 <= lo + ph->p_memsz) seg_found = 1;
    }
    return 1;
}

int32_t* fr_trap_decode_call_site(const void* return_address) {
    const uint8_t* p = return_address;
    uint8_t probe[EPILOG_BYTES];
    if (!fr_safe_read(probe, (uintptr_t)p, sizeof probe)) return NULL;
    return decode_epilog(probe, fr_rt.thread_pgc_disabled) ? decode_epilog(p, fr_rt.thread_pgc_disabled) : NULL;
}

__attribute__((noinline)) int fr_trap_discover(char* err, size_t errlen) {
    const uint8_t* ra = __builtin_return_address(0);
    candidate = NULL;
    fr_trap_address = NULL;
    if (!fr_rt.verified) { fr_set_err(err, errlen, "the runtime layout is not verified"); return FR_E_STATE; }
    int32_t* c = fr_trap_decode_call_site(ra);
    if (!c) {
        uint8_t copy[32] = { 0 };
        fr_safe_read(copy, (uintptr_t)ra, sizeof copy);
        fr_set_err(err, errlen, "the JIT's P/Invoke epilog is not the pattern this library decodes (%s)", bytes_at(copy));
        return FR_E_RUNTIME;
    }
    seg_check_addr = (uintptr_t)c;
    seg_found = 0;
    dl_iterate_phdr(writable_scan, NULL);
    int32_t v = -1;
    if (!seg_found || ((uintptr_t)c & 3) || !fr_safe_read(&v, (uintptr_t)c, sizeof v)) {
        fr_set_err(err, errlen, "the P/Invoke epilog's trap global %p is not in libcoreclr's writable data", (void*)c);
        return FR_E_RUNTIME;
    }
    if (v != 0) { fr_set_err(err, errlen, "the P/Invoke epilog's trap global %p is %d at rest (expected 0)", (void*)c, v); return FR_E_RUNTIME; }
    candidate = c;
    seen_while_held = 0;
    return FR_OK;
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* SuppressGCTransition, on its own managed thread: cooperative mode with no safe point, so a GC cannot finish
 * suspending the runtime until this returns. Waits for the candidate to turn non-zero (or timeout_ms). */
int fr_trap_hold(int timeout_ms) {
    if (!candidate) return FR_E_STATE;
    if (*(volatile int32_t*)candidate != 0) return FR_E_STATE;      /* a suspension already under way: try again */
    __atomic_store_n(&holding, 1, __ATOMIC_SEQ_CST);
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    int32_t v = 0;
    while ((v = *(volatile int32_t*)candidate) == 0 && now_ms() < end) { }
    seen_while_held = v;
    __atomic_store_n(&holding, 0, __ATOMIC_SEQ_CST);
    return v != 0 ? FR_OK : FR_E_RUNTIME;
}

int fr_trap_holding(void) { return __atomic_load_n(&holding, __ATOMIC_SEQ_CST); }

int fr_trap_confirm(char* err, size_t errlen) {
    if (!candidate) { fr_set_err(err, errlen, "no candidate"); return FR_E_STATE; }
    int32_t after = *(volatile int32_t*)candidate;
    uintptr_t base = 0;
    Dl_info info;
    if (dladdr(candidate, &info)) base = (uintptr_t)info.dli_fbase;
    if (seen_while_held <= 0 || seen_while_held > 0xFFFF) {
        fr_set_err(err, errlen, "the trap global candidate (libcoreclr+%#lx) read %d while a GC waited for a cooperative thread (expected a small positive count)",
                   (unsigned long)((uintptr_t)candidate - base), seen_while_held);
        return FR_E_RUNTIME;
    }
    if (after != 0) {
        /* FR_E_CHECK: the caller reads again a little later (another suspension may have begun since) */
        fr_set_err(err, errlen, "the trap global candidate (libcoreclr+%#lx) is %d after the GC finished (expected 0)", (unsigned long)((uintptr_t)candidate - base), after);
        return FR_E_CHECK;
    }
    snprintf(note, sizeof note, "switch: cooperative fast path (g_TrapReturningThreads at libcoreclr+%#lx, from the JIT's P/Invoke epilog; "
             "%d while a GC waited, 0 at rest and after)", (unsigned long)((uintptr_t)candidate - base), seen_while_held);
    fr_trap_address = candidate;
    return FR_OK;
}

void fr_trap_refused(const char* why) {
    fr_trap_address = NULL;
    snprintf(note, sizeof note, "switch: through the callback (%s)", why);
}

void fr_switch_set_path(int mode) { fr_switch_path_mode = mode; }
