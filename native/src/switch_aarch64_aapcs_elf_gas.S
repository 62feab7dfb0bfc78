/*
 * Context switch for AArch64, AAPCS64 (Linux), ELF, GNU as.
 *
 * fr_swap(void** save_sp, void* new_sp)
 *   Saves the callee-saved state of the running context on its own stack, stores the resulting stack
 *   pointer in *save_sp, loads new_sp and restores the same state from there, then returns into the
 *   other context. AAPCS64 makes x19-x28, the frame pointer x29, sp and the low 64 bits of v8-v15 (d8-d15)
 *   callee-saved; the link register x30 is where we return to. FPCR (rounding mode, flush-to-zero,
 *   trap enables) is process state a context may change, so it travels too; FPSR holds only sticky
 *   exception flags and does not. x9/x10 are scratch (caller-saved).
 *
 *   Saved context, 176 bytes growing up from the saved stack pointer (16-byte aligned):
 *
 *     +0x00  d8   d9
 *     +0x10  d10  d11
 *     +0x20  d12  d13
 *     +0x30  d14  d15
 *     +0x40  x19  x20
 *     +0x50  x21  x22
 *     +0x60  x23  x24
 *     +0x70  x25  x26
 *     +0x80  x27  x28
 *     +0x90  x29 (fp)  x30 (lr: where fr_swap returns to)
 *     +0xa0  FPCR | pad
 *
 *   A new context is this same layout, written by fr_make_context below: lr is fr_trampoline, x19 carries
 *   the argument for fr_fiber_start (the fr_hub*), fp is 0 and FPCR is 0 (the AAPCS64 default: round to
 *   nearest, no flush-to-zero, no traps). Everything that knows this layout lives in this file.
 *
 * Linux AArch64 has no red zone below sp, and sp must stay 16-byte aligned at every access: the frame is
 * allocated with one sub and freed with one add. No ucontext, for the same reason as on x86_64 (a signal-mask
 * syscall per switch). The switch runs in cooperative mode (inside the fr_switch P/Invoke, which enters it itself,
 * or a [SuppressGCTransition] call of the callback path); the JIT keeps no GC references in callee-saved registers
 * across a P/Invoke, so nothing saved here is a GC root.
 */

    .text

    .globl  fr_swap
    .hidden fr_swap
    .type   fr_swap, %function
    .p2align 4
fr_swap:
    .cfi_startproc
    sub     sp, sp, #0xb0
    .cfi_def_cfa_offset 0xb0
    stp     d8,  d9,  [sp, #0x00]
    stp     d10, d11, [sp, #0x10]
    stp     d12, d13, [sp, #0x20]
    stp     d14, d15, [sp, #0x30]
    stp     x19, x20, [sp, #0x40]
    stp     x21, x22, [sp, #0x50]
    stp     x23, x24, [sp, #0x60]
    stp     x25, x26, [sp, #0x70]
    stp     x27, x28, [sp, #0x80]
    stp     x29, x30, [sp, #0x90]
    mrs     x9, fpcr
    str     x9, [sp, #0xa0]

    mov     x10, sp
    str     x10, [x0]                   /* *save_sp = our stack pointer */
    mov     sp, x1                      /* switch stacks */

    /* writing FPCR may synchronise the FP unit; contexts almost never differ here, so write only on change */
    ldr     x10, [sp, #0xa0]
    cmp     x9, x10
    b.eq    1f
    msr     fpcr, x10
1:  ldp     d8,  d9,  [sp, #0x00]
    ldp     d10, d11, [sp, #0x10]
    ldp     d12, d13, [sp, #0x20]
    ldp     d14, d15, [sp, #0x30]
    ldp     x19, x20, [sp, #0x40]
    ldp     x21, x22, [sp, #0x50]
    ldp     x23, x24, [sp, #0x60]
    ldp     x25, x26, [sp, #0x70]
    ldp     x27, x28, [sp, #0x80]
    ldp     x29, x30, [sp, #0x90]
    add     sp, sp, #0xb0
    ret                                 /* into the other context (or fr_trampoline for a new one) */
    .cfi_endproc
    .size   fr_swap, .-fr_swap

/*
 * First code of a new context. Entered by fr_swap's `ret` with sp 16-byte aligned at the slot top and
 * x19 = the argument. lr is marked undefined so debuggers and unwinders stop here: there is no caller.
 */
    .type   fr_trampoline, %function
    .p2align 4
fr_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    mov     x29, #0                     /* terminate frame-pointer chains */
    mov     x0, x19
    bl      fr_fiber_start              /* never returns: a finished context switches away for good */
    brk     #0x3e8
    .cfi_endproc
    .size   fr_trampoline, .-fr_trampoline

/*
 * void* fr_make_context(void* stack_top, void* arg)
 *   Writes the initial saved context of a new context below stack_top (16-byte aligned) and returns the
 *   stack pointer to give fr_swap. The first switch to it "returns" into fr_trampoline with x19 = arg.
 */
    .globl  fr_make_context
    .hidden fr_make_context
    .type   fr_make_context, %function
    .p2align 4
fr_make_context:
    .cfi_startproc
    sub     x0, x0, #0xb0
    stp     xzr, xzr, [x0, #0x00]       /* d8..d15 */
    stp     xzr, xzr, [x0, #0x10]
    stp     xzr, xzr, [x0, #0x20]
    stp     xzr, xzr, [x0, #0x30]
    stp     x1,  xzr, [x0, #0x40]       /* x19: the argument; x20 */
    stp     xzr, xzr, [x0, #0x50]       /* x21..x28 */
    stp     xzr, xzr, [x0, #0x60]
    stp     xzr, xzr, [x0, #0x70]
    stp     xzr, xzr, [x0, #0x80]
    adr     x9, fr_trampoline
    stp     xzr, x9,  [x0, #0x90]       /* fp = 0, lr = fr_trampoline */
    stp     xzr, xzr, [x0, #0xa0]       /* FPCR = 0 (AAPCS64 default), pad */
    ret
    .cfi_endproc
    .size   fr_make_context, .-fr_make_context

    .section .note.GNU-stack, "", %progbits
