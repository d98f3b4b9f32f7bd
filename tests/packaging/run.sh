#!/usr/bin/env bash
# Packaging tests: builds the release bundles (scripts/bundle.sh) and uses them the way
# firmware teams do, with nothing of the source tree but the bundle and the consumer projects
# in this directory. Each program runs the same demo (common/: framing, then two links over a
# lossy in-memory wire) under QEMU or on the host and must report 0 failures.
#
#   bash tests/packaging/run.sh          (installs what it needs with apt-get/pip when missing)
#
# Cases: CMake find_package on Cortex-M0 (micro:bit), M4F (MPS2-AN386), M33 (MPS2-AN505),
# RV32IMAC (virt) and the host; the all-targets bundle choosing by C flags; Make + pkg-config
# on a soft-float and a softfp Cortex-M4; the Zephyr module (Kconfig through kconfiglib, a
# stand-in for Zephyr's CMake) on Cortex-M3, M4F and RV32IMC; the ESP-IDF component (a stand-in for
# IDF's CMake) on an RV32IMC core without atomics; the host C API tests against the shared
# library; PlatformIO's board -> archive choice; float-ABI mismatches refused (by ld, and by the
# CMake package, which also refuses a CPU that cannot run the archive and takes version ranges);
# the ESP-IDF component holding the RISC-V archives only; memcpy taken
# from the C library (not from the archive, as rustc's own archive does); and check-symbols.sh
# failing on the raw rustc archive. Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
T=$ROOT/tests/packaging
OUT=$ROOT/target/packaging
BUNDLES=$OUT/bundle
mkdir -p "$OUT"

# ---------------------------------------------------------------- tools
need=""
command -v arm-none-eabi-gcc >/dev/null || need="$need gcc-arm-none-eabi libnewlib-arm-none-eabi"
command -v qemu-system-arm >/dev/null || need="$need qemu-system-arm"
command -v riscv64-unknown-elf-gcc >/dev/null || need="$need gcc-riscv64-unknown-elf"
[ -f /usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs ] || need="$need picolibc-riscv64-unknown-elf"
command -v qemu-system-riscv32 >/dev/null || need="$need qemu-system-misc"
command -v cmake >/dev/null || need="$need cmake"
command -v pkg-config >/dev/null || need="$need pkgconf"
command -v make >/dev/null || need="$need make"
if [ -n "$need" ]; then
    echo "installing:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq $need >/dev/null
fi
python3 -c "import kconfiglib" 2>/dev/null || python3 -m pip install -q kconfiglib

# ---------------------------------------------------------------- bundles
start=$SECONDS
bash scripts/bundle.sh --out "$BUNDLES"
echo "  bundles: $((SECONDS - start)) s"
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
ALL=$BUNDLES/ferrule-$version
bundle() { echo "$BUNDLES/ferrule-$version-$1"; }

# ---------------------------------------------------------------- helpers
passed=0 failed=0 failures=""
case_() { # name function [args...]: runs one case in a subshell, its log kept on failure
    local name=$1 log=$OUT/logs/$1.log t0=$SECONDS status
    shift
    mkdir -p "$OUT/logs"
    # Not as an `if` condition: bash ignores `set -e` there, so a failing command inside a case
    # would not fail it.
    set +e
    (
        set -e
        "$@"
    ) >"$log" 2>&1
    status=$?
    set -e
    if [ "$status" = 0 ]; then
        passed=$((passed + 1))
        printf '  ok    %-34s %3ds  %s\n' "$name" $((SECONDS - t0)) "$(tail -1 "$log")"
    else
        failed=$((failed + 1))
        failures="$failures $name"
        printf '  FAIL  %-34s %3ds  (log: %s)\n' "$name" $((SECONDS - t0)) "${log#"$ROOT"/}"
        tail -25 "$log" | sed 's/^/        /'
    fi
}

