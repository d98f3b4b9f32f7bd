/* Firmware: the reliable link over a UART, talking to `ferrule firmware` on the host at the
 * other end of QEMU's -serial. Built for two boards (board.h): mps2-an386 (Cortex-M4F, CMSDK
 * UART) and the microbit (nRF51822, Cortex-M0, 16 KiB RAM, nRF51 UART). Only the documented C
 * API; no C library.
 *
 * Application protocol (host-demo/src/cmd/firmware.rs speaks the other half):
 *   request  i: [i u32 LE] 'H' text(i)        (host -> firmware, reliable channel 0)
 *   response i: [i u32 LE] 'F' reverse(text(i)) (firmware -> host), or 'X' + nothing when the
 *               request was not what text(i) says (the host counts that as corruption).
 *   text(i): the record {"n":i,"t":21.d,"s":"ok"} (d = i % 10) repeated, cut to
 *            24 + (i * 37) % 160 bytes.
 * Compression: shared-window stream on the reliable channel, both ways. Built with -DCOMPACT
 * it uses the size-first compact link instead (ferrule_compact_*, the same calls and the same
 * compression), against the host tool's full link.
 *
 * The seed differs on every boot (the host recognises a restart by the new handshake
 * nonce): from the semihosting command line on mps2, from the RNG on the nRF51. Reports
 * through semihosting: boot, every link event, and every 100 requests, each with the peak
 * stack so far (painted at boot). Runs until QEMU is stopped. */
#include <string.h>

#include "board.h"
#include "ferrule.h"
#include "semihost.h"

#define WINDOW 4
#define MAX_MESSAGE 192 /* requests are at most 5 + 183 bytes */

#ifdef COMPACT
#define L(f) ferrule_compact_##f
static uint64_t link_mem[FERRULE_COMPACT_STORAGE_SIZE(WINDOW, MAX_MESSAGE) / 8];
#else
#define L(f) ferrule_link_##f
static uint64_t link_mem[FERRULE_LINK_STORAGE_SIZE(WINDOW, MAX_MESSAGE) / 8];
#endif
static uint64_t comp_mem[5504 / 8];
static uint8_t rx[64], frame[320], msg[MAX_MESSAGE], expect[MAX_MESSAGE], reply[MAX_MESSAGE];

static size_t put_u32(char *out, uint32_t v) {
    char tmp[10];
    size_t n = 0, k;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    for (k = 0; k < n; k++) out[k] = tmp[n - 1 - k];
    return n;
}

static size_t text(uint32_t i, uint8_t *out) {
    char rec[48];
    size_t r = 0, len = 24u + (size_t)((i * 37u) % 160u), k;
    memcpy(rec, "{\"n\":", 5);
    r = 5;
    r += put_u32(rec + r, i);
    memcpy(rec + r, ",\"t\":21.", 8);
    r += 8;
    rec[r++] = (char)('0' + i % 10u);
    memcpy(rec + r, ",\"s\":\"ok\"}", 10);
    r += 10;
    for (k = 0; k < len; k++) out[k] = (uint8_t)rec[k % r];
    return len;
}

static void report(const char *what, uint32_t requests, uint32_t bad) {
    sh_puts("uart_peer: ");
    sh_puts(what);
    sh_puts(", ");
    sh_putu(requests);
    sh_puts(" requests answered this boot, ");
    sh_putu(bad);
    sh_puts(" bad, stack peak ");
    sh_putu(board_stack_peak());
    sh_puts(" B\n");
}

static void fail(const char *what, ferrule_status st) {
    sh_puts("uart_peer: ");
    sh_puts(what);
    sh_puts(": ");
    sh_puts(ferrule_status_str(st));
    sh_puts("\n");
    sh_exit(0);
}

