"""Ready-made connections: a :class:`ferrule.Link` driven by a background thread over a
serial port or a UDP socket, for programs that do not want to own an event loop.

The worker thread waits on the wire and on the link's next timer, feeds what arrives, runs
the timers and writes frames. Calls from other threads (``send``, ``recv``, ...) take the
connection's lock, so the link is only ever touched by one thread at a time.
"""

from __future__ import annotations

import collections
import math
import threading
import time
import warnings
import weakref
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Tuple, Union

from ._errors import (
    ConfigError,
    DecompressError,
    LinkClosed,
    MessageLost,
    NotConnected,
    SendWindowFull,
    Timeout,
    TransportError,
)
from ._ferrule import Event, Link, Message
from ._stats import LinkStats
from ._wires import Address, SerialWire, UdpWire, is_transport_error

__all__ = ["Connection", "open_serial", "open_udp"]

#: Delivered messages held for the application before the link's receive window is left to
#: close (the peer then waits: nothing is dropped).
INBOX_LIMIT = 4096

#: Events kept for ``events()``/``next_event()``; older ones are dropped and counted.
EVENTS_KEPT = 1024
#: Session ends remembered with the messages they discarded (one entry per ``down`` event
#: with unacknowledged messages): ``MessageLost`` for those ids as long as it is remembered.
LOST_RANGES_KEPT = 65536

_Data = Union[bytes, bytearray, memoryview]

#: How long ``close()`` waits for the worker (stuck in a write to a stalled port, say)
#: before it closes the port under it.
CLOSE_WAIT = 2.0


def _deadline(timeout: Optional[float]) -> Optional[float]:
    """The ``time.monotonic()`` by which a call with ``timeout`` seconds gives up; None for
    no limit (``None`` or infinity). A timeout of 0 or below has already passed (one try,
    then ``Timeout``). ``ValueError`` for NaN or for what ``float()`` does not take
    (``TypeError`` for a type it does not take); both before the call does anything."""
    if timeout is None:
        return None
    t = float(timeout)
    if math.isnan(t):
        raise ValueError("timeout must be a number of seconds or None, not nan")
    if t == math.inf:
        return None
    return time.monotonic() + t


def _worker(ref: "weakref.ReferenceType[Connection]", wire: Any) -> None:
    """The worker thread's loop. It holds the connection only weakly between rounds, so a
    connection dropped without ``close()`` is collected; the worker then closes the wire."""
    while True:
        conn = ref()
        if conn is None:
            wire.close()
            return
        timeout = conn._round()
        dropped = conn._dropped
        del conn
        if timeout is False:
            if dropped:
                wire.close()  # collected, or finalised but kept alive by the warning it raised
            return
        wire.wait(timeout)
        conn = ref()
        if conn is None:
            wire.close()
            return
        conn._feed()
        del conn


def _before(a: int, b: int) -> bool:
    """Whether message id ``a`` comes before ``b`` (ids wrap at 2**32)."""
    d = (b - a) & 0xFFFFFFFF
    return 0 < d < 0x80000000


