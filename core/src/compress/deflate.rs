//! A heap-free raw-deflate compressor (RFC 1951) for MCUs: LZ77 over a window of up to 1 KiB
//! with hash chains, an optimal parse for fixed Huffman codes. Its state lives in caller memory
//! ([`Deflater::storage_size`]: about `3 × 2^window_bits` bytes); [`Deflater::compress`] uses
//! about 0.8 KiB of stack (816 B on Cortex-M0, most of it the parse's 516-byte array).
//!
//! Fixed codes cost nothing to build or transmit, which is what small messages need: a dynamic
//! Huffman header alone is 60–100 bytes. With the code lengths known in advance, the parse can
//! be exact: in segments of up to 128 bytes, it picks the sequence of literals and matches with
//! the fewest bits (a shortest path over the segment's positions), where a greedy or lazy
//! matcher takes whatever match is longest. On 64-byte JSON against a preset dictionary that is
//! about 10 % fewer bytes. The window persists across messages in shared mode, so telemetry
//! that repeats its keys compresses against the previous messages.

use super::{table, StorageError, MAX_SEND_WINDOW_BITS, MIN_WINDOW_BITS};

/// New input is taken in chunks of this size; the buffer keeps the window's bytes of history
/// before it. (A chunk of the parse's segment size gives the same output as any larger one:
/// segments never span chunks.)
const CHUNK: usize = SEGMENT;
const HASH_BITS: u32 = 8;
const BUCKETS: usize = 1 << HASH_BITS;
const EMPTY: u16 = u16::MAX;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
/// Positions the optimal parse weighs at once (its array lives on the stack).
const SEGMENT: usize = 128;
/// Candidates examined per position, most recent first.
const MAX_CHAIN: usize = 16;
/// A match at least this long is taken as it is: the positions it covers are not weighed.
const NICE_MATCH: usize = 32;

/// A node of the parse, packed in a `u32`: the fewest bits to reach the position (13 bits),
/// and the edge that does (length − 1: 9 bits; distance − 1: 10 bits, as the window is at
/// most 1 KiB).
mod node {
    const COST_SHIFT: u32 = 19;
    const LEN_SHIFT: u32 = 10;
    /// Not reached yet: the largest cost.
    pub(super) const UNREACHED: u32 = u32::MAX;

    pub(super) fn new(cost: u32, len: usize, dist: usize) -> u32 {
        (cost << COST_SHIFT) | (((len - 1) as u32) << LEN_SHIFT) | (dist.saturating_sub(1) as u32)
    }
    pub(super) fn cost(n: u32) -> u32 {
        n >> COST_SHIFT
    }
    pub(super) fn len(n: u32) -> usize {
        ((n >> LEN_SHIFT) & 0x1FF) as usize + 1
    }
    pub(super) fn dist(n: u32) -> usize {
        (n & 0x3FF) as usize + 1
    }
}

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
///
/// ```
/// use ferrule::compress::{Deflater, End};
///
/// let mut mem = [0u8; Deflater::storage_size(10)]; // or a `static` array
/// let mut d = Deflater::new(10, &mut mem).unwrap();
/// let mut out = [0u8; 600];
/// let n = d.compress(&[b'a'; 600], End::Final, &mut out).unwrap();
/// assert!(n < 20);
/// ```
pub struct Deflater<'a> {
    /// History then new input: `window + CHUNK` bytes.
    buf: &'a mut [u8],
    /// Per hash bucket, the latest position (in `buf`) whose 3 bytes hash there (`u16` pairs).
    head: &'a mut [u8; 2 * BUCKETS],
    /// Per stream position modulo the window, the distance back to the previous position in
    /// the same bucket (0: none within the window; `u16` pairs).
    prev: &'a mut [u8],
    /// `2^window_bits`.
    window: usize,
    /// The longest distance emitted (at most `window`).
    max_distance: usize,
    len: usize,
    /// Positions below this one are in the hash chains.
    hashed: usize,
    /// Stream position of `buf[0]` modulo the window: `prev` is indexed by stream position,
    /// so sliding the buffer leaves it valid.
    origin: usize,
}

impl<'a> Deflater<'a> {
    /// Bytes of memory a compressor with a window of `2^window_bits` bytes needs: the window
    /// and a chunk of input, 256 hash heads and one chain link per window position.
    pub const fn storage_size(window_bits: u8) -> usize {
        let window = 1 << window_bits;
        window + CHUNK + 2 * BUCKETS + 2 * window
    }

