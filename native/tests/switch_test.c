/* The per-ABI switch on its own (switch_<arch>_<abi>_elf_gas.S), without a runtime: a new context starts in
 * fr_fiber_start with its argument on an aligned stack; a ping-pong keeps both stacks' locals; every
 * callee-saved register (integer and floating point) survives a round trip in both directions; the
 * floating-point control state (rounding mode) is per context. Runs on x86_64 and, under
 * CMAKE_CROSSCOMPILING_EMULATOR (qemu-aarch64), on AArch64. */
#define _GNU_SOURCE 1
#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fr_swap(void** save_sp, void* new_sp);
void* fr_make_context(void* stack_top, void* arg);

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static void* main_sp;
static void* fiber_sp;

/* Sets every callee-saved register to seed + its number, switches with fr_swap, and returns how many of them
 * did not hold exactly that value when control came back (the seed travels on this stack, below the compiler's
 * frame). The asm clobbers them, so the compiler keeps its own values elsewhere; the frame pointer is not
 * touched (the compiler uses it; a broken one crashes the test). */
static long swap_and_count_damage(void** save, void* to, uint64_t seed) {
#if defined(__aarch64__)
    register uintptr_t a0 __asm__("x0") = (uintptr_t)save;
    register void* a1 __asm__("x1") = to;
    register uint64_t s __asm__("x2") = seed;
#define SET_X(n) "add x" #n ", x2, #" #n "\n\t"
#define SET_D(n) "add x3, x2, #" #n "\n\t" "fmov d" #n ", x3\n\t"
#define CHK_X(n) "add x3, x2, #" #n "\n\t" "cmp x" #n ", x3\n\t" "cinc x0, x0, ne\n\t"
#define CHK_D(n) "add x3, x2, #" #n "\n\t" "fmov x4, d" #n "\n\t" "cmp x4, x3\n\t" "cinc x0, x0, ne\n\t"
    __asm__ volatile(
        SET_X(19) SET_X(20) SET_X(21) SET_X(22) SET_X(23) SET_X(24) SET_X(25) SET_X(26) SET_X(27) SET_X(28)
        SET_D(8) SET_D(9) SET_D(10) SET_D(11) SET_D(12) SET_D(13) SET_D(14) SET_D(15)
        "str x2, [sp, #-16]!\n\t"
        "bl fr_swap\n\t"
        "ldr x2, [sp], #16\n\t"
        "mov x0, #0\n\t"
        CHK_X(19) CHK_X(20) CHK_X(21) CHK_X(22) CHK_X(23) CHK_X(24) CHK_X(25) CHK_X(26) CHK_X(27) CHK_X(28)
        CHK_D(8) CHK_D(9) CHK_D(10) CHK_D(11) CHK_D(12) CHK_D(13) CHK_D(14) CHK_D(15)
        : "+r"(a0), "+r"(a1), "+r"(s)
        :
        : "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17",
          "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x30",
          "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15",
          "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29",
          "v30", "v31", "cc", "memory");
#undef SET_X
#undef SET_D
#undef CHK_X
#undef CHK_D
    (void)a1; (void)s;
    return (long)a0;
#elif defined(__x86_64__)
    /* rbx, r12-r15 (rbp is the frame pointer). The call skips the red zone, which the compiler may be using. */
    register void** a0 __asm__("rdi") = save;
    register void* a1 __asm__("rsi") = to;
    register uint64_t s __asm__("rdx") = seed;
    uint64_t bad;
#define CHK(r, k) "leaq " #k "(%%rdx), %%rcx\n\t" "cmpq %%rcx, %%" #r "\n\t" "setne %%cl\n\t" "movzbl %%cl, %%ecx\n\t" "addq %%rcx, %%rax\n\t"
    __asm__ volatile(
        "leaq 3(%%rdx), %%rbx\n\t" "leaq 12(%%rdx), %%r12\n\t" "leaq 13(%%rdx), %%r13\n\t"
        "leaq 14(%%rdx), %%r14\n\t" "leaq 15(%%rdx), %%r15\n\t"
        "subq $128, %%rsp\n\t"
        "pushq %%rdx\n\t"
        "call fr_swap\n\t"
        "popq %%rdx\n\t"
        "addq $128, %%rsp\n\t"
        "xorl %%eax, %%eax\n\t"
        CHK(rbx, 3) CHK(r12, 12) CHK(r13, 13) CHK(r14, 14) CHK(r15, 15)
        : "=a"(bad), "+r"(a0), "+r"(a1), "+r"(s)
        :
        : "rbx", "rcx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
          "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
#undef CHK
    (void)a0; (void)a1; (void)s;
    return (long)bad;
#else
#error "switch_test: no register check for this architecture"
#endif
}

#define ROUNDS 20000
#define MAIN_SEED 0x1000000000000000ull
#define FIBER_SEED 0x2000000000000000ull

static int fiber_arg_ok, fiber_aligned, fiber_rounding_at_entry;
static long fiber_round_trips;
static long fiber_damage;

#if defined(__x86_64__)
/* fr_swap_plain (hub.c's plain switch path) mixed with fr_swap both ways: a context fr_swap_plain saved resumes
 * returning 0, with 0 stored to its pgc word and fr_reap(h) called exactly when h's zombie field (at
 * fr_hub_zombie_offset) is >= 0 then; one fr_swap saved resumes as before. A new context is entered through it too. */
#include <stddef.h>
typedef struct { long pad; int64_t zombie; } fake_hub;
const long fr_hub_zombie_offset = offsetof(fake_hub, zombie);
static long reaped;
void fr_reap(fake_hub* h);
void fr_reap(fake_hub* h) { reaped++; h->zombie = -1; }
int fr_swap_plain(void** save_sp, void* new_sp, uint32_t* pgc, fake_hub* h);
static void *pmain_sp, *pfiber_sp;
static fake_hub phub = { 0, -1 };
static uint32_t main_pgc, fiber_pgc;
static int zombie_sent;         /* whether the switching side left a zombie for the resumed side to reap */
static long plain_round_trips;

/* One switch from this side: with fr_swap_plain or fr_swap, leaving a zombie or not; checks the resume. */
static void plain_round(void** save, void* to, uint32_t* pgc, int plain, int zombie, long round) {
    phub.zombie = zombie ? 7 : -1;
    zombie_sent = zombie;
    *pgc = 1;
    if (plain) {
        int rc = fr_swap_plain(save, to, pgc, &phub);
        CHECK(rc == 0 && *pgc == 0, "round %ld: a plain resume returned %d with pgc %u", round, rc, *pgc);
        CHECK(phub.zombie == -1, "round %ld: a plain resume left the zombie (sent: %d)", round, zombie_sent);
    } else {
        fr_swap(save, to);
        CHECK(*pgc == 1, "round %ld: an fr_swap resume touched pgc", round);
        CHECK(phub.zombie == (zombie_sent ? 7 : -1), "round %ld: an fr_swap resume reaped", round);
    }
}

static void plain_fiber(void) {
    volatile long local = 0;
    for (long j = 0; ; j++) {
        local += 3;
        CHECK(local == 3 * (j + 1), "plain fiber local %ld in round %ld", (long)local, j);
        plain_round(&pfiber_sp, pmain_sp, &fiber_pgc, j % 4 < 2, j % 3 == 1, j);
        plain_round_trips++;
    }
}

static void plain_swaps(void) {
    char* stack = aligned_alloc(4096, 64 << 10);
    if (!stack) { failures++; return; }
    pfiber_sp = fr_make_context(stack + (64 << 10), &pfiber_sp);
    volatile long local = 0;
    for (long i = 0; i < ROUNDS; i++) {
        plain_round(&pmain_sp, pfiber_sp, &main_pgc, i % 2 == 0, i % 3 == 0 && i > 0, i);
        local += 5;
    }
    CHECK(local == 5L * ROUNDS && plain_round_trips == ROUNDS - 1, "plain swaps: local %ld, round trips %ld", (long)local, plain_round_trips);
    /* fr_reap ran once per zombie sent to a plain resume: main's round i is resumed by the fiber's round i, the
     * fiber's round j by main's round j + 1 */
    long want = 0;
    for (long i = 0; i < ROUNDS; i++) want += (i % 2 == 0 && i % 3 == 1) + (i + 1 < ROUNDS && i % 4 < 2 && (i + 1) % 3 == 0);
    CHECK(reaped == want && want > 0, "fr_reap ran %ld times, expected %ld", reaped, want);
    /* the fiber stays suspended for good */
}
#endif

void fr_fiber_start(void* arg);
void fr_fiber_start(void* arg) {
#if defined(__x86_64__)
    if (arg == (void*)&pfiber_sp) plain_fiber();
#endif
    fiber_arg_ok = arg == (void*)&fiber_sp;
    fiber_aligned = ((uintptr_t)__builtin_frame_address(0) & 15) == 0;
    fiber_rounding_at_entry = fegetround();
    fesetround(FE_UPWARD);                      /* this context's own rounding mode from now on */
    volatile long local = 0;                    /* lives on this stack: must survive every switch */
    for (long i = 0; i < ROUNDS; i++) {
        local += 3;
        fr_swap(&fiber_sp, main_sp);
        fiber_round_trips++;
    }
    fiber_damage = swap_and_count_damage(&fiber_sp, main_sp, FIBER_SEED);
    CHECK(local == 3L * ROUNDS, "fiber local %ld", (long)local);
    CHECK(fegetround() == FE_UPWARD, "fiber rounding mode %#x after switches (want FE_UPWARD)", fegetround());
    fr_swap(&fiber_sp, main_sp);                /* for good: main never switches back */
    abort();
}

int main(void) {
    size_t size = 256 << 10;
    char* stack = aligned_alloc(4096, size);
    if (!stack) return 2;
    memset(stack, 0xAA, size);
    fiber_sp = fr_make_context(stack + size, &fiber_sp);
    CHECK(((uintptr_t)fiber_sp & 15) == 0, "fr_make_context returned an unaligned stack pointer %p", fiber_sp);
    CHECK((char*)fiber_sp < stack + size && (char*)fiber_sp >= stack + size - 512, "initial frame %p is not just below the top", fiber_sp);

    fesetround(FE_TOWARDZERO);                  /* main's rounding mode: not the new context's default */
    volatile long local = 0;
    for (long i = 0; i < ROUNDS; i++) {
        fr_swap(&main_sp, fiber_sp);
        local += 5;
    }
    CHECK(fiber_arg_ok, "the new context did not receive its argument");
    CHECK(fiber_aligned, "the new context's first frame is not 16-byte aligned");
    CHECK(fiber_rounding_at_entry == FE_TONEAREST, "a new context starts with rounding mode %#x, not the ABI default (to nearest)", fiber_rounding_at_entry);
    CHECK(fiber_round_trips == ROUNDS - 1, "round trips %ld", fiber_round_trips);
    CHECK(local == 5L * ROUNDS, "main local %ld", (long)local);
    CHECK(fegetround() == FE_TOWARDZERO, "main rounding mode %#x after switches (want FE_TOWARDZERO)", fegetround());

    long main_damage = swap_and_count_damage(&main_sp, fiber_sp, MAIN_SEED);
    CHECK(main_damage == 0, "%ld callee-saved registers of main were not restored", main_damage);
    CHECK(fiber_round_trips == ROUNDS, "round trips %ld", fiber_round_trips);
    fr_swap(&main_sp, fiber_sp);                /* the fiber checks its registers, then leaves for good */
    CHECK(fiber_damage == 0, "%ld callee-saved registers of the fiber were not restored", fiber_damage);
    CHECK(fegetround() == FE_TOWARDZERO, "main rounding mode %#x at the end", fegetround());

#if defined(__x86_64__)
    plain_swaps();
#endif
    if (failures) return 1;
    printf("switch_test: %d round trips, callee-saved registers and rounding modes intact (%s)\n", ROUNDS,
#if defined(__aarch64__)
           "aarch64"
#else
           "x86_64"
#endif
    );
    return 0;
}