class Connection:
    """A link over a wire, run by a background thread. Create it with :func:`open_serial`
    or :func:`open_udp`; close it with :meth:`close` or a ``with`` block.

    Sending: :meth:`send` returns once the peer acknowledged the message; :meth:`submit`
    returns once it is queued (pipelining), :meth:`flush` waits for everything queued.
    Receiving: :meth:`recv`, or iterate (``for msg in conn``) until the connection closes.
    """

    def __init__(self, wire: Any, link: Link) -> None:
        self._wire = wire
        self.link: Link = link
        """The underlying link (for ``stats``, ``is_up``, ...)."""
        self._cond = threading.Condition(threading.Lock())
        self._inbox: Deque[Union[Message, BaseException]] = collections.deque()
        self._events: Deque[Event] = collections.deque(maxlen=EVENTS_KEPT)
        self.events_dropped = 0
        """Events dropped (oldest first) because nobody took them with ``events()`` or
        ``next_event()`` while ``EVENTS_KEPT`` waited."""
        # Message ranges sessions discarded: (first id, count, reason), for MessageLost.
        self._lost: Deque[Tuple[int, int, str]] = collections.deque(maxlen=LOST_RANGES_KEPT)
        self._listeners: List[Callable[[], None]] = []
        # Frames are taken from the link under `_cond` and written under `_write_lock` (never
        # the other way round), so a slow serial write holds up no other thread's link work.
        self._out: Deque[bytes] = collections.deque()
        self._write_lock = threading.Lock()
        self._closed = False
        # Set by close() (or collection): a failure after it is the shutdown's own doing.
        self._closing = False
        # Set when the connection was dropped without close(): the worker closes the wire.
        self._dropped = False
        self._failure: Optional[BaseException] = None
        self._held_back = False
        self._sleep_until: Optional[int] = None
        self._final_stats: Optional[LinkStats] = None
        self._t0 = time.monotonic_ns()
        self._thread = threading.Thread(
            target=_worker, args=(weakref.ref(self), wire), name=f"ferrule {wire.name}", daemon=True
        )
        self._thread.start()

    def __del__(self) -> None:
        # Dropped without close(): the worker sees the connection gone and closes the wire.
        if not getattr(self, "_closed", True):
            self._closing = self._closed = self._dropped = True
            self._wire.wake()
            # Last: with warnings turned into errors this raises.
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2)

    # ------------------------------------------------------------------ clock and pumping

    def _now(self) -> int:
        return (time.monotonic_ns() - self._t0) // 1_000_000

    def _collect(self) -> None:
        """Takes delivered messages and events from the link (lock held). Messages stay in
        the link (its receive window then closes) while the inbox holds ``INBOX_LIMIT``."""
        link = self.link
        if link.closed:
            return  # closed by close(): what it delivered before is already here
        if len(self._inbox) < INBOX_LIMIT:
            try:
                self._inbox.extend(link.messages())
            except DecompressError as e:
                self._inbox.append(e)  # raised by recv() in its place
            self._held_back = False
        else:
            self._held_back = True
        for ev in link.events():
            if len(self._events) == EVENTS_KEPT:
                self.events_dropped += 1
            self._events.append(ev)
            if ev.kind == "down" and ev.unacked:
                self._lost.append((ev.first or 0, ev.unacked, ev.reason or "down"))

    def _take_frames(self, now: int) -> None:
        """Moves every frame due to the outgoing queue (lock held)."""
        self._out.extend(self.link.transmit_all(now))

    def _write_out(self) -> None:
        """Writes the outgoing queue, in order (lock not held). A failing wire closes the
        connection and raises ``TransportError``."""
        with self._write_lock:
            while True:
                with self._cond:
                    if not self._out:
                        return
                    frames = list(self._out)
                    self._out.clear()
                try:
                    for i, frame in enumerate(frames):
                        if self._closed:
                            # Back to the queue: close() writes them before its CLOSE.
                            with self._cond:
                                self._out.extendleft(reversed(frames[i:]))
                            return
                        self._wire.write(frame)
                except OSError as e:  # pyserial's SerialException is one
                    self._fail(e)
                    with self._cond:
                        self._check_open()

    def _fail(self, e: BaseException) -> None:
        """Records why the connection cannot go on, and wakes every waiter. Once close() has
        begun, a failure is the shutdown's own doing (a port closed under a write): the
        connection is simply closed."""
        with self._cond:
            if self._failure is None and not self._closing:
                self._failure = e
            self._closed = True
            self._notify_all()

    def _notify_all(self) -> None:
        """Wakes every waiter, threads and event loops (lock held)."""
        self._cond.notify_all()
        for notify in self._listeners:
            notify()

    def _pump(self, now: int) -> None:
        """Queues every frame due and collects what the link delivered (lock held)."""
        self._take_frames(now)
        self._collect()
        # Acknowledgement progress and events wake every waiter; cheap when nobody waits.
        self._notify_all()

    def _kick(self) -> None:
        """After work from an application thread: make the worker look at the timers again
        if the link now wants attention sooner than it planned (lock held)."""
        due = self.link.poll_timeout()
        if due is not None and (self._sleep_until is None or due < self._sleep_until):
            self._wire.wake()

    def _round(self) -> Union[None, float, bool]:
        """The worker's timers and output: how long it may then wait on the wire (None: until
        something arrives), or False when it is done (closed, or failed: recorded)."""
        try:
            with self._cond:
                if self._closed:
                    return False
                now = self._now()
                self.link.handle_timeout(now)
                self._pump(now)
                due = self.link.poll_timeout()
                self._sleep_until = due
            self._write_out()
            if self._closed:
                return False
            # At least 1 ms: a link that wants to send at once has just been drained.
            return None if due is None else max(due - now, 1) / 1000.0
        except BaseException as e:  # noqa: BLE001 - recorded, raised to the application
            self._fail(e)
            return False

    def _feed(self) -> None:
        """The worker's input: what the wire received goes into the link."""
        try:
            chunks = self._wire.read()
            if chunks:
                with self._cond:
                    if self._closed:
                        return
                    now = self._now()
                    for chunk in chunks:
                        self.link.feed(chunk, now)
        except BaseException as e:  # noqa: BLE001 - recorded, raised to the application
            self._fail(e)

    # ------------------------------------------------------------------ state checks

    def _check_open(self) -> None:
        """Raises if the connection can do no more (lock held)."""
        if self._failure is not None:
            e = self._failure
            if is_transport_error(e):
                raise TransportError(f"{self._wire.name}: {e}") from e
            raise LinkClosed(f"the connection's worker failed: {e!r}") from e
        if self._closed:
            raise LinkClosed("the connection is closed")

    def _wait(self, deadline: Optional[float], what: str) -> None:
        """Waits for a change (lock held); ``Timeout`` once ``deadline`` passed."""
        if deadline is None:
            self._cond.wait()
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout(f"timed out waiting for {what}")
        self._cond.wait(min(left, threading.TIMEOUT_MAX))

    def _lost_reason(self, mid: int) -> Optional[str]:
        for first, count, reason in self._lost:
            if (mid - first) & 0xFFFFFFFF < count:
                return reason
        return None

    # ------------------------------------------------------------------ non-blocking core
    # (used by the blocking methods below and by ferrule.aio)

    def _try_submit(self, data: _Data, channel: int) -> Tuple[bool, Optional[int]]:
        """Queues ``data`` if the link takes it now: ``(True, id)``; ``(False, None)`` when
        the window is full or no session is up. Raises for anything else. Its frames wait in
        the outgoing queue: call ``_write_out`` or wake the worker (lock held)."""
        self._check_open()
        try:
            mid = self.link.send(channel, data, self._now())
        except (SendWindowFull, NotConnected):
            return False, None
        self._take_frames(self._now())
        self._kick()
        return True, mid

    def _acked(self, mid: int) -> bool:
        """Whether message ``mid`` was acknowledged; ``MessageLost`` if its session ended
        first (lock held)."""
        # Events first: a session that ended moved `acked_before` past the messages it
        # discarded, and only its event tells them apart from acknowledged ones.
        self._collect()
        reason = self._lost_reason(mid)
        if reason is not None:
            raise MessageLost(
                f"message {mid}: the session ended ({reason}) before the peer acknowledged it",
                message_id=mid,
                reason=reason,
            )
        if _before(mid, self.link.acked_before):
            return True
        self._check_open()
        return False

    def _try_recv(self) -> Optional[Message]:
        """The next message, or None (lock held). Raises what the link reported for it
        (``DecompressError``), or ``LinkClosed``/``TransportError`` once closed and drained."""
        if not self._inbox:
            self._collect()
        if self._inbox:
            item = self._inbox.popleft()
            if self._held_back:
                # The link kept messages back while the inbox was full: take them now and
                # let the worker tell the peer its window opened.
                self._collect()
                self._wire.wake()
            if isinstance(item, BaseException):
                raise item
            return item
        self._check_open()
        return None

    # ------------------------------------------------------------------ public API

    def send(self, data: _Data, channel: int = 0, timeout: Optional[float] = None) -> Optional[int]:
        """Sends ``data`` on ``channel`` and waits until the peer acknowledged it. Waits for
        the session and for window space first. Returns the message id (None on a
        best-effort channel, which returns once the message is queued).

        Raises ``Timeout`` when ``timeout`` seconds pass first (a queued message stays queued
        and may still arrive), ``MessageLost`` when the session ended before the peer
        acknowledged it, ``MessageTooLarge``, ``LinkClosed`` or ``TransportError``.
        """
        deadline = _deadline(timeout)  # checked before anything is queued
        mid = self.submit(data, channel, timeout)
        if mid is not None:
            self.wait_acked(mid, None if deadline is None else max(deadline - time.monotonic(), 0))
        return mid

    def submit(
        self, data: _Data, channel: int = 0, timeout: Optional[float] = None
    ) -> Optional[int]:
        """Queues ``data`` on ``channel``, waiting (up to ``timeout`` s) for the session and
        for window space, and returns its message id without waiting for the
        acknowledgement (None on a best-effort channel). See :meth:`wait_acked`, :meth:`flush`.
        """
        deadline = _deadline(timeout)
        with self._cond:
            while True:
                queued, mid = self._try_submit(data, channel)
                if queued:
                    break
                self._wait(deadline, "the session and window space")
        if self._wire.writes_block:
            self._wire.wake()  # a serial write may block: the worker does it, not the caller
        else:
            self._write_out()
        return mid

    def wait_acked(self, message_id: int, timeout: Optional[float] = None) -> None:
        """Waits until message ``message_id`` (from :meth:`submit`) was acknowledged.
        ``MessageLost`` if its session ended first; ``Timeout`` after ``timeout`` s."""
        deadline = _deadline(timeout)
        with self._cond:
            while not self._acked(message_id):
                self._wait(deadline, f"the acknowledgement of message {message_id}")

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until every reliable message queued so far was acknowledged. Raises
        ``MessageLost`` (for the first of them) if a session end discarded any, ``Timeout``
        after ``timeout`` s."""
        deadline = _deadline(timeout)
        with self._cond:
            self._check_open()
            first = self.link.acked_before
            outstanding = self.link.window - self.link.send_capacity
            for k in range(outstanding):
                mid = (first + k) & 0xFFFFFFFF
                while not self._acked(mid):
                    self._wait(deadline, "every acknowledgement")

    def recv(self, timeout: Optional[float] = None) -> Message:
        """The next message (a :class:`ferrule.Message`), waiting up to ``timeout`` s
        (``Timeout`` then). ``LinkClosed`` once the connection is closed and every message
        received before was taken; ``DecompressError`` for a message that did not
        decompress (dropped; call again for the next)."""
        deadline = _deadline(timeout)
        with self._cond:
            while True:
                msg = self._try_recv()
                if msg is not None:
                    return msg
                self._wait(deadline, "a message")

    def __iter__(self) -> Iterator[Message]:
        """Messages as they arrive, until the connection is closed."""
        while True:
            try:
                yield self.recv()
            except LinkClosed:
                return

    def wait_up(self, timeout: Optional[float] = None) -> None:
        """Waits until a session is up (``Timeout`` after ``timeout`` s)."""
        deadline = _deadline(timeout)
        with self._cond:
            while not self.link.is_up:
                self._check_open()
                self._wait(deadline, "the session")

    @property
    def is_up(self) -> bool:
        """Whether a session is up."""
        with self._cond:
            return not self._closed and self.link.is_up

    @property
    def closed(self) -> bool:
        """Whether the connection was closed (by :meth:`close` or a transport failure)."""
        return self._closed

    def events(self) -> List[Event]:
        """The link's events since the last call (``up``/``down``), oldest first."""
        with self._cond:
            self._collect()
            out = list(self._events)
            self._events.clear()
            return out

    def next_event(self, timeout: Optional[float] = None) -> Event:
        """The link's next event (oldest first), waiting up to ``timeout`` s for one
        (``Timeout`` then); ``LinkClosed`` once closed with none left."""
        deadline = _deadline(timeout)
        with self._cond:
            while True:
                self._collect()
                if self._events:
                    return self._events.popleft()
                self._check_open()
                self._wait(deadline, "an event")

    @property
    def stats(self) -> LinkStats:
        """The link's counters (a snapshot; after :meth:`close`, as they were when it
        closed)."""
        with self._cond:
            if self.link.closed and self._final_stats is not None:
                return self._final_stats
            return self.link.stats

    @property
    def wire_stats(self) -> Dict[str, int]:
        """The transport's own drop counters (UDP: ``foreign_datagrams``, ``send_errors``)."""
        return dict(self._wire.stats())

    @property
    def local_address(self) -> Optional[Tuple[str, int]]:
        """UDP: the address the socket is bound to (the port the system chose for port 0), to
        tell the peer. None for a serial port."""
        local = getattr(self._wire, "local_address", None)
        return None if local is None else (str(local[0]), int(local[1]))

    @property
    def name(self) -> str:
        """What the connection runs over (``"udp 127.0.0.1:5000 -> 127.0.0.1:5001"``...)."""
        return str(self._wire.name)

    def close(self) -> None:
        """Stops the worker, tells the peer (a CLOSE frame, when a session is up) and closes
        the port or socket. Queued messages not yet acknowledged are dropped: call
        :meth:`flush` first to wait for them. Idempotent."""
        with self._cond:
            self._closing = self._closed = True
            self._notify_all()
            if self.link.closed:
                return
        self._wire.wake()
        if threading.current_thread() is not self._thread:
            self._wire.cancel_write()  # a write blocked on a stalled port returns
            self._thread.join(CLOSE_WAIT)
        stuck = self._thread.is_alive() and threading.current_thread() is not self._thread
        with self._cond:
            if self.link.closed:
                return
            self._collect()
            self._final_stats = self.link.stats
            # Frames already due (a best-effort message the worker had no time to write, an
            # ack) go out before the CLOSE.
            frames = list(self._out) + self.link.close(self._now())
            self._out.clear()
        # After any write in progress on another thread (submit's), never before it.
        locked = self._write_lock.acquire(timeout=CLOSE_WAIT)
        try:
            if self._failure is None and not stuck and locked:
                self._wire.bound_writes(CLOSE_WAIT)
                for frame in frames:
                    self._wire.write(frame)
        except OSError:
            pass  # the wire is gone or stalled: nothing to tell the peer through it
        finally:
            if locked:
                self._write_lock.release()
            self._wire.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("up" if self.link.is_up else "handshaking")
        return f"<ferrule.Connection {self._wire.name} {state}>"


