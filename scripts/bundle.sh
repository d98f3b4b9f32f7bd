#!/usr/bin/env bash
# Builds the release bundles of the ferrule C library, one per target, plus one "all targets"
# bundle (PlatformIO, Zephyr, ESP-IDF). Usage:
#
#   bash scripts/bundle.sh [--out DIR] [--no-combined] [TARGET...]
#
# Default DIR: target/bundle. Default targets: all of TARGETS below. For each TARGET it writes
# DIR/ferrule-<version>-<TARGET>/ and DIR/ferrule-<version>-<TARGET>.tar.gz:
#
#   include/ferrule.h, include/ferrule_defaults.h
#   lib/libferrule.a                 one relocatable object: exports only ferrule_*, imports only
#                                    memcpy/memmove/memset/memcmp (host: glibc + libgcc_s)
#   lib/libferrule.so*               host only (SONAME libferrule.so.<major>.<minor> while 0.x)
#   lib/cmake/ferrule/               find_package(ferrule CONFIG) -> ferrule::ferrule
#   lib/pkgconfig/ferrule.pc
#   library.json, platformio/        PlatformIO library
#   README.md, LICENSE-MIT, LICENSE-APACHE, TARGETS
#
# and DIR/ferrule-<version>/ (+ .tar.gz) with lib/<TARGET>/ for every target built, the same
# CMake/PlatformIO files choosing among them, the Zephyr module (zephyr/) and the ESP-IDF
# component (esp-idf/ferrule/). DIR/SHA256SUMS lists the archives.
#
# How a library is cleaned (see packaging/README.md): the crate is built as a staticlib with
# fat LTO; its objects are partially linked (`ld -r --gc-sections`, roots: the ferrule_*
# functions) without compiler_builtins' memcpy/memmove/memset/memcmp/bcmp/strlen, so those
# stay undefined and the C library provides them; on ARM, packaging/shim/aeabi_mem.c maps the
# __aeabi_mem* helpers LLVM calls onto them. objcopy then hides every symbol but ferrule_*,
# drops debug info, embedded bitcode and (bare metal) .note.GNU-stack. scripts/check-symbols.sh
# verifies the result.
#
# Needs: rustup (targets are added as needed), binutils for each target family
# (arm-none-eabi-*, riscv64-unknown-elf-*, host ld/objcopy), arm-none-eabi-gcc for the ARM shim.
# Cargo builds go to target-bundle/ (reused between runs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TERM_COLOR=never

TARGETS=(thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabi thumbv7em-none-eabihf
    thumbv8m.main-none-eabihf riscv32imc-unknown-none-elf riscv32imac-unknown-none-elf
    x86_64-unknown-linux-gnu)
FIRMWARE_FEATURES=panic-handler,aead

out=$ROOT/target/bundle
combined=1
want=()
while [ $# -gt 0 ]; do
    case $1 in
    --out) out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    --no-combined) combined=0; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    *)
        [[ " ${TARGETS[*]} " == *" $1 "* ]] || { echo "unknown target $1; known: ${TARGETS[*]}" >&2; exit 2; }
        want+=("$1"); shift ;;
    esac
