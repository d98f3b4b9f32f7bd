#!/usr/bin/env bash
# Cortex-M4F firmware under QEMU (mps2-an386): the C conformance run (PROTOCOL.md vectors,
# compression, link exchange) against the thumbv7em staticlib, and the size report.
# Expects scripts/toolchain.sh to be sourced (cross_cargo) by the caller or sources it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
if ! declare -f cross_cargo >/dev/null; then
    . scripts/toolchain.sh
    ensure_cross_toolchain
fi
out=target/firmware
mkdir -p "$out"
CFLAGS="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -std=c11 -Wall -Wextra -Werror
        -ffunction-sections -fdata-sections -Iinclude -I$out -Itests/firmware"
LDFLAGS="-T tests/firmware/link.ld -nostartfiles -Wl,--gc-sections -Wl,--no-warn-execstack"

staticlib() { # target -> path of libferrule_ffi.a built without std and without a heap
    cross_cargo build -q -p ferrule-ffi --profile firmware --target "$1" --no-default-features \
        --features panic-handler 2>&1 | grep -v -e "dropping unsupported crate type" -e "^$" >&2 || true
    local dir=target-cross-rustup
    [ "$CROSS_MODE" = rustup ] || dir=target-cross
    echo "$ROOT/$dir/$1/firmware/libferrule_ffi.a"
}

lib7=$(staticlib thumbv7em-none-eabihf)
lib6=$(staticlib thumbv6m-none-eabi)
test -f "$lib7" && test -f "$lib6"

echo "  conformance firmware (QEMU mps2-an386, Cortex-M4F)"
cargo run -q -p ferrule --example c_vectors >"$out/vectors.h"
# shellcheck disable=SC2086
arm-none-eabi-gcc $CFLAGS --specs=rdimon.specs tests/firmware/startup.c tests/firmware/conformance.c \
    "$lib7" $LDFLAGS -o "$out/conformance.elf"
timeout 120 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$out/conformance.elf" | tee "$out/conformance.log"
grep -q "conformance: .* 0 failures" "$out/conformance.log"

echo
echo "  size report: ferrule's share of a firmware image (probe minus an empty firmware with the"
echo "  same startup), thumbv7em, C API, -Os, --gc-sections. RAM includes the caller-provided state."
printf '  | %-28s | %8s | %8s |\n' "profile" "flash B" "RAM B"
for probe in empty framing link; do
    # shellcheck disable=SC2086
    arm-none-eabi-gcc $CFLAGS --specs=rdimon.specs tests/firmware/startup.c \
        "tests/firmware/probe_$probe.c" "$lib7" $LDFLAGS -o "$out/probe_$probe.elf"
    read -r text data bss _ < <(arm-none-eabi-size "$out/probe_$probe.elf" | tail -1)
    eval "flash_$probe=$((text + data)) ram_$probe=$((data + bss))"
done
# shellcheck disable=SC2154
printf '  | %-28s | %8d | %8d |\n' "framing + CRC + decoder" $((flash_framing - flash_empty)) $((ram_framing - ram_empty))
# shellcheck disable=SC2154
printf '  | %-28s | %8d | %8d |\n' "everything (link+compression)" $((flash_link - flash_empty)) $((ram_link - ram_empty))
if [ $((flash_link - flash_empty)) -gt $((40 * 1024)) ]; then
    echo "size budget exceeded: everything = $((flash_link - flash_empty)) B flash (regression guard 40 KiB)"
    exit 1
fi
