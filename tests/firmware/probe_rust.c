/* Size probe image: calls one profile of the Rust size-probe staticlib (PROBE, PROFILE_ID and
 * ARG given with -D), checks its result and prints the profile's state size. Identical for
 * every profile, so image differences are ferrule's code. */
#include <stdint.h>
#include <stdio.h>

extern uint32_t PROBE(uint32_t arg);
extern uint32_t probe_state_bytes(uint32_t profile);

int main(void) {
    uint32_t r = PROBE(ARG);
    printf("probe %u: result %u, state %u B\n", (unsigned)PROFILE_ID, (unsigned)r,
           (unsigned)probe_state_bytes(PROFILE_ID));
    return r == EXPECT ? 0 : 1;
}
