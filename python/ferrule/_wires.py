"""The transports under a :class:`ferrule.Connection`: a UDP socket and a serial port.

A wire moves bytes and nothing else: the connection's worker thread waits on it (``wait``),
takes what arrived (``read``), and writes frames (``write``); any thread may ``wake`` the
worker so it looks at the link's timers again.
"""

from __future__ import annotations

import os
import re
import selectors
import socket
import time
from typing import Any, Dict, List, Optional, Tuple, Union

Address = Union[str, Tuple[str, int]]


def parse_address(addr: Address, what: str) -> Tuple[str, int]:
    """``"host:port"``, ``"[v6]:port"`` or ``(host, port)`` as a ``(host, port)`` tuple."""
    if isinstance(addr, tuple):
        if len(addr) != 2 or not isinstance(addr[1], int) or isinstance(addr[1], bool):
            raise ValueError(f"{what} must be (host, port), not {addr!r}")
        host, number = addr
    elif isinstance(addr, str):
        host, sep, port = addr.rpartition(":")
        if not sep or not re.fullmatch(r"[0-9]{1,5}", port):
            raise ValueError(f"{what} must be 'host:port', not {addr!r}")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        number = int(port)
    else:
        raise TypeError(f"{what} must be 'host:port' or (host, port), not {type(addr).__name__}")
    if not 0 <= number <= 65535:
        raise ValueError(f"{what}: port {number} is outside 0..65535")
    return host, number


class _Waker:
    """A socket pair: writing a byte to one end makes the other readable (works everywhere
    ``selectors`` does, Windows included)."""

    def __init__(self) -> None:
        self.r, self.w = socket.socketpair()
        self.r.setblocking(False)
        self.w.setblocking(False)

    def wake(self) -> None:
        try:
            self.w.send(b"\x00")
        except (BlockingIOError, OSError):
            pass  # already pending, or closing

    def drain(self) -> None:
        try:
            while self.r.recv(256):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        self.r.close()
        self.w.close()


class UdpWire:
    """One UDP socket bound to ``local``, exchanging datagrams with ``peer`` only. Datagrams
    from other addresses are dropped and counted (``foreign_datagrams``); a datagram the
    kernel refuses to send (buffer full, ICMP unreachable) is dropped and counted
    (``send_errors``): the link retransmits what matters."""

    stream = False
    #: Writes never block (a full socket buffer drops the datagram, counted).
    writes_block = False

    def __init__(self, local: Address, peer: Address) -> None:
        lhost, lport = parse_address(local, "local")
        phost, pport = parse_address(peer, "peer")
        info = socket.getaddrinfo(phost, pport, type=socket.SOCK_DGRAM)[0]
        family, peer_addr = info[0], info[4]
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.sock.bind((lhost, lport))
            self.sock.setblocking(False)
        except BaseException:
            self.sock.close()
            raise
        self.peer = peer_addr[:2]
        self.name = f"udp {lhost}:{self.sock.getsockname()[1]} -> {phost}:{pport}"
        self.foreign_datagrams = 0
        self.send_errors = 0
        self._waker = _Waker()
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.sock, selectors.EVENT_READ)
        self._sel.register(self._waker.r, selectors.EVENT_READ)

    @property
    def local_address(self) -> Tuple[str, int]:
        """The bound address (useful when binding port 0)."""
        addr = self.sock.getsockname()
        return addr[0], addr[1]

    def wait(self, timeout: Optional[float]) -> None:
        for key, _ in self._sel.select(timeout):
            if key.fileobj is self._waker.r:
                self._waker.drain()

    def read(self) -> List[bytes]:
        out: List[bytes] = []
        while True:
            try:
                data, addr = self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return out
            except ConnectionError:
                continue  # an ICMP error from an earlier send (the peer not up yet)
            if addr[:2] != self.peer:
                self.foreign_datagrams += 1
                continue
            out.append(data)

    def write(self, frame: bytes) -> None:
        try:
            self.sock.sendto(frame, self.peer)
        except (BlockingIOError, InterruptedError, ConnectionError):
            self.send_errors += 1

    def cancel_write(self) -> None:
        pass  # writes never block

    def bound_writes(self, seconds: float) -> None:
        pass  # writes never block

    def wake(self) -> None:
        self._waker.wake()

    def stats(self) -> Dict[str, int]:
        return {"foreign_datagrams": self.foreign_datagrams, "send_errors": self.send_errors}

    def close(self) -> None:
        self._sel.close()
        self.sock.close()
        self._waker.close()


