//! Canonical Huffman codes of dynamic blocks (RFC 1951 3.2.2, 3.2.7), decoded without lookup
//! tables: per code length, how many codes have it, and the symbols in code order. That is
//! [`DYNAMIC_TABLE_BYTES`] for the literal/length and distance codes of one block, in caller
//! memory, instead of the multi-kilobyte lookup tables of fast inflaters; decoding walks the
//! code one bit at a time (at most 15 steps).

use super::inflate::{Bits, DecompressError};
use super::table;
use core::ops::Range;

const MAX_BITS: usize = 15;
/// Literal/length symbols a dynamic block may define (RFC 1951: HLIT ≤ 29, so ≤ 286).
const MAX_LITLEN: usize = 286;
/// Distance symbols a dynamic block may define (30 and 31 never occur).
const MAX_DIST: usize = 30;
/// Code-length code symbols.
const CODE_LENGTHS: usize = 19;
/// The order in which the code-length code's lengths are sent.
const ORDER: [u8; CODE_LENGTHS] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Bytes per code length count table (`u16` for lengths 0..=15).
const COUNTS: usize = 2 * (MAX_BITS + 1);
const LITLEN_SYMBOLS: usize = 2 * MAX_LITLEN;
const DIST_SYMBOLS: usize = 2 * MAX_DIST;

/// Bytes of memory the decoding tables of dynamic-Huffman blocks take: counts per code length
/// and symbols in code order for the literal/length code (286 symbols) and the distance code
/// (30), as `u16` byte pairs.
pub const DYNAMIC_TABLE_BYTES: usize = COUNTS + LITLEN_SYMBOLS + COUNTS + DIST_SYMBOLS;

/// A canonical code: `count[len]` codes of each length, `symbol` in code order (byte pairs).
#[derive(Clone, Copy)]
pub(crate) struct Code<'t> {
    count: &'t [u8],
    symbol: &'t [u8],
}

impl Code<'_> {
    /// Decodes one symbol. The code's bits are read most significant first, one at a time:
    /// at each length, codes of that length are the `count` values after `first`.
    #[inline]
    pub(crate) fn decode(&self, bits: &mut Bits<'_>) -> Result<u16, DecompressError> {
        let v = bits.peek(MAX_BITS as u32);
        let (mut code, mut first, mut index) = (0u32, 0u32, 0u32);
        for len in 1..=MAX_BITS {
            code |= (v >> (len - 1)) & 1;
            let count = u32::from(table::get(self.count, len));
            if code < first + count {
                bits.consume(len as u32)?;
                return Ok(table::get(self.symbol, (index + code - first) as usize));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(DecompressError::Malformed)
    }
}

/// Builds a canonical code from the code lengths `lengths[range]` (of symbols 0, 1, ...) into
/// `count` and `symbol` (byte pairs; `symbol` holds at least `range.len()` entries). Returns 0
/// for a complete code (or one without any codes), a positive number for an incomplete one, a
/// negative one for an over-subscribed one.
fn build(count: &mut [u8], symbol: &mut [u8], lengths: &Nibbles, range: Range<usize>) -> i32 {
    let mut n = [0u16; MAX_BITS + 1];
    for i in range.clone() {
        if let Some(c) = n.get_mut(usize::from(lengths.get(i))) {
            *c += 1;
        }
    }
    for (len, &c) in n.iter().enumerate() {
        table::set(count, len, c);
    }
    if usize::from(n[0]) == range.len() {
        return 0;
    }
    let mut left = 1i32;
    for &c in &n[1..] {
        left = (left << 1) - i32::from(c);
        if left < 0 {
            return left;
        }
    }
    // Offsets of each length's first symbol, then the symbols in order.
    let mut offset = [0u16; MAX_BITS + 1];
    for len in 1..MAX_BITS {
        offset[len + 1] = offset[len] + n[len];
    }
    for (sym, l) in range.map(|i| lengths.get(i)).enumerate() {
        if let Some(o) = offset.get_mut(usize::from(l)).filter(|_| l != 0) {
            table::set(symbol, usize::from(*o), sym as u16);
            *o += 1;
        }
    }
    left
}

/// Code lengths (0..=15), two per byte.
struct Nibbles([u8; (MAX_LITLEN + MAX_DIST) / 2]);

impl Nibbles {
    fn get(&self, i: usize) -> u8 {
        let b = self.0.get(i / 2).copied().unwrap_or(0);
        if i % 2 == 0 {
            b & 0x0F
        } else {
            b >> 4
        }
    }

    fn set(&mut self, i: usize, v: u8) {
        if let Some(b) = self.0.get_mut(i / 2) {
            *b = if i % 2 == 0 {
                (*b & 0xF0) | v
            } else {
                (*b & 0x0F) | (v << 4)
            };
        }
    }
}

/// The two codes of a dynamic block, over [`DYNAMIC_TABLE_BYTES`] of caller memory.
pub(crate) struct Tables<'a>(&'a mut [u8]);

