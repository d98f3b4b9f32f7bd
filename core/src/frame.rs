//! The frame body: header, payload and CRC (wire format v2, `PROTOCOL.md`).
//!
//! ```text
//! +--------+-------+---------+------------- optional fields (by flag) -------------+---------+-----------+
//! | ver|typ| flags | channel | session seq ack wnd sack xflags ts echo fec aead dict | payload | CRC-32C LE |
//! +--------+-------+---------+-----------------------------------------------------+---------+-----------+
//! ```
//!
//! [`Header`] is the validated, typed form; [`Header::parse`] reads it from untrusted bytes and
//! never panics, [`Header::emit`] writes it. All multi-byte fields are little-endian.

/// Protocol version carried in the high nibble of byte 0.
pub const VERSION: u8 = 2;
/// Fixed part of every header: version/type, flags, channel.
pub const FIXED_HEADER_LEN: usize = 3;
/// Largest possible header (every optional field present).
pub const MAX_HEADER_LEN: usize = header_len_for_flags(!RESERVED_X);
/// Length of the CRC-32C trailer.
pub const CRC_LEN: usize = 4;
/// Largest payload wire format v2 allows in one frame. Endpoints may agree on less.
pub const MAX_PAYLOAD: usize = 4096;
/// Smallest valid frame body (fixed header and CRC, empty payload).
pub const MIN_BODY_LEN: usize = FIXED_HEADER_LEN + CRC_LEN;
/// Largest frame body for a payload of `payload_len` bytes.
pub const fn max_body_len(payload_len: usize) -> usize {
    MAX_HEADER_LEN + payload_len + CRC_LEN
}

/// Flag bits of byte 1.
pub mod flags {
    /// Payload is raw deflate (RFC 1951).
    pub const COMPRESSED: u8 = 1 << 0;
    /// Part of the session's shared deflate stream (alone: a raw message that still enters the
    /// shared history).
    pub const SHARED: u8 = 1 << 1;
    /// With `COMPRESSED`: compressed against a preset dictionary; a dictionary id follows.
    pub const DICT: u8 = 1 << 2;
    /// Session tag and sequence number present.
    pub const SEQ: u8 = 1 << 3;
    /// Session tag, cumulative ack and receive window present.
    pub const ACK: u8 = 1 << 4;
    /// With `ACK`: 32-bit selective-ack bitmap present.
    pub const SACK: u8 = 1 << 5;
    /// Payload is AEAD ciphertext and tag; key id and frame counter present.
    pub const AEAD: u8 = 1 << 6;
    /// An extension-flags byte follows the ack fields ([`super::xflags`]).
    pub const EXT: u8 = 1 << 7;
}

/// Extension flag bits (the byte present with [`flags::EXT`]).
pub mod xflags {
    /// A 16-bit send timestamp (ms) follows.
    pub const TS: u8 = 1 << 0;
    /// With `ACK`: the echo of the peer's last timestamp and its hold time follow.
    pub const ECHO: u8 = 1 << 1;
    /// `DATA`/`RDATA` protected by forward error correction: its 8-bit FEC number follows.
    pub const FEC: u8 = 1 << 2;
    /// Bits a v2 receiver rejects.
    pub const RESERVED: u8 = !(TS | ECHO | FEC);
}

/// `flags | xflags << 8`: one word names every optional field.
const fn x(bits: u8) -> u16 {
    (bits as u16) << 8
}
const RESERVED_X: u16 = x(xflags::RESERVED);

/// Frame type (low nibble of byte 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum FrameKind {
    /// Best-effort application message: never retransmitted. With a sequence number the
    /// receiver suppresses duplicates.
    Data = 0,
    /// Reliable, ordered application message; carries a sequence number.
    Rdata = 1,
    /// Acknowledgement and window update only, no payload; carries ack fields.
    Ack = 2,
    /// Handshake opening: carries the sender's hello record.
    Hello = 3,
    /// Handshake reply: carries the responder's hello record.
    HelloAck = 4,
    /// Keepalive / zero-window probe; the peer answers with an `Ack`.
    Ping = 5,
    /// The sender is closing the session.
    Close = 6,
    /// Forward error correction: parity over a group of data frames.
    Parity = 7,
}

