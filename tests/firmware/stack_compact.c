/*
 * Peak stack of every compact-link C API function (`ferrule_compact_*`), measured by painting
 * (paint.S) under QEMU like tests/firmware/stack.c measures `ferrule_link_*`: before each call
 * the 4 KiB below the stack pointer are filled with a pattern, after it the lowest word changed
 * gives the call's peak. A separate program (stack.c has its own enum, configurations and
 * buffers). Two links run realistic traffic in these configurations:
 *
 *   compact-small:    4 x 128 B, stream, compact <-> compact;
 *   compact-datagram: 4 x 128 B, datagrams, compact <-> compact;
 *   compact-large:    16 x 1024 B, stream, compact <-> compact;
 *   compact-full:     4 x 128 B, stream, compact <-> the full link (`ferrule_link_*`, not
 *                     measured here: stack.c does);
 *   compact-shared:   4 x 128 B, stream, shared-window compression both ways (1 KiB windows,
 *                     as stack.c's `shared`);
 *
 * over a wire that drops every 7th frame and flips a bit in every 13th (stream frames are fed
 * in pieces now and then), so retransmissions, duplicates and rejects all happen. Messages
 * alternate between the largest and short ones. Each configuration: random garbage before the
 * session, traffic (checked byte for byte), a restart of the peer with messages in flight (a new
 * seed), traffic, random garbage while up, traffic, the retry limit (the wire goes silent; the
 * other end's keepalive sees the silence), recovery and traffic, frames with valid CRCs and
 * random headers (every kind, every session tag), close, and the calls' error paths. Each
 * function's largest peak over all calls is printed as "stack <function> <bytes> (N calls; by
 * configuration: ...)", the format of stack.c, so scripts/test-firmware.sh and
 * scripts/check-stack-docs.py read both logs alike.
 */
#include <stdio.h>
#include <string.h>

#include "ferrule.h"
#include "paint.h"

/* Every measured function: X(enum, name). A function the header gains goes here, and into the
 * scenario with MEASURE; "FAIL: ... never measured" catches one left out of the scenario. */
#define COMPACT_FUNCTIONS(X)                                       \
    X(F_CONFIG_DEFAULT, "ferrule_compact_config_default")          \
    X(F_STORAGE_SIZE, "ferrule_compact_storage_size")              \
    X(F_MAX_FRAME_LEN, "ferrule_compact_max_frame_len")            \
    X(F_INIT, "ferrule_compact_init")                              \
    X(F_SEND, "ferrule_compact_send")                              \
    X(F_ACKED_BEFORE, "ferrule_compact_acked_before")              \
    X(F_SEND_CAPACITY, "ferrule_compact_send_capacity")            \
    X(F_RECV, "ferrule_compact_recv")                              \
    X(F_HANDLE_INPUT, "ferrule_compact_handle_input")              \
    X(F_HANDLE_DATAGRAM, "ferrule_compact_handle_datagram")        \
    X(F_POLL_TRANSMIT, "ferrule_compact_poll_transmit")            \
    X(F_POLL_TIMEOUT, "ferrule_compact_poll_timeout")              \
    X(F_HANDLE_TIMEOUT, "ferrule_compact_handle_timeout")          \
    X(F_POLL_EVENT, "ferrule_compact_poll_event")                  \
    X(F_IS_UP, "ferrule_compact_is_up")                            \
    X(F_CLOSE, "ferrule_compact_close")                            \
    X(F_STATS, "ferrule_compact_stats")

#define COMPRESSION_FUNCTIONS(X)                                        \
    X(F_ENABLE_COMPRESSION, "ferrule_compact_enable_compression")       \
    X(F_PEER_MAX_MESSAGE, "ferrule_compact_peer_max_message")

#define ENUM(e, name) e,
#define NAME(e, name) name,
enum { COMPACT_FUNCTIONS(ENUM) COMPRESSION_FUNCTIONS(ENUM) F_COUNT };
static const char *const NAMES[F_COUNT] = {COMPACT_FUNCTIONS(NAME) COMPRESSION_FUNCTIONS(NAME)};

