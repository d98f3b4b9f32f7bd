/*
 * Peak stack of every C API function, measured by painting (paint.S) under QEMU: before each
 * call the 4 KiB below the stack pointer are filled with a pattern, after it the lowest word
 * changed gives the call's peak. Two links run realistic traffic in three configurations:
 *
 *   small:    4 x 128 B, stream, reliable channels only, no compression, no AEAD;
 *   shared:   4 x 128 B, stream, best effort, shared-window compression both ways (1 KiB
 *             windows);
 *   sealed:   4 x 128 B, stream, best effort, AEAD and shared-window compression;
 *   full:     8 x 256 B, datagrams, AEAD, best effort, every compression mode sent, every
 *             kind received (dynamic blocks, 32 KiB window), forward error correction 4:2
 *             (frames rebuilt from parity go through the receive path), a rekey;
 *
 * over a wire that drops every 7th frame and flips a bit in every 13th, so retransmissions,
 * duplicates and rejects all happen. Messages alternate between the largest compressible one
 * and short ones. Each function's largest peak over all calls is printed as
 * "stack <function> <bytes>"; scripts/test-firmware.sh builds this for Cortex-M4F and
 * Cortex-M0 and fails if any exceeds 1024 bytes.
 */
#include <stdio.h>
#include <string.h>

#include "ferrule.h"
#include "paint.h"

enum {
    F_VERSION, F_STATUS_STR, F_LINK_CONFIG_DEFAULT, F_COMPRESSION_CONFIG_DEFAULT,
    F_LINK_STORAGE_SIZE, F_COMPRESSION_STORAGE_SIZE, F_AEAD_STORAGE_SIZE, F_LINK_MAX_FRAME_LEN,
    F_MAX_FRAME_LEN, F_ENCODE, F_DECODER_SIZE, F_DECODER_ALIGN, F_DECODER_INIT, F_DECODER_FEED,
    F_DECODER_STATS, F_LINK_INIT, F_ENABLE_COMPRESSION, F_ENABLE_AEAD, F_SET_KEY, F_SEND,
    F_ACKED_BEFORE, F_RECV, F_HANDLE_INPUT, F_HANDLE_DATAGRAM, F_POLL_TRANSMIT, F_POLL_TIMEOUT,
    F_HANDLE_TIMEOUT, F_POLL_EVENT, F_IS_UP, F_CLOSE, F_MAX_MESSAGE_FOR_FRAME, F_STATS,
    F_FEC_STORAGE_SIZE, F_ENABLE_FEC, F_BEST_EFFORT_STORAGE_SIZE, F_ENABLE_BEST_EFFORT,
    F_FEC_CONFIG_DEFAULT, F_COUNT
};
static const char *const NAMES[F_COUNT] = {
    "ferrule_version", "ferrule_status_str", "ferrule_link_config_default",
    "ferrule_compression_config_default", "ferrule_link_storage_size",
    "ferrule_compression_storage_size", "ferrule_aead_storage_size", "ferrule_link_max_frame_len",
    "ferrule_max_frame_len", "ferrule_encode", "ferrule_decoder_size", "ferrule_decoder_align",
    "ferrule_decoder_init", "ferrule_decoder_feed", "ferrule_decoder_stats", "ferrule_link_init",
    "ferrule_link_enable_compression", "ferrule_link_enable_aead", "ferrule_link_set_key",
    "ferrule_link_send", "ferrule_link_acked_before", "ferrule_link_recv",
    "ferrule_link_handle_input", "ferrule_link_handle_datagram", "ferrule_link_poll_transmit",
    "ferrule_link_poll_timeout", "ferrule_link_handle_timeout", "ferrule_link_poll_event",
    "ferrule_link_is_up", "ferrule_link_close", "ferrule_link_max_message_for_frame",
    "ferrule_link_stats", "ferrule_fec_storage_size", "ferrule_link_enable_fec",
    "ferrule_best_effort_storage_size", "ferrule_link_enable_best_effort",
    "ferrule_fec_config_default"};
#define CONFIGS 5 /* framing, small, shared, sealed, full */
static const char *const CONFIG_NAMES[CONFIGS] = {"framing", "small", "shared", "sealed", "full"};
static uint32_t peak[F_COUNT], by_config[CONFIGS][F_COUNT];
static uint32_t calls[F_COUNT];
static int config;
static int failures;

