/* The runtime contract: where CoreCLR keeps the per-thread state that a stack switch must move.
 *
 * Source of truth is the runtime's own data contract, `DotNetRuntimeContractDescriptor`, exported by
 * libcoreclr for out-of-process diagnostics: a JSON document of type layouts and globals (read by
 * descriptor.c, both the .NET 10 and the .NET 11 shape). Nothing it describes is hard-coded here.
 * Thread::m_pGCFrame, which .NET 10 does not describe, is discovered at start-up by watching the Thread
 * object while exception handlers run (fr_verify_*); where the descriptor does describe it (.NET 11), the
 * discovery still runs and must agree. The descriptor's own offsets are checked against live behaviour in
 * the same pass. Any disagreement refuses the runtime with a sentence naming the failed check. */
#include "fr_internal.h"
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

fr_layout fr_rt = { .thread_gcframe = -1 };
static const char* g_json;            /* the loaded descriptor, for fields outside the fingerprinted layout */
static pthread_mutex_t contract_mu = PTHREAD_MUTEX_INITIALIZER;
static char fingerprint[2048];        /* the loaded descriptor's (see descriptor.c) */

void fr_set_err(char* err, size_t errlen, const char* fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

long fr_gettid(void) { return (long)syscall(SYS_gettid); }

typedef struct descriptor {
    uint64_t magic;
    uint32_t flags;
    uint32_t size;
    const char* json;
    uint32_t pointer_count;
    uint32_t pad;
    uintptr_t* pointers;
} descriptor;

int fr_contract_load(char* err, size_t errlen) {
    pthread_mutex_lock(&contract_mu);
    int rc = FR_OK;
    if (fr_rt.loaded) goto out;
    void* lib = dlopen("libcoreclr.so", RTLD_NOW | RTLD_NOLOAD);
    if (!lib) { fr_set_err(err, errlen, "libcoreclr.so is not loaded in this process (FiberRuntime needs CoreCLR)"); rc = FR_E_RUNTIME; goto out; }
    const descriptor* d = (const descriptor*)dlsym(lib, "DotNetRuntimeContractDescriptor");
    if (!d) { fr_set_err(err, errlen, "libcoreclr.so exports no DotNetRuntimeContractDescriptor"); rc = FR_E_RUNTIME; goto out; }
    if (d->magic != 0x0043414443434e44ULL /* "DNCCDAC\0" */ || !d->json) {
        fr_set_err(err, errlen, "DotNetRuntimeContractDescriptor has an unknown magic"); rc = FR_E_RUNTIME; goto out;
    }
    fr_layout parsed;
    long ts_index = -1;
    if ((rc = fr_descriptor_parse(d->json, &parsed, &ts_index, err, errlen)) != FR_OK) goto out;
    g_json = d->json;
    if ((uint32_t)ts_index >= d->pointer_count) { fr_set_err(err, errlen, "descriptor ThreadStore index %ld out of range", ts_index); rc = FR_E_RUNTIME; goto out; }
    if (fr_layout_fingerprint(&parsed, fingerprint, sizeof fingerprint) != FR_OK) {     /* as read, before any test perturbation */
        fr_set_err(err, errlen, "the runtime contract descriptor's fingerprint does not fit its buffer"); rc = FR_E_RUNTIME; goto out;
    }
    {
        /* TEST ONLY: FIBERRT_TEST_PERTURB=<Field>:<delta> shifts one descriptor offset, so the test suite can show
         * that start-up verification refuses a layout that does not match the running runtime. */
        const char* perturb = getenv("FIBERRT_TEST_PERTURB");
        char field[32];
        long delta;
        if (perturb && sscanf(perturb, "%31[^:]:%ld", field, &delta) == 2) {
            if (!strcmp(field, "Frame")) parsed.thread_frame += delta;
            else if (!strcmp(field, "PreemptiveGCDisabled")) parsed.thread_pgc_disabled += delta;
            else if (!strcmp(field, "ExceptionTracker")) parsed.thread_exception_tracker += delta;
            else if (!strcmp(field, "CallerReturnAddress")) parsed.icf_caller_ra += delta;
            else if (!strcmp(field, "GCFrame") && parsed.thread_gcframe_described >= 0) parsed.thread_gcframe_described += delta;
        }
    }
    parsed.threadstore_global = (void**)d->pointers[ts_index];
    parsed.thread_gcframe = -1;
    parsed.loaded = 1;
    fr_rt = parsed;
out:
    pthread_mutex_unlock(&contract_mu);
    return rc;
}

int fr_contract_fingerprint(char* out, size_t outlen) {
    pthread_mutex_lock(&contract_mu);
    int rc = fr_rt.loaded ? FR_OK : FR_E_STATE;
    if (rc == FR_OK) snprintf(out, outlen, "%s", fingerprint);
    pthread_mutex_unlock(&contract_mu);
    return rc;
}

/* The thread list's links (ThreadStore.FirstThreadLink, Thread.LinkNext) point at the next Thread's link field up
 * to .NET 10 and at the next Thread itself in .NET 11 (same Thread contract version, c1; the cDAC reader changed
 * with it). Which one this runtime does is decided by fr_verify_begin: the reading under which the list leads to
 * the calling thread's own Thread. */
static char* find_thread(long tid, int links_to_thread, int* matches) {
    uintptr_t store, link, found = 0;
    int n = 0, m = 0;
    if (matches) *matches = 0;
    if (!fr_safe_read(&store, (uintptr_t)fr_rt.threadstore_global, sizeof store) || !store) return NULL;
    if (!fr_safe_read(&link, store + fr_rt.threadstore_first, sizeof link)) return NULL;
    while (link && n++ < 100000) {
        uintptr_t t = links_to_thread ? link : link - fr_rt.thread_link_next;
        uint32_t osid;
        if (fr_safe_read(&osid, t + fr_rt.thread_osid, sizeof osid) && osid == (uint32_t)tid) { found = t; m++; }
        if (!fr_safe_read(&link, t + fr_rt.thread_link_next, sizeof link)) break;
    }
    if (matches) *matches = m;
    return m == 1 ? (char*)found : NULL;
}

char* fr_find_thread_by_tid(long tid, int* matches) { return find_thread(tid, fr_rt.thread_links_to_thread, matches); }

/* ---- start-up verification ------------------------------------------------------------------------
 * One thread runs managed code that calls these at known points: outside any handler, and inside catch
 * blocks at depth 1 and 2, each both through a normal P/Invoke (preemptive, an InlinedCallFrame pushed)
 * and through a SuppressGCTransition call (cooperative). Each call checks the descriptor's fields against
 * what must be true at that point, and scans the Thread object for m_pGCFrame: the one word that, inside
 * a handler, points into this stack, differs from its value outside, and heads a chain of GCFrames
 * {Next, Thread*, ObjRefs, Count} (offsets from the descriptor's GCFrame type where it has one) with
 * ascending addresses and Thread* == this thread that ends exactly at the outside value. The exception
 * dispatcher protects the thrown object with such a GCFrame whose ObjRefs points at a slot on this stack
 * holding it, which the cooperative check confirms. */
#define SCAN_WORDS 256          /* the first 2 KiB of Thread */

static struct {
    uintptr_t thread, stack_lo, stack_hi;
    uintptr_t outside[SCAN_WORDS];
    int outside_valid;
    int samples_out, samples_in1, samples_in2, samples_coop;
    int top_out[SCAN_WORDS], cand1[SCAN_WORDS], cand2[SCAN_WORDS], objref_ok[SCAN_WORDS];
    int links_to_thread;        /* how the thread list links (see find_thread) */
    int thrown_handle, thrown_direct;   /* samples where ExceptionInfo.ThrownObject was a handle / the object */
    int failures;
    char first_failure[256];
} V;

static void vfail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void vfail(const char* fmt, ...) {
    if (V.failures++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(V.first_failure, sizeof V.first_failure, fmt, ap);
        va_end(ap);
    }
}

static int rdw(uintptr_t a, uintptr_t* out) { return fr_safe_read(out, a, sizeof *out); }
static int on_stack(uintptr_t p, uintptr_t sp) { return p >= sp && p < V.stack_hi && (p & 7) == 0; }

int fr_verify_begin(void* clr_thread, char* err, size_t errlen) {
    if (!fr_rt.loaded) { fr_set_err(err, errlen, "contract not loaded"); return FR_E_STATE; }
    memset(&V, 0, sizeof V);
    int m_field, m_thread;
    char* by_field = find_thread(fr_gettid(), 0, &m_field);
    char* by_thread = find_thread(fr_gettid(), 1, &m_thread);
    char* t = by_field == (char*)clr_thread ? by_field : by_thread == (char*)clr_thread ? by_thread : NULL;
    if (!t || by_field == by_thread) {
        fr_set_err(err, errlen, "the thread store does not lead to this thread's Thread %p by its OSId (links read as link fields: %d match(es), "
                   "%p; as Thread pointers: %d match(es), %p)", clr_thread, m_field, (void*)by_field, m_thread, (void*)by_thread);
        return FR_E_RUNTIME;
    }
    V.links_to_thread = t == by_thread;
    pthread_attr_t a;
    void* lo; size_t sz;
    if (pthread_getattr_np(pthread_self(), &a) != 0) { fr_set_err(err, errlen, "pthread_getattr_np failed"); return FR_E_THREAD; }
    pthread_attr_getstack(&a, &lo, &sz);
    pthread_attr_destroy(&a);
    V.thread = (uintptr_t)t;
    V.stack_lo = (uintptr_t)lo;
    V.stack_hi = (uintptr_t)lo + sz;
    if (fr_rt.thread_stack_base >= 0) {
        /* described from .NET 11 on: the runtime's cached bounds of this thread's stack must be its pthread stack
         * (the hub relies on the runtime caching its whole reservation this way) */
        uintptr_t base = 0, limit = 0;
        if (!rdw(V.thread + fr_rt.thread_stack_base, &base) || !rdw(V.thread + fr_rt.thread_stack_limit, &limit) ||
            base != V.stack_hi || limit < V.stack_lo || limit >= base) {
            fr_set_err(err, errlen, "Thread.CachedStackBase/CachedStackLimit (%#lx/%#lx) are not this thread's stack [%#lx, %#lx)",
                       (unsigned long)base, (unsigned long)limit, (unsigned long)V.stack_lo, (unsigned long)V.stack_hi);
            return FR_E_RUNTIME;
        }
    }
    return FR_OK;
}

/* Checks that hold in any P/Invoke: the preemptive flag, and that m_pFrame is the InlinedCallFrame the JIT
 * pushed for this very call (on this stack, with our return address). */
static void check_transition(int cooperative, uintptr_t sp, void* ra) {
    uint32_t pgc;
    if (!fr_safe_read(&pgc, V.thread + fr_rt.thread_pgc_disabled, sizeof pgc)) { vfail("Thread.PreemptiveGCDisabled unreadable"); return; }
    if (pgc != (uint32_t)cooperative)
        vfail("Thread.PreemptiveGCDisabled is %u in a %s call (expected %d)", pgc, cooperative ? "SuppressGCTransition" : "P/Invoke", cooperative);
    if (cooperative) return;
    uintptr_t f, id, next, csp, cra;
    if (!rdw(V.thread + fr_rt.thread_frame, &f) || !on_stack(f, sp)) { vfail("Thread.Frame %#lx is not on the calling stack", (unsigned long)f); return; }
    rdw(f, &id); rdw(f + fr_rt.frame_next, &next); rdw(f + fr_rt.icf_callsite_sp, &csp); rdw(f + fr_rt.icf_caller_ra, &cra);
    if (id != fr_rt.icf_identifier) vfail("Thread.Frame is not an InlinedCallFrame (identifier %#lx)", (unsigned long)id);
    if (!((char*)next == FR_FRAME_TOP || (next > f && on_stack(next, sp)))) vfail("Frame.Next %#lx is neither FRAME_TOP nor a caller frame", (unsigned long)next);
    if (!(csp > sp && csp <= f)) vfail("InlinedCallFrame.CallSiteSP %#lx is not between this frame and the ICF", (unsigned long)csp);
    if (cra != (uintptr_t)ra) vfail("InlinedCallFrame.CallerReturnAddress %#lx is not this call's return address %p", (unsigned long)cra, ra);
}

/* The end of a thread's GCFrame list: FRAME_TOP up to .NET 10, NULL in .NET 11. (The hub never assumes either: it
 * records each thread's own list end when it attaches.) */
#define LIST_END ((uintptr_t)1)
static int gcframe_list_end(uintptr_t p) { return (char*)p == FR_FRAME_TOP || p == 0; }

/* A chain of GCFrames starting at p that stays on this stack, ascends, belongs to this thread, and reaches
 * exactly `stop` (LIST_END: either end of list). Returns its length, or -1. */
static int gcframe_chain(uintptr_t p, uintptr_t sp, uintptr_t stop) {
    uintptr_t prev = 0, owner, next;
    int hops = 0;
    while (stop == LIST_END ? !gcframe_list_end(p) : p != stop) {
        if (gcframe_list_end(p) || !on_stack(p, sp) || p <= prev || hops > 64) return -1;
        if (!rdw(p + 8, &owner) || owner != V.thread || !rdw(p + fr_rt.gcframe_next, &next)) return -1;
        prev = p; p = next; hops++;
    }
    return hops;
}

__attribute__((noinline)) int fr_verify_outside(void) {
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    check_transition(0, sp, __builtin_return_address(0));
    uintptr_t ex;
    if (!rdw(V.thread + fr_rt.thread_exception_tracker, &ex) || ex != 0) vfail("Thread.ExceptionTracker is %#lx outside any handler (expected NULL)", (unsigned long)ex);
    uintptr_t w[SCAN_WORDS];
    if (!fr_safe_read(w, V.thread, sizeof w)) { vfail("Thread object unreadable"); return V.failures; }
    for (int i = 0; i < SCAN_WORDS; i++) {
        /* outside a handler m_pGCFrame is a list end or a list owned by our callers */
        if (gcframe_list_end(w[i]) || (on_stack(w[i], sp) && gcframe_chain(w[i], sp, LIST_END) >= 0)) V.top_out[i]++;
        V.outside[i] = w[i];
    }
    V.outside_valid = 1;
    V.samples_out++;
    return V.failures;
}

__attribute__((noinline)) int fr_verify_outside_coop(void) {
    check_transition(1, (uintptr_t)__builtin_frame_address(0), NULL);
    return V.failures;
}

__attribute__((noinline)) int fr_verify_in_catch(int depth) {
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    check_transition(0, sp, __builtin_return_address(0));
    uintptr_t ex, prev;
    if (!rdw(V.thread + fr_rt.thread_exception_tracker, &ex) || !on_stack(ex, sp)) { vfail("Thread.ExceptionTracker %#lx is not on the stack inside a catch", (unsigned long)ex); return V.failures; }
    rdw(ex + fr_rt.exinfo_prev, &prev);
    if (depth == 1 && prev != 0) vfail("ExceptionInfo.PreviousNestedInfo is %#lx at nesting depth 1 (expected NULL)", (unsigned long)prev);
    if (depth == 2 && !(on_stack(prev, sp) && prev > ex)) vfail("ExceptionInfo.PreviousNestedInfo %#lx at depth 2 is not an outer ExInfo", (unsigned long)prev);
    if (!V.outside_valid) { vfail("fr_verify_in_catch before fr_verify_outside"); return V.failures; }
    uintptr_t w[SCAN_WORDS];
    if (!fr_safe_read(w, V.thread, sizeof w)) { vfail("Thread object unreadable"); return V.failures; }
    for (int i = 0; i < SCAN_WORDS; i++) {
        if (!on_stack(w[i], sp) || w[i] == V.outside[i]) continue;
        int hops = gcframe_chain(w[i], sp, V.outside[i]);
        if (hops >= depth) { if (depth == 1) V.cand1[i]++; else V.cand2[i]++; }
    }
    if (depth == 1) V.samples_in1++; else V.samples_in2++;
    return V.failures;
}

__attribute__((noinline)) int fr_verify_in_catch_coop(int depth, void** caught_ref) {
    /* caught_ref is the address of the managed local holding the exception: no GC can move it during this
     * cooperative call, so reading it here gives the object's current address */
    void* caught = *caught_ref;
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    check_transition(1, sp, NULL);
    uintptr_t ex, thrown, target = 0, obj = (uintptr_t)caught;
    if (!rdw(V.thread + fr_rt.thread_exception_tracker, &ex) || !on_stack(ex, sp)) { vfail("Thread.ExceptionTracker not on the stack (depth %d)", depth); return V.failures; }
    /* ExceptionInfo.ThrownObject is a handle to the object being handled up to .NET 10 (m_hThrowable) and the object
     * reference itself in .NET 11 (m_exception; the cDAC reads its address as a "pseudo-handle"). An object's first
     * word is its MethodTable, never itself, so at most one reading holds; every sample must agree (fr_verify_end). */
    if (!rdw(ex + fr_rt.exinfo_thrown, &thrown)) thrown = 0;
    if (thrown && thrown == obj) V.thrown_direct++;
    else if (thrown && rdw(thrown, &target) && target == obj) V.thrown_handle++;
    else vfail("ExceptionInfo.ThrownObject does not lead to the caught exception (depth %d)", depth);
    /* for every m_pGCFrame candidate: the innermost GCFrame protects the thrown object, in a slot on this stack (inside
     * the ExInfo up to .NET 10, inside the GCFrame itself in .NET 11) */
    uintptr_t w[SCAN_WORDS];
    if (!fr_safe_read(w, V.thread, sizeof w)) { vfail("Thread object unreadable"); return V.failures; }
    for (int i = 0; i < SCAN_WORDS; i++) {
        uintptr_t g = w[i], refs, r0;
        uint32_t count;
        if (!on_stack(g, sp)) continue;
        if (rdw(g + fr_rt.gcframe_objrefs, &refs) && fr_safe_read(&count, g + fr_rt.gcframe_count, sizeof count) && count >= 1 &&
            on_stack(refs, sp) && rdw(refs, &r0) && r0 == obj)
            V.objref_ok[i]++;
    }
    V.samples_coop++;
    (void)depth;
    return V.failures;
}

/* Second opinion from the code: the one function of libcoreclr that is GCFrame::Pop,
 *   m_pCurThread->m_pGCFrame = m_Next; m_Next = NULL;
 * compiled, per architecture, to a fixed instruction sequence whose store displacement D is m_pGCFrame.
 * pop_offset_at returns D when the code at b is that sequence, else -1. The scan keeps D when exactly one
 * displacement is found (-1: the pattern is absent, -2: ambiguous); fr_verify_end compares it with what the
 * sampling found and says in fr_contract_note which of the three it was. */
#if defined(__x86_64__)
/* mov (%rdi),%rax; mov 8(%rdi),%rcx; mov %rax,D(%rcx); movq $0,(%rdi) */
#define POP_LEN 21
#define POP_STEP 1
static long pop_offset_at(const uint8_t* b) {
    static const uint8_t head[] = { 0x48, 0x8b, 0x07, 0x48, 0x8b, 0x4f, 0x08, 0x48, 0x89, 0x81 };
    static const uint8_t tail[] = { 0x48, 0xc7, 0x07, 0, 0, 0, 0 };
    if (memcmp(b, head, sizeof head) != 0 || memcmp(b + 14, tail, sizeof tail) != 0) return -1;
    int32_t d;
    memcpy(&d, b + 10, 4);
    return d;
}
#elif defined(__aarch64__)
/* ldp xA, xB, [x0]; str xA, [xB, #D]; str xzr, [x0]; ret  (measured on 10.0.12: ldp x9, x8, [x0]; str x9, [x8, #728]) */
#define POP_LEN 16
#define POP_STEP 4
static long pop_offset_at(const uint8_t* b) {
    uint32_t w[4];
    memcpy(w, b, sizeof w);
    if ((w[0] & 0xFFFF83E0u) != 0xA9400000u) return -1;       /* LDP xA, xB, [x0] (64-bit, signed offset 0) */
    uint32_t a = w[0] & 31, bb = (w[0] >> 10) & 31;
    if (a == bb || a == 31 || bb == 31 || a == 0 || bb == 0) return -1;
    if ((w[1] & 0xFFC00000u) != 0xF9000000u || (w[1] & 31) != a || ((w[1] >> 5) & 31) != bb) return -1;  /* STR xA, [xB, #imm12*8] */
    if (w[2] != 0xF900001Fu) return -1;                       /* STR xzr, [x0] */
    if (w[3] != 0xD65F03C0u) return -1;                       /* RET */
    return (long)((w[1] >> 10) & 0xFFF) * 8;
}
#endif

static long signature_offset = -1;
static int phdr_scan(struct dl_phdr_info* info, size_t size, void* data) {
    (void)size; (void)data;
    if (!info->dlpi_name || !strstr(info->dlpi_name, "libcoreclr.so")) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        const uint8_t* b = (const uint8_t*)(info->dlpi_addr + ph->p_vaddr);
        for (size_t k = 0; k + POP_LEN <= ph->p_memsz; k += POP_STEP) {
            long d = pop_offset_at(b + k);
            if (d < 0) continue;
            if (signature_offset == -1) signature_offset = d; else if (signature_offset != d) signature_offset = -2;
        }
    }
    return 1;
}

