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

# ---------------------------------------------------------------- size report
# Each Rust profile is one function of tests/size-probe, linked alone into the same minimal C
# image; the image calling `probe_none` is subtracted ("image" columns). The probe's own test
# harness (message generation, the second endpoint's loop, checks) is part of that delta; the
# "code" column subtracts it too: the bytes of the probe crate's functions whose source line
# (DWARF line table, `objdump -l`) is not in core/src. Code the compiler inlined from ferrule
# into the harness stays counted as ferrule's.
probelib() { # mode target features nodefault -> path of a copy of libferrule_size_probe.a
    local mode=$1 target=$2 features=$3 nodefault=$4 built copy
    if [ "$mode" = optimised ]; then
        # core rebuilt without panic formatting; feature `small` (bitwise CRC, byte-wise COBS).
        CARGO_PROFILE_FIRMWARE_DEBUG=line-tables-only \
            RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort" \
            RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build -q -p ferrule-size-probe \
            --features "small${features:+,$features}" ${nodefault:+--no-default-features} \
            --profile firmware --target "$target" -Zbuild-std=core --target-dir "$ROOT/target-size" 2>&1 |
            grep -v -e "dropping unsupported crate type" -e "^$" >&2 || true
        built="$ROOT/target-size/$target/firmware/libferrule_size_probe.a"
    else
        CARGO_PROFILE_FIRMWARE_DEBUG=line-tables-only cross_cargo build -q -p ferrule-size-probe \
            --profile firmware --target "$target" ${features:+--features "$features"} \
            ${nodefault:+--no-default-features} 2>&1 |
            grep -v -e "dropping unsupported crate type" -e "^$" >&2 || true
        local dir=target-cross-rustup
        [ "$CROSS_MODE" = rustup ] || dir=target-cross
        built="$ROOT/$dir/$target/firmware/libferrule_size_probe.a"
    fi
    copy="$out/libprobe_${mode}_${target%%-*}_${features:-plain}${nodefault:+_reliable}.a"
    cp "$built" "$copy"
    echo "$copy"
}
M0FLAGS="-mcpu=cortex-m0 -mthumb -mfloat-abi=soft -Os -std=c11 -Wall -Wextra -Werror
         -ffunction-sections -fdata-sections -Iinclude -Itests/firmware"
