//! Canonical Huffman codes of dynamic blocks (RFC 1951 3.2.2, 3.2.7), decoded without lookup
//! tables: per code length, how many codes have it, and the symbols in code order. That is
//! [`DYNAMIC_TABLE_BYTES`] for the literal/length and distance codes of one block and the code
//! lengths they are built from, in caller memory, instead of the multi-kilobyte lookup tables of
//! fast inflaters; decoding walks the code one bit at a time (at most 15 steps).

use super::inflate::{Bits, Fault};
use super::table;

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
/// Bytes of the code lengths a block's header sends (one per symbol of both codes).
const LENGTHS: usize = MAX_LITLEN + MAX_DIST;

/// Where each table is in the memory (in this order).
const LIT_COUNT: usize = 0;
const LIT_SYMBOL: usize = LIT_COUNT + COUNTS;
const DIST_COUNT: usize = LIT_SYMBOL + LITLEN_SYMBOLS;
const DIST_SYMBOL: usize = DIST_COUNT + COUNTS;
const LENGTHS_AT: usize = DIST_SYMBOL + DIST_SYMBOLS;

/// Bytes of memory the decoding tables of dynamic-Huffman blocks take: counts per code length
/// and symbols in code order for the literal/length code (286 symbols) and the distance code
/// (30), as `u16` byte pairs, and the code lengths they are built from (a byte per symbol).
pub const DYNAMIC_TABLE_BYTES: usize = LENGTHS_AT + LENGTHS;

/// A canonical code: `count[len]` codes of each length, `symbol` in code order (byte pairs).
#[derive(Clone, Copy)]
pub(crate) struct Code<'t> {
    count: &'t [u8],
    symbol: &'t [u8],
}

impl Code<'_> {
    /// Decodes one symbol. The code's bits are read most significant first, one at a time:
    /// at each length, codes of that length are the `count` values after `first`. (One copy
    /// for its three uses: less flash.)
    #[inline(never)]
    pub(crate) fn decode(&self, bits: &mut Bits<'_>) -> Result<u32, Fault> {
        let v = bits.peek(MAX_BITS as u32);
        let (mut code, mut first, mut index) = (0u32, 0u32, 0u32);
        for len in 1..=MAX_BITS {
            code |= v.wrapping_shr(len.wrapping_sub(1) as u32) & 1;
            let count = u32::from(table::get(self.count, len));
            // Codes of this length are `first..first + count`.
            if let Some(offset) = code.checked_sub(first).filter(|&o| o < count) {
                bits.consume(len as u32)?;
                return Ok(table::get(self.symbol, index.wrapping_add(offset) as usize).into());
            }
            index = index.wrapping_add(count);
            first = first.wrapping_add(count).wrapping_shl(1);
            code = code.wrapping_shl(1);
        }
        Err(Fault::Malformed)
    }
}

/// Builds a canonical code from `lengths` into `count` and `symbol` (byte pairs; `symbol`
/// holds at least `lengths.len()` entries). Returns 0 for a complete code (or one without any
/// codes), a positive number for an incomplete one, a negative one for an over-subscribed one.
fn build(count: &mut [u8], symbol: &mut [u8], lengths: &[u8]) -> i32 {
    // Codes per length, kept in `count` as they are counted.
    table::fill(count, 0);
    for &l in lengths {
        let l = usize::from(l);
        table::set(count, l, table::get(count, l).wrapping_add(1));
    }
    if usize::from(table::get(count, 0)) == lengths.len() {
        return 0;
    }
    // Offsets of each length's first symbol (lengths 1..=15 at 1..=15), and what is left of
    // the code space after each length.
    let mut offset = [0u16; MAX_BITS + 1];
    let (mut next, mut left) = (0u16, 1i32);
    for len in 1..=MAX_BITS {
        let c = table::get(count, len);
        if let Some(o) = offset.get_mut(len) {
            *o = next;
        }
        next = next.wrapping_add(c);
        left = left.wrapping_shl(1).wrapping_sub(i32::from(c));
        if left < 0 {
            return left;
        }
    }
    for (sym, &l) in lengths.iter().enumerate() {
        if let Some(o) = offset.get_mut(usize::from(l)).filter(|_| l != 0) {
            table::set(symbol, usize::from(*o), sym as u16);
            *o = o.wrapping_add(1);
        }
    }
    left
}

/// The two codes of a dynamic block, and the code lengths they are built from, over
/// [`DYNAMIC_TABLE_BYTES`] of caller memory.
pub(crate) struct Tables<'a>(&'a mut [u8]);

impl<'a> Tables<'a> {
    /// The tables in the front of `mem`, or `None` if it is too short.
    pub(crate) fn new(mem: &'a mut [u8]) -> Option<Self> {
        mem.get_mut(..DYNAMIC_TABLE_BYTES).map(Self)
    }

