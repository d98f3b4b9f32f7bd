/* Entry point of the packaging demo: version, framing, link, one summary line. */
#include <stdlib.h>
#include <string.h>

#include "demo.h"

int demo_checks, demo_failures;

#ifndef DEMO_BOARD
#define DEMO_BOARD "unknown board"
#endif

int main(void) {
    char want[16];
    snprintf(want, sizeof want, "%d.%d.%d", FERRULE_VERSION_MAJOR, FERRULE_VERSION_MINOR,
             FERRULE_VERSION_PATCH);
    printf("ferrule %s on %s\n", ferrule_version(), DEMO_BOARD);
    CHECK(strcmp(ferrule_version(), want) == 0);
#ifdef FERRULE_HAS_AEAD
    CHECK(FERRULE_HAS_AEAD == 1); /* the build system's compile definition */
#else
    CHECK(!"FERRULE_HAS_AEAD not defined by the build system");
#endif
    framing_demo();
    link_demo();
    printf("demo: %d checks, %d failures\n", demo_checks, demo_failures);
    /* exit(), not return: picolibc's crt0 on QEMU virt does not stop after main returns. */
    exit(demo_failures == 0 ? 0 : 1);
}
