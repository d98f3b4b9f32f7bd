/*
 * Size probes of the C API: one firmware image per profile (PROFILE given with -D), each
 * calling what a firmware of that profile calls, on one link; scripts/test-firmware.sh
 * subtracts the image of PROFILE 0 (the same startup and output, nothing of ferrule) for the
 * flash a profile costs, and reads the state sizes it prints for the RAM. No C library: the
 * images hold only the startup, the semihosting output and what the profile links.
 *
 *   0 empty
 *   1 framing: ferrule_encode and the streaming decoder
 *   2 link, 4 x 128 B, no compression, reliable channels only (the default configuration)
 *   3 link, 4 x 128 B, shared-window compression both ways (1 KiB windows)
 *   4 link, 8 x 256 B, everything: AEAD, best effort, every compression mode sent, every
 *     kind received (dynamic blocks), forward error correction 8:2
 *   5 link, 4 x 128 B, forward error correction 4:2 (no compression)
 *   6 link, 4 x 128 B, no compression, with the best-effort channel
 *   7 compact link (ferrule_compact_*), 4 x 128 B: what profile 2 does, with the size-first
 *     go-back-N link (every channel reliable; no best effort, compression, AEAD or FEC)
 *   8 profile 7 with shared-window compression both ways, the configuration of profile 3
 *     (ferrule_compact_enable_compression)
 */
#include "ferrule.h"
#include "semihost.h"

#if PROFILE == 2 || PROFILE == 3 || PROFILE == 5 || PROFILE == 6
#define WINDOW 4
#define MAX_MESSAGE 128
#elif PROFILE == 4
#define WINDOW 8
#define MAX_MESSAGE 256
#endif

volatile uint8_t sink[600];

/* "probe P: link L B, compression C B, aead A B, fec E B, buffer F B" (F: the frame or
 * decoder buffer). */
static void report(size_t link, size_t comp, size_t aead, size_t fec, size_t buffer) {
    sh_puts("probe ");
    sh_putu(PROFILE);
    sh_puts(": link ");
    sh_putu(link);
    sh_puts(" B, compression ");
    sh_putu(comp);
    sh_puts(" B, aead ");
    sh_putu(aead);
    sh_puts(" B, fec ");
    sh_putu(fec);
    sh_puts(" B, buffer ");
    sh_putu(buffer);
    sh_puts(" B\n");
}

#if PROFILE == 1
static uint64_t dec_mem[(FERRULE_DECODER_CAPACITY + 256) / 8];

static void run(void) {
    ferrule_header_t h = {0};
    ferrule_decoder_t *dec;
    ferrule_frame_t f;
    size_t n = 0, used = 0;
    uint8_t buf[300];
    h.kind = FERRULE_KIND_DATA;
    ferrule_encode(&h, (const uint8_t *)sink, 16, true, false, buf, sizeof buf, &n);
    ferrule_decoder_init(dec_mem, sizeof dec_mem, &dec);
    if (ferrule_decoder_feed(dec, buf, n, &used, &f) == FERRULE_OK) sink[0] = f.payload[0];
    report(0, 0, 0, 0, ferrule_decoder_size());
}
#elif PROFILE == 7 || PROFILE == 8
#define WINDOW 4
#define MAX_MESSAGE 128
static uint64_t link_mem[FERRULE_COMPACT_STORAGE_SIZE(WINDOW, MAX_MESSAGE) / 8];
#if PROFILE == 8
static uint64_t comp_mem[12 * 1024 / 8];
#endif
static uint8_t buf[600];

