/* Startup without a C library, for images whose size is measured (the probes) and for the
 * 16 KiB microbit: vector table, .data copy, .bss zero (the FPU on when the code is built for
 * it), main, then the exit status through semihosting. Memory layout from the linker script
 * (link.ld for mps2-an386, nrf51.ld for the microbit). */
#include <stdint.h>

#include "semihost.h"

extern uint32_t _sidata, _sdata, _edata, __bss_start__, __bss_end__, __stack_top;
extern int main(void);

void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &__bss_start__; dst < &__bss_end__;) *dst++ = 0;
#if defined(__ARM_FP)
    *(volatile uint32_t *)0xE000ED88 |= (0xFu << 20); /* CP10/CP11 full access */
    __asm volatile("dsb\n isb");
#endif
    sh_exit(main() == 0);
}

static void Fault_Handler(void) {
    sh_puts("fault\n");
    sh_exit(0);
}

/* Firmware that enables SysTick defines its own handler. */
void SysTick_Handler(void) __attribute__((weak, alias("Fault_Handler")));

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&__stack_top), Reset_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0,
    Fault_Handler, SysTick_Handler,
};
