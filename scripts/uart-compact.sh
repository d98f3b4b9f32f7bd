#!/usr/bin/env bash
# The compact link in C firmware (tests/firmware/uart_peer.c -DCOMPACT) against the full host
# tool (`ferrule firmware`) over QEMU's emulated UART: scripts/test-uart.sh's runs (mps2-an386
# with a restart, pty, microbit Cortex-M0 16 KiB with a restart) with the compact firmware.
# Also compiles the default (full link) uart_peer.c to check it is unchanged in behaviour.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
source scripts/toolchain.sh
ensure_host_tools >/dev/null
ensure_cross_toolchain >/dev/null
out=target/firmware
mkdir -p "$out"
M4F="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
M0="-mcpu=cortex-m0 -mthumb -mfloat-abi=soft"
COMMON="-Os -std=c11 -Wall -Wextra -Werror -ffunction-sections -fdata-sections -Iinclude -I$out -Itests/firmware"
BARE="tests/firmware/startup_bare.c tests/firmware/semihost.c"
BARE_LD="-nostartfiles -nostdlib -Wl,--gc-sections -Wl,--no-warn-execstack"
NRF51="$BARE tests/firmware/stack_paint_run.c tests/firmware/board_nrf51.c"
lib7=$(cross_ffi_lib thumbv7em-none-eabihf panic-handler,aead)
lib6=$(cross_ffi_lib thumbv6m-none-eabi panic-handler,aead)
# shellcheck disable=SC2086
arm-none-eabi-gcc $M4F $COMMON $BARE tests/firmware/stack_paint_run.c tests/firmware/board_mps2.c \
    tests/firmware/uart_peer.c "$lib7" -lgcc -T tests/firmware/link.ld $BARE_LD -o "$out/uart_peer_full.elf"
# shellcheck disable=SC2086
arm-none-eabi-gcc $M4F $COMMON -DCOMPACT $BARE tests/firmware/stack_paint_run.c tests/firmware/board_mps2.c \
    tests/firmware/uart_peer.c "$lib7" -lgcc -T tests/firmware/link.ld $BARE_LD -o "$out/uart_peer.elf"
# shellcheck disable=SC2086
arm-none-eabi-gcc $M0 $COMMON -DCOMPACT $NRF51 tests/firmware/uart_peer.c "$lib6" -lgcc \
    -T tests/firmware/nrf51.ld $BARE_LD -o "$out/uart_peer_microbit.elf"
arm-none-eabi-size "$out/uart_peer_full.elf" "$out/uart_peer.elf" "$out/uart_peer_microbit.elf" | sed 's/^/  /'
COUNT=${COUNT:-400} RESTART_AT=${RESTART_AT:-150} MICROBIT_COUNT=${MICROBIT_COUNT:-300} \
    MICROBIT_RESTART_AT=${MICROBIT_RESTART_AT:-100} PTY_COUNT=${PTY_COUNT:-150} bash scripts/test-uart.sh
