/*
 * On-target conformance run (Cortex-M4F under QEMU mps2-an386): the PROTOCOL.md framing
 * vectors through ferrule_encode and the streaming decoder, then two links exchanging 300
 * messages each way over an in-memory UART (stream framing in 5-byte pieces, every 11th frame
 * lost) in every compression mode, without and with AEAD, every message checked byte for
 * byte. Reports through semihosting; exit status 0 only if everything passed.
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

#define WINDOW 4
#define MAX_MESSAGE 128
#define COUNT 300u

typedef struct {
    uint64_t mem[FERRULE_LINK_STORAGE_SIZE(WINDOW, MAX_MESSAGE) / 8];
    uint64_t comp[8192 / 8];
    uint64_t aead[512 / 8];
    ferrule_link_t *link;
    uint32_t sent, got, bad;
} end_t;

static uint64_t dec_mem[(FERRULE_DECODER_CAPACITY + 256) / 8];
static end_t ends[2];
static uint8_t wire[FERRULE_MAX_PAYLOAD + 64], frame[512], msg[MAX_MESSAGE], out[MAX_MESSAGE];
static uint32_t frames;

static const uint8_t KEY[32] = {0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static const uint8_t DICT[] = "{\"seq\":0,\"temp\":21.00,\"rh\":40.0,\"status\":\"ok\",\"unit\":\"C\"}";

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
        int frames_seen = 0;
        while (off < v->stream_len) {
            size_t chunk = v->stream_len - off < 7 ? v->stream_len - off : 7;
            ferrule_status st = ferrule_decoder_feed(dec, v->stream + off, chunk, &consumed, &f);
            off += consumed;
            if (st == FERRULE_OK) {
                frames_seen++;
                ok = ok && memcmp(&f.header, &v->header, sizeof f.header) == 0 &&
                     f.payload_len == v->payload_len &&
                     (v->payload_len == 0 || memcmp(f.payload, v->payload, v->payload_len) == 0);
            }
        }
        ok = ok && frames_seen == 1;
        CHECK(ok);
        printf("vector %-40s %s\n", v->name, ok ? "ok" : "FAILED");
    }
}

/* Message i from end d: telemetry, 40 to 128 bytes. */
static size_t make(uint32_t i, int d, uint8_t *p) {
    char rec[64];
    size_t len = 40u + (size_t)((i * 37u) % (MAX_MESSAGE - 39u)), k;
    int r = snprintf(rec, sizeof rec, "{\"seq\":%lu,\"temp\":21.%02lu,\"rh\":40.%lu,\"status\":\"ok\",\"from\":%d}",
                     (unsigned long)i, (unsigned long)(i % 100), (unsigned long)(i % 10), d);
    for (k = 0; k < len; k++) p[k] = (uint8_t)rec[k % (size_t)r];
    return len;
}

