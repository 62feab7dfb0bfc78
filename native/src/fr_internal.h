/* Internal declarations shared by the native sources. Not installed. */
#ifndef FR_INTERNAL_H
#define FR_INTERNAL_H

#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include "fiberrt.h"
#include "stackguard.h"

/* The descriptor's "Architecture" global for the architecture this library is built for; the switch for it is
 * native/src/switch_<arch>_<abi>_elf_gas.S. */
#if defined(__x86_64__)
#define FR_DESCRIPTOR_ARCH "x64"
#elif defined(__aarch64__)
#define FR_DESCRIPTOR_ARCH "arm64"
#else
#error "FiberRuntime: no context switch for this architecture (x86_64 and aarch64 only)"
#endif

/* The end of a Frame / GCFrame list in CoreCLR (FRAME_TOP). */
#define FR_FRAME_TOP ((char*)(intptr_t)-1)

/* ---- runtime layout: every offset comes from the contract descriptor or start-up verification ---- */
typedef struct fr_layout {
    long thread_frame;            /* Thread.Frame            (m_pFrame) */
    long thread_pgc_disabled;     /* Thread.PreemptiveGCDisabled */
    long thread_osid;             /* Thread.OSId */
    long thread_link_next;        /* Thread.LinkNext          (points at the link field of the next Thread) */
    long thread_exception_tracker;/* Thread.ExceptionTracker  (head of the ExInfo chain, innermost first) */
    long threadstore_first;       /* ThreadStore.FirstThreadLink */
    long frame_next;              /* Frame.Next */
    long icf_size;                /* InlinedCallFrame size ("!") */
    long icf_callsite_sp;         /* InlinedCallFrame.CallSiteSP */
    long icf_caller_ra;           /* InlinedCallFrame.CallerReturnAddress */
    long exinfo_prev;             /* ExceptionInfo.PreviousNestedInfo */
    long exinfo_thrown;           /* ExceptionInfo.ThrownObject (a handle up to .NET 10, the reference in 11; checked only) */
    uintptr_t icf_identifier;     /* global InlinedCallFrameIdentifier (first word of every ICF) */
    void** threadstore_global;    /* address of the global holding ThreadStore* */
    long thread_gcframe;          /* Thread::m_pGCFrame: found by fr_verify_* (and equal to the description, if any) */
    long thread_gcframe_described;/* Thread.GCFrame as the descriptor gives it (.NET 11+), else -1 */
    long thread_stack_base;       /* Thread.CachedStackBase  (.NET 11+), else -1 */
    long thread_stack_limit;      /* Thread.CachedStackLimit (.NET 11+), else -1 */
    long gcframe_next;            /* GCFrame.Next       (described from .NET 11; before, 0, checked live) */
    long gcframe_objrefs;         /* GCFrame.ObjRefs    (16 before .NET 11, checked live) */
    long gcframe_count;           /* GCFrame.NumObjRefs (24 before .NET 11, checked live) */
    int gcframe_described;        /* the descriptor has a GCFrame type */
    int thread_links_to_thread;   /* thread list links point at Threads (.NET 11), not at their link field (found by fr_verify_begin) */
    long thread_contract;         /* the Thread contract's version */
    char arch[16], os[16];        /* the Architecture and OperatingSystem globals */
    int loaded;                   /* descriptor parsed */
    int verified;                 /* start-up verification passed */
} fr_layout;

extern fr_layout fr_rt;

#define FR_AT(base, off) (*(char**)((char*)(base) + (off)))

/* descriptor.c: parses a contract descriptor's JSON (either shape) into *out (offsets only; loaded/verified stay 0)
 * and gives the index of the ThreadStore pointer global; fr_layout_fingerprint writes the values it read. */
int fr_descriptor_parse(const char* json, fr_layout* out, long* threadstore_index, char* err, size_t errlen);
int fr_layout_fingerprint(const fr_layout* layout, char* out, size_t n);

