#!/usr/bin/env python3
"""The binding's own cost: two sans-IO links in one process, no network, no threads.

Messages of ``--size`` bytes (64 by default) go from A to B as fast as the window allows:
send, frame, feed, deliver, acknowledge, all through ferrule.Link. What is left per message
is the price of calling the Rust link from Python (compare bench/udp_bench.py, where the
wire, the threads and the second process are added).

Usage: python3 link_bench.py [--messages 200000] [--size 64] [--window 32]
"""

from __future__ import annotations

import argparse
import time

import ferrule


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--window", type=int, default=32)
    args = ap.parse_args()
    a = ferrule.Link("datagram", seed=1, window=args.window)
    b = ferrule.Link("datagram", seed=2, window=args.window)
    now = 0
    while not (a.is_up and b.is_up):
        for f in a.transmit_all(now):
            b.feed(f, now)
        for f in b.transmit_all(now):
            a.feed(f, now)
        now += 1
    msg = b"x" * args.size
    n = args.messages
    sent = got = 0
    t = time.perf_counter()
    while got < n:
        while sent < n:
            try:
                a.send(0, msg, now)
            except ferrule.SendWindowFull:
                break
            sent += 1
        for f in a.transmit_all(now):
            b.feed(f, now)
        got += len(b.messages())
        for f in b.transmit_all(now):
            a.feed(f, now)
        now += 1
    dt = time.perf_counter() - t
    print(
        f"sans-IO, one process, {args.size} B messages, window {args.window}: "
        f"{n / dt:,.0f} msg/s ({dt * 1e6 / n:.2f} us per message: send, frame, feed, "
        f"deliver, acknowledge)"
    )


if __name__ == "__main__":
    main()
