//! A heap-free raw-deflate compressor (RFC 1951) for MCUs: LZ77 over a 1 KiB window with hash
//! chains, an optimal parse for fixed Huffman codes. State is [`Deflater::STATE_BYTES`] bytes
//! (about 3.8 KiB); [`Deflater::compress`] also uses about 1.1 KiB of stack.
//!
//! Fixed codes cost nothing to build or transmit, which is what small messages need: a dynamic
//! Huffman header alone is 60–100 bytes. With the code lengths known in advance, the parse can
//! be exact: in segments of up to 128 bytes, it picks the sequence of literals and matches with
//! the fewest bits (a shortest path over the segment's positions), where a greedy or lazy
//! matcher takes whatever match is longest. On 64-byte JSON against a preset dictionary that is
//! about 10 % fewer bytes. The window persists across messages in shared mode, so telemetry
//! that repeats its keys compresses against the previous messages.

use super::WINDOW;

/// New input is taken in chunks of this size; the buffer keeps `WINDOW` bytes of history.
const CHUNK: usize = 256;
const BUF: usize = WINDOW + CHUNK;
const HASH_BITS: u32 = 8;
const BUCKETS: usize = 1 << HASH_BITS;
const EMPTY: u16 = u16::MAX;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
/// Positions the optimal parse weighs at once (its arrays live on the stack).
const SEGMENT: usize = 128;
/// Candidates examined per position, most recent first.
const MAX_CHAIN: usize = 16;
/// A match at least this long is taken as it is: the positions it covers are not weighed.
const NICE_MATCH: usize = 32;
/// `step` entry of a literal: length 1, distance 0.
const LITERAL: u32 = 1 << 16;

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
    /// Positions below this one are in the hash chains.
    hashed: u16,
    /// Stream position of `buf[0]` modulo `WINDOW`: `prev` is indexed by stream position, so
    /// sliding the buffer leaves it valid.
    origin: u16,
    /// Per hash bucket, the latest position (in `buf`) whose 3 bytes hash there.
    head: [u16; BUCKETS],
    /// Per stream position modulo `WINDOW`, the distance back to the previous position in the
    /// same bucket (0: none within the window).
    prev: [u16; WINDOW],
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
            hashed: 0,
            origin: 0,
            head: [EMPTY; BUCKETS],
            prev: [0; WINDOW],
        }
    }

    /// Forgets all history (a new session or a new stand-alone message).
    pub fn reset(&mut self) {
        self.len = 0;
        self.hashed = 0;
        self.origin = 0;
        self.head = [EMPTY; BUCKETS];
    }

    /// Resets and loads a preset dictionary (its last 1 KiB counts) as history.
    pub fn preload(&mut self, dict: &[u8]) {
        self.reset();
        let dict = &dict[dict.len().saturating_sub(WINDOW)..];
        self.buf[..dict.len()].copy_from_slice(dict);
        self.len = dict.len() as u16;
        self.hash_up_to(dict.len());
    }

    /// Compresses `msg` into `out` and returns the compressed length, which is always smaller
    /// than `msg.len()`; [`NotSmaller`] otherwise (including when `out` is too short).
    pub fn compress(&mut self, msg: &[u8], end: End, out: &mut [u8]) -> Result<usize, NotSmaller> {
        let limit = out.len().min(msg.len().saturating_sub(1));
        let mut w = BitWriter::new(&mut out[..limit]);
        w.put(if end == End::Final { 0b011 } else { 0b010 }, 3);
        for chunk in msg.chunks(CHUNK) {
            let mut p = self.append(chunk);
            while p < usize::from(self.len) {
                let n = (usize::from(self.len) - p).min(SEGMENT);
                self.parse_segment(p, n, &mut w);
                p += n;
            }
            self.hash_up_to(p);
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
            self.hashed = self.hashed.saturating_sub(shift as u16);
            self.origin = ((usize::from(self.origin) + shift) % WINDOW) as u16;
            for head in &mut self.head {
                *head = match head.checked_sub(shift as u16) {
                    Some(p) if *head != EMPTY => p,
                    _ => EMPTY,
                };
            }
        }
        self.buf[len..len + chunk.len()].copy_from_slice(chunk);
        self.len = (len + chunk.len()) as u16;
        len
    }

    fn hash(&self, p: usize) -> usize {
        let v = u32::from_le_bytes([self.buf[p], self.buf[p + 1], self.buf[p + 2], 0]);
        (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
    }

    fn slot(&self, p: usize) -> usize {
        (usize::from(self.origin) + p) % WINDOW
    }

    /// Puts every position below `limit` that has 3 bytes after it into the hash chains, in
    /// order (so each chain runs from the newest position to older ones).
    fn hash_up_to(&mut self, limit: usize) {
        let limit = limit.min(usize::from(self.len).saturating_sub(MIN_MATCH - 1));
        while usize::from(self.hashed) < limit {
            let p = usize::from(self.hashed);
            let h = self.hash(p);
            let newest = usize::from(self.head[h]);
            let back = match p.checked_sub(newest) {
                Some(d) if self.head[h] != EMPTY && d <= WINDOW => d as u16,
                _ => 0,
            };
            let slot = self.slot(p);
            self.prev[slot] = back;
            self.head[h] = p as u16;
            self.hashed += 1;
        }
    }

    /// The optimal parse of `buf[base..base + n]`: the cheapest path from the first position to
    /// the last, where a literal costs its code length and a match its length code, distance
    /// code and extra bits. Writes the path's symbols.
    fn parse_segment(&mut self, base: usize, n: usize, w: &mut BitWriter<'_>) {
        // cost[i]: fewest bits to reach position i; step[i]: (length << 16 | distance) of the
        // edge that does.
        let mut cost = [u32::MAX; SEGMENT + 1];
        let mut step = [0u32; SEGMENT + 1];
        cost[0] = 0;
        let mut covered = 0; // positions below this are inside a taken long match
        for i in 0..n {
            let p = base + i;
            self.hash_up_to(p);
            if i < covered || cost[i] == u32::MAX {
                continue;
            }
            let here = cost[i];
            relax(
                &mut cost,
                &mut step,
                i + 1,
                here + literal_bits(self.buf[p]),
                LITERAL,
            );
            let longest = self.weigh_matches(p, n - i, |len, dist, bits| {
                let edge = ((len as u32) << 16) | dist as u32;
                relax(&mut cost, &mut step, i + len, here + bits, edge);
            });
            if longest >= NICE_MATCH {
                covered = i + longest;
            }
        }
        // Turn the path around: each position on it gets the edge that leaves it.
        let mut j = n;
        while j > 0 {
            let edge = step[j];
            j -= (edge >> 16) as usize;
            cost[j] = edge;
        }
        let mut j = 0;
        while j < n {
            let (len, dist) = ((cost[j] >> 16) as usize, (cost[j] & 0xFFFF) as usize);
            if len == 1 {
                put_literal(w, self.buf[base + j]);
            } else {
                put_match(w, len, dist);
            }
            j += len;
        }
    }

    /// Offers every useful match at `p` (at most `room` bytes long) to `edge` as (length,
    /// distance, bits): for each length, the nearest candidate that reaches it. Returns the
    /// longest match length found.
    fn weigh_matches(
        &self,
        p: usize,
        room: usize,
        mut edge: impl FnMut(usize, usize, u32),
    ) -> usize {
        let max = room.min(MAX_MATCH).min(usize::from(self.len) - p);
        if max < MIN_MATCH {
            return 0;
        }
        let mut best = MIN_MATCH - 1;
        let mut cand = self.head[self.hash(p)];
        for _ in 0..MAX_CHAIN {
            let c = usize::from(cand);
            if cand == EMPTY || c >= p || p - c > WINDOW {
                break;
            }
            // Only a candidate longer than `best` helps; test the byte that decides it first.
            if self.buf[c + best] == self.buf[p + best] {
                let len = self.buf[c..c + max]
                    .iter()
                    .zip(&self.buf[p..p + max])
                    .take_while(|(a, b)| a == b)
                    .count();
                if len > best {
                    let dist_bits = distance_code(p - c).bits();
                    for l in best + 1..=len {
                        edge(l, p - c, length_bits(l) + dist_bits);
                    }
                    best = len;
                    if len == max || len >= NICE_MATCH {
                        break;
                    }
                }
            }
            let back = usize::from(self.prev[self.slot(c)]);
            if back == 0 || back > c {
                break;
            }
            cand = (c - back) as u16;
        }
        if best >= MIN_MATCH {
            best
        } else {
            0
        }
    }
}