impl FrameKind {
    /// The name PROTOCOL.md uses: `DATA`, `RDATA`, `ACK`, `HELLO`, `HELLO_ACK`, `PING`, `CLOSE`,
    /// `PARITY`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Data => "DATA",
            Self::Rdata => "RDATA",
            Self::Ack => "ACK",
            Self::Hello => "HELLO",
            Self::HelloAck => "HELLO_ACK",
            Self::Ping => "PING",
            Self::Close => "CLOSE",
            Self::Parity => "PARITY",
        }
    }

    /// Maps the wire nibble to a kind.
    pub const fn from_nibble(n: u8) -> Option<Self> {
        Some(match n {
            0 => Self::Data,
            1 => Self::Rdata,
            2 => Self::Ack,
            3 => Self::Hello,
            4 => Self::HelloAck,
            5 => Self::Ping,
            6 => Self::Close,
            7 => Self::Parity,
            _ => return None,
        })
    }

    /// The flags a frame of this kind must carry: `SEQ` for `RDATA`; `ACK` (the session tag
    /// and acknowledgement) for `ACK`, `PING`, `CLOSE` and `PARITY`.
    pub const fn required_flags(self) -> u8 {
        match self {
            Self::Rdata => flags::SEQ,
            Self::Ack | Self::Ping | Self::Close | Self::Parity => flags::ACK,
            _ => 0,
        }
    }
}

/// How the payload is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Compression {
    /// Payload is the message itself.
    #[default]
    None,
    /// Uncompressed, but part of the session's shared stream history: the receiver appends it
    /// to its shared window (reliable ordered channels; compression would not have helped).
    SharedRaw,
    /// Raw deflate of this message alone.
    Deflate,
    /// Raw deflate, continuing the session's shared stream (reliable ordered channels).
    Shared,
    /// Raw deflate against the preset dictionary with this id.
    Dictionary(u8),
}

/// Acknowledgement fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ack {
    /// Next sequence number expected in order (everything before it was received).
    pub next: u16,
    /// Messages the receiver can still accept beyond `next` (its free reorder slots).
    pub window: u8,
    /// Bit `i` set: sequence number `next + 1 + i` was received (out of order).
    pub sack: Option<u32>,
}

/// The echo of a timestamp (`ECHO` extension): which of the peer's frames this side heard
/// last, and how long it held that news before sending it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Echo {
    /// The `ts` of the last timestamped frame received.
    pub ts: u16,
    /// Milliseconds between receiving that frame and building this one (255: 255 or more).
    pub hold: u8,
}

/// AEAD fields (see the `aead` feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AeadField {
    /// Which pre-shared key the frame's keys come from.
    pub key_id: u8,
    /// Per-direction frame counter within the session: the nonce (0 in hello frames).
    pub counter: u32,
}

/// A validated frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// Frame type.
    pub kind: FrameKind,
    /// Logical channel (0..=255).
    pub channel: u8,
    /// Payload compression.
    pub compression: Compression,
    /// Session tag; on the wire only when `seq` or `ack` is present.
    pub session: u8,
    /// Sequence number of a data frame.
    pub seq: Option<u16>,
    /// Piggybacked or stand-alone acknowledgement.
    pub ack: Option<Ack>,
    /// Send timestamp, ms modulo 2^16 (`TS` extension).
    pub ts: Option<u16>,
    /// Echo of the peer's last timestamp (`ECHO` extension; needs `ack`).
    pub echo: Option<Echo>,
    /// Position in the sender's FEC numbering (`FEC` extension; `DATA`/`RDATA` only).
    pub fec_seq: Option<u8>,
    /// Encryption fields.
    pub aead: Option<AeadField>,
}

