/* fr_safe_read both ways: process_vm_readv and the pipe fallback used where that system call is ENOSYS
 * (qemu-user 7.2). Each way must copy readable memory exactly, including reads longer than one pipe write,
 * and answer 0 for unmapped or partly unmapped memory without leaving anything behind. fr_safe_read itself
 * is checked in a child whose process_vm_readv is made ENOSYS with a seccomp filter (where seccomp exists:
 * under qemu-user the real system call is already ENOSYS, which the first child shows). */
#include "fr_internal.h"
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

typedef int (*reader)(void*, uintptr_t, size_t);

/* A readable region of `pages` pages followed by one unmapped page. */
static char* region(size_t pages, size_t pg) {
    char* p = mmap(NULL, (pages + 1) * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(2); }
    munmap(p + pages * pg, pg);
    for (size_t i = 0; i < pages * pg; i++) p[i] = (char)(i * 131 + 7);
    return p;
}

static void exercise(const char* name, reader rd, char* mem, size_t bytes) {
    static char buf[3 << 16];
    size_t sizes[] = { 1, 8, 2048, 4096, 4097, 10000, bytes };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        memset(buf, 0, n);
        CHECK(rd(buf, (uintptr_t)(mem + bytes - n), n) == 1, "%s: %zu readable bytes reported unreadable", name, n);
        CHECK(memcmp(buf, mem + bytes - n, n) == 0, "%s: %zu bytes copied wrong", name, n);
    }
    CHECK(rd(buf, (uintptr_t)(mem + bytes), 8) == 0, "%s: an unmapped page read as readable", name);
    CHECK(rd(buf, (uintptr_t)(mem + bytes - 8), 16) == 0, "%s: a read running into an unmapped page succeeded", name);
    CHECK(rd(buf, (uintptr_t)(mem + bytes - 6000), 9000) == 0, "%s: a long read running into an unmapped page succeeded", name);
    CHECK(rd(buf, 8, 8) == 0, "%s: address 8 read as readable", name);
    /* nothing of a failed read may linger and corrupt the next one */
    memset(buf, 0, 64);
    CHECK(rd(buf, (uintptr_t)mem, 64) == 1 && memcmp(buf, mem, 64) == 0, "%s: a read after failed ones copied wrong", name);
}

/* process_vm_readv answers ENOSYS from now on; 0 when the filter could not be installed. */
static int deny_process_vm_readv(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { (unsigned short)(sizeof f / sizeof *f), f };
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

int main(void) {
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (3 << 16) / pg + 1;
    char* mem = region(pages, pg);
    size_t bytes = pages * pg < (3 << 16) ? pages * pg : (3 << 16);
    char* base = mem + pages * pg - bytes;

    exercise("pipe", fr_safe_read_pipe, base, bytes);
    char probe;
    int vm = fr_safe_read_vm(&probe, (uintptr_t)mem, 1);
    if (vm == -1) {
        printf("process_vm_readv: ENOSYS here (qemu-user?); fr_safe_read must take the pipe\n");
    } else {
        exercise("process_vm_readv", fr_safe_read_vm, base, bytes);
    }
    exercise("fr_safe_read", fr_safe_read, base, bytes);
    const char* chosen = fr_safe_read_method();
    CHECK(strncmp(chosen, vm == -1 ? "pipe" : "process_vm_readv", 4) == 0, "fr_safe_read chose %s", chosen);

    /* a fresh process without process_vm_readv: fr_safe_read falls back on its first call. Where the system call
     * is missing already (qemu-user), the calls above showed that; and qemu-user 7.2 can hang a forked child. */
    fflush(stdout);
    pid_t pid = vm == -1 ? -1 : fork();
    if (pid == 0) {
        if (!deny_process_vm_readv()) { printf("seccomp unavailable: fallback decision not checked\n"); _exit(0); }
        char c;
        CHECK(fr_safe_read_vm(&c, (uintptr_t)mem, 1) == -1, "the seccomp filter did not make process_vm_readv ENOSYS");
        exercise("fr_safe_read without process_vm_readv", fr_safe_read, base, bytes);
        CHECK(strncmp(fr_safe_read_method(), "pipe", 4) == 0, "fr_safe_read chose %s", fr_safe_read_method());
        _exit(failures ? 1 : 0);
    }
    if (pid > 0) {
        int st = 0;
        waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child without process_vm_readv failed (status %#x)", st);
    }

    if (failures) return 1;
    printf("safe_read_test: pipe path%s and fr_safe_read (%s) copy readable memory and refuse unmapped memory\n",
           vm == -1 ? "" : ", process_vm_readv path", chosen);
    return 0;
}
