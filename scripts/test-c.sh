#!/usr/bin/env bash
# Host C tests of the C API:
# - include/ferrule.h compiles clean on its own as C99, C11, C++11 and C++17 (-Wall -Wextra
#   -Wpedantic -Werror), for the host and for Cortex-M0; packaging/include/ferrule_defaults.h as
#   C99 and C++11, refusing out-of-range FERRULE_CONFIG_* values at compile time;
# - tests/c/test_api.c built with -Wall -Wextra -Wpedantic -Werror as C11 and as C++17, under
#   AddressSanitizer + UBSan, against the ffi staticlib; then against a staticlib built without
#   the `aead` feature (every AEAD entry point must say FERRULE_ERR_UNSUPPORTED);
# - tests/c/test_compact.c (the compact link, `ferrule_compact_*`: arguments, sizes, lossy
#   exchanges with itself and the full link, restart, retry limit, garbage) the same way, C11
#   and C++17 under AddressSanitizer + UBSan;
# - tests/c/example.c (the README's C example) as C99, run by tests/c/example_host.c;
# - test_api.c and test_compact.c again with the Rust side instrumented too (nightly
#   -Zsanitizer=address), and the ffi crate's own unit tests under ASan.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-cc}
CXX=${CXX:-c++}
WARN="-Wall -Wextra -Wpedantic -Werror"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
LIBS="-lpthread -ldl -lm"
out=target/c-tests
mkdir -p "$out"

echo "  include/ferrule.h alone: C99, C11, C++11, C++17 (host), C99 (Cortex-M0)"
printf '#include "ferrule.h"\nint main(void) { return (int)ferrule_link_storage_size(0); }\n' >"$out/header.c"
for std in c99 c11; do
    $CC -std=$std $WARN -Iinclude -c "$out/header.c" -o "$out/header_$std.o"
done
for std in c++11 c++17; do
    $CXX -x c++ -std=$std $WARN -Iinclude -c "$out/header.c" -o "$out/header_$std.o"
done
if command -v arm-none-eabi-gcc >/dev/null; then
    arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb -std=c99 $WARN -Iinclude -c "$out/header.c" \
        -o "$out/header_m0.o"
fi

echo "  packaging/include/ferrule_defaults.h: C99 and C++11 clean; out-of-range choices stop the build"
printf '#include "ferrule_defaults.h"\nint main(void) { return (int)ferrule_compression_config_from_build().reliable; }\n' \
    >"$out/defaults.c"
$CC -std=c99 $WARN -Iinclude -Ipackaging/include -c "$out/defaults.c" -o "$out/defaults.o"
$CXX -x c++ -std=c++11 $WARN -Iinclude -Ipackaging/include -c "$out/defaults.c" -o "$out/defaults.o"
for bad in FERRULE_CONFIG_WINDOW=0 FERRULE_CONFIG_MAX_MESSAGE=4097 FERRULE_CONFIG_COMPRESSION=3 \
    FERRULE_CONFIG_BEST_EFFORT=2 FERRULE_CONFIG_AEAD=7; do
    if $CC -std=c99 $WARN -Iinclude -Ipackaging/include -D$bad -c "$out/defaults.c" -o "$out/defaults.o" \
        2>/dev/null; then
        echo "ferrule_defaults.h accepted -D$bad"
        exit 1
    fi
done

echo "  staticlib (host, std)"
cargo build -q -p ferrule-ffi
lib=target/debug/libferrule_ffi.a
$CC -std=c11 $WARN $SAN -Iinclude tests/c/test_api.c -x none "$lib" $LIBS -o "$out/test_api_c"
"$out/test_api_c"
$CXX -x c++ -std=c++17 $WARN $SAN -Iinclude tests/c/test_api.c -x none "$lib" $LIBS -o "$out/test_api_cpp"
"$out/test_api_cpp"
echo "  the compact link (tests/c/test_compact.c), C11 and C++17"
$CC -std=c11 $WARN $SAN -Iinclude tests/c/test_compact.c -x none "$lib" $LIBS -o "$out/test_compact_c"
"$out/test_compact_c"
$CXX -x c++ -std=c++17 $WARN $SAN -Iinclude tests/c/test_compact.c -x none "$lib" $LIBS -o "$out/test_compact_cpp"
"$out/test_compact_cpp"

echo "  the README's C example (tests/c/example.c), C99, run against a host peer"
python3 - <<'PY'
import re, sys
readme = open("README.md").read()
example = open("tests/c/example.c").read().strip()
if not any(b.strip() == example for b in re.findall(r"```c\n(.*?)```", readme, re.S)):
    sys.exit("README.md does not contain tests/c/example.c verbatim (copy it into the C section)")
print("  README.md carries tests/c/example.c verbatim")
PY
$CC -std=c99 $WARN $SAN -Iinclude -DFERRULE_EXAMPLE_NO_MAIN tests/c/example.c tests/c/example_host.c \
    -x none "$lib" $LIBS -o "$out/example"
"$out/example"
if command -v arm-none-eabi-gcc >/dev/null; then # and as firmware C (with its main), Cortex-M0
    arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb -std=c99 -Os $WARN -Iinclude -c tests/c/example.c \
        -o "$out/example_m0.o"
fi

echo "  staticlib without the aead feature"
cargo build -q -p ferrule-ffi --no-default-features --features std --target-dir target/ffi-noaead
$CC -std=c11 $WARN $SAN -DFERRULE_TEST_NO_AEAD -Iinclude tests/c/test_api.c \
    -x none target/ffi-noaead/debug/libferrule_ffi.a $LIBS -o "$out/test_api_noaead"
"$out/test_api_noaead"

echo "  staticlib with the Rust side under AddressSanitizer (nightly)"
host=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="-Zsanitizer=address" cargo +nightly build -q -p ferrule-ffi --target "$host" \
    --target-dir target/asan
$CC -std=c11 $WARN -fsanitize=address -fno-omit-frame-pointer -Iinclude tests/c/test_api.c \
    -x none "target/asan/$host/debug/libferrule_ffi.a" $LIBS -o "$out/test_api_asan"
"$out/test_api_asan"
$CC -std=c11 $WARN -fsanitize=address -fno-omit-frame-pointer -Iinclude tests/c/test_compact.c \
    -x none "target/asan/$host/debug/libferrule_ffi.a" $LIBS -o "$out/test_compact_asan"
"$out/test_compact_asan"

echo "  ffi unit tests under AddressSanitizer (nightly)"
RUSTFLAGS="-Zsanitizer=address" cargo +nightly test -q -p ferrule-ffi --target "$host" \
    --target-dir target/asan 2>&1 | grep -E "^test result|FAILED|panicked|ERROR"
