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
echo "  UART firmware (tests/firmware/uart_peer.c) for scripts/test-uart.sh"
# shellcheck disable=SC2086
arm-none-eabi-gcc $CFLAGS --specs=rdimon.specs tests/firmware/startup.c tests/firmware/uart_peer.c \
    "$lib7" $LDFLAGS -o "$out/uart_peer.elf"

echo
echo "  size report: ferrule's share of a firmware image (probe image minus the same image calling"
echo "  nothing of ferrule), profile 'firmware' (-Os, fat LTO, panic=abort), --gc-sections."
echo "  RAM = static data the code adds + the state one endpoint keeps (a static in the firmware)."
echo "  Rust probes: tests/size-probe (window 4 x 128 B); C API: tests/firmware/probe_*.c."
probelib() { # target [features] -> path of a copy of libferrule_size_probe.a
    local built
    built=$(probelib_build "$1" "${2:-}")
    cp "$built" "$out/libprobe_${1%%-*}${2:+_$2}.a"
    echo "$out/libprobe_${1%%-*}${2:+_$2}.a"
}
probelib_build() { # target features -> path of libferrule_size_probe.a
    if [ "${SIZE_PROFILE:-}" = optimised ]; then
        # core rebuilt without panic formatting, bitwise CRC (Debian's rustc with
        # its library source, as scripts/toolchain.sh installs in its "debian" mode).
        RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort" \
            RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build -q -p ferrule-size-probe \
            --features "small-crc${2:+,$2}" --profile firmware --target "$1" -Zbuild-std=core \
            --target-dir "$ROOT/target-size" 2>&1 |
            grep -v -e "dropping unsupported crate type" -e "^$" >&2 || true
        echo "$ROOT/target-size/$1/firmware/libferrule_size_probe.a"
        return
    fi
    cross_cargo build -q -p ferrule-size-probe --profile firmware --target "$1" ${2:+--features "$2"} 2>&1 |
        grep -v -e "dropping unsupported crate type" -e "^$" >&2 || true
    local dir=target-cross-rustup
    [ "$CROSS_MODE" = rustup ] || dir=target-cross
    echo "$ROOT/$dir/$1/firmware/libferrule_size_probe.a"
}
M0FLAGS="-mcpu=cortex-m0 -mthumb -mfloat-abi=soft -Os -std=c11 -Wall -Wextra -Werror
         -ffunction-sections -fdata-sections -Iinclude -Itests/firmware"
