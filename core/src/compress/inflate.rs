//! A bounded, heap-free raw-deflate decompressor (RFC 1951).
//!
//! It inflates one payload at a time straight into the caller's output buffer: that buffer is
//! the history of a per-message stream, a preset dictionary is a virtual prefix in front of it,
//! and the shared stream's earlier messages are a [`Window`] ring in front of it. So a
//! per-message or dictionary payload needs no memory beyond the output, and only the shared
//! stream keeps a ring.
//!
//! Bounds, for every input: the output never exceeds the buffer (an error, never a truncated
//! message); every step consumes input bits or produces output bytes, so the work is linear in
//! the two; nothing recurses; a back-reference further than `2^window_bits` bytes is refused
//! ([`DecompressError::TooFar`]), as is a dynamic-Huffman block unless its tables were given
//! ([`DecompressError::DynamicBlock`]). Fixed-Huffman codes are decoded arithmetically, without
//! tables.

use super::huffman::{Code, Tables, DYNAMIC_TABLE_BYTES};
use super::window::History;
use super::{StorageError, Window, MAX_WINDOW_BITS, MIN_WINDOW_BITS};

/// What a shared-stream piece lacks on the wire: the `LEN`/`NLEN` of the empty stored block
/// its sync flush ends with.
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Why a payload did not decompress. The message is dropped and counted, never delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecompressError {
    /// Not valid deflate, not ending exactly at the end of the payload, or referencing
    /// history before the start of the stream.
    Malformed,
    /// The output would exceed the message buffer (a bomb, or a peer with a larger limit).
    TooLarge,
    /// A back-reference further back than the window this side announced.
    TooFar,
    /// A dynamic-Huffman block, which this side does not accept.
    DynamicBlock,
    /// No preset dictionary with this id is configured.
    UnknownDictionary(u8),
    /// This representation is not enabled here (e.g. no codec, or no shared mode).
    Unsupported,
}

impl core::fmt::Display for DecompressError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed => f.write_str("malformed deflate payload"),
            Self::TooLarge => f.write_str("decompressed message exceeds the buffer"),
            Self::TooFar => f.write_str("back-reference beyond the window"),
            Self::DynamicBlock => f.write_str("dynamic Huffman block not accepted"),
            Self::UnknownDictionary(id) => write!(f, "unknown dictionary id {id}"),
            Self::Unsupported => f.write_str("compression mode not enabled"),
        }
    }
}

impl core::error::Error for DecompressError {}

/// Why the decoder stopped: the [`DecompressError`]s it can find itself, without payload and
/// word-sized, so that its results (`Result<u32, Fault>`) are returned in registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Fault {
    Malformed,
    TooLarge,
    TooFar,
    DynamicBlock,
}

impl From<Fault> for DecompressError {
    fn from(f: Fault) -> Self {
        match f {
            Fault::Malformed => Self::Malformed,
            Fault::TooLarge => Self::TooLarge,
            Fault::TooFar => Self::TooFar,
            Fault::DynamicBlock => Self::DynamicBlock,
        }
    }
}

/// The decompressor. See the [module docs](self).
///
/// ```
/// use ferrule::compress::{Deflater, End, Inflater};
///
/// let msg = br#"{"temp":21.5,"rh":40.1,"temp":21.5,"rh":40.1}"#;
/// let mut mem = [0u8; Deflater::storage_size(8)];
/// let mut deflater = Deflater::new(8, &mut mem).unwrap();
/// let mut wire = [0u8; 64];
/// let n = deflater.compress(msg, End::Final, &mut wire).unwrap();
///
/// let mut inflater = Inflater::new(8).unwrap(); // stored and fixed blocks: no memory
/// let mut out = [0u8; 64];
/// let m = inflater.inflate(&wire[..n], &mut out).unwrap();
/// assert_eq!(&out[..m], msg);
/// ```
pub struct Inflater<'a> {
    window_bits: u8,
    dynamic: Option<Tables<'a>>,
}

impl<'a> Inflater<'a> {
    /// A decompressor of stored and fixed-Huffman blocks with back-references up to
    /// `2^window_bits` (8..=15) bytes.
    pub fn new(window_bits: u8) -> Result<Self, StorageError> {
        if !(MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&window_bits) {
            return Err(StorageError::WindowBits(window_bits));
        }
        Ok(Self {
            window_bits,
            dynamic: None,
        })
    }

    /// As [`new`](Self::new), and dynamic-Huffman blocks too, with their tables in the front
    /// of `tables` ([`DYNAMIC_TABLE_BYTES`]).
    pub fn with_dynamic(window_bits: u8, tables: &'a mut [u8]) -> Result<Self, StorageError> {
        let given = tables.len();
        let tables = Tables::new(tables).ok_or(StorageError::TooSmall {
            needed: DYNAMIC_TABLE_BYTES,
            given,
        })?;
        Ok(Self {
            dynamic: Some(tables),
            ..Self::new(window_bits)?
        })
    }

