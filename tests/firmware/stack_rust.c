/*
 * Peak stack of every constructor (and installer) of the Rust API, measured by painting
 * (paint.S) under QEMU: each tests/size-probe `stack_*` function builds one value into a
 * static, as firmware does, for the largest configuration (8 x 256 B link, every compression
 * mode, dynamic blocks, 32 KiB window, AEAD; the compact link: 16 x 1024 B, as
 * tests/firmware/stack_compact.c's largest). Prints "stack-rust <bytes> <constructor>".
 */
#include <stdint.h>
#include <stdio.h>

#include "paint.h"

#define FUNCTIONS(X)                                  \
    X(stack_link_storage_new, "LinkStorage::new (run time)") \
    X(stack_link_new, "Link::check + Link::init_in")                    \
    X(stack_compressor_new, "Compressor::new")        \
    X(stack_guard_new, "Guard::new")                  \
    X(stack_set_codec, "Link::set_codec")             \
    X(stack_enable_aead, "Link::enable_aead")         \
    X(stack_deflater_new, "Deflater::new")            \
    X(stack_inflater_new, "Inflater::with_dynamic")   \
    X(stack_window_new, "Window::new")                \
    X(stack_decoder_new, "StreamDecoder::new")                         \
    X(stack_compact_storage_new, "CompactStorage::new (run time)")      \
    X(stack_compact_link_new, "CompactLink::new")

#define DECLARE(f, name) extern uint32_t f(void);
FUNCTIONS(DECLARE)

int main(void) {
    int failures = 0;
    uint32_t ok, used;
#define RUN(f, name)                                                          \
    stack_paint(STACK_WINDOW);                                                \
    ok = f();                                                                 \
    used = stack_used(STACK_WINDOW);                                          \
    printf("stack-rust %lu %s\n", (unsigned long)used, name);                 \
    if (ok != 1 || used >= STACK_WINDOW) {                                    \
        printf("FAIL %s: result %lu, %lu bytes\n", name, (unsigned long)ok,  \
               (unsigned long)used);                                          \
        failures++;                                                           \
    }
    FUNCTIONS(RUN)
    printf("stack measurement (Rust constructors): %d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
