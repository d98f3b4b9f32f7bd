/* Whole-run stack high-water mark: board_init() paints the free stack (from the end of .bss,
 * or 8 KiB below the stack pointer if that is nearer) with a pattern; board_stack_peak() finds
 * the lowest word no longer holding it. */
#include "board.h"

extern uint32_t __bss_end__, __stack_top;

#define PATTERN 0xC0FFEE55u
#define MAX_PAINT 8192u

static uint32_t *paint_bottom;

void paint_free_stack(void) {
    uint32_t *sp, *p;
    __asm volatile("mov %0, sp" : "=r"(sp));
    p = &__bss_end__;
    if ((uint32_t)sp - (uint32_t)p > MAX_PAINT) p = (uint32_t *)((uint32_t)sp - MAX_PAINT);
    paint_bottom = p;
    /* Leave this function's frame (and a margin) alone. */
    while (p < sp - 16) *p++ = PATTERN;
}

uint32_t board_stack_peak(void) {
    uint32_t *p = paint_bottom;
    while (*p == PATTERN) p++;
    return (uint32_t)&__stack_top - (uint32_t)p;
}