static void note(int f, uint32_t used) {
    calls[f]++;
    if (used > peak[f]) peak[f] = used;
    if (used > by_config[config][f]) by_config[config][f] = used;
}

/* lhs call: paint, one call, measure. `lhs` is an assignment prefix ("st =") or empty. */
#define MEASURE(f, lhs, call)                 \
    do {                                      \
        stack_paint(STACK_WINDOW);            \
        lhs(call);                            \
        note((f), stack_used(STACK_WINDOW));  \
    } while (0)

#define CHECK(c)                                                   \
    do {                                                           \
        if (!(c)) {                                                \
            failures++;                                            \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);    \
        }                                                          \
    } while (0)

#define MAX_M 256
#define LINK_BYTES FERRULE_LINK_STORAGE_SIZE(8, MAX_M)
#define COMP_BYTES (48u * 1024u)

typedef struct {
    uint64_t mem[LINK_BYTES / 8];
    uint64_t best_effort[FERRULE_BEST_EFFORT_STORAGE_SIZE(MAX_M) / 8];
    uint64_t comp[COMP_BYTES / 8];
    uint64_t aead[1024 / 8];
    uint64_t fec[16 * 1024 / 8];
    ferrule_link_t *link;
    uint32_t sent, got, bad, offers;
} end_t;

static end_t ends[2];
static uint64_t dec_mem[(FERRULE_DECODER_CAPACITY + 256) / 8];
static uint8_t frame[2048], msg[MAX_M], out[MAX_M], want[MAX_M];
static uint32_t frames_on_wire;

static const uint8_t KEY1[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t KEY2[32] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
                                 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};

/* Message i of direction d: every other one the largest compressible message (telemetry
 * records repeated to max_message), the others short. */
static size_t make(uint32_t i, int d, size_t max, uint8_t *p) {
    char rec[48];
    size_t len = (i % 2 == 0) ? max : 10 + i % 40, k;
    int r = snprintf(rec, sizeof rec, "{\"d\":%d,\"n\":%lu,\"t\":21.%lu,\"s\":\"ok\"}", d,
                     (unsigned long)i, (unsigned long)(i % 10));
    for (k = 0; k < len; k++) p[k] = (uint8_t)rec[k % (size_t)r];
    return len;
}

/* Moves every frame `from` has to `to`, through the lossy wire. */
static void carry(end_t *from, end_t *to, bool datagrams, uint64_t now) {
    ferrule_status st;
    size_t n;
    for (;;) {
        MEASURE(F_POLL_TRANSMIT, st =, ferrule_link_poll_transmit(from->link, now, frame, sizeof frame, &n));
        if (st != FERRULE_OK) break;
        frames_on_wire++;
        if (frames_on_wire % 7 == 0) continue;
        if (frames_on_wire % 13 == 0) frame[n / 2] ^= 0x08;
        if (datagrams) {
            MEASURE(F_HANDLE_DATAGRAM, st =, ferrule_link_handle_datagram(to->link, frame, n, now));
        } else {
            MEASURE(F_HANDLE_INPUT, st =, ferrule_link_handle_input(to->link, frame, n, now));
        }
        CHECK(st == FERRULE_OK);
    }
    CHECK(st == FERRULE_EMPTY);
}