    /// A compressor with empty history and a window of `2^window_bits` (8..=10) bytes, in the
    /// front of `mem`. It emits distances up to the whole window until
    /// [`set_max_distance`](Self::set_max_distance) says otherwise.
    pub fn new(window_bits: u8, mem: &'a mut [u8]) -> Result<Self, StorageError> {
        if !(MIN_WINDOW_BITS..=MAX_SEND_WINDOW_BITS).contains(&window_bits) {
            return Err(StorageError::WindowBits(window_bits));
        }
        let needed = Self::storage_size(window_bits);
        let given = mem.len();
        let mem = mem
            .get_mut(..needed)
            .ok_or(StorageError::TooSmall { needed, given })?;
        let window = 1 << window_bits;
        let (buf, rest) = mem.split_at_mut(window + CHUNK);
        let (head, prev) = rest.split_at_mut(2 * BUCKETS);
        let head = <&mut [u8; 2 * BUCKETS]>::try_from(head)
            .map_err(|_| StorageError::TooSmall { needed, given })?;
        let mut d = Self {
            buf,
            head,
            prev,
            window,
            max_distance: window,
            len: 0,
            hashed: 0,
            origin: 0,
        };
        d.reset();
        Ok(d)
    }

    /// Limits back-references to `max` bytes (at most the window): what the peer accepts.
    pub fn set_max_distance(&mut self, max: usize) {
        self.max_distance = max.min(self.window);
    }

    /// The longest back-reference emitted.
    pub fn max_distance(&self) -> usize {
        self.max_distance
    }

    /// Forgets all history (a new session or a new stand-alone message).
    pub fn reset(&mut self) {
        self.len = 0;
        self.hashed = 0;
        self.origin = 0;
        table::fill(&mut self.head[..], EMPTY);
    }

    /// Resets and loads a preset dictionary (its last window's bytes count) as history.
    pub fn preload(&mut self, dict: &[u8]) {
        self.reset();
        let dict = &dict[dict.len().saturating_sub(self.window)..];
        self.len = crate::bytes::copy(self.buf, dict);
        self.hash_up_to(self.len);
    }

