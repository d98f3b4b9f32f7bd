/* Semihosting output without a C library (QEMU -semihosting-config enable=on): text lines,
 * decimal numbers and the exit status. Works on Cortex-M0 and Cortex-M4F. */
#ifndef FERRULE_SEMIHOST_H
#define FERRULE_SEMIHOST_H
#include <stdint.h>

/* Writes a NUL-terminated string to the host's console. */
void sh_puts(const char *s);
/* Writes `v` in decimal. */
void sh_putu(uint32_t v);
/* Writes `v` in hexadecimal (8 digits). */
void sh_puthex(uint32_t v);
/* Ends the emulation: status 0 when `ok`, 1 otherwise. */
void sh_exit(int ok) __attribute__((noreturn));

#endif
