/*
 * Host C test of the whole C API: every function, with valid input, NULL pointers, short
 * buffers, misaligned memory, invalid configurations and garbage. Built with -Wall -Wextra
 * -Wpedantic -Werror, once as C11 and once as C++17, under AddressSanitizer and UBSan (see
 * scripts/test-c.sh). Built with -DFERRULE_TEST_NO_AEAD against a library without the `aead`
 * feature, it checks that every AEAD entry point says FERRULE_ERR_UNSUPPORTED instead.
 */
#include "ferrule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* The largest link these tests make: 8 messages of up to 256 bytes, best effort. */
#define BIG_WINDOW 8
#define BIG_MESSAGE 256
#define LINK_WORDS (FERRULE_LINK_STORAGE_SIZE(BIG_WINDOW, BIG_MESSAGE) / 8)
#define BE_WORDS (FERRULE_BEST_EFFORT_STORAGE_SIZE(BIG_MESSAGE) / 8)
/* Compression blocks: the largest configuration used below fits (checked). */
#define COMP_WORDS (48u * 1024u / 8u)
#define AEAD_WORDS (2048u / 8u)
#define FRAME_CAP 1024u

/* One endpoint: its link block, best-effort block, compression block and AEAD block, all
 * static (no malloc), 8-byte aligned because they are arrays of uint64_t. */
typedef struct {
    uint64_t mem[LINK_WORDS];
    uint64_t be[BE_WORDS];
    uint64_t comp[COMP_WORDS];
    uint64_t aead[AEAD_WORDS];
    ferrule_link_t *link;
} endpoint_t;

static endpoint_t ep_a, ep_b;
static uint64_t dec_mem[(FERRULE_DECODER_CAPACITY + 256) / 8];

static const uint8_t K1[FERRULE_KEY_LEN] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                            12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                            23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t DICT[] = "{\"seq\":1,\"temp\":21.5,\"rh\":40.2,\"status\":\"ok\"}";

static void test_version_and_status(void) {
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", FERRULE_VERSION_MAJOR, FERRULE_VERSION_MINOR,
             FERRULE_VERSION_PATCH);
    CHECK(strcmp(ferrule_version(), want) == 0);
    CHECK(strcmp(ferrule_status_str(FERRULE_OK), "ok") == 0);
    CHECK(strcmp(ferrule_status_str(FERRULE_ERR_BAD_CRC), "CRC mismatch") == 0);
    CHECK(strcmp(ferrule_status_str(12345u), "unknown status") == 0);
    CHECK(strlen(ferrule_status_str(FERRULE_ERR_UNSUPPORTED)) > 0);
    CHECK(strlen(ferrule_status_str(FERRULE_ERR_DECOMPRESS)) > 0);
    CHECK(sizeof(ferrule_status) == 4);
    CHECK(FERRULE_MEMORY_ALIGN == 8 && FERRULE_KEY_LEN == 32);
}

