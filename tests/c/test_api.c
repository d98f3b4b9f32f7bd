/*
 * Host C test of the whole C API: every function, with valid input, NULL pointers, short
 * buffers, misaligned memory and garbage. Built with -Wall -Wextra -Wpedantic -Werror, once as
 * C and once as C++, under AddressSanitizer and UBSan (see scripts/test-c.sh).
 */
#include "ferrule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                \
    do {                                                                           \
        checks++;                                                                  \
        if (!(cond)) {                                                             \
            failures++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                          \
    } while (0)

#define CHECK_STATUS(expr, want)                                                   \
    do {                                                                           \
        ferrule_status got_ = (expr);                                              \
        checks++;                                                                  \
        if (got_ != (ferrule_status)(want)) {                                      \
            failures++;                                                            \
            fprintf(stderr, "%s:%d: %s = %u (%s), want %u\n", __FILE__, __LINE__, #expr, \
                    (unsigned)got_, ferrule_status_str((uint32_t)got_), (unsigned)(want)); \
        }                                                                          \
    } while (0)

/* Link memory: static, 8-byte aligned, no malloc. */
static uint64_t mem_a[FERRULE_LINK_STORAGE_SIZE / 8];
static uint64_t mem_b[FERRULE_LINK_STORAGE_SIZE / 8];
static uint64_t dec_mem[(FERRULE_DECODER_CAPACITY + 256) / 8];

static void test_version_and_status(void) {
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", FERRULE_VERSION_MAJOR, FERRULE_VERSION_MINOR,
             FERRULE_VERSION_PATCH);
    CHECK(strcmp(ferrule_version(), want) == 0);
    CHECK(strcmp(ferrule_status_str(FERRULE_OK), "ok") == 0);
    CHECK(strcmp(ferrule_status_str(FERRULE_ERR_BAD_CRC), "CRC mismatch") == 0);
    CHECK(strcmp(ferrule_status_str(12345u), "unknown status") == 0);
    CHECK(sizeof(ferrule_status) == 4);
}

