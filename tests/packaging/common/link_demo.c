/*
 * Two links in one program over an in-memory wire that loses and corrupts frames: both ends
 * send DEMO_MESSAGES reliable messages, every one must arrive once, in order, intact. Every
 * call's status is checked. The configuration comes from ferrule_defaults.h, so the build
 * system's FERRULE_CONFIG_* definitions (window, compression, AEAD) are what runs.
 *
 * This is the one file of the packaging tests that drives the link API.
 */
#include <string.h>

#include "demo.h"
#include "ferrule_defaults.h"

#ifndef FERRULE_DEMO_LINK
#define FERRULE_DEMO_LINK 1
#endif

#if FERRULE_DEMO_LINK

#ifndef DEMO_MESSAGES
#define DEMO_MESSAGES 100
#endif

/* Each end: the link, its compression and its AEAD state, in static memory. The compression
 * and AEAD blocks are sized generously here and checked against the library's numbers. */
#define CODEC_MEM 6144
#define AEAD_MEM 512
#define FRAME_CAP (FERRULE_CONFIG_MAX_MESSAGE + 128)
static uint64_t mem_a[FERRULE_CONFIG_LINK_STORAGE_SIZE / 8], mem_b[FERRULE_CONFIG_LINK_STORAGE_SIZE / 8];
#if FERRULE_CONFIG_COMPRESSION != FERRULE_MODE_OFF
static uint64_t codec_a[CODEC_MEM / 8], codec_b[CODEC_MEM / 8];
#endif
#if FERRULE_CONFIG_AEAD
static uint64_t aead_a[AEAD_MEM / 8], aead_b[AEAD_MEM / 8];
#endif

typedef struct {
    ferrule_link_t *link;
    unsigned sent, received, up;
} end_t;

static uint32_t wire_rng = 0x2545F491u; /* fixed seed: the same losses every run */
static unsigned lost, corrupted;

static int message(unsigned from, unsigned seq, uint8_t *out) {
    return snprintf((char *)out, FERRULE_CONFIG_MAX_MESSAGE,
                    "{\"from\":%u,\"seq\":%u,\"temp\":21.%02u,\"rh\":40.%u,\"status\":\"ok\"}",
                    from, seq, seq % 100, seq % 10);
}

/* Moves every frame `from` has to `to`: about 1 in 8 lost, 1 in 40 with a flipped bit, the
 * rest delivered in 7-byte pieces as a UART would. Returns the frames moved. */
static unsigned pump(end_t *from, end_t *to, uint64_t now) {
    static uint8_t frame[FRAME_CAP];
    size_t n = 0, off;
    unsigned frames = 0;
    ferrule_status st;
    while ((st = ferrule_link_poll_transmit(from->link, now, frame, sizeof frame, &n)) == FERRULE_OK) {
        frames++;
        wire_rng = wire_rng * 1664525u + 1013904223u;
        if ((wire_rng >> 24) % 8 == 0) {
            lost++;
            continue;
        }
        if ((wire_rng >> 16) % 40 == 0 && n > 4) {
            frame[n / 2] ^= 0x01;
            corrupted++;
        }
        for (off = 0; off < n; off += 7)
            CHECK_STATUS(ferrule_link_handle_input(to->link, frame + off, n - off < 7 ? n - off : 7, now),
                         FERRULE_OK);
    }
    CHECK_STATUS(st, FERRULE_EMPTY);
    return frames;
}

/* Takes what `at` received from end number `peer`, checking order and contents. */
static unsigned drain(end_t *at, unsigned peer) {
    uint8_t out[FERRULE_CONFIG_MAX_MESSAGE], want[FERRULE_CONFIG_MAX_MESSAGE];
    ferrule_received_t r;
    ferrule_event_t ev;
    ferrule_status st;
    unsigned got = 0;
    while ((st = ferrule_link_recv(at->link, out, sizeof out, &r)) == FERRULE_OK) {
        int len = message(peer, at->received, want);
        CHECK(r.channel == 0 && r.reliable);
        CHECK(r.len == (size_t)len && memcmp(out, want, r.len) == 0);
        at->received++;
        got++;
    }
    CHECK_STATUS(st, FERRULE_EMPTY);
    while ((st = ferrule_link_poll_event(at->link, &ev)) == FERRULE_OK) {
        CHECK(ev.kind == FERRULE_EVENT_UP); /* no session may go down in this run */
        at->up++;
    }
    CHECK_STATUS(st, FERRULE_EMPTY);
    return got;
}

static unsigned offer(end_t *e, unsigned self, uint64_t now) {
    uint8_t msg[FERRULE_CONFIG_MAX_MESSAGE];
    uint32_t id = 0;
    ferrule_status st;
    if (!ferrule_link_is_up(e->link) || e->sent == DEMO_MESSAGES) return 0;
    st = ferrule_link_send(e->link, 0, msg, (size_t)message(self, e->sent, msg), now, &id);
    if (st == FERRULE_ERR_FULL) return 0; /* window full: offered again later */
    CHECK_STATUS(st, FERRULE_OK);
    CHECK(id == e->sent); /* reliable messages are numbered from 0 */
    e->sent++;
    return 1;
}

