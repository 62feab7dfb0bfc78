/* The P/Invoke epilog decoders of trap.c (the source of g_TrapReturningThreads' address) on epilogs the JIT emitted
 * (captured from .NET 10.0.12: x64 natively, arm64 under qemu), on the other forms they accept, and on near misses
 * they must refuse (another Thread offset, a store of 0, a different compare, garbage). Each architecture's build
 * tests its own decoder (the arm64 one under CMAKE_CROSSCOMPILING_EMULATOR). */
#include "../src/trap.c"
#include <stdlib.h>

fr_layout fr_rt;
int fr_safe_read(void* dst, uintptr_t src, size_t n) { memcpy(dst, (const void*)src, n); return 1; }
void fr_set_err(char* err, size_t errlen, const char* fmt, ...) { (void)fmt; if (err && errlen) err[0] = 0; }

static int fails;
#define CHECK(c, ...) do { if (!(c)) { fails++; fprintf(stderr, "FAIL line %d: ", __LINE__); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* code bytes, padded to what the decoder reads */
static uint8_t code[64];
static const uint8_t* load(const uint8_t* bytes, size_t n) {
    memset(code, 0, sizeof code);
    memcpy(code, bytes, n);
    return code;
}

int main(void) {
    fr_rt.thread_pgc_disabled = 4;
#if defined(__x86_64__)
    /* 10.0.12: mov byte ptr [r13+4], 1; cmp dword ptr [rip+0x7e641d76], 0; je; call [rip+..]; mov rcx, [rbp-0x58]; ... */
    static const uint8_t jit[] = { 0x41, 0xc6, 0x45, 0x04, 0x01, 0x83, 0x3d, 0x76, 0x1d, 0x64, 0x7e, 0x00, 0x74, 0x06, 0xff, 0x15,
                                   0xc6, 0xe2, 0x62, 0x7e, 0x48, 0x8b, 0x4d, 0xa8, 0x49, 0x89, 0x4d, 0x08, 0x48, 0x83, 0xc4, 0x38 };
    const uint8_t* p = load(jit, sizeof jit);
    CHECK((uintptr_t)fr_trap_decode_call_site(p) == (uintptr_t)p + 12 + 0x7e641d76, "rip-relative compare not decoded");
    /* r12 as the Thread register: the store needs a SIB byte (JIT'd on 10.0.12, a switch loop's OSR code) */
    static const uint8_t r12[] = { 0x41, 0xc6, 0x44, 0x24, 0x04, 0x01, 0x83, 0x3d, 0xf2, 0xfd, 0x62, 0x7e, 0x00, 0x74, 0x06, 0xff,
                                   0x15, 0x42, 0xc3, 0x61, 0x7e, 0x48, 0x8b, 0x8d };
    p = load(r12, sizeof r12);
    CHECK((uintptr_t)fr_trap_decode_call_site(p) == (uintptr_t)p + 13 + 0x7e62fdf2, "r12 (SIB) form not decoded");
    static const uint8_t rsp[] = { 0xc6, 0x44, 0x24, 0x04, 0x01, 0x83, 0x3d, 0xf2, 0xfd, 0x62, 0x7e, 0x00 };
    CHECK(fr_trap_decode_call_site(load(rsp, sizeof rsp)) == NULL, "a store through rsp was accepted");
    static const uint8_t indexed[] = { 0x41, 0xc6, 0x44, 0x0c, 0x04, 0x01, 0x83, 0x3d, 0xf2, 0xfd, 0x62, 0x7e, 0x00 };
    CHECK(fr_trap_decode_call_site(load(indexed, sizeof indexed)) == NULL, "an indexed store was accepted");
    /* REX.X set: [r12 + r12*1 + 4], an index register although the SIB byte reads "no index" without it */
    static const uint8_t rexx[] = { 0x43, 0xc6, 0x44, 0x24, 0x04, 0x01, 0x83, 0x3d, 0xf2, 0xfd, 0x62, 0x7e, 0x00 };
    CHECK(fr_trap_decode_call_site(load(rexx, sizeof rexx)) == NULL, "a store with REX.X (an index) was accepted");
    /* mov byte ptr [rbx+4], 1; mov rax, imm64; cmp dword ptr [rax], 0 */
    static const uint8_t abs64[] = { 0xc6, 0x43, 0x04, 0x01, 0x48, 0xb8, 0x80, 0x7c, 0x6c, 0xa1, 0x60, 0x7f, 0x00, 0x00, 0x83, 0x38, 0x00 };
    CHECK(fr_trap_decode_call_site(load(abs64, sizeof abs64)) == (int32_t*)(uintptr_t)0x7f60a16c7c80ULL, "absolute address not decoded");
    /* mov byte ptr [r13+disp32 4], 1 with r10 as the address register: 49 ba imm64; 41 83 3a 00 */
    static const uint8_t r10[] = { 0x41, 0xc6, 0x85, 0x04, 0, 0, 0, 0x01, 0x49, 0xba, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0, 0, 0x41, 0x83, 0x3a, 0x00 };
    CHECK(fr_trap_decode_call_site(load(r10, sizeof r10)) == (int32_t*)(uintptr_t)0x605040302010ULL, "r10 form not decoded");
    /* near misses */
    fr_rt.thread_pgc_disabled = 8;
    CHECK(fr_trap_decode_call_site(load(jit, sizeof jit)) == NULL, "a store at another Thread offset was accepted");
    fr_rt.thread_pgc_disabled = 4;
    static const uint8_t zero[] = { 0x41, 0xc6, 0x45, 0x04, 0x00, 0x83, 0x3d, 0x76, 0x1d, 0x64, 0x7e, 0x00 };
    CHECK(fr_trap_decode_call_site(load(zero, sizeof zero)) == NULL, "a store of 0 was accepted");
    static const uint8_t cmp1[] = { 0x41, 0xc6, 0x45, 0x04, 0x01, 0x83, 0x3d, 0x76, 0x1d, 0x64, 0x7e, 0x01 };
    CHECK(fr_trap_decode_call_site(load(cmp1, sizeof cmp1)) == NULL, "a compare with 1 was accepted");
    static const uint8_t regmismatch[] = { 0xc6, 0x43, 0x04, 0x01, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 0, 0, 0x83, 0x39, 0x00 };
    CHECK(fr_trap_decode_call_site(load(regmismatch, sizeof regmismatch)) == NULL, "a compare through another register was accepted");
#elif defined(__aarch64__)
    /* 10.0.12 under qemu: mov w19, w0; mov w0, #1; strb w0, [x20, #4]; movz x0, #0xae70; movk x0, #0x35d, lsl 16;
     * movk x0, #0x55, lsl 32; ldr w0, [x0]; cmp w0, #0 */
    static const uint8_t jit[] = { 0xf3, 0x03, 0x00, 0x2a, 0x20, 0x00, 0x80, 0x52, 0x80, 0x12, 0x00, 0x39, 0x00, 0xce, 0x95, 0xd2,
                                   0xa0, 0x6b, 0xa0, 0xf2, 0xa0, 0x0a, 0xc0, 0xf2, 0x00, 0x00, 0x40, 0xb9, 0x1f, 0x00, 0x00, 0x71 };
    CHECK(fr_trap_decode_call_site(load(jit, sizeof jit)) == (int32_t*)(uintptr_t)0x55035dae70ULL, "movz/movk form not decoded");
    /* mov w1, #1; strb w1, [x20, #4]; adrp x2, +1 page; add x2, x2, #0x10; ldr w3, [x2, #8] */
    static const uint32_t adrp[] = { 0x52800021u, 0x39001281u, 0xb0000002u, 0x91004042u, 0xb9400843u };
    const uint8_t* p = load((const uint8_t*)adrp, sizeof adrp);
    uintptr_t page = ((uintptr_t)(p + 8) & ~(uintptr_t)0xFFF) + 0x1000;
    CHECK(fr_trap_decode_call_site(p) == (int32_t*)(page + 0x10 + 8), "adrp/add form not decoded");
    fr_rt.thread_pgc_disabled = 8;
    CHECK(fr_trap_decode_call_site(load(jit, sizeof jit)) == NULL, "a store at another Thread offset was accepted");
    fr_rt.thread_pgc_disabled = 4;
    static const uint32_t zero[] = { 0x2a0003f3u, 0x52800000u, 0x39001280u, 0xd295ce00u, 0xb9400000u };   /* mov w0, #0 */
    CHECK(fr_trap_decode_call_site(load((const uint8_t*)zero, sizeof zero)) == NULL, "a store of 0 was accepted");
    static const uint32_t other[] = { 0x52800020u, 0x39001280u, 0xd295ce01u, 0xb9400000u };   /* address into x1, load through x0 */
    CHECK(fr_trap_decode_call_site(load((const uint8_t*)other, sizeof other)) == NULL, "a load through another register was accepted");
#endif
    static const uint8_t garbage[] = { 0x90, 0x90, 0x90, 0x90, 0xc3 };
    CHECK(fr_trap_decode_call_site(load(garbage, sizeof garbage)) == NULL, "garbage was accepted");
    printf("trap_test: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
