"""asyncio connections: ``await conn.send(...)``, ``await conn.recv()``, ``async for``.

The link runs in the same background thread as :class:`ferrule.Connection` (serial ports
have no portable asyncio interface); the thread wakes the event loop whenever something
changes, and every method here waits without blocking the loop::

    async with await ferrule.aio.open_udp("127.0.0.1:0", "127.0.0.1:9000") as conn:
        await conn.send(b"ping")
        reply = await conn.recv(timeout=1.0)
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator, Dict, List, Optional

from . import _conn
from ._conn import _deadline
from ._errors import LinkClosed, Timeout
from ._ferrule import Event, Message
from ._stats import LinkStats
from ._wires import Address

__all__ = ["AsyncConnection", "open_serial", "open_udp"]

#: Open asyncio connections. A connection whose only user is a task (asyncio holds tasks
#: weakly) would otherwise be collected, and closed, while that task still waits on it.
_OPEN: "set[AsyncConnection]" = set()


class AsyncConnection:
    """A :class:`ferrule.Connection` for asyncio code. Create it with :func:`open_udp` or
    :func:`open_serial` from a coroutine; use it from that event loop only."""

    def __init__(self, conn: _conn.Connection, loop: asyncio.AbstractEventLoop) -> None:
        self.connection = conn
        """The threaded connection underneath (its ``link``, ``stats``, ...)."""
        self._loop = loop
        self._changed = asyncio.Event()
        conn._listeners.append(self._notify)
        # Whatever happened before the listener was in place.
        self._changed.set()
        _OPEN.add(self)

    def _notify(self) -> None:
        """Called by the worker thread (connection lock held): wake the loop."""
        try:
            self._loop.call_soon_threadsafe(self._changed.set)
        except RuntimeError:
            pass  # the loop is closed: nobody is waiting

    async def _until(self, deadline: Optional[float], what: str) -> None:
        """Waits for the next change (``Timeout`` once ``deadline`` passed)."""
        if deadline is None:
            await self._changed.wait()
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout(f"timed out waiting for {what}")
        try:
            await asyncio.wait_for(self._changed.wait(), left)
        except asyncio.TimeoutError:
            raise Timeout(f"timed out waiting for {what}") from None

    async def send(
        self, data: Any, channel: int = 0, timeout: Optional[float] = None
    ) -> Optional[int]:
        """Sends ``data`` on ``channel`` and returns once the peer acknowledged it (the
        message id; None on a best-effort channel). Same errors as
        :meth:`ferrule.Connection.send`."""
        deadline = _deadline(timeout)
        mid = await self.submit(data, channel, timeout)
        if mid is not None:
            await self.wait_acked(mid, None if deadline is None else max(deadline - time.monotonic(), 0))
        return mid

    async def submit(
        self, data: Any, channel: int = 0, timeout: Optional[float] = None
    ) -> Optional[int]:
        """Queues ``data`` once the session is up and the window has room; returns its id
        without waiting for the acknowledgement."""
        deadline = _deadline(timeout)
        conn = self.connection
        while True:
            self._changed.clear()
            with conn._cond:
                queued, mid = conn._try_submit(data, channel)
            if queued:
                # The worker writes the frames: a serial write must not block the loop.
                conn._wire.wake()
                return mid
            await self._until(deadline, "the session and window space")

    async def wait_acked(self, message_id: int, timeout: Optional[float] = None) -> None:
        """Waits until message ``message_id`` was acknowledged (``MessageLost`` if its
        session ended first)."""
        deadline = _deadline(timeout)
        conn = self.connection
        while True:
            self._changed.clear()
            with conn._cond:
                if conn._acked(message_id):
                    return
            await self._until(deadline, f"the acknowledgement of message {message_id}")

    async def recv(self, timeout: Optional[float] = None) -> Message:
        """The next message (``Timeout`` after ``timeout`` s; ``LinkClosed`` once closed and
        drained)."""
        deadline = _deadline(timeout)
        conn = self.connection
        while True:
            self._changed.clear()
            with conn._cond:
                msg = conn._try_recv()
            if msg is not None:
                return msg
            await self._until(deadline, "a message")

    async def wait_up(self, timeout: Optional[float] = None) -> None:
        """Waits until a session is up."""
        deadline = _deadline(timeout)
        conn = self.connection
        while True:
            self._changed.clear()
            with conn._cond:
                conn._check_open()
                if conn.link.is_up:
                    return
            await self._until(deadline, "the session")

    async def next_event(self, timeout: Optional[float] = None) -> Event:
        """The link's next event, waiting up to ``timeout`` s for one."""
        deadline = _deadline(timeout)
        conn = self.connection
        while True:
            self._changed.clear()
            with conn._cond:
                conn._collect()
                if conn._events:
                    return conn._events.popleft()
                conn._check_open()
            await self._until(deadline, "an event")

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[Message]:
        while True:
            try:
                yield await self.recv()
            except LinkClosed:
                return

    @property
    def is_up(self) -> bool:
        """Whether a session is up."""
        return self.connection.is_up

    @property
    def stats(self) -> LinkStats:
        """The link's counters."""
        return self.connection.stats

    def events(self) -> List[Event]:
        """The link's events since the last call."""
        return self.connection.events()

    async def close(self) -> None:
        """Closes the connection (see :meth:`ferrule.Connection.close`) without blocking the
        loop."""
        _OPEN.discard(self)
        await self._loop.run_in_executor(None, self.connection.close)

    async def __aenter__(self) -> "AsyncConnection":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<ferrule.aio.AsyncConnection {self.connection.name}>"


async def open_udp(local: Address, peer: Address, **link_options: Any) -> AsyncConnection:
    """:func:`ferrule.open_udp` for asyncio: ``conn = await ferrule.aio.open_udp(...)``."""
    loop = asyncio.get_running_loop()
    return AsyncConnection(_conn.open_udp(local, peer, **link_options), loop)


async def open_serial(
    port: str,
    baudrate: int = 115200,
    *,
    serial_options: Optional[Dict[str, Any]] = None,
    **link_options: Any,
) -> AsyncConnection:
    """:func:`ferrule.open_serial` for asyncio (the port is opened in a worker thread)."""
    loop = asyncio.get_running_loop()
    conn = await loop.run_in_executor(
        None,
        lambda: _conn.open_serial(
            port, baudrate, serial_options=serial_options, **link_options
        ),
    )
    return AsyncConnection(conn, loop)