static void report(const char *name, end_t *e) {
    ferrule_link_stats_t s;
    CHECK_STATUS(ferrule_link_stats(e->link, &s), FERRULE_OK);
    CHECK(s.delivered_reliable == DEMO_MESSAGES && s.sent_reliable == DEMO_MESSAGES);
    CHECK(s.link_downs == 0 && s.auth_failed == 0 && s.decompress_failed == 0);
    if (FERRULE_CONFIG_COMPRESSION != FERRULE_MODE_OFF)
        CHECK(s.compressed > 0 && s.compress_bytes_out < s.compress_bytes_in);
    printf("link %s: sent %u, delivered %u, retransmissions %u, frames rejected %u, "
           "wire %lu B, compressed %lu -> %lu B\n",
           name, (unsigned)s.sent_reliable, (unsigned)s.delivered_reliable,
           (unsigned)s.retransmissions, (unsigned)(s.framing.bad_crc + s.framing.malformed),
           (unsigned long)s.bytes_sent, (unsigned long)s.compress_bytes_in,
           (unsigned long)s.compress_bytes_out);
}

void link_demo(void) {
    static const uint8_t key[FERRULE_KEY_LEN] = "ferrule packaging demo key 0123";
    ferrule_link_config_t cfg = ferrule_link_config_from_build();
    ferrule_compression_config_t zcfg = ferrule_compression_config_from_build();
    end_t a = {0}, b = {0};
    uint64_t now = 0;
    unsigned steps;

    /* The macro and the function agree; the static blocks are large enough. */
    CHECK(ferrule_link_storage_size(&cfg) == sizeof mem_a);
    CHECK(ferrule_link_max_frame_len(cfg.max_message) <= FRAME_CAP);
    CHECK_STATUS(ferrule_link_init(mem_a, sizeof mem_a, &cfg, 0xA11CEull << 32 | 1, &a.link), FERRULE_OK);
    CHECK_STATUS(ferrule_link_init(mem_b, sizeof mem_b, &cfg, 0xB0Bull << 32 | 1, &b.link), FERRULE_OK);
    if (a.link == NULL || b.link == NULL) return;
#if FERRULE_CONFIG_COMPRESSION != FERRULE_MODE_OFF
    CHECK(ferrule_compression_storage_size(&zcfg) <= sizeof codec_a);
    CHECK_STATUS(ferrule_link_enable_compression(a.link, codec_a, sizeof codec_a, &zcfg), FERRULE_OK);
    CHECK_STATUS(ferrule_link_enable_compression(b.link, codec_b, sizeof codec_b, &zcfg), FERRULE_OK);
#endif
#if FERRULE_CONFIG_AEAD
    CHECK(ferrule_aead_storage_size() <= sizeof aead_a);
    CHECK_STATUS(ferrule_link_enable_aead(a.link, aead_a, sizeof aead_a, 1, key, sizeof key), FERRULE_OK);
    CHECK_STATUS(ferrule_link_enable_aead(b.link, aead_b, sizeof aead_b, 1, key, sizeof key), FERRULE_OK);
#else
    (void)key;
#endif
    for (steps = 0; steps < 100000; steps++) {
        unsigned progress = offer(&a, 1, now) + offer(&b, 2, now);
        progress += pump(&a, &b, now) + pump(&b, &a, now);
        progress += drain(&b, 1) + drain(&a, 2);
        if (a.received == DEMO_MESSAGES && b.received == DEMO_MESSAGES) break;
        if (progress == 0) {
            /* Idle: jump to the earlier timer of the two (sans-IO: time is the caller's). */
            uint64_t da = 0, db = 0, next = now + 1000;
            ferrule_status sa = ferrule_link_poll_timeout(a.link, &da);
            ferrule_status sb = ferrule_link_poll_timeout(b.link, &db);
            CHECK(sa == FERRULE_OK || sa == FERRULE_EMPTY);
            CHECK(sb == FERRULE_OK || sb == FERRULE_EMPTY);
            if (sa == FERRULE_OK && da < next) next = da;
            if (sb == FERRULE_OK && db < next) next = db;
            now = next > now ? next : now + 1;
            CHECK_STATUS(ferrule_link_handle_timeout(a.link, now), FERRULE_OK);
            CHECK_STATUS(ferrule_link_handle_timeout(b.link, now), FERRULE_OK);
        }
    }
    CHECK(a.received == DEMO_MESSAGES && b.received == DEMO_MESSAGES);
    CHECK(a.up == 1 && b.up == 1);
    CHECK(lost > 0 && corrupted > 0);
    printf("link: window %u, compression %u, aead %u: %u + %u messages in %u steps, %lu ms; "
           "wire lost %u frames, corrupted %u\n",
           (unsigned)cfg.window, (unsigned)zcfg.reliable, (unsigned)FERRULE_CONFIG_AEAD,
           b.received, a.received, steps, (unsigned long)now, lost, corrupted);
    report("a", &a);
    report("b", &b);
}

#else

void link_demo(void) { printf("link: left out of this build\n"); }

#endif