static void test_framing(void) {
    ferrule_header_t h;
    uint8_t payload[40];
    uint8_t wire[128];
    size_t n = 0, consumed = 0;
    ferrule_decoder_t *dec = NULL;
    ferrule_frame_t f;
    size_t i;

    memset(&h, 0, sizeof h);
    h.kind = FERRULE_KIND_RDATA;
    h.channel = 3;
    h.has_seq = 1;
    h.seq = 0xBEEF;
    for (i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i % 3 == 0 ? 0 : i);

    CHECK(ferrule_max_frame_len(40, true) >= 40 + 23);
    CHECK(ferrule_max_frame_len(40, false) == 40 + 23);
    CHECK(ferrule_max_frame_len(5000, true) == 0);

    /* Encode: errors first. */
    CHECK_STATUS(ferrule_encode(NULL, payload, sizeof payload, true, false, wire, sizeof wire, &n), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_encode(&h, NULL, 5, true, false, wire, sizeof wire, &n), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_encode(&h, payload, sizeof payload, true, false, wire, sizeof wire, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_encode(&h, payload, sizeof payload, true, false, wire, 10, &n), FERRULE_ERR_BUFFER_TOO_SMALL);
    h.kind = 9;
    CHECK_STATUS(ferrule_encode(&h, payload, sizeof payload, true, false, wire, sizeof wire, &n), FERRULE_ERR_INVALID_ARGUMENT);
    h.kind = FERRULE_KIND_RDATA;
    n = 777;
    CHECK_STATUS(ferrule_encode(&h, payload, sizeof payload, true, true, wire, sizeof wire, &n), FERRULE_OK);
    CHECK(n > sizeof payload && n <= ferrule_max_frame_len(sizeof payload, true));
    CHECK(wire[0] == 0 && wire[n - 1] == 0);
    for (i = 1; i + 1 < n; i++) CHECK(wire[i] != 0);

    /* Decoder in caller memory. */
    CHECK(ferrule_decoder_size() <= sizeof dec_mem);
    CHECK_STATUS(ferrule_decoder_init(NULL, sizeof dec_mem, &dec), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_decoder_init(dec_mem, 16, &dec), FERRULE_ERR_MEMORY_TOO_SMALL);
    if (ferrule_decoder_align() > 1)
        CHECK_STATUS(ferrule_decoder_init((uint8_t *)dec_mem + 1, sizeof dec_mem - 8, &dec), FERRULE_ERR_MEMORY_ALIGNMENT);
    CHECK(dec == NULL); /* outputs untouched on failure */
    CHECK_STATUS(ferrule_decoder_init(dec_mem, sizeof dec_mem, &dec), FERRULE_OK);
    CHECK(dec != NULL);

    /* One byte at a time, as from a UART interrupt. */
    {
        int frames = 0;
        for (i = 0; i < n; i++) {
            ferrule_status st = ferrule_decoder_feed(dec, &wire[i], 1, &consumed, &f);
            CHECK(consumed == 1);
            if (st == FERRULE_OK) {
                frames++;
                CHECK(f.header.kind == FERRULE_KIND_RDATA && f.header.channel == 3);
                CHECK(f.header.has_seq == 1 && f.header.seq == 0xBEEF);
                CHECK(f.payload_len == sizeof payload && memcmp(f.payload, payload, sizeof payload) == 0);
            } else {
                CHECK(st == FERRULE_EMPTY);
            }
        }
        CHECK(frames == 1);
    }
    /* A flipped bit: rejected as bad CRC (or malformed), never delivered. */
    wire[5] ^= 0x10;
    {
        ferrule_status st = ferrule_decoder_feed(dec, wire, n, &consumed, &f);
        CHECK(st == FERRULE_ERR_BAD_CRC || st == FERRULE_ERR_MALFORMED || st == FERRULE_EMPTY);
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
    CHECK_STATUS(ferrule_decoder_feed(NULL, wire, n, &consumed, &f), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_decoder_feed(dec, NULL, 3, &consumed, &f), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_decoder_feed(dec, wire, n, NULL, &f), FERRULE_ERR_NULL);
    {
        ferrule_decoder_stats_t s;
        CHECK_STATUS(ferrule_decoder_stats(dec, &s), FERRULE_OK);
        CHECK(s.frames_ok == 1);
        CHECK(s.bad_crc + s.malformed + s.too_short + s.oversize + s.bad_flags + s.bad_version +
                  s.unknown_kind + s.truncated_header >= 1);
        CHECK_STATUS(ferrule_decoder_stats(NULL, &s), FERRULE_ERR_NULL);
        CHECK_STATUS(ferrule_decoder_stats(dec, NULL), FERRULE_ERR_NULL);
    }
}

/* Moves every pending frame from one link to the other (datagram transport). */
static void pump(ferrule_link_t *from, ferrule_link_t *to, uint64_t now) {
    uint8_t frame[FERRULE_LINK_MAX_FRAME];
    size_t n;
    while (ferrule_link_poll_transmit(from, now, frame, sizeof frame, &n) == FERRULE_OK)
        CHECK_STATUS(ferrule_link_handle_datagram(to, frame, n, now), FERRULE_OK);
}

static const uint8_t DICT[] = "{\"seq\":1,\"temp\":21.5,\"rh\":40.2,\"status\":\"ok\"}";

static void test_link(void) {
    ferrule_link_config_t cfg = ferrule_link_config_default();
    ferrule_link_t *a = NULL, *b = NULL;
    uint8_t msg[FERRULE_LINK_MAX_MESSAGE], out[FERRULE_LINK_MAX_MESSAGE];
    uint8_t frame[FERRULE_LINK_MAX_FRAME];
    ferrule_received_t r;
    ferrule_event_t ev;
    ferrule_link_stats_t st;
    uint64_t now = 0, deadline = 0;
    size_t n, got = 0, i;
    int k;

    CHECK(cfg.window == 0); /* the whole FERRULE_LINK_WINDOW */
    CHECK(ferrule_link_size() <= FERRULE_LINK_STORAGE_SIZE);
    CHECK(ferrule_link_align() <= 8);

    /* Bad configurations and memory. */
    CHECK_STATUS(ferrule_link_init(mem_a, sizeof mem_a, NULL, 1, &a), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_init(mem_a, 64, &cfg, 1, &a), FERRULE_ERR_MEMORY_TOO_SMALL);
    CHECK_STATUS(ferrule_link_init((uint8_t *)mem_a + 4, sizeof mem_a - 8, &cfg, 1, &a), FERRULE_ERR_MEMORY_ALIGNMENT);
    cfg.transport = 7;
    CHECK_STATUS(ferrule_link_init(mem_a, sizeof mem_a, &cfg, 1, &a), FERRULE_ERR_INVALID_ARGUMENT);
    cfg.transport = FERRULE_TRANSPORT_DATAGRAM;
    cfg.compression_reliable = FERRULE_MODE_DICTIONARY; /* no dictionary configured */
    CHECK_STATUS(ferrule_link_init(mem_a, sizeof mem_a, &cfg, 1, &a), FERRULE_ERR_INVALID_ARGUMENT);
    cfg.dictionary_id = 5;
    CHECK_STATUS(ferrule_link_init(mem_a, sizeof mem_a, &cfg, 1, &a), FERRULE_ERR_INVALID_ARGUMENT);
    cfg.dictionary_len = 5;
    CHECK_STATUS(ferrule_link_init(mem_a, sizeof mem_a, &cfg, 1, &a), FERRULE_ERR_NULL);
    CHECK(a == NULL);

    cfg.dictionary = DICT;
    cfg.dictionary_len = sizeof DICT - 1;
    cfg.compression_reliable = FERRULE_MODE_SHARED;
    cfg.compression_unreliable = FERRULE_MODE_DICTIONARY;
    cfg.reliable_channels = 1u; /* channel 0 reliable, others best effort */
    CHECK_STATUS(ferrule_link_init(mem_a, sizeof mem_a, &cfg, 0xA, &a), FERRULE_OK);
    CHECK_STATUS(ferrule_link_init(mem_b, sizeof mem_b, &cfg, 0xB, &b), FERRULE_OK);
    CHECK(!ferrule_link_is_up(a) && !ferrule_link_is_up(NULL));
    CHECK_STATUS(ferrule_link_send(a, 0, msg, 10, now), FERRULE_ERR_NOT_CONNECTED);
    CHECK_STATUS(ferrule_link_poll_transmit(a, now, frame, 16, &n), FERRULE_ERR_BUFFER_TOO_SMALL);

    for (k = 0; k < 4; k++) {
        pump(a, b, now);
        pump(b, a, now);
    }
    CHECK(ferrule_link_is_up(a) && ferrule_link_is_up(b));
    CHECK_STATUS(ferrule_link_poll_event(a, &ev), FERRULE_OK);
    CHECK(ev.kind == FERRULE_EVENT_UP);
    CHECK_STATUS(ferrule_link_poll_event(a, &ev), FERRULE_EMPTY);
    CHECK_STATUS(ferrule_link_poll_event(b, &ev), FERRULE_OK);

    /* 200 telemetry messages, reliable and compressed, in order. */
    for (i = 0; i < 200; i++) {
        int len = snprintf((char *)msg, sizeof msg, "{\"seq\":%u,\"temp\":21.%02u,\"rh\":40.%u,\"status\":\"ok\"}",
                           (unsigned)i, (unsigned)(i % 100), (unsigned)(i % 10));
        while (ferrule_link_send(a, 0, msg, (size_t)len, now) == FERRULE_ERR_FULL) {
            pump(a, b, now);
            pump(b, a, now);
            while (ferrule_link_recv(b, out, sizeof out, &r) == FERRULE_OK) got++;
            now++;
        }
    }
    for (k = 0; k < 50 && got < 200; k++) {
        pump(a, b, now);
        pump(b, a, now);
        while (ferrule_link_recv(b, out, sizeof out, &r) == FERRULE_OK) {
            CHECK(r.reliable && r.channel == 0);
            got++;
        }
        now += 10;
    }
    CHECK(got == 200);
    /* The last one is byte-identical. */
    CHECK(memcmp(out, "{\"seq\":199,", 11) == 0);

    /* Best effort with the dictionary. */
    CHECK_STATUS(ferrule_link_send(a, 7, DICT, sizeof DICT - 1, now), FERRULE_OK);
    pump(a, b, now);
    CHECK_STATUS(ferrule_link_recv(b, out, 8, &r), FERRULE_ERR_BUFFER_TOO_SMALL); /* stays queued */
    CHECK_STATUS(ferrule_link_recv(b, out, sizeof out, &r), FERRULE_OK);
    CHECK(!r.reliable && r.channel == 7 && r.len == sizeof DICT - 1 && memcmp(out, DICT, r.len) == 0);
    CHECK_STATUS(ferrule_link_recv(b, out, sizeof out, &r), FERRULE_EMPTY);

    /* Oversize send, stats, timers, frame-size query. */
    CHECK_STATUS(ferrule_link_send(a, 0, msg, FERRULE_LINK_MAX_MESSAGE + 1, now), FERRULE_ERR_TOO_LARGE);
    CHECK_STATUS(ferrule_link_stats(a, &st), FERRULE_OK);
    CHECK(st.sent_reliable == 200 && st.compressed > 0 && st.compress_bytes_out < st.compress_bytes_in);
    CHECK_STATUS(ferrule_link_stats(b, &st), FERRULE_OK);
    CHECK(st.delivered_reliable == 200 && st.delivered_unreliable == 1 && st.decompress_failed == 0);
    CHECK_STATUS(ferrule_link_poll_timeout(a, &deadline), FERRULE_OK);
    CHECK(deadline >= now);
    CHECK_STATUS(ferrule_link_handle_timeout(a, deadline), FERRULE_OK);
    CHECK_STATUS(ferrule_link_max_message_for_frame(a, 64, &n), FERRULE_OK);
    CHECK(n == 64 - 23);

    /* Garbage into both input paths: counted, never delivered. */
    {
        uint8_t junk[300];
        for (i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37 + 1);
        CHECK_STATUS(ferrule_link_handle_datagram(b, junk, sizeof junk, now), FERRULE_OK);
        CHECK_STATUS(ferrule_link_handle_input(b, junk, sizeof junk, now), FERRULE_OK);
        CHECK_STATUS(ferrule_link_recv(b, out, sizeof out, &r), FERRULE_EMPTY);
    }

    /* Close: DOWN event with the reason. */
    CHECK_STATUS(ferrule_link_close(a, now), FERRULE_OK);
    CHECK_STATUS(ferrule_link_poll_transmit(a, now, frame, sizeof frame, &n), FERRULE_OK);
    CHECK_STATUS(ferrule_link_poll_event(a, &ev), FERRULE_OK);
    CHECK(ev.kind == FERRULE_EVENT_DOWN && ev.reason == FERRULE_DOWN_LOCAL_CLOSE);

    /* NULL on every link entry point. */
    CHECK_STATUS(ferrule_link_send(NULL, 0, msg, 1, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_send(a, 0, NULL, 1, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_recv(NULL, out, sizeof out, &r), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_recv(b, out, sizeof out, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_recv(b, NULL, 5, &r), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_handle_input(NULL, msg, 1, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_handle_input(a, NULL, 1, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_handle_datagram(NULL, msg, 1, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_handle_datagram(a, NULL, 1, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_poll_transmit(NULL, now, frame, sizeof frame, &n), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_poll_transmit(a, now, frame, sizeof frame, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_poll_timeout(NULL, &deadline), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_poll_timeout(a, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_handle_timeout(NULL, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_poll_event(NULL, &ev), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_poll_event(a, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_close(NULL, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_stats(NULL, &st), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_stats(a, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_max_message_for_frame(NULL, 64, &n), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_max_message_for_frame(a, 64, NULL), FERRULE_ERR_NULL);
    /* Zero-length buffers with NULL pointers are valid. */
    CHECK_STATUS(ferrule_link_handle_input(a, NULL, 0, now), FERRULE_OK);
}

/* AEAD: keys, bad key lengths, a sealed exchange, a rekey, and a wrong key. */
static void test_aead(void) {
    static const uint8_t K1[FERRULE_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    uint8_t k2[FERRULE_KEY_LEN + 1];
    ferrule_link_config_t cfg = ferrule_link_config_default();
    ferrule_link_t *a = NULL, *b = NULL;
    uint8_t msg[32], out[FERRULE_LINK_MAX_MESSAGE];
    ferrule_received_t r;
    ferrule_link_stats_t st;
    uint64_t now = 0;
    unsigned i, got = 0;
    int k;

    memset(k2, 0x5A, sizeof k2);
    cfg.transport = FERRULE_TRANSPORT_DATAGRAM;
    CHECK_STATUS(ferrule_link_init(mem_a, sizeof mem_a, &cfg, 101, &a), FERRULE_OK);
    CHECK_STATUS(ferrule_link_init(mem_b, sizeof mem_b, &cfg, 202, &b), FERRULE_OK);
    /* Key lengths other than 32 and NULL pointers are refused. */
    CHECK_STATUS(ferrule_link_set_key(a, 1, K1, 0, now), FERRULE_ERR_BAD_KEY_LENGTH);
    CHECK_STATUS(ferrule_link_set_key(a, 1, K1, 16, now), FERRULE_ERR_BAD_KEY_LENGTH);
    CHECK_STATUS(ferrule_link_set_key(a, 1, K1, 31, now), FERRULE_ERR_BAD_KEY_LENGTH);
    CHECK_STATUS(ferrule_link_set_key(a, 1, k2, 33, now), FERRULE_ERR_BAD_KEY_LENGTH);
    CHECK_STATUS(ferrule_link_set_key(a, 1, NULL, 32, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_set_key(NULL, 1, K1, 32, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_link_set_key(a, 1, K1, 32, now), FERRULE_OK);
    CHECK_STATUS(ferrule_link_set_key(b, 1, K1, 32, now), FERRULE_OK);
    for (k = 0; k < 4; k++) {
        pump(a, b, now);
        pump(b, a, now);
    }
    CHECK(ferrule_link_is_up(a) && ferrule_link_is_up(b));
    for (i = 0; i < 60; i++) {
        if (i == 20) CHECK_STATUS(ferrule_link_set_key(a, 2, k2, 32, now), FERRULE_OK);
        if (i == 25) CHECK_STATUS(ferrule_link_set_key(b, 2, k2, 32, now), FERRULE_OK);
        snprintf((char *)msg, sizeof msg, "sealed %u", i);
        while (ferrule_link_send(a, 0, msg, strlen((char *)msg), now) == FERRULE_ERR_FULL) {
            pump(a, b, now);
            pump(b, a, now);
            while (ferrule_link_recv(b, out, sizeof out, &r) == FERRULE_OK) got++;
            now += 5;
            ferrule_link_handle_timeout(a, now);
            ferrule_link_handle_timeout(b, now);
        }
        pump(a, b, now);
        pump(b, a, now);
        while (ferrule_link_recv(b, out, sizeof out, &r) == FERRULE_OK) got++;
    }
    for (k = 0; k < 200 && got < 60; k++) {
        now += 10;
        ferrule_link_handle_timeout(a, now);
        ferrule_link_handle_timeout(b, now);
        pump(a, b, now);
        pump(b, a, now);
        while (ferrule_link_recv(b, out, sizeof out, &r) == FERRULE_OK) got++;
    }
    CHECK(got == 60);
    CHECK(memcmp(out, "sealed 59", 9) == 0);
    CHECK(ferrule_link_is_up(a) && ferrule_link_is_up(b));
    CHECK_STATUS(ferrule_link_stats(b, &st), FERRULE_OK);
    CHECK(st.link_downs == 0 && st.unknown_key > 0 && st.auth_failed == 0);

    /* A peer with another key never gets a session. */
    CHECK_STATUS(ferrule_link_init(mem_b, sizeof mem_b, &cfg, 203, &b), FERRULE_OK);
    CHECK_STATUS(ferrule_link_set_key(b, 2, K1, 32, now), FERRULE_OK);
    for (k = 0; k < 20; k++) {
        now += 100;
        ferrule_link_handle_timeout(a, now);
        ferrule_link_handle_timeout(b, now);
        pump(a, b, now);
        pump(b, a, now);
    }
    CHECK(!ferrule_link_is_up(b));
    CHECK_STATUS(ferrule_link_stats(b, &st), FERRULE_OK);
    CHECK(st.sessions == 0);
    CHECK_STATUS(ferrule_link_stats(a, &st), FERRULE_OK);
    CHECK(st.auth_failed > 0); /* b's HELLOs, sealed under another key with the same id */
}

int main(void) {
    test_version_and_status();
    test_framing();
    test_link();
    test_aead();
    printf("C API test: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