    /// Compresses `msg` into `out` and returns the compressed length, which is always smaller
    /// than `msg.len()`; [`NotSmaller`] otherwise (including when `out` is too short).
    pub fn compress(&mut self, msg: &[u8], end: End, out: &mut [u8]) -> Result<usize, NotSmaller> {
        let limit = out.len().min(msg.len().saturating_sub(1));
        let mut w = BitWriter::new(&mut out[..limit]);
        w.put(if end == End::Final { 0b011 } else { 0b010 }, 3);
        for chunk in msg.chunks(CHUNK) {
            let mut p = self.append(chunk);
            while p < self.len {
                let n = (self.len - p).min(SEGMENT);
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
        if self.len + chunk.len() > self.buf.len() {
            let shift = self.len - self.window;
            self.buf.copy_within(shift..self.len, 0);
            self.len = self.window;
            self.hashed = self.hashed.saturating_sub(shift);
            self.origin = (self.origin + shift) & (self.window - 1);
            for i in 0..BUCKETS {
                let head = table::get(&self.head[..], i);
                let moved = match head.checked_sub(shift as u16) {
                    Some(p) if head != EMPTY => p,
                    _ => EMPTY,
                };
                table::set(&mut self.head[..], i, moved);
            }
        }
        let start = self.len;
        if let Some(dst) = self.buf.get_mut(start..) {
            self.len += crate::bytes::copy(dst, chunk);
        }
        start
    }

    fn hash(&self, p: usize) -> usize {
        hash3(&self.buf[p..p + MIN_MATCH])
    }

    fn slot(&self, p: usize) -> usize {
        (self.origin + p) & (self.window - 1)
    }

    /// Puts every position below `limit` that has 3 bytes after it into the hash chains, in
    /// order (so each chain runs from the newest position to older ones).
    fn hash_up_to(&mut self, limit: usize) {
        let limit = limit.min(self.len.saturating_sub(MIN_MATCH - 1));
        let Some(buf) = self.buf.get(..limit + MIN_MATCH - 1) else {
            return;
        };
        let (head, prev, window) = (&mut *self.head, &mut *self.prev, self.window);
        let mut p = self.hashed;
        while p < limit {
            let h = hash3(&buf[p..p + MIN_MATCH]);
            let newest = u16::from_le_bytes([head[2 * h], head[2 * h + 1]]);
            let back = match p.checked_sub(usize::from(newest)) {
                Some(d) if newest != EMPTY && d <= window => d as u16,
                _ => 0,
            };
            table::set(prev, (self.origin + p) & (window - 1), back);
            [head[2 * h], head[2 * h + 1]] = (p as u16).to_le_bytes();
            p += 1;
        }
        self.hashed = p;
    }

    /// The optimal parse of `buf[base..base + n]`: the cheapest path from the first position to
    /// the last, where a literal costs its code length and a match its length code, distance
    /// code and extra bits. Writes the path's symbols.
    fn parse_segment(&mut self, base: usize, n: usize, w: &mut BitWriter<'_>) {
        // Per position: the fewest bits to reach it and the edge that does (see `node`).
        let mut nodes = [node::UNREACHED; SEGMENT + 1];
        nodes[0] = node::new(0, 1, 0);
        let mut covered = 0; // positions below this are inside a taken long match
        for i in 0..n {
            let p = base + i;
            self.hash_up_to(p);
            let here = node::cost(nodes[i]);
            if i < covered || nodes[i] == node::UNREACHED {
                continue;
            }
            relax(&mut nodes, i + 1, here + literal_bits(self.buf[p]), 1, 0);
            let longest = self.weigh_matches(p, n - i, |len, dist, bits| {
                relax(&mut nodes, i + len, here + bits, len, dist);
            });
            if longest >= NICE_MATCH {
                covered = i + longest;
            }
        }
        // Turn the path around: each position on it gets the edge that leaves it (swapped in
        // for the edge arriving there, which leads on to the previous position).
        let mut j = n;
        let mut edge = nodes[n];
        while j > 0 {
            j -= node::len(edge);
            core::mem::swap(&mut nodes[j], &mut edge);
        }
        let mut j = 0;
        while j < n {
            let (len, dist) = (node::len(nodes[j]), node::dist(nodes[j]));
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
        let max = room.min(MAX_MATCH).min(self.len - p);
        if max < MIN_MATCH {
            return 0;
        }
        let mut best = MIN_MATCH - 1;
        let mut cand = table::get(&self.head[..], self.hash(p));
        for _ in 0..MAX_CHAIN {
            let c = usize::from(cand);
            if cand == EMPTY || c >= p || p - c > self.max_distance {
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
            let back = usize::from(table::get(self.prev, self.slot(c)));
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

/// The hash bucket (below [`BUCKETS`]) of the 3 bytes at the start of `b`.
#[inline(always)]
fn hash3(b: &[u8]) -> usize {
    let v = match b {
        [x, y, z, ..] => u32::from_le_bytes([*x, *y, *z, 0]),
        _ => 0,
    };
    (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

/// Lowers the cost of reaching `to` to `bits` through an edge of (`len`, `dist`) if that is
/// cheaper.
fn relax(nodes: &mut [u32], to: usize, bits: u32, len: usize, dist: usize) {
    if let Some(n) = nodes.get_mut(to) {
        if bits < node::cost(*n) {
            *n = node::new(bits, len, dist);
        }
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
        const { assert!(Deflater::storage_size(10) <= 3712) };
        const { assert!(Deflater::storage_size(8) <= 1408) };
    }

    #[test]
    fn incompressible_input_is_refused() {
        let mut mem = [0u8; Deflater::storage_size(10)];
        let mut d = Deflater::new(10, &mut mem).unwrap();
        let mut out = [0u8; 64];
        let msg: [u8; 16] = core::array::from_fn(|i| (i * 37 + 11) as u8);
        assert_eq!(d.compress(&msg, End::Final, &mut out), Err(NotSmaller));
        assert_eq!(d.compress(&[], End::Final, &mut out), Err(NotSmaller));
    }

    #[test]
    fn repetitive_input_shrinks() {
        let mut mem = [0u8; Deflater::storage_size(10)];
        let mut d = Deflater::new(10, &mut mem).unwrap();
        let mut out = [0u8; 600];
        let n = d.compress(&[b'a'; 600], End::Final, &mut out).unwrap();
        assert!(n < 20, "{n}");
    }
}