/// Why a frame body was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameError {
    /// Between delimiters, the bytes were not valid COBS (a block ran past the delimiter).
    Malformed,
    /// The body is shorter than a fixed header plus CRC.
    TooShort,
    /// The body exceeds the receiver's capacity; it was discarded up to the next delimiter.
    Oversize,
    /// The CRC does not match: line noise.
    BadCrc,
    /// The version nibble is not 2.
    UnsupportedVersion(u8),
    /// The type nibble names no frame type of v2.
    UnknownKind(u8),
    /// Flags contradict each other, a reserved extension bit is set, or the frame type
    /// requires a field the flags do not announce (`RDATA` without `SEQ`; `ACK`, `PING`,
    /// `CLOSE`, `PARITY` without `ACK`). Carries the flags byte.
    BadFlags(u8),
    /// The flags announce more header fields than the body holds.
    TruncatedHeader,
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed => f.write_str("malformed COBS"),
            Self::TooShort => f.write_str("frame too short"),
            Self::Oversize => f.write_str("frame larger than the receive buffer"),
            Self::BadCrc => f.write_str("CRC mismatch"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported version {v}"),
            Self::UnknownKind(k) => write!(f, "unknown frame type {k}"),
            Self::BadFlags(x) => write!(f, "invalid flags {x:#04x}"),
            Self::TruncatedHeader => f.write_str("header longer than the frame"),
        }
    }
}

impl core::error::Error for FrameError {}

impl Header {
    /// A plain data header on `channel`: no sequence, no ack, no compression.
    pub const fn data(channel: u8) -> Self {
        Self {
            kind: FrameKind::Data,
            channel,
            compression: Compression::None,
            session: 0,
            seq: None,
            ack: None,
            ts: None,
            echo: None,
            fec_seq: None,
            aead: None,
        }
    }

    /// A header of `kind` on channel 0 with no optional fields.
    pub const fn control(kind: FrameKind) -> Self {
        let mut h = Self::data(0);
        h.kind = kind;
        h
    }

    /// The extension flags this header is written with (0: no extension byte).
    pub fn xflags(&self) -> u8 {
        let mut x = 0;
        if self.ts.is_some() {
            x |= xflags::TS;
        }
        if self.echo.is_some() {
            x |= xflags::ECHO;
        }
        if self.fec_seq.is_some() {
            x |= xflags::FEC;
        }
        x
    }

    /// The flags byte this header is written with.
    pub fn flags(&self) -> u8 {
        let mut f = match self.compression {
            Compression::None => 0,
            Compression::SharedRaw => flags::SHARED,
            Compression::Deflate => flags::COMPRESSED,
            Compression::Shared => flags::COMPRESSED | flags::SHARED,
            Compression::Dictionary(_) => flags::COMPRESSED | flags::DICT,
        };
        if self.seq.is_some() {
            f |= flags::SEQ;
        }
        if let Some(a) = self.ack {
            f |= flags::ACK;
            if a.sack.is_some() {
                f |= flags::SACK;
            }
        }
        if self.aead.is_some() {
            f |= flags::AEAD;
        }
        if self.xflags() != 0 {
            f |= flags::EXT;
        }
        f
    }

    fn word(&self) -> u16 {
        u16::from(self.flags()) | x(self.xflags())
    }

    /// Header length on the wire.
    pub fn len(&self) -> usize {
        header_len_for_flags(self.word())
    }

    /// Always false: a header has at least [`FIXED_HEADER_LEN`] bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the header into `out` and returns its length, or `None` if `out` is too short.
    pub fn emit(&self, out: &mut [u8]) -> Option<usize> {
        let word = self.word();
        let len = header_len_for_flags(word);
        let out = out.get_mut(..len)?;
        let mut w = Writer { out, at: 0 };
        w.le(
            u32::from_le_bytes([
                (VERSION << 4) | self.kind as u8,
                word as u8,
                self.channel,
                0,
            ]),
            FIXED_HEADER_LEN,
        );
        // The optional fields in `FIELDS` order, each present exactly when `word` announces it.
        if self.seq.is_some() || self.ack.is_some() {
            w.le(self.session.into(), 1);
        }
        if let Some(seq) = self.seq {
            w.le(seq.into(), 2);
        }
        if let Some(a) = self.ack {
            w.le(a.next.into(), 2);
            w.le(a.window.into(), 1);
            if let Some(sack) = a.sack {
                w.le(sack, 4);
            }
        }
        let xf = (word >> 8) as u8;
        if xf != 0 {
            w.le(xf.into(), 1);
        }
        if let Some(ts) = self.ts {
            w.le(ts.into(), 2);
        }
        if let Some(e) = self.echo {
            w.le(e.ts.into(), 2);
            w.le(e.hold.into(), 1);
        }
        if let Some(f) = self.fec_seq {
            w.le(f.into(), 1);
        }
        if let Some(a) = self.aead {
            w.le(a.key_id.into(), 1);
            w.le(a.counter, 4);
        }
        if let Compression::Dictionary(id) = self.compression {
            w.le(id.into(), 1);
        }
        Some(len)
    }