measure() { # elf -> "flash ram"
    read -r text data bss _ < <(arm-none-eabi-size "$1" | tail -1)
    echo "$((text + data)) $((data + bss))"
}
harness() { # elf -> bytes of the probe crate's functions whose source is not ferrule's
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
PROFILES=("none 0 7 7 plain" "framing 1 7 64 plain" "reliable 2 200 400 reliable" "link 2 200 400 plain"
    "inflate 3 200 400 plain" "compressor 4 200 400 plain" "everything 5 200 864 plain"
    "aead 6 200 400 sealed" "inflate_alone 7 0 148 plain" "deflate_alone 8 0 1 plain")
declare -A FLASH RAM CODE STATE
size_report() { # mode ("standard" or "optimised")
    local mode=$1 target flags elf line state lib f r h
    for target in thumbv7em-none-eabihf thumbv6m-none-eabi; do
        declare -A LIBS=(
            [plain]=$(probelib "$mode" $target "" "")
            [reliable]=$(probelib "$mode" $target "" nodefault)
            [sealed]=$(probelib "$mode" $target aead "")
        )
        flags=$CFLAGS
        [ $target = thumbv6m-none-eabi ] && flags=$M0FLAGS
        for spec in "${PROFILES[@]}"; do
            # shellcheck disable=SC2086
            set -- $spec
            lib=${LIBS[$5]}
            elf="$out/size_${mode}_${target%%-*}_$1.elf"
            # shellcheck disable=SC2086
            arm-none-eabi-gcc $flags --specs=rdimon.specs -DPROBE="probe_${1/reliable/link}" \
                -DPROFILE_ID="$2" -DARG="$3" -DEXPECT="$4" tests/firmware/startup.c \
                tests/firmware/probe_rust.c "$lib" $LDFLAGS -o "$elf"
            if [ $target = thumbv7em-none-eabihf ]; then
                # Run it: the profile must work on the target, and it reports its state size.
                line=$(timeout 120 qemu-system-arm -M mps2-an386 -nographic -monitor none \
                    -serial none -semihosting-config enable=on,target=native -kernel "$elf")
                [[ $line == "probe $2: result $4, state "* ]] ||
                    { echo "size probe $1 ($mode) failed: $line"; exit 1; }
                state=${line##*state }
                STATE[$mode.$1]=${state% B}
            fi
            read -r f r < <(measure "$elf")
            h=$(harness "$elf")
            FLASH[$mode.$target.$1]=$f
            RAM[$mode.$target.$1]=$r
            CODE[$mode.$target.$1]=$((f - h))
        done
    done
    printf '  | %-40s | %10s | %9s | %9s | %10s | %9s |\n' "profile ($mode)" "M4F image" "M4F code" \
        "M4F RAM" "M0 image" "M0 code"
    printf '  |%s|%s|%s|%s|%s|%s|\n' "------------------------------------------" "-----------:" \
        "----------:" "----------:" "-----------:" "----------:"
    local row name p a=thumbv7em-none-eabihf b=thumbv6m-none-eabi
    for row in "framing (COBS + CRC-32C + decoder):framing" \
        "framing + link, reliable channel:reliable" "framing + link, both channels:link" \
        "+ inflate (and peer compressor):inflate" "+ heap-free compressor (both ways):compressor" \
        "everything:everything" "framing + link + AEAD:aead" "inflate alone (no heap):inflate_alone" \
        "heap-free deflate alone:deflate_alone"; do
        name=${row%%:*}
        p=${row##*:}
        printf '  | %-40s | %10d | %9d | %9d | %10d | %9d |\n' "$name" \
            "$(image "$mode" $a "$p")" "$(code "$mode" "$p" $a)" "$(ram "$mode" "$p")" \
            "$(image "$mode" $b "$p")" "$(code "$mode" "$p" $b)"
    done
}
# What each profile adds to the image calling nothing of ferrule (`none`).
image() { # mode target profile -> image bytes
    echo $((FLASH[$1.$2.$3] - FLASH[$1.$2.none]))
}
code() { # mode profile [target, default thumbv7em] -> ferrule's code
    local t=${3:-thumbv7em-none-eabihf}
    echo $((CODE[$1.$t.$2] - CODE[$1.$t.none]))
}
ram() { # mode profile -> RAM on thumbv7em (static data and one endpoint's state)
    echo $((RAM[$1.thumbv7em-none-eabihf.$2] - RAM[$1.thumbv7em-none-eabihf.none] + STATE[$1.$2]))
}

echo
echo "  size report: ferrule's share of a firmware image, profile 'firmware' (-Os, fat LTO,"
echo "  panic=abort), --gc-sections; window 4 x 128 B. RAM = static data the code adds + the"
echo "  state one endpoint keeps (a static in the firmware). Rust probes: tests/size-probe;"
echo "  C API: tests/firmware/probe_*.c."
size_report standard
for probe in empty framing link; do
    # shellcheck disable=SC2086
    arm-none-eabi-gcc $CFLAGS --specs=rdimon.specs tests/firmware/startup.c \
        "tests/firmware/probe_$probe.c" "$lib7" $LDFLAGS -o "$out/probe_$probe.elf"
    read -r text data bss _ < <(arm-none-eabi-size "$out/probe_$probe.elf" | tail -1)
    eval "flash_$probe=$((text + data)) ram_$probe=$((data + bss))"
done
# shellcheck disable=SC2154
printf '  | %-40s | %10d | %9s | %9d | %10s | %9s |\n' "C API: framing" \
    $((flash_framing - flash_empty)) - $((ram_framing - ram_empty)) - -
# shellcheck disable=SC2154
printf '  | %-40s | %10d | %9s | %9d | %10s | %9s |\n' "C API: everything (8 x 256 B)" \
    $((flash_link - flash_empty)) - $((ram_link - ram_empty)) - -

# Regression guards for the default build at today's sizes plus a margin.
guard() { # name value limit
    if [ "$2" -gt "$3" ]; then echo "size regression: $1 = $2 B > $3 B"; exit 1; fi
}
guard "framing code" "$(code standard framing)" 5000
guard "link code" "$(code standard link)" 13500
guard "everything code" "$(code standard everything)" 40960
guard "link + AEAD code" "$(code standard aead)" 31000

# The issue's budgets, enforced on the smallest build: core without panic formatting
# (-Zbuild-std, Debian's rustc and library source), feature `small`, reliable channel only
# for "framing + link".
echo
echo "  size report, smallest build (core rebuilt with panic=immediate-abort, feature 'small'):"
ensure_build_std_toolchain
size_report optimised
budget() { # name value limit
    if [ "$2" -le "$3" ]; then
        echo "  budget $1: $2 B <= $3 B, met"
    else
        echo "  budget $1: $2 B > $3 B, MISSED"
        exit 1
    fi
}
budget "framing + CRC flash (2 KiB)" "$(code optimised framing)" 2048
budget "framing + link flash (8 KiB)" "$(code optimised reliable)" 8192
budget "framing + link RAM (2 KiB)" "$(ram optimised reliable)" 2048
budget "everything flash (24 KiB)" "$(code optimised everything)" 24576
