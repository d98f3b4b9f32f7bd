/*
 * The assertions of the host C tests (test_api.c, test_compact.c): each counts a check and
 * reports a failure with its file and line, and the test's main() prints both counts. Include
 * once per test program, after ferrule.h.
 */
#ifndef FERRULE_TEST_CHECK_H
#define FERRULE_TEST_CHECK_H

#include <stdio.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                \
    do {                                                                           \
        checks++;                                                                  \
        if (!(cond)) {                                                             \
            failures++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                          \
    } while (0)

#define CHECK_STATUS(expr, want)                                                   \
    do {                                                                           \
        ferrule_status got_ = (expr);                                              \
        checks++;                                                                  \
        if (got_ != (ferrule_status)(want)) {                                      \
            failures++;                                                            \
            fprintf(stderr, "%s:%d: %s = %u (%s), want %u\n", __FILE__, __LINE__, #expr, \
                    (unsigned)got_, ferrule_status_str((uint32_t)got_), (unsigned)(want)); \
        }                                                                          \
    } while (0)

#endif