    /// Parses a header from the start of a frame body (CRC already checked and removed).
    /// Returns the header and its length.
    pub fn parse(body: &[u8]) -> Result<(Self, usize), FrameError> {
        let [b0, f, channel, ..] = *body else {
            return Err(FrameError::TooShort);
        };
        let version = b0 >> 4;
        if version != VERSION {
            return Err(FrameError::UnsupportedVersion(version));
        }
        let kind = FrameKind::from_nibble(b0 & 0x0F).ok_or(FrameError::UnknownKind(b0 & 0x0F))?;
        let needs = kind.required_flags();
        if f & needs != needs {
            return Err(FrameError::BadFlags(f));
        }
        // The extension byte sits after the ack fields: its position depends on `f` alone.
        let xf = if f & flags::EXT != 0 {
            let at = header_len_for_flags(u16::from(f & (flags::SEQ | flags::ACK | flags::SACK)));
            *body.get(at).ok_or(FrameError::TruncatedHeader)?
        } else {
            0
        };
        validate(kind, f, xf)?;
        let word = u16::from(f) | x(xf);
        let len = header_len_for_flags(word);
        let bytes = body.get(..len).ok_or(FrameError::TruncatedHeader)?;
        // Each value is at most as wide as its field, so the narrowing casts keep every bit.
        let [session, seq, next, window, sack, _, ts, echo, hold, fec, key_id, counter, dict] =
            take(bytes, word);
        let has = |flag: u8| f & flag != 0;
        let hasx = |flag: u8| xf & flag != 0;
        let compression = match (has(flags::COMPRESSED), has(flags::SHARED), has(flags::DICT)) {
            (false, false, _) => Compression::None,
            (false, true, _) => Compression::SharedRaw,
            (true, true, _) => Compression::Shared,
            (true, false, true) => Compression::Dictionary(dict as u8),
            (true, false, false) => Compression::Deflate,
        };
        let header = Self {
            kind,
            channel,
            compression,
            session: session as u8,
            seq: has(flags::SEQ).then_some(seq as u16),
            ack: has(flags::ACK).then_some(Ack {
                next: next as u16,
                window: window as u8,
                sack: has(flags::SACK).then_some(sack),
            }),
            ts: hasx(xflags::TS).then_some(ts as u16),
            echo: hasx(xflags::ECHO).then_some(Echo {
                ts: echo as u16,
                hold: hold as u8,
            }),
            fec_seq: hasx(xflags::FEC).then_some(fec as u8),
            aead: has(flags::AEAD).then_some(AeadField {
                key_id: key_id as u8,
                counter,
            }),
        };
        Ok((header, len))
    }
}

/// The combinations of flags no v2 sender writes: `DICT` without `COMPRESSED`, `SHARED` with
/// `DICT`, `SACK` without `ACK`, an extension byte that announces nothing or sets a reserved
/// bit, `ECHO` without `ACK`, a timestamp on an untagged frame, `FEC` on a frame that is not
/// `DATA`/`RDATA`.
fn validate(kind: FrameKind, f: u8, xf: u8) -> Result<(), FrameError> {
    let ext = f & flags::EXT != 0;
    let tagged = f & (flags::SEQ | flags::ACK) != 0;
    let data = matches!(kind, FrameKind::Data | FrameKind::Rdata);
    let bad = (f & flags::DICT != 0 && (f & flags::COMPRESSED == 0 || f & flags::SHARED != 0))
        || (f & flags::SACK != 0 && f & flags::ACK == 0)
        || (ext && (xf == 0 || xf & xflags::RESERVED != 0))
        || (xf & xflags::ECHO != 0 && f & flags::ACK == 0)
        || (xf & xflags::TS != 0 && !tagged)
        || (xf & xflags::FEC != 0 && !data);
    if bad {
        Err(FrameError::BadFlags(f))
    } else {
        Ok(())
    }
}

