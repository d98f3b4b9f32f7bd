//! A heap-free raw-deflate compressor (RFC 1951) for MCUs: LZ77 over a 1 KiB window with a
//! two-way hash, fixed Huffman codes. State is [`Deflater::STATE_BYTES`] bytes (about 3.5 KiB).
//!
//! Fixed codes cost nothing to build or transmit, which is what small messages need: a dynamic
//! Huffman header alone is 60–100 bytes. The window persists across messages in shared mode,
//! so telemetry that repeats its keys compresses against the previous messages.

use super::WINDOW;

/// New input is taken in chunks of this size; the buffer keeps `WINDOW` bytes of history.
const CHUNK: usize = 512;
const BUF: usize = WINDOW + CHUNK;
const HASH_BITS: u32 = 8;
const BUCKETS: usize = 1 << HASH_BITS;
const WAYS: usize = 4;
const EMPTY: u16 = u16::MAX;
const MIN_MATCH: usize = 3;
/// Matches at least this long are taken at once, without looking one byte ahead.
const GOOD_MATCH: usize = 32;
const MAX_MATCH: usize = 258;

/// How a compressed message ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// One final block: a complete deflate stream on its own.
    Final,
    /// A non-final block and a sync flush whose `00 00 FF FF` tail is not written: the next
    /// piece of a stream that continues with the next message.
    Sync,
}

/// The output would not be smaller than the input: send the message uncompressed. The
/// compressor's history still includes the message (as the receiver's will).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NotSmaller;

/// The heap-free compressor. See the [module docs](self).
#[derive(Clone)]
pub struct Deflater {
    buf: [u8; BUF],
    len: u16,
    heads: [[u16; WAYS]; BUCKETS],
}

impl Default for Deflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Deflater {
    /// Bytes of state (the whole struct).
    pub const STATE_BYTES: usize = core::mem::size_of::<Self>();

    /// A compressor with empty history.
    pub const fn new() -> Self {
        Self {
            buf: [0; BUF],
            len: 0,
            heads: [[EMPTY; WAYS]; BUCKETS],
        }
    }

    /// Forgets all history (a new session or a new stand-alone message).
    pub fn reset(&mut self) {
        self.len = 0;
        self.heads = [[EMPTY; WAYS]; BUCKETS];
    }

    /// Resets and loads a preset dictionary (its last 1 KiB counts) as history.
    pub fn preload(&mut self, dict: &[u8]) {
        self.reset();
        let dict = &dict[dict.len().saturating_sub(WINDOW)..];
        self.buf[..dict.len()].copy_from_slice(dict);
        self.len = dict.len() as u16;
        for p in 0..dict.len() {
            self.insert(p);
        }
    }

    /// Compresses `msg` into `out` and returns the compressed length, which is always smaller
    /// than `msg.len()`; [`NotSmaller`] otherwise (including when `out` is too short).
    pub fn compress(&mut self, msg: &[u8], end: End, out: &mut [u8]) -> Result<usize, NotSmaller> {
        let limit = out.len().min(msg.len().saturating_sub(1));
        let mut w = BitWriter::new(&mut out[..limit]);
        w.put(if end == End::Final { 0b011 } else { 0b010 }, 3);
        for chunk in msg.chunks(CHUNK) {
            let start = self.append(chunk);
            self.parse(start, &mut w);
        }
        w.put(0, 7); // end of block (symbol 256)
        if end == End::Sync {
            w.put(0, 3); // empty stored block header; LEN/NLEN omitted on the wire
        }
        w.finish().ok_or(NotSmaller)
    }

    /// Appends new input to the buffer, sliding the window first if needed; returns where it
    /// starts.
    fn append(&mut self, chunk: &[u8]) -> usize {
        let mut len = usize::from(self.len);
        if len + chunk.len() > BUF {
            let shift = len - WINDOW;
            self.buf.copy_within(shift..len, 0);
            len = WINDOW;
            for way in self.heads.iter_mut().flatten() {
                *way = match usize::from(*way).checked_sub(shift) {
                    Some(p) if *way != EMPTY => p as u16,
                    _ => EMPTY,
                };
            }
        }
        self.buf[len..len + chunk.len()].copy_from_slice(chunk);
        self.len = (len + chunk.len()) as u16;
        len
    }

