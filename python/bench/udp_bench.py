#!/usr/bin/env python3
"""Python <-> Python over loopback UDP with ferrule.open_udp: throughput and latency.

Two processes (each its own interpreter and GIL), as two programs on a test rig would be:
this one sends, a child process (this script with ``--role peer``) receives.

1. Throughput: the sender submits ``--messages`` messages of ``--size`` bytes (64 by
   default) as fast as the window allows and waits until all are acknowledged. Reported:
   messages per second (all delivered and acknowledged), and the one-way delivery latency of
   each message under that load (p50/p99, from a monotonic timestamp carried in the message;
   both processes read the same system-wide clock), as the Rust demo's ``latency_us``.
2. Request/response: ``--pingpong`` messages one at a time, each echoed back by the peer
   before the next goes: round-trip time p50/p99 (a test rig's command/reply pattern).

Usage: python3 udp_bench.py [--messages 50000] [--size 64] [--window 32] [--pingpong 2000]
[--json]. Speed targets belong here, never in the tests.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import subprocess
import sys
import time
from typing import List, Optional

import ferrule

HEAD = struct.Struct("<QI")  # send time (monotonic ns), index
LINK = dict(rto_min=5, rto_max=1000, ack_delay=1, compression="off")


def free_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def percentile(sorted_values: List[float], p: float) -> Optional[float]:
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def rnd(v: Optional[float]) -> Optional[int]:
    return None if v is None else round(v)


def peer(args: argparse.Namespace) -> None:
    conn = ferrule.open_udp(args.local, args.peer, window=args.window, **LINK)
    latencies = []
    for _ in range(args.messages):
        m = conn.recv(timeout=60)
        sent_ns, _ = HEAD.unpack_from(m.data)
        latencies.append((time.monotonic_ns() - sent_ns) / 1000)
    # Results of phase 1 go out first (a line on stdout), then the echo phase.
    latencies.sort()
    print(
        json.dumps(
            {
                "delivered": len(latencies),
                "latency_us": {
                    "p50": percentile(latencies, 50),
                    "p90": percentile(latencies, 90),
                    "p99": percentile(latencies, 99),
                    "max": latencies[-1] if latencies else None,
                },
            }
        ),
        flush=True,
    )
    for _ in range(args.pingpong):
        m = conn.recv(timeout=60)
        conn.submit(m.data, timeout=60)
    conn.flush(timeout=60)
    # Wait for the sender to close the session, then leave.
    try:
        while conn.next_event(timeout=30).kind != "down":
            pass
    except (ferrule.Timeout, ferrule.LinkClosed):
        pass
    conn.close()


def sender(args: argparse.Namespace) -> dict:
    pa, pb = free_port(), free_port()
    child = subprocess.Popen(
        [
            sys.executable, __file__, "--role", "peer",
            "--local", f"127.0.0.1:{pb}", "--peer", f"127.0.0.1:{pa}",
            "--messages", str(args.messages), "--pingpong", str(args.pingpong),
            "--window", str(args.window),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        conn = ferrule.open_udp(f"127.0.0.1:{pa}", f"127.0.0.1:{pb}", window=args.window, **LINK)
        conn.wait_up(timeout=30)
        pad = b"\xa5" * max(0, args.size - HEAD.size)
        t0 = time.perf_counter()
        for i in range(args.messages):
            conn.submit(HEAD.pack(time.monotonic_ns(), i) + pad, timeout=60)
        conn.flush(timeout=60)
        elapsed = time.perf_counter() - t0
        assert child.stdout is not None
        phase1 = json.loads(child.stdout.readline())
        stats1 = conn.stats

        rtts = []
        for i in range(args.pingpong):
            msg = HEAD.pack(time.monotonic_ns(), i) + pad
            t = time.perf_counter()
            conn.submit(msg, timeout=60)
            reply = conn.recv(timeout=60)
            rtts.append((time.perf_counter() - t) * 1e6)
            assert reply.data == msg
        conn.close()
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    rtts.sort()
    return {
        "transport": "udp loopback, Python <-> Python (two processes)",
        "message_bytes": args.size,
        "window": args.window,
        "messages": args.messages,
        "elapsed_s": round(elapsed, 3),
        "msgs_per_s": round(args.messages / elapsed),
        "delivered": phase1["delivered"],
        "latency_us": {k: rnd(v) for k, v in phase1["latency_us"].items()},
        "retransmissions": stats1.retransmissions,
        "pingpong": {
            "count": args.pingpong,
            "rtt_us": {
                "p50": rnd(percentile(rtts, 50)),
                "p99": rnd(percentile(rtts, 99)),
                "max": rnd(rtts[-1] if rtts else None),
            },
        },
        "python": sys.version.split()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--role", choices=["sender", "peer"], default="sender")
    ap.add_argument("--local")
    ap.add_argument("--peer")
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--pingpong", type=int, default=2_000)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    if args.size < HEAD.size:
        ap.error(f"--size must be at least {HEAD.size}")
    if args.role == "peer":
        peer(args)
        return
    r = sender(args)
    if args.json:
        print(json.dumps(r))
        return
    lat = r["latency_us"]
    rtt = r["pingpong"]["rtt_us"]
    print(f"{r['transport']}, {r['message_bytes']} B messages, window {r['window']}")
    print(
        f"  throughput: {r['msgs_per_s']} msg/s ({r['messages']} messages in "
        f"{r['elapsed_s']} s, all acknowledged; {r['retransmissions']} retransmissions)"
    )
    print(f"  delivery latency under load: p50 {lat['p50']} us, p99 {lat['p99']} us")
    print(f"  request/response round trip: p50 {rtt['p50']} us, p99 {rtt['p99']} us")


if __name__ == "__main__":
    main()