/// The optional header fields in wire order: the flag bits (`flags | xflags << 8`) that
/// announce each (any of them), and its width in bytes. Session tag; sequence number;
/// cumulative ack, receive window and SACK bitmap; extension flags; timestamp; echo and hold
/// time; FEC number; AEAD key id and frame counter; dictionary id.
const FIELDS: [(u16, u8); 13] = [
    ((flags::SEQ | flags::ACK) as u16, 1),
    (flags::SEQ as u16, 2),
    (flags::ACK as u16, 2),
    (flags::ACK as u16, 1),
    (flags::SACK as u16, 4),
    (flags::EXT as u16, 1),
    (x(xflags::TS), 2),
    (x(xflags::ECHO), 2),
    (x(xflags::ECHO), 1),
    (x(xflags::FEC), 1),
    (flags::AEAD as u16, 1),
    (flags::AEAD as u16, 4),
    (flags::DICT as u16, 1),
];

#[inline(never)]
const fn header_len_for_flags(word: u16) -> usize {
    let mut n = FIXED_HEADER_LEN;
    let mut i = 0;
    while i < FIELDS.len() {
        if word & FIELDS[i].0 != 0 {
            n += FIELDS[i].1 as usize;
        }
        i += 1;
    }
    n
}

/// Writes little-endian values one after another (`Header::emit` sized `out` from the same
/// flags, so every byte lands).
struct Writer<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl Writer<'_> {
    /// The low `n` bytes of `v`, little-endian.
    #[inline(never)]
    fn le(&mut self, mut v: u32, n: usize) {
        for _ in 0..n {
            if let Some(b) = self.out.get_mut(self.at) {
                *b = v as u8;
            }
            v >>= 8;
            self.at += 1;
        }
    }
}

/// Reads the fields `word` announces from `bytes` (the whole header) in `FIELDS` order;
/// absent fields read as 0.
#[inline(never)]
fn take(bytes: &[u8], word: u16) -> [u32; FIELDS.len()] {
    let mut values = [0u32; FIELDS.len()];
    let mut at = FIXED_HEADER_LEN;
    for (&(flag, width), value) in FIELDS.iter().zip(values.iter_mut()) {
        if word & flag != 0 {
            let mut v = 0;
            for k in 0..width {
                if let Some(&b) = bytes.get(at) {
                    v |= u32::from(b) << (8 * k);
                }
                at += 1;
            }
            *value = v;
        }
    }
    values
}