    /// log2 of the longest back-reference accepted.
    pub fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// Whether dynamic-Huffman blocks are accepted.
    pub fn dynamic(&self) -> bool {
        self.dynamic.is_some()
    }

    /// Inflates one complete raw-deflate stream (ending with a final block exactly at the end
    /// of `input`) into `out`; returns the length.
    pub fn inflate(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize, DecompressError> {
        Ok(self.run(Bits::new(input, &[]), Prefix::None, false, out)?)
    }

    /// As [`inflate`](Self::inflate), with `dict` as the history before the stream.
    pub fn inflate_with_dictionary(
        &mut self,
        dict: &[u8],
        input: &[u8],
        out: &mut [u8],
    ) -> Result<usize, DecompressError> {
        Ok(self.run(Bits::new(input, &[]), Prefix::Bytes(dict), false, out)?)
    }

    /// Inflates the next piece of a shared stream: non-final blocks ending with a sync flush
    /// whose `00 00 FF FF` is omitted. `history` holds the stream's earlier output, and gets
    /// this piece's output appended on success (and is left as it was on error).
    pub fn inflate_piece(
        &mut self,
        history: &mut Window<'_>,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<usize, DecompressError> {
        let n = self.run(
            Bits::new(input, &SYNC_TAIL),
            Prefix::Ring(history.history()),
            true,
            out,
        )?;
        history.absorb(out.get(..n).unwrap_or_default());
        Ok(n)
    }

    /// Decodes blocks until the stream's end: after the final block with less than a byte
    /// left (a stand-alone stream), or exactly at the end of the input at a block boundary
    /// (a shared piece, where a final block is an error).
    fn run(
        &mut self,
        mut bits: Bits<'_>,
        prefix: Prefix<'_>,
        piece: bool,
        out: &mut [u8],
    ) -> Result<usize, Fault> {
        let mut out = Output {
            buf: out,
            len: 0,
            prefix,
            max_distance: 1usize.wrapping_shl(self.window_bits.into()),
        };
        loop {
            if piece && bits.remaining() == 0 {
                return Ok(out.len);
            }
            let last = bits.take(1)? == 1;
            if last && piece {
                return Err(Fault::Malformed);
            }
            match bits.take(2)? {
                0 => stored(&mut bits, &mut out)?,
                1 => huffman(&mut bits, &mut out, None)?,
                2 => {
                    let tables = self.dynamic.as_mut().ok_or(Fault::DynamicBlock)?;
                    tables.read_header(&mut bits)?;
                    huffman(&mut bits, &mut out, Some(tables.codes()))?;
                }
                _ => return Err(Fault::Malformed),
            }
            if last {
                return if bits.remaining() < 8 {
                    Ok(out.len)
                } else {
                    Err(Fault::Malformed)
                };
            }
        }
    }
}

/// A stored block: `LEN`, `NLEN` = !`LEN` (byte-aligned), then `LEN` bytes.
fn stored(bits: &mut Bits<'_>, out: &mut Output<'_, '_>) -> Result<(), Fault> {
    bits.align();
    let len = bits.take(16)?;
    if bits.take(16)? != !len & 0xFFFF {
        return Err(Fault::Malformed);
    }
    if len as usize > out.room() {
        return Err(Fault::TooLarge);
    }
    for _ in 0..len {
        out.push(bits.take(8)? as u8)?;
    }
    Ok(())
}

/// A Huffman block up to its end-of-block symbol: fixed codes, or the dynamic ones given.
fn huffman(
    bits: &mut Bits<'_>,
    out: &mut Output<'_, '_>,
    codes: Option<(Code<'_>, Code<'_>)>,
) -> Result<(), Fault> {
    loop {
        let sym = match &codes {
            Some((litlen, _)) => litlen.decode(bits)?,
            None => fixed_litlen(bits)?,
        };
        match sym {
            0..=255 => out.push(sym as u8)?,
            256 => return Ok(()),
            257..=285 => {
                let (base, extra) = length_base(sym);
                let len = base.wrapping_add(bits.take(extra)?);
                let dsym = match &codes {
                    Some((_, dist)) => dist.decode(bits)?,
                    None => bits.take(5)?.reverse_bits().wrapping_shr(27),
                };
                if dsym >= 30 {
                    return Err(Fault::Malformed);
                }
                let (base, extra) = distance_base(dsym);
                let dist = base.wrapping_add(bits.take(extra)?);
                out.copy(dist as usize, len as usize)?;
            }
            _ => return Err(Fault::Malformed),
        }
    }
}

/// One literal/length symbol of the fixed code (RFC 1951 3.2.6), decoded from its bits:
/// 7-bit codes 0..=23 are 256..=279; 8-bit codes 48..=191 are literals 0..=143 and 192..=199
/// are 280..=287; 9-bit codes 400..=511 are literals 144..=255.
#[inline]
fn fixed_litlen(bits: &mut Bits<'_>) -> Result<u32, Fault> {
    // The next 9 bits, first bit most significant (zeros past the input's end: the code's
    // length is decided by its first bits, and consuming more than there are fails).
    let v = bits.peek(9).reverse_bits().wrapping_shr(23);
    let (v7, v8) = (v.wrapping_shr(2), v.wrapping_shr(1));
    let (sym, len) = if v7 < 24 {
        (v7.wrapping_add(256), 7)
    } else if v8 < 0xC0 {
        (v8.wrapping_sub(0x30), 8)
    } else if v8 < 0xC8 {
        (v8.wrapping_add(280 - 0xC0), 8)
    } else {
        (v.wrapping_sub(0x190 - 144), 9)
    };
    bits.consume(len)?;
    Ok(sym)
}

/// Base length and extra bits of length symbol 257..=285.
fn length_base(s: u32) -> (u32, u32) {
    match s {
        257..=264 => (s.wrapping_sub(254), 0),
        285 => (258, 0),
        _ => {
            // Groups of four symbols from 265, each with one more extra bit.
            let extra = s.wrapping_sub(261).wrapping_shr(2);
            let base = (s.wrapping_sub(265) & 3)
                .wrapping_add(4)
                .wrapping_shl(extra);
            (base.wrapping_add(3), extra)
        }
    }
}

/// Base distance and extra bits of distance symbol 0..=29.
fn distance_base(s: u32) -> (u32, u32) {
    if s < 4 {
        (s.wrapping_add(1), 0)
    } else {
        // Pairs of symbols from 4, each with one more extra bit.
        let extra = s.wrapping_shr(1).wrapping_sub(1);
        let base = (s & 1).wrapping_add(2).wrapping_shl(extra);
        (base.wrapping_add(1), extra)
    }
}

/// The history in front of the output.
#[derive(Clone, Copy)]
enum Prefix<'p> {
    None,
    /// A preset dictionary.
    Bytes(&'p [u8]),
    /// The shared stream's earlier messages.
    Ring(History<'p>),
}

impl Prefix<'_> {
    fn len(&self) -> usize {
        match self {
            Self::None => 0,
            Self::Bytes(b) => b.len(),
            Self::Ring(w) => w.len(),
        }
    }

    /// The byte `back` (1..=len) positions before the output's start.
    fn back(&self, back: usize) -> u8 {
        match self {
            Self::None => 0,
            Self::Bytes(b) => b.get(b.len().wrapping_sub(back)).copied().unwrap_or(0),
            Self::Ring(w) => w.back(back),
        }
    }
}

/// The output buffer, the history in front of it, and the window limit.
struct Output<'o, 'p> {
    buf: &'o mut [u8],
    len: usize,
    prefix: Prefix<'p>,
    max_distance: usize,
}

impl Output<'_, '_> {
    fn room(&self) -> usize {
        self.buf.len().saturating_sub(self.len)
    }

