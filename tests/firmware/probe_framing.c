/* Size probe: framing only (encode + streaming decoder + CRC), as a firmware would use it. */
#include "ferrule.h"

static uint64_t dec_mem[(FERRULE_DECODER_CAPACITY + 256) / 8];
volatile uint8_t sink[300];

int main(void) {
    ferrule_header_t h = {0};
    ferrule_decoder_t *dec;
    ferrule_frame_t f;
    size_t n = 0, used = 0;
    uint8_t buf[300];
    h.kind = FERRULE_KIND_DATA;
    ferrule_encode(&h, (const uint8_t *)sink, 16, true, false, buf, sizeof buf, &n);
    ferrule_decoder_init(dec_mem, sizeof dec_mem, &dec);
    if (ferrule_decoder_feed(dec, buf, n, &used, &f) == FERRULE_OK) sink[0] = f.payload[0];
    return 0;
}
