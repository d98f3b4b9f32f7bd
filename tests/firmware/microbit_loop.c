/*
 * Two links inside one 16 KiB nRF51822 (QEMU microbit, Cortex-M0), over an in-memory wire that
 * drops every 7th frame and flips a bit in every 13th, with shared-window compression both
 * ways (512-byte windows) and 4 x 128 B windows: 250 messages each way, every one checked
 * byte for byte, in order, once. Stream framing, fed in pieces of 1 to 16 bytes. Only the
 * documented C API; no C library. Reports through semihosting, including the state's size
 * and the stack's high-water mark over the whole run (painted at boot); exit status 0 only if
 * nothing was lost, duplicated or corrupted. Built with -DCOMPACT the two ends are compact
 * links (ferrule_compact_*, the same calls) instead of full ones.
 */
#include <string.h>

#include "board.h"
#include "ferrule.h"
#include "semihost.h"

#define WINDOW 4
#define MAX_MESSAGE 128
#define COUNT 250u
/* One compressor (the shared stream), 512-byte windows both ways, no dynamic tables. */
#define COMP_BYTES FERRULE_COMPRESSION_STORAGE_SIZE(1, 9, 9, 0)

#ifdef COMPACT
#define L(f) ferrule_compact_##f
#define LINK_BYTES FERRULE_COMPACT_STORAGE_SIZE(WINDOW, MAX_MESSAGE)
#define LINK_NAME "compact links"
typedef ferrule_compact_t link_t;
typedef ferrule_compact_config_t config_t;
typedef ferrule_compact_stats_t stats_t;
#else
#define L(f) ferrule_link_##f
#define LINK_BYTES FERRULE_LINK_STORAGE_SIZE(WINDOW, MAX_MESSAGE)
#define LINK_NAME "full links"
typedef ferrule_link_t link_t;
typedef ferrule_link_config_t config_t;
typedef ferrule_link_stats_t stats_t;
#endif

typedef struct {
    uint64_t mem[LINK_BYTES / 8];
    uint64_t comp[COMP_BYTES / 8];
    link_t *link;
    uint32_t sent, got, duplicates, corrupted, downs;
} end_t;

static end_t ends[2];
static uint8_t frame[256], msg[MAX_MESSAGE], out[MAX_MESSAGE], want[MAX_MESSAGE];
static uint32_t frames, dropped, flipped;
static int failures;

static void check(int ok, const char *what) {
    if (!ok) {
        failures++;
        sh_puts("FAIL ");
        sh_puts(what);
        sh_puts("\n");
    }
}

/* Message i from end d: a telemetry record, repeated to a length between 16 and 128. */
static size_t make(uint32_t i, uint32_t d, uint8_t *p) {
    static const char rec[] = "{\"dev\":7,\"temp\":21.5,\"rh\":40.2,\"ok\":true}";
    size_t len = 16u + (size_t)((i * 29u + d * 7u) % (MAX_MESSAGE - 15u)), k;
    for (k = 0; k < len; k++) p[k] = (uint8_t)rec[(k + i) % (sizeof rec - 1)];
    p[0] = (uint8_t)d;
    p[1] = (uint8_t)i;
    p[2] = (uint8_t)(i >> 8);
    return len;
}

static void carry(end_t *from, end_t *to, uint64_t now) {
    size_t n, off, piece = 1;
    ferrule_status st;
    while ((st = L(poll_transmit)(from->link, now, frame, sizeof frame, &n)) == FERRULE_OK) {
        frames++;
        if (frames % 7 == 0) {
            dropped++;
            continue;
        }
        if (frames % 13 == 0) {
            frame[(frames / 13) % n] ^= (uint8_t)(1u << (frames % 8));
            flipped++;
        }
        for (off = 0; off < n; off += piece) {
            piece = 1 + (frames + off) % 16;
            if (piece > n - off) piece = n - off;
            check(L(handle_input)(to->link, frame + off, piece, now) == FERRULE_OK, "handle_input");
        }
    }
    check(st == FERRULE_EMPTY, "poll_transmit");
}

static void service(end_t *e, uint32_t d, uint64_t now) {
    ferrule_received_t r;
    ferrule_event_t ev;
    ferrule_status st;
    uint64_t deadline;
    if (L(poll_timeout)(e->link, &deadline) == FERRULE_OK && now >= deadline) {
        check(L(handle_timeout)(e->link, now) == FERRULE_OK, "handle_timeout");
    }
    while (L(poll_event)(e->link, &ev) == FERRULE_OK) {
        if (ev.kind == FERRULE_EVENT_DOWN) e->downs++;
    }
    while ((st = L(recv)(e->link, out, sizeof out, &r)) != FERRULE_EMPTY) {
        uint32_t i;
        size_t wl;
        check(st == FERRULE_OK, "recv");
        if (st != FERRULE_OK) continue;
        i = (uint32_t)out[1] | ((uint32_t)out[2] << 8);
        if (i < e->got) {
            e->duplicates++;
            continue;
        }
        wl = make(e->got, 1 - d, want);
        if (r.len != wl || memcmp(out, want, wl) != 0 || !r.reliable) e->corrupted++;
        e->got++;
    }
    if (L(is_up)(e->link) && e->sent < COUNT) {
        size_t n = make(e->sent, d, msg);
        st = L(send)(e->link, 0, msg, n, now, NULL);
        check(st == FERRULE_OK || st == FERRULE_ERR_FULL, "send");
        if (st == FERRULE_OK) e->sent++;
    }
}