    #[inline]
    fn push(&mut self, b: u8) -> Result<(), Fault> {
        let slot = self.buf.get_mut(self.len).ok_or(Fault::TooLarge)?;
        *slot = b;
        self.len = self.len.wrapping_add(1);
        Ok(())
    }

    /// Appends `len` bytes copied from `dist` (at least 1) bytes back (into the prefix if need
    /// be).
    fn copy(&mut self, dist: usize, len: usize) -> Result<(), Fault> {
        if dist > self.max_distance {
            return Err(Fault::TooFar);
        }
        if len > self.room() {
            return Err(Fault::TooLarge);
        }
        let end = self.len.wrapping_add(len);
        if let Some(back) = dist.checked_sub(self.len).filter(|&back| back > 0) {
            // The first bytes come from the history in front of the output.
            if back > self.prefix.len() {
                return Err(Fault::Malformed);
            }
            let dst = self.buf.get_mut(self.len..end).unwrap_or_default();
            for (i, d) in dst.iter_mut().take(back).enumerate() {
                *d = self.prefix.back(back.wrapping_sub(i));
            }
            self.len = self.len.wrapping_add(back.min(len));
        }
        // The rest from the output itself, `dist` <= `self.len` back.
        let start = self.len.saturating_sub(dist);
        let count = end.saturating_sub(self.len);
        if let Some((done, rest)) = self.buf.split_at_mut_checked(self.len) {
            if count <= dist {
                // No overlap: one block copy.
                let src = done.get(start..).unwrap_or_default();
                crate::bytes::copy(rest.get_mut(..count).unwrap_or_default(), src);
            } else {
                for i in self.len..end {
                    let b = self.buf.get(i.wrapping_sub(dist)).copied().unwrap_or(0);
                    if let Some(d) = self.buf.get_mut(i) {
                        *d = b;
                    }
                }
            }
        }
        self.len = end;
        Ok(())
    }
}

/// LSB-first bit reader over the payload followed by a fixed tail.
pub(crate) struct Bits<'i> {
    input: &'i [u8],
    tail: &'static [u8],
    /// Bytes of `input ‖ tail` loaded into `acc`.
    pos: usize,
    acc: u32,
    n: u32,
}