done
[ ${#want[@]} -gt 0 ] || want=("${TARGETS[@]}")
mkdir -p "$out"
out=$(cd "$out" && pwd)

# ---------------------------------------------------------------- version: one for all
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[[ $version =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || { echo "no workspace version in Cargo.toml" >&2; exit 1; }
vmaj=${BASH_REMATCH[1]} vmin=${BASH_REMATCH[2]} vpat=${BASH_REMATCH[3]}
header_version=$(awk '/#define FERRULE_VERSION_(MAJOR|MINOR|PATCH) /{printf "%s%s", sep, $3; sep="."}' include/ferrule.h)
if [ "$header_version" != "$version" ]; then
    echo "version mismatch: Cargo.toml says $version, include/ferrule.h says $header_version" >&2
    exit 1
fi
# An ABI break is a minor bump while 0.x, a major one after.
if [ "$vmaj" = 0 ]; then soname=libferrule.so.$vmaj.$vmin; else soname=libferrule.so.$vmaj; fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
echo "ferrule $version: bundling ${want[*]} into $out"

# ---------------------------------------------------------------- per-target facts
# family, float ABI (hard/soft/none), gcc flags a consumer compiles with, CPUs.
target_info() {
    case $1 in
    thumbv6m-none-eabi) FAMILY=arm FLOAT=soft CPUS="Cortex-M0, M0+, M1 (and M23)"
        FLAGS="-mcpu=cortex-m0 -mthumb -mfloat-abi=soft" ;;
    thumbv7m-none-eabi) FAMILY=arm FLOAT=soft CPUS="Cortex-M3 (and M4/M7/M33 built soft-float)"
        FLAGS="-mcpu=cortex-m3 -mthumb -mfloat-abi=soft" ;;
    thumbv7em-none-eabi) FAMILY=arm FLOAT=soft CPUS="Cortex-M4, M7 with -mfloat-abi=soft or softfp"
        FLAGS="-mcpu=cortex-m4 -mthumb -mfloat-abi=soft" ;;
    thumbv7em-none-eabihf) FAMILY=arm FLOAT=hard CPUS="Cortex-M4F, M7F with -mfloat-abi=hard"
        FLAGS="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16" ;;
    thumbv8m.main-none-eabihf) FAMILY=arm FLOAT=hard CPUS="Cortex-M33, M35P, M55 with -mfloat-abi=hard"
        FLAGS="-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16" ;;
    riscv32imc-unknown-none-elf) FAMILY=riscv FLOAT=soft CPUS="RV32IMC: ESP32-C2, ESP32-C3"
        FLAGS="-march=rv32imc -mabi=ilp32" ;;
    riscv32imac-unknown-none-elf) FAMILY=riscv FLOAT=soft CPUS="RV32IMAC: ESP32-C6, ESP32-H2, SiFive FE310, GD32VF103"
        FLAGS="-march=rv32imac -mabi=ilp32" ;;
    x86_64-unknown-linux-gnu) FAMILY=host FLOAT=none CPUS="x86-64 Linux (glibc)"
        FLAGS="" ;; # the host compiler's defaults
    esac
    case $FAMILY in
    arm) CROSS=arm-none-eabi- LDEMU="" ;;
    riscv) CROSS=riscv64-unknown-elf- LDEMU="-m elf32lriscv" ;;
    host) CROSS="" LDEMU="" ;;
    esac
}

# ---------------------------------------------------------------- cargo
host=$(rustc -vV | sed -n 's/^host: //p')
command -v rustup >/dev/null || { echo "bundle.sh needs rustup (it adds the targets it builds)" >&2; exit 1; }
installed=$(rustup target list --installed)
for t in "${want[@]}"; do
    grep -qx "$t" <<<"$installed" || rustup target add "$t"
done

cargo_build() { # target -> RAW_DIR: where the raw staticlib (and the host's cdylib) is
    local t=$1
    if [ "$FAMILY" = host ]; then
        [ "$t" = "$host" ] || { echo "the host bundle is built on its own host ($host here)" >&2; exit 1; }
        cargo rustc -q -p ferrule-ffi --lib --release --target "$t" --crate-type staticlib,cdylib \
            --target-dir "$ROOT/target-bundle" -- -C link-arg=-Wl,-soname,"$soname"
        RAW_DIR=$ROOT/target-bundle/$t/release
    else
        cargo rustc -q -p ferrule-ffi --lib --profile firmware --target "$t" --no-default-features \
            --features "$FIRMWARE_FEATURES" --crate-type staticlib --target-dir "$ROOT/target-bundle"
        RAW_DIR=$ROOT/target-bundle/$t/firmware
    fi
}