measure() { # elf -> "flash ram"
    read -r text data bss _ < <(arm-none-eabi-size "$1" | tail -1)
    echo "$((text + data)) $((data + bss))"
}
declare -A FLASH RAM STATE
for target in thumbv7em-none-eabihf thumbv6m-none-eabi; do
    plain=$(probelib $target)
    sealed=$(probelib $target aead)
    flags=$CFLAGS
    [ $target = thumbv6m-none-eabi ] && flags=$M0FLAGS
    for spec in "none 0 7 7" "framing 1 7 64" "link 2 200 400" "inflate 3 200 400" \
        "compressor 4 200 400" "everything 5 200 864" "aead 6 200 400" \
        "inflate_alone 7 0 148" "deflate_alone 8 0 1"; do
        # shellcheck disable=SC2086
        set -- $spec
        lib=$plain
        [ "$1" = aead ] && lib=$sealed
        elf="$out/size_${target%%-*}_$1.elf"
        # shellcheck disable=SC2086
        arm-none-eabi-gcc $flags --specs=rdimon.specs -DPROBE="probe_$1" -DPROFILE_ID="$2" \
            -DARG="$3" -DEXPECT="$4" tests/firmware/startup.c tests/firmware/probe_rust.c "$lib" \
            $LDFLAGS -o "$elf"
        state=0
        if [ $target = thumbv7em-none-eabihf ]; then
            # Run it: the profile must work on the target, and it reports its state size.
            line=$(timeout 120 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
                -semihosting-config enable=on,target=native -kernel "$elf")
            [[ $line == "probe $2: result $4, state "* ]] || { echo "size probe $1 failed: $line"; exit 1; }
            state=${line##*state }
            state=${state% B}
            STATE[$1]=$state
        fi
        read -r f r < <(measure "$elf")
        FLASH[$target.$1]=$f
        RAM[$target.$1]=$r
    done
done
printf '  | %-34s | %9s | %9s | %9s | %9s |\n' "profile" "M4F flash" "M4F RAM" "M0 flash" "M0 RAM"
printf '  |%s|%s|%s|%s|%s|\n' "------------------------------------" "----------:" "----------:" "----------:" "----------:"
row() { # name profile
    local a=thumbv7em-none-eabihf b=thumbv6m-none-eabi p=$2
    local st=${STATE[$p]:-0}
    printf '  | %-34s | %9d | %9d | %9d | %9d |\n' "$1" \
        $((FLASH[$a.$p] - FLASH[$a.none])) $((RAM[$a.$p] - RAM[$a.none] + st)) \
        $((FLASH[$b.$p] - FLASH[$b.none])) $((RAM[$b.$p] - RAM[$b.none] + st))
}
row "framing (COBS + CRC-32C + decoder)" framing
row "framing + link (4 x 128 B)" link
row "+ inflate (and peer compressor)" inflate
row "+ heap-free compressor (both ways)" compressor
row "everything" everything
row "framing + link + AEAD (4 x 128 B)" aead
row "inflate alone (no heap)" inflate_alone
row "heap-free deflate alone" deflate_alone
for probe in empty framing link; do
    # shellcheck disable=SC2086
    arm-none-eabi-gcc $CFLAGS --specs=rdimon.specs tests/firmware/startup.c \
        "tests/firmware/probe_$probe.c" "$lib7" $LDFLAGS -o "$out/probe_$probe.elf"
    read -r text data bss _ < <(arm-none-eabi-size "$out/probe_$probe.elf" | tail -1)
    eval "flash_$probe=$((text + data)) ram_$probe=$((data + bss))"
done
# shellcheck disable=SC2154
printf '  | %-34s | %9d | %9d | %9s | %9s |\n' "C API: framing" $((flash_framing - flash_empty)) $((ram_framing - ram_empty)) - -
# shellcheck disable=SC2154
printf '  | %-34s | %9d | %9d | %9s | %9s |\n' "C API: everything (8 x 256 B)" $((flash_link - flash_empty)) $((ram_link - ram_empty)) - -
# Regression guards at today's sizes plus a margin. The issue's budgets (framing 2 KiB, link
# 8 KiB flash / 2 KiB RAM, everything 24 KiB) are printed as met or missed, not enforced:
# ferrule does not meet the first two yet (see README "Footprint").
a=thumbv7em-none-eabihf
check() { # name value limit
    if [ "$2" -gt "$3" ]; then echo "size regression: $1 = $2 B > $3 B"; exit 1; fi
}
check "framing flash" $((FLASH[$a.framing] - FLASH[$a.none])) 5500
check "link flash" $((FLASH[$a.link] - FLASH[$a.none])) 14000
check "everything flash" $((FLASH[$a.everything] - FLASH[$a.none])) 40960
check "link RAM" $((RAM[$a.link] - RAM[$a.none] + ${STATE[link]})) 2600
check "link + AEAD flash" $((FLASH[$a.aead] - FLASH[$a.none])) 32000
budget() { # name value limit
    if [ "$2" -le "$3" ]; then echo "  budget $1: $2 B <= $3 B, met"; else echo "  budget $1: $2 B > $3 B, missed"; fi
}
budget "framing flash (2 KiB)" $((FLASH[$a.framing] - FLASH[$a.none])) 2048
budget "framing + link flash (8 KiB)" $((FLASH[$a.link] - FLASH[$a.none])) 8192
budget "framing + link RAM (2 KiB)" $((RAM[$a.link] - RAM[$a.none] + ${STATE[link]})) 2048
budget "everything flash (24 KiB)" $((FLASH[$a.everything] - FLASH[$a.none])) 24576
