"""Counters of a link, its framing and its compression, as plain dataclasses.

They mirror ``ferrule::link::LinkStats``, ``ferrule::DecoderStats`` and
``ferrule::compress::CodecStats`` field for field (the extension fills them by destructuring
the Rust structs completely, so a counter added there cannot be missed here). Counters are
snapshots: read ``Link.stats`` again for fresh values. The link's counters are 32-bit and wrap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FramingStats", "LinkStats", "CodecStats"]


@dataclass(frozen=True)
class FramingStats:
    """Frames accepted and rejected by the framing decoder, one counter per reason."""

    bytes_in: int = 0
    """Bytes consumed, delimiters included."""
    frames_ok: int = 0
    """Frames that passed every check."""
    malformed: int = 0
    """Invalid COBS between two delimiters (usually a lost or corrupted byte)."""
    too_short: int = 0
    """Bodies shorter than header + CRC."""
    oversize: int = 0
    """Frames larger than the receive buffer, discarded whole."""
    bad_crc: int = 0
    """CRC mismatches (line noise)."""
    bad_version: int = 0
    """Valid CRC but another protocol version."""
    unknown_kind: int = 0
    """Valid CRC but an unknown frame type."""
    bad_flags: int = 0
    """Valid CRC but reserved or contradictory flags."""
    truncated_header: int = 0
    """Valid CRC but the flags announce more header than the frame holds."""

    @property
    def rejected(self) -> int:
        """Frames rejected, all reasons."""
        return (
            self.malformed
            + self.too_short
            + self.oversize
            + self.bad_crc
            + self.bad_version
            + self.unknown_kind
            + self.bad_flags
            + self.truncated_header
        )


@dataclass(frozen=True)
class LinkStats:
    """Everything a link counts, and its RTT estimates (milliseconds)."""

    rtt_min: int = 0
    """Smallest RTT sample (ms)."""
    srtt: int = 0
    """Smoothed RTT (ms)."""
    rttvar: int = 0
    """RTT variance (ms)."""
    rto: int = 0
    """Current retransmission timeout (ms)."""
    frames_sent: int = 0
    """Frames handed to the transport."""
    bytes_sent: int = 0
    """Bytes handed to the transport."""
    frames_received: int = 0
    """Valid frames received (after CRC and header checks)."""
    sent_reliable: int = 0
    """Reliable messages accepted by ``send``."""
    sent_unreliable: int = 0
    """Best-effort messages accepted by ``send``."""
    delivered_reliable: int = 0
    """Reliable messages handed to the application."""
    delivered_unreliable: int = 0
    """Best-effort messages handed to the application."""
    rdata_frames_sent: int = 0
    """RDATA frames sent, first transmissions and retransmissions."""
    data_frames_sent: int = 0
    """DATA frames sent."""
    retransmissions: int = 0
    """Retransmitted RDATA frames."""
    fast_retransmits: int = 0
    """Messages declared lost by evidence rather than by a timeout."""
    spurious_retransmissions: int = 0
    """Retransmissions acknowledged sooner than any round trip."""
    timeouts: int = 0
    """Retransmission timer expiries."""
    acks_sent: int = 0
    """Stand-alone ACK frames sent."""
    keepalives_sent: int = 0
    """Keepalive PINGs sent."""
    probes_sent: int = 0
    """PINGs sent as probes: zero-window probes, and on a stream the asks before a retransmission."""
    hellos_sent: int = 0
    """HELLOs sent."""
    hellos_answered: int = 0
    """HELLOs answered with a new pending handshake."""
    hello_duplicates: int = 0
    """Hellos of a handshake already answered or completed."""
    duplicates: int = 0
    """Received duplicates dropped."""
    out_of_order: int = 0
    """Reliable messages that arrived ahead of a gap (buffered, not dropped)."""
    out_of_window: int = 0
    """Reliable messages outside the receive window (dropped; the sender retransmits)."""
    send_full: int = 0
    """``send`` refused a message because the window or the best-effort slot was full."""
    window_stalls: int = 0
    """Times the peer's window blocked new transmissions."""
    stale_session: int = 0
    """Frames for another session, or before any session (dropped)."""
    untagged: int = 0
    """Frames of a link that carry no session tag (dropped)."""
    not_negotiated: int = 0
    """Frames in a form this side did not announce it takes (dropped)."""
    reflected: int = 0
    """Hellos carrying this side's own nonce (dropped)."""
    unexpected: int = 0
    """Frames valid on the wire but not in this state."""
    bad_ack: int = 0
    """Acks for sequence numbers never sent (dropped)."""
    too_large: int = 0
    """Payloads larger than this link's message size (dropped)."""
    decompress_failed: int = 0
    """Received messages that failed to decompress (dropped, reported by ``recv``)."""
    unreliable_overwritten: int = 0
    """Best-effort messages replaced by a newer one before the application took them."""
    sessions: int = 0
    """Sessions started."""
    link_downs: int = 0
    """Sessions ended."""
    discarded_on_reset: int = 0
    """Send-side messages discarded when sessions ended (also reported in ``down`` events)."""
    events_dropped: int = 0
    """Events dropped because the application did not poll them (oldest first)."""
    auth_failed: int = 0
    """AEAD: frames that failed authentication."""
    replayed: int = 0
    """AEAD: frames whose counter was accepted before (replays)."""
    too_old: int = 0
    """AEAD: frames whose counter is older than the replay window."""
    unknown_key: int = 0
    """AEAD: frames sealed under a key id this side does not have."""
    unauthenticated: int = 0
    """AEAD: unsealed frames reaching a link that requires sealing."""
    parity_sent: int = 0
    """FEC: PARITY frames sent."""
    parity_dropped: int = 0
    """FEC: PARITY frames of a closed group left unsent (another protected frame went first)."""
    parity_unneeded: int = 0
    """FEC: PARITY frames left unsent because the peer had acknowledged enough of the group."""
    fec_recovered: int = 0
    """FEC: frames rebuilt from parity (then checked like any frame received)."""
    fec_unrecoverable: int = 0
    """FEC: groups that lost more than their parity repairs (retransmission repaired them)."""
    parity_rejected: int = 0
    """FEC: PARITY payloads refused."""
    framing: FramingStats = field(default_factory=FramingStats)
    """Framing rejects by reason."""


@dataclass(frozen=True)
class CodecStats:
    """Compression counters of a link."""

    compressed: int = 0
    """Messages sent compressed."""
    not_smaller: int = 0
    """Messages sent raw because compression would not have made them smaller."""
    downgraded: int = 0
    """Messages sent in a weaker mode than configured because the peer does not accept it."""
    bytes_in: int = 0
    """Message bytes given to the compressor."""
    bytes_out: int = 0
    """Payload bytes produced for those messages."""
    inflated: int = 0
    """Payloads decompressed."""
    failed: int = 0
    """Payloads refused, all reasons."""
    malformed: int = 0
    """Refused: not valid deflate, or referencing history that does not exist."""
    too_large: int = 0
    """Refused: the message would exceed the output buffer."""
    too_far: int = 0
    """Refused: a back-reference beyond the announced window."""
    dynamic_block: int = 0
    """Refused: a dynamic-Huffman block while those are not accepted."""
    unknown_dictionary: int = 0
    """Refused: a dictionary id this side does not have."""
    unsupported: int = 0
    """Refused: a representation this side does not accept."""
