"""Python <-> the Rust host tool over UDP: `ferrule bridge --udp LOCAL --peer ADDR`, driven
through JSON lines on its stdin and stdout (host-demo/src/cmd/bridge.rs). Messages both ways
at once on several channels, compressed and sealed: delivery must be exact."""

from __future__ import annotations

import base64
import json
import os
import queue
import random
import subprocess
import threading
from typing import Dict, List

import pytest

import ferrule
from conftest import FERRULE_BIN, free_udp_port

if not FERRULE_BIN.exists():
    if os.environ.get("FERRULE_REQUIRE_BRIDGE"):
        raise RuntimeError(f"{FERRULE_BIN} is missing (cargo build --release -p ferrule-demo)")
    pytest.skip(
        f"{FERRULE_BIN} not built: cargo build --release -p ferrule-demo", allow_module_level=True
    )

CHANNELS = [0, 1, 7, 42, 255]


class Bridge:
    """A running `ferrule bridge`; its stdout lines parsed by a thread into a queue."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(FERRULE_BIN), "bridge", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: "queue.Queue[dict]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))
        self.lines.put({"event": "eof"})

    def write_messages(self, msgs: List[tuple]) -> threading.Thread:
        """Writes one JSON line per message from a thread (the bridge reads at the link's
        pace); stdin stays open."""

        def run() -> None:
            assert self.proc.stdin is not None
            for ch, data in msgs:
                line = {"channel": ch, "data": base64.b64encode(data).decode()}
                self.proc.stdin.write((json.dumps(line) + "\n").encode())
            self.proc.stdin.flush()

        t = threading.Thread(target=run)
        t.start()
        return t

    def finish(self) -> int:
        """Closes stdin: the bridge leaves once every message it sent was acknowledged."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=30)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def workload(seed: int, count: int, channels: List[int]) -> List[tuple]:
    """Binary messages (any byte value) spread over channels; each starts with its channel
    and its index on that channel, some compressible."""
    rng = random.Random(seed)
    per: Dict[int, int] = {}
    out = []
    for i in range(count):
        ch = channels[i % len(channels)]
        n = per.get(ch, 0)
        per[ch] = n + 1
        head = bytes([ch]) + n.to_bytes(4, "little")
        body = rng.randbytes(rng.randint(0, 300)) if i % 3 else b"reading=%d;" % n * 20
        out.append((ch, head + body))
    return out


def by_channel(msgs: List[tuple]) -> Dict[int, List[bytes]]:
    out: Dict[int, List[bytes]] = {}
    for ch, data in msgs:
        out.setdefault(ch, []).append(data)
    return out


def exchange(bridge_args: List[str], py_opts: dict, to_tool_n: int, to_py_n: int) -> None:
    py_port, tool_port = free_udp_port(), free_udp_port()
    to_tool = workload(1, to_tool_n, CHANNELS)
    to_py = workload(2, to_py_n, CHANNELS[1:3])
    bridge = Bridge(
        "--udp", f"127.0.0.1:{tool_port}", "--peer", f"127.0.0.1:{py_port}", *bridge_args
    )
    conn = ferrule.open_udp(
        f"127.0.0.1:{py_port}", f"127.0.0.1:{tool_port}", rto_min=5, ack_delay=1, **py_opts
    )
    try:
        writer = bridge.write_messages(to_py)
        got_py: List[tuple] = []
        reader = threading.Thread(
            target=lambda: got_py.extend(
                (m.channel, m.data) for m in (conn.recv(timeout=30) for _ in range(to_py_n))
            )
        )
        reader.start()
        for ch, data in to_tool:
            conn.submit(data, channel=ch, timeout=30)
        conn.flush(timeout=60)
        got_tool: List[tuple] = []
        events = []
        while len(got_tool) < to_tool_n:
            line = bridge.lines.get(timeout=30)
            if "channel" in line:
                got_tool.append((line["channel"], base64.b64decode(line["data"])))
            else:
                assert line["event"] != "eof", f"bridge ended early: {events}"
                events.append(line)
        reader.join(timeout=60)
        writer.join(timeout=60)
        assert by_channel(got_tool) == by_channel(to_tool), "Python to tool not exact"
        assert by_channel(got_py) == by_channel(to_py), "tool to Python not exact"
        assert bridge.finish() == 0  # every message the tool sent was acknowledged
        stderr = bridge.proc.stderr.read().decode() if bridge.proc.stderr else ""
        assert "skipped" not in stderr, stderr
        # The tool closed its session on the way out: the Python side hears it.
        while True:
            e = conn.next_event(timeout=10)
            if e.kind == "down":
                break
        assert e.reason == "peer closed"
    finally:
        bridge.kill()
        conn.close()


def test_python_and_the_rust_tool_exchange_messages_exactly():
    exchange(["--compression", "shared"], {"compression": "per-message"}, 3000, 1000)


def test_python_and_the_rust_tool_with_a_key(tmp_path):
    key = bytes(range(100, 132))
    path = tmp_path / "psk.hex"
    path.write_text(key.hex() + "\n")
    exchange(
        ["--key-file", str(path), "--key-id", "7", "--window", "8"],
        {"key": key, "key_id": 7, "compression": "shared"},
        500,
        500,
    )
