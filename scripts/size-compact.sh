#!/usr/bin/env bash
# Size of the compact link's C API (probe profile 7; 8: with shared compression both ways) against the full link's (profile 2), measured
# as scripts/test-firmware.sh's "size report, C API" does: flash = text+data of the profile's image
# minus profile 0's, same flags, same cross_ffi_lib library (features panic-handler,aead).
# Prints the biggest functions of the profile 7 images. Usage: bash scripts/size-compact.sh [features]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
source scripts/toolchain.sh
ensure_host_tools >/dev/null
ensure_cross_toolchain >/dev/null
feat=${1:-panic-handler,aead}
out=target/firmware-compact
mkdir -p "$out"
M4F="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
M0="-mcpu=cortex-m0 -mthumb -mfloat-abi=soft"
COMMON="-Os -std=c11 -Wall -Wextra -Werror -ffunction-sections -fdata-sections -Iinclude -I$out -Itests/firmware"
BARE="tests/firmware/startup_bare.c tests/firmware/semihost.c"
BARE_LD="-nostartfiles -nostdlib -Wl,--gc-sections -Wl,--no-warn-execstack"
mps2() {
    timeout 300 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$1" 2>&1
}
lib7=$(cross_ffi_lib thumbv7em-none-eabihf "$feat")
lib6=$(cross_ffi_lib thumbv6m-none-eabi "$feat")
declare -A F
for t in m0 m4f; do
    if [ $t = m4f ]; then flags=$M4F lib=$lib7; else flags=$M0 lib=$lib6; fi
    for p in 0 2 7 8; do
        elf="$out/probe_c_${t}_$p.elf"
        # shellcheck disable=SC2086
        arm-none-eabi-gcc $flags $COMMON -DPROFILE=$p $BARE tests/firmware/probe_c.c "$lib" -lgcc \
            -T tests/firmware/link.ld $BARE_LD -Wl,-Map="$out/probe_c_${t}_$p.map" -o "$elf"
        line=$(mps2 "$elf")
        [[ $line == "probe $p: link "* ]] || { echo "C probe $p ($t) failed: $line"; exit 1; }
        read -r text data _ < <(arm-none-eabi-size "$elf" | tail -1)
        F[$t.$p]=$((text + data))
        [ $p -ge 7 ] && echo "  $t: $line"
    done
done
for t in m0 m4f; do
    echo "  $t flash: full link (profile 2) $((F[$t.2] - F[$t.0])) B, compact link (profile 7) $((F[$t.7] - F[$t.0])) B (budget 12288)"
    echo "  $t flash: compact link with shared compression both ways (profile 8) $((F[$t.8] - F[$t.0])) B (budget 24576)"
done
echo "  biggest functions, compact link, M0:"
arm-none-eabi-nm --size-sort -C -S -t d "$out/probe_c_m0_7.elf" | tail -30 | cut -d' ' -f2- | awk '{s=$1; $1=""; printf "    %6d%s\n", s, $0}' | cut -c1-110
