"""Ready-made connections: Python <-> Python over loopback UDP (threads and asyncio), a
serial port (a pty), and their failure paths: timeouts, a silent or departing peer, a
vanished port, use after close."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import threading
import time

import pytest

import ferrule
from conftest import free_udp_port

FAST = dict(rto_min=5, rto_max=1000, ack_delay=1)


def udp_pair(**opts):
    pa, pb = free_udp_port(), free_udp_port()
    a = ferrule.open_udp(f"127.0.0.1:{pa}", f"127.0.0.1:{pb}", seed=1, **FAST, **opts)
    b = ferrule.open_udp(("127.0.0.1", pb), ("127.0.0.1", pa), seed=2, **FAST, **opts)
    return a, b


def test_udp_send_returns_once_acknowledged_and_recv_gets_it():
    a, b = udp_pair()
    with a, b:
        mid = a.send(b"hello", timeout=10)
        assert mid == 0 and a.link.acked_before == 1
        msg = b.recv(timeout=10)
        assert (msg.channel, msg.data, msg.reliable) == (0, b"hello", True)
        assert b.send(b"back", channel=3, timeout=10) == 0
        assert a.recv(timeout=10).data == b"back"
        assert a.is_up and b.is_up
        assert [e.kind for e in a.events()] == ["up"]
    assert a.closed and b.closed


def test_udp_pipelined_messages_arrive_in_order_both_ways():
    rng = random.Random(3)
    to_b = [rng.randbytes(rng.randint(0, 1400)) for _ in range(2000)]
    to_a = [rng.randbytes(rng.randint(0, 200)) for _ in range(500)]
    a, b = udp_pair(window=32)
    got_a, got_b = [], []

    def reader(conn, n, out):
        for _ in range(n):
            out.append(conn.recv(timeout=30).data)

    readers = [
        threading.Thread(target=reader, args=(b, len(to_b), got_b)),
        threading.Thread(target=reader, args=(a, len(to_a), got_a)),
    ]
    with a, b:
        for t in readers:
            t.start()
        sender = threading.Thread(target=lambda: [b.submit(m, timeout=30) for m in to_a])
        sender.start()
        for m in to_b:
            a.submit(m, channel=1, timeout=30)
        a.flush(timeout=30)
        sender.join()
        b.flush(timeout=30)
        for t in readers:
            t.join(timeout=30)
    assert got_b == to_b and got_a == to_a
    assert a.wire_stats == {"foreign_datagrams": 0, "send_errors": a.wire_stats["send_errors"]}


def test_iteration_ends_when_the_connection_closes():
    a, b = udp_pair()
    with a:
        with b:
            for i in range(3):
                a.submit(b"%d" % i, timeout=10)
            seen = []
            for msg in b:
                seen.append(msg.data)
                if len(seen) == 3:
                    b.close()
        assert seen == [b"0", b"1", b"2"]
        with pytest.raises(ferrule.LinkClosed):
            b.recv(timeout=1)


def test_recv_timeout():
    a, b = udp_pair()
    with a, b:
        a.wait_up(timeout=10)
        t0 = time.monotonic()
        with pytest.raises(ferrule.Timeout) as e:
            a.recv(timeout=0.05)
        assert time.monotonic() - t0 >= 0.05
        assert e.value.status == "TIMEOUT" and isinstance(e.value, TimeoutError)


def test_send_to_nobody_times_out_and_the_message_stays_queued():
    port = free_udp_port()
    with ferrule.open_udp("127.0.0.1:0", f"127.0.0.1:{port}", **FAST) as a:
        with pytest.raises(ferrule.Timeout, match="the session"):
            a.send(b"anyone?", timeout=0.1)
        with pytest.raises(ferrule.Timeout):
            a.wait_up(timeout=0.05)
        assert not a.is_up


def test_message_lost_when_the_peer_closes_before_acknowledging():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    peer = ferrule.Link("datagram", seed=77, keepalive=0)
    with ferrule.open_udp("127.0.0.1:0", sock.getsockname(), **FAST) as a:
        addr = a.local_address
        now = 0
        # Handshake by hand.
        while not peer.is_up:
            for f in peer.transmit_all(now):
                sock.sendto(f, addr)
            data, _ = sock.recvfrom(65536)
            peer.feed(data, now)
        for f in peer.transmit_all(now):
            sock.sendto(f, addr)
        a.wait_up(timeout=5)
        mid = a.submit(b"never acknowledged", timeout=5)
        # The message is lost on the way (the test drops the datagram); then the peer
        # closes the session.
        while True:
            data, _ = sock.recvfrom(65536)
            if ferrule.decode_datagram(data).kind == "RDATA":
                break
            peer.feed(data, now)  # the handshake's confirmation, keepalives
        for f in peer.close(now):
            sock.sendto(f, addr)
        with pytest.raises(ferrule.MessageLost) as e:
            a.wait_acked(mid, timeout=5)
        assert e.value.message_id == mid and e.value.reason == "peer closed"
        assert e.value.status == "MESSAGE_LOST"
    sock.close()


def test_use_after_close():
    a, b = udp_pair()
    a.close()
    a.close()  # idempotent
    b.close()
    for call in (lambda: a.send(b"x"), lambda: a.recv(), lambda: a.wait_up(), lambda: a.flush()):
        with pytest.raises(ferrule.LinkClosed):
            call()
    assert "closed" in repr(a)


def test_bad_addresses():
    with pytest.raises(ValueError, match="host:port"):
        ferrule.open_udp("nonsense", "127.0.0.1:1")
    with pytest.raises(TypeError):
        ferrule.open_udp(1234, "127.0.0.1:1")
    with pytest.raises(ferrule.ConfigError):
        ferrule.open_udp("127.0.0.1:0", "127.0.0.1:1", window=0)
    # A port out of range is a bad argument (socket.bind would raise OverflowError).
    with pytest.raises(ferrule.ConfigError, match="99999"):
        ferrule.open_udp("127.0.0.1:99999", "127.0.0.1:1")


def test_foreign_datagrams_are_dropped_and_counted():
    a, b = udp_pair()
    with a, b:
        a.wait_up(timeout=10)
        intruder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        intruder.sendto(ferrule.encode_frame(0, b"spoof", stream=False), a.local_address)
        intruder.close()
        b.send(b"real", timeout=10)
        assert a.recv(timeout=10).data == b"real"
        # The intruder's datagram was sent before B's message: counted by now.
        assert a.wire_stats["foreign_datagrams"] == 1


# ---------------------------------------------------------------------- asyncio


def test_asyncio_send_recv_and_async_for():
    async def main():
        pa, pb = free_udp_port(), free_udp_port()
        a = await ferrule.aio.open_udp(f"127.0.0.1:{pa}", f"127.0.0.1:{pb}", seed=5, **FAST)
        b = await ferrule.aio.open_udp(f"127.0.0.1:{pb}", f"127.0.0.1:{pa}", seed=6, **FAST)
        async with a, b:
            await a.wait_up(timeout=10)
            assert await a.send(b"one", timeout=10) == 0
            ids = [await a.submit(b"m%d" % i, timeout=10) for i in range(100)]
            assert ids == list(range(1, 101))

            async def echo():
                async for msg in b:
                    await b.submit(msg.data.upper(), channel=msg.channel)

            task = asyncio.create_task(echo())
            replies = [(await a.recv(timeout=10)).data for _ in range(101)]
            assert replies == [b"ONE"] + [b"M%d" % i for i in range(100)]
            with pytest.raises(ferrule.Timeout):
                await a.recv(timeout=0.05)
            await b.close()
            await asyncio.wait_for(task, 10)  # async for ends with the connection
            assert a.stats.sent_reliable == 101

    asyncio.run(main())


def test_asyncio_timeouts_do_not_block_the_loop():
    async def main():
        port = free_udp_port()
        a = await ferrule.aio.open_udp("127.0.0.1:0", f"127.0.0.1:{port}", **FAST)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        t = asyncio.create_task(ticker())
        with pytest.raises(ferrule.Timeout):
            await a.send(b"x", timeout=0.2)
        t.cancel()
        await a.close()
        assert ticks > 5  # the loop ran while send waited

    asyncio.run(main())


# ---------------------------------------------------------------------- serial (pty)


def _raw(fd: int) -> None:
    import tty

    tty.setraw(fd)


@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")
def test_serial_over_a_pty_and_a_vanishing_port():
    """open_serial on the pty's device end; the test drives a stream link on the other end.
    Then the other end disappears (as a USB adapter unplugged): TransportError, no crash."""
    master, slave = os.openpty()
    _raw(slave)
    path = os.ttyname(slave)
    peer = ferrule.Link("stream", seed=9, **FAST)
    t0 = time.monotonic()
    now = lambda: int((time.monotonic() - t0) * 1000)  # noqa: E731
    conn = ferrule.open_serial(path, 115200, seed=10, **FAST)
    try:
        os.close(slave)  # pyserial holds its own descriptor
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(master, selectors.EVENT_READ)
        got = []

        def pump_peer(until):
            deadline = time.monotonic() + 10
            while not until():
                assert time.monotonic() < deadline, "peer made no progress"
                for f in peer.transmit_all(now()):
                    os.write(master, f)
                due = peer.poll_timeout()
                wait = 0.05 if due is None else max(due - now(), 0) / 1000
                if sel.select(min(wait, 0.05)):
                    peer.feed(os.read(master, 4096), now())
                peer.handle_timeout(now())
                got.extend(peer.messages())

        sender = threading.Thread(target=lambda: conn.send(b"over the wire", timeout=10))
        sender.start()
        pump_peer(lambda: got and not sender.is_alive())
        sender.join()
        assert got[0].data == b"over the wire"
        peer.send(0, b"reply")
        pump_peer(lambda: peer.send_capacity == peer.window)
        assert conn.recv(timeout=5).data == b"reply"

        # The port vanishes.
        os.close(master)
        sel.close()
        with pytest.raises(ferrule.TransportError) as e:
            while True:
                conn.recv(timeout=5)
        assert e.value.status == "TRANSPORT" and isinstance(e.value, ConnectionError)
        with pytest.raises(ferrule.TransportError):
            conn.send(b"x", timeout=1)
    finally:
        conn.close()
    assert conn.closed


def test_serial_port_that_does_not_exist():
    import serial

    with pytest.raises(ferrule.TransportError, match="cannot open /dev/does-not-exist") as e:
        ferrule.open_serial("/dev/does-not-exist-ferrule", 115200)
    assert isinstance(e.value.__cause__, serial.SerialException)


def test_udp_address_in_use():
    with ferrule.open_udp("127.0.0.1:0", "127.0.0.1:9") as a:
        taken = a.local_address
        with pytest.raises(ferrule.TransportError) as e:
            ferrule.open_udp(taken, "127.0.0.1:9")
        assert isinstance(e.value.__cause__, OSError)


# ---------------------------------------------------------------------- bad arguments, edges


def test_sizes_out_of_range_are_config_errors_before_any_allocation():
    # window * max_message bytes of these would abort the interpreter, or overflow.
    for opts in (dict(window=10**7), dict(window=2**62), dict(max_message=2**40)):
        with pytest.raises(ferrule.ConfigError):
            ferrule.Link("datagram", **opts)
    with pytest.raises(ferrule.ConfigError):
        ferrule.open_udp("127.0.0.1:0", "127.0.0.1:9", window=2**40)


def test_peer_ports_out_of_range_are_config_errors():
    for peer in ("127.0.0.1:70000", "localhost:99999", "127.0.0.1:\u0663", ("127.0.0.1", 65536)):
        with pytest.raises(ferrule.ConfigError):
            ferrule.open_udp("127.0.0.1:0", peer)


def test_best_effort_takes_any_iterable_of_channels():
    for channels in ({1, 2}, (c for c in (1, 2)), range(1, 3), [1, 2]):
        link = ferrule.Link("datagram", best_effort=channels)
        assert link.window > 0
    with pytest.raises(TypeError):
        ferrule.Link("datagram", best_effort=3)


def test_timeouts_nan_is_refused_before_queueing_and_infinity_waits():
    a, b = udp_pair()
    with a, b:
        a.wait_up(timeout=10)
        b.wait_up(timeout=10)
        sent = a.stats.sent_reliable
        with pytest.raises(ValueError, match="nan"):
            a.send(b"x", timeout=float("nan"))
        with pytest.raises(ValueError, match="nan"):
            a.recv(timeout=float("nan"))
        assert a.stats.sent_reliable == sent  # nothing was queued
        # Infinity and huge values wait without limit, like None.
        assert a.send(b"first", timeout=float("inf")) is not None
        assert a.send(b"second", timeout=1e300) is not None
        assert b.recv(timeout=float("inf")).data == b"first"
        assert b.recv(timeout=1e300).data == b"second"


def test_events_and_stats_survive_close():
    a, b = udp_pair()
    with b:
        a.wait_up(timeout=10)
        a.send(b"x", timeout=10)
        a.close()
        # The up event nobody took is still there, then LinkClosed.
        assert a.next_event(timeout=0).kind == "up"
        with pytest.raises(ferrule.LinkClosed):
            a.next_event(timeout=0)
        assert a.events() == []
        assert a.stats.sent_reliable == 1  # as they were at close()


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_connection_dropped_without_close_is_collected_and_its_socket_freed():
    import gc
    import weakref

    port = free_udp_port()

    def make():
        c = ferrule.open_udp(f"127.0.0.1:{port}", "127.0.0.1:9", **FAST)
        return weakref.ref(c), c._thread

    ref, worker = make()
    deadline = time.monotonic() + 10
    while ref() is not None or worker.is_alive():
        assert time.monotonic() < deadline, "the dropped connection was not collected"
        gc.collect()
        worker.join(0.05)
    # The worker closed the socket: the port can be bound again.
    with ferrule.open_udp(f"127.0.0.1:{port}", "127.0.0.1:9") as again:
        assert not again.closed


def _pty_session(**opts):
    """``open_serial`` on a pty's device end and a stream ``Link`` (the test's peer) on its
    other end, a session up between them: ``(conn, peer, master fd, selector, now)``."""
    import selectors

    master, slave = os.openpty()
    _raw(slave)
    peer = ferrule.Link("stream", seed=9, **FAST, **opts)
    t0 = time.monotonic()
    now = lambda: int((time.monotonic() - t0) * 1000)  # noqa: E731
    conn = ferrule.open_serial(os.ttyname(slave), 115200, seed=10, **FAST, **opts)
    os.close(slave)  # pyserial holds its own descriptor
    sel = selectors.DefaultSelector()
    sel.register(master, selectors.EVENT_READ)
    deadline = time.monotonic() + 10
    while not (peer.is_up and conn.is_up):
        assert time.monotonic() < deadline, "no session over the pty"
        for f in peer.transmit_all(now()):
            os.write(master, f)
        if sel.select(0.05):
            peer.feed(os.read(master, 4096), now())
        peer.handle_timeout(now())
    return conn, peer, master, sel, now


@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")
def test_a_stalled_serial_port_times_out_and_close_returns():
    """The far end stops reading (flow control, a hung reader): writes block in the kernel.
    submit/send still time out as asked, and close() returns."""
    conn, peer, master, sel, now = _pty_session()
    sel.close()
    # From here on nobody reads the master end: the pty's buffer fills and writes block.
    timed_out = []

    def flood():
        try:
            for _ in range(200):
                conn.submit(os.urandom(4096), timeout=1.0)
        except ferrule.Timeout:
            timed_out.append(True)

    t = threading.Thread(target=flood, daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive() and timed_out, "submit ignored its timeout on a stalled port"
    closer = threading.Thread(target=conn.close, daemon=True)
    closer.start()
    closer.join(30)
    assert not closer.is_alive(), "close() hung on a stalled port"
    assert conn.closed
    os.close(master)


@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")
def test_a_best_effort_message_sent_just_before_close_goes_out_on_serial():
    """On serial the worker writes the frames; close() writes what it had no time for (before
    the CLOSE) instead of dropping it."""
    conn, peer, master, sel, now = _pty_session(best_effort=[1])
    conn.send(b"last words", channel=1)  # best effort: returns once queued
    conn.close()
    # Everything close() wrote is in the pty now (then the closed port reads as EIO).
    while sel.select(0):
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        peer.feed(data, now())
    got = [m.data for m in peer.messages()]
    sel.close()
    os.close(master)
    assert got == [b"last words"]
    assert [e.reason for e in peer.events() if e.kind == "down"] == ["peer closed"]


def test_a_failure_after_close_leaves_the_connection_closed_not_failed():
    a, b = udp_pair()
    b.close()
    a.close()
    # What a worker still inside a write sees when close() shuts the socket under it.
    a._fail(OSError(9, "Bad file descriptor"))
    with pytest.raises(ferrule.LinkClosed, match="the connection is closed"):
        a.recv(timeout=0)
    assert list(a) == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_dropped_connection_is_shut_down_even_when_resource_warnings_are_errors():
    import gc
    import warnings

    def make():
        c = ferrule.open_udp("127.0.0.1:0", "127.0.0.1:9", keepalive=0, **FAST)
        return c.local_address, c._thread

    # The raised warning may keep the object alive (its traceback): the worker must still
    # stop and close the socket.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        local, worker = make()
        deadline = time.monotonic() + 10
        while worker.is_alive():
            assert time.monotonic() < deadline, "the worker never noticed the collection"
            gc.collect()
            worker.join(0.05)
    with ferrule.open_udp(local, "127.0.0.1:9") as again:
        assert again.local_address == local


def test_an_asyncio_connection_used_only_by_a_task_stays_open():
    async def main():
        pa, pb = free_udp_port(), free_udp_port()
        a = await ferrule.aio.open_udp(f"127.0.0.1:{pa}", f"127.0.0.1:{pb}", seed=1, **FAST)
        b = await ferrule.aio.open_udp(f"127.0.0.1:{pb}", f"127.0.0.1:{pa}", seed=2, **FAST)
        await a.wait_up(10)
        await b.wait_up(10)
        got = []

        async def consume(conn):
            async for msg in conn:
                got.append(msg.data)
                if len(got) == 3:
                    await conn.close()

        task = asyncio.ensure_future(consume(b))
        done = asyncio.Event()
        task.add_done_callback(lambda _: done.set())
        # Let the consumer run until it waits for a message (yields, not a timed sleep).
        for _ in range(3):
            await asyncio.sleep(0)
        del task, b  # only the task refers to b now (asyncio keeps tasks weakly)
        import gc

        gc.collect()
        for i in range(3):
            await a.send(b"m%d" % i, timeout=10)
        await asyncio.wait_for(done.wait(), 10)
        await a.close()
        assert got == [b"m0", b"m1", b"m2"]

    asyncio.run(main())
