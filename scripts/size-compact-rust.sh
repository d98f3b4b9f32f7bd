#!/usr/bin/env bash
# Rust "framing + link" size with the compact link in place of the full one, measured as
# scripts/test-firmware.sh section 5b does (probe image minus the probe_none image; "code"
# also subtracts the probe harness by DWARF line table), in the standard build (rustup's core)
# and the smallest build (core rebuilt with panic=immediate-abort, feature `small`), reliable
# channel only (no default features).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
source scripts/toolchain.sh
ensure_host_tools >/dev/null
ensure_cross_toolchain >/dev/null
out=target/firmware-compact
mkdir -p "$out"
M4F="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
M0="-mcpu=cortex-m0 -mthumb -mfloat-abi=soft"
COMMON="-Os -std=c11 -Wall -Wextra -Werror -ffunction-sections -fdata-sections -Iinclude -I$out -Itests/firmware"
BARE="tests/firmware/startup_bare.c tests/firmware/semihost.c"
BARE_LD="-nostartfiles -nostdlib -Wl,--gc-sections -Wl,--no-warn-execstack"
quiet() { grep -v -e "dropping unsupported crate type" -e "^$" >&2 || true; }
mps2() {
    timeout 300 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$1" 2>&1
}
probelib() { # mode target -> lib (reliable channel only)
    local mode=$1 target=$2 built
    if [ "$mode" = optimised ]; then
        CARGO_PROFILE_FIRMWARE_DEBUG=line-tables-only \
            RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort" \
            RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build -q -p ferrule-size-probe \
            --features small --no-default-features \
            --profile firmware --target "$target" -Zbuild-std=core --target-dir "$ROOT/target-size" 2>&1 | quiet
        built="$ROOT/target-size/$target/firmware/libferrule_size_probe.a"
    else
        CARGO_PROFILE_FIRMWARE_DEBUG=line-tables-only cross_cargo build -q -p ferrule-size-probe \
            --profile firmware --target "$target" --no-default-features 2>&1 | quiet
        built="$(cross_dir)/$target/firmware/libferrule_size_probe.a"
    fi
    cp "$built" "$out/libprobe_${mode}_${target%%-*}.a"
    echo "$out/libprobe_${mode}_${target%%-*}.a"
}
harness() {
    arm-none-eabi-objdump -d -l -C --no-show-raw-insn "$1" | awk -v lib="$ROOT/core/src/" '
        function hex(s,   i, v) {
            v = 0
            for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return v
        }
        /^[0-9a-f]+ <.*>:$/ { file = ""; probe = ($2 ~ /^<(probe_|ferrule_size_probe::)/); next }
        /^\/.*:[0-9]+( |$)/ || /^[^ \t].*\.rs:[0-9]+( |$)/ { file = $1; next }
        /^ *[0-9a-f]+:\t/ {
            addr = hex(substr($1, 1, length($1) - 1))
            if (have && counted) total += addr - prev
            prev = addr; counted = probe && index(file, lib) != 1; have = 1
        }
        END { print total + 0 }'
}
for mode in standard optimised; do
    for target in thumbv7em-none-eabihf thumbv6m-none-eabi; do
        lib=$(probelib $mode $target)
        flags=$M4F
        [ $target = thumbv6m-none-eabi ] && flags=$M0
        declare -A IMG CODE
        for spec in "none 0 7 7" "link 2 200 400" "compact 9 200 400"; do
            # shellcheck disable=SC2086
            set -- $spec
            elf="$out/size_${mode}_${target%%-*}_$1.elf"
            # shellcheck disable=SC2086
            arm-none-eabi-gcc $flags $COMMON -DPROBE="probe_$1" -DPROFILE_ID="$2" -DARG="$3" -DEXPECT="$4" \
                $BARE tests/firmware/probe_rust.c "$lib" -lgcc -T tests/firmware/link.ld $BARE_LD -o "$elf"
            state=""
            if [ $target = thumbv7em-none-eabihf ]; then
                line=$(mps2 "$elf")
                [[ $line == "probe $2: result $4, state "* ]] || { echo "size probe $1 ($mode) failed: $line"; exit 1; }
                state=" (${line##*result $4, })"
            fi
            read -r text data _ < <(arm-none-eabi-size "$elf" | tail -1)
            IMG[$1]=$((text + data))
            CODE[$1]=$((text + data - $(harness "$elf")))
            [ "$1" != none ] && echo "  $mode ${target%%-*} $1: image $((IMG[$1] - IMG[none])) B, code $((CODE[$1] - CODE[none])) B$state"
        done
    done
done