qemu() { # machine elf [qemu options...]: runs the demo (output also in <elf>.log); 0 failures
    local machine=$1 elf=$2 sys=qemu-system-arm log=${2%.elf}.log status=0
    shift 2
    [[ $machine == virt ]] && sys=qemu-system-riscv32
    timeout 120 "$sys" -M "$machine" "$@" -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$elf" >"$log" 2>&1 || status=$?
    cat "$log"
    grep -qE '^demo: [0-9]+ checks, 0 failures$' "$log" || { echo "no clean demo summary"; return 1; }
    [ "$status" = 0 ] || { echo "exit status $status"; return 1; }
    grep '^demo:' "$log"
}

cmake_app() { # build-dir board prefix [cmake args...]: configure + build tests/packaging/cmake-app
    local dir=$1 board=$2 prefix=$3
    shift 3
    rm -rf "$dir"
    cmake -S "$T/cmake-app" -B "$dir" -DBOARD="$board" -DCMAKE_PREFIX_PATH="$prefix" "$@" |
        tee "$dir.configure.log"
    cmake --build "$dir"
}

ARM=(-DCMAKE_TOOLCHAIN_FILE="$T/cmake/arm-none-eabi.cmake")
RV=(-DCMAKE_TOOLCHAIN_FILE="$T/cmake/riscv32-elf.cmake")
M0="-mcpu=cortex-m0 -mthumb -mfloat-abi=soft"
M3="-mcpu=cortex-m3 -mthumb -mfloat-abi=soft"
M4SOFT="-mcpu=cortex-m4 -mthumb -mfloat-abi=soft"
M4SOFTFP="-mcpu=cortex-m4 -mthumb -mfloat-abi=softfp -mfpu=fpv4-sp-d16"
M4F="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
M33F="-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16"

# ---------------------------------------------------------------- CMake, find_package
cmake_m0() { # the micro:bit (16 KiB of RAM): two 4 x 128 B links in one program
    cmake_app "$OUT/cmake-m0" microbit "$(bundle thumbv6m-none-eabi)" "${ARM[@]}" -DARM_CPU_FLAGS="$M0"
    qemu microbit "$OUT/cmake-m0/demo.elf"
    grep -q '^link: window 4' "$OUT/cmake-m0/demo.log"
}
cmake_m4f() {
    cmake_app "$OUT/cmake-m4f" mps2 "$(bundle thumbv7em-none-eabihf)" "${ARM[@]}" -DARM_CPU_FLAGS="$M4F"
    qemu mps2-an386 "$OUT/cmake-m4f/demo.elf"
}
cmake_m33() {
    cmake_app "$OUT/cmake-m33" mps2-an505 "$(bundle thumbv8m.main-none-eabihf)" "${ARM[@]}" \
        -DARM_CPU_FLAGS="$M33F"
    qemu mps2-an505 "$OUT/cmake-m33/demo.elf"
}
cmake_rv32imac() {
    cmake_app "$OUT/cmake-rv" riscv-virt "$(bundle riscv32imac-unknown-none-elf)" "${RV[@]}" \
        -DRISCV_MARCH=rv32imac_zicsr -DRISCV_LINK_MARCH=rv32imac
    qemu virt "$OUT/cmake-rv/demo.elf" -bios none
}
cmake_host() { # the static archive, with the Rust standard library's threads/dl/m from the package
    cmake_app "$OUT/cmake-host" host "$(bundle x86_64-unknown-linux-gnu)"
    "$OUT/cmake-host/demo.elf"
}
cmake_all_targets() { # the all-targets bundle picks lib/<target> from the C flags
    cmake_app "$OUT/cmake-all" mps2 "$ALL" "${ARM[@]}" -DARM_CPU_FLAGS="$M4SOFTFP"
    grep -q "ferrule $version: thumbv7em-none-eabi (float ABI soft)" "$OUT/cmake-all.configure.log"
    grep -q "$ALL/lib/thumbv7em-none-eabi/libferrule.a" "$OUT/cmake-all/CMakeFiles/demo.dir/link.txt"
    qemu mps2-an386 "$OUT/cmake-all/demo.elf"
}