    fn hash(&self, p: usize) -> Option<usize> {
        let b = self.buf.get(p..p + MIN_MATCH)?;
        let v = u32::from_le_bytes([b[0], b[1], b[2], 0]);
        Some((v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize)
    }

    fn insert(&mut self, p: usize) {
        if p + MIN_MATCH <= usize::from(self.len) {
            if let Some(h) = self.hash(p) {
                let ways = &mut self.heads[h];
                ways.copy_within(0..WAYS - 1, 1);
                ways[0] = p as u16;
            }
        }
    }

    /// LZ77 parse of `buf[start..len]` with one step of lazy evaluation: a match is deferred
    /// when the next position has a longer one.
    fn parse(&mut self, start: usize, w: &mut BitWriter<'_>) {
        let end = usize::from(self.len);
        let mut p = start;
        while p < end {
            let (len, dist) = self.longest_match(p, end);
            if (MIN_MATCH..GOOD_MATCH).contains(&len) && p + 1 < end {
                self.insert(p);
                let next = self.longest_match(p + 1, end);
                if next.0 > len {
                    put_literal(w, self.buf[p]);
                    p += 1;
                    put_match(w, next.0, next.1);
                    for q in p..p + next.0 {
                        self.insert(q);
                    }
                    p += next.0;
                    continue;
                }
                put_match(w, len, dist);
                for q in p + 1..p + len {
                    self.insert(q);
                }
                p += len;
            } else if len >= MIN_MATCH {
                put_match(w, len, dist);
                for q in p..p + len {
                    self.insert(q);
                }
                p += len;
            } else {
                put_literal(w, self.buf[p]);
                self.insert(p);
                p += 1;
            }
        }
    }

    fn longest_match(&self, p: usize, end: usize) -> (usize, usize) {
        let Some(h) = self.hash(p).filter(|_| p + MIN_MATCH <= end) else {
            return (0, 0);
        };
        let max = (end - p).min(MAX_MATCH);
        let mut best = (0, 0);
        for &cand in &self.heads[h] {
            let c = usize::from(cand);
            if cand == EMPTY || c >= p || p - c > WINDOW {
                continue;
            }
            let n = self.buf[c..c + max]
                .iter()
                .zip(&self.buf[p..p + max])
                .take_while(|(a, b)| a == b)
                .count();
            if n > best.0 {
                best = (n, p - c);
            }
        }
        best
    }
}

/// Fixed-Huffman literal.
fn put_literal(w: &mut BitWriter<'_>, b: u8) {
    if b < 144 {
        w.put_code(0x30 + u32::from(b), 8);
    } else {
        w.put_code(0x190 + u32::from(b) - 144, 9);
    }
}

/// Fixed-Huffman length/literal symbol 257..=285.
fn put_length_symbol(w: &mut BitWriter<'_>, sym: u32) {
    if sym < 280 {
        w.put_code(sym - 256, 7);
    } else {
        w.put_code(0xC0 + sym - 280, 8);
    }
}

/// A match of `len` (4..=258) bytes at distance `dist` (1..=1024).
fn put_match(w: &mut BitWriter<'_>, len: usize, dist: usize) {
    let l = (len - 3) as u32;
    if len == MAX_MATCH {
        put_length_symbol(w, 285);
    } else if l < 8 {
        put_length_symbol(w, 257 + l);
    } else {
        let n = 31 - l.leading_zeros(); // 3..=7
        let extra = n - 2;
        put_length_symbol(w, 265 + 4 * (n - 3) + ((l >> extra) & 3));
        w.put(l & ((1 << extra) - 1), extra);
    }
    let d = (dist - 1) as u32;
    if d < 4 {
        w.put_code(d, 5);
    } else {
        let n = 31 - d.leading_zeros(); // 2..=9 for a 1 KiB window
        let extra = n - 1;
        w.put_code(2 * n + ((d >> extra) & 1), 5);
        w.put(d & ((1 << extra) - 1), extra);
    }
}

/// LSB-first bit writer into a bounded slice; remembers overflow instead of failing early so
/// the compressor's history stays in step either way.
struct BitWriter<'a> {
    out: &'a mut [u8],
    pos: usize,
    acc: u64,
    bits: u32,
    overflow: bool,
}

impl<'a> BitWriter<'a> {
    fn new(out: &'a mut [u8]) -> Self {
        Self {
            out,
            pos: 0,
            acc: 0,
            bits: 0,
            overflow: false,
        }
    }

    /// Writes the low `n` bits of `v`, least significant first.
    fn put(&mut self, v: u32, n: u32) {
        self.acc |= u64::from(v) << self.bits;
        self.bits += n;
        while self.bits >= 8 {
            self.byte(self.acc as u8);
            self.acc >>= 8;
            self.bits -= 8;
        }
    }

    /// Writes a Huffman code of `n` bits, most significant bit first.
    fn put_code(&mut self, code: u32, n: u32) {
        self.put(code.reverse_bits() >> (32 - n), n);
    }

    fn byte(&mut self, b: u8) {
        match self.out.get_mut(self.pos) {
            Some(slot) if !self.overflow => {
                *slot = b;
                self.pos += 1;
            }
            _ => self.overflow = true,
        }
    }

    /// Pads to a byte boundary; the length written, or `None` on overflow.
    fn finish(mut self) -> Option<usize> {
        if self.bits > 0 {
            self.byte(self.acc as u8);
        }
        (!self.overflow).then_some(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_fits_the_budget() {
        const { assert!(Deflater::STATE_BYTES <= 4096) };
    }

    #[test]
    fn incompressible_input_is_refused() {
        let mut d = Deflater::new();
        let mut out = [0u8; 64];
        let msg: [u8; 16] = core::array::from_fn(|i| (i * 37 + 11) as u8);
        assert_eq!(d.compress(&msg, End::Final, &mut out), Err(NotSmaller));
        assert_eq!(d.compress(&[], End::Final, &mut out), Err(NotSmaller));
    }

    #[test]
    fn repetitive_input_shrinks() {
        let mut d = Deflater::new();
        let mut out = [0u8; 600];
        let n = d.compress(&[b'a'; 600], End::Final, &mut out).unwrap();
        assert!(n < 20, "{n}");
    }
}
