"""The exceptions of the ferrule package.

Every exception derives from :class:`FerruleError` and carries ``status``: the name of the
``ferrule_status`` the C API returns for the same condition (``"FERRULE_ERR_FULL"``, ...), or,
for conditions only this package has (a closed connection, a timeout, a lost message, a
failed transport), a name of its own without the ``FERRULE_`` prefix. Where a built-in
exception fits too, the class derives from it as well (``MessageTooLarge`` is a
``ValueError``, ``Timeout`` a ``TimeoutError``, ``TransportError`` a ``ConnectionError``), so
generic handlers catch them.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "FerruleError",
    "ConfigError",
    "SendWindowFull",
    "NotConnected",
    "MessageTooLarge",
    "DecompressError",
    "FrameError",
    "LinkClosed",
    "Timeout",
    "MessageLost",
    "TransportError",
]


class FerruleError(Exception):
    """Base class of every ferrule exception.

    ``status`` names the condition (see the module documentation); keyword arguments become
    attributes of the exception (``channel``, ``reason``, ``message_id``, ...).
    """

    status: str = "FERRULE_ERROR"

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message)
        for key, value in details.items():
            setattr(self, key, value)


class ConfigError(FerruleError, ValueError):
    """A link or connection was configured with a value out of range (a window of 0, a key
    that is not 32 bytes, an unknown transport or compression mode, ...)."""

    status: str = "FERRULE_ERR_INVALID_ARGUMENT"


class SendWindowFull(FerruleError):
    """The send window (or the best-effort mailbox) is full. Nothing was queued and nothing is
    lost: try again after some traffic has been acknowledged."""

    status: str = "FERRULE_ERR_FULL"


class NotConnected(FerruleError):
    """No session is up yet (or any more): wait for the ``up`` event."""

    status: str = "FERRULE_ERR_NOT_CONNECTED"


class MessageTooLarge(FerruleError, ValueError):
    """The message is larger than this link's largest message or the peer's (or the
    protocol's 4096 bytes, for frames)."""

    status: str = "FERRULE_ERR_TOO_LARGE"


class DecompressError(FerruleError):
    """A received message did not decompress. It was dropped and counted
    (``stats.decompress_failed``); attributes ``channel`` (where it arrived) and ``reason``."""

    status: str = "FERRULE_ERR_DECOMPRESS"
    channel: int
    reason: str


class FrameError(FerruleError, ValueError):
    """A frame was rejected by :func:`ferrule.decode_datagram`. ``status`` names the reason:
    ``FERRULE_ERR_BAD_CRC``, ``FERRULE_ERR_TOO_SHORT``, ``FERRULE_ERR_BAD_VERSION``,
    ``FERRULE_ERR_UNKNOWN_KIND``, ``FERRULE_ERR_BAD_FLAGS``, ``FERRULE_ERR_TRUNCATED_HEADER``,
    ``FERRULE_ERR_OVERSIZE`` or ``FERRULE_ERR_MALFORMED``."""

    status: str = "FERRULE_ERR_MALFORMED"


class LinkClosed(FerruleError):
    """The link or connection was closed (by :meth:`close`, or because its transport failed:
    then ``__cause__`` is the transport's error)."""

    status: str = "LINK_CLOSED"


class Timeout(FerruleError, TimeoutError):
    """A blocking call did not complete in time. A message whose acknowledgement timed out
    stays queued: it may still be delivered."""

    status: str = "TIMEOUT"


class MessageLost(FerruleError):
    """The session ended before the peer acknowledged the message (the peer may or may not
    have it). Attributes ``message_id`` and ``reason`` (why the session ended)."""

    status: str = "MESSAGE_LOST"
    message_id: int
    reason: str


class TransportError(FerruleError, ConnectionError):
    """The serial port or socket under a connection failed (a USB adapter was unplugged, the
    port vanished). The connection is closed; ``__cause__`` is the original error."""

    status: str = "TRANSPORT"


# Shown as ferrule.X in tracebacks and reprs: the public name.
for _cls in (
    FerruleError,
    ConfigError,
    SendWindowFull,
    NotConnected,
    MessageTooLarge,
    DecompressError,
    FrameError,
    LinkClosed,
    Timeout,
    MessageLost,
    TransportError,
):
    _cls.__module__ = "ferrule"
del _cls
