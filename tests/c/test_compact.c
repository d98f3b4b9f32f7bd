/*
 * Host C test of the compact link's C API (`ferrule_compact_*`): argument checking of every
 * function, exact storage sizes, two compact links and a compact link against the full link
 * (`ferrule_link_*`) over a lossy in-memory wire (stream and datagram), a peer restart, the
 * retry limit, and garbage input. Built with -Wall -Wextra -Wpedantic -Werror, as C11 and as
 * C++17, under AddressSanitizer and UBSan (see scripts/test-c.sh).
 *
 * Randomness is seeded (FERRULE_TEST_SEED in the environment overrides the default, printed
 * at start); the clock is simulated (no sleeps, no timing asserts).
 */
#include "ferrule.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* The largest link the exchanges use: 8 messages of up to 256 bytes. A block for the full
 * link of that size also holds the compact link (checked in node_boot). */
#define BIG_WINDOW 8
#define BIG_MESSAGE 256
#define NODE_WORDS (FERRULE_LINK_STORAGE_SIZE(BIG_WINDOW, BIG_MESSAGE) / 8)
#define FRAME_CAP 1024u
#define MAX_FLOW 1200u

/* ------------------------------------------------------------------ seeded randomness */

static uint64_t seed0 = 0x5EEDC0DE2026ull;
/* Messages are text-like (compressible) instead of random bytes. */
static bool text_msgs = false;
static uint64_t rng_state;

static uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rnd(void) {
    rng_state += 0x9E3779B97F4A7C15ull;
    return mix64(rng_state);
}

static unsigned below(unsigned n) { return n ? (unsigned)(rnd() % n) : 0u; }

/* ------------------------------------------------------------------ endpoints */

/* One side: a compact link or a full link, in the same static block. */
typedef enum { COMPACT, FULL } kind_t;

typedef struct {
    kind_t kind;
    bool stream;
    uint8_t window;
    uint16_t max_message;
    uint8_t max_retransmits;
    uint32_t keepalive_ms;
    uint64_t boot_at; /* virtual time it powers up (frames sent to it before are lost) */
    bool booted;
    uint64_t mem[NODE_WORDS];
    /* Shared-window compression both ways (profile 3's configuration), in zmem. */
    bool compress;
    uint64_t zmem[8192 / 8];
    ferrule_compact_t *c;
    ferrule_link_t *l;
    /* Events of the current instance. */
    unsigned ups, downs;
    ferrule_event_t last_down;
    uint8_t log[8]; /* kinds of the first eight events, in the order polled */
    /* Frames delivered to it whole (datagram) or written to its stream, and how many of
     * those were corrupted on the wire. */
    unsigned frames_in, corrupted_in;
} node_t;

static node_t nodes[2];

static ferrule_compression_config_t shared_config(void) {
    ferrule_compression_config_t z = ferrule_compression_config_default();
    z.reliable = FERRULE_MODE_SHARED;
    return z;
}

static void node_setup(node_t *n, kind_t kind, bool stream, uint8_t window, uint16_t max_message) {
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->stream = stream;
    n->window = window;
    n->max_message = max_message;
    n->max_retransmits = 20;
    n->keepalive_ms = 1000;
}

static ferrule_compact_config_t compact_config(uint8_t window, uint16_t max_message, bool stream) {
    ferrule_compact_config_t c = ferrule_compact_config_default();
    c.window = window;
    c.max_message = max_message;
    c.transport = stream ? FERRULE_TRANSPORT_STREAM : FERRULE_TRANSPORT_DATAGRAM;
    return c;
}

/* (Re-)initialises the node in its block: a fresh instance with `seed`. */
static void node_boot(node_t *n, uint64_t seed) {
    n->c = NULL;
    n->l = NULL;
    n->ups = n->downs = 0;
    memset(n->log, 0, sizeof n->log);
    n->booted = true;
    if (n->kind == COMPACT) {
        ferrule_compact_config_t c = compact_config(n->window, n->max_message, n->stream);
        c.max_retransmits = n->max_retransmits;
        c.keepalive_ms = n->keepalive_ms;
        CHECK(ferrule_compact_storage_size(c.window, c.max_message) <= sizeof n->mem);
        CHECK_STATUS(ferrule_compact_init(n->mem, sizeof n->mem, &c, seed, &n->c), FERRULE_OK);
        CHECK(n->c != NULL);
    } else {
        ferrule_link_config_t c = ferrule_link_config_default();
        c.window = n->window;
        c.max_message = n->max_message;
        c.transport = n->stream ? FERRULE_TRANSPORT_STREAM : FERRULE_TRANSPORT_DATAGRAM;
        c.max_retransmits = n->max_retransmits;
        c.keepalive_ms = n->keepalive_ms;
        CHECK(ferrule_link_storage_size(&c) <= sizeof n->mem);
        CHECK_STATUS(ferrule_link_init(n->mem, sizeof n->mem, &c, seed, &n->l), FERRULE_OK);
        CHECK(n->l != NULL);
    }
    if (n->compress) {
        ferrule_compression_config_t z = shared_config();
        CHECK(ferrule_compression_storage_size(&z) <= sizeof n->zmem);
        if (n->kind == COMPACT)
            CHECK_STATUS(ferrule_compact_enable_compression(n->c, n->zmem, sizeof n->zmem, &z), FERRULE_OK);
        else
            CHECK_STATUS(ferrule_link_enable_compression(n->l, n->zmem, sizeof n->zmem, &z), FERRULE_OK);
    }
}

static ferrule_status n_send(node_t *n, uint8_t ch, const uint8_t *m, size_t len, uint64_t now, uint32_t *id) {
    return n->kind == COMPACT ? ferrule_compact_send(n->c, ch, m, len, now, id)
                              : ferrule_link_send(n->l, ch, m, len, now, id);
}
static ferrule_status n_recv(node_t *n, uint8_t *out, size_t cap, ferrule_received_t *r) {
    return n->kind == COMPACT ? ferrule_compact_recv(n->c, out, cap, r) : ferrule_link_recv(n->l, out, cap, r);
}
static ferrule_status n_transmit(node_t *n, uint64_t now, uint8_t *out, size_t cap, size_t *len) {
    return n->kind == COMPACT ? ferrule_compact_poll_transmit(n->c, now, out, cap, len)
                              : ferrule_link_poll_transmit(n->l, now, out, cap, len);
}
static ferrule_status n_input(node_t *n, const uint8_t *in, size_t len, uint64_t now) {
    if (n->kind == COMPACT)
        return n->stream ? ferrule_compact_handle_input(n->c, in, len, now)
                         : ferrule_compact_handle_datagram(n->c, in, len, now);
    return n->stream ? ferrule_link_handle_input(n->l, in, len, now) : ferrule_link_handle_datagram(n->l, in, len, now);
}
static ferrule_status n_deadline(node_t *n, uint64_t *d) {
    return n->kind == COMPACT ? ferrule_compact_poll_timeout(n->c, d) : ferrule_link_poll_timeout(n->l, d);
}
static ferrule_status n_timeout(node_t *n, uint64_t now) {
    return n->kind == COMPACT ? ferrule_compact_handle_timeout(n->c, now) : ferrule_link_handle_timeout(n->l, now);
}
static ferrule_status n_event(node_t *n, ferrule_event_t *ev) {
    return n->kind == COMPACT ? ferrule_compact_poll_event(n->c, ev) : ferrule_link_poll_event(n->l, ev);
}
static bool n_up(node_t *n) { return n->kind == COMPACT ? ferrule_compact_is_up(n->c) : ferrule_link_is_up(n->l); }
static uint32_t n_acked(node_t *n) {
    uint32_t id = 0xDEADBEEFu;
    if (n->kind == COMPACT)
        CHECK_STATUS(ferrule_compact_acked_before(n->c, &id), FERRULE_OK);
    else
        CHECK_STATUS(ferrule_link_acked_before(n->l, &id), FERRULE_OK);
    return id;
}

/* The counters both kinds have. */
typedef struct {
    uint32_t frames_sent, frames_received, retransmissions, timeouts, duplicates, out_of_order,
        out_of_window, stale_session, send_full, link_downs, discarded_on_reset, sessions;
    ferrule_decoder_stats_t framing;
} common_stats_t;

static common_stats_t n_stats(node_t *n) {
    common_stats_t s;
    memset(&s, 0, sizeof s);
    if (n->kind == COMPACT) {
        ferrule_compact_stats_t c;
        CHECK_STATUS(ferrule_compact_stats(n->c, &c), FERRULE_OK);
        s.frames_sent = c.frames_sent;
        s.frames_received = c.frames_received;
        s.retransmissions = c.retransmissions;
        s.timeouts = c.timeouts;
        s.duplicates = c.duplicates;
        s.out_of_order = c.out_of_order;
        s.out_of_window = c.out_of_window;
        s.stale_session = c.stale_session;
        s.send_full = c.send_full;
        s.link_downs = c.link_downs;
        s.discarded_on_reset = c.discarded_on_reset;
        s.sessions = c.sessions;
        s.framing = c.framing;
    } else {
        ferrule_link_stats_t c;
        CHECK_STATUS(ferrule_link_stats(n->l, &c), FERRULE_OK);
        s.frames_sent = c.frames_sent;
        s.frames_received = c.frames_received;
        s.retransmissions = c.retransmissions;
        s.timeouts = c.timeouts;
        s.duplicates = c.duplicates;
        s.out_of_order = c.out_of_order;
        s.out_of_window = c.out_of_window;
        s.stale_session = c.stale_session;
        s.send_full = c.send_full;
        s.link_downs = c.link_downs;
        s.discarded_on_reset = c.discarded_on_reset;
        s.sessions = c.sessions;
        s.framing = c.framing;
    }
    return s;
}

static uint32_t framing_rejects(const ferrule_decoder_stats_t *f) {
    return f->malformed + f->too_short + f->oversize + f->bad_crc + f->bad_version + f->unknown_kind +
           f->bad_flags + f->truncated_header;
}

/* Takes every pending event of `n`, counting UPs and DOWNs. */
static void drain_events(node_t *n) {
    ferrule_event_t ev;
    ferrule_status st;
    while ((st = n_event(n, &ev)) == FERRULE_OK) {
        CHECK(ev.kind == FERRULE_EVENT_UP || ev.kind == FERRULE_EVENT_DOWN);
        if (n->ups + n->downs < sizeof n->log) n->log[n->ups + n->downs] = ev.kind;
        if (ev.kind == FERRULE_EVENT_UP) {
            n->ups++;
        } else {
            n->downs++;
            n->last_down = ev;
        }
    }
    CHECK_STATUS(st, FERRULE_EMPTY);
}

