#!/usr/bin/env bash
# ferrule as an embedded Rust developer and a crate publisher meet it:
#  1. the async driver (feature embedded-io-async): unit, end-to-end and doc tests, clippy
#     with every feature, no_std builds for Cortex-M0 and Cortex-M4F;
#  2. the firmware examples (examples-embedded/): formatted, clippy-clean, built for
#     thumbv7em-none-eabihf, and run under QEMU (mps2-an386) over the emulated UART, each
#     through one firmware restart:
#       - embassy (async driver, embassy-time)  <-> `ferrule firmware` (the host tool)
#       - RTIC 2 (sans-IO link in tasks)        <-> `ferrule firmware`
#       - the C firmware (tests/firmware/uart_peer.c) <-> the tokio example (async driver)
#  3. docs: `cargo doc` with -D warnings, default and all features, and as docs.rs builds them
#     (nightly, --cfg docsrs);
#  4. the declared rust-version (MSRV): the crates build with it (installed with rustup; if
#     that is impossible, clippy's incompatible_msrv lint stands in, and the summary says so);
#  5. publishing: `cargo publish --dry-run` of ferrule, ferrule-ffi and ferrule-demo (packaged
#     and built from the packages), then the packaged ferrule's own tests, which read the
#     vectors of the PROTOCOL.md it ships.
# Installs nothing but what scripts/toolchain.sh and rustup provide. Ends with one summary line.
# Usage: bash scripts/test-rust-users.sh   (COUNT=N requests per firmware run, default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TERM_COLOR=never
COUNT=${COUNT:-300}
RESTART_AT=${RESTART_AT:-100}
START=$SECONDS
DONE=()
NOTES=()

step() { printf '\n--> %s\n' "$*"; }
ok() { DONE+=("$1"); }

. scripts/toolchain.sh
ensure_cross_toolchain >/dev/null
# The firmware examples build against rustup's precompiled thumbv7em-none-eabihf `core`
# (their own workspace, with embassy and RTIC); where rustup cannot install targets they are
# skipped and the summary says so. Everything else runs either way.
EXAMPLES=1
if [ "$CROSS_MODE" != rustup ]; then
    EXAMPLES=0
    NOTES+=("rustup's thumbv7em-none-eabihf target unavailable: embassy and RTIC examples not built or run")
fi

# ---------------------------------------------------------------- 1. the async driver
step "async driver: unit, end-to-end (tokio, paused clock) and doc tests"
cargo test -q -p ferrule --features embedded-io,embedded-io-async --lib -- asynch error_impls
cargo test -q -p ferrule --features embedded-io,embedded-io-async --test asynch_driver
cargo test -q -p ferrule --features embedded-io,embedded-io-async --doc
ok "driver tests"

step "clippy -D warnings: every feature; the driver without std"
cargo clippy -q -p ferrule --all-targets --all-features -- -D warnings
cargo clippy -q -p ferrule --lib --no-default-features --features embedded-io-async,embassy-time,defmt \
    -- -D warnings
ok "clippy"

step "no_std builds of the driver: Cortex-M0 and Cortex-M4F, no heap"
for target in thumbv6m-none-eabi thumbv7em-none-eabihf; do
    cross_cargo build -q -p ferrule --release --target "$target" --no-default-features \
        --features embedded-io-async,embassy-time,defmt
done
ok "no_std driver"

# ---------------------------------------------------------------- 2. firmware examples
if [ $EXAMPLES = 1 ]; then
step "firmware examples: fmt, clippy, release builds (thumbv7em-none-eabihf)"
(
    cd examples-embedded
    cargo fmt -- --check
    # One at a time: each resolves its own features (the RTIC one gives cortex-m-rt the
    # `device` feature, which the embassy one must not have).
    for p in ferrule-embassy-mps2 ferrule-rtic-mps2; do
        cargo clippy -q --release -p "$p" -- -D warnings
        cargo build -q --release -p "$p"
    done
)
FW=examples-embedded/target/thumbv7em-none-eabihf/release
arm-none-eabi-size "$FW/ferrule-embassy-mps2" "$FW/ferrule-rtic-mps2" | sed 's/^/  /'
ok "examples build"
fi

