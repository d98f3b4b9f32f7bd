#!/usr/bin/env python3
"""Prints the README framing table from criterion's results (target/criterion)."""
import json, os, sys

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
kinds = ["random", "zero-heavy", "json"]
sizes = [16, 64, 256, 1024, 65536]
impls = ["ferrule-encode", "ferrule-decode", "memcpy", "cobs-encode", "cobs-decode",
         "corncobs-encode", "corncobs-decode"]

def ns(kind, impl, size):
    p = os.path.join(root, kind, impl, str(size), "new", "estimates.json")
    with open(p) as f:
        return json.load(f)["median"]["point_estimate"]

print("| payload | size | " + " | ".join(impls) + " | ferrule enc ns/frame | ferrule dec ns/frame |")
print("|---|---:|" + "---:|" * (len(impls) + 2))
for k in kinds:
    for s in sizes:
        cells = [f"{s / ns(k, i, s):.2f}" for i in impls]
        label = f"{s} B" if s < 1024 else (f"{s // 1024} KiB")
        print(f"| {k} | {label} | " + " | ".join(cells) +
              f" | {ns(k, 'ferrule-encode', s):.0f} | {ns(k, 'ferrule-decode', s):.0f} |")
print("\nGB/s of payload (median); 64 KiB = 16 frames of 4 KiB for ferrule.")