impl<'a> Tables<'a> {
    /// The tables in the front of `mem`, or `None` if it is too short.
    pub(crate) fn new(mem: &'a mut [u8]) -> Option<Self> {
        mem.get_mut(..DYNAMIC_TABLE_BYTES).map(Self)
    }

    /// Reads a dynamic block's header (RFC 1951 3.2.7) and builds its codes; returns the
    /// literal/length and distance codes. Out of line: its stack (about 0.3 KiB: the code
    /// lengths) is released before the block's symbols are decoded.
    #[inline(never)]
    pub(crate) fn read_header(
        &mut self,
        bits: &mut Bits<'_>,
    ) -> Result<(Code<'_>, Code<'_>), DecompressError> {
        let nlen = bits.take(5)? as usize + 257;
        let ndist = bits.take(5)? as usize + 1;
        let ncode = bits.take(4)? as usize + 4;
        if nlen > MAX_LITLEN || ndist > MAX_DIST {
            return Err(DecompressError::Malformed);
        }
        // The code lengths of both codes, two per byte (this frame is the inflater's deepest);
        // first those of the code-length code, which the others then overwrite.
        let mut lengths = Nibbles([0; (MAX_LITLEN + MAX_DIST) / 2]);
        for &i in &ORDER[..ncode] {
            lengths.set(usize::from(i), bits.take(3)? as u8);
        }
        let mut count = [0u8; COUNTS];
        let mut symbol = [0u8; 2 * CODE_LENGTHS];
        if build(&mut count, &mut symbol, &lengths, 0..CODE_LENGTHS) != 0 {
            return Err(DecompressError::Malformed); // must be complete
        }
        let cl = Code {
            count: &count,
            symbol: &symbol,
        };
        let total = nlen + ndist;
        let mut i = 0;
        while i < total {
            let sym = cl.decode(bits)?;
            let (len, repeat) = match sym {
                0..=15 => (sym as u8, 1),
                16 => match i.checked_sub(1) {
                    Some(prev) => (lengths.get(prev), 3 + bits.take(2)? as usize),
                    None => return Err(DecompressError::Malformed),
                },
                17 => (0, 3 + bits.take(3)? as usize),
                _ => (0, 11 + bits.take(7)? as usize),
            };
            if i + repeat > total {
                return Err(DecompressError::Malformed);
            }
            for k in i..i + repeat {
                lengths.set(k, len);
            }
            i += repeat;
        }
        if lengths.get(256) == 0 {
            return Err(DecompressError::Malformed); // no end-of-block code
        }
        let (lit_count, rest) = self.0.split_at_mut(COUNTS);
        let (lit_symbol, rest) = rest.split_at_mut(LITLEN_SYMBOLS);
        let (dist_count, dist_symbol) = rest.split_at_mut(COUNTS);
        // Incomplete codes are only valid as a single code of one bit.
        let complete = |count: &[u8], built: i32, n: usize| {
            built == 0
                || (built > 0 && n == usize::from(table::get(count, 0) + table::get(count, 1)))
        };
        let built = build(lit_count, lit_symbol, &lengths, 0..nlen);
        if !complete(lit_count, built, nlen) {
            return Err(DecompressError::Malformed);
        }
        let built = build(dist_count, dist_symbol, &lengths, nlen..total);
        if !complete(dist_count, built, ndist) {
            return Err(DecompressError::Malformed);
        }
        Ok((
            Code {
                count: lit_count,
                symbol: lit_symbol,
            },
            Code {
                count: dist_count,
                symbol: dist_symbol,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_complete_incomplete_and_oversubscribed_codes() {
        let (mut count, mut symbol) = ([0u8; COUNTS], [0u8; 16]);
        let lengths = |l: &[u8]| {
            let mut n = Nibbles([0; (MAX_LITLEN + MAX_DIST) / 2]);
            for (i, &v) in l.iter().enumerate() {
                n.set(i, v);
            }
            n
        };
        // A, B, C, D with lengths 2, 1, 3, 3 (RFC 1951 3.2.2's example): complete.
        assert_eq!(
            build(&mut count, &mut symbol, &lengths(&[2, 1, 3, 3]), 0..4),
            0
        );
        assert_eq!(table::get(&count, 1), 1);
        assert_eq!(table::get(&count, 3), 2);
        // In code order: B (0), A (10), C (110), D (111).
        let order: Vec<u16> = (0..4).map(|i| table::get(&symbol, i)).collect();
        assert_eq!(order, [1, 0, 2, 3]);
        assert!(build(&mut count, &mut symbol, &lengths(&[1, 2]), 0..2) > 0);
        assert!(build(&mut count, &mut symbol, &lengths(&[1, 1, 1]), 0..3) < 0);
        assert_eq!(build(&mut count, &mut symbol, &lengths(&[0, 0]), 0..2), 0);
        // A range that does not start at 0 numbers its symbols from 0.
        assert_eq!(
            build(&mut count, &mut symbol, &lengths(&[9, 1, 1]), 1..3),
            0
        );
        assert_eq!(table::get(&symbol, 1), 1);
    }
}
