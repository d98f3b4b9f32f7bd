/* Semihosting without a C library: SYS_WRITE0 (0x04) and SYS_EXIT (0x18). */
#include "semihost.h"

/* One semihosting call: operation in r0, argument in r1. Out of line, so the compiler assumes
 * it reads whatever the argument points to. */
__attribute__((naked, noinline)) static uint32_t semihost(uint32_t op, const void *arg) {
    (void)op;
    (void)arg;
    __asm volatile("bkpt 0xab\n bx lr");
}

void sh_puts(const char *s) { semihost(0x04, s); }

void sh_putu(uint32_t v) {
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    sh_puts(&buf[i]);
}

void sh_puthex(uint32_t v) {
    char buf[9];
    int i;
    for (i = 7; i >= 0; i--, v >>= 4) buf[i] = "0123456789abcdef"[v & 15u];
    buf[8] = 0;
    sh_puts(buf);
}

void sh_exit(int ok) {
    /* ADP_Stopped_ApplicationExit: QEMU exits 0; ADP_Stopped_RunTimeError: 1. */
    semihost(0x18, (const void *)(ok ? 0x20026u : 0x20023u));
    for (;;) {}
}
