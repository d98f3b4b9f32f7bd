/* Cortex-M startup for the QEMU boards of the packaging tests (microbit, mps2-an385/an386):
 * vector table, .data copy, .bss zero, FPU access when the code uses it, semihosting I/O
 * (newlib rdimon: printf, exit), then main. */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t _sidata, _sdata, _edata, __bss_start__, __bss_end__, __stack_top;
extern void initialise_monitor_handles(void);
extern int main(void);

void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &__bss_start__; dst < &__bss_end__;) *dst++ = 0;
#ifdef __ARM_FP
    /* CP10/CP11 full access: -mfloat-abi=hard and softfp both emit FPU instructions. */
    *(volatile uint32_t *)0xE000ED88 |= (0xFu << 20);
    __asm volatile("dsb\n isb");
#endif
    initialise_monitor_handles();
    exit(main());
}

static void Fault_Handler(void) {
    /* Semihosting SYS_EXIT, ADP_Stopped_RunTimeError: a fault fails the run. */
    register uint32_t r0 __asm("r0") = 0x18;
    register uint32_t r1 __asm("r1") = 0x20023;
    __asm volatile("bkpt 0xab" : : "r"(r0), "r"(r1));
    for (;;) {}
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&__stack_top), Reset_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0,
    Fault_Handler, Fault_Handler,
};

/* newlib's exit() runs the fini array through these; nothing to do here. */
void _init(void) {}
void _fini(void) {}
