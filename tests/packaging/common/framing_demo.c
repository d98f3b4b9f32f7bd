/* Framing through the C API: encode (stream and datagram), decode in small pieces, reject a
 * corrupted frame and count it. */
#include <string.h>

#include "demo.h"

/* Sized for this demo's frames (payloads up to 128 bytes): the receive buffer follows the
 * decoder's state in the same block. */
#define DEMO_MAX_PAYLOAD 128
static uint64_t decoder_mem[FERRULE_DECODER_STORAGE_SIZE(DEMO_MAX_PAYLOAD) / 8];

/* Feeds `len` bytes in pieces of `step`; returns the frames decoded, checking each. */
static int feed(ferrule_decoder_t *dec, const uint8_t *wire, size_t len, size_t step,
                const ferrule_header_t *want, const uint8_t *payload, size_t payload_len) {
    size_t off = 0, consumed = 0;
    int frames = 0;
    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        ferrule_frame_t f;
        ferrule_status st = ferrule_decoder_feed(dec, wire + off, n, &consumed, &f);
        CHECK(consumed >= 1 && consumed <= n);
        if (st == FERRULE_OK) {
            frames++;
            CHECK(f.header.kind == want->kind && f.header.channel == want->channel);
            CHECK(f.header.has_seq == want->has_seq && f.header.seq == want->seq);
            CHECK(f.header.has_ack == want->has_ack && f.header.ack_next == want->ack_next);
            CHECK(f.payload_len == payload_len &&
                  (payload_len == 0 || memcmp(f.payload, payload, payload_len) == 0));
        } else {
            CHECK_STATUS(st, FERRULE_EMPTY);
        }
        off += consumed;
    }
    return frames;
}

void framing_demo(void) {
    static const uint8_t text[] = "temperature=21.5;humidity=40;\0zeros\0\0inside";
    uint8_t wire[128];
    static const size_t steps[] = {1, 3, 64};
    size_t n = 0, i;
    ferrule_header_t h;
    ferrule_decoder_t *dec = NULL;
    ferrule_decoder_stats_t stats;
    int frames = 0, rejected = 0;

    CHECK(ferrule_decoder_storage_size(DEMO_MAX_PAYLOAD) == sizeof decoder_mem);
    CHECK_STATUS(ferrule_decoder_init(decoder_mem, sizeof decoder_mem, &dec), FERRULE_OK);

    memset(&h, 0, sizeof h);
    h.kind = FERRULE_KIND_RDATA;
    h.channel = 2;
    h.has_seq = 1;
    h.seq = 0x1234;
    h.has_ack = 1;
    h.ack_next = 77;
    h.ack_window = 4;
    /* Stream framing, fed in 1-, 3- and 64-byte pieces. */
    CHECK_STATUS(ferrule_encode(&h, text, sizeof text, true, true, wire, sizeof wire, &n), FERRULE_OK);
    CHECK(n <= ferrule_max_frame_len(sizeof text, true) && wire[0] == 0 && wire[n - 1] == 0);
    for (i = 0; i < sizeof steps / sizeof steps[0]; i++)
        frames += feed(dec, wire, n, steps[i], &h, text, sizeof text);
    CHECK(frames == 3);

    /* Too small an output buffer: refused, nothing written. */
    CHECK_STATUS(ferrule_encode(&h, text, sizeof text, true, false, wire, 8, &n),
                 FERRULE_ERR_BUFFER_TOO_SMALL);

    /* A datagram is the frame body without COBS. */
    h.kind = FERRULE_KIND_DATA;
    h.has_seq = 0;
    h.seq = 0;
    h.has_ack = 0;
    h.ack_next = 0;
    h.ack_window = 0;
    CHECK_STATUS(ferrule_encode(&h, text, 10, false, false, wire, sizeof wire, &n), FERRULE_OK);
    CHECK(n > 10 && n <= ferrule_max_frame_len(10, false));

    /* One flipped bit in a stream frame: rejected and counted, never delivered. */
    CHECK_STATUS(ferrule_encode(&h, text, sizeof text, true, false, wire, sizeof wire, &n), FERRULE_OK);
    wire[n / 2] ^= 0x04;
    {
        size_t off = 0, consumed = 0;
        while (off < n) {
            ferrule_frame_t f;
            ferrule_status st = ferrule_decoder_feed(dec, wire + off, n - off, &consumed, &f);
            CHECK(st != FERRULE_OK);
            if (st == FERRULE_ERR_BAD_CRC || st == FERRULE_ERR_MALFORMED) rejected++;
            off += consumed;
        }
    }
    CHECK(rejected == 1);
    CHECK_STATUS(ferrule_decoder_stats(dec, &stats), FERRULE_OK);
    CHECK(stats.frames_ok == 3 && stats.bad_crc + stats.malformed == 1);
    CHECK_STATUS(ferrule_decoder_feed(NULL, wire, n, &n, NULL), FERRULE_ERR_NULL);
    printf("framing: %u frames decoded, %u corrupted frame rejected (bad_crc %u, malformed %u)\n",
           (unsigned)stats.frames_ok, (unsigned)rejected, (unsigned)stats.bad_crc,
           (unsigned)stats.malformed);
}