/// Lowers `cost[to]` to `bits` through `edge` if that is cheaper.
fn relax(cost: &mut [u32], step: &mut [u32], to: usize, bits: u32, edge: u32) {
    if bits < cost[to] {
        cost[to] = bits;
        step[to] = edge;
    }
}

/// The fixed Huffman code of literal/length symbol 0..=287 (RFC 1951 3.2.6): (code, bits).
fn fixed_code(symbol: u32) -> (u32, u32) {
    match symbol {
        0..=143 => (0x30 + symbol, 8),
        144..=255 => (0x190 + symbol - 144, 9),
        256..=279 => (symbol - 256, 7),
        _ => (0xC0 + symbol - 280, 8),
    }
}

/// Bits of a fixed-Huffman literal.
fn literal_bits(b: u8) -> u32 {
    fixed_code(u32::from(b)).1
}

/// Fixed-Huffman literal.
fn put_literal(w: &mut BitWriter<'_>, b: u8) {
    let (code, bits) = fixed_code(u32::from(b));
    w.put_code(code, bits);
}

/// Bits of a match length's code and extra bits: the same as `length_code(len).bits()`,
/// without building the code (the parse asks for every length of every match).
fn length_bits(len: usize) -> u32 {
    let l = (len - MIN_MATCH) as u32;
    match l {
        0..=7 => 7,
        // Symbols 265..=279 (7-bit codes) then 280..=284 (8-bit), with n - 2 extra bits.
        8..=111 => 7 + (31 - l.leading_zeros()) - 2,
        112..=254 => 8 + (31 - l.leading_zeros()) - 2,
        _ => 8,
    }
}

