/*
 * On-target conformance run (Cortex-M4F under QEMU): the PROTOCOL.md test vectors through
 * ferrule_encode and the streaming decoder, a compression round trip through two links, and a
 * reliable link exchange over an in-memory loop. Reports through semihosting; exit status 0
 * only if everything passed.
 */
#include <stdio.h>
#include <string.h>

#include "ferrule.h"
#include "vectors.h"

static int failures, checks;
#define CHECK(c)                                                             \
    do {                                                                     \
        checks++;                                                            \
        if (!(c)) {                                                          \
            failures++;                                                      \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);              \
        }                                                                    \
    } while (0)

static uint64_t dec_mem[(FERRULE_DECODER_CAPACITY + 256) / 8];
static uint64_t mem_a[FERRULE_LINK_STORAGE_SIZE / 8];
static uint64_t mem_b[FERRULE_LINK_STORAGE_SIZE / 8];
static uint8_t wire[FERRULE_MAX_PAYLOAD + 64];

static void vectors(void) {
    size_t i, n = 0, consumed = 0;
    ferrule_decoder_t *dec;
    ferrule_frame_t f;
    CHECK(ferrule_decoder_init(dec_mem, sizeof dec_mem, &dec) == FERRULE_OK);
    for (i = 0; i < sizeof VECTORS / sizeof VECTORS[0]; i++) {
        const vector_t *v = &VECTORS[i];
        int ok = ferrule_encode(&v->header, v->payload, v->payload_len, true,
                                v->leading_delimiter != 0, wire, sizeof wire, &n) == FERRULE_OK &&
                 n == v->stream_len && memcmp(wire, v->stream, n) == 0;
        /* Decode the exact wire bytes in 7-byte chunks. */
        size_t off = 0;
        int frames = 0;
        while (off < v->stream_len) {
            size_t chunk = v->stream_len - off < 7 ? v->stream_len - off : 7;
            ferrule_status st = ferrule_decoder_feed(dec, v->stream + off, chunk, &consumed, &f);
            off += consumed;
            if (st == FERRULE_OK) {
                frames++;
                ok = ok && memcmp(&f.header, &v->header, sizeof f.header) == 0 &&
                     f.payload_len == v->payload_len &&
                     (v->payload_len == 0 || memcmp(f.payload, v->payload, v->payload_len) == 0);
            }
        }
        ok = ok && frames == 1;
        CHECK(ok);
        printf("vector %-40s %s\n", v->name, ok ? "ok" : "FAILED");
    }
}

static void pump(ferrule_link_t *from, ferrule_link_t *to, uint64_t now) {
    uint8_t frame[FERRULE_LINK_MAX_FRAME];
    size_t n;
    /* Stream framing, as on a UART: deliver in 5-byte pieces. */
    while (ferrule_link_poll_transmit(from, now, frame, sizeof frame, &n) == FERRULE_OK) {
        size_t off;
        for (off = 0; off < n; off += 5)
            ferrule_link_handle_input(to, frame + off, n - off < 5 ? n - off : 5, now);
    }
}

static void link_exchange(int mode, const char *label) {
    ferrule_link_config_t cfg = ferrule_link_config_default();
    ferrule_link_t *a, *b;
    ferrule_received_t r;
    ferrule_link_stats_t st;
    uint8_t msg[FERRULE_LINK_MAX_MESSAGE], out[FERRULE_LINK_MAX_MESSAGE];
    uint64_t now = 0;
    unsigned sent = 0, got = 0, bad = 0, k;
    cfg.compression_reliable = (uint8_t)mode;
    CHECK(ferrule_link_init(mem_a, sizeof mem_a, &cfg, 0x1234, &a) == FERRULE_OK);
    CHECK(ferrule_link_init(mem_b, sizeof mem_b, &cfg, 0x5678, &b) == FERRULE_OK);
    for (k = 0; k < 20000 && got < 500; k++) {
        if (ferrule_link_is_up(a) && sent < 500) {
            int len = snprintf((char *)msg, sizeof msg,
                               "{\"seq\":%u,\"temp\":21.%02u,\"rh\":40.%u,\"status\":\"ok\"}", sent,
                               sent % 100, sent % 10);
            if (ferrule_link_send(a, 0, msg, (size_t)len, now) == FERRULE_OK) sent++;
        }
        pump(a, b, now);
        pump(b, a, now);
        while (ferrule_link_recv(b, out, sizeof out, &r) == FERRULE_OK) {
            int len = snprintf((char *)msg, sizeof msg,
                               "{\"seq\":%u,\"temp\":21.%02u,\"rh\":40.%u,\"status\":\"ok\"}", got,
                               got % 100, got % 10);
            if (r.len != (size_t)len || memcmp(out, msg, r.len) != 0) bad++;
            got++;
        }
        now++;
    }
    CHECK(got == 500 && bad == 0);
    CHECK(ferrule_link_stats(a, &st) == FERRULE_OK);
    printf("link %-10s 500 msgs: delivered %u, mismatched %u, wire %lu B, compressed %lu -> %lu B\n",
           label, got, bad, (unsigned long)st.bytes_sent, (unsigned long)st.compress_bytes_in,
           (unsigned long)st.compress_bytes_out);
    if (mode != FERRULE_MODE_OFF) CHECK(st.compress_bytes_out < st.compress_bytes_in);
}

int main(void) {
    printf("ferrule %s conformance on Cortex-M4F (link state %u B)\n", ferrule_version(),
           (unsigned)ferrule_link_size());
    vectors();
    link_exchange(FERRULE_MODE_OFF, "plain");
    link_exchange(FERRULE_MODE_PER_MESSAGE, "deflate");
    link_exchange(FERRULE_MODE_SHARED, "shared");
    printf("conformance: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