impl<'i> Bits<'i> {
    fn new(input: &'i [u8], tail: &'static [u8]) -> Self {
        Self {
            input,
            tail,
            pos: 0,
            acc: 0,
            n: 0,
        }
    }

    /// Loads whole bytes while at least one fits (one copy of it: a call costs less flash
    /// than inlining it into every read).
    #[inline(never)]
    fn refill(&mut self) {
        while self.n <= 24 {
            let b = match self.input.get(self.pos) {
                Some(&b) => b,
                None => match self.tail.get(self.pos.wrapping_sub(self.input.len())) {
                    Some(&b) => b,
                    None => return,
                },
            };
            self.acc |= u32::from(b).wrapping_shl(self.n);
            self.n = self.n.wrapping_add(8);
            self.pos = self.pos.wrapping_add(1);
        }
    }

    /// The next `k` (≤ 16) bits without consuming them; zeros past the end.
    #[inline]
    pub(crate) fn peek(&mut self, k: u32) -> u32 {
        if self.n < k {
            self.refill();
        }
        self.acc & 1u32.wrapping_shl(k).wrapping_sub(1)
    }

    /// Consumes `k` bits already peeked.
    #[inline]
    pub(crate) fn consume(&mut self, k: u32) -> Result<(), Fault> {
        if k > self.n {
            return Err(Fault::Malformed);
        }
        self.acc = self.acc.wrapping_shr(k);
        self.n = self.n.wrapping_sub(k);
        Ok(())
    }

    /// The next `k` (≤ 16) bits as a number, first bit least significant. (Called, not
    /// inlined at each of its many uses: less flash.)
    #[inline(never)]
    pub(crate) fn take(&mut self, k: u32) -> Result<u32, Fault> {
        let v = self.peek(k);
        self.consume(k)?;
        Ok(v)
    }

    /// Skips to the next byte boundary.
    fn align(&mut self) {
        let r = self.n & 7;
        self.acc = self.acc.wrapping_shr(r);
        self.n = self.n.wrapping_sub(r);
    }

    /// Bits not consumed yet.
    fn remaining(&self) -> usize {
        let bytes = self.input.len().wrapping_add(self.tail.len());
        (bytes.saturating_sub(self.pos).saturating_mul(8)).saturating_add(self.n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_distance_bases_follow_rfc_1951() {
        // RFC 1951 3.2.5: symbol -> (base, extra bits).
        assert_eq!(length_base(257), (3, 0));
        assert_eq!(length_base(264), (10, 0));
        assert_eq!(length_base(265), (11, 1));
        assert_eq!(length_base(269), (19, 2));
        assert_eq!(length_base(284), (227, 5));
        assert_eq!(length_base(285), (258, 0));
        assert_eq!(distance_base(0), (1, 0));
        assert_eq!(distance_base(4), (5, 1));
        assert_eq!(distance_base(5), (7, 1));
        assert_eq!(distance_base(19), (769, 8));
        assert_eq!(distance_base(29), (24577, 13));
    }

    #[test]
    fn fixed_code_covers_every_symbol_once() {
        // Encode every symbol with the fixed code, decode it back.
        for sym in 0u32..288 {
            let (code, len) = match sym {
                0..=143 => (0x30 + sym, 8),
                144..=255 => (0x190 + sym - 144, 9),
                256..=279 => (sym - 256, 7),
                _ => (0xC0 + sym - 280, 8),
            };
            let v = code.reverse_bits() >> (32 - len);
            let bytes = v.to_le_bytes();
            let mut bits = Bits::new(&bytes[..2], &[]);
            assert_eq!(fixed_litlen(&mut bits), Ok(sym), "{sym}");
            assert_eq!(bits.remaining(), 16 - len as usize);
        }
    }

    #[test]
    fn a_code_longer_than_the_input_is_malformed() {
        // 0xFF: the first 8 bits of a 9-bit literal code, and nothing after.
        let mut bits = Bits::new(&[0xFF], &[]);
        assert_eq!(fixed_litlen(&mut bits), Err(Fault::Malformed));
    }
}
