/*
 * Context switch for x86_64, System V ABI, ELF, GNU as.
 *
 * fr_swap(void** save_sp, void* new_sp)
 *   Saves the callee-saved state of the running context on its own stack, stores the resulting stack
 *   pointer in *save_sp, loads new_sp and restores the same state from there, then returns into the
 *   other context. Uses rax/rdx as scratch (caller-saved). Everything the ABI lets a callee clobber is already dead at the call site, so only
 *   the callee-saved registers, MXCSR's control bits and the x87 control word travel.
 *
 *   Saved context, growing down from the return address (offsets from the saved stack pointer):
 *
 *     +0x00  MXCSR (4 bytes) | x87 control word (2 bytes) | pad (2 bytes)
 *     +0x08  r15
 *     +0x10  r14
 *     +0x18  r13
 *     +0x20  r12
 *     +0x28  rbx
 *     +0x30  rbp
 *     +0x38  return address (rip)
 *
 *   A new context is this same layout, written by fr_make_context below: the return address is
 *   fr_trampoline, r12 carries the argument for fr_fiber_start (the fr_hub*), and MXCSR / x87 CW hold
 *   the ABI defaults. Everything that knows this layout lives in this file.
 *
 * Why no ucontext: swapcontext saves and restores the signal mask with a syscall on every switch.
 * Why the runtime does not mind: the switch runs in cooperative mode, inside the fr_switch P/Invoke (which
 * enters it itself) or a [SuppressGCTransition] call of the callback path; the JIT keeps no GC references in
 * callee-saved registers across a P/Invoke (checked by the GC stress suite), so the registers saved here are never
 * GC roots.
 */

    .text

/* The two halves of every switch, shared by fr_swap and fr_swap_plain: push the callee-saved state below the return
 * address on the stack, store the stack pointer in *%rdi, load %rsi, and restore the same state from there (ending with
 * the other context's return address on top of the stack). The CFI describes the saves, so a debugger or a native
 * unwinder (gdb, perf --call-graph dwarf, createdump) stopped before the stack switch finds the caller; after it, the
 * frame is another context's and rip is marked undefined: unwinding stops there. */
.macro PUSH_SAVED reg
    pushq   \reg
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset \reg, 0
.endm

.macro SAVE_AND_SWITCH
    PUSH_SAVED %rbp                 /* callee-saved integer registers */
    PUSH_SAVED %rbx
    PUSH_SAVED %r12
    PUSH_SAVED %r13
    PUSH_SAVED %r14
    PUSH_SAVED %r15
    subq    $8, %rsp
    .cfi_adjust_cfa_offset 8
    stmxcsr (%rsp)                  /* SSE control/status (rounding mode, exception masks) */
    fnstcw  4(%rsp)                 /* x87 control word (precision, rounding) */
    movl    (%rsp), %eax            /* keep the current values to compare with the other context's */
    movzwl  4(%rsp), %edx

    movq    %rsp, (%rdi)            /* *save_sp = our stack pointer */
    movq    %rsi, %rsp              /* switch stacks */
    .cfi_undefined rip

    /* ldmxcsr and fldcw are microcoded and slow; contexts almost never differ here, so load only on change */
    cmpl    (%rsp), %eax
    je      1f
    ldmxcsr (%rsp)
1:  cmpw    4(%rsp), %dx
    je      2f
    fldcw   4(%rsp)
2:  addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
.endm

    .globl  fr_swap
    .hidden fr_swap
    .type   fr_swap, @function
    .p2align 4
fr_swap:
    .cfi_startproc
    SAVE_AND_SWITCH
    ret                             /* into the other context (or fr_trampoline for a new one) */
    .cfi_endproc
    .size   fr_swap, .-fr_swap

/*
 * int fr_swap_plain(void** save_sp, void* new_sp, uint32_t* pgc, fr_hub* h)
 *   fr_swap for fr_switch's plain path (hub.c, fr_internal.h), which tail-calls it: the context saved here resumes at
 *   fr_plain_resume, which reaps the hub's zombie (fr_reap), stores 0 to *pgc (back to preemptive mode: a plain store
 *   is a release on x86), and returns 0 to fr_switch's managed caller. Both ways out are indirect jumps, not `ret`s:
 *   the return-stack predictor would predict the caller of this very call, never the other context's. Above the
 *   saved context of the common layout (its return address is fr_plain_resume) lie pgc and h:
 *
 *     +0x38  fr_plain_resume      +0x40  pgc      +0x48  h      +0x50  the return address of the call (fr_switch's)
 */
    .globl  fr_swap_plain
    .hidden fr_swap_plain
    .type   fr_swap_plain, @function
    .p2align 4