/* Seeded xorshift: which frames the wire loses. */
static uint32_t rng = 1;
static uint32_t next_random(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* Stream framing, as on a UART: frames delivered in 5-byte pieces; one in 11 lost. */
static void carry(end_t *from, end_t *to, uint64_t now) {
    size_t n, off;
    while (ferrule_link_poll_transmit(from->link, now, frame, sizeof frame, &n) == FERRULE_OK) {
        frames++;
        if (next_random() % 11 == 0) continue;
        for (off = 0; off < n; off += 5)
            CHECK(ferrule_link_handle_input(to->link, frame + off, n - off < 5 ? n - off : 5, now) == FERRULE_OK);
    }
}

static void service(end_t *e, int d, uint64_t now) {
    ferrule_received_t r;
    ferrule_event_t ev;
    uint64_t deadline;
    if (ferrule_link_poll_timeout(e->link, &deadline) == FERRULE_OK && now >= deadline)
        ferrule_link_handle_timeout(e->link, now);
    while (ferrule_link_poll_event(e->link, &ev) == FERRULE_OK) {
        if (ev.kind == FERRULE_EVENT_DOWN) e->bad++;
    }
    while (ferrule_link_recv(e->link, out, sizeof out, &r) == FERRULE_OK) {
        size_t wl = make(e->got, 1 - d, msg);
        if (r.len != wl || memcmp(out, msg, wl) != 0 || !r.reliable) e->bad++;
        e->got++;
    }
    if (ferrule_link_is_up(e->link) && e->sent < COUNT) {
        size_t n = make(e->sent, d, msg);
        if (ferrule_link_send(e->link, 0, msg, n, now, NULL) == FERRULE_OK) e->sent++;
    }
}

static void link_exchange(uint8_t mode, bool aead, const char *label) {
    ferrule_link_config_t cfg = ferrule_link_config_default();
    ferrule_compression_config_t z = ferrule_compression_config_default();
    ferrule_link_stats_t st;
    uint64_t now;
    uint32_t retransmitted;
    int d;
    cfg.window = WINDOW;
    cfg.max_message = MAX_MESSAGE;
    cfg.rto_initial_ms = 100;
    z.reliable = mode;
    if (mode == FERRULE_MODE_DICTIONARY) {
        z.dictionary_id = 9;
        z.dictionary = DICT;
        z.dictionary_len = sizeof DICT - 1;
    }
    frames = 0;
    rng = 0x9E3779B9u;
    for (d = 0; d < 2; d++) {
        end_t *e = &ends[d];
        memset(e, 0, sizeof *e);
        CHECK(ferrule_link_init(e->mem, sizeof e->mem, &cfg, 0x1234u + (uint64_t)d, &e->link) == FERRULE_OK);
        CHECK(ferrule_compression_storage_size(&z) <= sizeof e->comp);
        CHECK(ferrule_link_enable_compression(e->link, e->comp, sizeof e->comp, &z) == FERRULE_OK);
        if (aead) CHECK(ferrule_link_enable_aead(e->link, e->aead, sizeof e->aead, 3, KEY, sizeof KEY) == FERRULE_OK);
    }
    for (now = 0; now < 100000 && (ends[0].got < COUNT || ends[1].got < COUNT); now++) {
        service(&ends[0], 0, now);
        service(&ends[1], 1, now);
        carry(&ends[0], &ends[1], now);
        carry(&ends[1], &ends[0], now);
    }
    CHECK(ends[0].got == COUNT && ends[1].got == COUNT && ends[0].bad == 0 && ends[1].bad == 0);
    CHECK(ferrule_link_stats(ends[1].link, &st) == FERRULE_OK);
    retransmitted = st.retransmissions;
    CHECK(ferrule_link_stats(ends[0].link, &st) == FERRULE_OK);
    retransmitted += st.retransmissions;
    printf("link %-12s %-5s %u + %u msgs, %lu ms: mismatched %u, frames %lu, wire %lu B (one end), retransmitted %lu, compressed %lu -> %lu B\n",
           label, aead ? "AEAD" : "plain", (unsigned)ends[1].got, (unsigned)ends[0].got, (unsigned long)now,
           (unsigned)(ends[0].bad + ends[1].bad), (unsigned long)frames, (unsigned long)st.bytes_sent,
           (unsigned long)retransmitted, (unsigned long)st.compress_bytes_in,
           (unsigned long)st.compress_bytes_out);
    if (mode != FERRULE_MODE_OFF) CHECK(st.compressed > 0 && st.compress_bytes_out < st.compress_bytes_in);
    if (aead) CHECK(st.auth_failed == 0 && st.unauthenticated == 0);
    CHECK(retransmitted > 0); /* the wire did lose frames */
}

int main(void) {
    static const struct {
        uint8_t mode;
        const char *label;
    } MODES[] = {{FERRULE_MODE_OFF, "plain"},
                 {FERRULE_MODE_PER_MESSAGE, "per-message"},
                 {FERRULE_MODE_SHARED, "shared"},
                 {FERRULE_MODE_DICTIONARY, "dictionary"}};
    size_t m;
    int aead;
    ferrule_link_config_t cfg = ferrule_link_config_default();
    printf("ferrule %s conformance on Cortex-M4F (link block %u B for %u x %u B)\n", ferrule_version(),
           (unsigned)ferrule_link_storage_size(&cfg), (unsigned)cfg.window, (unsigned)cfg.max_message);
    vectors();
    for (aead = 0; aead < 2; aead++)
        for (m = 0; m < sizeof MODES / sizeof MODES[0]; m++) link_exchange(MODES[m].mode, aead != 0, MODES[m].label);
    printf("conformance: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
