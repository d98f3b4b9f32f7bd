/*
 * ferrule in a C firmware: one reliable, compressed, sealed link over a UART, answering every
 * message it receives with the same bytes (an echo service). Every status is checked.
 *
 * The board provides five functions (below); the firmware's main() calls app_init() once and
 * app_poll() in its main loop. Nothing here runs in an interrupt: the UART receive interrupt
 * only puts bytes into a ring buffer that board_uart_read() empties.
 *
 * Memory: everything is static (no malloc). Build: see "C usage" in README.md.
 */
#include <stdint.h>
#include <string.h>

#include "ferrule.h"

/* ------------------------------------------------------------- what the board provides */

/* Milliseconds since boot, never going backwards (a SysTick or RTC counter). */
uint64_t board_millis(void);
/* Copies up to `cap` bytes the UART has received since the last call; returns how many. */
size_t board_uart_read(uint8_t *buf, size_t cap);
/* Sends `len` bytes on the UART (blocking, or into a transmit ring buffer). */
void board_uart_write(const uint8_t *buf, size_t len);
/* 64 bits that never repeat on any device holding the key: a hardware RNG, or
 * (device_number << 32) | boot_counter with the counter kept in flash and incremented
 * (and written back) before every call. */
uint64_t board_seed(void);
/* Reports something worth knowing (a log line, an LED, a counter). */
void board_log(const char *what, uint32_t value);

/* ------------------------------------------------------------- configuration and memory */

#define WINDOW 4        /* messages in flight each way */
#define MAX_MESSAGE 128 /* bytes */

/* The pre-shared key, the same on the host (ferrule ... --key-file, --key-id). Provision it in
 * every device of a real product; this one is only an example. */
static const uint8_t KEY[FERRULE_KEY_LEN] = {
    0x6b, 0x0e, 0x3c, 0x51, 0x9a, 0x2f, 0x77, 0xd4, 0x10, 0x88, 0xe3, 0x45, 0xbb, 0x02, 0x6c, 0x39,
    0xf1, 0x5d, 0x90, 0x27, 0x4e, 0xa8, 0x13, 0xc6, 0x7a, 0x31, 0xde, 0x64, 0x08, 0x9f, 0xb5, 0x22};
#define KEY_ID 1

/* 8-byte aligned blocks (arrays of uint64_t), sized at compile time by the header's macros
 * (app_init() checks them against the library too). Compression: one compressor (the shared
 * stream), 512-byte windows both ways, no dynamic-Huffman tables: 3,456 B on a 32-bit MCU. */
static uint64_t link_mem[FERRULE_LINK_STORAGE_SIZE(WINDOW, MAX_MESSAGE) / 8];
static uint64_t compression_mem[FERRULE_COMPRESSION_STORAGE_SIZE(1, 9, 9, 0) / 8];
static uint64_t aead_mem[FERRULE_AEAD_STORAGE_SIZE / 8];
static uint8_t frame[256];                 /* >= ferrule_link_max_frame_len(MAX_MESSAGE) */
static uint8_t rx[64];                     /* UART bytes per poll */
static uint8_t message[MAX_MESSAGE];       /* the message being answered */
static size_t reply_len;                   /* 0: no reply waiting to be sent */

static ferrule_link_t *uart_link;
static uint32_t replies_sent;    /* replies the link took (their ids are 0, 1, 2, ...) */
static uint32_t replies_settled; /* ids below this: acknowledged, or reported in a DOWN event */

/* Sets everything up; returns FERRULE_OK or the status that failed. */
ferrule_status app_init(void) {
    ferrule_link_config_t cfg = ferrule_link_config_default();
    ferrule_compression_config_t z = ferrule_compression_config_default();
    size_t need;
    ferrule_status st;

    cfg.transport = FERRULE_TRANSPORT_STREAM;
    cfg.window = WINDOW;
    cfg.max_message = MAX_MESSAGE;
    cfg.rto_initial_ms = 200; /* a UART at 115200 Bd: round trips of a few ms */
    if (ferrule_link_storage_size(&cfg) > sizeof link_mem) return FERRULE_ERR_MEMORY_TOO_SMALL;
    if (ferrule_link_max_frame_len(MAX_MESSAGE) > sizeof frame) return FERRULE_ERR_BUFFER_TOO_SMALL;
    st = ferrule_link_init(link_mem, sizeof link_mem, &cfg, board_seed(), &uart_link);
    if (st != FERRULE_OK) return st;

    /* Compression: the shared stream on the reliable channel, both ways. */
    z.reliable = FERRULE_MODE_SHARED;
    z.send_window_bits = 9;
    z.receive_window_bits = 9;
    need = ferrule_compression_storage_size(&z);
    if (need == 0) return FERRULE_ERR_INVALID_ARGUMENT;
    if (need > sizeof compression_mem) return FERRULE_ERR_MEMORY_TOO_SMALL;
    st = ferrule_link_enable_compression(uart_link, compression_mem, sizeof compression_mem, &z);
    if (st != FERRULE_OK) return st;

    /* Authenticated encryption under the pre-shared key. */
    if (ferrule_aead_storage_size() > sizeof aead_mem) return FERRULE_ERR_MEMORY_TOO_SMALL;
    st = ferrule_link_enable_aead(uart_link, aead_mem, sizeof aead_mem, KEY_ID, KEY, sizeof KEY);
    if (st != FERRULE_OK) return st; /* FERRULE_ERR_UNSUPPORTED: library built without AEAD */

    reply_len = 0;
    replies_sent = replies_settled = 0;
    board_log("link initialised, bytes of state", (uint32_t)(sizeof link_mem + sizeof compression_mem + sizeof aead_mem));
    return FERRULE_OK;
}