int main(void) {
    config_t cfg = L(config_default)();
    ferrule_compression_config_t z = ferrule_compression_config_default();
    stats_t s[2];
    uint64_t now;
    uint32_t d;

    board_init();
    cfg.window = WINDOW;
    cfg.max_message = MAX_MESSAGE;
    cfg.rto_initial_ms = 100;
    z.reliable = FERRULE_MODE_SHARED;
    z.send_window_bits = 9;
    z.receive_window_bits = 9;
    /* The compile-time sizes are exact on this 32-bit part. */
    check(ferrule_compression_storage_size(&z) == COMP_BYTES, "compression memory (macro)");
    check(ferrule_aead_storage_size() == FERRULE_AEAD_STORAGE_SIZE, "AEAD memory (macro)");
#ifdef COMPACT
    check(ferrule_compact_storage_size(WINDOW, MAX_MESSAGE) == sizeof ends[0].mem, "link memory (macro)");
#else
    check(ferrule_link_storage_size(&cfg) == sizeof ends[0].mem, "link memory (macro)");
#endif
    for (d = 0; d < 2; d++) {
        check(L(init)(ends[d].mem, sizeof ends[d].mem, &cfg, 0x6d62000000000000ull + d, &ends[d].link) == FERRULE_OK,
              "init");
        check(L(enable_compression)(ends[d].link, ends[d].comp, sizeof ends[d].comp, &z) == FERRULE_OK,
              "enable_compression");
    }
    if (failures) return 1;
    /* Virtual time: 1 ms per pass, so the run does not depend on the host's speed. */
    for (now = 0; now < 600000 && (ends[0].got < COUNT || ends[1].got < COUNT); now++) {
        service(&ends[0], 0, now);
        service(&ends[1], 1, now);
        carry(&ends[0], &ends[1], now);
        carry(&ends[1], &ends[0], now);
    }
    for (d = 0; d < 2; d++) check(L(stats)(ends[d].link, &s[d]) == FERRULE_OK, "stats");

    sh_puts("microbit loop on ");
    sh_puts(BOARD_NAME);
    sh_puts(", " LINK_NAME ": link state 2 x ");
    sh_putu((uint32_t)sizeof ends[0].mem);
    sh_puts(" B, compression 2 x ");
    sh_putu((uint32_t)ferrule_compression_storage_size(&z));
    sh_puts(" B; ");
    sh_putu(ends[1].got);
    sh_puts(" + ");
    sh_putu(ends[0].got);
    sh_puts(" messages in ");
    sh_putu((uint32_t)now);
    sh_puts(" ms (virtual); ");
    sh_putu(frames);
    sh_puts(" frames, ");
    sh_putu(dropped);
    sh_puts(" dropped, ");
    sh_putu(flipped);
    sh_puts(" corrupted on the wire; ");
    sh_putu(s[0].retransmissions + s[1].retransmissions);
    sh_puts(" retransmissions, ");
    sh_putu(s[0].framing.bad_crc + s[1].framing.bad_crc + s[0].framing.malformed + s[1].framing.malformed);
    sh_puts(" frames rejected; compressed ");
    sh_putu((uint32_t)(s[0].compress_bytes_in + s[1].compress_bytes_in));
    sh_puts(" -> ");
    sh_putu((uint32_t)(s[0].compress_bytes_out + s[1].compress_bytes_out));
    sh_puts(" B; lost ");
    sh_putu(2 * COUNT - ends[0].got - ends[1].got);
    sh_puts(", duplicated ");
    sh_putu(ends[0].duplicates + ends[1].duplicates);
    sh_puts(", corrupted ");
    sh_putu(ends[0].corrupted + ends[1].corrupted);
    sh_puts(", sessions lost ");
    sh_putu(ends[0].downs + ends[1].downs);
    sh_puts("; stack peak ");
    sh_putu(board_stack_peak());
    sh_puts(" B\n");
    check(ends[0].got == COUNT && ends[1].got == COUNT, "every message delivered");
    check(ends[0].duplicates + ends[1].duplicates == 0, "no duplicates");
    check(ends[0].corrupted + ends[1].corrupted == 0, "no corruption");
    check(ends[0].downs + ends[1].downs == 0, "no session lost");
    check(s[0].compress_bytes_out < s[0].compress_bytes_in, "compression");
    check(dropped > 0 && flipped > 0, "an impaired wire");
    return failures == 0 ? 0 : 1;
}
