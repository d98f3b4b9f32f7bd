#!/usr/bin/env bash
# Runs every check ferrule has, on a fresh Debian machine (as root) or a developer's box.
# Installs what it needs first. Usage: bash scripts/test-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TERM_COLOR=never
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

step() { printf '\n==> %s\n' "$*"; }

# ---------------------------------------------------------------- toolchains
step "toolchain setup"
. scripts/toolchain.sh
ensure_host_tools
ensure_cross_toolchain

# ---------------------------------------------------------------- lint
step "cargo fmt --check"
cargo fmt --all -- --check
(cd core/fuzz && cargo fmt -- --check)

step "cargo clippy (all crates, all targets, -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p ferrule --all-targets --features std,embedded-io -- -D warnings
cargo clippy -p ferrule --all-targets --features aead -- -D warnings
cargo clippy -p ferrule --all-targets --no-default-features -- -D warnings
cargo clippy -p ferrule --lib --no-default-features --features small -- -D warnings

# ---------------------------------------------------------------- tests
step "cargo test (workspace, host features)"
cargo test --workspace
step "cargo test (core without std: software CRC table path)"
cargo test -p ferrule
step "cargo test (core with std + embedded-io)"
cargo test -p ferrule --features std,embedded-io
step "cargo test (core with aead: sealing, replays, rekeying, sealed soak)"
cargo test -p ferrule --features aead
step "cargo test (core with small-crc)"
cargo test -p ferrule --features small-crc --lib
step "cargo test (core with small: byte-wise COBS, bitwise CRC)"
cargo test -p ferrule --features small --lib --test framing_props --test vectors
step "cargo test (core without best-effort: every channel reliable)"
SOAK_SCALE=0.2 cargo test -p ferrule --no-default-features

# ---------------------------------------------------------------- no_std builds
step "no_std builds for Cortex-M (no heap, no std)"
for target in thumbv7em-none-eabihf thumbv6m-none-eabi; do
    for features in "" "best-effort" "defmt" "embedded-io,defmt" "small" "best-effort,aead"; do
        echo "  core: $target features=[${features}]"
        cross_cargo build -p ferrule --release --target "$target" --no-default-features \
            ${features:+--features "$features"}
    done
    echo "  ferrule-ffi (staticlib): $target, no std, no heap (with aead, then without)"
    test -f "$(cross_ffi_lib "$target" panic-handler)"
    test -f "$(cross_ffi_lib "$target" panic-handler,aead)"
done

# ---------------------------------------------------------------- C API
step "C header is generated from the ffi crate (cbindgen) and committed fresh"
bash scripts/gen-header.sh --check

step "C API host tests (C11 and C++17, -Werror, ASan + UBSan; Rust side under ASan)"
bash scripts/test-c.sh

step "C firmware under QEMU: conformance (Cortex-M4F), handshake cost, microbit (Cortex-M0, 16 KiB), stack gate, size report and budgets"
bash scripts/test-firmware.sh

step "C packaging: bundles for 8 targets consumed through CMake, Make + pkg-config, Zephyr, ESP-IDF, PlatformIO, on QEMU boards"
bash tests/packaging/run.sh

step "protocol vectors in docs/PROTOCOL.md are what the implementation produces"
python3 scripts/regen-vectors.py --check

# ---------------------------------------------------------------- fuzzing
step "fuzzing (${FUZZ_SECONDS}s per target)"
(
    cd core/fuzz
    # Inputs that once failed (core/fuzz/regressions/<target>-*.bin) replay first.
    for r in regressions/*.bin; do
        t=$(basename "$r" | cut -d- -f1)
        cargo +nightly fuzz run -O "$t" "$r" >/dev/null 2>&1 || { echo "regression $r FAILED"; exit 1; }
        echo "  regression $r: ok"
    done
    for t in $(cargo +nightly fuzz list); do
        log=$(mktemp)
        if ! cargo +nightly fuzz run -O "$t" -- -max_total_time="$FUZZ_SECONDS" -max_len=4096 \
            -print_final_stats=1 >"$log" 2>&1; then
            tail -40 "$log"
            echo "fuzz target $t FAILED"
            exit 1
        fi
        echo "  $t: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') runs, no crash"
        rm -f "$log"
    done
)

step "demo: the default run as a user runs it (Rust API <-> C API over UDP loopback, impairment proxy)"
cargo run --release -q -p ferrule-demo
step "demo: 20 % loss, sealed, over a TCP byte stream (JSON report)"
cargo run --release -q -p ferrule-demo -- --messages 3000 --loss 0.2 --json
cargo run --release -q -p ferrule-demo -- --messages 3000 --transport tcp --aead on --json
# Transports, capture/decode, plots, chat and bad input are host-demo/tests/cli.rs (cargo test).

step "firmware over the emulated UART: ferrule <-> QEMU on mps2-an386 (1000 requests, one restart; then via a pty) and on the 16 KiB microbit (600 requests, one restart)"
cargo build --release -q -p ferrule-demo
bash scripts/test-uart.sh

step "the compact link's firmware over the emulated UART: ferrule <-> QEMU on mps2-an386 (400 requests, one restart; then via a pty) and on the 16 KiB microbit (300 requests, one restart)"
UART_ELF=target/firmware/uart_peer_compact.elf MICROBIT_ELF=target/firmware/uart_peer_compact_microbit.elf \
    LABEL=compact COUNT=400 RESTART_AT=150 PTY_COUNT=150 MICROBIT_COUNT=300 MICROBIT_RESTART_AT=100 \
    bash scripts/test-uart.sh

step "host tool against the QEMU firmware (ferrule firmware, cargo test --test firmware)"
cargo test --release -q -p ferrule-demo --test firmware

step "host tool builds for Windows and macOS (cargo check)"
if ensure_desktop_targets; then
    cargo check -q -p ferrule-demo --target x86_64-pc-windows-gnu
    cargo check -q -p ferrule-demo --target x86_64-apple-darwin
    echo "  x86_64-pc-windows-gnu, x86_64-apple-darwin: ok"
else
    echo "  skipped: the Windows and macOS targets could not be installed"
fi

step "Python package: wheel (maturin, abi3), fresh venv, pytest vs the Rust tool over UDP and the QEMU firmware"
bash scripts/test-python.sh

step "Rust users: async driver, embassy and RTIC firmware under QEMU, tokio host, docs, MSRV, publish dry-run"
bash scripts/test-rust-users.sh

step "all checks passed"
