/* Firmware: the reliable link over the emulated UART0 (CMSDK APB UART at 0x40004000 on QEMU's
 * mps2-an386), talking to `ferrule-demo firmware` at the other end of QEMU's -serial.
 *
 * Application protocol (the demo's firmware mode speaks the other half):
 *   request  i: [i u32 LE] 'H' text(i)        (host -> firmware, reliable channel 0)
 *   response i: [i u32 LE] 'F' reverse(text(i)) (firmware -> host), or 'X' + nothing when the
 *               request was not what text(i) says (the host counts that as corruption).
 *   text(i): the record {"n":i,"t":21.d,"s":"ok"} (d = i % 10) repeated, cut to
 *            24 + (i * 37) % 160 bytes.
 * Compression: shared-window stream on the reliable channel, both ways.
 *
 * The link's seed must differ on every boot (the peer recognises a restart by it): QEMU has no
 * RNG or non-volatile memory here, so the test passes one as a semihosting argument
 * (`-semihosting-config ...,arg=uart_peer,arg=seed=N`), read through SYS_GET_CMDLINE. Time: SysTick at 1 kHz (25 MHz core clock). Events are printed
 * through semihosting. The firmware runs until QEMU is stopped. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ferrule.h"

#define UART0_DATA (*(volatile uint32_t *)0x40004000u)
#define UART0_STATE (*(volatile uint32_t *)0x40004004u)
#define UART0_CTRL (*(volatile uint32_t *)0x40004008u)
#define UART0_BAUDDIV (*(volatile uint32_t *)0x40004010u)
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static volatile uint32_t ticks_ms;
void SysTick_Handler(void) { ticks_ms++; }

static uint64_t now_ms(void) { return ticks_ms; }

static void uart_write(const uint8_t *p, size_t n) {
    while (n--) {
        while (UART0_STATE & 1u) {} /* TX buffer full */
        UART0_DATA = *p++;
    }
}

/* One semihosting call: operation in r0, argument block in r1, result in r0. Out of line and
 * opaque, so the compiler assumes it reads and writes whatever the block points to. */
__attribute__((naked, noinline)) static uint32_t semihost(uint32_t op, void *block) {
    (void)op;
    (void)block;
    __asm volatile("bkpt 0xab\n bx lr");
}

/* SYS_GET_CMDLINE (0x15): "seed=N" among QEMU's semihosting arguments. */
static uint32_t boot_seed(void) {
    char cmd[64] = {0};
    struct { char *buf; int len; } block = {cmd, (int)sizeof cmd - 1};
    uint32_t seed = 0;
    const char *s = semihost(0x15, &block) == 0 ? strstr(cmd, "seed=") : NULL;
    if (s) {
        for (s += 5; *s >= '0' && *s <= '9'; s++) seed = seed * 10u + (uint32_t)(*s - '0');
    }
    return seed;
}

static size_t text(uint32_t i, uint8_t *out) {
    char rec[48];
    int r = snprintf(rec, sizeof rec, "{\"n\":%lu,\"t\":21.%lu,\"s\":\"ok\"}", (unsigned long)i,
                     (unsigned long)(i % 10u));
    size_t len = 24u + (size_t)((i * 37u) % 160u);
    for (size_t k = 0; k < len; k++) out[k] = (uint8_t)rec[k % (size_t)r];
    return len;
}

static uint64_t link_mem[FERRULE_LINK_STORAGE_SIZE / 8];

int main(void) {
    static uint8_t rx[64], frame[FERRULE_LINK_MAX_FRAME], msg[FERRULE_LINK_MAX_MESSAGE],
        expect[FERRULE_LINK_MAX_MESSAGE], reply[FERRULE_LINK_MAX_MESSAGE];
    size_t reply_len = 0;
    uint32_t seed = boot_seed(), requests = 0, bad = 0;

    UART0_BAUDDIV = 16;
    UART0_CTRL = 3u; /* TX and RX enabled, no interrupts: polled */
    SYST_RVR = 25000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* core clock, interrupt, enable */

    ferrule_link_config_t cfg = ferrule_link_config_default();
    cfg.transport = FERRULE_TRANSPORT_STREAM;
    cfg.compression_reliable = FERRULE_MODE_SHARED;
    cfg.rto_initial_ms = 200;
    cfg.keepalive_ms = 500;
    ferrule_link_t *link = NULL;
    if (ferrule_link_init(link_mem, sizeof link_mem, &cfg, seed, &link) != FERRULE_OK) {
        printf("uart_peer: link init failed\n");
        return 1;
    }
    printf("uart_peer: boot, seed %lu\n", (unsigned long)seed);
    for (;;) {
        uint64_t now = now_ms();
        size_t n = 0;
        while (n < sizeof rx && (UART0_STATE & 2u)) rx[n++] = (uint8_t)UART0_DATA;
        if (n) ferrule_link_handle_input(link, rx, n, now);

        /* Take a request only when the previous reply has been queued: a full send window
         * then closes the receive window instead of dropping anything. */
        ferrule_received_t got;
        while (reply_len == 0 && ferrule_link_recv(link, msg, sizeof msg, &got) == FERRULE_OK) {
            uint32_t i = 0;
            if (got.len >= 5) memcpy(&i, msg, 4);
            size_t tl = text(i, expect);
            memcpy(reply, msg, 4);
            if (got.len == 5 + tl && msg[4] == 'H' && memcmp(msg + 5, expect, tl) == 0) {
                reply[4] = 'F';
                for (size_t k = 0; k < tl; k++) reply[5 + k] = expect[tl - 1 - k];
                reply_len = 5 + tl;
            } else {
                reply[4] = 'X';
                reply_len = 5;
                bad++;
            }
            requests++;
        }
        if (reply_len && ferrule_link_send(link, 0, reply, reply_len, now) == FERRULE_OK) {
            reply_len = 0;
        }

        size_t flen = 0;
        while (ferrule_link_poll_transmit(link, now, frame, sizeof frame, &flen) == FERRULE_OK) {
            uart_write(frame, flen);
        }
        ferrule_link_handle_timeout(link, now);
        ferrule_event_t ev;
        while (ferrule_link_poll_event(link, &ev) == FERRULE_OK) {
            printf("uart_peer: link %s (reason %u), %lu requests answered this boot, %lu bad\n",
                   ev.kind == FERRULE_EVENT_UP ? "up" : "down", ev.reason,
                   (unsigned long)requests, (unsigned long)bad);
        }
    }
}