/* ------------------------------------------------------------------ messages */

/* Message `idx` of a flow: length in [min_len, max], channel below `channels`, bytes from
 * the flow's seed. With min_len >= 4 the first four bytes are idx (little endian). */
static void gen_msg(uint64_t flow_seed, unsigned idx, size_t min_len, uint16_t max, unsigned channels,
                    uint8_t *buf, size_t *len, uint8_t *ch) {
    uint64_t s = mix64(flow_seed ^ ((uint64_t)idx * 0xD1B54A32D192ED03ull));
    size_t i;
    *len = min_len + (size_t)(s % (uint64_t)(max - min_len + 1u));
    s = mix64(s);
    *ch = (uint8_t)(s % channels);
    for (i = 0; i < *len; i++) {
        if ((i & 7u) == 0) s = mix64(s);
        buf[i] = (uint8_t)(s >> (8u * (i & 7u)));
    }
    if (text_msgs) {
        /* Telemetry-like text: words of a small vocabulary and digits. */
        static const char *const words[8] = {"temperature=", "humidity=", " status=ok ", "pressure=",
                                             " sensor#",     "voltage=",  ";",           " error=none "};
        size_t k = 0;
        while (k < *len) {
            const char *w = words[s % 8u];
            s = mix64(s);
            while (*w && k < *len) buf[k++] = (uint8_t)*w++;
            if (k < *len) buf[k++] = (uint8_t)('0' + s % 10u);
        }
    }
    if (min_len >= 4) {
        buf[0] = (uint8_t)idx;
        buf[1] = (uint8_t)(idx >> 8);
        buf[2] = (uint8_t)(idx >> 16);
        buf[3] = (uint8_t)(idx >> 24);
    }
}

/* One direction's messages: what was sent (ids, per sender instance), which may be missing
 * (named in a DOWN, or unconfirmed when their sender restarted), what arrived. */
typedef struct {
    uint64_t seed;
    size_t min_len;
    uint16_t max;
    unsigned channels;
    unsigned count, sent, next; /* next: the lowest index not yet delivered or given up */
    unsigned delivered, given_up;
    unsigned instance; /* sender instance (bumped when it is re-initialised) */
    uint32_t last_id;
    bool have_id;
    uint32_t id[MAX_FLOW];
    unsigned inst[MAX_FLOW];
    bool may_miss[MAX_FLOW];
    bool got[MAX_FLOW];
} flow_t;

static flow_t flows[2];

static void flow_setup(flow_t *f, uint64_t seed, size_t min_len, uint16_t max, unsigned channels, unsigned count) {
    memset(f, 0, sizeof *f);
    f->seed = seed;
    f->min_len = min_len;
    f->max = max;
    f->channels = channels;
    f->count = count;
}

/* Marks the sender's messages with ids in [first, first + n) of the current instance as
 * possibly lost. */
static void flow_may_miss(flow_t *f, uint32_t first, uint32_t n) {
    unsigned i;
    for (i = 0; i < f->sent; i++)
        if (f->inst[i] == f->instance && (uint32_t)(f->id[i] - first) < n) f->may_miss[i] = true;
}

/* Queues as many of the flow's messages as `from` takes. */
static void flow_send(flow_t *f, node_t *from, uint64_t now) {
    uint8_t msg[BIG_MESSAGE];
    size_t len;
    uint8_t ch;
    uint32_t id;
    ferrule_status st;
    while (f->sent < f->count && n_up(from)) {
        gen_msg(f->seed, f->sent, f->min_len, f->max, f->channels, msg, &len, &ch);
        id = 0xFFFFFFFFu;
        st = n_send(from, ch, msg, len, now, &id);
        if (st == FERRULE_ERR_FULL) {
            CHECK(id == 0xFFFFFFFFu);
            break;
        }
        CHECK_STATUS(st, FERRULE_OK);
        if (st != FERRULE_OK) break;
        if (f->have_id) CHECK(id == f->last_id + 1u); /* consecutive ids */
        f->last_id = id;
        f->have_id = true;
        f->id[f->sent] = id;
        f->inst[f->sent] = f->instance;
        f->sent++;
    }
}

/* Takes every message `to` holds and checks it is the next of the flow (byte for byte,
 * channel, length), possibly after messages that may be missing; never one twice. */
static void flow_recv(flow_t *f, node_t *to) {
    uint8_t out[BIG_MESSAGE + 8], want[BIG_MESSAGE];
    size_t wlen;
    uint8_t ch;
    ferrule_received_t r;
    ferrule_status st;
    unsigned j;
    while ((st = n_recv(to, out, sizeof out, &r)) == FERRULE_OK) {
        bool found = false;
        CHECK(r.reliable);
        for (j = f->next; j < f->sent; j++) {
            gen_msg(f->seed, j, f->min_len, f->max, f->channels, want, &wlen, &ch);
            if (r.len == wlen && r.channel == ch && memcmp(out, want, wlen) == 0) {
                found = true;
                break;
            }
            if (!f->may_miss[j]) break; /* only a message that may be lost can be skipped */
        }
        CHECK(found);
        if (!found) {
            fprintf(stderr, "  unexpected message at node %d: len %zu channel %u, expected index %u (sent %u)\n", (int)(to - nodes), r.len,
                    (unsigned)r.channel, f->next, f->sent);
            continue;
        }
        CHECK(!f->got[j]); /* exactly once */
        for (; f->next < j; f->next++) f->given_up++;
        f->got[j] = true;
        f->delivered++;
        f->next = j + 1;
    }
    CHECK_STATUS(st, FERRULE_EMPTY);
}

/* ------------------------------------------------------------------ the lossy wire */

typedef struct {
    uint64_t at;
    size_t len;
    uint8_t data[FRAME_CAP];
} pkt_t;

#define WIRE_PKTS 512u

typedef struct {
    unsigned drop_pm, corrupt_pm, dup_pm; /* per mille of frames */
    unsigned latency;                     /* ms */
    pkt_t q[WIRE_PKTS];
    unsigned head, count;
    bool corrupted[WIRE_PKTS];
    unsigned frames, dropped, corrupted_n, duplicated, chunks, lost_unbooted, overflow;
} wire_t;

static wire_t wires[2];

static void wire_setup(wire_t *w, unsigned drop_pm, unsigned corrupt_pm, unsigned dup_pm, unsigned latency) {
    memset(w, 0, sizeof *w);
    w->drop_pm = drop_pm;
    w->corrupt_pm = corrupt_pm;
    w->dup_pm = dup_pm;
    w->latency = latency;
}

static void wire_push(wire_t *w, const uint8_t *frame, size_t n, uint64_t at, bool corrupt) {
    unsigned k;
    if (w->count == WIRE_PKTS) {
        w->overflow++;
        return;
    }
    k = (w->head + w->count) % WIRE_PKTS;
    memcpy(w->q[k].data, frame, n);
    w->q[k].len = n;
    w->q[k].at = at;
    w->corrupted[k] = corrupt;
    if (corrupt) w->q[k].data[below((unsigned)n)] ^= (uint8_t)(1u << below(8));
    w->count++;
}

/* Moves every frame `from` has to send onto the wire, losing, corrupting or duplicating
 * some. */
static void transmit(node_t *from, wire_t *w, uint64_t now) {
    uint8_t frame[FRAME_CAP];
    size_t n;
    ferrule_status st;
    while ((st = n_transmit(from, now, frame, sizeof frame, &n)) == FERRULE_OK) {
        CHECK(n > 0 && n <= sizeof frame);
        w->frames++;
        if (below(1000) < w->drop_pm) {
            w->dropped++;
            continue;
        }
        if (below(1000) < w->corrupt_pm) {
            w->corrupted_n++;
            wire_push(w, frame, n, now + w->latency, true);
        } else {
            wire_push(w, frame, n, now + w->latency, false);
        }
        if (below(1000) < w->dup_pm) {
            w->duplicated++;
            wire_push(w, frame, n, now + w->latency + below(3), false);
        }
    }
    CHECK_STATUS(st, FERRULE_EMPTY);
}

/* Hands `to` what has arrived by `now`: whole datagrams, or the stream bytes cut into
 * random chunks (which cross frame boundaries). */
static void deliver(wire_t *w, node_t *to, uint64_t now) {
    static uint8_t buf[WIRE_PKTS * 64u];
    size_t len = 0, off, c;
    while (w->count > 0 && w->q[w->head].at <= now) {
        pkt_t *p = &w->q[w->head];
        if (!to->booted) {
            w->lost_unbooted++;
        } else if (!to->stream) {
            to->frames_in++;
            if (w->corrupted[w->head]) to->corrupted_in++;
            CHECK_STATUS(n_input(to, p->data, p->len, now), FERRULE_OK);
        } else if (len + p->len <= sizeof buf) {
            to->frames_in++;
            if (w->corrupted[w->head]) to->corrupted_in++;
            memcpy(buf + len, p->data, p->len);
            len += p->len;
        } else {
            break; /* the rest next time */
        }
        w->head = (w->head + 1) % WIRE_PKTS;
        w->count--;
    }
    for (off = 0; off < len; off += c) {
        c = below(4) == 0 ? len - off : 1u + below(48);
        if (c > len - off) c = len - off;
        w->chunks++;
        CHECK_STATUS(n_input(to, buf + off, c, now), FERRULE_OK);
    }
}

static uint64_t wire_next(const wire_t *w) { return w->count ? w->q[w->head].at : UINT64_MAX; }

/* ------------------------------------------------------------------ the runner */

typedef struct {
    const char *name;
    uint64_t restart_b_when_a_sent; /* 0: no restart; else re-init b once a sent this many */
    uint64_t limit_ms;
} scenario_t;

typedef struct {
    uint64_t end_ms;
    unsigned restarts;
    uint32_t down_first, down_unacked, acked_at_down;
} outcome_t;

/* Runs nodes[0] (a) and nodes[1] (b) over wires[0] (a to b) and wires[1] (b to a) until both
 * flows (flows[0]: a to b, flows[1]: b to a) are delivered and acknowledged. */
