"""Framing helpers: encode_frame, decode_datagram, StreamDecoder."""

from __future__ import annotations

import random

import pytest

import ferrule
from conftest import crc32c


def test_stream_frame_round_trip_byte_by_byte():
    rng = random.Random(1)
    payloads = [rng.randbytes(rng.randint(0, 600)) for _ in range(50)] + [b"\x00" * 300]
    wire = b"".join(ferrule.encode_frame(i % 256, p) for i, p in enumerate(payloads))
    dec = ferrule.StreamDecoder()
    frames = []
    for k in range(len(wire)):
        frames += dec.feed(wire[k : k + 1])
    assert [f.payload for f in frames] == payloads
    assert [f.channel for f in frames] == [i % 256 for i in range(len(payloads))]
    assert all(f.kind == "DATA" and f.seq is None and f.compression == "none" for f in frames)
    assert dec.stats.frames_ok == len(payloads) and dec.stats.rejected == 0


def test_stream_frames_never_contain_zero_and_end_with_it():
    f = ferrule.encode_frame(1, b"\x00\x00\x00", leading_delimiter=True)
    assert f[0] == 0 and f[-1] == 0 and 0 not in f[1:-1]


def test_datagram_round_trip_and_header_fields():
    d = ferrule.encode_frame(42, b"hello", stream=False)
    assert 0 not in d[-1:] or True
    f = ferrule.decode_datagram(d)
    assert (f.kind, f.channel, f.payload, f.flags) == ("DATA", 42, b"hello", 0)
    assert d[0] >> 4 == ferrule.PROTOCOL_VERSION
    body = d[:-4]
    assert int.from_bytes(d[-4:], "little") == crc32c(body)
    assert "payload=b'hello'" in repr(f)


def test_garbage_between_frames_is_skipped_and_counted():
    good = ferrule.encode_frame(3, b"abc")
    bad = bytearray(ferrule.encode_frame(3, b"abd"))
    bad[3] ^= 0x01  # corrupt: CRC (or COBS) check fails
    noise = b"\x13\x37\xff\x00"
    dec = ferrule.StreamDecoder()
    frames = dec.feed(noise + bytes(bad) + good + noise + good)
    assert [f.payload for f in frames] == [b"abc", b"abc"]
    s = dec.stats
    assert s.frames_ok == 2 and s.rejected == 3
    assert s.bytes_in == len(noise) * 2 + len(bad) + 2 * len(good)


def test_oversize_frames_are_dropped_whole():
    dec = ferrule.StreamDecoder(max_payload=16)
    frames = dec.feed(ferrule.encode_frame(0, b"x" * 100) + ferrule.encode_frame(0, b"ok"))
    assert [f.payload for f in frames] == [b"ok"]
    assert dec.stats.oversize == 1 and dec.max_payload == 16


def test_partial_frame_reset():
    dec = ferrule.StreamDecoder()
    f = ferrule.encode_frame(0, b"payload")
    assert dec.feed(f[:5]) == []
    dec.reset()
    assert dec.feed(f[5:]) == []  # the tail alone is not a frame
    assert [x.payload for x in dec.feed(f)] == [b"payload"]


@pytest.mark.parametrize(
    "datagram,status",
    [
        (b"", "FERRULE_ERR_TOO_SHORT"),
        (b"\x20\x00\x00\x00\x00\x00\x00", "FERRULE_ERR_BAD_CRC"),
    ],
)
def test_decode_datagram_errors_name_their_status(datagram, status):
    with pytest.raises(ferrule.FrameError) as e:
        ferrule.decode_datagram(datagram)
    assert e.value.status == status
    assert isinstance(e.value, ValueError)


def test_decode_datagram_bad_version_and_kind():
    def frame(first: int) -> bytes:
        body = bytes([first, 0, 0])
        return body + crc32c(body).to_bytes(4, "little")

    with pytest.raises(ferrule.FrameError) as e:
        ferrule.decode_datagram(frame(0x10))  # version 1
    assert e.value.status == "FERRULE_ERR_BAD_VERSION"
    with pytest.raises(ferrule.FrameError) as e:
        ferrule.decode_datagram(frame(0x2F))  # type 15
    assert e.value.status == "FERRULE_ERR_UNKNOWN_KIND"
    with pytest.raises(ferrule.FrameError) as e:
        ferrule.decode_datagram(frame(0x21))  # RDATA without SEQ
    assert e.value.status == "FERRULE_ERR_BAD_FLAGS"


def test_frames_of_a_link_show_their_header():
    a = ferrule.Link("datagram", seed=1)
    hello = ferrule.decode_datagram(a.poll_transmit(0))
    assert hello.kind == "HELLO" and len(hello.payload) == 40
    assert a.poll_transmit(0) is None