/// A length or distance as a deflate symbol and its extra bits.
struct Code {
    symbol: u32,
    extra_bits: u32,
    extra: u32,
}

impl Code {
    const fn new(symbol: u32, extra_bits: u32, extra: u32) -> Self {
        Self {
            symbol,
            extra_bits,
            extra,
        }
    }

    /// Bits on the wire with fixed codes (distance symbols 0..=29 have 5-bit codes; length
    /// symbols are 257..=285).
    fn bits(&self) -> u32 {
        let code = if self.symbol < 30 {
            5
        } else {
            fixed_code(self.symbol).1
        };
        code + self.extra_bits
    }
}

/// The length symbol (257..=285) and extra bits of a match of `len` (3..=258) bytes.
fn length_code(len: usize) -> Code {
    let l = (len - MIN_MATCH) as u32;
    if len == MAX_MATCH {
        Code::new(285, 0, 0)
    } else if l < 8 {
        Code::new(257 + l, 0, 0)
    } else {
        let n = 31 - l.leading_zeros(); // 3..=7
        let extra_bits = n - 2;
        let symbol = 265 + 4 * (n - 3) + ((l >> extra_bits) & 3);
        Code::new(symbol, extra_bits, l & ((1 << extra_bits) - 1))
    }
}

/// The distance symbol (0..=19 for a 1 KiB window) and extra bits of `dist` (1..=1024).
fn distance_code(dist: usize) -> Code {
    let d = (dist - 1) as u32;
    if d < 4 {
        Code::new(d, 0, 0)
    } else {
        let n = 31 - d.leading_zeros(); // 2..=9
        let extra_bits = n - 1;
        let symbol = 2 * n + ((d >> extra_bits) & 1);
        Code::new(symbol, extra_bits, d & ((1 << extra_bits) - 1))
    }
}

/// A match of `len` (3..=258) bytes at distance `dist` (1..=1024).
fn put_match(w: &mut BitWriter<'_>, len: usize, dist: usize) {
    let l = length_code(len);
    let (code, bits) = fixed_code(l.symbol);
    w.put_code(code, bits);
    w.put(l.extra, l.extra_bits);
    let d = distance_code(dist);
    w.put_code(d.symbol, 5);
    w.put(d.extra, d.extra_bits);
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
    fn length_bits_agrees_with_the_codes() {
        for len in MIN_MATCH..=MAX_MATCH {
            assert_eq!(length_bits(len), length_code(len).bits(), "length {len}");
        }
        // RFC 1951 3.2.6 spot checks: length 3 is symbol 257, 258 is 285, 227 is 284 + 5 bits.
        assert_eq!(length_code(3).symbol, 257);
        assert_eq!(length_code(258).symbol, 285);
        assert_eq!(
            (length_code(227).symbol, length_code(227).extra_bits),
            (284, 5)
        );
        assert_eq!(
            (distance_code(1024).symbol, distance_code(1024).extra_bits),
            (19, 8)
        );
    }

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