step "the host tool and the C UART firmware the examples talk to"
cargo build -q --release -p ferrule-demo
cargo build -q -p ferrule --features embedded-io-async --example tokio_host
if [ ! -f target/firmware/uart_peer.elf ]; then # scripts/test-firmware.sh builds it too
    mkdir -p target/firmware
    lib=$(cross_ffi_lib thumbv7em-none-eabihf panic-handler,aead)
    # shellcheck disable=SC2046
    arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -std=c11 \
        -Wall -Wextra -Werror -ffunction-sections -fdata-sections -Iinclude -Itests/firmware \
        tests/firmware/startup_bare.c tests/firmware/semihost.c tests/firmware/stack_paint_run.c \
        tests/firmware/board_mps2.c tests/firmware/uart_peer.c \
        "$lib" \
        -lgcc -T tests/firmware/link.ld -nostartfiles -nostdlib -Wl,--gc-sections \
        -Wl,--no-warn-execstack -o target/firmware/uart_peer.elf
fi

qemu_pid=""
stop_qemu() {
    if [ -n "$qemu_pid" ]; then
        kill "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    qemu_pid=""
}
trap stop_qemu EXIT

# uart_run NAME ELF HOST-COMMAND...: the host listens on a free port (HOST-COMMAND gets
# --listen ADDR --count COUNT), QEMU's UART0 connects; QEMU is killed once RESTART_AT
# responses arrived and booted again with a new seed. Passes if the host passes (every
# response once, intact) and the firmware was restarted.
uart_run() {
    local name=$1 elf=$2 port fifo log restarted=0 status=0 line
    shift 2
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    log=target/firmware/$name.log
    : >"$log"
    boot() {
        qemu-system-arm -M mps2-an386 -nographic -monitor none \
            -semihosting-config "enable=on,target=native,arg=$name,arg=seed=$1" \
            -serial "tcp:127.0.0.1:$port" -kernel "$elf" >>"$log" 2>&1 &
        qemu_pid=$!
    }
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    "$@" --listen "127.0.0.1:$port" --count "$COUNT" --timeout 120 >"$fifo" </dev/null &
    local host_pid=$!
    exec 3<"$fifo"
    rm -f "$fifo"
    boot 4001
    while IFS= read -r line <&3; do
        echo "  host: $line"
        case "$line" in
        "result:"*) RESULT_LINE=$line ;;
        "responses "*)
            if [ $restarted = 0 ] && [ "${line#responses }" -ge "$RESTART_AT" ]; then
                echo "  (killing QEMU mid-run and booting the firmware again)"
                stop_qemu
                boot 4002
                restarted=1
            fi
            ;;
        esac
    done
    exec 3<&-
    wait "$host_pid" || status=$?
    stop_qemu
    sed 's/^/  firmware: /' "$log"
    [ $restarted = 1 ] || { echo "$name: the firmware was never restarted"; exit 1; }
    [ "$status" = 0 ] || { echo "$name: host side failed (exit $status)"; exit 1; }
    grep -q "boot on" "$log" || { echo "$name: no boot report"; exit 1; }
}

if [ $EXAMPLES = 1 ]; then
    step "embassy firmware (async driver) <-> ferrule firmware, $COUNT requests, one restart"
    uart_run embassy_peer "$FW/ferrule-embassy-mps2" target/release/ferrule firmware
    ok "embassy on QEMU"
    step "RTIC firmware (sans-IO link) <-> ferrule firmware, $COUNT requests, one restart"
    uart_run rtic_peer "$FW/ferrule-rtic-mps2" target/release/ferrule firmware
    ok "RTIC on QEMU"
fi
step "tokio example (async driver) <-> C firmware (C API), $COUNT requests, one restart"
RESULT_LINE=""
uart_run uart_peer_tokio target/firmware/uart_peer.elf target/debug/examples/tokio_host
case "$RESULT_LINE" in *"unsettled 0"*) ;; *) echo "tokio: unsettled requests"; exit 1 ;; esac
ok "tokio <-> C"

