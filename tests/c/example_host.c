/*
 * Runs tests/c/example.c (the README's C example) on the host: its board functions are a
 * virtual clock and a UART wired, through byte queues, to a peer link driven here (what a host
 * tool would do). The peer sends 300 numbered requests and expects each echoed back exactly
 * once, byte for byte; the device reboots once (app_init() again with a new seed) after 100
 * echoes, and the peer sends again whatever the restart left unanswered.
 * Exit status 0 only if everything arrived.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferrule.h"

ferrule_status app_init(void);
ferrule_status app_poll(void);
void app_counts(uint32_t *sent, uint32_t *settled);

#define COUNT 300u
#define QUEUE 65536u

/* A one-way byte queue standing for one direction of the UART. */
typedef struct {
    uint8_t bytes[QUEUE];
    size_t head, len;
} queue_t;

static queue_t to_device, to_peer;
static uint64_t clock_ms;
static uint64_t boots;

static void push(queue_t *q, const uint8_t *p, size_t n) {
    size_t i;
    if (q->len + n > QUEUE) {
        fprintf(stderr, "queue overflow\n");
        exit(2);
    }
    for (i = 0; i < n; i++) q->bytes[(q->head + q->len + i) % QUEUE] = p[i];
    q->len += n;
}

static size_t pop(queue_t *q, uint8_t *p, size_t cap) {
    size_t n = q->len < cap ? q->len : cap, i;
    for (i = 0; i < n; i++) p[i] = q->bytes[(q->head + i) % QUEUE];
    q->head = (q->head + n) % QUEUE;
    q->len -= n;
    return n;
}

uint64_t board_millis(void) { return clock_ms; }
size_t board_uart_read(uint8_t *buf, size_t cap) { return pop(&to_device, buf, cap); }
void board_uart_write(const uint8_t *buf, size_t len) { push(&to_peer, buf, len); }
uint64_t board_seed(void) { return 0xE5A0000000000000ull | ++boots; }
void board_log(const char *what, uint32_t value) { printf("  device: %s %u\n", what, (unsigned)value); }

/* The peer: same configuration, compression and key as the example. */
static const uint8_t KEY[FERRULE_KEY_LEN] = {
    0x6b, 0x0e, 0x3c, 0x51, 0x9a, 0x2f, 0x77, 0xd4, 0x10, 0x88, 0xe3, 0x45, 0xbb, 0x02, 0x6c, 0x39,
    0xf1, 0x5d, 0x90, 0x27, 0x4e, 0xa8, 0x13, 0xc6, 0x7a, 0x31, 0xde, 0x64, 0x08, 0x9f, 0xb5, 0x22};
static uint64_t peer_mem[FERRULE_LINK_STORAGE_SIZE(4, 128) / 8];
static uint64_t peer_comp[8192 / 8];
static uint64_t peer_aead[1024 / 8];

static size_t request(uint32_t i, uint8_t *out) {
    int n = snprintf((char *)out, 128, "{\"request\":%u,\"temp\":%u.%u,\"pad\":\"%.*s\"}", (unsigned)i,
                     (unsigned)(20 + i % 7), (unsigned)(i % 10), (int)(i % 60),
                     "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij");
    return (size_t)n;
}

int main(void) {
    ferrule_link_config_t cfg = ferrule_link_config_default();
    ferrule_compression_config_t z = ferrule_compression_config_default();
    ferrule_link_t *peer = NULL;
    static uint8_t answered[COUNT], in_flight[COUNT];
    uint8_t buf[512], msg[128], want[128];
    uint32_t next = 0, echoes = 0, duplicates = 0, corrupt = 0, resent = 0, i, id, sent, settled;
    int rebooted = 0, failed = 0;
    ferrule_status st;

    cfg.rto_initial_ms = 200;
    z.reliable = FERRULE_MODE_SHARED;
    z.send_window_bits = 9;
    z.receive_window_bits = 9;
    if (ferrule_link_init(peer_mem, sizeof peer_mem, &cfg, 0x9EE4, &peer) != FERRULE_OK ||
        ferrule_link_enable_compression(peer, peer_comp, sizeof peer_comp, &z) != FERRULE_OK ||
        ferrule_link_enable_aead(peer, peer_aead, sizeof peer_aead, 1, KEY, sizeof KEY) != FERRULE_OK) {
        fprintf(stderr, "peer setup failed\n");
        return 1;
    }
    st = app_init();
    if (st != FERRULE_OK) {
        fprintf(stderr, "app_init: %s\n", ferrule_status_str(st));
        return 1;
    }
    for (clock_ms = 0; clock_ms < 600000 && echoes < COUNT; clock_ms++) {
        ferrule_event_t ev;
        ferrule_received_t r;
        size_t n;
        st = app_poll();
        if (st != FERRULE_OK) {
            fprintf(stderr, "app_poll: %s\n", ferrule_status_str(st));
            failed = 1;
            break;
        }
        if (!rebooted && echoes >= 100) {
            printf("  rebooting the device\n");
            rebooted = 1;
            if (app_init() != FERRULE_OK) return 1;
        }
        /* The peer's side of the wire, as a host tool runs it. */
        while ((n = pop(&to_peer, buf, sizeof buf)) > 0) ferrule_link_handle_input(peer, buf, n, clock_ms);
        ferrule_link_handle_timeout(peer, clock_ms);
        while (ferrule_link_poll_event(peer, &ev) == FERRULE_OK) {
            if (ev.kind == FERRULE_EVENT_DOWN) {
                /* Whatever was asked and not answered is asked again in the next session. */
                memset(in_flight, 0, sizeof in_flight);
                printf("  peer: link down (reason %u, %u unconfirmed from id %u)\n", ev.reason, ev.unacked,
                       (unsigned)ev.first_id);
            }
        }
        while (ferrule_link_recv(peer, msg, sizeof msg, &r) == FERRULE_OK) {
            uint32_t k = 0;
            if (sscanf((const char *)msg, "{\"request\":%u", &k) != 1 || k >= COUNT || r.len != request(k, want) ||
                memcmp(msg, want, r.len) != 0) {
                corrupt++;
            } else if (answered[k] || !in_flight[k]) {
                duplicates++;
            } else {
                answered[k] = 1;
                in_flight[k] = 0;
                echoes++;
            }
        }
        /* Requests: the lowest not yet answered and not in flight first. */
        if (ferrule_link_is_up(peer)) {
            for (i = 0; i < COUNT; i++) {
                if (answered[i] || in_flight[i]) continue;
                n = request(i, msg);
                if (ferrule_link_send(peer, 0, msg, n, clock_ms, &id) != FERRULE_OK) break;
                if (i < next) resent++;
                in_flight[i] = 1;
                if (i >= next) next = i + 1;
            }
        }
        while (ferrule_link_poll_transmit(peer, clock_ms, buf, sizeof buf, &n) == FERRULE_OK) push(&to_device, buf, n);
    }
    app_counts(&sent, &settled);
    printf("example: %u/%u echoes, %u requests sent again after the reboot, %u duplicates, %u corrupted; "
           "%u replies since the reboot, %u settled\n",
           (unsigned)echoes, COUNT, (unsigned)resent, (unsigned)duplicates, (unsigned)corrupt, (unsigned)sent,
           (unsigned)settled);
    return !failed && echoes == COUNT && duplicates == 0 && corrupt == 0 && rebooted && settled + 4 >= sent ? 0 : 1;
}