/* Handles one link event. */
static void on_event(const ferrule_event_t *ev) {
    if (ev->kind == FERRULE_EVENT_UP) {
        board_log("link up", 0);
        return;
    }
    /* Down: the session ended (ev->reason: FERRULE_DOWN_*). Reliable messages with ids
     * first_id .. first_id + unacked - 1 were not confirmed and are dropped; a new handshake
     * starts by itself. An application that must not lose them sends them again once the
     * link is up; the peer may have received some of them already (their acknowledgement
     * was lost with the session), so the receiver must recognise a repeat. (Events polled
     * as here never overflow; one left unpolled for sessions may cover several.) */
    board_log("link down, reason", ev->reason);
    if (ev->unacked > 0) {
        board_log("unconfirmed replies dropped, the first has id", ev->first_id);
    }
    reply_len = 0; /* the peer sends its request again in the new session */
}

/* One pass of the main loop; returns FERRULE_OK or a status that should not happen. */
ferrule_status app_poll(void) {
    uint64_t now = board_millis(), deadline;
    ferrule_event_t ev;
    ferrule_received_t got;
    uint32_t id;
    size_t n;
    ferrule_status st;

    /* 1. Bytes from the UART, in any chunking. Bad bytes are counted, never an error. */
    n = board_uart_read(rx, sizeof rx);
    st = ferrule_link_handle_input(uart_link, rx, n, now);
    if (st != FERRULE_OK) return st;

    /* 2. Timers: retransmissions, acknowledgements, keepalives, handshake. */
    st = ferrule_link_poll_timeout(uart_link, &deadline);
    if (st == FERRULE_OK && now >= deadline) {
        st = ferrule_link_handle_timeout(uart_link, now);
        if (st != FERRULE_OK) return st;
    } else if (st != FERRULE_OK && st != FERRULE_EMPTY) {
        return st;
    }

    /* 3. Events, after every call that fed input or ran timers. */
    while ((st = ferrule_link_poll_event(uart_link, &ev)) == FERRULE_OK) on_event(&ev);
    if (st != FERRULE_EMPTY) return st;

    /* 4. Messages: take one only when the previous reply has been handed to the link, so a
     *    full send window slows the peer down instead of dropping anything. */
    while (reply_len == 0) {
        st = ferrule_link_recv(uart_link, message, sizeof message, &got);
        if (st == FERRULE_EMPTY) break;
        if (st == FERRULE_ERR_DECOMPRESS) { /* dropped and counted; the next one may be fine */
            board_log("message did not decompress", 0);
            continue;
        }
        if (st != FERRULE_OK) return st; /* BUFFER_TOO_SMALL cannot happen: MAX_MESSAGE bytes */
        if (got.reliable) reply_len = got.len;
    }

    /* 5. The reply. */
    if (reply_len > 0) {
        st = ferrule_link_send(uart_link, 0, message, reply_len, now, &id);
        if (st == FERRULE_OK) {
            reply_len = 0;
            replies_sent++;
        } else if (st == FERRULE_ERR_NOT_CONNECTED || st == FERRULE_ERR_TOO_LARGE) {
            reply_len = 0; /* no session (the peer asks again), or larger than the peer takes */
        } else if (st != FERRULE_ERR_FULL) { /* FULL: try again on the next pass */
            return st;
        }
    }

    /* 6. Which replies are settled: every id below the one returned was acknowledged by the
     *    peer or reported in a DOWN event (reply `id` is confirmed once
     *    (int32_t)(replies_settled - id) > 0). */
    st = ferrule_link_acked_before(uart_link, &replies_settled);
    if (st != FERRULE_OK) return st;

    /* 7. Frames to send, until the link has nothing more. */
    while ((st = ferrule_link_poll_transmit(uart_link, now, frame, sizeof frame, &n)) == FERRULE_OK) {
        board_uart_write(frame, n);
    }
    return st == FERRULE_EMPTY ? FERRULE_OK : st;
}

/* Replies handed to the link since app_init(), and how many of them are settled. */
void app_counts(uint32_t *sent, uint32_t *settled) {
    *sent = replies_sent;
    *settled = replies_settled;
}

#ifndef FERRULE_EXAMPLE_NO_MAIN
int main(void) {
    ferrule_status st = app_init();
    if (st != FERRULE_OK) {
        board_log(ferrule_status_str(st), st);
        return 1;
    }
    for (;;) {
        st = app_poll();
        if (st != FERRULE_OK) board_log(ferrule_status_str(st), st);
        /* Here a firmware may sleep until the next interrupt or `deadline`. */
    }
}
#endif
