#!/usr/bin/env python3
"""Compares the "Stack:" figures of include/ferrule.h with the peaks scripts/test-firmware.sh
painted (target/firmware/stack_m0.log, stack_m4f.log; the compact link's functions:
stack_compact_m0.log, stack_compact_m4f.log). A function's figures match when its
"Stack:" sentence names the Cortex-M0 and the Cortex-M4F peak (where it lists figures per
configuration, its first pair is one configuration's peaks), or gives one figure equal to the
larger of the two, or says "under N" with both peaks below N. Prints one line per mismatch and a summary; exits 1 on a mismatch
when run with --strict (test-firmware.sh reports only: the figures hold for the toolchain of
the release, and another rustc may move them).

    python3 scripts/check-stack-docs.py target/firmware [--strict]
"""

import os
import re
import sys


def peaks(path):
    """function -> (peak over every configuration, the peaks per configuration)."""
    found = {}
    for line in open(path, encoding="utf-8"):
        m = re.match(r"stack (ferrule_\w+) (\d+) \(.*by configuration: (.*)\)", line)
        if m:
            each = {int(n) for n in re.findall(r"\w+ (\d+)", m.group(3))}
            found[m.group(1)] = (int(m.group(2)), each)
    return found


def documented(header):
    """function name -> the text of its "Stack:" sentence(s) in the header's comments."""
    docs, comment = {}, []
    for line in open(header, encoding="utf-8"):
        stripped = line.strip()
        if stripped.startswith("//"):
            comment.append(stripped[2:].strip())
            continue
        m = re.search(r"\b(ferrule_\w+)\(", stripped)
        if m and comment:
            text = " ".join(comment)
            at = text.find("Stack:")
            if at >= 0:
                docs[m.group(1)] = text[at:].split("# Safety")[0]
        if not stripped.startswith("//"):
            comment = []
    return docs


def matches(text, m0, m4f):
    """m0, m4f: (peak, the peaks per configuration)."""
    under = re.match(r"Stack: under (\d+)", text)
    if under:
        return max(m0[0], m4f[0]) < int(under.group(1))
    numbers = [int(n) for n in re.findall(r"\b(\d+)\b", text.split(". Not")[0])]
    if len(numbers) > 2:
        # Figures per configuration: the first pair is one configuration's peaks, and the
        # largest configuration's are there too.
        return numbers[0] in m0[1] and numbers[1] in m4f[1] and m0[0] in numbers and m4f[0] in numbers
    if m0[0] in numbers and m4f[0] in numbers:
        return True
    first = text.split(".")[0]
    return len(numbers) == 1 and numbers[0] == max(m0[0], m4f[0]) and "Cortex" not in first


def main():
    out = sys.argv[1]
    strict = "--strict" in sys.argv
    m0, m4f = peaks(f"{out}/stack_m0.log"), peaks(f"{out}/stack_m4f.log")
    # The compact link's functions (ferrule_compact_*), painted by tests/firmware/stack_compact.c.
    if os.path.exists(f"{out}/stack_compact_m0.log") and os.path.exists(f"{out}/stack_compact_m4f.log"):
        m0.update(peaks(f"{out}/stack_compact_m0.log"))
        m4f.update(peaks(f"{out}/stack_compact_m4f.log"))
    docs = documented("include/ferrule.h")
    bad, matched = [], 0
    for name in sorted(m4f):
        if name not in m0:
            continue
        if name not in docs:
            bad.append(f"{name}: no Stack: figure in the header (measured {m0[name][0]} B on "
                       f"Cortex-M0, {m4f[name][0]} B on Cortex-M4F)")
        elif matches(docs[name], m0[name], m4f[name]):
            matched += 1
        else:
            bad.append(f"{name}: header says \"{docs[name][:90]}\", measured {m0[name][0]} B on "
                       f"Cortex-M0, {m4f[name][0]} B on Cortex-M4F (per configuration "
                       f"{sorted(m0[name][1])} and {sorted(m4f[name][1])})")
    for line in bad:
        print(f"  stack figure differs: {line}")
    print(f"  stack figures in include/ferrule.h: {matched} of {matched + len(bad)} functions match "
          "the measured peaks" + ("" if not bad else f", {len(bad)} differ (reported)"))
    return 1 if bad and strict else 0


if __name__ == "__main__":
    sys.exit(main())
