#!/usr/bin/env bash
# The Python package (python/): lint of its Rust crate, the wheel built the way
# `pip install ./python` builds it (PEP 517, maturin from PyPI, release, abi3 for CPython >= 3.9),
# installed into a fresh virtual environment with pytest and pyserial, a strict type check, and
# python/tests run there against the installed wheel:
#   - the sans-IO link through a seeded lossy channel (10,000 messages at 10 % loss), framing
#     helpers, every exception path;
#   - connections over loopback UDP (threads, asyncio) and a pty as serial port;
#   - Python <-> the Rust host tool (`ferrule bridge` over UDP; built here if missing);
#   - Python <-> the QEMU firmware over its serial port (target/firmware/uart_peer.elf from
#     scripts/test-firmware.sh; skipped, with the reason, when it is not there).
# Prints each phase's time and pytest's summary line. Usage: bash scripts/test-python.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
t0=$SECONDS
phase() { printf '  [%3ds] %s\n' $((SECONDS - t0)) "$*"; }

# Debian splits venv (and ensurepip) out of python3.
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        phase "installing python3-venv"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    else
        echo "python tests: python3 -m venv is not available (Debian: apt-get install python3-venv)"
        exit 1
    fi
fi

phase "cargo fmt --check, cargo clippy -D warnings (python/, a workspace of its own)"
(cd python && cargo fmt -- --check && cargo clippy -q --all-targets -- -D warnings)

if [ ! -x target/release/ferrule ]; then
    phase "building the host tool (cargo build --release -p ferrule-demo)"
    cargo build --release -q -p ferrule-demo
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
venv=$work/venv
phase "fresh virtual environment: pytest, pyserial, mypy"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check pytest pyserial mypy

phase "building the wheel as pip install ./python does (maturin, release)"
"$venv/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps ./python -w "$work/dist"
wheel=$(ls "$work"/dist/ferrule-*.whl)
phase "the wheel carries both licence texts"
"$venv/bin/python" - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
text = zipfile.ZipFile(sys.argv[1]).read(meta).decode()
for lic in ("LICENSE-MIT", "LICENSE-APACHE"):
    assert any(n.endswith("/" + lic) for n in names), f"{lic} missing from the wheel"
    assert f"License-File: {lic}" in text, f"License-File: {lic} missing from METADATA"
PY
phase "installing $(basename "$wheel")"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel"

phase "mypy --strict on the package (stubs included)"
(cd python && "$venv/bin/mypy" --strict --no-incremental ferrule)

phase "pytest (the installed wheel, run from outside the source tree)"
log=$work/pytest.log
status=0
(cd "$work" && FERRULE_REQUIRE_BRIDGE=1 "$venv/bin/python" -c 'import ferrule, sys; print("  ferrule", ferrule.__version__, "from", ferrule.__file__)' &&
    FERRULE_REQUIRE_BRIDGE=1 "$venv/bin/python" -m pytest -p no:cacheprovider -rs -q \
        --durations=5 "$ROOT/python/tests") 2>&1 | tee "$log" || status=$?
summary=$(grep -E '^[=]* *[0-9]+ (passed|failed)' "$log" | tail -1 | tr -d '=' | sed 's/^ *//;s/ *$//')
phase "done"
echo "python tests: ${summary:-no pytest summary} (script total $((SECONDS - t0)) s)"
exit "$status"