# ---------------------------------------------------------------- Make, pkg-config
make_app() { # dir cpu-flags defines
    PKG_CONFIG_PATH="$(bundle thumbv7em-none-eabi)/lib/pkgconfig" make -C "$T/make-app" -B \
        OUT="$1" BOARD=mps2 CPU_FLAGS="$2" DEFINES="$3"
}
make_soft() {
    make_app "$OUT/make-soft" "$M4SOFT" "-DFERRULE_CONFIG_COMPRESSION=1 -DFERRULE_CONFIG_AEAD=1"
    qemu mps2-an386 "$OUT/make-soft/demo.elf"
}
make_softfp() { # the soft-float archive inside code that uses the FPU (softfp)
    make_app "$OUT/make-softfp" "$M4SOFTFP" "-DFERRULE_CONFIG_COMPRESSION=2"
    arm-none-eabi-readelf -A "$OUT/make-softfp/demo.elf" | grep 'Tag_FP_arch: VFPv4-D16' >/dev/null ||
        { echo "the softfp build has no FPU code"; return 1; }
    qemu mps2-an386 "$OUT/make-softfp/demo.elf"
}

# ---------------------------------------------------------------- Zephyr module (stand-in)
zephyr_case() { # name module-dir cpu-symbols board machine kconfig-choices... (toolchain: TC)
    local name=$1 module=$2 cpus=$3 board=$4 machine=$5 defs=() qargs=()
    shift 5
    python3 "$T/zephyr-stub/kconfig.py" "$module" "$OUT/$name.config" "$@"
    for c in $cpus; do defs+=("-D$c=y"); done
    rm -rf "${OUT:?}/$name"
    cmake -S "$T/zephyr-stub" -B "$OUT/$name" -DFERRULE_MODULE="$module" -DBOARD="$board" \
        -DDOTCONFIG="$OUT/$name.config" "${defs[@]}" "${TC[@]}" \
        ${FERRULE_BUNDLE_DIR:+-DFERRULE_BUNDLE_DIR="$FERRULE_BUNDLE_DIR"} | tee "$OUT/$name.cmake.log"
    cmake --build "$OUT/$name"
    [ "$machine" = virt ] && qargs=(-bios none -cpu "rv32,a=false,f=false,d=false")
    qemu "$machine" "$OUT/$name/demo.elf" "${qargs[@]}"
}
armtc() { echo "-DCMAKE_TOOLCHAIN_FILE=$T/cmake/arm-none-eabi.cmake -DARM_CPU_FLAGS=${1// /\ }"; }
zephyr_m3() { # the source checkout as the module, archives from an unpacked bundle
    TC=("${ARM[@]}" -DARM_CPU_FLAGS="$M3")
    FERRULE_BUNDLE_DIR=$ALL zephyr_case zephyr-m3 "$ROOT" CONFIG_CPU_CORTEX_M3 mps2 mps2-an385 \
        FERRULE_WINDOW=4 FERRULE_COMPRESSION_SHARED=y FERRULE_AEAD=y
    grep -q "ferrule: $ALL/lib/thumbv7m-none-eabi/libferrule.a" "$OUT/zephyr-m3.cmake.log"
    grep -q '^link: window 4, compression 2, aead 1' "$OUT/zephyr-m3/demo.log"
}
zephyr_m4f() { # the all-targets bundle is the module
    TC=("${ARM[@]}" -DARM_CPU_FLAGS="$M4F")
    zephyr_case zephyr-m4f "$ALL" "CONFIG_CPU_CORTEX_M4 CONFIG_FPU CONFIG_FP_HARDABI" mps2 mps2-an386 \
        FERRULE_COMPRESSION_PER_MESSAGE=y
    grep -q "ferrule: $ALL/lib/thumbv7em-none-eabihf/libferrule.a" "$OUT/zephyr-m4f.cmake.log"
}
zephyr_rv32imc() { # RISC-V without atomics: the rv32imc archive, on a core without A/F/D
    TC=("${RV[@]}" -DRISCV_MARCH=rv32imc_zicsr -DRISCV_LINK_MARCH=rv32imc)
    zephyr_case zephyr-rv32imc "$ALL" "CONFIG_RISCV CONFIG_RISCV_ISA_EXT_M CONFIG_RISCV_ISA_EXT_C" \
        riscv-virt virt FERRULE_MAX_MESSAGE=128
    grep -q "ferrule: $ALL/lib/riscv32imc-unknown-none-elf/libferrule.a" "$OUT/zephyr-rv32imc.cmake.log"
}

