#!/usr/bin/env bash
# Checks a libferrule.a for what it exports and imports. Usage:
#
#   bash scripts/check-symbols.sh TARGET path/to/libferrule.a [path/to/ferrule.h]
#
# Fails unless:
#   - every defined global or weak symbol is a ferrule_* function (and, given the header, the
#     exports are exactly the functions the header declares);
#   - bare metal: the only undefined symbols are among memcpy, memmove, memset, memcmp (the C
#     library's; nothing else is needed, no libgcc helper, no allocator);
#     host: every undefined symbol resolves against glibc and libgcc_s (checked by linking);
#   - bare metal: no object carries .note.GNU-stack (as GCC's bare-metal objects and newlib,
#     so linking never warns about an executable stack); host: the note is there, non-executable;
#   - no embedded LLVM bitcode is left (.llvmbc); bare metal: no .eh_frame (the firmware build
#     aborts on panic, nothing unwinds); host: .eh_frame lists no dropped code;
#   - the float ABI recorded in the object is the target's (ARM: Tag_ABI_VFP_args; RISC-V:
#     soft-float ilp32 with compressed instructions).
# Prints "  exports: ...", "  imports: ..." and "  summary: ..." lines (scripts/bundle.sh reads
# them).
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2; }
target=$1 lib=$2 header=${3:-}
[ -f "$lib" ] || { echo "no such archive: $lib" >&2; exit 2; }
ALLOWED_IMPORTS="memcpy memmove memset memcmp"
fail=0
bad() { echo "  FAIL: $*"; fail=1; }
words() { xargs <<<"$1"; } # one line, single spaces

# readelf reads any ELF machine and, unlike nm, never loads the LTO plugin.
symbols=$(readelf -Ws "$lib")
defined=$(awk '$5 ~ /^(GLOBAL|WEAK|UNIQUE)$/ && $7 != "UND" && $8 != "" { print $8 }' <<<"$symbols" | sort -u)
undefined=$(awk '$5 ~ /^(GLOBAL|WEAK)$/ && $7 == "UND" && $8 != "" { print $8 }' <<<"$symbols" | sort -u)
stray=$(grep -v '^ferrule_' <<<"$defined" || true)
[ -z "$stray" ] || bad "exports besides ferrule_*: $(words "$stray" | cut -c1-300)"
[ -n "$defined" ] || bad "no exported symbol at all"

if [ -n "$header" ]; then
    declared=$(grep -v '^\s*//' "$header" | grep -oE '\bferrule_[a-z0-9_]+\(' | tr -d '(' | sort -u)
    missing=$(comm -23 <(echo "$declared") <(echo "$defined"))
    extra=$(comm -13 <(echo "$declared") <(echo "$defined") | grep '^ferrule_' || true)
    [ -z "$missing" ] || bad "declared in $(basename "$header") but not exported: $(words "$missing")"
    [ -z "$extra" ] || bad "exported but not in $(basename "$header"): $(words "$extra")"
fi

sections=$(readelf -SW "$lib")
case $target in
x86_64-*linux-gnu)
    # Every import must come from the C runtime a program links anyway (scripts/test-c.sh's list).
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    if ! cc -shared -o "$tmp/all.so" -Wl,--no-undefined -Wl,--whole-archive "$lib" \
        -Wl,--no-whole-archive -lpthread -ldl -lm -lgcc_s 2>"$tmp/err"; then
        bad "imports not resolved by glibc + libgcc_s: $(grep -o "undefined reference to .*" "$tmp/err" | sort -u | head -5 | tr '\n' ' ')"
    fi
    grep -q '\.note\.GNU-stack' <<<"$sections" || bad "no .note.GNU-stack (the linker would assume an executable stack)"
    # Fields after the name: Type Address Off Size ES [Flg] Lk Inf Al; flag X = executable.
    if grep '\.note\.GNU-stack' <<<"$sections" | sed 's/.*\.note\.GNU-stack//' | awk 'NF == 9 && $6 ~ /X/ { x = 1 } END { exit !x }'; then
        bad ".note.GNU-stack asks for an executable stack"
    fi
    # Unwind tables (std's panics are caught at the boundary) with no entries left for code
    # that is not in the object.
    if readelf -rW "$lib" | awk '/rela\.eh_frame/ { f = 1; next } /^Relocation section/ { f = 0 } f && /_NONE/ { n++ } END { exit !n }'; then
        bad ".eh_frame lists code that is not in the object (R_*_NONE entries)"
    fi
    imports_note="glibc + libgcc_s ($(wc -w <<<"$undefined") symbols, resolved by a test link)"
    ;;
*)
    for s in $undefined; do
        [[ " $ALLOWED_IMPORTS " == *" $s "* ]] || bad "imports $s (allowed: $ALLOWED_IMPORTS)"
    done
    ! grep -q '\.note\.GNU-stack' <<<"$sections" || bad ".note.GNU-stack present (bare-metal links would warn about an executable stack)"
    ! grep -q ' \.eh_frame ' <<<"$sections" || bad ".eh_frame present (nothing unwinds in a panic=abort firmware build)"
    imports_note=$(words "$undefined")
    ;;
esac
! grep -q '\.llvmbc' <<<"$sections" || bad "embedded LLVM bitcode (.llvmbc) left in the archive"

case $target in
thumb*eabihf)
    readelf -A "$lib" | grep 'Tag_ABI_VFP_args: VFP registers' >/dev/null || bad "not built for the hard-float ABI"
    abi="hard-float (VFP register arguments)"
    ;;
thumb*)
    ! readelf -A "$lib" | grep 'Tag_ABI_VFP_args: VFP registers' >/dev/null || bad "built for the hard-float ABI"
    abi="soft-float (base AAPCS: links with -mfloat-abi=soft and softfp)"
    ;;
riscv32*)
    flags=$(readelf -h "$lib" | sed -n 's/^ *Flags: *//p' | sort -u)
    [[ $flags == *"RVC, soft-float ABI"* ]] || bad "ELF flags '$flags', want RVC, soft-float ABI (ilp32)"
    abi="ilp32 soft-float, RVC"
    ;;
*) abi="host" ;;
esac

members=$(ar t "$lib" 2>/dev/null | wc -l)
n=$(wc -w <<<"$defined")
echo "  exports: $(words "$defined")"
echo "  imports: ${imports_note:-none}"
echo "  summary: $n exports (ferrule_* only), imports ${imports_note:-none}, $abi, $members object(s)"
[ "$fail" = 0 ] || { echo "check-symbols: $lib ($target) FAILED" >&2; exit 1; }
