/*
 * ferrule_defaults.h - build-time defaults for a link configuration.
 *
 * The link is configured at run time (ferrule_link_config_t); this header turns the choices a
 * build system records into that configuration, so they live in one place:
 *
 *   Zephyr:      Kconfig CONFIG_FERRULE_WINDOW, _MAX_MESSAGE, _COMPRESSION_*, _AEAD
 *                (zephyr/CMakeLists.txt passes them as the definitions below)
 *   CMake etc.:  -DFERRULE_CONFIG_WINDOW=4 ... (target_compile_definitions, build_flags)
 *
 *   FERRULE_CONFIG_WINDOW       receive window in messages (default FERRULE_LINK_WINDOW)
 *   FERRULE_CONFIG_MAX_MESSAGE  largest message in bytes (default FERRULE_LINK_MAX_MESSAGE)
 *   FERRULE_CONFIG_COMPRESSION  FERRULE_MODE_OFF (0), _PER_MESSAGE (1) or _SHARED (2), for
 *                               reliable messages (default off)
 *   FERRULE_CONFIG_AEAD         1: the application seals the link with a pre-shared key
 *                               (ferrule_link_set_key); the library always contains AEAD
 *                               (FERRULE_HAS_AEAD). Default 0.
 *
 * Shipped in the release bundles next to ferrule.h (from packaging/include in the source tree).
 */
#ifndef FERRULE_DEFAULTS_H
#define FERRULE_DEFAULTS_H

#include "ferrule.h"

#ifndef FERRULE_CONFIG_WINDOW
#define FERRULE_CONFIG_WINDOW FERRULE_LINK_WINDOW
#endif
#ifndef FERRULE_CONFIG_MAX_MESSAGE
#define FERRULE_CONFIG_MAX_MESSAGE FERRULE_LINK_MAX_MESSAGE
#endif
#ifndef FERRULE_CONFIG_COMPRESSION
#define FERRULE_CONFIG_COMPRESSION FERRULE_MODE_OFF
#endif
#ifndef FERRULE_CONFIG_AEAD
#define FERRULE_CONFIG_AEAD 0
#endif

/* This library version fixes the largest message at FERRULE_LINK_MAX_MESSAGE. */
typedef char ferrule_config_max_message_fits[(FERRULE_CONFIG_MAX_MESSAGE) <= FERRULE_LINK_MAX_MESSAGE ? 1 : -1];
typedef char ferrule_config_window_fits[(FERRULE_CONFIG_WINDOW) >= 1 && (FERRULE_CONFIG_WINDOW) <= 255 ? 1 : -1];

/* ferrule_link_config_default() with the build-time choices applied. */
static inline ferrule_link_config_t ferrule_link_config_from_build(void) {
    ferrule_link_config_t config = ferrule_link_config_default();
    config.window = (uint8_t)(FERRULE_CONFIG_WINDOW);
    config.compression_reliable = (uint8_t)(FERRULE_CONFIG_COMPRESSION);
    return config;
}

#endif /* FERRULE_DEFAULTS_H */