class SerialWire:
    """A serial port through pyserial (a USB adapter, a pty, ``rfc2217://`` or ``socket://``
    URLs). On POSIX the worker waits on the port's file descriptor; elsewhere it polls every
    ``poll_interval`` seconds. Opened exclusively where the platform supports it."""

    stream = True
    #: A write waits while the port takes no bytes (flow control, a stalled reader).
    writes_block = True

    def __init__(
        self, port: str, baudrate: int, options: Dict[str, Any], poll_interval: float = 0.005
    ) -> None:
        try:
            import serial  # type: ignore[import-untyped]
        except ImportError as e:  # pragma: no cover - pyserial is a dependency
            raise ImportError("ferrule.open_serial needs pyserial: pip install pyserial") from e
        opts: Dict[str, Any] = {"timeout": 0, "write_timeout": None}
        opts.update(options)
        if "exclusive" not in opts and os.name == "posix" and "://" not in port:
            opts["exclusive"] = True
        self._serial = serial
        self.port = serial.serial_for_url(port, baudrate=baudrate, **opts)
        self.name = f"serial {port} @ {baudrate}"
        self.poll_interval = poll_interval
        self._waker = _Waker()
        self._sel: Optional[selectors.BaseSelector] = None
        fileno = getattr(self.port, "fileno", None)
        try:
            fd = fileno() if fileno is not None else None
        except Exception:
            fd = None
        if isinstance(fd, int) and fd >= 0:
            self._sel = selectors.DefaultSelector()
            self._sel.register(fd, selectors.EVENT_READ)
            self._sel.register(self._waker.r, selectors.EVENT_READ)

    def wait(self, timeout: Optional[float]) -> None:
        if self._sel is not None:
            for key, _ in self._sel.select(timeout):
                if key.fileobj is self._waker.r:
                    self._waker.drain()
            return
        # No descriptor to wait on: poll.
        step = self.poll_interval if timeout is None else min(timeout, self.poll_interval)
        if not self.port.in_waiting:
            time.sleep(step)

    def read(self) -> List[bytes]:
        n = self.port.in_waiting
        data = self.port.read(max(n, 1))
        return [data] if data else []

    def write(self, frame: bytes) -> None:
        self.port.write(frame)

    def cancel_write(self) -> None:
        """Makes a write blocked in another thread return (where pyserial can)."""
        cancel = getattr(self.port, "cancel_write", None)
        if cancel is not None:
            try:
                cancel()
            except Exception:
                pass

    def bound_writes(self, seconds: float) -> None:
        """From now on a write gives up (``SerialTimeoutException``) after ``seconds`` at the
        most (a shorter ``write_timeout`` of the user's, 0 included, stays)."""
        try:
            current = self.port.write_timeout
            if current is None or current > seconds:
                self.port.write_timeout = seconds
        except Exception:
            pass

    def wake(self) -> None:
        self._waker.wake()

    def stats(self) -> Dict[str, int]:
        return {}

    def close(self) -> None:
        if self._sel is not None:
            self._sel.close()
        try:
            self.port.close()
        except Exception:
            pass
        self._waker.close()


def is_transport_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the wire failing (rather than a bug): an ``OSError``, which
    pyserial's ``SerialException`` is too."""
    return isinstance(exc, OSError)