# ---------------------------------------------------------------- 3. docs
step "cargo doc -D warnings: default features, all features, and as docs.rs (nightly, docsrs)"
RUSTDOCFLAGS="-D warnings" cargo doc -q -p ferrule --no-deps
RUSTDOCFLAGS="-D warnings" cargo doc -q -p ferrule --no-deps --all-features
RUSTDOCFLAGS="-D warnings" cargo doc -q -p ferrule --no-deps --features aead,embedded-io-async
RUSTDOCFLAGS="-D warnings" cargo doc -q -p ferrule-ffi --no-deps
if rustup toolchain list | grep nightly >/dev/null; then
    RUSTDOCFLAGS="--cfg docsrs -D warnings" cargo +nightly doc -q -p ferrule --no-deps \
        --all-features --target-dir target/docsrs
    grep -q 'Available on <strong>crate feature <code>embedded-io-async' \
        target/docsrs/doc/ferrule/asynch/index.html
    ok "docs (and docs.rs)"
else
    NOTES+=("no nightly: docs.rs build not checked")
    ok "docs"
fi

# ---------------------------------------------------------------- 4. MSRV
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
step "MSRV $msrv: the crates build with the declared rust-version"
if rustup toolchain list | grep "^$msrv" >/dev/null || rustup toolchain install "$msrv" --profile minimal >/dev/null 2>&1; then
    cargo "+$msrv" check -q -p ferrule --all-features --target-dir target/msrv
    cargo "+$msrv" check -q -p ferrule-ffi -p ferrule-demo --target-dir target/msrv
    ok "MSRV $msrv"
else
    cargo clippy -q -p ferrule -p ferrule-ffi -p ferrule-demo -- -D clippy::incompatible_msrv
    NOTES+=("Rust $msrv not installable: MSRV checked by clippy::incompatible_msrv only")
    ok "MSRV lint"
fi

# ---------------------------------------------------------------- 5. publishing
step "cargo publish --dry-run: ferrule, ferrule-ffi, ferrule-demo (each built from its package)"
# Where cargo leaves the .crate files differs between versions (target/package/, or
# target/package/tmp-crate/ for a multi-package publish): start clean and look for them.
rm -rf target/package
# cargo extracts the temporary registry's crates under $CARGO_HOME/registry/src/<hash of its
# path>/ and reuses an extracted copy of the same name and version: a copy left there by an
# earlier run at the same path would be built instead of this run's package.
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml)
for c in ferrule ferrule-ffi ferrule-demo; do
    rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$c-$version" \
        "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$c-$version.crate"
done
out=$(cargo publish -q --dry-run --allow-dirty -p ferrule -p ferrule-ffi -p ferrule-demo 2>&1) ||
    { echo "$out"; echo "cargo publish --dry-run failed"; exit 1; }
grep -v -e "^warning: aborting upload due to dry run" -e "dropping unsupported crate type" <<<"$out" || true
for c in ferrule ferrule-ffi ferrule-demo; do
    name=$c-$version.crate
    f=$(find target/package -name "$name" | sort | head -1)
    [ -n "$f" ] || { echo "no package $name under target/package"; exit 1; }
    files=$(tar tzf "$f")
    for need in LICENSE-MIT LICENSE-APACHE README.md; do
        grep -q "/$need$" <<<"$files" || { echo "$f lacks $need"; exit 1; }
    done
    echo "  $f: $(wc -l <<<"$files") files, $(du -k "$f" | cut -f1) KiB"
done
pkg=$(find target/package -name 'ferrule-[0-9]*.crate' | sort | head -1)
tar xzf "$(find target/package -name 'ferrule-ffi-*.crate' | sort | head -1)" -O --wildcards '*/ferrule.h' | cmp - include/ferrule.h
ok "publish dry-run"

step "the packaged ferrule's tests, from the tarball alone (vectors from its own PROTOCOL.md)"
work=$(mktemp -d)
tar xzf "$pkg" -C "$work"
(
    cd "$work"/ferrule-*
    CARGO_TARGET_DIR="$ROOT/target" cargo test -q --features aead \
        --test vectors --test link_aead 2>&1 | grep -E "^test result" | sed 's/^/  /'
    CARGO_TARGET_DIR="$ROOT/target" cargo test -q --no-run --all-targets \
        --features aead,embedded-io,embedded-io-async 2>&1 | grep -v "^ *Executable" || true
)
rm -rf "$work"
ok "packaged tests"

list=$(printf '%s, ' "${DONE[@]}")
summary="rust users: ${#DONE[@]} checks passed (${list%, }) in $((SECONDS - START)) s"
if [ ${#NOTES[@]} -gt 0 ]; then
    notes=$(printf '%s; ' "${NOTES[@]}")
    summary="$summary; note: ${notes%; }"
fi
echo
echo "$summary"