# ---------------------------------------------------------------- ESP-IDF component (stand-in)
esp_idf() {
    local c=$ALL/esp-idf/ferrule stray
    # Only the RISC-V archives: no host library slipped in.
    stray=$(find "$c/lib" -mindepth 2 ! -name libferrule.a)
    [ -z "$stray" ] || { echo "stray files in the component: $stray"; return 1; }
    for chip in esp32c3 esp32c6; do
        cmake -DCOMPONENT="$c" -DIDF_TARGET=$chip -P "$T/esp-idf-stub/early_expansion.cmake"
    done
    if cmake -DCOMPONENT="$c" -DIDF_TARGET=esp32s3 -P "$T/esp-idf-stub/early_expansion.cmake" \
        >"$OUT/esp32s3.log" 2>&1; then
        echo "the component accepted the ESP32-S3 (Xtensa)"
        return 1
    fi
    grep -q "no prebuilt library for esp32s3" "$OUT/esp32s3.log" || { cat "$OUT/esp32s3.log"; return 1; }
    rm -rf "$OUT/esp-idf"
    cmake -S "$T/esp-idf-stub" -B "$OUT/esp-idf" -DFERRULE_COMPONENT="$c" -DIDF_TARGET=esp32c3 \
        "${RV[@]}" -DRISCV_MARCH=rv32imc_zicsr_zifencei -DRISCV_LINK_MARCH=rv32imc
    cmake --build "$OUT/esp-idf"
    # An RV32IMC core as the ESP32-C3's: no atomics, no FPU.
    qemu virt "$OUT/esp-idf/demo.elf" -bios none -cpu rv32,a=false,f=false,d=false
}

# ---------------------------------------------------------------- host C API tests
host_c_api() { # tests/c/test_api.c against the shared library, through pkg-config
    local b pc
    b=$(bundle x86_64-unknown-linux-gnu)
    export PKG_CONFIG_PATH=$b/lib/pkgconfig
    pc="$(pkg-config --cflags ferrule) $(pkg-config --libs ferrule) -Wl,-rpath,$(pkg-config --variable=libdir ferrule)"
    local warn="-Wall -Wextra -Wpedantic -Werror" san="-fsanitize=address,undefined -fno-sanitize-recover=all"
    # shellcheck disable=SC2086
    cc -std=c11 $warn $san tests/c/test_api.c $pc -o "$OUT/test_api_c"
    # shellcheck disable=SC2086
    c++ -x c++ -std=c++17 $warn $san tests/c/test_api.c -x none $pc -o "$OUT/test_api_cpp"
    ldd "$OUT/test_api_c" | grep "libferrule.so.[0-9.]* => $b/lib/" >/dev/null || { ldd "$OUT/test_api_c"; return 1; }
    "$OUT/test_api_c"
    "$OUT/test_api_cpp"
}

# ---------------------------------------------------------------- PlatformIO
platformio() {
    python3 "$T/check_platformio.py" "$ALL" "$(bundle thumbv6m-none-eabi)" "$version"
    echo "PlatformIO: board -> archive choices as expected"
}

