#!/usr/bin/env bash
# Regenerates include/ferrule.h from the ffi crate (cbindgen, config ffi/cbindgen.toml).
# With --check: fails if the committed header differs from what the source generates.
set -euo pipefail
cd "$(dirname "$0")/.."
out=include/ferrule.h
[ "${1:-}" = "--check" ] && out=$(mktemp)
cbindgen --quiet --config ffi/cbindgen.toml --crate ferrule-ffi --output "$out"
if [ "${1:-}" = "--check" ]; then
    if ! diff -u include/ferrule.h "$out"; then
        echo "include/ferrule.h is stale: run bash scripts/gen-header.sh and commit it"
        exit 1
    fi
    echo "  include/ferrule.h is up to date"
fi
