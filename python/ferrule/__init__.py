"""ferrule for Python: talk to ferrule devices (MCU firmware over UART, hosts over UDP).

- :class:`Link` is the sans-IO reliable link itself (the Rust ``ferrule::link::Link``): feed
  it bytes, send what it gives, call it on time. For programs that own their loop.
- :func:`open_serial` and :func:`open_udp` run a link in a background thread over a serial
  port or a UDP socket: ``conn.send(data)`` returns once the peer acknowledged it,
  ``conn.recv()`` returns the next message. :mod:`ferrule.aio` has the asyncio variant.
- :func:`encode_frame`, :func:`decode_datagram` and :class:`StreamDecoder` work on single
  frames, without a link (sniffers, test fixtures).

Every error is a :class:`FerruleError` carrying ``status``, the C API's status name.
"""

from ._conn import Connection, open_serial, open_udp
from ._errors import (
    ConfigError,
    DecompressError,
    FerruleError,
    FrameError,
    LinkClosed,
    MessageLost,
    MessageTooLarge,
    NotConnected,
    SendWindowFull,
    Timeout,
    TransportError,
)
from ._ferrule import (
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    Event,
    Frame,
    Link,
    Message,
    StreamDecoder,
    __version__,
    decode_datagram,
    encode_frame,
)
from ._stats import CodecStats, FramingStats, LinkStats
from . import aio

__all__ = [
    "MAX_PAYLOAD",
    "PROTOCOL_VERSION",
    "__version__",
    "Link",
    "Message",
    "Event",
    "Frame",
    "StreamDecoder",
    "encode_frame",
    "decode_datagram",
    "Connection",
    "open_serial",
    "open_udp",
    "aio",
    "LinkStats",
    "FramingStats",
    "CodecStats",
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