/* The peer of a configuration's first end. */
typedef enum { COMPACT, FULL } kind_t;

typedef struct {
    const char *name;
    uint8_t transport, window;
    uint16_t max_message;
    kind_t peer;
    bool compression; /* shared-window compression both ways */
} scenario_t;

static const scenario_t SCENARIOS[] = {
    {"compact-small", FERRULE_TRANSPORT_STREAM, 4, 128, COMPACT, false},
    {"compact-datagram", FERRULE_TRANSPORT_DATAGRAM, 4, 128, COMPACT, false},
    {"compact-large", FERRULE_TRANSPORT_STREAM, 16, 1024, COMPACT, false},
    {"compact-full", FERRULE_TRANSPORT_STREAM, 4, 128, FULL, false},
    {"compact-shared", FERRULE_TRANSPORT_STREAM, 4, 128, COMPACT, true},
};
#define CONFIGS (sizeof SCENARIOS / sizeof SCENARIOS[0])

static uint32_t peak[F_COUNT], by_config[CONFIGS][F_COUNT];
static uint32_t calls[F_COUNT];
static unsigned config;
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
            printf("FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, #c, \
                   SCENARIOS[config].name);                        \
        }                                                          \
    } while (0)

#define MAX_M 1024
/* Each end's block: the largest compact link (16 x 1024) or the full link (4 x 128). */
#define MEM_BYTES (40u * 1024u)
#define FRAME_CAP 2048u

typedef struct {
    kind_t kind;
    uint64_t mem[MEM_BYTES / 8];
    uint64_t comp[16 * 1024 / 8];
    ferrule_compact_t *c;
    ferrule_link_t *l;
    uint32_t sent, got, bad, junk, ups, downs, count;
    uint32_t ids[128]; /* the id of each message sent in this run */
    uint32_t resent;   /* DOWNs after which messages were sent again */
    uint8_t last_down;
    bool verify; /* check every message received against the expected one */
} end_t;

static end_t ends[2];
static uint8_t frame[FRAME_CAP], piece[FRAME_CAP], msg[MAX_M + 8], out[MAX_M + 8], want[MAX_M];
static uint32_t frames_on_wire;
static bool blackhole;  /* the wire loses everything */
static bool in_traffic; /* inside traffic(): messages named in a DOWN are sent again */
static ferrule_compact_config_t ccfg;
static const ferrule_compression_config_t *zcfg;
static ferrule_compression_config_t shared_z;
static uint32_t rng = 0x2545F491u;

static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* Message i of direction d: every other one the largest (telemetry records repeated to
 * max_message, so compression has work), the others short. */
static size_t make(uint32_t i, int d, size_t max, uint8_t *p) {
    char rec[48];
    size_t len = (i % 2 == 0) ? max : 10 + i % 40, k;
    int r = snprintf(rec, sizeof rec, "{\"d\":%d,\"n\":%lu,\"t\":21.%lu,\"s\":\"ok\"}", d,
                     (unsigned long)i, (unsigned long)(i % 10));
    for (k = 0; k < len; k++) p[k] = (uint8_t)rec[k % (size_t)r];
    return len;
}

static bool datagrams(void) { return SCENARIOS[config].transport == FERRULE_TRANSPORT_DATAGRAM; }

/* (Re-)initialises end i in its block with `seed` (and `cfg` for a compact end). */
static void boot(int i, const ferrule_compact_config_t *cfg, uint64_t seed) {
    end_t *e = &ends[i];
    ferrule_status st;
    size_t need;
    e->c = NULL;
    e->l = NULL;
    e->sent = e->got = e->bad = e->ups = e->downs = e->count = 0;
    e->last_down = 0;
    if (e->kind == FULL) {
        ferrule_link_config_t l = ferrule_link_config_default();
        l.transport = cfg->transport;
        l.window = cfg->window;
        l.max_message = cfg->max_message;
        l.rto_initial_ms = cfg->rto_initial_ms;
        CHECK(ferrule_link_storage_size(&l) <= sizeof e->mem);
        CHECK(ferrule_link_init(e->mem, sizeof e->mem, &l, seed, &e->l) == FERRULE_OK);
        return;
    }
    MEASURE(F_STORAGE_SIZE, need =, ferrule_compact_storage_size(cfg->window, cfg->max_message));
    CHECK(need > 0 && need <= sizeof e->mem);
    MEASURE(F_INIT, st =, ferrule_compact_init(e->mem, sizeof e->mem, cfg, seed, &e->c));
    CHECK(st == FERRULE_OK && e->c != NULL);
    if (zcfg) {
        need = ferrule_compression_storage_size(zcfg);
        CHECK(need > 0 && need <= sizeof e->comp);
        MEASURE(F_ENABLE_COMPRESSION, st =, ferrule_compact_enable_compression(e->c, e->comp, sizeof e->comp, zcfg));
        CHECK(st == FERRULE_OK);
    }
}

static bool up(end_t *e) {
    bool u;
    if (e->kind == FULL) return ferrule_link_is_up(e->l);
    MEASURE(F_IS_UP, u =, ferrule_compact_is_up(e->c));
    return u;
}

/* Feeds one frame (or garbage) to `to`: whole, or for a stream now and then in two pieces. */
static void feed(end_t *to, const uint8_t *p, size_t n, uint64_t now, bool split) {
    ferrule_status st;
    if (to->kind == FULL) {
        st = datagrams() ? ferrule_link_handle_datagram(to->l, p, n, now)
                         : ferrule_link_handle_input(to->l, p, n, now);
    } else if (datagrams()) {
        MEASURE(F_HANDLE_DATAGRAM, st =, ferrule_compact_handle_datagram(to->c, p, n, now));
    } else if (split && n > 2) {
        MEASURE(F_HANDLE_INPUT, st =, ferrule_compact_handle_input(to->c, p, n / 3, now));
        CHECK(st == FERRULE_OK);
        MEASURE(F_HANDLE_INPUT, st =, ferrule_compact_handle_input(to->c, p + n / 3, n - n / 3, now));
    } else {
        MEASURE(F_HANDLE_INPUT, st =, ferrule_compact_handle_input(to->c, p, n, now));
    }
    CHECK(st == FERRULE_OK);
}

/* Moves every frame `from` has to `to`, through the lossy wire. */
static void carry(end_t *from, end_t *to, uint64_t now) {
    ferrule_status st;
    size_t n;
    for (;;) {
        if (from->kind == FULL) {
            st = ferrule_link_poll_transmit(from->l, now, frame, sizeof frame, &n);
        } else {
            MEASURE(F_POLL_TRANSMIT, st =, ferrule_compact_poll_transmit(from->c, now, frame, sizeof frame, &n));
        }
        if (st != FERRULE_OK) break;
        frames_on_wire++;
        if (blackhole || frames_on_wire % 7 == 0) continue;
        if (frames_on_wire % 13 == 0) frame[n / 2] ^= 0x08;
        feed(to, frame, n, now, frames_on_wire % 3 == 0);
    }
    CHECK(st == FERRULE_EMPTY);
}

/* An event of end e. A DOWN naming messages of this run: the session they went to is gone
 * (the peer restarted before this end knew: they went to its old session), so the
 * application sends them again, from the first one named. */
static void event(end_t *e, const ferrule_event_t *ev) {
    uint32_t j;
    if (ev->kind == FERRULE_EVENT_UP) {
        e->ups++;
        return;
    }
    e->downs++;
    e->last_down = ev->reason;
    if (!in_traffic || ev->unacked == 0) return;
    for (j = 0; j < e->sent; j++) {
        if ((uint32_t)(e->ids[j] - ev->first_id) < ev->unacked) {
            e->sent = j;
            e->resent++;
            break;
        }
    }
}

/* Everything an application does on one pass of its loop, for one end (d: its index). */
static void service(end_t *e, int d, uint64_t now) {
    ferrule_status st;
    ferrule_event_t ev;
    ferrule_received_t r;
    ferrule_compact_stats_t s;
    size_t max = ccfg.max_message, n, cap = 1;
    uint64_t deadline;
    uint32_t id;
    if (e->kind == FULL) {
        if (ferrule_link_poll_timeout(e->l, &deadline) == FERRULE_OK && deadline <= now)
            CHECK(ferrule_link_handle_timeout(e->l, now) == FERRULE_OK);
        while (ferrule_link_poll_event(e->l, &ev) == FERRULE_OK) event(e, &ev);
        while ((st = ferrule_link_recv(e->l, out, sizeof out, &r)) != FERRULE_EMPTY) {
            if (st != FERRULE_OK) {
                e->bad++;
                continue;
            }
            if (e->verify) {
                size_t wl = make(e->got, 1 - d, max, want);
                if (r.len != wl || memcmp(out, want, wl) != 0) e->bad++;
                e->got++;
            } else {
                e->junk++;
            }
        }
        if (ferrule_link_is_up(e->l) && e->sent < e->count) {
            n = make(e->sent, d, max, msg);
            if (ferrule_link_send(e->l, 0, msg, n, now, &id) == FERRULE_OK) e->ids[e->sent++ % 128] = id;
        }
        return;
    }
    MEASURE(F_POLL_TIMEOUT, st =, ferrule_compact_poll_timeout(e->c, &deadline));
    if (st == FERRULE_OK && deadline <= now) {
        MEASURE(F_HANDLE_TIMEOUT, st =, ferrule_compact_handle_timeout(e->c, now));
        CHECK(st == FERRULE_OK);
    }
    for (;;) {
        MEASURE(F_POLL_EVENT, st =, ferrule_compact_poll_event(e->c, &ev));
        if (st != FERRULE_OK) break;
        event(e, &ev);
#ifdef DEBUG_EVENTS
        printf("  t=%lu end %d event %u reason %u unacked %u first %lu (sent %lu got %lu)\n", (unsigned long)now, d, ev.kind, ev.reason, ev.unacked, (unsigned long)ev.first_id, (unsigned long)e->sent, (unsigned long)e->got);
#endif
    }
    CHECK(st == FERRULE_EMPTY);
    for (;;) {
        MEASURE(F_RECV, st =, ferrule_compact_recv(e->c, out, sizeof out, &r));
        if (st == FERRULE_EMPTY) break;
        if (st != FERRULE_OK) {
            e->bad++;
            continue;
        }
        if (e->verify) {
            size_t wl = make(e->got, 1 - d, max, want);
#ifdef DEBUG_EVENTS
            if (r.len != wl || memcmp(out, want, wl) != 0) printf("  t=%lu end %d got len %u ch %u '%.30s' want len %u '%.30s'\n", (unsigned long)now, d, (unsigned)r.len, r.channel, (const char *)out, (unsigned)wl, (const char *)want);
#endif
            if (r.len != wl || memcmp(out, want, wl) != 0 || !r.reliable) e->bad++;
            e->got++;
        } else {
            e->junk++;
        }
    }
    if (up(e) && e->sent < e->count) {
        MEASURE(F_SEND_CAPACITY, cap =, ferrule_compact_send_capacity(e->c));
        if (cap > 0) {
            /* Channels vary between compact ends (every channel is reliable); the full link
             * takes reliable messages on channel 0. */
            uint8_t channel = ends[1 - d].kind == FULL ? 0 : (uint8_t)(e->sent % 4);
            n = make(e->sent, d, max, msg);
            MEASURE(F_SEND, st =, ferrule_compact_send(e->c, channel, msg, n, now, &id));
            CHECK(st == FERRULE_OK || st == FERRULE_ERR_FULL);
            if (st == FERRULE_OK) e->ids[e->sent++ % 128] = id;
        }
    }
    MEASURE(F_ACKED_BEFORE, st =, ferrule_compact_acked_before(e->c, &id));
    MEASURE(F_STATS, st =, ferrule_compact_stats(e->c, &s));
    MEASURE(F_PEER_MAX_MESSAGE, st =, ferrule_compact_peer_max_message(e->c, &n));
    CHECK(st == FERRULE_OK);
    (void)cap;
}

static void step(uint64_t now) {
    service(&ends[0], 0, now);
    service(&ends[1], 1, now);
    carry(&ends[0], &ends[1], now);
    carry(&ends[1], &ends[0], now);
}

/* Runs both ends until both are up. */
static uint64_t reconnect(uint64_t now) {
    uint32_t k;
    ends[0].count = ends[0].sent;
    ends[1].count = ends[1].sent;
    for (k = 0; k < 30000 && !(up(&ends[0]) && up(&ends[1])); k++, now++) step(now);
    /* A restarted end's peer may still be up in the old session until the new one's hellos
     * reach it: let it find out before traffic starts (else its first messages go to the old
     * session and are discarded, named in a DOWN). */
    for (k = 0; k < 20; k++, now++) step(now);
    CHECK(up(&ends[0]) && up(&ends[1]));
    return now;
}

/* `count` messages each way, checked byte for byte; fails unless all arrive intact. */
static uint64_t traffic(const char *what, uint64_t now, uint32_t count) {
    uint32_t k;
    int i;
    for (i = 0; i < 2; i++) {
        ends[i].sent = ends[i].got = ends[i].bad = 0;
        ends[i].count = count;
        ends[i].verify = true;
    }
    in_traffic = true;
    for (k = 0; k < 200000 && (ends[0].got < count || ends[1].got < count); k++, now++) step(now);
    in_traffic = false;
    if (ends[0].got != count || ends[1].got != count || ends[0].bad || ends[1].bad) {
        printf("FAIL %s, %s: delivered %lu + %lu of %lu each way, %lu + %lu wrong\n",
               SCENARIOS[config].name, what, (unsigned long)ends[1].got, (unsigned long)ends[0].got,
               (unsigned long)count, (unsigned long)ends[1].bad, (unsigned long)ends[0].bad);
        failures++;
    }
    return now;
}

/* Random bytes (with runs of zeros) into end e: stream chunks or datagrams of any length,
 * empty and longer than any frame included. */
static void garbage(end_t *e, uint64_t now) {
    uint32_t k, i;
    for (k = 0; k < 60; k++) {
        size_t n = rnd() % (k % 5 == 0 ? FRAME_CAP : 300);
        for (i = 0; i < n; i++) piece[i] = (rnd() % 23 == 0) ? 0 : (uint8_t)rnd();
        feed(e, piece, n, now, k % 2 == 0);
    }
    if (!datagrams()) feed(e, piece, 0, now, false);
}

/* Frames with valid CRCs and random headers: every kind, every session tag, random sequence
 * numbers, acks, SACK, timestamps, AEAD and FEC fields and payloads, into end e (compact).
 * What they do to the session (a CLOSE, a HELLO) is repaired by the caller. */
static void crafted(end_t *e, uint64_t now) {
    ferrule_header_t h;
    ferrule_status st;
    size_t n, len, i;
    uint32_t k, fed = 0;
    for (k = 0; k < 8 * 256; k++) {
        uint32_t r = rnd();
        memset(&h, 0, sizeof h);
        h.kind = (uint8_t)(k % 8);
        h.session = (uint8_t)(k / 8);
        h.channel = (uint8_t)(r & 7);
        h.compression = (uint8_t)((r >> 3) % 3 == 0 ? (r >> 5) & 3 : 0);
        h.has_seq = h.kind == FERRULE_KIND_RDATA || h.kind == FERRULE_KIND_PARITY || (r >> 7) % 5 == 0;
        h.seq = (uint16_t)rnd();
        h.has_ack = (r >> 8) % 2;
        h.ack_window = (uint8_t)(r >> 9);
        h.ack_next = (uint16_t)rnd();
        h.has_sack = h.has_ack && (r >> 17) % 2;
        h.sack = rnd();
        h.has_ts = (r >> 18) % 2;
        h.ts = (uint16_t)rnd();
        h.has_echo = h.has_ack && (r >> 19) % 2;
        h.echo_ts = (uint16_t)rnd();
        h.echo_hold = (uint8_t)(r >> 20);
        h.has_aead = (r >> 28) % 8 == 0;
        h.aead_key_id = (uint8_t)(r >> 24);
        h.aead_counter = rnd();
        h.has_fec = (h.kind <= FERRULE_KIND_RDATA) && (r >> 29) % 4 == 0;
        h.fec_seq = (uint8_t)rnd();
        len = (r >> 30) == 0 ? 0 : rnd() % (ccfg.max_message + 40u);
        if (h.kind == FERRULE_KIND_HELLO || h.kind == FERRULE_KIND_HELLO_ACK) len = rnd() % 80;
        for (i = 0; i < len; i++) piece[i] = (uint8_t)rnd();
        st = ferrule_encode(&h, piece, len, !datagrams(), false, frame, sizeof frame, &n);
        if (st != FERRULE_OK) continue;
        fed++;
        feed(e, frame, n, now, false);
        if (k % 64 == 0) service(e, (int)(e - ends), now);
    }
    CHECK(fed > 1000);
}

/* The calls' error paths, on compact end e. */
static void errors(end_t *e, uint64_t now) {
    ferrule_status st;
    ferrule_received_t r;
    ferrule_compact_stats_t s;
    ferrule_event_t ev;
    uint64_t d;
    size_t n;
    uint32_t id;
    bool u;
    ferrule_compact_t *h;
    ferrule_compact_config_t bad = ccfg;
    MEASURE(F_SEND, st =, ferrule_compact_send(e->c, 0, msg, (size_t)ccfg.max_message + 1, now, &id));
    CHECK(st == FERRULE_ERR_TOO_LARGE || st == FERRULE_ERR_NOT_CONNECTED);
    MEASURE(F_SEND, st =, ferrule_compact_send(NULL, 0, msg, 1, now, &id));
    CHECK(st == FERRULE_ERR_NULL);
    MEASURE(F_RECV, st =, ferrule_compact_recv(e->c, out, 0, &r));
    MEASURE(F_RECV, st =, ferrule_compact_recv(NULL, out, sizeof out, &r));
    CHECK(st == FERRULE_ERR_NULL);
    MEASURE(F_POLL_TRANSMIT, st =, ferrule_compact_poll_transmit(e->c, now, frame, 1, &n));
    MEASURE(F_POLL_TRANSMIT, st =, ferrule_compact_poll_transmit(NULL, now, frame, sizeof frame, &n));
    CHECK(st == FERRULE_ERR_NULL);
    MEASURE(F_HANDLE_INPUT, st =, ferrule_compact_handle_input(NULL, frame, 1, now));
    MEASURE(F_HANDLE_DATAGRAM, st =, ferrule_compact_handle_datagram(NULL, frame, 1, now));
    MEASURE(F_POLL_TIMEOUT, st =, ferrule_compact_poll_timeout(NULL, &d));
    MEASURE(F_HANDLE_TIMEOUT, st =, ferrule_compact_handle_timeout(NULL, now));
    MEASURE(F_POLL_EVENT, st =, ferrule_compact_poll_event(NULL, &ev));
    MEASURE(F_ACKED_BEFORE, st =, ferrule_compact_acked_before(NULL, &id));
    MEASURE(F_STATS, st =, ferrule_compact_stats(NULL, &s));
    MEASURE(F_CLOSE, st =, ferrule_compact_close(NULL, now));
    MEASURE(F_IS_UP, u =, ferrule_compact_is_up(NULL));
    MEASURE(F_SEND_CAPACITY, n =, ferrule_compact_send_capacity(NULL));
    MEASURE(F_STORAGE_SIZE, n =, ferrule_compact_storage_size(0, 128));
    CHECK(n == 0);
    MEASURE(F_MAX_FRAME_LEN, n =, ferrule_compact_max_frame_len(4096));
    /* init's refusals: too small, misaligned, out-of-range values, NULL. */
    MEASURE(F_INIT, st =, ferrule_compact_init(ends[1].mem, 64, &ccfg, 1, &h));
    CHECK(st == FERRULE_ERR_MEMORY_TOO_SMALL);
    MEASURE(F_INIT, st =, ferrule_compact_init((uint8_t *)ends[1].mem + 4, 4096, &ccfg, 1, &h));
    CHECK(st == FERRULE_ERR_MEMORY_ALIGNMENT || st == FERRULE_ERR_MEMORY_TOO_SMALL);
    bad.rto_min_ms = 0;
    MEASURE(F_INIT, st =, ferrule_compact_init(ends[1].mem, sizeof ends[1].mem, &bad, 1, &h));
    CHECK(st == FERRULE_ERR_INVALID_ARGUMENT);
    MEASURE(F_INIT, st =, ferrule_compact_init(NULL, 0, &ccfg, 1, &h));
    CHECK(st == FERRULE_ERR_NULL);
    (void)u;
}

static void scenario(void) {
    const scenario_t *sc = &SCENARIOS[config];
    ferrule_compact_config_t retry;
    ferrule_compact_stats_t s;
    ferrule_status st;
    size_t n;
    uint64_t now = 0;
    uint32_t k, id;
    int i;

    frames_on_wire = 0;
    blackhole = false;
    zcfg = NULL;
    if (sc->compression) zcfg = &shared_z;
    MEASURE(F_CONFIG_DEFAULT, ccfg =, ferrule_compact_config_default());
    ccfg.transport = sc->transport;
    ccfg.window = sc->window;
    ccfg.max_message = sc->max_message;
    ccfg.rto_initial_ms = 100;
    MEASURE(F_MAX_FRAME_LEN, n =, ferrule_compact_max_frame_len(ccfg.max_message));
    CHECK(n > ccfg.max_message && n <= sizeof frame);
    for (i = 0; i < 2; i++) {
        memset(&ends[i], 0, sizeof ends[i]);
        ends[i].kind = i == 1 ? sc->peer : COMPACT;
        boot(i, &ccfg, 0x1000u + (uint64_t)i);
    }
    /* Garbage before any session, into the end that waits for it. */
    garbage(&ends[0], now);
    now = reconnect(now);
    now = traffic("traffic", now, 100);
    CHECK(ferrule_compact_stats(ends[0].c, &s) == FERRULE_OK);
    CHECK(s.retransmissions > 0 && s.framing.bad_crc + s.framing.malformed > 0);

    /* The peer restarts (a new seed) while this end has messages in flight: DOWN
     * (peer restarted) naming them, and a new session. */
    ends[0].count = ends[0].sent + 3;
    for (k = 0; k < 3; k++) service(&ends[0], 0, now);
    boot(1, &ccfg, 0x2000u);
    now = reconnect(now);
    for (k = 0; k < 10; k++, now++) step(now);
    CHECK(ends[0].downs >= 1 && ends[0].last_down == FERRULE_DOWN_PEER_RESTARTED);
    now = traffic("after a restart", now, 40);

    /* Garbage while the session is up, then traffic again. */
    garbage(&ends[0], now);
    if (ends[1].kind == COMPACT) garbage(&ends[1], now);
    now = traffic("after garbage", now, 20);

    /* The retry limit: this end restarts with 3 retransmissions and no keepalive, the wire
     * goes silent with messages in flight; the peer's keepalive finds the silence. */
    retry = ccfg;
    retry.max_retransmits = 3;
    retry.keepalive_ms = 0;
    boot(0, &retry, 0x3000u);
    now = reconnect(now);
    for (k = 0; k < 10; k++, now++) step(now);
    ends[0].downs = ends[1].downs = 0;
    blackhole = true;
    ends[0].count = ends[0].sent + 2;
    ends[1].count = ends[1].sent + 2;
    for (k = 0; k < 40000 && (ends[0].downs == 0 || ends[1].downs == 0); k++, now++) step(now);
    CHECK(ends[0].downs == 1 && ends[0].last_down == FERRULE_DOWN_RETRY_LIMIT);
    CHECK(ends[1].downs >= 1);
    if (ends[1].kind == COMPACT) CHECK(ends[1].last_down == FERRULE_DOWN_PEER_SILENT);
    blackhole = false;
    MEASURE(F_SEND, st =, ferrule_compact_send(ends[0].c, 0, msg, 1, now, &id));
    CHECK(st == FERRULE_ERR_NOT_CONNECTED);

    /* Recovery: a fresh start of this end, traffic. */
    boot(0, &ccfg, 0x4000u);
    now = reconnect(now);
    now = traffic("after the retry limit", now, 20);

    /* Frames with valid CRCs and random headers into the compact end(s); then make sure both
     * are in a session again (a crafted CLOSE or HELLO may have ended theirs). */
    ends[0].verify = ends[1].verify = false;
    ends[0].count = ends[0].sent;
    ends[1].count = ends[1].sent;
    crafted(&ends[0], now);
    if (ends[1].kind == COMPACT) crafted(&ends[1], now);
    for (k = 0; k < 2000; k++, now++) step(now); /* let stale state settle (timers, closes) */
    boot(0, &ccfg, 0x5000u);
    now = reconnect(now);
    now = traffic("after crafted frames", now, 20);
    CHECK(ferrule_compact_stats(ends[0].c, &s) == FERRULE_OK);

    /* Close while up (a CLOSE on the wire, DOWN both sides), then on a closed link. */
    ends[0].downs = ends[1].downs = 0;
    MEASURE(F_CLOSE, st =, ferrule_compact_close(ends[0].c, now));
    CHECK(st == FERRULE_OK);
    for (k = 0; k < 50; k++, now++) step(now);
    CHECK(ends[0].downs >= 1);
    MEASURE(F_CLOSE, st =, ferrule_compact_close(ends[0].c, now));
    CHECK(st == FERRULE_OK);
    errors(&ends[0], now);

    printf("stack-config %s: %lu + %lu messages in the last run, %lu frames, %lu retransmissions, "
           "%lu timeouts, %lu + %lu junk messages from crafted frames, %lu + %lu sends again after a DOWN\n",
           sc->name, (unsigned long)ends[0].got, (unsigned long)ends[1].got,
           (unsigned long)frames_on_wire, (unsigned long)s.retransmissions, (unsigned long)s.timeouts,
           (unsigned long)ends[0].junk, (unsigned long)ends[1].junk, (unsigned long)ends[0].resent,
           (unsigned long)ends[1].resent);
}

int main(void) {
    int f, over = 0;
    shared_z = ferrule_compression_config_default();
    shared_z.reliable = FERRULE_MODE_SHARED;
#ifdef ONLY
    config = ONLY;
    scenario();
#else
    for (config = 0; config < CONFIGS; config++) scenario();
#endif

    for (f = 0; f < F_COUNT; f++) {
        unsigned c;
        printf("stack %s %lu (%lu calls; by configuration:", NAMES[f], (unsigned long)peak[f],
               (unsigned long)calls[f]);
        for (c = 0; c < CONFIGS; c++) {
            if (by_config[c][f]) printf(" %s %lu", SCENARIOS[c].name, (unsigned long)by_config[c][f]);
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
    printf("stack measurement (compact): %d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
