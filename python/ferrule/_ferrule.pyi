"""Type stubs of the extension module (Rust, PyO3): the sans-IO link and the framing helpers.

See the docstrings of the classes at run time (``help(ferrule.Link)``) for the details.
"""

from typing import Iterable, List, Literal, Optional, Tuple, Union, final

from ._stats import CodecStats, FramingStats, LinkStats

_Bytes = Union[bytes, bytearray, memoryview]

MAX_PAYLOAD: int
"""Largest payload (and message) of wire format 2: 4096 bytes."""
PROTOCOL_VERSION: int
"""The wire format version this package speaks (2)."""
__version__: str

@final
class Message:
    """A message the link delivered."""

    @property
    def channel(self) -> int:
        """Channel it arrived on (0..=255)."""
    @property
    def data(self) -> bytes:
        """Its bytes."""
    @property
    def reliable(self) -> bool:
        """Whether it came over the reliable, ordered service (False: best effort)."""

@final
class Event:
    """A lifecycle event: a session came up (``kind == "up"``) or ended (``"down"``)."""

    @property
    def kind(self) -> Literal["up", "down"]: ...
    @property
    def reason(self) -> Optional[str]:
        """Why the session ended: ``"peer restarted"``, ``"retry limit"``, ``"peer silent"``,
        ``"peer closed"``, ``"local close"``, ``"decompress failed"``, ``"nonce exhausted"``."""
    @property
    def first(self) -> Optional[int]:
        """Id of the first reliable message the session discarded."""
    @property
    def unacked(self) -> int:
        """Reliable messages ``first .. first + unacked`` were discarded unacknowledged (when
        events were not taken for several sessions, one event may cover them all, naming
        messages acknowledged in between too)."""

@final
class Link:
    """The sans-IO reliable link. Feed it what arrives, send what ``poll_transmit`` returns,
    call ``handle_timeout`` at ``poll_timeout``; times are milliseconds on any monotonic
    clock. Thread-safe."""

    def __init__(
        self,
        transport: Literal["stream", "datagram"] = "stream",
        *,
        window: int = 32,
        max_message: int = 4096,
        compression: Literal["off", "per-message", "shared"] = "off",
        key: Optional[_Bytes] = None,
        key_id: int = 1,
        seed: Optional[int] = None,
        best_effort: Optional[Iterable[int]] = ...,
        rto_initial: int = 1000,
        rto_min: int = 20,
        rto_max: int = 4000,
        max_retransmits: int = 20,
        dupthresh: int = 2,
        ack_delay: int = 5,
        keepalive: int = 1000,
        receive_window: int = 0,
        leading_delimiter: bool = False,
    ) -> None:
        """A link; it starts its handshake at once. ``seed`` defaults to 8 bytes of
        ``os.urandom``; under a ``key`` a seed must never repeat on any device holding that
        key (docs/PROTOCOL.md 4.1.3). Raises ``ConfigError`` for values out of range."""
    def feed(self, data: _Bytes, now_ms: int) -> None:
        """Feeds a chunk of the byte stream, or one whole datagram. Bad input is counted in
        ``stats``, never raised."""
    def poll_transmit(self, now_ms: int) -> Optional[bytes]:
        """The next frame to put on the wire, or None."""
    def transmit_all(self, now_ms: int) -> List[bytes]:
        """Every frame to put on the wire now, in order."""
    def poll_timeout(self) -> Optional[int]:
        """When (ms) ``handle_timeout`` must be called next; None when no timer runs."""
    def handle_timeout(self, now_ms: int) -> None:
        """Runs the timers due at ``now_ms``."""
    def send(self, channel: int, data: _Bytes, now_ms: Optional[int] = None) -> Optional[int]:
        """Queues a message: its id on a reliable channel, None on a best-effort one.
        Raises ``NotConnected``, ``SendWindowFull`` or ``MessageTooLarge``."""
    def recv(self) -> Optional[Message]:
        """The next delivered message, or None. Raises ``DecompressError`` for a message
        that did not decompress (dropped)."""
    def messages(self) -> List[Message]:
        """Every delivered message waiting, in order."""
    def poll_event(self) -> Optional[Event]:
        """The next event, or None."""
    def events(self) -> List[Event]:
        """Every event waiting, oldest first."""
    @property
    def acked_before(self) -> int:
        """Every reliable message with an id below this one (wrapping order) was
        acknowledged, or reported discarded in a ``down`` event."""
    @property
    def is_up(self) -> bool:
        """Whether a session is up."""
    @property
    def send_capacity(self) -> int:
        """Free reliable send slots."""
    @property
    def window(self) -> int: ...
    @property
    def max_message(self) -> int: ...
    @property
    def max_frame_len(self) -> int:
        """Bytes of the largest frame this link sends."""
    @property
    def transport(self) -> Literal["stream", "datagram"]: ...
    @property
    def closed(self) -> bool: ...
    def max_message_for_frame(self, frame_len: int) -> int:
        """The largest message that fits, in the worst case, in a frame of ``frame_len``
        bytes on this transport."""
    @property
    def stats(self) -> LinkStats:
        """Counters and RTT estimates (a snapshot)."""
    @property
    def codec_stats(self) -> CodecStats:
        """Compression counters (a snapshot)."""
    def rekey(self, key: _Bytes, key_id: int) -> None:
        """Seals with a new 32-byte key from now on (a link created with a key)."""
    def close(self, now_ms: Optional[int] = None) -> List[bytes]:
        """Ends the session and frees the link; returns the frames still to send (the
        CLOSE). Every later call but ``close`` raises ``LinkClosed``."""

@final
class Frame:
    """A frame's header fields and payload."""

    @property
    def kind(self) -> Literal["DATA", "RDATA", "ACK", "HELLO", "HELLO_ACK", "PING", "CLOSE", "PARITY"]: ...
    @property
    def channel(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def compression(self) -> Literal["none", "shared-raw", "deflate", "shared", "dictionary"]: ...
    @property
    def dict_id(self) -> Optional[int]: ...
    @property
    def session(self) -> int: ...
    @property
    def seq(self) -> Optional[int]: ...
    @property
    def ack(self) -> Optional[int]: ...
    @property
    def window(self) -> Optional[int]: ...
    @property
    def sack(self) -> Optional[int]: ...
    @property
    def ts(self) -> Optional[int]: ...
    @property
    def echo(self) -> Optional[Tuple[int, int]]: ...
    @property
    def fec_seq(self) -> Optional[int]: ...
    @property
    def aead(self) -> Optional[Tuple[int, int]]: ...
    @property
    def payload(self) -> bytes: ...

@final
class StreamDecoder:
    """Decodes a byte stream into frames; rejects are skipped and counted."""

    def __init__(self, max_payload: int = 4096) -> None: ...
    def feed(self, data: _Bytes) -> List[Frame]:
        """Absorbs ``data``; returns the frames that ended in it."""
    def reset(self) -> None:
        """Drops a partial frame."""
    @property
    def max_payload(self) -> int: ...
    @property
    def stats(self) -> FramingStats: ...

def encode_frame(
    channel: int, data: _Bytes, stream: bool = True, leading_delimiter: bool = False
) -> bytes:
    """One DATA frame: COBS-stuffed and 0x00-terminated (``stream=True``) or a datagram."""

def decode_datagram(data: _Bytes) -> Frame:
    """Checks and parses one datagram; ``FrameError`` (with ``status``) if invalid."""
