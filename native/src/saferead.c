/* Reading runtime memory that may not be mapped, without a fault (the start-up verification walks runtime
 * structures whose layout it is still checking). */
#include "fr_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

/* Reading memory that may not be mapped, without a fault: the kernel copies it for us and answers EFAULT.
 * process_vm_readv does it in one call. Where it is missing (ENOSYS: qemu-user 7.2 does not emulate it, some
 * seccomp profiles forbid it) the bytes take a detour through a pipe: write(2) from the address fails with
 * EFAULT when any of it is unmapped. The pipe is the process's, made once, and serialised by a mutex. */
int fr_safe_read_vm(void* dst, uintptr_t src, size_t n) {
    struct iovec local = { dst, n }, remote = { (void*)src, n };
    ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    return got == (ssize_t)n ? 1 : got < 0 && errno == ENOSYS ? -1 : 0;
}

static pthread_mutex_t pipe_mu = PTHREAD_MUTEX_INITIALIZER;
static int pipe_fd[2] = { -1, -1 };

int fr_safe_read_pipe(void* dst, uintptr_t src, size_t n) {
    int ok = 1;
    pthread_mutex_lock(&pipe_mu);
    if (pipe_fd[0] < 0 && pipe2(pipe_fd, O_CLOEXEC | O_NONBLOCK) != 0) { pipe_fd[0] = pipe_fd[1] = -1; ok = 0; }
    /* chunks of at most PIPE_BUF: such a write is all or nothing, and the pipe is empty between calls */
    for (size_t done = 0; ok && done < n;) {
        size_t k = n - done < PIPE_BUF ? n - done : PIPE_BUF;
        ssize_t w;
        do w = write(pipe_fd[1], (const void*)(src + done), k); while (w < 0 && errno == EINTR);
        if (w != (ssize_t)k) {                         /* EFAULT: not (all) readable */
            char sink[PIPE_BUF];
            if (w > 0 && read(pipe_fd[0], sink, (size_t)w) != w) { close(pipe_fd[0]); close(pipe_fd[1]); pipe_fd[0] = pipe_fd[1] = -1; }
            ok = 0;
            break;
        }
        ssize_t r;
        do r = read(pipe_fd[0], (char*)dst + done, k); while (r < 0 && errno == EINTR);
        if (r != (ssize_t)k) {                         /* cannot happen with the pipe to ourselves; never leave it dirty */
            close(pipe_fd[0]); close(pipe_fd[1]);
            pipe_fd[0] = pipe_fd[1] = -1;
            ok = 0;
        }
        done += k;
    }
    pthread_mutex_unlock(&pipe_mu);
    return ok;
}

/* Set once process_vm_readv has answered ENOSYS: from then on only the pipe. */
static volatile int safe_read_by_pipe;

int fr_safe_read(void* dst, uintptr_t src, size_t n) {
    if (!safe_read_by_pipe) {
        int r = fr_safe_read_vm(dst, src, n);
        if (r >= 0) return r;
        safe_read_by_pipe = 1;
    }
    return fr_safe_read_pipe(dst, src, n);
}

const char* fr_safe_read_method(void) { return safe_read_by_pipe ? "pipe (process_vm_readv is ENOSYS)" : "process_vm_readv"; }