# ---------------------------------------------------------------- what must fail
float_abi_mismatch() { # the linker refuses, and the CMake package says so first
    local src=$OUT/abi.c
    echo 'int main(void) { return ferrule_version()[0]; }' | sed '1i #include "ferrule.h"' >"$src"
    local pair lib flags
    for pair in "thumbv7em-none-eabihf:$M4SOFT" "thumbv7em-none-eabihf:$M4SOFTFP" "thumbv7em-none-eabi:$M4F"; do
        lib=$(bundle "${pair%%:*}")
        flags=${pair#*:}
        # shellcheck disable=SC2086
        if arm-none-eabi-gcc $flags --specs=nosys.specs -I"$lib/include" "$src" "$lib/lib/libferrule.a" \
            -o "$OUT/abi.elf" 2>"$OUT/abi.err"; then
            echo "${pair%%:*} linked with $flags"
            return 1
        fi
        grep -q "VFP register arguments" "$OUT/abi.err" || { cat "$OUT/abi.err"; return 1; }
        echo "link refused: ${pair%%:*} with $flags"
    done
    configure_refused thumbv7em-none-eabihf "$M4SOFT" "is built for -mfloat-abi=hard"
    echo "find_package refused the hard-float bundle for -mfloat-abi=soft"
}
configure() { # bundle-target cpu-flags [cmake args...]: configures tests/packaging/cmake-app only
    local lib=$1 flags=$2
    shift 2
    rm -rf "$OUT/cmake-configure"
    cmake -S "$T/cmake-app" -B "$OUT/cmake-configure" -DBOARD=mps2 "${ARM[@]}" -DARM_CPU_FLAGS="$flags" \
        -DCMAKE_PREFIX_PATH="$(bundle "$lib")" "$@" >"$OUT/cmake-configure.log" 2>&1
}
configure_taken() { # bundle-target cpu-flags [cmake args...]: find_package succeeds
    configure "$@" || { cat "$OUT/cmake-configure.log"; return 1; }
}
configure_refused() { # bundle-target cpu-flags expected-message [cmake args...]: find_package fails
    local lib=$1 flags=$2 want=$3 log=$OUT/cmake-configure.log
    shift 3
    if configure "$lib" "$flags" "$@"; then
        echo "find_package accepted $lib for: $flags $*"
        return 1
    fi
    # CMake wraps the package's message: compare with the line breaks flattened.
    tr -s ' \n' ' ' <"$log" | grep -q "$want" || { cat "$log"; return 1; }
    echo "refused: $lib for $flags $*"
}
cmake_checks() { # the package checks the compiler itself: CPU, float ABI (also gcc's default), version
    configure_refused thumbv7em-none-eabi "$M0" "builds for another CPU"
    configure_refused thumbv7em-none-eabi "$M3" "builds for another CPU"
    configure_refused thumbv7em-none-eabihf "-mcpu=cortex-m4 -mthumb" "is built for -mfloat-abi=hard"
    configure_refused thumbv6m-none-eabi "$M0" "requested version range" \
        -DFERRULE_FIND_VERSION=0.3...0.4
    # CPU options from add_compile_options() count: refused for the wrong core, taken for the
    # right one (configure only).
    configure_refused thumbv7em-none-eabi "" "builds for another CPU" "-DDEMO_CPU_OPTIONS=${M0// /;}"
    configure_taken thumbv6m-none-eabi "" "-DDEMO_CPU_OPTIONS=${M0// /;}"
    configure_taken thumbv6m-none-eabi "$M0" -DFERRULE_FIND_VERSION=0.1...0.3
    echo "find_package(ferrule 0.1...0.3) takes $version"
}
memcpy_from_libc() { # the firmware's memcpy is the C library's, not a copy inside ferrule
    local src=$OUT/mem.c lib raw=$ROOT/target-bundle/thumbv7em-none-eabihf/firmware/libferrule_ffi.a
    printf '%s\n' '#include <string.h>' '#include "ferrule.h"' 'char a[64], b[64];' \
        'int main(void) {' '    ferrule_header_t h;' '    uint8_t out[128];' '    size_t n;' \
        '    volatile size_t len = sizeof a; /* a real call, not an inlined copy */' \
        '    memset(&h, 0, sizeof h);' '    memcpy(a, b, len);' \
        '    return (int)ferrule_encode(&h, (const uint8_t *)a, sizeof a, true, false, out, sizeof out, &n);' \
        '}' >"$src"
    lib=$(bundle thumbv7em-none-eabihf)
    # shellcheck disable=SC2086
    arm-none-eabi-gcc $M4F -Os --specs=nosys.specs -I"$lib/include" "$src" "$lib/lib/libferrule.a" \
        -Wl,--gc-sections -Wl,-Map,"$OUT/mem.map" -o "$OUT/mem.elf"
    memcpy_source "$OUT/mem.map" | grep '/libc\.a(lib_a-memcpy' >/dev/null ||
        { memcpy_source "$OUT/mem.map"; echo "memcpy does not come from newlib"; return 1; }
    # What the bundle fixes: rustc's archive brings compiler_builtins' weak memcpy, which the
    # linker takes before it reaches the C library.
    # shellcheck disable=SC2086
    arm-none-eabi-gcc $M4F -Os --specs=nosys.specs -I"$lib/include" "$src" "$raw" -Wl,--gc-sections \
        -Wl,--no-warn-execstack -Wl,-Map,"$OUT/mem-raw.map" -o "$OUT/mem-raw.elf" 2>"$OUT/mem-raw.err" ||
        { grep -v "^bfd plugin" "$OUT/mem-raw.err"; return 1; }
    memcpy_source "$OUT/mem-raw.map" | grep 'libferrule_ffi\.a(compiler_builtins' >/dev/null ||
        { memcpy_source "$OUT/mem-raw.map"; echo "the raw archive no longer shadows memcpy: update this test"; return 1; }
    echo "memcpy: from newlib with the bundle; from compiler_builtins with the raw rustc archive"
}
memcpy_source() { # map file -> the archive member the linker took for memcpy
    awk '/^Archive member included/ { a = 1; next } /^(Discarded|Memory Configuration)/ { a = 0 }
         a && /\(memcpy\)$/ { print prev } a { prev = $1 }' "$1"
}
raw_archive_rejected() { # check-symbols.sh fails on what rustc produces (stray exports, mem*)
    local raw=$ROOT/target-bundle/thumbv6m-none-eabi/firmware/libferrule_ffi.a
    if bash scripts/check-symbols.sh thumbv6m-none-eabi "$raw" include/ferrule.h >"$OUT/raw.log" 2>&1; then
        echo "the raw rustc archive passed check-symbols"
        return 1
    fi
    if ! grep -q "exports besides ferrule_\*" "$OUT/raw.log" || ! grep -q ".note.GNU-stack present" "$OUT/raw.log"; then
        cat "$OUT/raw.log"
        return 1
    fi
    echo "raw rustc archive rejected: $(grep -c FAIL "$OUT/raw.log") findings"
}

echo "  cases (logs in ${OUT#"$ROOT"/}/logs):"
case_ cmake_m0 cmake_m0
case_ cmake_m4f cmake_m4f
case_ cmake_m33 cmake_m33
case_ cmake_rv32imac cmake_rv32imac
case_ cmake_host cmake_host
case_ cmake_all_targets cmake_all_targets
case_ make_soft make_soft
case_ make_softfp make_softfp
case_ zephyr_m3 zephyr_m3
case_ zephyr_m4f zephyr_m4f
case_ zephyr_rv32imc zephyr_rv32imc
case_ esp_idf esp_idf
case_ host_c_api host_c_api
case_ platformio platformio
case_ float_abi_mismatch float_abi_mismatch
case_ cmake_checks cmake_checks
case_ memcpy_from_libc memcpy_from_libc
case_ raw_archive_rejected raw_archive_rejected

echo "packaging: $passed passed, $failed failed"
[ "$failed" = 0 ] || { echo "failed:$failures"; exit 1; }