static char contract_note[256];

/* How m_pGCFrame was established, for the start-up diagnostic (empty before verification). */
FR_API const char* fr_contract_note(void) { return contract_note; }

int fr_verify_end(char* err, size_t errlen) {
    if (V.failures) { fr_set_err(err, errlen, "runtime layout check failed: %s (%d failures)", V.first_failure, V.failures); return FR_E_RUNTIME; }
    if (V.samples_out < 2 || V.samples_in1 < 2 || V.samples_in2 < 1 || V.samples_coop < 2) {
        fr_set_err(err, errlen, "layout verification saw too few samples (%d outside, %d/%d in catch, %d cooperative)", V.samples_out, V.samples_in1, V.samples_in2, V.samples_coop);
        return FR_E_RUNTIME;
    }
    if (V.thrown_direct != V.samples_coop && V.thrown_handle != V.samples_coop) {
        fr_set_err(err, errlen, "ExceptionInfo.ThrownObject was the exception in %d and a handle to it in %d of %d samples (expected one form throughout)",
                   V.thrown_direct, V.thrown_handle, V.samples_coop);
        return FR_E_RUNTIME;
    }
    int n = 0; long found = -1;
    for (int i = 0; i < SCAN_WORDS; i++) {
        if (V.top_out[i] == V.samples_out && V.cand1[i] == V.samples_in1 && V.cand2[i] == V.samples_in2 && V.objref_ok[i] == V.samples_coop) { n++; found = (long)i * 8; }
    }
    if (n != 1) { fr_set_err(err, errlen, "Thread::m_pGCFrame: %d candidate offsets survived verification (expected exactly one)", n); return FR_E_RUNTIME; }
    if (found == fr_rt.thread_frame || found == fr_rt.thread_exception_tracker) { fr_set_err(err, errlen, "Thread::m_pGCFrame candidate %#lx collides with a descriptor field", found); return FR_E_RUNTIME; }
    if (fr_rt.thread_gcframe_described >= 0 && fr_rt.thread_gcframe_described != found) {
        fr_set_err(err, errlen, "Thread.GCFrame: the runtime descriptor says %#lx but start-up discovery found m_pGCFrame at %#lx",
                   fr_rt.thread_gcframe_described, found);
        return FR_E_RUNTIME;
    }
    signature_offset = -1;
    dl_iterate_phdr(phdr_scan, NULL);
    if (signature_offset >= 0 && signature_offset != found) {
        fr_set_err(err, errlen, "Thread::m_pGCFrame: verification found %#lx but GCFrame::Pop's code uses %#lx", found, signature_offset);
        return FR_E_RUNTIME;
    }
    pthread_mutex_lock(&contract_mu);
    snprintf(contract_note, sizeof contract_note, "linux-%s: Thread::m_pGCFrame at %#lx by sampling; GCFrame::Pop code-pattern cross-check %s; memory probe: %s",
             FR_DESCRIPTOR_ARCH, found,
             signature_offset >= 0 ? "agrees" : signature_offset == -1 ? "SKIPPED (no GCFrame::Pop pattern found in libcoreclr)"
                                                                       : "SKIPPED (the GCFrame::Pop pattern is ambiguous in libcoreclr)",
             fr_safe_read_method());
    fr_rt.thread_gcframe = found;
    fr_rt.thread_links_to_thread = V.links_to_thread;
    fr_rt.verified = 1;
    pthread_mutex_unlock(&contract_mu);
    return FR_OK;
}

long fr_described_field(const char* type, const char* field) {
    return fr_rt.loaded ? fr_descriptor_field(g_json, type, field) : -1;
}
