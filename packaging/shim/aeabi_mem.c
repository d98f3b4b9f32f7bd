/*
 * ARM run-time ABI memory helpers for the prebuilt libferrule.a (ARM targets only).
 *
 * LLVM lowers Rust's copies and fills on *-none-eabi targets to __aeabi_memcpy and friends.
 * The Rust toolchain's compiler_builtins defines those with its own memcpy/memset code; this
 * file replaces them with forwarders to the C library's memcpy/memmove/memset, so the firmware
 * carries one copy routine (the C library's) and the library's only imports are the four
 * standard functions. scripts/bundle.sh compiles it with the target's flags, partially links it
 * into the library object and hides its symbols (they never clash with the C library's own
 * __aeabi_mem* definitions).
 *
 * Note the argument order of __aeabi_memset: (dest, n, c), unlike memset.
 */
#include <stddef.h>

void *memcpy(void *dest, const void *src, size_t n);
void *memmove(void *dest, const void *src, size_t n);
void *memset(void *dest, int c, size_t n);

#define ALIAS(name) __attribute__((alias(name)))

void __aeabi_memcpy(void *dest, const void *src, size_t n) { memcpy(dest, src, n); }
void __aeabi_memcpy4(void *dest, const void *src, size_t n) ALIAS("__aeabi_memcpy");
void __aeabi_memcpy8(void *dest, const void *src, size_t n) ALIAS("__aeabi_memcpy");

void __aeabi_memmove(void *dest, const void *src, size_t n) { memmove(dest, src, n); }
void __aeabi_memmove4(void *dest, const void *src, size_t n) ALIAS("__aeabi_memmove");
void __aeabi_memmove8(void *dest, const void *src, size_t n) ALIAS("__aeabi_memmove");

void __aeabi_memset(void *dest, size_t n, int c) { memset(dest, c, n); }
void __aeabi_memset4(void *dest, size_t n, int c) ALIAS("__aeabi_memset");
void __aeabi_memset8(void *dest, size_t n, int c) ALIAS("__aeabi_memset");

void __aeabi_memclr(void *dest, size_t n) { memset(dest, 0, n); }
void __aeabi_memclr4(void *dest, size_t n) ALIAS("__aeabi_memclr");
void __aeabi_memclr8(void *dest, size_t n) ALIAS("__aeabi_memclr");