static void test_framing(void) {
    ferrule_header_t h, h2;
    uint8_t payload[40];
    uint8_t wire[160];
    size_t n = 0, consumed = 0;
    ferrule_decoder_t *dec = NULL;
    ferrule_frame_t f;
    size_t i;

    memset(&h, 0, sizeof h);
    h.kind = FERRULE_KIND_RDATA;
    h.channel = 3;
    h.session = 0x5A;
    h.has_seq = 1;
    h.seq = 0xBEEF;
    h.has_ack = 1;
    h.ack_next = 7;
    h.ack_window = 4;
    h.has_sack = 1;
    h.sack = 0x5;
    h.has_ts = 1;
    h.ts = 1234;
    h.has_echo = 1;
    h.echo_ts = 999;
    h.echo_hold = 3;
    h.has_fec = 1;
    h.fec_seq = 42;
    for (i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i % 3 == 0 ? 0 : i);

    /* Worst-case sizes: header (up to 26 B) + payload + CRC; COBS adds delimiters. */
    CHECK(ferrule_max_frame_len(40, false) == 40 + 30);
    CHECK(ferrule_max_frame_len(40, true) > ferrule_max_frame_len(40, false));
    CHECK(ferrule_max_frame_len(FERRULE_MAX_PAYLOAD, false) > 0);
    CHECK(ferrule_max_frame_len(FERRULE_MAX_PAYLOAD + 1, true) == 0);

    /* Encode: errors first; outputs untouched on failure. */
    n = 777;
    CHECK_STATUS(ferrule_encode(NULL, payload, sizeof payload, true, false, wire, sizeof wire, &n), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_encode(&h, NULL, 5, true, false, wire, sizeof wire, &n), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_encode(&h, payload, sizeof payload, true, false, NULL, sizeof wire, &n), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_encode(&h, payload, sizeof payload, true, false, wire, sizeof wire, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_encode(&h, payload, sizeof payload, true, false, wire, 10, &n), FERRULE_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(ferrule_encode(&h, payload, sizeof payload, false, false, wire, 10, &n), FERRULE_ERR_BUFFER_TOO_SMALL);
    CHECK(n == 777);
    h2 = h;
    h2.kind = 9;
    CHECK_STATUS(ferrule_encode(&h2, payload, sizeof payload, true, false, wire, sizeof wire, &n), FERRULE_ERR_INVALID_ARGUMENT);
    h2 = h;
    h2.compression = 9;
    CHECK_STATUS(ferrule_encode(&h2, payload, sizeof payload, true, false, wire, sizeof wire, &n), FERRULE_ERR_INVALID_ARGUMENT);
    h2 = h;
    h2.has_ack = 0; /* a selective ack and an echo need the ack fields */
    CHECK_STATUS(ferrule_encode(&h2, payload, sizeof payload, true, false, wire, sizeof wire, &n), FERRULE_ERR_INVALID_ARGUMENT);
    CHECK(n == 777);
    {
        static uint8_t big[FERRULE_MAX_PAYLOAD + 1];
        static uint8_t big_out[FERRULE_MAX_PAYLOAD + 128];
        memset(&h2, 0, sizeof h2);
        h2.kind = FERRULE_KIND_DATA;
        CHECK_STATUS(ferrule_encode(&h2, big, sizeof big, false, false, big_out, sizeof big_out, &n), FERRULE_ERR_TOO_LARGE);
    }
    /* A datagram: exactly header + payload + CRC. */
    CHECK_STATUS(ferrule_encode(&h, payload, sizeof payload, false, false, wire, sizeof wire, &n), FERRULE_OK);
    CHECK(n > sizeof payload + 4 && n <= ferrule_max_frame_len(sizeof payload, false));
    /* A stream frame with both delimiters. */
    CHECK_STATUS(ferrule_encode(&h, payload, sizeof payload, true, true, wire, sizeof wire, &n), FERRULE_OK);
    CHECK(n > sizeof payload && n <= ferrule_max_frame_len(sizeof payload, true));
    CHECK(wire[0] == 0 && wire[n - 1] == 0);
    for (i = 1; i + 1 < n; i++) CHECK(wire[i] != 0);

    /* Decoder in caller memory. */
    CHECK(ferrule_decoder_size() <= sizeof dec_mem);
    CHECK(ferrule_decoder_align() <= FERRULE_MEMORY_ALIGN);
    CHECK_STATUS(ferrule_decoder_init(NULL, sizeof dec_mem, &dec), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_decoder_init(dec_mem, sizeof dec_mem, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_decoder_init(dec_mem, 16, &dec), FERRULE_ERR_MEMORY_TOO_SMALL);
    if (ferrule_decoder_align() > 1)
        CHECK_STATUS(ferrule_decoder_init((uint8_t *)dec_mem + 1, sizeof dec_mem - 8, &dec), FERRULE_ERR_MEMORY_ALIGNMENT);
    CHECK(dec == NULL); /* outputs untouched on failure */
    CHECK_STATUS(ferrule_decoder_init(dec_mem, sizeof dec_mem, &dec), FERRULE_OK);
    CHECK(dec != NULL);

    /* One byte at a time, as from a UART interrupt: every field comes back. */
    {
        int frames = 0;
        for (i = 0; i < n; i++) {
            ferrule_status st = ferrule_decoder_feed(dec, &wire[i], 1, &consumed, &f);
            CHECK(consumed == 1);
            if (st == FERRULE_OK) {
                frames++;
                CHECK(memcmp(&f.header, &h, sizeof h) == 0);
                CHECK(f.payload_len == sizeof payload && memcmp(f.payload, payload, sizeof payload) == 0);
            } else {
                CHECK(st == FERRULE_EMPTY);
            }
        }
        CHECK(frames == 1);
    }
    /* A flipped bit: rejected and counted, never delivered. */
    wire[5] ^= 0x10;
    {
        size_t off = 0;
        while (off < n) {
            ferrule_status st = ferrule_decoder_feed(dec, wire + off, n - off, &consumed, &f);
            CHECK(st != FERRULE_OK);
            off += consumed;
        }
    }
    /* Garbage: never a frame that was not sent. */
    {
        uint32_t x = 12345;
        uint8_t junk[512];
        for (i = 0; i < sizeof junk; i++) {
            x = x * 1103515245u + 12345u;
            junk[i] = (uint8_t)(x >> 16);
        }
        for (i = 0; i < sizeof junk;) {
            ferrule_status st = ferrule_decoder_feed(dec, junk + i, sizeof junk - i, &consumed, &f);
            CHECK(st != FERRULE_OK);
            CHECK(consumed > 0);
            i += consumed;
        }
    }
    /* A decoder sized for this payload (state, then a buffer large enough): takes the frame;
     * less memory than an empty frame needs is refused; a decoder with room for empty frames
     * only discards this one whole and counts it. */
    {
        static uint64_t small_mem[FERRULE_DECODER_STORAGE_SIZE(sizeof payload) / 8];
        ferrule_decoder_t *small = NULL;
        ferrule_decoder_stats_t ds;
        size_t off = 0;
        int frames = 0;
        wire[5] ^= 0x10; /* undo the flipped bit */
        CHECK(ferrule_decoder_storage_size(sizeof payload) == sizeof small_mem);
        CHECK(ferrule_decoder_storage_size(0) >= FERRULE_DECODER_STATE_SIZE + FERRULE_FRAME_BODY_OVERHEAD);
        CHECK_STATUS(ferrule_decoder_init(small_mem, FERRULE_DECODER_STATE_SIZE + FERRULE_FRAME_BODY_OVERHEAD - 1, &small),
                     FERRULE_ERR_MEMORY_TOO_SMALL);
        CHECK(small == NULL);
        CHECK_STATUS(ferrule_decoder_init(small_mem, sizeof small_mem, &small), FERRULE_OK);
        while (off < n) {
            ferrule_status st = ferrule_decoder_feed(small, wire + off, n - off, &consumed, &f);
            if (st == FERRULE_OK) {
                frames++;
                CHECK(f.payload_len == sizeof payload && memcmp(f.payload, payload, sizeof payload) == 0);
            }
            off += consumed;
        }
        CHECK(frames == 1);
        CHECK_STATUS(ferrule_decoder_init(small_mem, FERRULE_DECODER_STATE_SIZE + FERRULE_FRAME_BODY_OVERHEAD, &small), FERRULE_OK);
        for (off = 0; off < n; off += consumed)
            CHECK(ferrule_decoder_feed(small, wire + off, n - off, &consumed, &f) != FERRULE_OK);
        CHECK_STATUS(ferrule_decoder_stats(small, &ds), FERRULE_OK);
        CHECK(ds.oversize == 1 && ds.frames_ok == 0);
    }
    CHECK_STATUS(ferrule_decoder_feed(NULL, wire, n, &consumed, &f), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_decoder_feed(dec, NULL, 3, &consumed, &f), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_decoder_feed(dec, wire, n, NULL, &f), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_decoder_feed(dec, wire, n, &consumed, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_decoder_feed(dec, NULL, 0, &consumed, &f), FERRULE_EMPTY);
    {
        ferrule_decoder_stats_t s;
        CHECK_STATUS(ferrule_decoder_stats(dec, &s), FERRULE_OK);
        CHECK(s.frames_ok == 1);
        CHECK(s.bad_crc + s.malformed + s.too_short + s.oversize + s.bad_flags + s.bad_version +
                  s.unknown_kind + s.truncated_header >= 1);
        CHECK(s.bytes_in >= 2 * n);
        CHECK_STATUS(ferrule_decoder_stats(NULL, &s), FERRULE_ERR_NULL);
        CHECK_STATUS(ferrule_decoder_stats(dec, NULL), FERRULE_ERR_NULL);
    }
}

/* ------------------------------------------------------------------ sizes and configuration */

static ferrule_link_config_t config(uint8_t window, uint16_t max_message) {
    ferrule_link_config_t c = ferrule_link_config_default();
    c.window = window;
    c.max_message = max_message;
    return c;
}

static void test_sizes(void) {
    ferrule_link_config_t c = ferrule_link_config_default();
    ferrule_compression_config_t z = ferrule_compression_config_default();
    size_t base;

    /* Every default, as documented. */
    CHECK(c.transport == FERRULE_TRANSPORT_STREAM && !c.leading_delimiter);
    CHECK(c.window == 4 && c.receive_window == 0 && c.max_message == 128);
    CHECK(c.max_retransmits == 20 && c.reliable_channels == 1u);
    CHECK(c.rto_initial_ms == 1000 && c.rto_min_ms == 20 && c.rto_max_ms == 4000);
    CHECK(c.ack_delay_ms == 5 && c.keepalive_ms == 1000 && c.dupthresh == 2);
    CHECK(c.reserved[0] == 0 && c.reserved[1] == 0 && c.reserved[2] == 0);
    CHECK(z.reliable == FERRULE_MODE_OFF && z.unreliable == FERRULE_MODE_OFF);
    CHECK(z.receive == (FERRULE_RECEIVE_PER_MESSAGE | FERRULE_RECEIVE_SHARED));
    CHECK(z.receive_window_bits == 10 && z.send_window_bits == 10 && z.dictionary_id == 0);
    CHECK(z.dictionary == NULL && z.dictionary_len == 0);

    /* The function and the macro agree, for several configurations. */
    CHECK(ferrule_link_storage_size(&c) == FERRULE_LINK_STORAGE_SIZE(4, 128));
#define SAME(w, m)                                                                         \
    do {                                                                                   \
        ferrule_link_config_t c_ = config(w, m);                                           \
        CHECK(ferrule_link_storage_size(&c_) == FERRULE_LINK_STORAGE_SIZE(w, m));          \
        CHECK(FERRULE_LINK_STORAGE_SIZE(w, m) % 8 == 0);                                   \
        CHECK(ferrule_best_effort_storage_size(m) == FERRULE_BEST_EFFORT_STORAGE_SIZE(m)); \
        CHECK(FERRULE_BEST_EFFORT_STORAGE_SIZE(m) % 8 == 0);                               \
        CHECK(FERRULE_BEST_EFFORT_STORAGE_SIZE(m) >= 2u * (m));                            \
    } while (0)
    SAME(1, 1);
    SAME(4, 128);
    SAME(8, 256);
    SAME(16, 64);
    SAME(3, 1000);
    SAME(3, 1001);
    SAME(255, 4096);
#undef SAME
    /* More window or larger messages take more memory; best effort takes 2 x max_message. */
    {
        ferrule_link_config_t a = config(4, 128), b = config(5, 128);
        CHECK(ferrule_link_storage_size(&b) > ferrule_link_storage_size(&a));
        CHECK(ferrule_best_effort_storage_size(128) == 256);
    }
    CHECK(ferrule_link_max_frame_len(128) > 128 && ferrule_link_max_frame_len(128) < 256);
    CHECK(ferrule_link_max_frame_len(4096) > ferrule_link_max_frame_len(128));

    /* Invalid configurations size to 0. */
    CHECK(ferrule_link_storage_size(NULL) == 0);
#define INVALID(field, value)                                                              \
    do {                                                                                   \
        ferrule_link_config_t c_ = ferrule_link_config_default();                          \
        c_.field = value;                                                                  \
        CHECK(ferrule_link_storage_size(&c_) == 0);                                        \
    } while (0)
    INVALID(transport, 7);
    INVALID(window, 0);
    INVALID(max_message, 0);
    INVALID(max_message, FERRULE_MAX_MESSAGE + 1);
    INVALID(rto_initial_ms, 0);
    INVALID(rto_min_ms, 0);
    INVALID(rto_min_ms, 5000); /* above rto_max_ms */
    INVALID(dupthresh, 0);
    INVALID(receive_window, 5); /* above window (4) */
    INVALID(reserved[0], 1);
    INVALID(reserved[2], 0x80);
#undef INVALID

    /* Compression: only what the configuration uses is counted. */
    CHECK(ferrule_compression_storage_size(NULL) == 0);
    base = ferrule_compression_storage_size(&z); /* receives shared: a 1 KiB ring */
    CHECK(base > 1024);
    {
        ferrule_compression_config_t y = z;
        y.receive = FERRULE_RECEIVE_PER_MESSAGE; /* no ring */
        CHECK(ferrule_compression_storage_size(&y) > 0 && ferrule_compression_storage_size(&y) < base);
        y.receive = FERRULE_RECEIVE_PER_MESSAGE | FERRULE_RECEIVE_SHARED | FERRULE_RECEIVE_DYNAMIC;
        CHECK(ferrule_compression_storage_size(&y) > base + 600);
        y = z;
        y.receive_window_bits = 8;
        CHECK(ferrule_compression_storage_size(&y) == base - 1024 + 256);
        y = z;
        y.reliable = FERRULE_MODE_SHARED; /* one compressor */
        CHECK(ferrule_compression_storage_size(&y) > base + 3000);
        y.unreliable = FERRULE_MODE_PER_MESSAGE; /* and another */
        CHECK(ferrule_compression_storage_size(&y) > base + 6000);
        y.send_window_bits = 8; /* smaller compressors */
        CHECK(ferrule_compression_storage_size(&y) < base + 4000);
        CHECK(ferrule_compression_storage_size(&y) % 8 == 0);
    }
    {
        /* FERRULE_COMPRESSION_STORAGE_SIZE gives the function's number for every valid
         * configuration without a dictionary. */
        static const uint8_t modes[] = {FERRULE_MODE_OFF, FERRULE_MODE_PER_MESSAGE, FERRULE_MODE_SHARED};
        unsigned r, u, rcv, tx_bits, rx_bits, checked = 0;
        CHECK(FERRULE_COMPRESSION_STORAGE_SIZE(1, 9, 9, 0) == 3456 ||
              sizeof(void *) != 4); /* the README's 16 KiB figure */
        for (r = 0; r < 3; r++)
            for (u = 0; u < 3; u++)
                for (rcv = 0; rcv < 8; rcv++)
                    for (tx_bits = 8; tx_bits <= 10; tx_bits++)
                        for (rx_bits = 8; rx_bits <= 15; rx_bits++) {
                            ferrule_compression_config_t y = ferrule_compression_config_default();
                            unsigned compressors, shared_rx, dynamic;
                            y.reliable = modes[r];
                            y.unreliable = modes[u];
                            y.receive = (uint8_t)rcv;
                            y.send_window_bits = (uint8_t)tx_bits;
                            y.receive_window_bits = (uint8_t)rx_bits;
                            compressors = (modes[r] == FERRULE_MODE_SHARED) +
                                          (modes[r] == FERRULE_MODE_PER_MESSAGE || modes[u] != FERRULE_MODE_OFF);
                            shared_rx = (rcv & FERRULE_RECEIVE_SHARED) ? rx_bits : 0;
                            dynamic = (rcv & FERRULE_RECEIVE_DYNAMIC) &&
                                      (rcv & (FERRULE_RECEIVE_PER_MESSAGE | FERRULE_RECEIVE_SHARED));
                            CHECK(ferrule_compression_storage_size(&y) ==
                                  FERRULE_COMPRESSION_STORAGE_SIZE(compressors, tx_bits, shared_rx, dynamic));
                            checked++;
                        }
        CHECK(checked == 3 * 3 * 8 * 3 * 8);
    }
#define ZINVALID(field, value)                                                             \
    do {                                                                                   \
        ferrule_compression_config_t z_ = ferrule_compression_config_default();            \
        z_.reliable = FERRULE_MODE_SHARED;                                                 \
        z_.field = value;                                                                  \
        CHECK(ferrule_compression_storage_size(&z_) == 0);                                 \
    } while (0)
    ZINVALID(reliable, 9);
    ZINVALID(reserved[1], 1);
    ZINVALID(unreliable, 4);
    ZINVALID(receive, 8);
    ZINVALID(receive_window_bits, 7);
    ZINVALID(receive_window_bits, 16);
    ZINVALID(send_window_bits, 7);
    ZINVALID(send_window_bits, 11);
    ZINVALID(reliable, FERRULE_MODE_DICTIONARY); /* no dictionary configured */
#undef ZINVALID
    {
        ferrule_compression_config_t y = ferrule_compression_config_default();
        y.dictionary_len = 5; /* with no dictionary id the bytes are ignored */
        CHECK(ferrule_compression_storage_size(&y) == base);
        y.dictionary_id = 5; /* an id with NULL bytes */
        CHECK(ferrule_compression_storage_size(&y) == 0);
        y.dictionary = DICT;
        y.dictionary_len = 0; /* an id with no bytes */
        CHECK(ferrule_compression_storage_size(&y) == 0);
        y.dictionary_len = sizeof DICT - 1;
        y.unreliable = FERRULE_MODE_DICTIONARY;
        CHECK(ferrule_compression_storage_size(&y) > base);
    }
    CHECK(ferrule_compression_storage_size(&z) <= sizeof ep_a.comp);

#ifdef FERRULE_TEST_NO_AEAD
    CHECK(ferrule_aead_storage_size() == 0);
#else
    CHECK(ferrule_aead_storage_size() > 0 && ferrule_aead_storage_size() % 8 == 0);
    CHECK(ferrule_aead_storage_size() <= sizeof ep_a.aead);
#endif
}

/* ------------------------------------------------------------------ link helpers */

/* Moves every pending frame from one link to the other; `stream` feeds 3-byte pieces through
 * handle_input, else whole datagrams. Every `drop_every`-th frame (0: none) is lost. Returns
 * the number of frames moved. */
static unsigned frames_seen;
static int pump(ferrule_link_t *from, ferrule_link_t *to, uint64_t now, bool stream, unsigned drop_every) {
    uint8_t frame[FRAME_CAP];
    size_t n, off;
    int moved = 0;
    ferrule_status st;
    while ((st = ferrule_link_poll_transmit(from, now, frame, sizeof frame, &n)) == FERRULE_OK) {
        CHECK(n > 0 && n <= sizeof frame);
        moved++;
        if (drop_every && ++frames_seen % drop_every == 0) continue;
        if (stream) {
            for (off = 0; off < n; off += 3)
                CHECK_STATUS(ferrule_link_handle_input(to, frame + off, n - off < 3 ? n - off : 3, now), FERRULE_OK);
        } else {
            CHECK_STATUS(ferrule_link_handle_datagram(to, frame, n, now), FERRULE_OK);
        }
    }
    CHECK_STATUS(st, FERRULE_EMPTY);
    return moved;
}

/* One step of both links: timers, then frames both ways. */
static void step(endpoint_t *a, endpoint_t *b, uint64_t now, bool stream, unsigned drop_every) {
    CHECK_STATUS(ferrule_link_handle_timeout(a->link, now), FERRULE_OK);
    CHECK_STATUS(ferrule_link_handle_timeout(b->link, now), FERRULE_OK);
    pump(a->link, b->link, now, stream, drop_every);
    pump(b->link, a->link, now, stream, drop_every);
}

/* Runs both until both are up (at most 10 s of virtual time); true when they are. */
static bool connect(endpoint_t *a, endpoint_t *b, uint64_t *now, bool stream) {
    int k;
    for (k = 0; k < 1000 && !(ferrule_link_is_up(a->link) && ferrule_link_is_up(b->link)); k++) {
        step(a, b, *now, stream, 0);
        *now += 10;
    }
    return ferrule_link_is_up(a->link) && ferrule_link_is_up(b->link);
}

/* Takes the next event, which must be `kind`. */
static ferrule_event_t expect_event(ferrule_link_t *l, uint8_t kind) {
    ferrule_event_t ev;
    memset(&ev, 0, sizeof ev);
    CHECK_STATUS(ferrule_link_poll_event(l, &ev), FERRULE_OK);
    CHECK(ev.kind == kind);
    return ev;
}

/* A link with reliable channels only. */
static void init_reliable(endpoint_t *e, const ferrule_link_config_t *c, uint64_t seed) {
    e->link = NULL;
    CHECK(ferrule_link_storage_size(c) <= sizeof e->mem);
    CHECK_STATUS(ferrule_link_init(e->mem, sizeof e->mem, c, seed, &e->link), FERRULE_OK);
    CHECK(e->link != NULL);
}

/* A link with the best-effort channel (channels `reliable_channels` leaves out). */
static void init(endpoint_t *e, const ferrule_link_config_t *c, uint64_t seed) {
    init_reliable(e, c, seed);
    CHECK(ferrule_best_effort_storage_size(c->max_message) <= sizeof e->be);
    CHECK_STATUS(ferrule_link_enable_best_effort(e->link, e->be, sizeof e->be), FERRULE_OK);
}

static void telemetry(unsigned i, uint8_t *msg, size_t cap, size_t *len) {
    int n = snprintf((char *)msg, cap, "{\"seq\":%u,\"temp\":21.%02u,\"rh\":40.%u,\"status\":\"ok\"}", i,
                     i % 100u, i % 10u);
    *len = (size_t)n;
}

/* Sends `count` telemetry messages from a to b on channel 0 (over a wire that loses every
 * `drop_every`-th frame), checking ids, order and every byte; returns messages delivered. */
static unsigned exchange(endpoint_t *a, endpoint_t *b, unsigned count, uint64_t *now, bool stream,
                         unsigned drop_every) {
    uint8_t msg[BIG_MESSAGE], out[BIG_MESSAGE], want[BIG_MESSAGE];
    size_t len, wlen;
    unsigned sent = 0, got = 0, k;
    uint32_t id, first_id = 0, acked = 0;
    ferrule_received_t r;
    for (k = 0; k < 200000 && got < count; k++) {
        while (sent < count) {
            ferrule_status st;
            telemetry(sent, msg, sizeof msg, &len);
            id = 0xFFFFFFFFu;
            st = ferrule_link_send(a->link, 0, msg, len, *now, &id);
            if (st == FERRULE_ERR_FULL) break;
            CHECK_STATUS(st, FERRULE_OK);
            if (sent == 0) first_id = id;
            CHECK(id == first_id + sent); /* consecutive ids */
            sent++;
        }
        step(a, b, *now, stream, drop_every);
        while (ferrule_link_recv(b->link, out, sizeof out, &r) == FERRULE_OK) {
            telemetry(got, want, sizeof want, &wlen);
            CHECK(r.reliable && r.channel == 0 && r.len == wlen && memcmp(out, want, wlen) == 0);
            got++;
        }
        *now += 1;
    }
    /* Everything delivered is acknowledged soon after. */
    for (k = 0; k < 1000; k++) {
        CHECK_STATUS(ferrule_link_acked_before(a->link, &acked), FERRULE_OK);
        if (acked == first_id + count) break;
        step(a, b, *now, stream, 0);
        *now += 10;
    }
    CHECK(acked == first_id + count);
    return got;
}

/* ------------------------------------------------------------------ the link */

static void test_link_init_errors(void) {
    ferrule_link_config_t c = ferrule_link_config_default();
    ferrule_link_t *l = NULL;
    size_t need = ferrule_link_storage_size(&c);

    CHECK_STATUS(ferrule_link_init(NULL, sizeof ep_a.mem, &c, 1, &l), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_init(ep_a.mem, sizeof ep_a.mem, NULL, 1, &l), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_init(ep_a.mem, sizeof ep_a.mem, &c, 1, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_init(ep_a.mem, need - 1, &c, 1, &l), FERRULE_ERR_MEMORY_TOO_SMALL);
    CHECK_STATUS(ferrule_link_init(ep_a.mem, 64, &c, 1, &l), FERRULE_ERR_MEMORY_TOO_SMALL);
    CHECK_STATUS(ferrule_link_init((uint8_t *)ep_a.mem + 4, need, &c, 1, &l), FERRULE_ERR_MEMORY_ALIGNMENT);
    CHECK_STATUS(ferrule_link_init((uint8_t *)ep_a.mem + 1, need, &c, 1, &l), FERRULE_ERR_MEMORY_ALIGNMENT);
#define INVALID(field, value)                                                              \
    do {                                                                                   \
        ferrule_link_config_t c_ = ferrule_link_config_default();                          \
        c_.field = value;                                                                  \
        CHECK_STATUS(ferrule_link_init(ep_a.mem, sizeof ep_a.mem, &c_, 1, &l),             \
                     FERRULE_ERR_INVALID_ARGUMENT);                                        \
    } while (0)
    INVALID(transport, 2);
    INVALID(window, 0);
    INVALID(max_message, 0);
    INVALID(max_message, 5000);
    INVALID(rto_initial_ms, 0);
    INVALID(rto_min_ms, 0);
    INVALID(rto_max_ms, 10); /* below rto_min_ms */
    INVALID(dupthresh, 0);
    INVALID(receive_window, 5); /* above window (4) */
    INVALID(reserved[1], 1);
#undef INVALID
    CHECK(l == NULL); /* never written on failure */
    /* Exactly the size asked for is enough. */
    CHECK_STATUS(ferrule_link_init(ep_a.mem, need, &c, 1, &l), FERRULE_OK);
    CHECK(l != NULL && !ferrule_link_is_up(l));
    /* The best-effort channel's memory: NULL, too small, misaligned; then exactly enough. */
    need = ferrule_best_effort_storage_size(c.max_message);
    CHECK_STATUS(ferrule_link_enable_best_effort(NULL, ep_a.be, need), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_enable_best_effort(l, NULL, need), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_enable_best_effort(l, ep_a.be, need - 1), FERRULE_ERR_MEMORY_TOO_SMALL);
    CHECK_STATUS(ferrule_link_enable_best_effort(l, (uint8_t *)ep_a.be + 4, need),
                 FERRULE_ERR_MEMORY_ALIGNMENT);
    CHECK_STATUS(ferrule_link_enable_best_effort(l, ep_a.be, need), FERRULE_OK);

    /* FEC: the default configuration, sizes (0 when NULL or out of range), then enabling it:
     * NULL, out of range, too small, misaligned; then exactly enough. */
    {
        static uint64_t fec_mem[32768 / 8];
        ferrule_fec_config_t f = ferrule_fec_config_default(), bad;
        CHECK(f.k == 8 && f.m == 2 && f.groups == 2 && f.send);
        CHECK(ferrule_fec_storage_size(NULL, 128) == 0);
        f.k = 4;
        need = ferrule_fec_storage_size(&f, c.max_message);
        CHECK(need > 0 && need % 8 == 0 && need <= sizeof fec_mem);
#define FEC_INVALID(field, value)                                                          \
    do {                                                                                   \
        bad = f;                                                                           \
        bad.field = value;                                                                 \
        CHECK(ferrule_fec_storage_size(&bad, c.max_message) == 0);                         \
        CHECK_STATUS(ferrule_link_enable_fec(l, fec_mem, sizeof fec_mem, &bad),            \
                     FERRULE_ERR_INVALID_ARGUMENT);                                        \
    } while (0)
        FEC_INVALID(k, 0);
        FEC_INVALID(k, 33);
        FEC_INVALID(m, 0);
        FEC_INVALID(m, 17);
        FEC_INVALID(groups, 1);
        FEC_INVALID(groups, 33); /* 33 x 4 > 128 */
#undef FEC_INVALID
        CHECK_STATUS(ferrule_link_enable_fec(NULL, fec_mem, need, &f), FERRULE_ERR_NULL);
        CHECK_STATUS(ferrule_link_enable_fec(l, NULL, need, &f), FERRULE_ERR_NULL);
        CHECK_STATUS(ferrule_link_enable_fec(l, fec_mem, need, NULL), FERRULE_ERR_NULL);
        CHECK_STATUS(ferrule_link_enable_fec(l, fec_mem, need - 1, &f), FERRULE_ERR_MEMORY_TOO_SMALL);
        CHECK_STATUS(ferrule_link_enable_fec(l, (uint8_t *)fec_mem + 4, need, &f),
                     FERRULE_ERR_MEMORY_ALIGNMENT);
        CHECK_STATUS(ferrule_link_enable_fec(l, fec_mem, need, &f), FERRULE_OK);
    }
}

/* Lengths no object can have (above PTRDIFF_MAX) with a real pointer: each function's own
 * status for a wrong length, never FERRULE_ERR_NULL, and nothing read. A capacity that large
 * is only an upper bound and works. */
static void test_impossible_lengths(void) {
    ferrule_link_config_t c = ferrule_link_config_default();
    ferrule_link_t *l = NULL;
    ferrule_decoder_t *dec = NULL;
    ferrule_frame_t f;
    ferrule_header_t h;
    static uint8_t big[1024];
    uint8_t key[FERRULE_KEY_LEN] = {1};
    size_t n = 0, used = 99;
    memset(&h, 0, sizeof h);
    CHECK_STATUS(ferrule_link_init(ep_a.mem, sizeof ep_a.mem, &c, 1, &l), FERRULE_OK);
    CHECK_STATUS(ferrule_link_send(l, 0, big, SIZE_MAX, 0, NULL), FERRULE_ERR_TOO_LARGE);
    CHECK_STATUS(ferrule_link_handle_input(l, big, SIZE_MAX, 0), FERRULE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ferrule_link_handle_datagram(l, big, SIZE_MAX, 0), FERRULE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ferrule_link_enable_aead(l, ep_a.aead, sizeof ep_a.aead, 1, key, SIZE_MAX),
                 FERRULE_ERR_BAD_KEY_LENGTH);
    CHECK_STATUS(ferrule_encode(&h, big, SIZE_MAX, false, false, big, sizeof big, &n),
                 FERRULE_ERR_TOO_LARGE);
    /* The first HELLO fits the real buffer; the capacity only bounds it. */
    CHECK_STATUS(ferrule_link_poll_transmit(l, 0, big, SIZE_MAX, &n), FERRULE_OK);
    CHECK(n > 0 && n < sizeof big);
    CHECK_STATUS(ferrule_decoder_init(dec_mem, SIZE_MAX, &dec), FERRULE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ferrule_decoder_init(dec_mem, sizeof dec_mem, &dec), FERRULE_OK);
    CHECK_STATUS(ferrule_decoder_feed(dec, big, SIZE_MAX, &used, &f), FERRULE_ERR_INVALID_ARGUMENT);
    CHECK(used == 0);
    CHECK(ferrule_decoder_storage_size(SIZE_MAX) == 0);
    CHECK(ferrule_decoder_storage_size(128) > 128);
}

/* Service memory that overlaps the link's own block is refused (it would overwrite the
 * link's state); memory right after the block is fine. */
static void test_overlapping_memory(void) {
    ferrule_link_config_t c = ferrule_link_config_default();
    ferrule_link_t *l = NULL;
    size_t need = ferrule_link_storage_size(&c);
    uint8_t *after = (uint8_t *)ep_a.mem + ((need + 7u) & ~(size_t)7u);
    ferrule_fec_config_t fc = ferrule_fec_config_default();
    ferrule_compression_config_t cc = ferrule_compression_config_default();
    CHECK_STATUS(ferrule_link_init(ep_a.mem, sizeof ep_a.mem, &c, 1, &l), FERRULE_OK);
    CHECK_STATUS(ferrule_link_enable_best_effort(l, (uint8_t *)ep_a.mem + 64, 256), FERRULE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ferrule_link_enable_best_effort(l, ep_a.mem, 256), FERRULE_ERR_INVALID_ARGUMENT);
    /* Ends inside the block: overlapping too. */
    CHECK_STATUS(ferrule_link_enable_best_effort(l, after - 8, 256), FERRULE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ferrule_link_enable_fec(l, ep_a.mem, sizeof ep_a.mem, &fc), FERRULE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ferrule_link_enable_compression(l, ep_a.mem, sizeof ep_a.mem, &cc), FERRULE_ERR_INVALID_ARGUMENT);
#ifndef FERRULE_TEST_NO_AEAD
    CHECK_STATUS(ferrule_link_enable_aead(l, ep_a.mem, sizeof ep_a.mem, 1, K1, sizeof K1), FERRULE_ERR_INVALID_ARGUMENT);
#endif
    CHECK((size_t)((uint8_t *)ep_a.mem + sizeof ep_a.mem - after) >= ferrule_best_effort_storage_size(c.max_message));
    CHECK_STATUS(ferrule_link_enable_best_effort(l, after, ferrule_best_effort_storage_size(c.max_message)), FERRULE_OK);
}

/* Two services' blocks must not overlap either: a block inside, across the start of, or
 * across the end of another service's block is refused, with nothing changed; the same
 * service may be enabled again over its own block. (Before, an AEAD block inside the
 * compression block was taken: the link then stalled after two messages, silently.) */
static void test_overlapping_services(void) {
    ferrule_link_config_t c = ferrule_link_config_default();
    ferrule_link_t *l = NULL;
    ferrule_compression_config_t cc = ferrule_compression_config_default();
    ferrule_fec_config_t fc = ferrule_fec_config_default();
    uint8_t *comp = (uint8_t *)ep_a.comp;
    size_t comp_need = ferrule_compression_storage_size(&cc);
    size_t fec_need = ferrule_fec_storage_size(&fc, c.max_message);
    size_t be_need = ferrule_best_effort_storage_size(c.max_message);
    CHECK(comp_need > 1024 && comp_need + fec_need + 1024 <= sizeof ep_a.comp);
    CHECK_STATUS(ferrule_link_init(ep_a.mem, sizeof ep_a.mem, &c, 1, &l), FERRULE_OK);
    CHECK_STATUS(ferrule_link_enable_compression(l, comp, comp_need, &cc), FERRULE_OK);
    /* Inside, across the end of, and across the start of the compression block. */
    CHECK_STATUS(ferrule_link_enable_best_effort(l, comp + 512, be_need), FERRULE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ferrule_link_enable_fec(l, comp + comp_need - 8, fec_need, &fc), FERRULE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ferrule_link_enable_best_effort(l, (uint8_t *)ep_a.be, sizeof ep_a.be), FERRULE_OK);
#ifndef FERRULE_TEST_NO_AEAD
    CHECK_STATUS(ferrule_link_enable_aead(l, comp + 512, FERRULE_AEAD_STORAGE_SIZE, 1, K1, sizeof K1),
                 FERRULE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ferrule_link_enable_aead(l, (uint8_t *)ep_a.be + 8, FERRULE_AEAD_STORAGE_SIZE, 1, K1, sizeof K1),
                 FERRULE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ferrule_link_enable_aead(l, ep_a.aead, sizeof ep_a.aead, 1, K1, sizeof K1), FERRULE_OK);
#endif
    /* FEC right after the compression block: fine; then nothing may start inside it. */
    CHECK_STATUS(ferrule_link_enable_fec(l, comp + comp_need, fec_need, &fc), FERRULE_OK);
    CHECK_STATUS(ferrule_link_enable_best_effort(l, comp + comp_need + fec_need - 8, be_need),
                 FERRULE_ERR_INVALID_ARGUMENT);
    /* The same service again over its own block: allowed (it replaces itself). */
    CHECK_STATUS(ferrule_link_enable_compression(l, comp, comp_need, &cc), FERRULE_OK);
    CHECK_STATUS(ferrule_link_enable_fec(l, comp + comp_need, fec_need, &fc), FERRULE_OK);
}

static void test_link(void) {
    ferrule_link_config_t cfg = config(4, 128);
    uint8_t msg[BIG_MESSAGE], out[BIG_MESSAGE];
    uint8_t frame[FRAME_CAP];
    ferrule_received_t r;
    ferrule_event_t ev;
    ferrule_link_stats_t st;
    uint64_t now = 0, deadline = 0;
    size_t n, i;
    uint32_t id = 0, acked = 0, first;

    cfg.transport = FERRULE_TRANSPORT_DATAGRAM;
    cfg.reliable_channels = 1u; /* channel 0 reliable, the others best effort */
    init(&ep_a, &cfg, 0xA);
    init(&ep_b, &cfg, 0xB);
    CHECK(!ferrule_link_is_up(ep_a.link) && !ferrule_link_is_up(NULL));
    memset(msg, 'm', sizeof msg);
    CHECK_STATUS(ferrule_link_send(ep_a.link, 0, msg, 10, now, &id), FERRULE_ERR_NOT_CONNECTED);
    CHECK_STATUS(ferrule_link_poll_event(ep_a.link, &ev), FERRULE_EMPTY);
    CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, &r), FERRULE_EMPTY);
    /* The handshake starts at once: a HELLO is due now. */
    CHECK_STATUS(ferrule_link_poll_timeout(ep_a.link, &deadline), FERRULE_OK);
    CHECK(deadline == now);
    CHECK_STATUS(ferrule_link_poll_transmit(ep_a.link, now, frame, ferrule_link_max_frame_len(128) - 1, &n),
                 FERRULE_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(ferrule_link_acked_before(ep_a.link, &acked), FERRULE_OK);
    CHECK(acked == 0);

    CHECK(connect(&ep_a, &ep_b, &now, false));
    expect_event(ep_a.link, FERRULE_EVENT_UP);
    CHECK_STATUS(ferrule_link_poll_event(ep_a.link, &ev), FERRULE_EMPTY);
    expect_event(ep_b.link, FERRULE_EVENT_UP);

    /* 300 telemetry messages with ids 0..299, every 9th frame lost. */
    CHECK(exchange(&ep_a, &ep_b, 300, &now, false, 9) == 300);
    CHECK_STATUS(ferrule_link_acked_before(ep_a.link, &acked), FERRULE_OK);
    CHECK(acked == 300);

    /* Ids go on; a full window says so and takes nothing. */
    for (i = 0; i < 4; i++) {
        CHECK_STATUS(ferrule_link_send(ep_a.link, 0, msg, 20, now, &id), FERRULE_OK);
        CHECK(id == 300 + i);
    }
    id = 12345;
    CHECK_STATUS(ferrule_link_send(ep_a.link, 0, msg, 20, now, &id), FERRULE_ERR_FULL);
    CHECK(id == 12345);
    /* Too large for this side's max_message. */
    CHECK_STATUS(ferrule_link_send(ep_a.link, 0, msg, 129, now, &id), FERRULE_ERR_TOO_LARGE);
    CHECK(id == 12345);
    /* b's window fills (its application has not read yet); reading opens it again. */
    for (i = 0; i < 10; i++) {
        step(&ep_a, &ep_b, now, false, 0);
        now += 10;
    }
    for (i = 0; i < 4; i++) {
        CHECK_STATUS(ferrule_link_recv(ep_b.link, out, 19, &r), FERRULE_ERR_BUFFER_TOO_SMALL); /* stays queued */
        CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, &r), FERRULE_OK);
        CHECK(r.len == 20 && r.reliable && r.channel == 0);
    }
    CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, &r), FERRULE_EMPTY);
    for (i = 0; i < 10; i++) {
        step(&ep_a, &ep_b, now, false, 0);
        now += 10;
    }
    /* A NULL id pointer is allowed. */
    CHECK_STATUS(ferrule_link_send(ep_a.link, 0, msg, 20, now, NULL), FERRULE_OK);
    for (i = 0; i < 10; i++) {
        step(&ep_a, &ep_b, now, false, 0);
        now += 10;
    }
    CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, &r), FERRULE_OK);
    CHECK(r.len == 20);
    CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, &r), FERRULE_EMPTY);
    CHECK_STATUS(ferrule_link_acked_before(ep_a.link, &acked), FERRULE_OK);
    CHECK(acked == 305);

    /* Best effort on channel 7: no id, delivered once. */
    id = 777;
    CHECK_STATUS(ferrule_link_send(ep_a.link, 7, DICT, sizeof DICT - 1, now, &id), FERRULE_OK);
    CHECK(id == 777);
    pump(ep_a.link, ep_b.link, now, false, 0);
    CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, &r), FERRULE_OK);
    CHECK(!r.reliable && r.channel == 7 && r.len == sizeof DICT - 1 && memcmp(out, DICT, r.len) == 0);
    CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, &r), FERRULE_EMPTY);

    /* Stats, timers, frame-size query. */
    CHECK_STATUS(ferrule_link_stats(ep_a.link, &st), FERRULE_OK);
    CHECK(st.sent_reliable == 305 && st.sent_unreliable == 1 && st.sessions == 1);
    CHECK(st.retransmissions > 0 && st.frames_sent > 305 && st.bytes_sent > 305 * 20);
    CHECK(st.compressed == 0 && st.compress_bytes_in == 0);
    CHECK(st.srtt_ms > 0 || st.rtt_min_ms == 0);
    /* Every counter of the Rust link reaches C, and the whole struct is written. */
    CHECK(st.rdata_frames_sent >= 305 && st.data_frames_sent == 1 && st.hellos_sent >= 1);
    CHECK(st.bad_ack == 0 && st.out_of_window == 0 && st.too_large == 0 && st.events_dropped == 0);
    memset(&st, 0xAA, sizeof st);
    CHECK_STATUS(ferrule_link_stats(ep_a.link, &st), FERRULE_OK);
    CHECK(st.rtt_min_ms != 0xAAAAAAAAu && st.unreliable_overwritten != 0xAAAAAAAAu);
    CHECK(st.parity_rejected == 0 && st.framing.truncated_header == 0 && st.compressed == 0);
    CHECK(st.compress_bytes_in == 0 && st.compress_bytes_out == 0);
    CHECK_STATUS(ferrule_link_stats(ep_b.link, &st), FERRULE_OK);
    CHECK(st.delivered_reliable == 305 && st.delivered_unreliable == 1 && st.decompress_failed == 0);
    CHECK(st.framing.frames_ok == st.frames_received);
    CHECK_STATUS(ferrule_link_poll_timeout(ep_a.link, &deadline), FERRULE_OK); /* keepalive */
    CHECK(deadline >= now);
    CHECK_STATUS(ferrule_link_handle_timeout(ep_a.link, deadline), FERRULE_OK);
    CHECK_STATUS(ferrule_link_max_message_for_frame(ep_a.link, 64, &n), FERRULE_OK);
    CHECK(n == 64 - 30); /* datagram: the largest header and the CRC */
    CHECK_STATUS(ferrule_link_max_message_for_frame(ep_a.link, 4000, &n), FERRULE_OK);
    CHECK(n == 128); /* capped at max_message */

    /* Garbage into both input paths: counted, never delivered. */
    {
        uint8_t junk[300];
        for (i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37 + 1);
        CHECK_STATUS(ferrule_link_handle_datagram(ep_b.link, junk, sizeof junk, now), FERRULE_OK);
        CHECK_STATUS(ferrule_link_handle_input(ep_b.link, junk, sizeof junk, now), FERRULE_OK);
        CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, &r), FERRULE_EMPTY);
        CHECK(ferrule_link_is_up(ep_b.link));
    }

    /* Close with three messages unconfirmed: DOWN says which (ids 305..307). */
    for (i = 0; i < 3; i++) CHECK_STATUS(ferrule_link_send(ep_a.link, 0, msg, 8, now, &id), FERRULE_OK);
    CHECK(id == 307);
    CHECK_STATUS(ferrule_link_close(ep_a.link, now), FERRULE_OK);
    /* From close on nothing more is taken; the session ends at the next transmit. */
    CHECK(ferrule_link_is_up(ep_a.link));
    CHECK_STATUS(ferrule_link_send(ep_a.link, 0, msg, 8, now, &id), FERRULE_ERR_NOT_CONNECTED);
    CHECK(id == 307);
    CHECK_STATUS(ferrule_link_handle_timeout(ep_a.link, now), FERRULE_OK);
    CHECK_STATUS(ferrule_link_poll_event(ep_a.link, &ev), FERRULE_EMPTY);
    CHECK_STATUS(ferrule_link_poll_transmit(ep_a.link, now, frame, sizeof frame, &n), FERRULE_OK);
    ev = expect_event(ep_a.link, FERRULE_EVENT_DOWN);
    CHECK(ev.reason == FERRULE_DOWN_LOCAL_CLOSE && ev.unacked == 3 && ev.first_id == 305);
    CHECK_STATUS(ferrule_link_acked_before(ep_a.link, &acked), FERRULE_OK);
    CHECK(acked == 308); /* discarded and reported count as settled */
    CHECK(!ferrule_link_is_up(ep_a.link));
    CHECK_STATUS(ferrule_link_send(ep_a.link, 0, msg, 8, now, &id), FERRULE_ERR_NOT_CONNECTED);
    /* b hears the CLOSE: down, peer closed. */
    CHECK_STATUS(ferrule_link_handle_datagram(ep_b.link, frame, n, now), FERRULE_OK);
    ev = expect_event(ep_b.link, FERRULE_EVENT_DOWN);
    CHECK(ev.reason == FERRULE_DOWN_PEER_CLOSED && ev.unacked == 0);
    /* A new session; ids go on from 308. */
    CHECK(connect(&ep_a, &ep_b, &now, false));
    expect_event(ep_a.link, FERRULE_EVENT_UP);
    expect_event(ep_b.link, FERRULE_EVENT_UP);
    CHECK_STATUS(ferrule_link_send(ep_a.link, 0, msg, 8, now, &id), FERRULE_OK);
    CHECK(id == 308);

    /* b reboots (same memory, a new seed): a sees the peer restart and a new session. */
    init(&ep_b, &cfg, 0xB2);
    CHECK(connect(&ep_a, &ep_b, &now, false));
    ev = expect_event(ep_a.link, FERRULE_EVENT_DOWN);
    CHECK(ev.reason == FERRULE_DOWN_PEER_RESTARTED);
    CHECK(ev.unacked <= 1 && (ev.unacked == 0 || ev.first_id == 308));
    expect_event(ep_a.link, FERRULE_EVENT_UP);

    /* A peer that stops answering: the retry limit ends the session and names the message. */
    {
        ferrule_link_config_t c2 = cfg;
        c2.max_retransmits = 3;
        c2.rto_initial_ms = 50;
        c2.rto_max_ms = 200;
        c2.keepalive_ms = 0;
        init(&ep_a, &c2, 0xC1);
        init(&ep_b, &c2, 0xC2);
        CHECK(connect(&ep_a, &ep_b, &now, false));
        expect_event(ep_a.link, FERRULE_EVENT_UP);
        CHECK_STATUS(ferrule_link_send(ep_a.link, 0, msg, 8, now, &first), FERRULE_OK);
        CHECK(first == 0);
        for (i = 0; i < 2000 && ferrule_link_is_up(ep_a.link); i++) {
            CHECK_STATUS(ferrule_link_handle_timeout(ep_a.link, now), FERRULE_OK);
            while (ferrule_link_poll_transmit(ep_a.link, now, frame, sizeof frame, &n) == FERRULE_OK) {
            } /* every frame lost */
            now += 10;
        }
        ev = expect_event(ep_a.link, FERRULE_EVENT_DOWN);
        CHECK(ev.reason == FERRULE_DOWN_RETRY_LIMIT && ev.unacked == 1 && ev.first_id == first);
        CHECK_STATUS(ferrule_link_stats(ep_a.link, &st), FERRULE_OK);
        CHECK(st.timeouts >= 3 && st.link_downs == 1 && st.discarded_on_reset >= 1);
    }

    /* A stream pair (3-byte pieces): 100 messages, every 5th frame lost. */
    {
        ferrule_link_config_t c3 = config(8, 256);
        c3.leading_delimiter = true;
        init_reliable(&ep_a, &c3, 0xD1);
        init_reliable(&ep_b, &c3, 0xD2);
        CHECK(connect(&ep_a, &ep_b, &now, true));
        CHECK(exchange(&ep_a, &ep_b, 100, &now, true, 5) == 100);
        /* Without best effort every channel is reliable. */
        CHECK_STATUS(ferrule_link_send(ep_a.link, 9, msg, 200, now, &id), FERRULE_OK);
        CHECK(id == 100);
        CHECK_STATUS(ferrule_link_max_message_for_frame(ep_a.link, 64, &n), FERRULE_OK);
        CHECK(n > 0 && n < 64 - 30);
    }

    /* NULL on every link entry point. */
    CHECK_STATUS(ferrule_link_send(NULL, 0, msg, 1, now, &id), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_send(ep_a.link, 0, NULL, 1, now, &id), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_acked_before(NULL, &acked), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_acked_before(ep_a.link, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_recv(NULL, out, sizeof out, &r), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_recv(ep_b.link, NULL, 5, &r), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_handle_input(NULL, msg, 1, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_handle_input(ep_a.link, NULL, 1, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_handle_datagram(NULL, msg, 1, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_handle_datagram(ep_a.link, NULL, 1, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_poll_transmit(NULL, now, frame, sizeof frame, &n), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_poll_transmit(ep_a.link, now, NULL, sizeof frame, &n), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_poll_transmit(ep_a.link, now, frame, sizeof frame, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_poll_timeout(NULL, &deadline), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_poll_timeout(ep_a.link, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_handle_timeout(NULL, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_poll_event(NULL, &ev), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_poll_event(ep_a.link, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_close(NULL, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_stats(NULL, &st), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_stats(ep_a.link, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_max_message_for_frame(NULL, 64, &n), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_max_message_for_frame(ep_a.link, 64, NULL), FERRULE_ERR_NULL);
    /* Zero-length buffers with NULL pointers are valid. */
    CHECK_STATUS(ferrule_link_handle_input(ep_a.link, NULL, 0, now), FERRULE_OK);
    CHECK_STATUS(ferrule_link_handle_datagram(ep_a.link, NULL, 0, now), FERRULE_OK);
}

/* ------------------------------------------------------------------ compression */

static ferrule_compression_config_t telemetry_compression(void) {
    ferrule_compression_config_t z = ferrule_compression_config_default();
    z.reliable = FERRULE_MODE_SHARED;
    z.unreliable = FERRULE_MODE_DICTIONARY;
    z.dictionary_id = 5;
    z.dictionary = DICT;
    z.dictionary_len = sizeof DICT - 1;
    return z;
}

static void enable_compression(endpoint_t *e, const ferrule_compression_config_t *z) {
    size_t need = ferrule_compression_storage_size(z);
    CHECK(need > 0 && need <= sizeof e->comp);
    CHECK_STATUS(ferrule_link_enable_compression(e->link, e->comp, need, z), FERRULE_OK);
}

static void test_compression(void) {
    ferrule_link_config_t cfg = config(4, 128);
    ferrule_compression_config_t z = telemetry_compression(), bad;
    uint8_t msg[BIG_MESSAGE], out[BIG_MESSAGE];
    ferrule_received_t r;
    ferrule_event_t ev;
    ferrule_link_stats_t st;
    uint64_t now = 0;
    size_t need = ferrule_compression_storage_size(&z);
    uint32_t id;
    unsigned i;

    cfg.transport = FERRULE_TRANSPORT_DATAGRAM;
    init(&ep_a, &cfg, 0x11);
    init(&ep_b, &cfg, 0x22);

    /* Errors: nothing changes. */
    CHECK_STATUS(ferrule_link_enable_compression(NULL, ep_a.comp, need, &z), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_enable_compression(ep_a.link, NULL, need, &z), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_enable_compression(ep_a.link, ep_a.comp, need, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_enable_compression(ep_a.link, ep_a.comp, need - 1, &z), FERRULE_ERR_MEMORY_TOO_SMALL);
    CHECK_STATUS(ferrule_link_enable_compression(ep_a.link, (uint8_t *)ep_a.comp + 4, need, &z),
                 FERRULE_ERR_MEMORY_ALIGNMENT);
    bad = z;
    bad.receive_window_bits = 16;
    CHECK_STATUS(ferrule_link_enable_compression(ep_a.link, ep_a.comp, need, &bad), FERRULE_ERR_INVALID_ARGUMENT);
    bad = z;
    bad.reliable = 7;
    CHECK_STATUS(ferrule_link_enable_compression(ep_a.link, ep_a.comp, need, &bad), FERRULE_ERR_INVALID_ARGUMENT);
    bad = z;
    bad.dictionary = NULL;
    CHECK_STATUS(ferrule_link_enable_compression(ep_a.link, ep_a.comp, need, &bad), FERRULE_ERR_NULL);

    enable_compression(&ep_a, &z);
    enable_compression(&ep_b, &z);
    CHECK(connect(&ep_a, &ep_b, &now, false));
    expect_event(ep_a.link, FERRULE_EVENT_UP);
    expect_event(ep_b.link, FERRULE_EVENT_UP);

    /* 300 telemetry messages on the shared stream, every 7th frame lost. */
    CHECK(exchange(&ep_a, &ep_b, 300, &now, false, 7) == 300);
    CHECK_STATUS(ferrule_link_stats(ep_a.link, &st), FERRULE_OK);
    CHECK(st.sent_reliable == 300 && st.compressed > 250);
    CHECK(st.compress_bytes_out * 2 < st.compress_bytes_in); /* shared history: better than 2:1 */

    /* Best effort against the dictionary: one message, compressed, exact. */
    CHECK_STATUS(ferrule_link_send(ep_a.link, 7, DICT, sizeof DICT - 1, now, &id), FERRULE_OK);
    pump(ep_a.link, ep_b.link, now, false, 0);
    CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, &r), FERRULE_OK);
    CHECK(!r.reliable && r.channel == 7 && r.len == sizeof DICT - 1 && memcmp(out, DICT, r.len) == 0);
    {
        ferrule_link_stats_t st2;
        CHECK_STATUS(ferrule_link_stats(ep_a.link, &st2), FERRULE_OK);
        CHECK(st2.compressed == st.compressed + 1);
        CHECK(st2.compress_bytes_out - st.compress_bytes_out < 16); /* nearly all from the dictionary */
    }
    CHECK_STATUS(ferrule_link_stats(ep_b.link, &st), FERRULE_OK);
    CHECK(st.delivered_reliable == 300 && st.delivered_unreliable == 1 && st.decompress_failed == 0);
    CHECK(st.not_negotiated == 0);

    /* Turning compression on again (another configuration) ends the session. */
    z.send_window_bits = 8;
    z.receive_window_bits = 9;
    enable_compression(&ep_a, &z);
    ev = expect_event(ep_a.link, FERRULE_EVENT_DOWN);
    CHECK(ev.reason == FERRULE_DOWN_LOCAL_CLOSE);
    CHECK(connect(&ep_a, &ep_b, &now, false));
    expect_event(ep_a.link, FERRULE_EVENT_UP);
    /* b switches to the new session on a's first frame of it (a's key confirmation). */
    step(&ep_a, &ep_b, now, false, 0);
    ev = expect_event(ep_b.link, FERRULE_EVENT_DOWN);
    CHECK(ev.reason == FERRULE_DOWN_PEER_RESTARTED && ev.unacked == 0);
    expect_event(ep_b.link, FERRULE_EVENT_UP);
    CHECK(exchange(&ep_b, &ep_a, 100, &now, false, 0) == 100); /* b sends within a's 512 B */

    /* A receiver that takes only per-message payloads: the shared sender falls back. */
    init(&ep_a, &cfg, 0x33);
    init(&ep_b, &cfg, 0x44);
    z = telemetry_compression();
    enable_compression(&ep_a, &z);
    z.receive = FERRULE_RECEIVE_PER_MESSAGE;
    enable_compression(&ep_b, &z);
    CHECK(connect(&ep_a, &ep_b, &now, false));
    for (i = 0; i < 3; i++) {
        memset(msg, 'a' + (int)i, 120);
        CHECK_STATUS(ferrule_link_send(ep_a.link, 0, msg, 120, now, &id), FERRULE_OK);
    }
    step(&ep_a, &ep_b, now, false, 0);
    for (i = 0; i < 3; i++) {
        CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, &r), FERRULE_OK);
        CHECK(r.len == 120 && out[0] == 'a' + i && out[119] == 'a' + i);
    }
    CHECK_STATUS(ferrule_link_stats(ep_a.link, &st), FERRULE_OK);
    CHECK(st.compressed == 3 && st.compress_bytes_out < 60);
}

/* ------------------------------------------------------------------ AEAD */

#ifndef FERRULE_TEST_NO_AEAD
static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m) {
    size_t i;
    for (i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) return true;
    return false;
}

static void enable_aead(endpoint_t *e, uint8_t id, const uint8_t *key) {
    CHECK_STATUS(ferrule_link_enable_aead(e->link, e->aead, ferrule_aead_storage_size(), id, key, 32), FERRULE_OK);
}

static void test_aead(void) {
    uint8_t k2[FERRULE_KEY_LEN + 1];
    ferrule_link_config_t cfg = config(4, 128);
    ferrule_compression_config_t z = telemetry_compression();
    uint8_t msg[32], out[BIG_MESSAGE], frame[FRAME_CAP];
    ferrule_received_t r;
    ferrule_link_stats_t st;
    uint64_t now = 0;
    size_t need = ferrule_aead_storage_size(), n, max_plain, max_sealed;
    unsigned i, got = 0;
    uint32_t id;
    int k;

    memset(k2, 0x5A, sizeof k2);
    cfg.transport = FERRULE_TRANSPORT_DATAGRAM;
    init(&ep_a, &cfg, 101);
    init(&ep_b, &cfg, 202);
    CHECK_STATUS(ferrule_link_max_message_for_frame(ep_a.link, 100, &max_plain), FERRULE_OK);
    /* Rekeying needs AEAD on. */
    CHECK_STATUS(ferrule_link_set_key(ep_a.link, 1, K1, 32), FERRULE_ERR_UNSUPPORTED);
    /* Errors of enable: NULLs, key lengths other than 32, memory. */
    CHECK_STATUS(ferrule_link_enable_aead(NULL, ep_a.aead, need, 1, K1, 32), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_enable_aead(ep_a.link, NULL, need, 1, K1, 32), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_enable_aead(ep_a.link, ep_a.aead, need, 1, NULL, 32), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_enable_aead(ep_a.link, ep_a.aead, need, 1, K1, 0), FERRULE_ERR_BAD_KEY_LENGTH);
    CHECK_STATUS(ferrule_link_enable_aead(ep_a.link, ep_a.aead, need, 1, K1, 16), FERRULE_ERR_BAD_KEY_LENGTH);
    CHECK_STATUS(ferrule_link_enable_aead(ep_a.link, ep_a.aead, need, 1, K1, 31), FERRULE_ERR_BAD_KEY_LENGTH);
    CHECK_STATUS(ferrule_link_enable_aead(ep_a.link, ep_a.aead, need, 1, k2, 33), FERRULE_ERR_BAD_KEY_LENGTH);
    CHECK_STATUS(ferrule_link_enable_aead(ep_a.link, ep_a.aead, need - 1, 1, K1, 32), FERRULE_ERR_MEMORY_TOO_SMALL);
    CHECK_STATUS(ferrule_link_enable_aead(ep_a.link, (uint8_t *)ep_a.aead + 4, need, 1, K1, 32),
                 FERRULE_ERR_MEMORY_ALIGNMENT);
    enable_aead(&ep_a, 1, K1);
    enable_aead(&ep_b, 1, K1);
    /* Sealing costs the tag: 16 bytes less room per frame. */
    CHECK_STATUS(ferrule_link_max_message_for_frame(ep_a.link, 100, &max_sealed), FERRULE_OK);
    CHECK(max_sealed + 16 == max_plain);
    /* And compression on top. */
    enable_compression(&ep_a, &z);
    enable_compression(&ep_b, &z);
    /* Errors of set_key. */
    CHECK_STATUS(ferrule_link_set_key(ep_a.link, 1, K1, 0), FERRULE_ERR_BAD_KEY_LENGTH);
    CHECK_STATUS(ferrule_link_set_key(ep_a.link, 1, K1, 31), FERRULE_ERR_BAD_KEY_LENGTH);
    CHECK_STATUS(ferrule_link_set_key(ep_a.link, 1, k2, 33), FERRULE_ERR_BAD_KEY_LENGTH);
    CHECK_STATUS(ferrule_link_set_key(ep_a.link, 1, NULL, 32), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_set_key(NULL, 1, K1, 32), FERRULE_ERR_NULL);

    CHECK(connect(&ep_a, &ep_b, &now, false));
    expect_event(ep_a.link, FERRULE_EVENT_UP);
    expect_event(ep_b.link, FERRULE_EVENT_UP);
    /* Every frame on the wire is sealed. */
    CHECK_STATUS(ferrule_link_send(ep_a.link, 0, DICT, 20, now, &id), FERRULE_OK);
    CHECK_STATUS(ferrule_link_poll_transmit(ep_a.link, now, frame, sizeof frame, &n), FERRULE_OK);
    CHECK(n > 20 + 16);
    CHECK((frame[0] >> 4) == 2 && (frame[1] & 0x40) != 0); /* version 2, flag AEAD */
    CHECK(!contains(frame, n, DICT, 8));                    /* no plaintext on the wire */
    CHECK_STATUS(ferrule_link_handle_datagram(ep_b.link, frame, n, now), FERRULE_OK);

    for (i = 0; i < 60; i++) {
        size_t len;
        if (i == 20) {
            /* Rekey a, then b 30 ms later: a's frames under the new key reach b before it
             * has it; they are dropped (unknown key) and retransmitted. */
            CHECK_STATUS(ferrule_link_set_key(ep_a.link, 2, k2, 32), FERRULE_OK);
            CHECK_STATUS(ferrule_link_send(ep_a.link, 0, (const uint8_t *)"rekey", 5, now, &id), FERRULE_OK);
            for (k = 0; k < 6; k++) {
                step(&ep_a, &ep_b, now, false, 0);
                now += 5;
            }
            CHECK_STATUS(ferrule_link_set_key(ep_b.link, 2, k2, 32), FERRULE_OK);
        }
        len = (size_t)snprintf((char *)msg, sizeof msg, "sealed %u", i);
        while (ferrule_link_send(ep_a.link, 0, msg, len, now, &id) == FERRULE_ERR_FULL) {
            step(&ep_a, &ep_b, now, false, 0);
            while (ferrule_link_recv(ep_b.link, out, sizeof out, &r) == FERRULE_OK) got++;
            now += 5;
        }
        step(&ep_a, &ep_b, now, false, 0);
        while (ferrule_link_recv(ep_b.link, out, sizeof out, &r) == FERRULE_OK) got++;
    }
    for (k = 0; k < 400 && got < 62; k++) {
        now += 10;
        step(&ep_a, &ep_b, now, false, 0);
        while (ferrule_link_recv(ep_b.link, out, sizeof out, &r) == FERRULE_OK) got++;
    }
    CHECK(got == 62); /* the first one, "rekey" and 60 numbered */
    CHECK(memcmp(out, "sealed 59", 9) == 0);
    CHECK(ferrule_link_is_up(ep_a.link) && ferrule_link_is_up(ep_b.link));
    CHECK_STATUS(ferrule_link_stats(ep_b.link, &st), FERRULE_OK);
    CHECK(st.link_downs == 0 && st.unknown_key > 0 && st.auth_failed == 0);
    CHECK_STATUS(ferrule_link_stats(ep_a.link, &st), FERRULE_OK);
    CHECK(st.compressed > 0);

    /* A recorded frame replayed is refused and counted. */
    CHECK_STATUS(ferrule_link_send(ep_a.link, 0, msg, 4, now, &id), FERRULE_OK);
    CHECK_STATUS(ferrule_link_poll_transmit(ep_a.link, now, frame, sizeof frame, &n), FERRULE_OK);
    CHECK_STATUS(ferrule_link_handle_datagram(ep_b.link, frame, n, now), FERRULE_OK);
    CHECK_STATUS(ferrule_link_handle_datagram(ep_b.link, frame, n, now), FERRULE_OK);
    CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, &r), FERRULE_OK);
    CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, &r), FERRULE_EMPTY);
    CHECK_STATUS(ferrule_link_stats(ep_b.link, &st), FERRULE_OK);
    CHECK(st.replayed + st.duplicates >= 1);
    /* A tampered frame is refused and counted. */
    CHECK_STATUS(ferrule_link_send(ep_a.link, 0, msg, 4, now, &id), FERRULE_OK);
    CHECK_STATUS(ferrule_link_poll_transmit(ep_a.link, now, frame, sizeof frame, &n), FERRULE_OK);
    {
        /* Flip a payload bit and fix the CRC-32C so only the AEAD tag can catch it. */
        uint32_t crc = 0xFFFFFFFFu;
        size_t j;
        int b;
        frame[n - 4 - 16 - 1] ^= 1;
        for (j = 0; j + 4 < n; j++) {
            crc ^= frame[j];
            for (b = 0; b < 8; b++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        }
        crc = ~crc;
        frame[n - 4] = (uint8_t)crc;
        frame[n - 3] = (uint8_t)(crc >> 8);
        frame[n - 2] = (uint8_t)(crc >> 16);
        frame[n - 1] = (uint8_t)(crc >> 24);
    }
    CHECK_STATUS(ferrule_link_handle_datagram(ep_b.link, frame, n, now), FERRULE_OK);
    CHECK_STATUS(ferrule_link_recv(ep_b.link, out, sizeof out, &r), FERRULE_EMPTY);
    CHECK_STATUS(ferrule_link_stats(ep_b.link, &st), FERRULE_OK);
    CHECK(st.auth_failed == 1);

    /* A peer with another key never gets a session. */
    init(&ep_b, &cfg, 203);
    enable_aead(&ep_b, 2, K1);
    for (k = 0; k < 30; k++) {
        now += 100;
        step(&ep_a, &ep_b, now, false, 0);
    }
    CHECK(!ferrule_link_is_up(ep_b.link));
    CHECK_STATUS(ferrule_link_stats(ep_b.link, &st), FERRULE_OK);
    CHECK(st.sessions == 0);
    CHECK_STATUS(ferrule_link_stats(ep_a.link, &st), FERRULE_OK);
    CHECK(st.auth_failed > 1); /* b's HELLOs, under another key with the same id */

    /* An unsealed peer is not heard either. */
    init(&ep_b, &cfg, 204);
    for (k = 0; k < 30; k++) {
        now += 100;
        step(&ep_a, &ep_b, now, false, 0);
    }
    CHECK(!ferrule_link_is_up(ep_b.link));
    CHECK_STATUS(ferrule_link_stats(ep_a.link, &st), FERRULE_OK);
    CHECK(st.unauthenticated > 0);
}
#else
/* Built without AEAD: every AEAD entry point says so; the rest works. */
static void test_aead(void) {
    ferrule_link_config_t cfg = ferrule_link_config_default();
    init(&ep_a, &cfg, 1);
    CHECK(ferrule_aead_storage_size() == 0);
    CHECK_STATUS(ferrule_link_enable_aead(ep_a.link, ep_a.aead, sizeof ep_a.aead, 1, K1, 32), FERRULE_ERR_UNSUPPORTED);
    CHECK_STATUS(ferrule_link_enable_aead(ep_a.link, ep_a.aead, 0, 1, K1, 32), FERRULE_ERR_UNSUPPORTED);
    CHECK_STATUS(ferrule_link_enable_aead(NULL, ep_a.aead, sizeof ep_a.aead, 1, K1, 32), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_enable_aead(ep_a.link, ep_a.aead, sizeof ep_a.aead, 1, K1, 31), FERRULE_ERR_BAD_KEY_LENGTH);
    CHECK_STATUS(ferrule_link_set_key(ep_a.link, 1, K1, 32), FERRULE_ERR_UNSUPPORTED);
}
#endif

int main(void) {
    test_version_and_status();
    test_framing();
    test_sizes();
    test_link_init_errors();
    test_impossible_lengths();
    test_overlapping_memory();
    test_overlapping_services();
    test_link();
    test_compression();
    test_aead();
    printf("C API test%s: %d checks, %d failures\n",
#ifdef FERRULE_TEST_NO_AEAD
           " (library without AEAD)",
#else
           "",
#endif
           checks, failures);
    return failures == 0 ? 0 : 1;
}