static outcome_t run(const scenario_t *sc) {
    node_t *a = &nodes[0], *b = &nodes[1];
    node_t *n[2];
    outcome_t o;
    uint64_t now = 0, next, d;
    unsigned i, iter;
    bool done = false;
    memset(&o, 0, sizeof o);
    n[0] = a;
    n[1] = b;
    for (iter = 0; iter < 4000000u && !done && now < sc->limit_ms; iter++) {
        for (i = 0; i < 2; i++)
            if (!n[i]->booted && now >= n[i]->boot_at) node_boot(n[i], mix64(seed0 + i * 7919u + 1u));
        for (i = 0; i < 2; i++)
            if (n[i]->booted && n_deadline(n[i], &d) == FERRULE_OK && d <= now)
                CHECK_STATUS(n_timeout(n[i], now), FERRULE_OK);
        deliver(&wires[0], b, now);
        deliver(&wires[1], a, now);
        for (i = 0; i < 2; i++) {
            if (!n[i]->booted) continue;
            flow_recv(&flows[1 - i], n[i]);
            drain_events(n[i]);
        }
        /* A DOWN of a sender names messages it gave up: they may be missing. */
        if (a->booted && a->downs > 0 && o.down_unacked == 0 && a->last_down.unacked > 0) {
            o.down_first = a->last_down.first_id;
            o.down_unacked = a->last_down.unacked;
            o.acked_at_down = n_acked(a);
            flow_may_miss(&flows[0], o.down_first, o.down_unacked);
        }
        if (sc->restart_b_when_a_sent && o.restarts == 0 && flows[0].sent >= sc->restart_b_when_a_sent && n_up(b)) {
            /* b reboots: what it had not seen confirmed may be missing at a. */
            uint32_t acked = n_acked(b);
            flow_may_miss(&flows[1], acked, 0x7FFFFFFFu);
            flows[1].instance++;
            flows[1].have_id = false;
            node_boot(b, mix64(seed0 ^ 0xB007B007ull));
            o.restarts++;
        }
        for (i = 0; i < 2; i++)
            if (n[i]->booted) flow_send(&flows[i], n[i], now);
        for (i = 0; i < 2; i++)
            if (n[i]->booted) {
                transmit(n[i], &wires[i], now);
                drain_events(n[i]);
            }
        done = a->booted && b->booted;
        for (i = 0; i < 2 && done; i++) {
            flow_t *f = &flows[i];
            unsigned k;
            if (f->sent < f->count) done = false;
            for (k = 0; k < f->sent && done; k++)
                if (!f->got[k] && !f->may_miss[k]) done = false;
            if (done && f->have_id) {
                uint32_t acked = 0;
                if (n[i]->kind == COMPACT)
                    (void)ferrule_compact_acked_before(n[i]->c, &acked);
                else
                    (void)ferrule_link_acked_before(n[i]->l, &acked);
                if (acked != f->last_id + 1u) done = false;
            }
        }
        next = now + 1000;
        for (i = 0; i < 2; i++) {
            if (!n[i]->booted) {
                if (n[i]->boot_at < next) next = n[i]->boot_at;
            } else if (n_deadline(n[i], &d) == FERRULE_OK && d < next) {
                next = d;
            }
            if (wire_next(&wires[i]) < next) next = wire_next(&wires[i]);
        }
        now = next > now ? next : now + 1;
    }
    CHECK(done);
    o.end_ms = now;
    return o;
}

static void report(const char *name, const outcome_t *o) {
    unsigned i;
    printf("  %s (seed %" PRIu64 "): %u+%u messages delivered (%u+%u given up) in %" PRIu64 " virtual ms\n", name,
           seed0, flows[0].delivered, flows[1].delivered, flows[0].given_up, flows[1].given_up, o->end_ms);
    for (i = 0; i < 2; i++) {
        common_stats_t s = n_stats(&nodes[i]);
        printf("    %c (%s): wire out %u frames, %u dropped, %u corrupted, %u duplicated, %u chunks; "
               "retransmissions %u, timeouts %u, bad_crc %u, framing rejects %u, out_of_order %u, "
               "duplicates %u, stale %u, send_full %u\n",
               i ? 'b' : 'a', nodes[i].kind == COMPACT ? "compact" : "full", wires[i].frames, wires[i].dropped,
               wires[i].corrupted_n, wires[i].duplicated, wires[i].chunks, s.retransmissions, s.timeouts,
               s.framing.bad_crc, framing_rejects(&s.framing), s.out_of_order, s.duplicates, s.stale_session,
               s.send_full);
    }
}

/* The checks of a lossy run without restarts: exactly once, in order, byte for byte; one
 * UP per side and no DOWN; every damaged frame counted. */
static void check_clean_outcome(const char *name, const outcome_t *o) {
    unsigned i;
    report(name, o);
    for (i = 0; i < 2; i++) {
        node_t *nd = &nodes[i];
        common_stats_t s = n_stats(nd);
        uint32_t rej = framing_rejects(&s.framing);
        CHECK(flows[i].delivered == flows[i].count && flows[i].given_up == 0);
        CHECK(nd->ups == 1 && nd->downs == 0);
        CHECK(s.sessions == 1 && s.link_downs == 0 && s.discarded_on_reset == 0);
        CHECK(wires[i].overflow == 0);
        /* Every frame that reached this side was taken or counted. */
        CHECK(s.frames_received == s.framing.frames_ok);
        if (!nd->stream) {
            CHECK(s.framing.frames_ok + rej == nd->frames_in);
        } else {
            /* A flipped bit costs its frame, and the next when it hit a delimiter. */
            CHECK(s.framing.frames_ok <= nd->frames_in - nd->corrupted_in);
            CHECK(s.framing.frames_ok + 2u * nd->corrupted_in >= nd->frames_in);
        }
        if (nd->corrupted_in > 0) CHECK(rej > 0 && s.framing.bad_crc > 0);
        if (wires[1 - i].dropped > 0) {
            /* The peer lost frames: this side saw gaps or repeats, or its peer retransmitted. */
            common_stats_t p = n_stats(&nodes[1 - i]);
            CHECK(p.retransmissions > 0);
            CHECK(s.out_of_order + s.duplicates + s.out_of_window + rej > 0);
        }
    }
}

/* ------------------------------------------------------------------ 1. argument checking */

/* Two compact links in nodes[0..1] over a clean wire until both are up; events taken. */
static bool connect_pair(uint64_t *now) {
    unsigned k;
    wire_setup(&wires[0], 0, 0, 0, 1);
    wire_setup(&wires[1], 0, 0, 0, 1);
    for (k = 0; k < 2000 && !(n_up(&nodes[0]) && n_up(&nodes[1])); k++) {
        unsigned i;
        for (i = 0; i < 2; i++) CHECK_STATUS(n_timeout(&nodes[i], *now), FERRULE_OK);
        for (i = 0; i < 2; i++) transmit(&nodes[i], &wires[i], *now);
        *now += 1;
        deliver(&wires[0], &nodes[1], *now);
        deliver(&wires[1], &nodes[0], *now);
    }
    return n_up(&nodes[0]) && n_up(&nodes[1]);
}

/* `count` messages each way between nodes[0] and nodes[1] on a clean wire (they must be up):
 * the links still work. */
static void exchange(unsigned count, uint64_t *now, uint64_t seed) {
    unsigned k, i;
    uint16_t max = nodes[0].max_message < nodes[1].max_message ? nodes[0].max_message : nodes[1].max_message;
    flow_setup(&flows[0], seed, 0, max, 4, count);
    flow_setup(&flows[1], seed + 1, 0, max, 4, count);
    wire_setup(&wires[0], 0, 0, 0, 1);
    wire_setup(&wires[1], 0, 0, 0, 1);
    for (k = 0; k < 20000 && (flows[0].delivered < count || flows[1].delivered < count); k++) {
        for (i = 0; i < 2; i++) {
            uint64_t d;
            if (n_deadline(&nodes[i], &d) == FERRULE_OK && d <= *now) CHECK_STATUS(n_timeout(&nodes[i], *now), FERRULE_OK);
            flow_send(&flows[i], &nodes[i], *now);
            transmit(&nodes[i], &wires[i], *now);
        }
        *now += 1;
        deliver(&wires[0], &nodes[1], *now);
        deliver(&wires[1], &nodes[0], *now);
        flow_recv(&flows[0], &nodes[1]);
        flow_recv(&flows[1], &nodes[0]);
    }
    CHECK(flows[0].delivered == count && flows[1].delivered == count);
    CHECK(flows[0].given_up == 0 && flows[1].given_up == 0);
    /* Until both have seen everything acknowledged. */
    for (k = 0; k < 5000 && !((!flows[0].have_id || n_acked(&nodes[0]) == flows[0].last_id + 1u) &&
                              (!flows[1].have_id || n_acked(&nodes[1]) == flows[1].last_id + 1u));
         k++) {
        for (i = 0; i < 2; i++) {
            uint64_t d;
            if (n_deadline(&nodes[i], &d) == FERRULE_OK && d <= *now) CHECK_STATUS(n_timeout(&nodes[i], *now), FERRULE_OK);
            transmit(&nodes[i], &wires[i], *now);
        }
        *now += 1;
        deliver(&wires[0], &nodes[1], *now);
        deliver(&wires[1], &nodes[0], *now);
    }
    CHECK(k < 5000);
}