    /// The literal/length and distance codes of the last header read.
    pub(crate) fn codes(&self) -> (Code<'_>, Code<'_>) {
        let area = |at: usize, len: usize| self.0.get(at..at.wrapping_add(len)).unwrap_or_default();
        (
            Code {
                count: area(LIT_COUNT, COUNTS),
                symbol: area(LIT_SYMBOL, LITLEN_SYMBOLS),
            },
            Code {
                count: area(DIST_COUNT, COUNTS),
                symbol: area(DIST_SYMBOL, DIST_SYMBOLS),
            },
        )
    }

    /// Reads a dynamic block's header (RFC 1951 3.2.7) and builds its codes ([`codes`]).
    ///
    /// [`codes`]: Self::codes
    ///
    /// Not inlined: its frame is then not part of the block decoder's, which it precedes.
    #[inline(never)]
    pub(crate) fn read_header(&mut self, bits: &mut Bits<'_>) -> Result<(), Fault> {
        let nlen = (bits.take(5)? as usize).wrapping_add(257);
        let ndist = (bits.take(5)? as usize).wrapping_add(1);
        let ncode = (bits.take(4)? as usize).wrapping_add(4);
        if nlen > MAX_LITLEN || ndist > MAX_DIST {
            return Err(Fault::Malformed);
        }
        // The areas in the order of their offsets (`LIT_COUNT`, ...).
        let mut mem = &mut *self.0;
        let mut area = |n| table::take(&mut mem, n).unwrap_or_default();
        let (lit_count, lit_symbol) = (area(COUNTS), area(LITLEN_SYMBOLS));
        let (dist_count, dist_symbol) = (area(COUNTS), area(DIST_SYMBOLS));
        let lengths = area(LENGTHS);
        // The code-length code, built where the literal/length code goes next.
        let cl_lengths = lengths.get_mut(..CODE_LENGTHS).unwrap_or_default();
        cl_lengths.fill(0);
        for &i in ORDER.iter().take(ncode) {
            if let Some(l) = cl_lengths.get_mut(usize::from(i)) {
                *l = bits.take(3)? as u8;
            }
        }
        if build(lit_count, lit_symbol, cl_lengths) != 0 {
            return Err(Fault::Malformed); // must be complete
        }
        let cl = Code {
            count: lit_count,
            symbol: lit_symbol,
        };
        let total = nlen.wrapping_add(ndist);
        let mut i = 0;
        while i < total {
            let sym = cl.decode(bits)?;
            let (len, repeat) = match sym {
                0..=15 => (sym as u8, 1),
                16 => match i.checked_sub(1).and_then(|prev| lengths.get(prev)) {
                    Some(&prev) => (prev, bits.take(2)?.wrapping_add(3)),
                    None => return Err(Fault::Malformed),
                },
                17 => (0, bits.take(3)?.wrapping_add(3)),
                _ => (0, bits.take(7)?.wrapping_add(11)),
            };
            let end = i.wrapping_add(repeat as usize);
            let run = lengths
                .get_mut(i..end)
                .filter(|_| end <= total)
                .ok_or(Fault::Malformed)?;
            run.fill(len);
            i = end;
        }
        let lit_lengths = lengths.get(..nlen).unwrap_or_default();
        let dist_lengths = lengths.get(nlen..total).unwrap_or_default();
        if lit_lengths.get(256).is_none_or(|&l| l == 0) {
            return Err(Fault::Malformed); // no end-of-block code
        }
        // Incomplete codes are only valid as a single code of one bit.
        let complete = |count: &[u8], built: i32, n: usize| {
            built == 0
                || (built > 0
                    && n == usize::from(table::get(count, 0))
                        .wrapping_add(table::get(count, 1).into()))
        };
        let built = build(lit_count, lit_symbol, lit_lengths);
        if !complete(lit_count, built, nlen) {
            return Err(Fault::Malformed);
        }
        let built = build(dist_count, dist_symbol, dist_lengths);
        if !complete(dist_count, built, ndist) {
            return Err(Fault::Malformed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_complete_incomplete_and_oversubscribed_codes() {
        let (mut count, mut symbol) = ([0u8; COUNTS], [0u8; 16]);
        // A, B, C, D with lengths 2, 1, 3, 3 (RFC 1951 3.2.2's example): complete.
        assert_eq!(build(&mut count, &mut symbol, &[2, 1, 3, 3]), 0);
        assert_eq!(table::get(&count, 1), 1);
        assert_eq!(table::get(&count, 3), 2);
        // In code order: B (0), A (10), C (110), D (111).
        let order: Vec<u16> = (0..4).map(|i| table::get(&symbol, i)).collect();
        assert_eq!(order, [1, 0, 2, 3]);
        assert!(build(&mut count, &mut symbol, &[1, 2]) > 0);
        assert!(build(&mut count, &mut symbol, &[1, 1, 1]) < 0);
        assert_eq!(build(&mut count, &mut symbol, &[0, 0]), 0);
    }
}
