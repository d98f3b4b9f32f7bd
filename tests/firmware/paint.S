/* Stack painting for the peak-stack measurements (Thumb-1, so the same code runs on
 * Cortex-M0 and Cortex-M4F). Neither function touches the stack itself.
 *
 *   uint32_t stack_paint(uint32_t bytes): fills the `bytes` below the caller's stack pointer
 *       with STACK_PATTERN; returns the stack pointer.
 *   uint32_t stack_used(uint32_t bytes): finds the lowest word below the caller's stack
 *       pointer (within `bytes`) that no longer holds the pattern; returns how many bytes
 *       below the stack pointer it is (0: nothing was touched; `bytes`: the measurement
 *       window overflowed).
 *
 * Use: paint, make exactly one call, measure; the caller's stack pointer must not move in
 * between (true inside a C function body: its frame is set up in the prologue). */
    .syntax unified
    .thumb
    .equ STACK_PATTERN, 0xC0FFEE55

    .section .text.stack_paint, "ax", %progbits
    .global stack_paint
    .type stack_paint, %function
    .thumb_func
stack_paint:
    mov r1, sp
    subs r2, r1, r0
    ldr r3, =STACK_PATTERN
1:  cmp r2, r1
    bhs 2f
    str r3, [r2]
    adds r2, #4
    b 1b
2:  mov r0, r1
    bx lr
    .ltorg
    .size stack_paint, . - stack_paint

    .section .text.stack_used, "ax", %progbits
    .global stack_used
    .type stack_used, %function
    .thumb_func
stack_used:
    mov r1, sp
    subs r2, r1, r0
    ldr r3, =STACK_PATTERN
1:  cmp r2, r1
    bhs 2f
    ldr r0, [r2]
    cmp r0, r3
    bne 2f
    adds r2, #4
    b 1b
2:  subs r0, r1, r2
    bx lr
    .ltorg
    .size stack_used, . - stack_used