int main(void) {
#ifdef COMPACT
    ferrule_compact_config_t cfg = ferrule_compact_config_default();
    ferrule_compact_t *link = NULL;
#else
    ferrule_link_config_t cfg = ferrule_link_config_default();
    ferrule_link_t *link = NULL;
#endif
    ferrule_compression_config_t z = ferrule_compression_config_default();
    ferrule_status st;
    size_t reply_len = 0, state;
    uint32_t requests = 0, bad = 0;
    uint64_t seed;

    board_init();
    seed = board_seed();
    cfg.transport = FERRULE_TRANSPORT_STREAM;
    cfg.window = WINDOW;
    cfg.max_message = MAX_MESSAGE;
    cfg.rto_initial_ms = 200;
    cfg.keepalive_ms = 500;
#ifdef COMPACT
    if (ferrule_compact_max_frame_len(MAX_MESSAGE) > sizeof frame) fail("frame buffer", FERRULE_ERR_BUFFER_TOO_SMALL);
    st = ferrule_compact_init(link_mem, sizeof link_mem, &cfg, seed, &link);
    if (st != FERRULE_OK) fail("link init", st);
#else
    if (ferrule_link_max_frame_len(MAX_MESSAGE) > sizeof frame) fail("frame buffer", FERRULE_ERR_BUFFER_TOO_SMALL);
    st = ferrule_link_init(link_mem, sizeof link_mem, &cfg, seed, &link);
    if (st != FERRULE_OK) fail("link init", st);
#endif
    z.reliable = FERRULE_MODE_SHARED;
    if (ferrule_compression_storage_size(&z) > sizeof comp_mem) fail("compression memory", FERRULE_ERR_MEMORY_TOO_SMALL);
    st = L(enable_compression)(link, comp_mem, sizeof comp_mem, &z);
    if (st != FERRULE_OK) fail("compression", st);
    state = sizeof link_mem + ferrule_compression_storage_size(&z);
    sh_puts("uart_peer: boot on ");
    sh_puts(BOARD_NAME);
    sh_puts(", seed ");
    sh_puthex((uint32_t)(seed >> 32));
    sh_puthex((uint32_t)seed);
    sh_puts(", state ");
    sh_putu((uint32_t)state);
    sh_puts(" B\n");

    for (;;) {
        uint64_t now = board_millis(), deadline;
        ferrule_received_t got;
        ferrule_event_t ev;
        size_t n = board_uart_read(rx, sizeof rx);
        if (n) L(handle_input)(link, rx, n, now);

        /* Take a request only when the previous reply has been queued: a full send window
         * then closes the receive window instead of dropping anything. */
        while (reply_len == 0 && (st = L(recv)(link, msg, sizeof msg, &got)) != FERRULE_EMPTY) {
            uint32_t i = 0;
            size_t tl;
            if (st != FERRULE_OK) fail("recv", st);
            if (got.len >= 5) memcpy(&i, msg, 4);
            tl = text(i, expect);
            memcpy(reply, msg, 4);
            if (got.len == 5 + tl && msg[4] == 'H' && memcmp(msg + 5, expect, tl) == 0) {
                size_t k;
                reply[4] = 'F';
                for (k = 0; k < tl; k++) reply[5 + k] = expect[tl - 1 - k];
                reply_len = 5 + tl;
            } else {
                reply[4] = 'X';
                reply_len = 5;
                bad++;
            }
            if (++requests % 100 == 0) report("progress", requests, bad);
        }
        if (reply_len) {
            st = L(send)(link, 0, reply, reply_len, now, NULL);
            if (st == FERRULE_OK || st == FERRULE_ERR_NOT_CONNECTED) {
                reply_len = 0; /* not connected: the host asks again in the next session */
            } else if (st != FERRULE_ERR_FULL) {
                fail("send", st);
            }
        }
        while ((st = L(poll_transmit)(link, now, frame, sizeof frame, &n)) == FERRULE_OK) {
            board_uart_write(frame, n);
        }
        if (st != FERRULE_EMPTY) fail("poll_transmit", st);
        if (L(poll_timeout)(link, &deadline) == FERRULE_OK && now >= deadline) {
            L(handle_timeout)(link, now);
        }
        while (L(poll_event)(link, &ev) == FERRULE_OK) {
            report(ev.kind == FERRULE_EVENT_UP ? "link up" : "link down", requests, bad);
            if (ev.kind == FERRULE_EVENT_DOWN) reply_len = 0;
        }
    }
}