def open_udp(local: Address, peer: Address, **link_options: Any) -> Connection:
    """A connection over UDP: binds ``local`` (``"127.0.0.1:5000"``, ``("0.0.0.0", 0)``)
    and exchanges datagrams with ``peer`` only. ``link_options`` are :class:`ferrule.Link`'s
    keyword arguments (``window``, ``max_message``, ``compression``, ``key``, ``seed``, ...);
    the transport is ``"datagram"``. Returns at once; the handshake runs in the background
    (:meth:`Connection.wait_up`, or just :meth:`Connection.send`). ``ConfigError`` for an
    address that is not one (a port outside 0..65535, a malformed pair), ``TransportError``
    if the socket cannot be bound (address in use, unknown host, not this machine's)."""
    link_options.pop("transport", None)
    link = Link("datagram", **link_options)
    try:
        wire = UdpWire(local, peer)
    except (OverflowError, ValueError) as e:  # a port out of range, not an address
        raise ConfigError(f"udp {local} -> {peer}: {e}") from e
    except OSError as e:  # address in use, unknown host, ...
        raise TransportError(f"udp {local} -> {peer}: {e}") from e
    return Connection(wire, link)


def open_serial(
    port: str,
    baudrate: int = 115200,
    *,
    serial_options: Optional[Dict[str, Any]] = None,
    **link_options: Any,
) -> Connection:
    """A connection over a serial port (``"/dev/ttyUSB0"``, ``"COM3"``, a pty, or a pyserial
    URL such as ``"socket://host:port"``), COBS framed. ``serial_options`` go to pyserial
    (``bytesize``, ``parity``, ``rtscts``, ...); ``link_options`` are :class:`ferrule.Link`'s
    keyword arguments. The port is opened exclusively on POSIX. Returns at once; the
    handshake runs in the background. ``TransportError`` if the port cannot be opened."""
    link_options.pop("transport", None)
    link = Link("stream", **link_options)
    try:
        wire = SerialWire(port, baudrate, dict(serial_options or {}))
    except OSError as e:  # pyserial's SerialException too: no such port, busy, ...
        raise TransportError(f"cannot open {port}: {e}") from e
    return Connection(wire, link)