static void run(void) {
    ferrule_compact_config_t cfg = ferrule_compact_config_default();
    ferrule_compact_t *l = NULL;
    ferrule_received_t r;
    ferrule_event_t ev;
    ferrule_compact_stats_t st;
    size_t n;
    uint64_t t;
    uint32_t id;
    cfg.window = WINDOW;
    cfg.max_message = MAX_MESSAGE;
    size_t comp = 0;
    if (ferrule_compact_init(link_mem, sizeof link_mem, &cfg, sink[1], &l) != FERRULE_OK) return;
#if PROFILE == 8
    {
        ferrule_compression_config_t z = ferrule_compression_config_default();
        z.reliable = FERRULE_MODE_SHARED;
        comp = ferrule_compression_storage_size(&z);
        if (ferrule_compact_enable_compression(l, comp_mem, sizeof comp_mem, &z) != FERRULE_OK) return;
    }
#endif
    ferrule_compact_send(l, 0, (const uint8_t *)sink, 8, 0, &id);
    ferrule_compact_handle_input(l, (const uint8_t *)sink, 8, 0);
    ferrule_compact_poll_transmit(l, 0, buf, sizeof buf, &n);
    ferrule_compact_recv(l, buf, sizeof buf, &r);
    ferrule_compact_poll_timeout(l, &t);
    ferrule_compact_handle_timeout(l, t);
    ferrule_compact_poll_event(l, &ev);
    ferrule_compact_acked_before(l, &id);
    ferrule_compact_stats(l, &st);
    sink[0] = buf[0] + (uint8_t)st.frames_sent;
    report(ferrule_compact_storage_size(WINDOW, MAX_MESSAGE), comp, 0, 0,
           ferrule_compact_max_frame_len(MAX_MESSAGE));
}
#elif PROFILE >= 2
static uint64_t link_mem[FERRULE_LINK_STORAGE_SIZE(WINDOW, MAX_MESSAGE) / 8];
#if PROFILE == 4 || PROFILE == 6
static uint64_t best_effort_mem[FERRULE_BEST_EFFORT_STORAGE_SIZE(MAX_MESSAGE) / 8];
#endif
#if PROFILE == 3 || PROFILE == 4
static uint64_t comp_mem[12 * 1024 / 8];
#endif
#if PROFILE == 4 || PROFILE == 5
static uint64_t fec_mem[12 * 1024 / 8];
#endif
#if PROFILE == 4
static uint64_t aead_mem[512 / 8];
#endif
static uint8_t buf[600];

static void run(void) {
    ferrule_link_config_t cfg = ferrule_link_config_default();
    ferrule_link_t *l = NULL;
    ferrule_received_t r;
    ferrule_event_t ev;
    ferrule_link_stats_t st;
    size_t n, comp = 0, aead = 0, fec = 0, be = 0;
    uint64_t t;
    uint32_t id;
    cfg.window = WINDOW;
    cfg.max_message = MAX_MESSAGE;
    if (ferrule_link_init(link_mem, sizeof link_mem, &cfg, sink[1], &l) != FERRULE_OK) return;
#if PROFILE == 4 || PROFILE == 6
    be = ferrule_best_effort_storage_size(MAX_MESSAGE);
    if (ferrule_link_enable_best_effort(l, best_effort_mem, sizeof best_effort_mem) != FERRULE_OK) return;
#endif
#if PROFILE == 3 || PROFILE == 4
    {
        ferrule_compression_config_t z = ferrule_compression_config_default();
        z.reliable = FERRULE_MODE_SHARED;
#if PROFILE >= 4
        z.unreliable = FERRULE_MODE_PER_MESSAGE;
        z.receive |= FERRULE_RECEIVE_DYNAMIC;
#endif
        comp = ferrule_compression_storage_size(&z);
        if (ferrule_link_enable_compression(l, comp_mem, sizeof comp_mem, &z) != FERRULE_OK) return;
    }
#endif
#if PROFILE == 4 || PROFILE == 5
    {
        ferrule_fec_config_t fc = ferrule_fec_config_default();
#if PROFILE == 5
        fc.k = 4;
#endif
        fec = ferrule_fec_storage_size(&fc, MAX_MESSAGE);
        if (ferrule_link_enable_fec(l, fec_mem, sizeof fec_mem, &fc) != FERRULE_OK) return;
    }
#endif
#if PROFILE == 4
    aead = ferrule_aead_storage_size();
    if (ferrule_link_enable_aead(l, aead_mem, sizeof aead_mem, 1, (const uint8_t *)sink, 32) != FERRULE_OK) return;
#endif
    ferrule_link_send(l, 0, (const uint8_t *)sink, 8, 0, &id);
    ferrule_link_handle_input(l, (const uint8_t *)sink, 8, 0);
    ferrule_link_poll_transmit(l, 0, buf, sizeof buf, &n);
    ferrule_link_recv(l, buf, sizeof buf, &r);
    ferrule_link_poll_timeout(l, &t);
    ferrule_link_handle_timeout(l, t);
    ferrule_link_poll_event(l, &ev);
    ferrule_link_acked_before(l, &id);
    ferrule_link_stats(l, &st);
#if PROFILE == 4
    ferrule_link_handle_datagram(l, (const uint8_t *)sink, 8, 0);
    ferrule_link_set_key(l, 2, (const uint8_t *)sink, 32);
#endif
    sink[0] = buf[0];
    report(ferrule_link_storage_size(&cfg) + be, comp, aead, fec, ferrule_link_max_frame_len(MAX_MESSAGE));
}
#else
static void run(void) { report(0, 0, 0, 0, sink[0]); }
#endif

int main(void) {
    run();
    return 0;
}