/* Everything an application does on one pass of its loop, for one end. */
static void service(end_t *e, int d, size_t max, bool best_effort, uint64_t now, uint32_t count) {
    ferrule_status st;
    ferrule_event_t ev;
    ferrule_received_t r;
    ferrule_link_stats_t s;
    uint64_t deadline;
    uint32_t id;
    size_t n;
    bool up;
    MEASURE(F_POLL_TIMEOUT, st =, ferrule_link_poll_timeout(e->link, &deadline));
    if (st == FERRULE_OK && deadline <= now) MEASURE(F_HANDLE_TIMEOUT, st =, ferrule_link_handle_timeout(e->link, now));
    for (;;) {
        MEASURE(F_POLL_EVENT, st =, ferrule_link_poll_event(e->link, &ev));
        if (st != FERRULE_OK) break;
    }
    for (;;) {
        MEASURE(F_RECV, st =, ferrule_link_recv(e->link, out, sizeof out, &r));
        if (st == FERRULE_EMPTY) break;
        if (st != FERRULE_OK) {
            e->bad++;
            continue;
        }
        if (r.reliable) {
            size_t wl = make(e->got, 1 - d, max, want);
            if (r.len != wl || memcmp(out, want, wl) != 0) e->bad++;
            e->got++;
        }
    }
    MEASURE(F_IS_UP, up =, ferrule_link_is_up(e->link));
    if (up && e->sent < count) {
        /* Every fifth offer a best-effort message (not counted), else the next reliable one. */
        uint8_t channel = (best_effort && ++e->offers % 5 == 0) ? 7 : 0;
        n = make(e->sent, d, max, msg);
        MEASURE(F_SEND, st =, ferrule_link_send(e->link, channel, msg, n, now, &id));
        if (channel == 0 && st == FERRULE_OK) e->sent++;
    }
    MEASURE(F_ACKED_BEFORE, st =, ferrule_link_acked_before(e->link, &id));
    MEASURE(F_STATS, st =, ferrule_link_stats(e->link, &s));
    MEASURE(F_MAX_MESSAGE_FOR_FRAME, st =, ferrule_link_max_message_for_frame(e->link, 200, &n));
}

/* Runs both ends until both are up again (after a reconfiguration ended the session). */
static uint64_t reconnect(bool datagrams, uint32_t max, bool best_effort, uint64_t now, uint32_t count) {
    uint32_t k;
    for (k = 0; k < 20000 && !(ferrule_link_is_up(ends[0].link) && ferrule_link_is_up(ends[1].link)); k++, now++) {
        service(&ends[0], 0, max, best_effort, now, count);
        service(&ends[1], 1, max, best_effort, now, count);
        carry(&ends[0], &ends[1], datagrams, now);
        carry(&ends[1], &ends[0], datagrams, now);
    }
    CHECK(ferrule_link_is_up(ends[0].link) && ferrule_link_is_up(ends[1].link));
    return now;
}

/* Memory for services enabled again while a session is up (they move to it). */
static struct {
    uint64_t best_effort[FERRULE_BEST_EFFORT_STORAGE_SIZE(MAX_M) / 8];
    uint64_t comp[COMP_BYTES / 8];
    uint64_t aead[1024 / 8];
    uint64_t fec[16 * 1024 / 8];
} moved;

