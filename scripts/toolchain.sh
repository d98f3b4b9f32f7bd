# Sourced by the scripts: installs and selects toolchains. Functions only, no side effects.

# Host tools: nightly (fuzzing, sanitizers), cargo-fuzz, cbindgen.
ensure_host_tools() {
    command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup.rs)"; exit 1; }
    rustup component list --installed 2>/dev/null | grep rustfmt >/dev/null || rustup component add rustfmt clippy
    if ! rustup toolchain list | grep nightly >/dev/null; then
        rustup toolchain install nightly --profile minimal
    fi
    command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
    command -v cbindgen >/dev/null || cargo install --locked cbindgen
    # tshark reads the host tool's captures back (host-demo/tests/wireshark.rs).
    if ! command -v tshark >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing: tshark"
        export DEBIAN_FRONTEND=noninteractive
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
        apt-get update -qq
        apt-get install -y -qq tshark >/dev/null || echo "tshark not installed: the capture test skips"
    fi
}

# The host tool's other platforms, for `cargo check` (no linker needed). Returns non-zero
# when a target cannot be installed (offline machine): the check is then skipped.
ensure_desktop_targets() {
    local t missing=""
    for t in x86_64-pc-windows-gnu x86_64-apple-darwin; do
        rustup target list --installed 2>/dev/null | grep "^$t\$" >/dev/null || missing="$missing $t"
    done
    # shellcheck disable=SC2086
    [ -z "$missing" ] || rustup target add $missing >/dev/null 2>&1
}

# Cross compilation for thumbv7em-none-eabihf and thumbv6m-none-eabi. Prefers installed rustup
# targets; otherwise uses Debian's rustc with -Zbuild-std=core (no download needed).
CROSS_MODE=""
ensure_cross_toolchain() {
    if [ "${FERRULE_CROSS:-}" = debian ]; then
        : # forced: Debian's rustc with -Zbuild-std (what a machine without rustup targets uses)
    elif rustup target list --installed 2>/dev/null | grep thumbv7em-none-eabihf >/dev/null &&
        rustup target list --installed 2>/dev/null | grep thumbv6m-none-eabi >/dev/null; then
        CROSS_MODE=rustup
    else
        rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi >/dev/null 2>&1 && CROSS_MODE=rustup
    fi
    [ "${FERRULE_CROSS:-}" = debian ] && CROSS_MODE=""

    local pkgs=""
    command -v arm-none-eabi-gcc >/dev/null || pkgs="$pkgs gcc-arm-none-eabi libnewlib-arm-none-eabi"
    command -v qemu-system-arm >/dev/null || pkgs="$pkgs qemu-system-arm"
    if [ -z "$CROSS_MODE" ] && [ ! -x /usr/bin/rustc ] || [ -z "$CROSS_MODE" ] && [ ! -d /usr/lib/rustlib/src/rust ]; then
        pkgs="$pkgs rustc-web cargo-web rust-web-src libstd-rust-web-dev"
    fi
    if [ -n "$pkgs" ]; then
        echo "installing:$pkgs"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq $pkgs >/dev/null
    fi
    [ -n "$CROSS_MODE" ] || CROSS_MODE=debian
    echo "cross toolchain: $CROSS_MODE"
}

# Debian's rustc with its library source, for builds that rebuild `core` (-Zbuild-std): the
# smallest-size report needs it even where rustup has the thumb targets.
ensure_build_std_toolchain() {
    if [ ! -x /usr/bin/rustc ] || [ ! -d /usr/lib/rustlib/src/rust ]; then
        echo "installing: rustc-web cargo-web rust-web-src libstd-rust-web-dev"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq rustc-web cargo-web rust-web-src libstd-rust-web-dev >/dev/null
    fi
}

# The target dir of cross_cargo's builds: one per toolchain mode.
cross_dir() {
    if [ "$CROSS_MODE" = rustup ]; then echo "$ROOT/target-cross-rustup"; else echo "$ROOT/target-cross"; fi
}

# cargo for a thumb target, whichever toolchain is available. Separate target dir per mode.
cross_cargo() {
    if [ "$CROSS_MODE" = rustup ]; then
        cargo "$@" --target-dir "$(cross_dir)"
    else
        RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo "$@" -Zbuild-std=core \
            --target-dir "$(cross_dir)"
    fi
}

# The firmware C library exactly as the release bundle builds it (scripts/bundle.sh): the
# staticlib crate type alone, so cargo runs fat LTO across the C API, ferrule and core. With
# the crate's rlib type beside it (`cargo build`), cargo compiles each crate on its own and the
# same library is about 10 % larger, with other stack peaks. Features: the C API's.
cross_ffi_lib() { # target features -> builds; prints the path of libferrule_ffi.a, fails with cargo
    local log
    log=$(cross_cargo rustc -q -p ferrule-ffi --lib --profile firmware --target "$1" \
        --no-default-features --features "$2" --crate-type staticlib 2>&1) ||
        { echo "$log" >&2; return 1; }
    grep -v -e "dropping unsupported crate type" -e "^$" <<<"$log" >&2 || true
    echo "$(cross_dir)/$1/firmware/libferrule_ffi.a"
}
