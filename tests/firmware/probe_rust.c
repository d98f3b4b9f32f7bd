/* Size probe image: calls one profile of the Rust size-probe staticlib (PROBE, PROFILE_ID and
 * ARG given with -D), checks its result and prints the profile's state size. Identical for
 * every profile and free of any C library (startup_bare.c, semihost.c), so image differences
 * are ferrule's code. */
#include <stdint.h>

#include "semihost.h"

extern uint32_t PROBE(uint32_t arg);
extern uint32_t probe_state_bytes(uint32_t profile);

int main(void) {
    uint32_t r = PROBE(ARG);
    sh_puts("probe ");
    sh_putu(PROFILE_ID);
    sh_puts(": result ");
    sh_putu(r);
    sh_puts(", state ");
    sh_putu(probe_state_bytes(PROFILE_ID));
    sh_puts(" B\n");
    return r == EXPECT ? 0 : 1;
}