static void scenario(const char *label, const ferrule_link_config_t *cfg, bool best_effort,
                     const ferrule_compression_config_t *z, bool aead) {
    ferrule_status st;
    size_t need, n;
    uint64_t now = 0;
    uint32_t k, count = 100;
    ferrule_link_stats_t s;
    bool datagrams = cfg->transport == FERRULE_TRANSPORT_DATAGRAM, rekeyed = false;
    int i;

    frames_on_wire = 0;
    MEASURE(F_LINK_STORAGE_SIZE, need =, ferrule_link_storage_size(cfg));
    CHECK(need > 0 && need <= LINK_BYTES);
    for (i = 0; i < 2; i++) {
        end_t *e = &ends[i];
        memset(e, 0, sizeof *e);
        MEASURE(F_LINK_INIT, st =, ferrule_link_init(e->mem, sizeof e->mem, cfg, 0x1000u + (uint64_t)i, &e->link));
        CHECK(st == FERRULE_OK);
        if (best_effort) {
            MEASURE(F_BEST_EFFORT_STORAGE_SIZE, need =, ferrule_best_effort_storage_size(cfg->max_message));
            CHECK(need > 0 && need <= sizeof e->best_effort);
            MEASURE(F_ENABLE_BEST_EFFORT, st =, ferrule_link_enable_best_effort(e->link, e->best_effort, sizeof e->best_effort));
            CHECK(st == FERRULE_OK);
        }
        if (z) {
            MEASURE(F_COMPRESSION_STORAGE_SIZE, need =, ferrule_compression_storage_size(z));
            CHECK(need > 0 && need <= sizeof e->comp);
            MEASURE(F_ENABLE_COMPRESSION, st =, ferrule_link_enable_compression(e->link, e->comp, sizeof e->comp, z));
            CHECK(st == FERRULE_OK);
        }
        if (aead) {
            MEASURE(F_AEAD_STORAGE_SIZE, need =, ferrule_aead_storage_size());
            CHECK(need > 0 && need <= sizeof e->aead);
            MEASURE(F_ENABLE_AEAD, st =, ferrule_link_enable_aead(e->link, e->aead, sizeof e->aead, 1, KEY1, 32));
            CHECK(st == FERRULE_OK);
        }
        if (datagrams) {
            ferrule_fec_config_t fc;
            MEASURE(F_FEC_CONFIG_DEFAULT, fc =, ferrule_fec_config_default());
            fc.k = 4;
            MEASURE(F_FEC_STORAGE_SIZE, need =, ferrule_fec_storage_size(&fc, cfg->max_message));
            CHECK(need > 0 && need <= sizeof e->fec);
            MEASURE(F_ENABLE_FEC, st =, ferrule_link_enable_fec(e->link, e->fec, sizeof e->fec, &fc));
            CHECK(st == FERRULE_OK);
        }
    }
    for (k = 0; k < 60000 && (ends[0].got < count || ends[1].got < count); k++, now++) {
        if (aead && !rekeyed && ends[0].got >= 30) {
            rekeyed = true;
            MEASURE(F_SET_KEY, st =, ferrule_link_set_key(ends[0].link, 2, KEY2, 32));
            CHECK(st == FERRULE_OK);
            MEASURE(F_SET_KEY, st =, ferrule_link_set_key(ends[1].link, 2, KEY2, 32));
            CHECK(st == FERRULE_OK);
        }
        service(&ends[0], 0, cfg->max_message, best_effort, now, count);
        service(&ends[1], 1, cfg->max_message, best_effort, now, count);
        carry(&ends[0], &ends[1], datagrams, now);
        carry(&ends[1], &ends[0], datagrams, now);
    }
    CHECK(ends[0].got == count && ends[1].got == count && ends[0].bad == 0 && ends[1].bad == 0);
    CHECK(ferrule_link_stats(ends[0].link, &s) == FERRULE_OK);
    if (z) CHECK(s.compressed > 0 && s.compress_bytes_out < s.compress_bytes_in);
    if (aead) CHECK(s.sessions >= 1);
    CHECK(s.retransmissions > 0);
    /* Each service enabled again while the session is up (documented: the session ends
     * first, which is the deeper path), moving to new memory; then the ends reconnect. */
    if (best_effort) {
        now = reconnect(datagrams, cfg->max_message, best_effort, now, count);
        MEASURE(F_ENABLE_BEST_EFFORT, st =, ferrule_link_enable_best_effort(ends[1].link, moved.best_effort, sizeof moved.best_effort));
        CHECK(st == FERRULE_OK);
    }
    if (z) {
        now = reconnect(datagrams, cfg->max_message, best_effort, now, count);
        MEASURE(F_ENABLE_COMPRESSION, st =, ferrule_link_enable_compression(ends[1].link, moved.comp, sizeof moved.comp, z));
        CHECK(st == FERRULE_OK);
    }
    if (aead) {
        now = reconnect(datagrams, cfg->max_message, best_effort, now, count);
        MEASURE(F_ENABLE_AEAD, st =, ferrule_link_enable_aead(ends[1].link, moved.aead, sizeof moved.aead, 2, KEY2, 32));
        CHECK(st == FERRULE_OK);
    }
    if (datagrams) {
        ferrule_fec_config_t fc = ferrule_fec_config_default();
        fc.k = 4;
        now = reconnect(datagrams, cfg->max_message, best_effort, now, count);
        MEASURE(F_ENABLE_FEC, st =, ferrule_link_enable_fec(ends[1].link, moved.fec, sizeof moved.fec, &fc));
        CHECK(st == FERRULE_OK);
    }
    now = reconnect(datagrams, cfg->max_message, best_effort, now, count);
    MEASURE(F_CLOSE, st =, ferrule_link_close(ends[0].link, now));
    carry(&ends[0], &ends[1], datagrams, now);
    MEASURE(F_LINK_MAX_FRAME_LEN, n =, ferrule_link_max_frame_len(cfg->max_message));
    (void)n;
    printf("stack-config %s: %lu + %lu messages, %lu frames, %lu retransmissions\n", label,
           (unsigned long)ends[0].got, (unsigned long)ends[1].got, (unsigned long)frames_on_wire,
           (unsigned long)s.retransmissions);
}