/* Reads runtime memory without faulting. Returns 1 on success, 0 when [src, src+n) is not all readable.
 * Uses process_vm_readv, or a pipe where that system call is missing (see saferead.c). */
int fr_safe_read(void* dst, uintptr_t src, size_t n);
/* The two ways, for the tests: fr_safe_read_vm returns -1 when process_vm_readv is ENOSYS. */
int fr_safe_read_vm(void* dst, uintptr_t src, size_t n);
int fr_safe_read_pipe(void* dst, uintptr_t src, size_t n);
/* How memory is probed ("process_vm_readv" or "pipe ..."): for the start-up diagnostic. */
const char* fr_safe_read_method(void);
/* Finds the CLR Thread whose OSId equals tid by walking the thread store (unsynchronised: used only as a
 * cross-check, with safe reads). Returns NULL when none or more than one match; *matches gets the count. */
char* fr_find_thread_by_tid(long tid, int* matches);
long fr_gettid(void);
void fr_set_err(char* err, size_t errlen, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- ordered id set: a 64-ary bit tree, O(log64 n) insert / erase / predecessor / successor ---- */
#define FR_IDSET_MAX_LEVELS 5
typedef struct fr_idset {
    uint64_t* level[FR_IDSET_MAX_LEVELS]; /* level[0] = one bit per id; level[k+1] = one bit per word of level[k] */
    uint32_t words[FR_IDSET_MAX_LEVELS];
    int levels;
    uint32_t count;
} fr_idset;
int fr_idset_init(fr_idset* s, uint32_t universe);
void fr_idset_free(fr_idset* s);
void fr_idset_insert(fr_idset* s, uint32_t id);
void fr_idset_erase(fr_idset* s, uint32_t id);
/* Largest member < id, or -1. */
int64_t fr_idset_pred(const fr_idset* s, uint32_t id);
/* Smallest member > id, or -1. */
int64_t fr_idset_succ(const fr_idset* s, uint32_t id);

/* ---- hub ---- */
enum fr_ctx_state { FR_CTX_FREE = 0, FR_CTX_NEW, FR_CTX_RUNNING, FR_CTX_SUSPENDED };

/* One execution context: a fiber slot or the hub's own stack. While suspended it owns the runtime
 * lists that were the Thread's when it switched away; each list's tail is kept so that linking it into
 * the identity thread's lists is O(1). */
enum { FR_LIST_FRAMES = 0, FR_LIST_EXINFOS = 1, FR_LIST_GCFRAMES = 2, FR_LISTS = 3 };

typedef struct fr_ctx {
    void* sp;                 /* saved stack pointer (NEW or SUSPENDED) */
    int32_t prev[FR_LISTS];   /* neighbours in each lane list (address order), -1 = none */
    int32_t next[FR_LISTS];
    char* frame;              /* head of its explicit Frame chain: the switch's InlinedCallFrame */
    char* frame_tail;         /* its last Frame before FRAME_TOP */
    char* exinfo;             /* head of its ExInfo chain, NULL outside exception handling */
    char* exinfo_tail;
    char* gcframe;            /* head of its GCFrame chain, == hub base list end when none */
    char* gcframe_tail;
    uintptr_t stack_limit;    /* its sufficient-execution limit (stackguard.c), stored on the Thread as it resumes */
    uint8_t state;
    uint8_t committed;        /* slot pages were made accessible once */
    uint8_t lane;             /* the identity thread it is registered on while suspended */
} fr_ctx;

/* An identity thread: a CLR thread parked in preemptive mode whose Frame / ExInfo / GCFrame lists are
 * the suspended contexts' lists, concatenated in ascending stack address (= ascending id). */
/* One of a lane's three lists: its members in address order as a doubly linked list through fr_ctx.prev/next
 * (to remove or replace a member without searching) and, on the main lane, as a bit tree (to find where a
 * new member goes; a handler lane holds so few that a walk is cheaper). */
typedef struct fr_chain {
    fr_idset members;         /* main lane only */
    int32_t first, last;
    char** head_slot;         /* the identity Thread's field that heads this list */
    char* end;                /* what the identity thread's own list ended with */
} fr_chain;

/* Lanes. The GC's stack walk of a thread calls ExInfo::HasFrameBeenUnwoundByAnyActiveException for every frame,
 * which walks that thread's whole ExInfo chain: with every suspended context on one identity thread, a full
 * GC costs (frames of all contexts) x (exception records of all contexts). So contexts suspended inside
 * exception handling go to small "handler lanes" of at most FR_HANDLER_LANE_CAP contexts, each its own
 * identity thread; lane 0 holds every other suspended context (which has no exception records). */
#define FR_MAX_LANES 128
#define FR_HANDLER_LANE_CAP 8
/* Lane 0 finds where a context goes by walking its chains while it holds at most FR_INDEX_ON contexts (a switch
 * among a few fibers then pays no bit-tree upkeep); past that it builds the bit trees, O(n) once, and drops them
 * again below FR_INDEX_OFF. The gap makes a rebuild cost at least (FR_INDEX_ON - FR_INDEX_OFF) registrations. */
#define FR_INDEX_ON 64
#define FR_INDEX_OFF 16

/* Call sites of fr_switch whose epilog was decoded (hub.c): a direct-mapped table probed over FR_SITE_WAYS slots. The
 * switch P/Invoke is inlined into the managed callers that have no try region around it, so a hub sees a few sites. */
#define FR_SITES 64
#define FR_SITE_WAYS 4

typedef struct fr_lane {
    char* thread;
    char* orig_frame;
    char* orig_exinfo;
    char* orig_gcframe;
    fr_chain chain[FR_LISTS];
    uint32_t count;           /* contexts registered on it */
    int indexed;              /* lane 0: its chains may keep bit trees (allocated) */
    int index_live;           /* ... and do now: the lane is past FR_INDEX_ON (see lane_index_fit in hub.c) */
    int free_pos;             /* position in fr_hub.free_lanes, -1 when full or not a handler lane */
    pthread_t os_thread;
    int started;
} fr_lane;

struct fr_hub {
    fr_hub_config cfg;
    /* arena: [base, base + capacity*stack_size) fiber slots, then the hub's own stack up to base+total */
    char* base;
    size_t total;
    uint32_t capacity;
    uint32_t root;            /* == capacity */
    uint32_t current;
    uint32_t bump;            /* slots [0, bump) have been handed out at least once */
    int guard_markers;        /* guard pages are MADV_GUARD_INSTALL markers (see arena.c) */
    uint32_t prepared;        /* slots [0, prepared) are accessible (prepared in batches ahead of bump) */
    int populate;             /* MADV_POPULATE_WRITE: 1 works, 0 not tried yet, -1 this kernel lacks it */
    uint32_t* warm;           /* free slots whose pages are still resident (LIFO, reused first) */
    uint32_t warm_len;
    uint32_t* cold;           /* free slots whose pages were returned with MADV_DONTNEED */
    uint32_t cold_len;
    uint32_t live;
    int64_t zombie;           /* slot of a context that exited, released once off its stack */
    fr_ctx* ctx;              /* capacity + 1 entries */
    char* thread;             /* the hub's CLR Thread* */
    char* base_gcframe;       /* the hub thread's own GCFrame list end, recorded at attach */
    fr_lane lanes[FR_MAX_LANES];
    uint32_t nlanes;
    uint8_t free_lanes[FR_MAX_LANES]; /* handler lanes with room */
    uint32_t nfree;
    uint32_t slow;            /* FR_SLOW_* reasons fr_switch may not take its plain path; 0 (the common case) = may */
    uint32_t registering_lane;
    uint64_t switches;
    uint64_t callback_switches; /* fr_switch calls that took the callback (see trap.c) */
    int32_t* trap;              /* &g_TrapReturningThreads (fr_trap_address as the hub's first switch found it), else NULL */
    const void* sites[FR_SITES];      /* switch call sites whose P/Invoke epilog tests *trap: the fast path may return there */
    const void* bad_sites[FR_SITES];  /* call sites whose epilog is not that: their switches take the callback */
    uint32_t site_evict;        /* round-robin victim when a site's FR_SITE_WAYS slots are all taken */
    fr_hub_guard guard;       /* per-context stack limits, hijack guard counters (stackguard.c, hijack.c) */
    uint32_t in_handler;
    pthread_t os_thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ident_ready, ident_release, ident_failed;
};

/* fr_hub.slow: why fr_switch must take its general path. All clear is the common case, tested as one word. */
enum {
    FR_SLOW_FIRST = 1,        /* the hub has not switched yet (its first fr_switch decides FR_SLOW_CALLBACK) */
    FR_SLOW_CALLBACK = 2,     /* no verified trap address, or the path mode is FR_PATH_CALLBACK */
    FR_SLOW_UNREGISTERED = 4, /* FR_HUB_UNSAFE_NO_GC_REGISTRATION */
    FR_SLOW_WANT_LANE = 8,    /* a handler context had to go to lane 0: start another lane at the next fr_switch */
    FR_SLOW_ALTERNATE = 16    /* FR_PATH_ALTERNATE: alone, the plain path is still taken on odd switches (fr_switch) */
};

/* A CLR Thread's three lists (descriptor / start-up discovered offsets) */
#define TH_FRAME(th)   FR_AT((th), fr_rt.thread_frame)
#define TH_EXINFO(th)  FR_AT((th), fr_rt.thread_exception_tracker)
#define TH_GCFRAME(th) FR_AT((th), fr_rt.thread_gcframe)

/* trap.c: the verified address of g_TrapReturningThreads (NULL: the switch goes through the callback), the
 * path mode (FR_PATH_*), and the decoder of a P/Invoke epilog's trap check (NULL when not the known pattern). */
extern int32_t* fr_trap_address;
extern int fr_switch_path_mode;
int32_t* fr_trap_decode_call_site(const void* return_address);

/* hub.c: the chains of suspended contexts on the identity lanes, and the switch */
void fr_chains_init(void);
void fr_lane_room_changed(fr_hub* h, uint32_t l);

/* hub_threads.c: the hub and identity threads, hub creation */
int fr_lane_start(fr_hub* h, uint32_t l);

/* arena.c */
int fr_arena_reserve(fr_hub* h, char* err, size_t errlen);
void fr_arena_release(fr_hub* h);
int32_t fr_arena_take(fr_hub* h);
void fr_arena_give_back(fr_hub* h, uint32_t id);

/* asm: one file per ABI (switch_<arch>_<abi>_elf_gas.S), the only code that knows the saved-context layout */
void fr_swap(void** save_sp, void* new_sp);
/* fr_switch's plain path ends with fr_swap_plain(&running->sp, target->sp, &Thread.PreemptiveGCDisabled, hub): the swap,
 * then, once resumed, the zombie reaped, back to preemptive mode and 0 returned. In assembly where the ABI's file has it
 * (FR_SWAP_PLAIN_ASM): it returns by an indirect jump, not a `ret`. A switch resumes another context's call, so a
 * return there never matches the return-stack predictor (it predicts the caller of this very call) and was a
 * mispredicted branch per switch; an indirect jump is predicted from branch history (the ping-pong alternates). The
 * asm's resume point reads fr_hub_zombie_offset and calls fr_reap. Elsewhere it is C in hub.c. */
#if defined(__x86_64__)
#define FR_SWAP_PLAIN_ASM 1
int fr_swap_plain(void** save_sp, void* new_sp, uint32_t* pgc, fr_hub* h);
extern const long fr_hub_zombie_offset;
void fr_reap(fr_hub* h);
#else
#define FR_SWAP_PLAIN_ASM 0
#endif
/* Builds a new context's first saved state below stack_top (16-byte aligned); fr_swap to the result enters
 * fr_fiber_start(arg) on that stack. */
void* fr_make_context(void* stack_top, void* arg);
void fr_fiber_start(fr_hub* h);

#endif