static void test_init_arguments(void) {
    static uint64_t mem[NODE_WORDS + 1];
    ferrule_compact_config_t c = ferrule_compact_config_default(), bad;
    ferrule_compact_t *h = NULL;
    size_t need = ferrule_compact_storage_size(c.window, c.max_message);

    /* The documented defaults. */
    CHECK(c.transport == FERRULE_TRANSPORT_STREAM && !c.leading_delimiter && c.window == 4 && c.max_message == 128);
    CHECK(c.max_retransmits == 20 && c.reserved == 0 && c.rto_initial_ms == 1000 && c.rto_min_ms == 20);
    CHECK(c.rto_max_ms == 4000 && c.ack_delay_ms == 5 && c.keepalive_ms == 1000);
    CHECK(need > 0 && need <= sizeof mem - 8);

    CHECK_STATUS(ferrule_compact_init(NULL, need, &c, 1, &h), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_init(mem, need, NULL, 1, &h), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_init(mem, need, &c, 1, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_init(mem, need - 1, &c, 1, &h), FERRULE_ERR_MEMORY_TOO_SMALL);
    CHECK_STATUS(ferrule_compact_init(mem, 0, &c, 1, &h), FERRULE_ERR_MEMORY_TOO_SMALL);
    /* Misaligned (the header: aligned to 8), with room to spare. */
    CHECK_STATUS(ferrule_compact_init((uint8_t *)mem + 4, need, &c, 1, &h), FERRULE_ERR_MEMORY_ALIGNMENT);
    CHECK_STATUS(ferrule_compact_init((uint8_t *)mem + 1, need, &c, 1, &h), FERRULE_ERR_MEMORY_ALIGNMENT);
    CHECK(h == NULL); /* nothing written on an error */

#define BAD_CONFIG(field, value)                                                                \
    do {                                                                                        \
        bad = c;                                                                                \
        bad.field = value;                                                                      \
        CHECK_STATUS(ferrule_compact_init(mem, sizeof mem, &bad, 1, &h), FERRULE_ERR_INVALID_ARGUMENT); \
    } while (0)
    BAD_CONFIG(window, 0);
    BAD_CONFIG(max_message, 0);
    BAD_CONFIG(max_message, FERRULE_MAX_MESSAGE + 1);
    BAD_CONFIG(max_message, 0xFFFF);
    BAD_CONFIG(transport, 2);
    BAD_CONFIG(transport, 0xFF);
    BAD_CONFIG(reserved, 1);
    BAD_CONFIG(rto_initial_ms, 0);
    BAD_CONFIG(rto_min_ms, 0);
    BAD_CONFIG(rto_min_ms, 4001); /* above rto_max_ms */
    BAD_CONFIG(rto_max_ms, 19);   /* below rto_min_ms */
#undef BAD_CONFIG
    CHECK(h == NULL);
    /* rto_min == rto_max is fine, and so are the extremes of window and max_message. */
    bad = c;
    bad.rto_min_ms = bad.rto_max_ms = 100;
    CHECK_STATUS(ferrule_compact_init(mem, sizeof mem, &bad, 1, &h), FERRULE_OK);
    CHECK(h != NULL);
    bad = c;
    bad.window = 1;
    bad.max_message = 1;
    h = NULL;
    CHECK_STATUS(ferrule_compact_init(mem, ferrule_compact_storage_size(1, 1), &bad, 1, &h), FERRULE_OK);
    CHECK(h != NULL);
}

static void test_call_arguments(void) {
    node_t *a = &nodes[0], *b = &nodes[1];
    ferrule_compact_t *h;
    uint8_t msg[BIG_MESSAGE + 1], out[BIG_MESSAGE + 8], frame[FRAME_CAP];
    ferrule_received_t r;
    ferrule_event_t ev;
    ferrule_compact_stats_t st, st2;
    uint64_t now = 0, deadline = 0;
    size_t n = 0, i, need;
    uint32_t id = 0, acked = 0;
    static const uint8_t zero = 0;

    node_setup(a, COMPACT, true, 4, 128);
    node_setup(b, COMPACT, true, 4, 128);
    node_boot(a, 0xA11CE);
    node_boot(b, 0xB0B);
    h = a->c;
    memset(msg, 'm', sizeof msg);

    /* Every function with a NULL handle. */
    CHECK_STATUS(ferrule_compact_send(NULL, 0, msg, 1, now, &id), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_acked_before(NULL, &acked), FERRULE_ERR_NULL);
    CHECK(ferrule_compact_send_capacity(NULL) == 0);
    CHECK_STATUS(ferrule_compact_recv(NULL, out, sizeof out, &r), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_handle_input(NULL, msg, 1, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_handle_datagram(NULL, msg, 1, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_poll_transmit(NULL, now, frame, sizeof frame, &n), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_poll_timeout(NULL, &deadline), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_handle_timeout(NULL, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_poll_event(NULL, &ev), FERRULE_ERR_NULL);
    CHECK(!ferrule_compact_is_up(NULL));
    CHECK_STATUS(ferrule_compact_close(NULL, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_stats(NULL, &st), FERRULE_ERR_NULL);

    /* NULL out-pointers and buffers. */
    CHECK_STATUS(ferrule_compact_acked_before(h, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_recv(h, NULL, 16, &r), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_recv(h, out, sizeof out, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_handle_input(h, NULL, 5, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_handle_datagram(h, NULL, 5, now), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_poll_transmit(h, now, NULL, sizeof frame, &n), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_poll_transmit(h, now, frame, sizeof frame, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_poll_timeout(h, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_poll_event(h, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_stats(h, NULL), FERRULE_ERR_NULL);
    /* Lengths no buffer has: nothing is read. */
    CHECK_STATUS(ferrule_compact_handle_input(h, &zero, (size_t)PTRDIFF_MAX + 1u, now), FERRULE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ferrule_compact_handle_datagram(h, &zero, SIZE_MAX, now), FERRULE_ERR_INVALID_ARGUMENT);
    /* Empty input is fine, NULL with it too. */
    CHECK_STATUS(ferrule_compact_handle_input(h, NULL, 0, now), FERRULE_OK);
    CHECK_STATUS(ferrule_compact_handle_datagram(h, NULL, 0, now), FERRULE_OK);

    /* Before the session: NOT_CONNECTED (before any size check), nothing to receive, no
     * event; the first hello is due now; nothing acknowledged yet. */
    id = 777;
    CHECK_STATUS(ferrule_compact_send(h, 0, msg, 10, now, &id), FERRULE_ERR_NOT_CONNECTED);
    CHECK_STATUS(ferrule_compact_send(h, 0, msg, 129, now, &id), FERRULE_ERR_NOT_CONNECTED);
    CHECK(id == 777);
    CHECK(!ferrule_compact_is_up(h));
    CHECK_STATUS(ferrule_compact_recv(h, out, sizeof out, &r), FERRULE_EMPTY);
    CHECK_STATUS(ferrule_compact_poll_event(h, &ev), FERRULE_EMPTY);
    CHECK_STATUS(ferrule_compact_poll_timeout(h, &deadline), FERRULE_OK);
    CHECK(deadline <= now);
    CHECK_STATUS(ferrule_compact_acked_before(h, &acked), FERRULE_OK);
    CHECK(acked == 0);
    CHECK(ferrule_compact_send_capacity(h) == 4);
    /* Close without a session: nothing happens. */
    CHECK_STATUS(ferrule_compact_close(h, now), FERRULE_OK);
    CHECK_STATUS(ferrule_compact_poll_event(h, &ev), FERRULE_EMPTY);
    /* A transmit buffer one byte short of the documented size: nothing taken. Exactly the
     * documented size: the hello. */
    need = ferrule_compact_max_frame_len(128);
    CHECK(need > 128 && need <= sizeof frame);
    n = 12345;
    CHECK_STATUS(ferrule_compact_poll_transmit(h, now, frame, need - 1, &n), FERRULE_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(ferrule_compact_poll_transmit(h, now, frame, 0, &n), FERRULE_ERR_BUFFER_TOO_SMALL);
    CHECK(n == 12345);
    CHECK_STATUS(ferrule_compact_poll_transmit(h, now, frame, need, &n), FERRULE_OK);
    CHECK(n > 40 && n <= need && frame[0] == 0 && frame[n - 1] == 0); /* a hello, delimited */
    CHECK_STATUS(ferrule_compact_handle_input(b->c, frame, n, now), FERRULE_OK);
    CHECK_STATUS(ferrule_compact_stats(b->c, &st), FERRULE_OK);
    CHECK(st.framing.frames_ok == 1 && st.hellos_answered == 1);

    CHECK(connect_pair(&now));
    drain_events(a);
    drain_events(b);
    CHECK(a->ups == 1 && a->downs == 0 && b->ups == 1 && b->downs == 0);
    CHECK_STATUS(ferrule_compact_poll_event(h, &ev), FERRULE_EMPTY);

    /* Up: a message above max_message is TOO_LARGE; max_message itself is fine; id untouched
     * on errors. NULL msg with a length: NULL; an empty message may be NULL. */
    id = 777;
    CHECK_STATUS(ferrule_compact_send(h, 0, msg, 129, now, &id), FERRULE_ERR_TOO_LARGE);
    CHECK_STATUS(ferrule_compact_send(h, 0, msg, (size_t)PTRDIFF_MAX + 1u, now, &id), FERRULE_ERR_TOO_LARGE);
    CHECK_STATUS(ferrule_compact_send(h, 0, NULL, 3, now, &id), FERRULE_ERR_NULL);
    CHECK(id == 777);
    CHECK_STATUS(ferrule_compact_stats(h, &st), FERRULE_OK);
    CHECK(st.sent_reliable == 0 && st.send_full == 0);

    /* Fill the window: 4 (one of them empty, NULL), then FULL, counted each time; ids 0..3. */
    CHECK(ferrule_compact_send_capacity(h) == 4);
    CHECK_STATUS(ferrule_compact_send(h, 7, msg, 128, now, &id), FERRULE_OK);
    CHECK(id == 0);
    CHECK_STATUS(ferrule_compact_send(h, 8, NULL, 0, now, &id), FERRULE_OK);
    CHECK(id == 1);
    CHECK_STATUS(ferrule_compact_send(h, 9, msg, 5, now, NULL), FERRULE_OK); /* id may be NULL */
    CHECK_STATUS(ferrule_compact_send(h, 255, msg, 20, now, &id), FERRULE_OK);
    CHECK(id == 3);
    CHECK(ferrule_compact_send_capacity(h) == 0);
    id = 777;
    CHECK_STATUS(ferrule_compact_send(h, 0, msg, 1, now, &id), FERRULE_ERR_FULL);
    CHECK_STATUS(ferrule_compact_send(h, 0, msg, 1, now, &id), FERRULE_ERR_FULL);
    CHECK(id == 777);
    CHECK_STATUS(ferrule_compact_stats(h, &st), FERRULE_OK);
    CHECK(st.send_full == 2 && st.sent_reliable == 4);
    CHECK_STATUS(ferrule_compact_acked_before(h, &acked), FERRULE_OK);
    CHECK(acked == 0);

    /* Deliver to b without b's application reading: then b's queue is full. */
    for (i = 0; i < 20; i++) {
        CHECK_STATUS(ferrule_compact_handle_timeout(h, now), FERRULE_OK);
        CHECK_STATUS(ferrule_compact_handle_timeout(b->c, now), FERRULE_OK);
        transmit(a, &wires[0], now);
        transmit(b, &wires[1], now);
        now += 1;
        deliver(&wires[0], b, now);
        deliver(&wires[1], a, now);
    }
    CHECK_STATUS(ferrule_compact_acked_before(h, &acked), FERRULE_OK);
    CHECK(acked == 4);
    CHECK(ferrule_compact_send_capacity(h) == 4);
    /* recv one byte short: BUFFER_TOO_SMALL, and the message stays queued; then whole. */
    CHECK_STATUS(ferrule_compact_recv(b->c, out, 127, &r), FERRULE_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(ferrule_compact_recv(b->c, out, 0, &r), FERRULE_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(ferrule_compact_recv(b->c, NULL, 0, &r), FERRULE_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(ferrule_compact_recv(b->c, out, 128, &r), FERRULE_OK);
    CHECK(r.len == 128 && r.channel == 7 && r.reliable && memcmp(out, msg, 128) == 0);
    /* The empty message: cap 0 and NULL are enough. */
    CHECK_STATUS(ferrule_compact_recv(b->c, NULL, 0, &r), FERRULE_OK);
    CHECK(r.len == 0 && r.channel == 8 && r.reliable);
    CHECK_STATUS(ferrule_compact_recv(b->c, out, 4, &r), FERRULE_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(ferrule_compact_recv(b->c, out, 5, &r), FERRULE_OK);
    CHECK(r.len == 5 && r.channel == 9 && memcmp(out, msg, 5) == 0);
    /* A capacity far above max_message is only an upper bound. */
    CHECK_STATUS(ferrule_compact_recv(b->c, out, SIZE_MAX, &r), FERRULE_OK);
    CHECK(r.len == 20 && r.channel == 255 && memcmp(out, msg, 20) == 0);
    CHECK_STATUS(ferrule_compact_recv(b->c, out, sizeof out, &r), FERRULE_EMPTY);
    CHECK_STATUS(ferrule_compact_stats(b->c, &st2), FERRULE_OK);
    CHECK(st2.delivered_reliable == 4);

    /* The link is still usable after all of the above: 50 messages each way. */
    exchange(50, &now, 0xE1);
    drain_events(a);
    drain_events(b);
    CHECK(a->ups == 1 && a->downs == 0 && b->ups == 1 && b->downs == 0);

    /* close: DOWN (local close) here, DOWN (peer closed) there, both up again; sending in
     * between says NOT_CONNECTED. */
    CHECK_STATUS(ferrule_compact_acked_before(h, &acked), FERRULE_OK);
    CHECK(acked == 54); /* 4 above, 50 in the exchange */
    CHECK_STATUS(ferrule_compact_send(h, 1, msg, 3, now, &id), FERRULE_OK);
    CHECK(id == 54);
    CHECK_STATUS(ferrule_compact_close(h, now), FERRULE_OK);
    CHECK_STATUS(ferrule_compact_send(h, 1, msg, 3, now, &id), FERRULE_ERR_NOT_CONNECTED);
    acked = 0;
    CHECK(connect_pair(&now)); /* the CLOSE goes, then a new handshake */
    {
        unsigned k;
        for (k = 0; k < 50; k++) {
            CHECK_STATUS(ferrule_compact_handle_timeout(h, now), FERRULE_OK);
            CHECK_STATUS(ferrule_compact_handle_timeout(b->c, now), FERRULE_OK);
            transmit(a, &wires[0], now);
            transmit(b, &wires[1], now);
            now += 1;
            deliver(&wires[0], b, now);
            deliver(&wires[1], a, now);
        }
    }
    CHECK(ferrule_compact_is_up(h) && ferrule_compact_is_up(b->c));
    a->ups = a->downs = b->ups = b->downs = 0;
    CHECK_STATUS(ferrule_compact_poll_event(h, &ev), FERRULE_OK);
    CHECK(ev.kind == FERRULE_EVENT_DOWN && ev.reason == FERRULE_DOWN_LOCAL_CLOSE);
    /* The message sent before close was unacknowledged (or acknowledged: then not named). */
    CHECK(ev.unacked <= 1);
    if (ev.unacked == 1) CHECK(ev.first_id == 54);
    CHECK_STATUS(ferrule_compact_poll_event(h, &ev), FERRULE_OK);
    CHECK(ev.kind == FERRULE_EVENT_UP);
    CHECK_STATUS(ferrule_compact_poll_event(b->c, &ev), FERRULE_OK);
    CHECK(ev.kind == FERRULE_EVENT_DOWN && ev.reason == FERRULE_DOWN_PEER_CLOSED && ev.unacked == 0);
    CHECK_STATUS(ferrule_compact_poll_event(b->c, &ev), FERRULE_OK);
    CHECK(ev.kind == FERRULE_EVENT_UP);
    /* The message sent before close may have reached b: take it if so. */
    while (ferrule_compact_recv(b->c, out, sizeof out, &r) == FERRULE_OK) CHECK(r.len == 3 && r.channel == 1);
    CHECK_STATUS(ferrule_compact_acked_before(h, &acked), FERRULE_OK);
    CHECK(acked == 55);
    exchange(20, &now, 0xE2);

    /* TOO_LARGE at the peer's max_message when it is smaller than ours. */
    node_setup(a, COMPACT, false, 2, 128);
    node_setup(b, COMPACT, false, 2, 64);
    node_boot(a, 0xA2);
    node_boot(b, 0xB2);
    now = 0;
    CHECK(connect_pair(&now));
    CHECK_STATUS(ferrule_compact_send(a->c, 0, msg, 65, now, &id), FERRULE_ERR_TOO_LARGE);
    CHECK_STATUS(ferrule_compact_send(b->c, 0, msg, 65, now, &id), FERRULE_ERR_TOO_LARGE);
    exchange(30, &now, 0xE3);
}

/* ------------------------------------------------------------------ 2. storage sizes */

static void test_storage_size(void) {
    static const struct {
        uint8_t w;
        uint16_t m;
    } sizes[] = {{1, 1}, {1, 40}, {3, 7}, {4, 128}, {2, 255}, {8, 256}, {1, 4096}, {16, 4096}, {255, 64}, {255, 1}};
    size_t i, prev;
    uint64_t now;

    CHECK(ferrule_compact_storage_size(0, 128) == 0);
    CHECK(ferrule_compact_storage_size(4, 0) == 0);
    CHECK(ferrule_compact_storage_size(4, FERRULE_MAX_MESSAGE + 1) == 0);
    CHECK(ferrule_compact_storage_size(4, 0xFFFF) == 0);
    CHECK(ferrule_compact_storage_size(1, FERRULE_MAX_MESSAGE) > FERRULE_MAX_MESSAGE);
    /* Grows with the window and the message size. */
    for (i = 1, prev = 0; i <= 255; i++) {
        size_t s = ferrule_compact_storage_size((uint8_t)i, 100);
        CHECK(s > prev);
        prev = s;
    }
    CHECK(ferrule_compact_storage_size(4, 129) > ferrule_compact_storage_size(4, 128));
    /* The frame buffer size: at least the message and a hello; grows with the message. */
    CHECK(ferrule_compact_max_frame_len(1) >= 40);
    CHECK(ferrule_compact_max_frame_len(4096) > 4096);
    CHECK(ferrule_compact_max_frame_len(256) > ferrule_compact_max_frame_len(128));

    /* Init succeeds with exactly the size (one byte less: MEMORY_TOO_SMALL), in a heap block
     * of exactly that many bytes: AddressSanitizer sees any access past it. Then, for the
     * smaller ones, a link of that size exchanges messages of max_message bytes each way. */
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t need = ferrule_compact_storage_size(sizes[i].w, sizes[i].m);
        ferrule_compact_config_t c = compact_config(sizes[i].w, sizes[i].m, i % 2 == 0);
        void *ma = malloc(need), *mb = malloc(need);
        ferrule_compact_t *ha = NULL, *hb = NULL;
        uint8_t *frame = (uint8_t *)malloc(ferrule_compact_max_frame_len(sizes[i].m));
        uint8_t *msg = (uint8_t *)malloc(sizes[i].m), *out = (uint8_t *)malloc(sizes[i].m);
        size_t flen = ferrule_compact_max_frame_len(sizes[i].m), n;
        unsigned sent = 0, got = 0, k, rounds = 0;
        ferrule_received_t r;
        CHECK(need > 0 && ma != NULL && mb != NULL && frame != NULL && msg != NULL && out != NULL);
        if (!ma || !mb || !frame || !msg || !out) return;
        CHECK_STATUS(ferrule_compact_init(ma, need - 1, &c, 1, &ha), FERRULE_ERR_MEMORY_TOO_SMALL);
        CHECK(ha == NULL);
        CHECK_STATUS(ferrule_compact_init(ma, need, &c, 1, &ha), FERRULE_OK);
        CHECK_STATUS(ferrule_compact_init(mb, need, &c, 2, &hb), FERRULE_OK);
        memset(msg, 0xA5, sizes[i].m);
        /* Messages of max_message bytes, a window's worth at a time, both ways (the receive
         * slots fill before the application reads). */
        now = 0;
        for (k = 0; k < 3000 && got < 40; k++) {
            ferrule_compact_t *h[2];
            unsigned s;
            h[0] = ha;
            h[1] = hb;
            for (s = 0; s < 2; s++) {
                uint64_t d;
                ferrule_status st;
                if (ferrule_compact_poll_timeout(h[s], &d) == FERRULE_OK && d <= now)
                    CHECK_STATUS(ferrule_compact_handle_timeout(h[s], now), FERRULE_OK);
                if (s == 0 && ferrule_compact_is_up(ha) && sent < 40 &&
                    ferrule_compact_send(ha, (uint8_t)sent, msg, sizes[i].m, now, NULL) == FERRULE_OK)
                    sent++;
                while ((st = ferrule_compact_poll_transmit(h[s], now, frame, flen, &n)) == FERRULE_OK) {
                    CHECK(n <= flen);
                    if (c.transport == FERRULE_TRANSPORT_STREAM)
                        CHECK_STATUS(ferrule_compact_handle_input(h[1 - s], frame, n, now), FERRULE_OK);
                    else
                        CHECK_STATUS(ferrule_compact_handle_datagram(h[1 - s], frame, n, now), FERRULE_OK);
                }
                CHECK_STATUS(st, FERRULE_EMPTY);
            }
            /* b's application reads only every 50 ms: its slots fill up. */
            if (k % 50 == 49) {
                while (ferrule_compact_recv(hb, out, sizes[i].m, &r) == FERRULE_OK) {
                    CHECK(r.len == sizes[i].m && r.channel == (uint8_t)got && memcmp(out, msg, r.len) == 0);
                    got++;
                }
                rounds++;
            }
            now += 1;
        }
        CHECK(got == 40);
        if (got != 40)
            fprintf(stderr, "  storage (%u, %u): %u of 40 delivered\n", (unsigned)sizes[i].w, (unsigned)sizes[i].m, got);
        (void)rounds;
        free(ma);
        free(mb);
        free(frame);
        free(msg);
        free(out);
    }
    /* FERRULE_COMPACT_STORAGE_SIZE: a constant expression equal to the function, a multiple
     * of 8, for every size above; a static uint64_t block of it takes a link. */
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t m = FERRULE_COMPACT_STORAGE_SIZE(sizes[i].w, sizes[i].m);
        CHECK(m == ferrule_compact_storage_size(sizes[i].w, sizes[i].m));
        CHECK(m % 8 == 0);
    }
    {
        static uint64_t block[FERRULE_COMPACT_STORAGE_SIZE(4, 128) / 8];
        enum { CONSTANT = FERRULE_COMPACT_STORAGE_SIZE(4, 128) };
        ferrule_compact_config_t c = ferrule_compact_config_default();
        ferrule_compact_t *h = NULL;
#if !defined(__cplusplus)
        _Static_assert(FERRULE_COMPACT_STORAGE_SIZE(4, 128) % 8 == 0, "a multiple of 8");
#endif
        CHECK(sizeof block == ferrule_compact_storage_size(4, 128));
        CHECK((size_t)CONSTANT == sizeof block);
        CHECK_STATUS(ferrule_compact_init(block, sizeof block, &c, 1, &h), FERRULE_OK);
    }
}

/* ------------------------------------------------------------------ 3./4. lossy runs */

static void lossy_run(const char *name, kind_t ka, kind_t kb, bool stream, uint64_t boot_b_at, unsigned count,
                      unsigned channels) {
    scenario_t sc;
    outcome_t o;
    uint16_t max = 200;
    memset(&sc, 0, sizeof sc);
    sc.name = name;
    sc.limit_ms = 3600u * 1000u;
    node_setup(&nodes[0], ka, stream, 8, max);
    node_setup(&nodes[1], kb, stream, 6, max);
    nodes[1].boot_at = boot_b_at;
    flow_setup(&flows[0], rnd(), 0, max, channels, count);
    flow_setup(&flows[1], rnd(), 0, max, channels, count);
    /* Stream: 10 % of frames lost, 5 % with a flipped bit; datagram: 10 % lost, 5 %
     * duplicated (the copy up to 2 ms later), 2 % corrupted. */
    wire_setup(&wires[0], 100, stream ? 50 : 20, stream ? 0 : 50, 3);
    wire_setup(&wires[1], 100, stream ? 50 : 20, stream ? 0 : 50, 5);
    o = run(&sc);
    check_clean_outcome(name, &o);
}

static void test_lossy(void) {
    /* 3. Two compact links, stream, 1,000 messages each way on random channels (b boots
     * 700 ms after a). */
    lossy_run("compact <-> compact, stream", COMPACT, COMPACT, true, 700, 1000, 256);
    /* 4. Against the full link, each as the side that boots first (all of the full link's
     * channels are reliable without the best-effort channel: channels 0..31). */
    lossy_run("compact (first) <-> full, stream", COMPACT, FULL, true, 1500, 1000, 32);
    lossy_run("full (first) <-> compact, stream", FULL, COMPACT, true, 1500, 1000, 32);
    /* Datagrams with drops and duplicates. */
    lossy_run("compact <-> compact, datagram", COMPACT, COMPACT, false, 300, 1000, 256);
    lossy_run("compact (first) <-> full, datagram", COMPACT, FULL, false, 300, 1000, 32);
    lossy_run("full (first) <-> compact, datagram", FULL, COMPACT, false, 300, 1000, 32);
}

/* ------------------------------------------------------------------ 5. restart */

static void quiet_steps(uint64_t *now, unsigned ms);

/* Compact <-> full with shared-window compression both ways over the lossy wire: every
 * message exactly once, in order, byte for byte; both sides compressed for real. */
static void lossy_z_run(const char *name, kind_t ka, kind_t kb, bool stream) {
    scenario_t sc;
    outcome_t o;
    uint16_t max = 128;
    unsigned i;
    memset(&sc, 0, sizeof sc);
    sc.name = name;
    sc.limit_ms = 3600u * 1000u;
    node_setup(&nodes[0], ka, stream, 4, max);
    node_setup(&nodes[1], kb, stream, 4, max);
    nodes[0].compress = nodes[1].compress = true;
    nodes[1].boot_at = 300;
    flow_setup(&flows[0], rnd(), 8, max, 4, 1000);
    flow_setup(&flows[1], rnd(), 8, max, 4, 1000);
    wire_setup(&wires[0], 100, stream ? 50 : 20, stream ? 0 : 50, 3);
    wire_setup(&wires[1], 100, stream ? 50 : 20, stream ? 0 : 50, 5);
    text_msgs = true;
    o = run(&sc);
    text_msgs = false;
    check_clean_outcome(name, &o);
    for (i = 0; i < 2; i++) {
        uint32_t compressed;
        uint64_t in, out;
        if (nodes[i].kind == COMPACT) {
            ferrule_compact_stats_t st;
            CHECK_STATUS(ferrule_compact_stats(nodes[i].c, &st), FERRULE_OK);
            compressed = st.compressed;
            in = st.compress_bytes_in;
            out = st.compress_bytes_out;
            CHECK(st.decompress_failed == 0 && st.not_negotiated == 0);
        } else {
            ferrule_link_stats_t st;
            CHECK_STATUS(ferrule_link_stats(nodes[i].l, &st), FERRULE_OK);
            compressed = st.compressed;
            in = st.compress_bytes_in;
            out = st.compress_bytes_out;
        }
        printf("    %s: %u messages compressed, %" PRIu64 " -> %" PRIu64 " bytes\n",
               nodes[i].kind == COMPACT ? "compact" : "full", (unsigned)compressed, in, out);
        CHECK(compressed > 500u);
        CHECK(out * 10u < in * 7u);
    }
}

/* ferrule_compact_enable_compression's argument checks, and what a compressed message needs
 * from ferrule_compact_recv. */
static void test_compression(void) {
    node_t *a = &nodes[0];
    ferrule_compression_config_t z = shared_config(), bad = shared_config();
    size_t need = ferrule_compression_storage_size(&z);
    uint8_t *raw = (uint8_t *)a->zmem;
    CHECK(need > 0 && need % 8 == 0 && need <= sizeof a->zmem);
    node_setup(a, COMPACT, false, 4, 128);
    node_boot(a, 0x21);
    CHECK_STATUS(ferrule_compact_enable_compression(NULL, a->zmem, need, &z), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_enable_compression(a->c, NULL, need, &z), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_enable_compression(a->c, a->zmem, need, NULL), FERRULE_ERR_NULL);
    CHECK_STATUS(ferrule_compact_enable_compression(a->c, a->zmem, need - 1, &z), FERRULE_ERR_MEMORY_TOO_SMALL);
    CHECK_STATUS(ferrule_compact_enable_compression(a->c, raw + 4, need, &z), FERRULE_ERR_MEMORY_ALIGNMENT);
    /* Inside the link's own block (it is big enough, but it is the link's). */
    CHECK_STATUS(ferrule_compact_enable_compression(a->c, a->mem, sizeof a->mem, &z), FERRULE_ERR_INVALID_ARGUMENT);
    bad.reliable = 9;
    CHECK_STATUS(ferrule_compact_enable_compression(a->c, a->zmem, sizeof a->zmem, &bad), FERRULE_ERR_INVALID_ARGUMENT);
    bad = shared_config();
    bad.reserved[0] = 1;
    CHECK_STATUS(ferrule_compact_enable_compression(a->c, a->zmem, sizeof a->zmem, &bad), FERRULE_ERR_INVALID_ARGUMENT);
    bad = shared_config();
    bad.receive_window_bits = 20;
    CHECK_STATUS(ferrule_compact_enable_compression(a->c, a->zmem, sizeof a->zmem, &bad), FERRULE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ferrule_compact_enable_compression(a->c, a->zmem, need, &z), FERRULE_OK);
    /* Again, in the same block: replaces the codec. */
    CHECK_STATUS(ferrule_compact_enable_compression(a->c, a->zmem, need, &z), FERRULE_OK);

    /* A compressed message waits for a max_message buffer. */
    {
        node_t *b = &nodes[1];
        uint64_t now = 0;
        uint8_t msg[128], out[128];
        ferrule_received_t r;
        size_t k;
        for (k = 0; k < sizeof msg; k++) msg[k] = (uint8_t)"temperature=21 "[k % 15];
        a->compress = true;
        node_setup(b, FULL, false, 4, 128);
        b->compress = true;
        node_boot(a, 0x31);
        node_boot(b, 0x32);
        CHECK(connect_pair(&now));
        CHECK_STATUS(ferrule_link_send(b->l, 2, msg, 100, now, NULL), FERRULE_OK);
        quiet_steps(&now, 20);
        CHECK_STATUS(ferrule_compact_recv(a->c, out, 100, &r), FERRULE_ERR_BUFFER_TOO_SMALL);
        CHECK_STATUS(ferrule_compact_recv(a->c, out, sizeof out, &r), FERRULE_OK);
        CHECK(r.len == 100 && r.channel == 2 && memcmp(out, msg, 100) == 0);
        {
            ferrule_compact_stats_t st;
            size_t peer_max = 0;
            CHECK_STATUS(ferrule_compact_stats(a->c, &st), FERRULE_OK);
            CHECK(st.delivered_reliable == 1 && st.decompress_failed == 0);
            CHECK_STATUS(ferrule_compact_peer_max_message(a->c, &peer_max), FERRULE_OK);
            CHECK(peer_max == 128);
            CHECK_STATUS(ferrule_compact_peer_max_message(NULL, &peer_max), FERRULE_ERR_NULL);
            CHECK_STATUS(ferrule_compact_peer_max_message(a->c, NULL), FERRULE_ERR_NULL);
        }
        a->compress = b->compress = false;
    }
    lossy_z_run("compressed: compact (first) <-> full, stream", COMPACT, FULL, true);
    lossy_z_run("compressed: full (first) <-> compact, datagram", FULL, COMPACT, false);
    lossy_z_run("compressed: compact <-> compact, datagram", COMPACT, COMPACT, false);
}

static void restart_run(const char *name, kind_t ka, bool stream) {
    scenario_t sc;
    outcome_t o;
    node_t *a = &nodes[0], *b = &nodes[1];
    uint16_t max = 100;
    common_stats_t sa;
    memset(&sc, 0, sizeof sc);
    sc.name = name;
    sc.limit_ms = 3600u * 1000u;
    sc.restart_b_when_a_sent = 300;
    node_setup(a, ka, stream, 4, max);
    node_setup(b, COMPACT, stream, 4, max);
    /* Messages carry their index: a skipped one is identified. */
    flow_setup(&flows[0], rnd(), 4, max, 8, 600);
    flow_setup(&flows[1], rnd(), 4, max, 8, 600);
    wire_setup(&wires[0], 50, 20, 0, 3);
    wire_setup(&wires[1], 50, 20, 0, 3);
    o = run(&sc);
    report(name, &o);
    sa = n_stats(a);
    printf("    restart: a's DOWN named ids %u..%u (%u); acked_before then %u; %u+%u given up\n",
           (unsigned)o.down_first, (unsigned)(o.down_first + o.down_unacked - 1u), (unsigned)o.down_unacked,
           (unsigned)o.acked_at_down, flows[0].given_up, flows[1].given_up);
    CHECK(o.restarts == 1);
    /* a: UP, DOWN (peer restarted), UP; the new b: one UP, no DOWN. */
    CHECK(a->ups == 2 && a->downs == 1);
    CHECK(a->log[0] == FERRULE_EVENT_UP && a->log[1] == FERRULE_EVENT_DOWN && a->log[2] == FERRULE_EVENT_UP);
    CHECK(a->last_down.kind == FERRULE_EVENT_DOWN && a->last_down.reason == FERRULE_DOWN_PEER_RESTARTED);
    CHECK(b->ups == 1 && b->downs == 0);
    CHECK(sa.sessions == 2 && sa.link_downs == 1 && sa.discarded_on_reset == a->last_down.unacked);
    /* The DOWN names at most a window of messages, the ones a had not seen confirmed:
     * acked_before moves past them. */
    CHECK(a->last_down.unacked <= a->window);
    if (a->last_down.unacked > 0) CHECK(o.acked_at_down == o.down_first + o.down_unacked);
    /* Every message not named in the DOWN was delivered exactly once (checked as they
     * came); the named ones at most once (the new b never sees them again: a does not
     * resend them, the API leaves that to the application). Messages after the restart
     * flowed both ways. */
    CHECK(flows[0].given_up <= a->last_down.unacked);
    CHECK(flows[0].delivered + flows[0].given_up == flows[0].count);
    CHECK(flows[1].delivered + flows[1].given_up == flows[1].count);
    CHECK(flows[0].delivered >= flows[0].count - a->last_down.unacked);
    CHECK(flows[1].given_up <= b->window);
}

static void test_restart(void) {
    restart_run("restart: compact a, compact b re-initialised mid-run, stream", COMPACT, true);
    restart_run("restart: compact a, compact b re-initialised mid-run, datagram", COMPACT, false);
    restart_run("restart: full a, compact b re-initialised mid-run, stream", FULL, true);
}

/* ------------------------------------------------------------------ 6. retry limit */

static void retry_run(uint8_t max_retransmits, unsigned in_flight) {
    node_t *a = &nodes[0], *b = &nodes[1];
    uint64_t now = 0, d;
    uint8_t msg[16], frame[FRAME_CAP];
    size_t n;
    uint32_t before = 0, after = 0, id;
    unsigned k, i, rdata_frames = 0;
    ferrule_compact_stats_t s0, s1;
    ferrule_event_t ev;
    bool down = false;

    node_setup(a, COMPACT, true, 4, 64);
    node_setup(b, COMPACT, true, 4, 64);
    a->max_retransmits = max_retransmits;
    a->keepalive_ms = 0; /* the retry limit alone ends the session */
    node_boot(a, 0x6A);
    node_boot(b, 0x6B);
    CHECK(connect_pair(&now));
    drain_events(a);
    drain_events(b);
    exchange(5, &now, 0x66); /* ids 0..4 acknowledged; an RTT sample */
    CHECK_STATUS(ferrule_compact_acked_before(a->c, &before), FERRULE_OK);
    CHECK(before == 5);
    CHECK_STATUS(ferrule_compact_stats(a->c, &s0), FERRULE_OK);
    /* b stops answering: whatever a sends is lost from now on. */
    memset(msg, 'r', sizeof msg);
    for (i = 0; i < in_flight; i++) {
        CHECK_STATUS(ferrule_compact_send(a->c, 2, msg, sizeof msg, now, &id), FERRULE_OK);
        CHECK(id == before + i);
    }
    for (k = 0; k < 10000 && !down; k++) {
        ferrule_status st;
        while ((st = ferrule_compact_poll_transmit(a->c, now, frame, sizeof frame, &n)) == FERRULE_OK) rdata_frames++;
        CHECK_STATUS(st, FERRULE_EMPTY);
        while (ferrule_compact_poll_event(a->c, &ev) == FERRULE_OK) {
            CHECK(ev.kind == FERRULE_EVENT_DOWN);
            if (ev.kind == FERRULE_EVENT_DOWN) down = true;
            if (down) break;
        }
        if (down) break;
        CHECK_STATUS(ferrule_compact_poll_timeout(a->c, &d), FERRULE_OK);
        now = d > now ? d : now + 1;
        CHECK_STATUS(ferrule_compact_handle_timeout(a->c, now), FERRULE_OK);
    }
    CHECK(down);
    CHECK_STATUS(ferrule_compact_stats(a->c, &s1), FERRULE_OK);
    CHECK_STATUS(ferrule_compact_acked_before(a->c, &after), FERRULE_OK);
    printf("  retry limit %u, %u in flight: DOWN reason %u naming %u..%u after %u retransmissions, %u timeouts "
           "(%u frames sent while b was silent)\n",
           (unsigned)max_retransmits, in_flight, (unsigned)ev.reason, (unsigned)ev.first_id,
           (unsigned)(ev.first_id + ev.unacked - 1u), s1.retransmissions - s0.retransmissions, s1.timeouts - s0.timeouts,
           rdata_frames);
    CHECK(ev.reason == FERRULE_DOWN_RETRY_LIMIT);
    CHECK(ev.first_id == before && ev.unacked == in_flight);
    CHECK(after == before + in_flight); /* acked_before agrees: all named ones are settled */
    /* max_retransmits retransmissions (one message each round: the oldest), then one more
     * timeout ends the session. */
    CHECK(s1.retransmissions - s0.retransmissions == max_retransmits);
    CHECK(s1.timeouts - s0.timeouts == (uint32_t)max_retransmits + 1u);
    CHECK(s1.link_downs == 1 && s1.discarded_on_reset == in_flight);
    CHECK(!ferrule_compact_is_up(a->c));
    CHECK_STATUS(ferrule_compact_send(a->c, 0, msg, 1, now, &id), FERRULE_ERR_NOT_CONNECTED);
    /* b answers again: a new session (b, which never noticed, reports the restart, having
     * nothing unacknowledged), and messages flow. */
    a->ups = a->downs = 0;
    drain_events(b);
    b->ups = b->downs = 0;
    wire_setup(&wires[0], 0, 0, 0, 1);
    wire_setup(&wires[1], 0, 0, 0, 1);
    for (k = 0; k < 3000 && !(a->ups == 1 && b->ups == 1); k++) {
        for (i = 0; i < 2; i++) {
            if (n_deadline(&nodes[i], &d) == FERRULE_OK && d <= now) CHECK_STATUS(n_timeout(&nodes[i], now), FERRULE_OK);
            transmit(&nodes[i], &wires[i], now);
            drain_events(&nodes[i]);
        }
        now += 1;
        deliver(&wires[0], b, now);
        deliver(&wires[1], a, now);
    }
    CHECK(a->ups == 1 && a->downs == 0);
    CHECK(b->ups == 1 && b->downs == 1);
    CHECK(b->last_down.reason == FERRULE_DOWN_PEER_RESTARTED && b->last_down.unacked == 0);
    exchange(10, &now, 0x67);
}

/* max_retransmits 255 (no limit): a silent peer ends the session only by keepalive
 * silence (eight intervals), and the DOWN names the unacknowledged messages. */
static void silent_run(void) {
    node_t *a = &nodes[0], *b = &nodes[1];
    uint64_t now = 0, d, silent_from;
    uint8_t frame[FRAME_CAP], msg[8] = {0};
    size_t n;
    uint32_t before = 0, after = 0, id;
    unsigned k;
    ferrule_event_t ev;
    ferrule_compact_stats_t s0, s1;
    bool down = false;

    node_setup(a, COMPACT, false, 4, 64);
    node_setup(b, COMPACT, false, 4, 64);
    a->max_retransmits = 255;
    a->keepalive_ms = 100;
    node_boot(a, 0x5A);
    node_boot(b, 0x5B);
    CHECK(connect_pair(&now));
    drain_events(a);
    exchange(3, &now, 0x55);
    CHECK_STATUS(ferrule_compact_acked_before(a->c, &before), FERRULE_OK);
    CHECK_STATUS(ferrule_compact_stats(a->c, &s0), FERRULE_OK);
    CHECK_STATUS(ferrule_compact_send(a->c, 0, msg, sizeof msg, now, &id), FERRULE_OK);
    CHECK_STATUS(ferrule_compact_send(a->c, 0, msg, sizeof msg, now, &id), FERRULE_OK);
    silent_from = now;
    memset(&ev, 0, sizeof ev);
    for (k = 0; k < 100000 && !down; k++) {
        while (ferrule_compact_poll_transmit(a->c, now, frame, sizeof frame, &n) == FERRULE_OK) {
        }
        if (ferrule_compact_poll_event(a->c, &ev) == FERRULE_OK) {
            down = true;
            break;
        }
        CHECK_STATUS(ferrule_compact_poll_timeout(a->c, &d), FERRULE_OK);
        now = d > now ? d : now + 1;
        CHECK_STATUS(ferrule_compact_handle_timeout(a->c, now), FERRULE_OK);
    }
    CHECK_STATUS(ferrule_compact_stats(a->c, &s1), FERRULE_OK);
    CHECK_STATUS(ferrule_compact_acked_before(a->c, &after), FERRULE_OK);
    printf("  peer silent (keepalive 100 ms, no retry limit): DOWN reason %u naming %u..%u after %" PRIu64
           " ms, %u retransmissions\n",
           (unsigned)ev.reason, (unsigned)ev.first_id, (unsigned)(ev.first_id + ev.unacked - 1u), now - silent_from,
           s1.retransmissions - s0.retransmissions);
    CHECK(down && ev.kind == FERRULE_EVENT_DOWN && ev.reason == FERRULE_DOWN_PEER_SILENT);
    CHECK(ev.first_id == before && ev.unacked == 2 && after == before + 2);
    CHECK(now - silent_from >= 700 && now - silent_from <= 1000); /* eight intervals after the last frame */
    CHECK(s1.retransmissions - s0.retransmissions > 0);
}

static void test_retry_limit(void) {
    retry_run(5, 3);
    retry_run(0, 1);
    retry_run(2, 4);
    silent_run();
}

/* ------------------------------------------------------------------ event queue overflow */

/* Steps nodes[0] and nodes[1] on a clean wire for `ms` milliseconds without polling events. */
static void quiet_steps(uint64_t *now, unsigned ms) {
    unsigned k, i;
    for (k = 0; k < ms; k++) {
        for (i = 0; i < 2; i++) {
            uint64_t d;
            if (n_deadline(&nodes[i], &d) == FERRULE_OK && d <= *now) CHECK_STATUS(n_timeout(&nodes[i], *now), FERRULE_OK);
            transmit(&nodes[i], &wires[i], *now);
        }
        *now += 1;
        deliver(&wires[0], &nodes[1], *now);
        deliver(&wires[1], &nodes[0], *now);
    }
}

/* Three sessions end (close, each with one unacknowledged message) and three start while the
 * application polls no event: six events, four kept. The header's rule (the full link's): the
 * oldest UP goes first, and two DOWNs become one naming every message of both; the events
 * keep their order, every discarded id is named, and the last event says UP (the link is up). */
static void event_overflow_run(bool drain_first_up) {
    node_t *a = &nodes[0], *b = &nodes[1];
    uint64_t now = 0;
    uint8_t msg[4] = {1, 2, 3, 4};
    uint32_t id, prev_first = 0;
    unsigned cycle, polled = 0, downs = 0;
    bool named[3] = {false, false, false}, order_ok = true;
    ferrule_event_t ev, last;
    ferrule_compact_stats_t st;

    node_setup(a, COMPACT, false, 4, 64);
    node_setup(b, COMPACT, false, 4, 64);
    node_boot(a, 0xE7A);
    node_boot(b, 0xE7B);
    CHECK(connect_pair(&now));
    if (drain_first_up) drain_events(a);
    drain_events(b);
    wire_setup(&wires[0], 0, 0, 0, 1);
    wire_setup(&wires[1], 0, 0, 0, 1);
    for (cycle = 0; cycle < 3; cycle++) {
        CHECK_STATUS(ferrule_compact_send(a->c, 0, msg, sizeof msg, now, &id), FERRULE_OK);
        CHECK(id == cycle);
        CHECK_STATUS(ferrule_compact_close(a->c, now), FERRULE_OK);
        quiet_steps(&now, 200);
        CHECK(ferrule_compact_is_up(a->c));
    }
    CHECK_STATUS(ferrule_compact_stats(a->c, &st), FERRULE_OK);
    CHECK(st.link_downs == 3 && st.sessions == 4 && st.discarded_on_reset == 3);
    CHECK(st.events_dropped == (drain_first_up ? 2u : 3u));
    printf("  event queue overflow (%s UP polled first): 3 closes, %u events dropped\n",
           drain_first_up ? "the first" : "nothing", (unsigned)st.events_dropped);
    memset(&last, 0, sizeof last);
    while (ferrule_compact_poll_event(a->c, &ev) == FERRULE_OK) {
        polled++;
        printf("    event %u: kind %u reason %u first_id %u unacked %u\n", polled, (unsigned)ev.kind,
               (unsigned)ev.reason, (unsigned)ev.first_id, (unsigned)ev.unacked);
        if (ev.kind == FERRULE_EVENT_DOWN) {
            uint32_t k;
            CHECK(ev.reason == FERRULE_DOWN_LOCAL_CLOSE);
            if (downs > 0 && ev.first_id < prev_first) order_ok = false;
            prev_first = ev.first_id;
            downs++;
            for (k = ev.first_id; k < ev.first_id + ev.unacked && k < 3; k++) named[k] = true;
        }
        last = ev;
    }
    CHECK(polled == 4);
    CHECK(named[0] && named[1] && named[2]); /* every discarded message is named */
    /* In order: DOWN 0, DOWN 1, DOWN 2, UP, whether the first UP was polled or not. */
    CHECK(order_ok);
    CHECK(last.kind == FERRULE_EVENT_UP); /* the link is up */
}

static void test_event_overflow(void) {
    event_overflow_run(false);
    event_overflow_run(true);
}

/* ------------------------------------------------------------------ 7. garbage */

static void garbage_run(bool stream) {
    node_t *a = &nodes[0], *b = &nodes[1];
    static uint8_t junk[100000];
    uint64_t now = 0;
    size_t off, c;
    ferrule_compact_stats_t s0, s1, sb;
    unsigned i, fed = 0;

    node_setup(a, COMPACT, stream, 4, 128);
    node_setup(b, COMPACT, stream, 4, 128);
    node_boot(a, 0x7A);
    node_boot(b, 0x7B);
    for (i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)rnd();
    /* Some of it near the wire format: runs of zeros (delimiters) and real-looking frame
     * starts. */
    for (i = 0; i < 2000; i++) junk[below(sizeof junk)] = 0;
    /* Before the session, into b; then up, into a. */
    if (stream) {
        for (off = 0; off < sizeof junk / 4; off += c) {
            c = 1u + below(300);
            if (c > sizeof junk / 4 - off) c = sizeof junk / 4 - off;
            CHECK_STATUS(ferrule_compact_handle_input(b->c, junk + off, c, now), FERRULE_OK);
        }
    } else {
        for (off = 0; off < sizeof junk / 4; off += c) {
            c = below(400);
            if (c > sizeof junk / 4 - off) c = sizeof junk / 4 - off;
            CHECK_STATUS(ferrule_compact_handle_datagram(b->c, junk + off, c, now), FERRULE_OK);
        }
    }
    CHECK_STATUS(ferrule_compact_stats(b->c, &sb), FERRULE_OK);
    CHECK(framing_rejects(&sb.framing) > 0);
    CHECK(connect_pair(&now));
    drain_events(a);
    drain_events(b);
    CHECK(a->ups == 1 && b->ups == 1);
    CHECK_STATUS(ferrule_compact_stats(a->c, &s0), FERRULE_OK);
    if (stream) {
        /* 100,000 random bytes in random chunks, then a 0x00 to end any partial frame. */
        for (off = 0; off < sizeof junk; off += c) {
            c = 1u + below(below(8) == 0 ? 2000 : 64);
            if (c > sizeof junk - off) c = sizeof junk - off;
            CHECK_STATUS(ferrule_compact_handle_input(a->c, junk + off, c, now), FERRULE_OK);
            fed += (unsigned)c;
        }
        CHECK_STATUS(ferrule_compact_handle_input(a->c, junk, 0, now), FERRULE_OK);
        {
            static const uint8_t z = 0;
            CHECK_STATUS(ferrule_compact_handle_input(a->c, &z, 1, now), FERRULE_OK);
            fed++;
        }
    } else {
        /* Random datagrams: empty, short, about a frame, longer than any frame. */
        for (off = 0; off < sizeof junk; off += c) {
            unsigned kind = below(4);
            c = kind == 0 ? below(8) : kind == 1 ? below(64) : kind == 2 ? 20u + below(200) : 300u + below(5000);
            if (c > sizeof junk - off) c = sizeof junk - off;
            CHECK_STATUS(ferrule_compact_handle_datagram(a->c, junk + off, c, now), FERRULE_OK);
            fed += (unsigned)c;
        }
    }
    CHECK_STATUS(ferrule_compact_stats(a->c, &s1), FERRULE_OK);
    printf("  garbage (%s): %u bytes -> malformed %u, too_short %u, oversize %u, bad_crc %u, other %u; "
           "frames accepted %u\n",
           stream ? "stream" : "datagram", fed, s1.framing.malformed - s0.framing.malformed,
           s1.framing.too_short - s0.framing.too_short, s1.framing.oversize - s0.framing.oversize,
           s1.framing.bad_crc - s0.framing.bad_crc,
           s1.framing.bad_version + s1.framing.unknown_kind + s1.framing.bad_flags + s1.framing.truncated_header -
               (s0.framing.bad_version + s0.framing.unknown_kind + s0.framing.bad_flags + s0.framing.truncated_header),
           s1.framing.frames_ok - s0.framing.frames_ok);
    CHECK(s1.framing.bytes_in - s0.framing.bytes_in == fed);
    CHECK(framing_rejects(&s1.framing) > framing_rejects(&s0.framing) + 100u);
    /* Still up, no event; a fresh exchange works. */
    CHECK(ferrule_compact_is_up(a->c) && ferrule_compact_is_up(b->c));
    drain_events(a);
    CHECK(a->ups == 1 && a->downs == 0);
    exchange(100, &now, 0x77);
    drain_events(a);
    drain_events(b);
    CHECK(a->downs == 0 && b->downs == 0);
}

static void test_garbage(void) {
    garbage_run(true);
    garbage_run(false);
}

int main(void) {
    const char *env = getenv("FERRULE_TEST_SEED");
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines and CHECK failures interleave readably */
    if (env && *env) seed0 = strtoull(env, NULL, 0);
    rng_state = seed0;
    printf("  compact C test seed %" PRIu64 " (set FERRULE_TEST_SEED to repeat another)\n", seed0);
    test_init_arguments();
    test_call_arguments();
    test_storage_size();
    test_lossy();
    test_restart();
    test_retry_limit();
    test_event_overflow();
    test_garbage();
    test_compression();
    printf("C compact link test: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