/* Framing: the largest frame through encode and the decoder (4 KiB buffer inside). */
static void framing(void) {
    static uint8_t payload[FERRULE_MAX_PAYLOAD], wire[FERRULE_MAX_PAYLOAD + 64];
    ferrule_header_t h;
    ferrule_decoder_t *dec = NULL;
    ferrule_frame_t f;
    ferrule_decoder_stats_t ds;
    ferrule_status st;
    size_t n = 0, used = 0, off;
    const char *s;
    memset(&h, 0, sizeof h);
    h.kind = FERRULE_KIND_RDATA;
    h.has_seq = 1;
    h.has_ack = 1;
    h.has_sack = 1;
    h.has_ts = 1;
    h.has_echo = 1;
    h.has_fec = 1;
    memset(payload, 0x5A, sizeof payload);
    MEASURE(F_MAX_FRAME_LEN, n =, ferrule_max_frame_len(sizeof payload, true));
    MEASURE(F_ENCODE, st =, ferrule_encode(&h, payload, sizeof payload, true, true, wire, sizeof wire, &n));
    CHECK(st == FERRULE_OK);
    MEASURE(F_DECODER_SIZE, used =, ferrule_decoder_size());
    MEASURE(F_DECODER_ALIGN, used =, ferrule_decoder_align());
    MEASURE(F_DECODER_INIT, st =, ferrule_decoder_init(dec_mem, sizeof dec_mem, &dec));
    CHECK(st == FERRULE_OK);
    for (off = 0; off < n; off += used) {
        MEASURE(F_DECODER_FEED, st =, ferrule_decoder_feed(dec, wire + off, n - off, &used, &f));
    }
    CHECK(st == FERRULE_OK && f.payload_len == sizeof payload);
    MEASURE(F_DECODER_STATS, st =, ferrule_decoder_stats(dec, &ds));
    MEASURE(F_VERSION, s =, ferrule_version());
    MEASURE(F_STATUS_STR, s =, ferrule_status_str(FERRULE_ERR_BAD_CRC));
    (void)s;
}

int main(void) {
    ferrule_link_config_t small, full;
    ferrule_compression_config_t shared, every;
    int f, over = 0;

    MEASURE(F_LINK_CONFIG_DEFAULT, small =, ferrule_link_config_default());
    MEASURE(F_COMPRESSION_CONFIG_DEFAULT, shared =, ferrule_compression_config_default());
    shared.reliable = FERRULE_MODE_SHARED;
    full = small;
    full.window = 8;
    full.max_message = MAX_M;
    full.transport = FERRULE_TRANSPORT_DATAGRAM;
    full.reliable_channels = 1;
    full.rto_initial_ms = 100;
    small.rto_initial_ms = 100;
    every = shared;
    every.unreliable = FERRULE_MODE_PER_MESSAGE;
    every.receive = FERRULE_RECEIVE_PER_MESSAGE | FERRULE_RECEIVE_SHARED | FERRULE_RECEIVE_DYNAMIC;
    every.receive_window_bits = 15;

    config = 0;
    framing();
    config = 1;
    scenario("small", &small, false, NULL, false);
    config = 2;
    scenario("shared", &small, true, &shared, false);
    config = 3;
    scenario("sealed", &small, true, &shared, true);
    config = 4;
    scenario("full", &full, true, &every, true);

    for (f = 0; f < F_COUNT; f++) {
        int c;
        printf("stack %s %lu (%lu calls; by configuration:", NAMES[f], (unsigned long)peak[f],
               (unsigned long)calls[f]);
        for (c = 0; c < CONFIGS; c++) {
            if (by_config[c][f]) printf(" %s %lu", CONFIG_NAMES[c], (unsigned long)by_config[c][f]);
        }
        printf(")\n");
        if (calls[f] == 0) {
            printf("FAIL: %s never measured\n", NAMES[f]);
            failures++;
        }
        if (peak[f] >= STACK_WINDOW) over = 1;
    }
    if (over) {
        printf("FAIL: a call used the whole %u-byte measurement window\n", STACK_WINDOW);
        failures++;
    }
    printf("stack measurement: %d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