# GNU binutils load LLVM's bfd plugin for every object and complain that it cannot read the
# embedded bitcode of a newer LLVM; the ELF contents are used regardless. Hide that line only.
quiet_bfd() { grep -v "^bfd plugin: LLVM gold plugin has failed" >&2 || true; }

# ---------------------------------------------------------------- cleaning
clean_lib() { # target raw.a work-dir -> work-dir/libferrule.a
    local t=$1 raw=$2 work=$3 f
    rm -rf "$work" && mkdir -p "$work/objs"
    (cd "$work/objs" && "${CROSS}ar" x "$raw" 2> >(quiet_bfd))
    # Members defining the C library's functions (compiler_builtins' weak fallbacks): left out,
    # so the references stay undefined and the firmware's C library resolves them.
    for f in "$work"/objs/*.o; do
        if readelf -Ws "$f" | awk '$5 != "LOCAL" && $7 != "UND" && $8 ~ /^(memcpy|memmove|memset|memcmp|bcmp|strlen)$/ { hit = 1 } END { exit !hit }'; then
            rm "$f"
        fi
    done
    # Exports: the ferrule_* functions the crate defines.
    readelf -Ws "$work"/objs/ferrule_ffi*.o | awk '$5 == "GLOBAL" && $7 != "UND" && $8 ~ /^ferrule_/ { print $8 }' |
        sort -u >"$work/exports.txt"
    [ -s "$work/exports.txt" ] || { echo "$t: no ferrule_* symbols in $raw" >&2; exit 1; }
    local inputs=() drop=(--remove-section=.llvmbc --remove-section=.llvmcmd) gc=()
    if [ "$FAMILY" = host ]; then
        # The rustc archive itself, whose index is sound: ld takes the members the ferrule_*
        # functions need. No section GC here: it would leave the unwind tables (.eh_frame,
        # which std's panics need) with entries for dropped code.
        inputs=("$raw")
    else
        inputs=("$work"/objs/*.o)
        gc=(--gc-sections)
        # Bare metal: no .note.GNU-stack, as GCC's own bare-metal objects (and newlib) have
        # none. One object with the note makes ld weigh every object without it as wanting an
        # executable stack ("missing .note.GNU-stack section implies executable stack").
        # No .eh_frame either: the firmware build aborts on panic and nothing unwinds; after
        # the GC above it would also list dropped code, which GNU ld rejects on RISC-V.
        drop+=(--remove-section=.note.GNU-stack --remove-section=.eh_frame
            --remove-section=.rela.eh_frame)
    fi
    if [ "$FAMILY" = arm ]; then
        # shellcheck disable=SC2086
        arm-none-eabi-gcc $FLAGS -Os -std=c11 -Wall -Wextra -Werror -fno-builtin -ffunction-sections \
            -c packaging/shim/aeabi_mem.c -o "$work/aeabi_mem.o"
        inputs=("$work/aeabi_mem.o" "${inputs[@]}")
    fi
    # One relocatable object. -z noexecstack concerns only this intermediate object's note
    # (compiler-rt's C objects have none, rustc's do); bare-metal bundles drop the note below.
    # shellcheck disable=SC2046,SC2086
    "${CROSS}ld" $LDEMU -r "${gc[@]}" --force-group-allocation -z noexecstack \
        $(sed 's/^/-u /' "$work/exports.txt") -o "$work/partial.o" "${inputs[@]}" 2> >(quiet_bfd)
    "${CROSS}objcopy" --keep-global-symbols="$work/exports.txt" --strip-debug --strip-unneeded \
        "${drop[@]}" "$work/partial.o" "$work/ferrule.o" 2> >(quiet_bfd)
    rm -f "$work/libferrule.a"
    (cd "$work" && "${CROSS}ar" rcsD libferrule.a ferrule.o 2> >(quiet_bfd))
}

# ---------------------------------------------------------------- templates
subst() { # template output [extra sed expressions...]
    local in=$1 outf=$2
    shift 2
    mkdir -p "$(dirname "$outf")"
    sed -e "s|@VERSION@|$version|g" -e "s|@VERSION_MAJOR@|$vmaj|g" -e "s|@VERSION_MINOR@|$vmin|g" \
        -e "s|@VERSION_PATCH@|$vpat|g" -e "s|@SONAME@|$soname|g" "$@" "$in" >"$outf"
}

common_files() { # bundle-dir pointer-size (empty: several) -> headers, licence, CMake, PlatformIO
    local b=$1
    mkdir -p "$b/include" "$b/platformio"
    cp include/ferrule.h packaging/include/ferrule_defaults.h "$b/include/"
    cp LICENSE-MIT LICENSE-APACHE "$b/"
    subst packaging/cmake/ferrule-config.cmake.in "$b/lib/cmake/ferrule/ferrule-config.cmake"
    subst packaging/cmake/ferrule-config-version.cmake.in \
        "$b/lib/cmake/ferrule/ferrule-config-version.cmake" -e "s|@SIZEOF_VOID_P@|$2|"
    subst packaging/platformio/library.json.in "$b/library.json"
    cp packaging/platformio/extra_script.py "$b/platformio/"
}

pkgconfig_file() { # output prefix-relative-to-pcfiledir libdir-relative-to-prefix
    local cflags="-I\${includedir} -DFERRULE_HAS_AEAD=1" private=""
    [ "$FAMILY" = host ] && private="-lpthread -ldl -lm"
    subst packaging/pkg-config/ferrule.pc.in "$1" -e "s|@PREFIX@|\${pcfiledir}/$2|" -e "s|@LIBDIR@|$3|" \
        -e "s|@TARGET@|$T|g" -e "s|@CFLAGS@|$cflags|" -e "s|@LIBS_PRIVATE@|$private|" \
        -e "s|@FLAGS@|$FLAGS|"
}

install_libs() { # work-dir libdir
    mkdir -p "$2"
    cp "$1/libferrule.a" "$2/"
    if [ "$FAMILY" = host ]; then
        cp "$RAW_DIR/libferrule_ffi.so" "$2/libferrule.so.$version"
        ln -sf "libferrule.so.$version" "$2/$soname"
        ln -sf "$soname" "$2/libferrule.so"
    fi
}

tarball() { # dir-name (inside $out)
    tar -C "$out" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
        -cf - "$1" | gzip -9n >"$out/$1.tar.gz"
}

# ---------------------------------------------------------------- per target
readme_rows=""
declare -A WORK
for T in "${want[@]}"; do
    start=$SECONDS
    target_info "$T"
    for tool in "${CROSS}ld" "${CROSS}objcopy" "${CROSS}ar"; do
        command -v "$tool" >/dev/null || { echo "$T needs $tool (binutils for the target)" >&2; exit 1; }
    done
    cargo_build "$T"
    work=$ROOT/target-bundle/work/$T
    clean_lib "$T" "$RAW_DIR/libferrule_ffi.a" "$work"
    WORK[$T]=$work
    report=$(bash scripts/check-symbols.sh "$T" "$work/libferrule.a" include/ferrule.h)
    grep -q "$version" <(strings -a "$work/libferrule.a") ||
        { echo "$T: the version string $version is not in the library" >&2; exit 1; }

    name=ferrule-$version-$T
    b=$out/$name
    rm -rf "$b" "$b.tar.gz"
    sizeof=4
    [ "$FAMILY" = host ] && sizeof=8
    common_files "$b" "$sizeof"
    echo "$T" >"$b/TARGETS"
    install_libs "$work" "$b/lib"
    pkgconfig_file "$b/lib/pkgconfig/ferrule.pc" ../.. lib
    imports=$(sed -n 's/^  imports: //p' <<<"$report")
    # A host bundle ships libferrule.so too: -lferrule links it, so the program needs to find it
    # at run time (an rpath); linking the archive by path gives a program without that need.
    host_rpath="" host_note="" compiler="${CROSS}gcc"
    if [ "$FAMILY" = host ]; then
        compiler=cc
        host_rpath=' -Wl,-rpath,$(pkg-config --variable=libdir ferrule)'
        host_note=' (no run-time dependency)'
    fi
    subst packaging/README.bundle.md.in "$b/README.md" -e "s|@TARGET@|$T|g" -e "s|@CPUS@|$CPUS|g" \
        -e "s|@FLAGS@|${FLAGS:-(host compiler defaults)}|g" -e "s|@FLOAT@|$FLOAT|g" \
        -e "s|@IMPORTS@|$imports|g" -e "s|@CCFLAGS@|${FLAGS:+$FLAGS }|g" \
        -e "s|@RPATH@|${host_rpath}|g" -e "s|@STATIC_NOTE@|${host_note}|g" -e "s|@CC@|$compiler|g"
    if [ "$FAMILY" = host ]; then
        # The shared library answers with the same version.
        cc -Iinclude -x c - -o "$work/version" -L"$b/lib" -lferrule -Wl,-rpath,"$b/lib" <<'EOF'
#include <stdio.h>
#include "ferrule.h"
int main(void) { puts(ferrule_version()); return 0; }
EOF
        [ "$("$work/version")" = "$version" ] || { echo "ferrule_version() is not $version" >&2; exit 1; }
    fi
    tarball "$name"
    size=$(stat -c %s "$work/libferrule.a")
    printf '  %-28s %s, %d B archive, %ds\n' "$T" "$(sed -n 's/^  summary: //p' <<<"$report")" "$size" \
        $((SECONDS - start))
    readme_rows+="| \`$T\` | $CPUS | $FLOAT | ${FLAGS:+\`$FLAGS\`} |"$'\n'
done

# ---------------------------------------------------------------- all targets in one
if [ "$combined" = 1 ]; then
    name=ferrule-$version
    b=$out/$name
    rm -rf "$b" "$b.tar.gz"
    common_files "$b" ""
    printf '%s\n' "${want[@]}" >"$b/TARGETS"
    riscv=()
    for T in "${want[@]}"; do
        target_info "$T"
        RAW_DIR=$ROOT/target-bundle/$T/release
        install_libs "${WORK[$T]}" "$b/lib/$T"
        pkgconfig_file "$b/lib/$T/pkgconfig/ferrule.pc" ../../.. "lib/$T"
        [ "$FAMILY" = riscv ] && riscv+=("$T")
    done
    mkdir -p "$b/zephyr"
    cp zephyr/module.yml zephyr/CMakeLists.txt zephyr/Kconfig "$b/zephyr/"
    if [ ${#riscv[@]} -gt 0 ]; then
        c=$b/esp-idf/ferrule
        mkdir -p "$c/include"
        cp packaging/esp-idf/ferrule/CMakeLists.txt "$c/"
        subst packaging/esp-idf/ferrule/idf_component.yml.in "$c/idf_component.yml"
        cp include/ferrule.h packaging/include/ferrule_defaults.h "$c/include/"
        cp LICENSE-MIT LICENSE-APACHE "$c/"
        for T in "${riscv[@]}"; do
            target_info "$T" # FAMILY: the last target of the loop above may be the host's
            install_libs "${WORK[$T]}" "$c/lib/$T"
        done
    fi
    rows=${readme_rows//$'\n'/\\n}
    subst packaging/README.combined.md.in "$b/README.md" -e "s#@ROWS@#${rows//#/\\#}#"
    tarball "$name"
    echo "  all targets: $name/ (lib/<target>/, Zephyr module, ESP-IDF component, PlatformIO)"
fi

(cd "$out" && sha256sum ferrule-"$version"*.tar.gz >SHA256SUMS)
echo "bundles in $out"
