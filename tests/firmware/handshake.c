/*
 * What a handshake costs on Cortex-M4F, in instructions, under QEMU mps2-an386 run with
 * `-icount shift=0` (every instruction advances the virtual clock by exactly 1 ns). SysTick
 * counts the 25 MHz core clock of that virtual time, so one tick is 40 instructions; a loop of
 * known length calibrates that before anything is measured. (QEMU does not model the DWT
 * cycle counter: checked below and reported.)
 *
 * Two links in this firmware make a full handshake over an in-memory wire, with AEAD (HMAC-
 * SHA256 hello MACs, HKDF-SHA256 session keys, the first sealed frames) and without; every
 * call each side makes is timed on its own, and the calls that carry the handshake's
 * cryptography are also reported one by one. Prints "handshake ..." lines; exit status 0
 * when both handshakes completed.
 */
#include <stdio.h>
#include <string.h>

#include "ferrule.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)

static uint32_t ticks(void) { return SYST_CVR; }
static uint32_t since(uint32_t t0) { return (t0 - SYST_CVR) & 0xFFFFFFu; }

/* Instructions per SysTick tick, from a loop of 2 instructions x 1,000,000 (measured). */
static uint32_t per_tick_x100;

__attribute__((noinline)) static void spin(uint32_t n) {
    __asm volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(n) : : "cc");
}

static void calibrate(void) {
    uint32_t t0 = ticks(), dt;
    spin(1000000u);
    dt = since(t0);
    per_tick_x100 = (uint32_t)(200000000ull / dt);
    printf("handshake: calibration %lu ticks for 2000000 instructions (%lu.%02lu instructions per tick)\n",
           (unsigned long)dt, (unsigned long)(per_tick_x100 / 100), (unsigned long)(per_tick_x100 % 100));
}

static uint32_t insns(uint32_t t) { return (uint32_t)((uint64_t)t * per_tick_x100 / 100u); }

typedef struct {
    uint64_t mem[FERRULE_LINK_STORAGE_SIZE(4, 128) / 8];
    uint64_t aead[512 / 8];
    ferrule_link_t *link;
    uint32_t spent; /* ticks inside ferrule calls */
    bool up;
} end_t;

static end_t ends[2];
static uint8_t frame[512];

static const uint8_t KEY[32] = {7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/* Timed call on end e, adding to its total; the ticks of this one call in *last. */
static uint32_t last;
#define TIMED(e, call)                      \
    do {                                    \
        uint32_t t0_ = ticks();             \
        (call);                             \
        last = since(t0_);                  \
        (e)->spent += last;                 \
    } while (0)

static void report_call(const char *what, uint32_t t) {
    printf("handshake:   %-58s %7lu instructions\n", what, (unsigned long)insns(t));
}

/* The frame's kind, from a decoder of our own (not timed). */
static uint64_t dec_mem[(FERRULE_DECODER_CAPACITY + 256) / 8];
static const char *kind_of(const uint8_t *wire, size_t n) {
    static const char *const KINDS[] = {"DATA", "RDATA", "ACK", "HELLO", "HELLO_ACK", "PING", "CLOSE", "PARITY"};
    ferrule_decoder_t *dec;
    ferrule_frame_t f;
    size_t used, off = 0;
    if (ferrule_decoder_init(dec_mem, sizeof dec_mem, &dec) != FERRULE_OK) return "?";
    while (off < n) {
        if (ferrule_decoder_feed(dec, wire + off, n - off, &used, &f) == FERRULE_OK)
            return f.header.kind < 8 ? KINDS[f.header.kind] : "?";
        off += used;
    }
    return "?";
}

/* One handshake; returns the number of wire frames it took. */
static int handshake(bool aead) {
    ferrule_link_config_t cfg = ferrule_link_config_default();
    ferrule_status st;
    ferrule_event_t ev;
    size_t n;
    uint64_t now = 0;
    int d, k, moved = 0;
    uint32_t total = 0;

    for (d = 0; d < 2; d++) {
        end_t *e = &ends[d];
        memset(e, 0, sizeof *e);
        TIMED(e, st = ferrule_link_init(e->mem, sizeof e->mem, &cfg, 0xAB00u + (uint64_t)d, &e->link));
        if (st != FERRULE_OK) return -1;
        if (aead) {
            TIMED(e, st = ferrule_link_enable_aead(e->link, e->aead, sizeof e->aead, 1, KEY, 32));
            if (st != FERRULE_OK) return -1;
        }
        e->spent = 0; /* setup is not part of the handshake */
    }
    printf("handshake: %s\n", aead ? "with AEAD (HMAC-SHA256 hellos, HKDF-SHA256 keys, sealed frames)"
                                   : "without AEAD (plain hellos, tags from a mix of the nonces)");
    for (k = 0; k < 20 && !(ends[0].up && ends[1].up); k++, now++) {
        for (d = 0; d < 2; d++) {
            end_t *from = &ends[d], *to = &ends[1 - d];
            for (;;) {
                TIMED(from, st = ferrule_link_poll_transmit(from->link, now, frame, sizeof frame, &n));
                if (st != FERRULE_OK) break;
                const char *kind = kind_of(frame, n);
                char what[80];
                snprintf(what, sizeof what, "end %d poll_transmit: %s (%u B)", d, kind, (unsigned)n);
                if (aead) report_call(what, last);
                TIMED(to, st = ferrule_link_handle_input(to->link, frame, n, now));
                snprintf(what, sizeof what, "end %d handle_input: %s", 1 - d, kind);
                if (aead) report_call(what, last);
                moved++;
            }
            TIMED(from, st = ferrule_link_handle_timeout(from->link, now));
            for (;;) {
                TIMED(from, st = ferrule_link_poll_event(from->link, &ev));
                if (st != FERRULE_OK) break;
                if (ev.kind == FERRULE_EVENT_UP) from->up = true;
            }
        }
    }
    if (!(ends[0].up && ends[1].up)) return -1;
    for (d = 0; d < 2; d++) {
        printf("handshake: %s, end %d: %lu instructions in ferrule calls\n", aead ? "AEAD" : "plain", d,
               (unsigned long)insns(ends[d].spent));
        total += ends[d].spent;
    }
    printf("handshake: %s, the whole exchange (both ends, %d frames): %lu instructions\n", aead ? "AEAD" : "plain",
           moved, (unsigned long)insns(total));
    return moved;
}

int main(void) {
    uint32_t c0, c1, plain[2], sealed[2];
    int ok;
    /* SysTick free-running on the core clock, no interrupt. */
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 5u;
    DEMCR |= 1u << 24;
    DWT_CTRL |= 1u;
    c0 = DWT_CYCCNT;
    spin(1000);
    c1 = DWT_CYCCNT;
    printf("handshake: DWT cycle counter %s under QEMU (read %lu then %lu)\n",
           c1 != c0 ? "counts" : "is not modelled", (unsigned long)c0, (unsigned long)c1);
    calibrate();
    ok = handshake(false) > 0;
    plain[0] = ends[0].spent;
    plain[1] = ends[1].spent;
    ok = handshake(true) > 0 && ok;
    sealed[0] = ends[0].spent;
    sealed[1] = ends[1].spent;
    printf("handshake: AEAD adds %lu (end 0) and %lu (end 1) instructions: the HMAC, HKDF and sealing work\n",
           (unsigned long)insns(sealed[0] - plain[0]), (unsigned long)insns(sealed[1] - plain[1]));
    printf("handshake: %s\n", ok ? "done" : "FAILED");
    return ok ? 0 : 1;
}
