"""docs/PROTOCOL.md 5.4 and 5.5 as a zlib user reads them: every compression vector inflates
with Python's zlib by the recipe of 5.4, and zlib's output made by that recipe is what the
vectors' form says (raw deflate, fixed codes, a shared piece without its sync-flush tail)."""

from __future__ import annotations

import re
import zlib
from typing import Dict, List, Tuple

from conftest import ROOT


def vectors() -> Tuple[Dict[int, bytes], List[Dict[str, str]]]:
    text = (ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    dictionaries: Dict[int, bytes] = {}
    rows: List[Dict[str, str]] = []
    for block in re.findall(r"```compress-vector\n(.*?)```", text, re.S):
        fields: Dict[str, str] = {}
        for line in block.strip().splitlines():
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
        for key, value in fields.items():
            if key.startswith("dictionary "):
                dictionaries[int(key.split()[1])] = bytes.fromhex(value)
        if "name" in fields:
            rows.append(fields)
    return dictionaries, rows


def stored(raw: bytes) -> bytes:
    """A non-final stored block: how a raw `SHARED` message enters zlib's history (5.4)."""
    n = len(raw)
    return b"\x00" + n.to_bytes(2, "little") + (n ^ 0xFFFF).to_bytes(2, "little") + raw


def test_every_vector_inflates_with_zlib_as_5_4_says():
    dictionaries, rows = vectors()
    assert len(rows) == 5 and 7 in dictionaries
    shared = zlib.decompressobj(-15)  # one per session and direction
    for v in rows:
        flags = v["flags"].split()
        message, payload = bytes.fromhex(v["message"]), bytes.fromhex(v["payload"])
        if "SHARED" in flags and "COMPRESSED" in flags:
            got = shared.decompress(payload + b"\x00\x00\xff\xff")
        elif "SHARED" in flags:
            assert shared.decompress(stored(payload)) == payload
            got = payload
        elif "DICT" in flags:
            d = zlib.decompressobj(-15, zdict=dictionaries[int(flags[flags.index("DICT") + 1])])
            got = d.decompress(payload) + d.flush()
            assert d.eof
        else:
            d = zlib.decompressobj(-15)
            got = d.decompress(payload) + d.flush()
            assert d.eof
        assert got == message, v["name"]


def test_the_5_4_sender_recipe_gives_pieces_of_the_vectors_form():
    _, rows = vectors()
    messages = [bytes.fromhex(v["message"]) for v in rows if "SHARED" in v["flags"].split()]
    sender = zlib.compressobj(9, zlib.DEFLATED, -10, 9, zlib.Z_FIXED)
    receiver = zlib.decompressobj(-15)
    for m in messages:
        piece = sender.compress(m) + sender.flush(zlib.Z_SYNC_FLUSH)
        assert piece.endswith(b"\x00\x00\xff\xff")
        piece = piece[:-4]
        if len(piece) < len(m):
            assert receiver.decompress(piece + b"\x00\x00\xff\xff") == m
        else:  # not shorter: sent raw, SHARED alone
            assert receiver.decompress(stored(m)) == m
