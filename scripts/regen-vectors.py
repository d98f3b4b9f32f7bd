#!/usr/bin/env python3
"""Regenerates the vector blocks of docs/PROTOCOL.md from the implementation's examples.

Run after a change to the wire format: `python3 scripts/regen-vectors.py`; with `--check` it
changes nothing and exits 1 if the document is not what the examples print. The tests read the
blocks back (core/tests/vectors.rs, compression.rs, link_aead.rs, fec_vectors.rs) and fail if
the document and the code disagree; this only saves copying the examples' output by hand.
"""
import re
import subprocess
import sys

DOC = "docs/PROTOCOL.md"


def run(*args):
    return subprocess.run(["cargo", "run", "-q", "-p", "ferrule", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def replace_blocks(doc, kinds, new):
    """Replaces the run of fenced blocks of the given kinds (first to last) with `new`."""
    pattern = "|".join(re.escape(k) for k in kinds)
    starts = [m.start() for m in re.finditer(r"^```(?:%s)\n" % pattern, doc, re.M)]
    if not starts:
        sys.exit("no %s blocks in %s" % (kinds, DOC))
    end = doc.index("```\n", doc.index("\n", starts[-1]) + 1) + 4
    return doc[:starts[0]] + new + "\n" + doc[end:]


check = "--check" in sys.argv[1:]
old = open(DOC).read()
doc = replace_blocks(old, ["vector"], run("--example", "vectors"))
doc = replace_blocks(doc, ["aead-handshake", "aead-vector"],
                     run("--features", "aead", "--example", "aead_vectors"))
doc = replace_blocks(doc, ["compress-vector"], run("--example", "compress_vectors"))
doc = replace_blocks(doc, ["fec-vector"],
                     run("--features", "aead", "--example", "fec_vectors"))
if check:
    if doc != old:
        sys.exit("%s: vector blocks differ from the examples' output; run %s" % (DOC, sys.argv[0]))
    print("vectors in", DOC, "are current")
else:
    open(DOC, "w").write(doc)
    print("vectors regenerated in", DOC)
