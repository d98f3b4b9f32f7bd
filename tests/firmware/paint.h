/* Stack painting (paint.S): the peak stack of one call. */
#ifndef FERRULE_PAINT_H
#define FERRULE_PAINT_H
#include <stdint.h>

uint32_t stack_paint(uint32_t bytes);
uint32_t stack_used(uint32_t bytes);

/* The window painted below the caller's stack pointer: 4 KiB, four times the budget. */
#define STACK_WINDOW 4096u

#endif