/// A received frame: its header and a view of its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Frame<'a> {
    /// The parsed header.
    pub header: Header,
    /// The payload bytes, borrowed from the receive buffer.
    pub payload: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Checks the CRC of a whole frame body and parses it.
    pub fn from_body(body: &'a [u8]) -> Result<Self, FrameError> {
        if body.len() < MIN_BODY_LEN {
            return Err(FrameError::TooShort);
        }
        let (data, crc) = crate::bytes::split(body, body.len() - CRC_LEN);
        if crate::crc::crc32c(data) != crate::bytes::le_u32(crc) {
            return Err(FrameError::BadCrc);
        }
        let (header, hlen) = Header::parse(data)?;
        Ok(Self {
            header,
            payload: data.get(hlen..).ok_or(FrameError::TooShort)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Header {
        Header {
            kind: FrameKind::Data,
            channel: 7,
            compression: Compression::Dictionary(9),
            session: 0xA5,
            seq: Some(0x1234),
            ack: Some(Ack {
                next: 0xBEEF,
                window: 8,
                sack: Some(0x8000_0001),
            }),
            ts: Some(0x4321),
            echo: Some(Echo {
                ts: 0x1111,
                hold: 3,
            }),
            fec_seq: Some(200),
            aead: Some(AeadField {
                key_id: 3,
                counter: 0x0102_0304,
            }),
        }
    }

    #[test]
    fn emit_parse_round_trip() {
        let h = full();
        let mut buf = [0u8; MAX_HEADER_LEN];
        assert_eq!(MAX_HEADER_LEN, 26);
        assert_eq!(h.emit(&mut buf), Some(MAX_HEADER_LEN));
        assert_eq!(Header::parse(&buf), Ok((h, MAX_HEADER_LEN)));
        assert_eq!(h.emit(&mut buf[..MAX_HEADER_LEN - 1]), None);
        let d = Header::data(1);
        assert_eq!(d.emit(&mut buf), Some(3));
        assert_eq!(&buf[..3], &[0x20, 0x00, 0x01]);
        // Each extension alone, and none: the extension byte is there exactly when needed.
        for (ts, echo, fec) in [
            (true, false, false),
            (false, true, false),
            (false, false, true),
        ] {
            let h = Header {
                ts: ts.then_some(7),
                echo: echo.then_some(Echo { ts: 9, hold: 1 }),
                fec_seq: fec.then_some(5),
                ..full()
            };
            let n = h.emit(&mut buf).unwrap();
            assert_eq!(Header::parse(&buf[..n]), Ok((h, n)));
        }
    }

    #[test]
    fn parse_rejects_bad_headers() {
        assert_eq!(Header::parse(&[0x20, 0]), Err(FrameError::TooShort));
        assert_eq!(
            Header::parse(&[0x10, 0, 0]),
            Err(FrameError::UnsupportedVersion(1))
        );
        assert_eq!(
            Header::parse(&[0x2F, 0, 0]),
            Err(FrameError::UnknownKind(15))
        );
        assert_eq!(
            Header::parse(&[0x28, 0, 0]),
            Err(FrameError::UnknownKind(8))
        );
        // DICT without COMPRESSED; SHARED with DICT; SACK without ACK.
        for f in [0x04, 0x07, 0x20] {
            assert_eq!(Header::parse(&[0x20, f, 0]), Err(FrameError::BadFlags(f)));
        }
        // PING, CLOSE, ACK and PARITY need the ACK fields; RDATA needs SEQ.
        for kind in [0x22, 0x25, 0x26, 0x27, 0x21] {
            assert_eq!(Header::parse(&[kind, 0, 0]), Err(FrameError::BadFlags(0)));
        }
        // An empty or reserved extension byte; ECHO without ACK; TS untagged; FEC on an ACK.
        let ext = flags::EXT;
        let tag = flags::SEQ;
        assert!(Header::parse(&[0x20, ext | tag, 0, 1, 0, 0, 0x00, 0, 0]).is_err());
        assert!(Header::parse(&[0x20, ext | tag, 0, 1, 0, 0, 0x08, 0, 0]).is_err());
        assert!(Header::parse(&[0x20, ext | tag, 0, 1, 0, 0, xflags::ECHO, 0, 0, 0]).is_err());
        assert!(Header::parse(&[0x20, ext, 0, xflags::TS, 0, 0]).is_err());
        let ack = flags::ACK;
        assert!(Header::parse(&[0x22, ext | ack, 0, 1, 0, 0, 0, xflags::FEC, 0]).is_err());
        assert_eq!(
            Header::parse(&[0x20, flags::SEQ, 0, 1]),
            Err(FrameError::TruncatedHeader)
        );
        assert_eq!(
            Header::parse(&[0x20, ext | tag, 0, 1, 0, 0]),
            Err(FrameError::TruncatedHeader)
        );
    }

    #[test]
    fn every_flag_byte_parses_or_errors() {
        let mut body = [0u8; 40];
        for kind in 0..=7u8 {
            for f in 0..=255u8 {
                for xf in [0u8, 1, 2, 4, 7, 8, 0xF8] {
                    body[0] = 0x20 | kind;
                    body[1] = f;
                    let at = header_len_for_flags(u16::from(
                        f & (flags::SEQ | flags::ACK | flags::SACK),
                    ));
                    body[at] = xf;
                    match Header::parse(&body) {
                        Ok((h, n)) => {
                            assert_eq!(h.flags(), f);
                            assert_eq!(n, h.len());
                            assert_eq!(h.kind as u8, kind);
                            let mut out = [0u8; MAX_HEADER_LEN];
                            assert_eq!(h.emit(&mut out), Some(n));
                            assert_eq!(&out[..n], &body[..n]);
                        }
                        Err(e) => assert_eq!(e, FrameError::BadFlags(f)),
                    }
                }
            }
        }
    }
}
