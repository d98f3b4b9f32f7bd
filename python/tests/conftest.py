"""Shared helpers: a seeded lossy channel between two sans-IO links on a simulated clock,
CRC-32C for hand-made frames, free UDP ports, and where the repository's binaries are."""

from __future__ import annotations

import heapq
import os
import random
import socket
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import pytest

import ferrule

#: The repository root (python/tests/ -> ..).
ROOT = Path(__file__).resolve().parents[2]
#: The host tool, built by scripts/test-python.sh (`cargo build --release -p ferrule-demo`).
FERRULE_BIN = Path(os.environ.get("FERRULE_BIN", ROOT / "target" / "release" / "ferrule"))
#: The UART firmware, built by scripts/test-firmware.sh.
UART_PEER_ELF = Path(
    os.environ.get("FERRULE_UART_PEER_ELF", ROOT / "target" / "firmware" / "uart_peer.elf")
)


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli, reflected), as the frame trailer uses."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def reseal_datagram(datagram: bytes, payload: bytes) -> bytes:
    """The datagram with its payload replaced and its CRC recomputed (header unchanged)."""
    frame = ferrule.decode_datagram(datagram)
    body = datagram[:-4]
    header = body[: len(body) - len(frame.payload)]
    new = header + payload
    return new + crc32c(new).to_bytes(4, "little")


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class LossyPair:
    """Two links joined by a seeded simulated network: each frame is lost with probability
    `loss`, otherwise delivered after 1..`max_delay` ms (so frames also reorder). Time is
    simulated: `run` jumps from one due event to the next."""

    def __init__(
        self,
        a: ferrule.Link,
        b: ferrule.Link,
        *,
        seed: int,
        loss: float = 0.0,
        max_delay: int = 5,
        mangle: Optional[Callable[[bytes, random.Random], bytes]] = None,
    ) -> None:
        self.a, self.b = a, b
        self.rng = random.Random(seed)
        self.loss = loss
        self.max_delay = max_delay
        self.mangle = mangle
        self.now = 0
        self.queue: List[Tuple[int, int, int, bytes]] = []  # (at, order, to_b, frame)
        self.order = 0
        self.frames = 0
        self.dropped = 0

    def _emit(self) -> None:
        for src, to_b in ((self.a, 1), (self.b, 0)):
            for f in src.transmit_all(self.now):
                self.frames += 1
                if self.rng.random() < self.loss:
                    self.dropped += 1
                    continue
                if self.mangle is not None:
                    f = self.mangle(f, self.rng)
                at = self.now + self.rng.randint(1, self.max_delay)
                self.order += 1
                heapq.heappush(self.queue, (at, self.order, to_b, f))

    def step(self) -> None:
        """Runs everything due now, then advances the clock to the next due event."""
        for link in (self.a, self.b):
            t = link.poll_timeout()
            if t is not None and t <= self.now:
                link.handle_timeout(self.now)
        self._emit()
        while self.queue and self.queue[0][0] <= self.now:
            _, _, to_b, f = heapq.heappop(self.queue)
            (self.b if to_b else self.a).feed(f, self.now)
        self._emit()
        due = [t for t in (self.a.poll_timeout(), self.b.poll_timeout()) if t is not None]
        if self.queue:
            due.append(self.queue[0][0])
        nxt = min(due) if due else self.now + 1
        self.now = max(nxt, self.now + 1)

    def run_until(self, done: Callable[[], bool], limit_ms: int = 600_000) -> None:
        """Steps until `done()` (checked after every step); fails after `limit_ms` of
        simulated time."""
        end = self.now + limit_ms
        while not done():
            assert self.now < end, f"not done after {limit_ms} ms of simulated time"
            self.step()

    def connect(self) -> None:
        self.run_until(lambda: self.a.is_up and self.b.is_up)


@pytest.fixture
def udp_port() -> int:
    return free_udp_port()
