/*
 * The program every packaging consumer builds (CMake, Make + pkg-config, Zephyr and ESP-IDF
 * stand-ins; Cortex-M0/M3/M4/M4F, RISC-V, host): framing_demo.c then link_demo.c, results by
 * printf (semihosting on the boards), exit status 0 only if every check passed.
 */
#ifndef FERRULE_PACKAGING_DEMO_H
#define FERRULE_PACKAGING_DEMO_H

#include <stdio.h>

#include "ferrule.h"

extern int demo_checks, demo_failures;

#define CHECK(cond)                                                       \
    do {                                                                  \
        demo_checks++;                                                    \
        if (!(cond)) {                                                    \
            demo_failures++;                                              \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
        }                                                                 \
    } while (0)

#define CHECK_STATUS(expr, want)                                          \
    do {                                                                  \
        ferrule_status got_ = (expr);                                     \
        demo_checks++;                                                    \
        if (got_ != (ferrule_status)(want)) {                             \
            demo_failures++;                                              \
            printf("FAIL %s:%d: %s = %u (%s), want %u\n", __FILE__, __LINE__, #expr, \
                   (unsigned)got_, ferrule_status_str((uint32_t)got_), (unsigned)(want)); \
        }                                                                 \
    } while (0)

/* Encodes frames, decodes them in pieces, rejects a corrupted one (framing_demo.c). */
void framing_demo(void);

/* Two links over an in-memory lossy wire exchanging messages both ways (link_demo.c).
 * Built only with FERRULE_DEMO_LINK=1; otherwise it says why it is left out. */
void link_demo(void);

#endif
