/* Size probe: everything (link + compression + framing) through the C API. */
#include "ferrule.h"

static uint64_t mem[FERRULE_LINK_STORAGE_SIZE / 8];
volatile uint8_t sink[FERRULE_LINK_MAX_FRAME];

int main(void) {
    ferrule_link_config_t cfg = ferrule_link_config_default();
    ferrule_link_t *l;
    ferrule_received_t r;
    ferrule_event_t ev;
    ferrule_link_stats_t st;
    uint8_t buf[FERRULE_LINK_MAX_FRAME];
    size_t n;
    uint64_t t;
    cfg.compression_reliable = FERRULE_MODE_SHARED;
    ferrule_link_init(mem, sizeof mem, &cfg, 1, &l);
    ferrule_link_send(l, 0, (const uint8_t *)sink, 8, 0);
    ferrule_link_handle_input(l, (const uint8_t *)sink, 8, 0);
    ferrule_link_poll_transmit(l, 0, buf, sizeof buf, &n);
    ferrule_link_recv(l, buf, sizeof buf, &r);
    ferrule_link_poll_timeout(l, &t);
    ferrule_link_handle_timeout(l, t);
    ferrule_link_poll_event(l, &ev);
    ferrule_link_stats(l, &st);
    sink[0] = buf[0];
    return 0;
}
