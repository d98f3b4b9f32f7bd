"""Python <-> the QEMU firmware over its serial port: tests/firmware/uart_peer.c (the C API on
a Cortex-M4F, QEMU mps2-an386) with UART0 on a pty, opened with ferrule.open_serial.

The firmware's protocol (tests/firmware/uart_peer.c, host-demo/src/cmd/firmware.rs):
request i is `[i u32 LE] 'H' text(i)`, the response `[i u32 LE] 'F' reverse(text(i))`, or
`'X'` when the request was not what text(i) says. text(i) is the record
`{"n":i,"t":21.d,"s":"ok"}` (d = i % 10) repeated and cut to 24 + (i * 37) % 160 bytes.
The firmware compresses its replies (shared stream); every request gets exactly one reply.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import threading
from typing import Dict

import pytest

import ferrule
from conftest import UART_PEER_ELF

QEMU = shutil.which("qemu-system-arm")
COUNT = int(os.environ.get("FERRULE_FIRMWARE_COUNT", "300"))

needs_firmware = [
    pytest.mark.skipif(
        not UART_PEER_ELF.exists(),
        reason=f"{UART_PEER_ELF} not built (scripts/test-firmware.sh builds it from "
        "tests/firmware/uart_peer.c)",
    ),
    pytest.mark.skipif(QEMU is None, reason="qemu-system-arm not installed"),
    pytest.mark.skipif(os.name != "posix", reason="QEMU's -serial pty is POSIX"),
]


def with_firmware(f):
    for mark in needs_firmware:
        f = mark(f)
    return f


def text(i: int) -> bytes:
    rec = b'{"n":%d,"t":21.%d,"s":"ok"}' % (i, i % 10)
    n = 24 + (i * 37) % 160
    return (rec * (n // len(rec) + 1))[:n]


def request(i: int) -> bytes:
    return i.to_bytes(4, "little") + b"H" + text(i)


def response(i: int) -> bytes:
    return i.to_bytes(4, "little") + b"F" + text(i)[::-1]


def test_text_matches_the_firmware_definition():
    # The same checks as host-demo/src/cmd/firmware.rs.
    assert text(0) == b'{"n":0,"t":21.0,"s":"ok"'
    assert len(text(3)) == 24 + 111
    assert response(1)[4:5] == b"F" and response(1)[-1:] == b"{"


@pytest.fixture
def firmware_port():
    """QEMU running the firmware; yields the pty its UART0 is on."""
    proc = subprocess.Popen(
        [
            str(QEMU),
            "-M", "mps2-an386", "-nographic", "-monitor", "none",
            "-semihosting-config", "enable=on,target=native,arg=uart_peer,arg=seed=4004",
            "-serial", "pty",
            "-kernel", str(UART_PEER_ELF),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: "queue.Queue[str]" = queue.Queue()
    log = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.append(line.rstrip())
            lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=30)
            assert line, f"QEMU ended without a pty: {log}"
            m = re.search(r"/dev/pts/\d+", line)
            if m:
                break
        yield m.group(0)
    finally:
        proc.kill()
        proc.wait()
        print("\n".join("  firmware: " + l for l in log))


@with_firmware
def test_requests_and_responses_with_the_firmware(firmware_port):
    conn = ferrule.open_serial(
        firmware_port,
        115200,
        compression="shared",
        max_message=256,
        rto_initial=200,
        keepalive=500,
        rto_min=5,
        ack_delay=1,
    )
    with conn:
        conn.wait_up(timeout=30)
        answered: Dict[int, bytes] = {}
        received = []
        done = threading.Event()

        def reader() -> None:
            while len(received) < COUNT:
                received.append(conn.recv(timeout=60).data)
            done.set()

        t = threading.Thread(target=reader)
        t.start()
        for i in range(COUNT):
            conn.submit(request(i), timeout=60)
        conn.flush(timeout=60)
        t.join(timeout=120)
        assert done.is_set(), f"{len(received)}/{COUNT} responses"
        for m in received:
            i = int.from_bytes(m[:4], "little")
            assert m == response(i), f"response {i} corrupted or refused: {m[:8]!r}"
            assert i not in answered, f"response {i} twice"
            answered[i] = m
        assert sorted(answered) == list(range(COUNT))
        s = conn.stats
        assert s.sessions == 1 and s.link_downs == 0
        assert conn.link.codec_stats.inflated > 0  # the firmware's replies came compressed
