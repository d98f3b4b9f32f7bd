/*
 * ferrule_defaults.h - build-time defaults for a link configuration.
 *
 * The link is configured and sized at run time (ferrule_link_config_t); this header turns the
 * choices a build system records into that configuration and into the size of the static
 * array the link lives in, so they live in one place:
 *
 *   Zephyr:      Kconfig CONFIG_FERRULE_WINDOW, _MAX_MESSAGE, _COMPRESSION_*, _AEAD
 *                (zephyr/CMakeLists.txt passes them as the definitions below)
 *   CMake etc.:  -DFERRULE_CONFIG_WINDOW=4 ... (target_compile_definitions, build_flags)
 *
 *   FERRULE_CONFIG_WINDOW       messages in flight each way, 1..255 (default 4)
 *   FERRULE_CONFIG_MAX_MESSAGE  largest message in bytes, 1..4096 (default 128)
 *   FERRULE_CONFIG_BEST_EFFORT  1: the application turns the best-effort channel on
 *                               (ferrule_link_enable_best_effort with a block of
 *                               FERRULE_CONFIG_BEST_EFFORT_STORAGE_SIZE bytes). Default 0.
 *   FERRULE_CONFIG_COMPRESSION  FERRULE_MODE_OFF (0), _PER_MESSAGE (1) or _SHARED (2), for
 *                               reliable messages (default off)
 *   FERRULE_CONFIG_AEAD         1: the application seals the link with a pre-shared key
 *                               (ferrule_link_enable_aead). Default 0. Only passed on to
 *                               the application's code: nothing below uses it.
 *
 * A value out of range stops the build (a negative array size).
 *
 *   static uint64_t link_mem[FERRULE_CONFIG_LINK_STORAGE_SIZE / 8];
 *
 * Shipped in the release bundles next to ferrule.h (from packaging/include in the source tree).
 */
#ifndef FERRULE_DEFAULTS_H
#define FERRULE_DEFAULTS_H

#include "ferrule.h"

#ifndef FERRULE_CONFIG_WINDOW
#define FERRULE_CONFIG_WINDOW 4
#endif
#ifndef FERRULE_CONFIG_MAX_MESSAGE
#define FERRULE_CONFIG_MAX_MESSAGE 128
#endif
#ifndef FERRULE_CONFIG_BEST_EFFORT
#define FERRULE_CONFIG_BEST_EFFORT 0
#endif
#ifndef FERRULE_CONFIG_COMPRESSION
#define FERRULE_CONFIG_COMPRESSION FERRULE_MODE_OFF
#endif
#ifndef FERRULE_CONFIG_AEAD
#define FERRULE_CONFIG_AEAD 0
#endif

typedef char ferrule_config_max_message_fits[(FERRULE_CONFIG_MAX_MESSAGE) >= 1 && (FERRULE_CONFIG_MAX_MESSAGE) <= FERRULE_MAX_MESSAGE ? 1 : -1];
typedef char ferrule_config_window_fits[(FERRULE_CONFIG_WINDOW) >= 1 && (FERRULE_CONFIG_WINDOW) <= 255 ? 1 : -1];
typedef char ferrule_config_compression_is_a_mode[(FERRULE_CONFIG_COMPRESSION) >= FERRULE_MODE_OFF && (FERRULE_CONFIG_COMPRESSION) <= FERRULE_MODE_SHARED ? 1 : -1];
typedef char ferrule_config_flags_are_0_or_1[((FERRULE_CONFIG_BEST_EFFORT) == 0 || (FERRULE_CONFIG_BEST_EFFORT) == 1) && ((FERRULE_CONFIG_AEAD) == 0 || (FERRULE_CONFIG_AEAD) == 1) ? 1 : -1];

/* Bytes of the link of this configuration (see FERRULE_LINK_STORAGE_SIZE). */
#define FERRULE_CONFIG_LINK_STORAGE_SIZE                                                       \
    FERRULE_LINK_STORAGE_SIZE(FERRULE_CONFIG_WINDOW, FERRULE_CONFIG_MAX_MESSAGE)

/* Bytes of the best-effort channel of this configuration (0 when it is off). */
#define FERRULE_CONFIG_BEST_EFFORT_STORAGE_SIZE                                                \
    ((FERRULE_CONFIG_BEST_EFFORT) ? FERRULE_BEST_EFFORT_STORAGE_SIZE(FERRULE_CONFIG_MAX_MESSAGE) : 0u)

/* ferrule_link_config_default() with the build-time choices applied. */
static inline ferrule_link_config_t ferrule_link_config_from_build(void) {
    ferrule_link_config_t config = ferrule_link_config_default();
    config.window = (uint8_t)(FERRULE_CONFIG_WINDOW);
    config.max_message = (uint16_t)(FERRULE_CONFIG_MAX_MESSAGE);
    return config;
}

/* ferrule_compression_config_default() sending reliable messages in the build-time mode. */
static inline ferrule_compression_config_t ferrule_compression_config_from_build(void) {
    ferrule_compression_config_t config = ferrule_compression_config_default();
    config.reliable = (uint8_t)(FERRULE_CONFIG_COMPRESSION);
    return config;
}

#endif /* FERRULE_DEFAULTS_H */
