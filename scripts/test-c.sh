#!/usr/bin/env bash
# Host C tests of the C API: tests/c/test_api.c built with -Wall -Wextra -Wpedantic -Werror
# as C11 and as C++17, under AddressSanitizer + UBSan, against the ffi staticlib; then again
# with the Rust side instrumented too (nightly -Zsanitizer=address), and the ffi crate's own
# unit tests under ASan.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-cc}
CXX=${CXX:-c++}
WARN="-Wall -Wextra -Wpedantic -Werror"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
LIBS="-lpthread -ldl -lm"
out=target/c-tests
mkdir -p "$out"

echo "  staticlib (host, std)"
cargo build -q -p ferrule-ffi
lib=target/debug/libferrule_ffi.a
$CC -std=c11 $WARN $SAN -Iinclude tests/c/test_api.c -x none "$lib" $LIBS -o "$out/test_api_c"
"$out/test_api_c"
$CXX -x c++ -std=c++17 $WARN $SAN -Iinclude tests/c/test_api.c -x none "$lib" $LIBS -o "$out/test_api_cpp"
"$out/test_api_cpp"

echo "  staticlib with the Rust side under AddressSanitizer (nightly)"
host=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="-Zsanitizer=address" cargo +nightly build -q -p ferrule-ffi --target "$host" \
    --target-dir target/asan
$CC -std=c11 $WARN -fsanitize=address -fno-omit-frame-pointer -Iinclude tests/c/test_api.c \
    -x none "target/asan/$host/debug/libferrule_ffi.a" $LIBS -o "$out/test_api_asan"
"$out/test_api_asan"

echo "  ffi unit tests under AddressSanitizer (nightly)"
RUSTFLAGS="-Zsanitizer=address" cargo +nightly test -q -p ferrule-ffi --target "$host" \
    --target-dir target/asan 2>&1 | grep -E "^test result|FAILED|panicked|ERROR" 