fr_swap_plain:
    .cfi_startproc
    pushq   %rcx
    .cfi_adjust_cfa_offset 8
    pushq   %rdx
    .cfi_adjust_cfa_offset 8
    leaq    fr_plain_resume(%rip), %rax
    pushq   %rax
    .cfi_adjust_cfa_offset 8
    SAVE_AND_SWITCH
    popq    %rax
    jmp     *%rax                   /* fr_plain_resume, or where fr_swap saved a context, or fr_trampoline */
    .cfi_endproc
    .size   fr_swap_plain, .-fr_swap_plain

/* Entered by fr_swap's or fr_swap_plain's restore of a context fr_swap_plain saved; rsp is as at fr_swap_plain's entry
 * after the two pushes of pgc and h (so 8 mod 16 once they are popped). */
    .type   fr_plain_resume, @function
    .p2align 4
fr_plain_resume:
    .cfi_startproc
    .cfi_def_cfa_offset 24          /* pgc, h, then the return address into fr_switch's managed caller */
    popq    %rdx                    /* pgc */
    .cfi_adjust_cfa_offset -8
    popq    %rdi                    /* h */
    .cfi_adjust_cfa_offset -8
    movq    fr_hub_zombie_offset(%rip), %rax
    cmpq    $0, (%rdi,%rax)
    jl      3f
    pushq   %rdx                    /* kept across the call; aligns the stack */
    .cfi_adjust_cfa_offset 8
    call    fr_reap
    popq    %rdx
    .cfi_adjust_cfa_offset -8
3:  movl    $0, (%rdx)
    xorl    %eax, %eax
    popq    %rcx
    jmp     *%rcx                   /* to the managed caller of fr_switch */
    .cfi_endproc
    .size   fr_plain_resume, .-fr_plain_resume

/*
 * First code of a new context. Entered by fr_swap's `ret` with rsp 16-byte aligned at the slot top and
 * r12 = the argument. The call below leaves rsp = 8 mod 16 at fr_fiber_start's entry, as the ABI requires.
 * rip is marked undefined so debuggers and unwinders stop here: there is no caller.
 */
    .type   fr_trampoline, @function
    .p2align 4
fr_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    xorl    %ebp, %ebp              /* terminate frame-pointer chains */
    movq    %r12, %rdi
    call    fr_fiber_start          /* never returns: a finished context switches away for good */
    ud2
    .cfi_endproc
    .size   fr_trampoline, .-fr_trampoline

/*
 * void* fr_make_context(void* stack_top, void* arg)
 *   Writes the initial saved context of a new context below stack_top (16-byte aligned) and returns the
 *   stack pointer to give fr_swap. The first switch to it "returns" into fr_trampoline with r12 = arg.
 */
    .globl  fr_make_context
    .hidden fr_make_context
    .type   fr_make_context, @function
    .p2align 4
fr_make_context:
    .cfi_startproc
    leaq    -0x40(%rdi), %rax               /* 8 slots: control words, r15..rbp, return address */
    leaq    fr_trampoline(%rip), %rdx
    movq    %rdx, 0x38(%rax)                /* return address */
    movq    $0, 0x30(%rax)                  /* rbp */
    movq    $0, 0x28(%rax)                  /* rbx */
    movq    %rsi, 0x20(%rax)                /* r12: the argument */
    movq    $0, 0x18(%rax)                  /* r13 */
    movq    $0, 0x10(%rax)                  /* r14 */
    movq    $0, 0x08(%rax)                  /* r15 */
    movl    $0x1F80, (%rax)                 /* MXCSR: all exceptions masked, round to nearest */
    movl    $0x037F, 4(%rax)                /* x87 control word: extended precision, all masked */
    ret
    .cfi_endproc
    .size   fr_make_context, .-fr_make_context

    .section .note.GNU-stack, "", @progbits
