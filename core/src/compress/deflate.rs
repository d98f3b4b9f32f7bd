//! A heap-free raw-deflate compressor (RFC 1951) for MCUs: LZ77 over a window of up to 1 KiB
//! with hash chains, an optimal parse for fixed Huffman codes. Its state, the parse's work area
//! included, lives in caller memory ([`Deflater::storage_size`]: `3 × 2^window_bits + 1156`
//! bytes), so [`Deflater::compress`] itself needs little stack (about 0.3 KiB).
//!
//! Fixed codes cost nothing to build or transmit, which is what small messages need: a dynamic
//! Huffman header alone is 60–100 bytes. With the code lengths known in advance, the parse can
//! be exact: in segments of up to 128 bytes, it picks the sequence of literals and matches with
//! the fewest bits (a shortest path over the segment's positions), where a greedy or lazy
//! matcher takes whatever match is longest. On 64-byte JSON against a preset dictionary that is
//! about 10 % fewer bytes. The window persists across messages in shared mode, so telemetry
//! that repeats its keys compresses against the previous messages.

use super::table::{self, get32, set32};
use super::{StorageError, MAX_SEND_WINDOW_BITS, MIN_WINDOW_BITS};

/// New input is taken in chunks of this size; the buffer keeps the window's bytes of history
/// before it. (A chunk of the parse's segment size gives the same output as any larger one:
/// segments never span chunks.)
const CHUNK: usize = SEGMENT;
const HASH_BITS: u32 = 8;
const BUCKETS: usize = 1 << HASH_BITS;
const EMPTY: u16 = u16::MAX;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
/// Positions the optimal parse weighs at once.
const SEGMENT: usize = 128;
/// Bytes of a compressor's work area, the parse's nodes: one `u32` per position of a segment
/// and one for its end. Only used while a message is compressed, so the compressors of a codec
/// share one.
pub(super) const WORK_AREA: usize = 4 * (SEGMENT + 1);
/// Bytes of the history that do not depend on the window: a chunk of input and the hash heads.
const FIXED_HISTORY: usize = CHUNK + 2 * BUCKETS;
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
        let len = len.wrapping_sub(1) as u32;
        let dist = dist.saturating_sub(1) as u32;
        cost.wrapping_shl(COST_SHIFT) | len.wrapping_shl(LEN_SHIFT) | dist
    }
    pub(super) fn cost(n: u32) -> u32 {
        n.wrapping_shr(COST_SHIFT)
    }
    pub(super) fn len(n: u32) -> usize {
        (n.wrapping_shr(LEN_SHIFT) & 0x1FF).wrapping_add(1) as usize
    }
    pub(super) fn dist(n: u32) -> usize {
        (n & 0x3FF).wrapping_add(1) as usize
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
    head: &'a mut [u8],
    /// Per stream position modulo the window, the distance back to the previous position in
    /// the same bucket (0: none within the window; `u16` pairs).
    prev: &'a mut [u8],
    /// The work area ([`WORK_AREA`] bytes; empty in a codec, which lends its own to
    /// `compress_with`).
    work: &'a mut [u8],
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
    /// Bytes of memory a compressor with a window of `2^window_bits` bytes needs,
    /// `3 × 2^window_bits + 1156`: the window and a 128-byte chunk of input, 256 hash heads,
    /// one chain link per window position and the parse's work area (516 bytes).
    /// `window_bits` outside 8..=10 counts as the nearest.
    pub const fn storage_size(window_bits: u8) -> usize {
        Self::history_size(window_bits).wrapping_add(WORK_AREA)
    }

    /// Bytes of memory a compressor needs besides its work area ([`WORK_AREA`]).
    pub(super) const fn history_size(window_bits: u8) -> usize {
        window_of(window_bits)
            .wrapping_mul(3)
            .wrapping_add(FIXED_HISTORY)
    }

    /// A compressor with empty history and a window of `2^window_bits` (8..=10) bytes, in the
    /// front of `mem`. It emits distances up to the whole window until
    /// [`set_max_distance`](Self::set_max_distance) says otherwise.
    pub fn new(window_bits: u8, mem: &'a mut [u8]) -> Result<Self, StorageError> {
        check_window_bits(window_bits)?;
        let too_small = StorageError::TooSmall {
            needed: Self::storage_size(window_bits),
            given: mem.len(),
        };
        let (history, work) = mem
            .split_at_mut_checked(Self::history_size(window_bits))
            .ok_or(too_small)?;
        let work = work.get_mut(..WORK_AREA).ok_or(too_small)?;
        Self::over(window_bits, history, work)
    }

    /// As [`new`](Self::new), over [`history_size`](Self::history_size) bytes, for a codec
    /// that lends the compressor its work area ([`compress_with`](Self::compress_with)).
    pub(super) fn without_work_area(
        window_bits: u8,
        mem: &'a mut [u8],
    ) -> Result<Self, StorageError> {
        Self::over(window_bits, mem, &mut [])
    }

    /// A compressor with its history in the front of `mem` and `work` as its work area.
    #[inline(never)] // called three times: one copy
    fn over(window_bits: u8, mem: &'a mut [u8], work: &'a mut [u8]) -> Result<Self, StorageError> {
        check_window_bits(window_bits)?;
        let too_small = StorageError::TooSmall {
            needed: Self::history_size(window_bits),
            given: mem.len(),
        };
        let window = window_of(window_bits);
        let mut mem = mem;
        let mut area = |n| table::take(&mut mem, n).ok_or(too_small);
        let mut d = Self {
            buf: area(window.wrapping_add(CHUNK))?,
            head: area(2 * BUCKETS)?,
            prev: area(window.wrapping_mul(2))?,
            work,
            max_distance: window,
            len: 0,
            hashed: 0,
            origin: 0,
        };
        d.reset();
        Ok(d)
    }

    /// `2^window_bits`: the chain links hold two bytes per window position.
    fn window(&self) -> usize {
        self.prev.len() / 2
    }

    /// Limits back-references to `max` bytes (at most the window): what the peer accepts.
    pub fn set_max_distance(&mut self, max: usize) {
        self.max_distance = max.min(self.window());
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
        table::fill(self.head, EMPTY);
    }

    /// Resets and loads a preset dictionary (its last window's bytes count) as history.
    pub fn preload(&mut self, dict: &[u8]) {
        self.reset();
        let dict = dict
            .get(dict.len().saturating_sub(self.window())..)
            .unwrap_or_default();
        self.len = crate::bytes::copy(self.buf, dict);
        self.hash_up_to(self.len);
    }

    /// Compresses `msg` into `out` and returns the compressed length, which is always smaller
    /// than `msg.len()`; [`NotSmaller`] otherwise (including when `out` is too short).
    pub fn compress(&mut self, msg: &[u8], end: End, out: &mut [u8]) -> Result<usize, NotSmaller> {
        let work = core::mem::take(&mut self.work);
        let result = self.compress_with(work, msg, end, out);
        self.work = work;
        result
    }

    /// As [`compress`](Self::compress), with `work` ([`WORK_AREA`] bytes) as the work area.
    pub(super) fn compress_with(
        &mut self,
        work: &mut [u8],
        msg: &[u8],
        end: End,
        out: &mut [u8],
    ) -> Result<usize, NotSmaller> {
        let limit = out.len().min(msg.len().saturating_sub(1));
        let mut w = BitWriter::new(out.get_mut(..limit).unwrap_or_default());
        w.put(if end == End::Final { 0b011 } else { 0b010 }, 3);
        for chunk in msg.chunks(CHUNK) {
            let mut p = self.append(chunk);
            while p < self.len {
                let n = self.len.wrapping_sub(p).min(SEGMENT);
                self.parse_segment(work, p, n, &mut w);
                p = p.wrapping_add(n);
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
        if self.len.wrapping_add(chunk.len()) > self.buf.len() {
            self.slide();
        }
        let start = self.len;
        if let Some(dst) = self.buf.get_mut(start..) {
            self.len = start.wrapping_add(crate::bytes::copy(dst, chunk));
        }
        start
    }

    /// Drops the oldest bytes so that one window of history is left (the buffer is full).
    fn slide(&mut self) {
        let window = self.window();
        let shift = self.len.saturating_sub(window);
        move_to_front(self.buf, shift, window);
        self.len = self.len.wrapping_sub(shift);
        self.hashed = self.hashed.saturating_sub(shift);
        self.origin = self.origin.wrapping_add(shift) & window.wrapping_sub(1);
        for i in 0..BUCKETS {
            let head = table::get(self.head, i);
            let moved = match head.checked_sub(shift as u16) {
                Some(p) if head != EMPTY => p,
                _ => EMPTY,
            };
            table::set(self.head, i, moved);
        }
    }

    /// The hash bucket of the 3 bytes at `p` (callers have them in the buffer).
    fn hash(&self, p: usize) -> usize {
        let v = match self.buf.get(p..p.wrapping_add(3)) {
            Some(&[a, b, c]) => u32::from_le_bytes([a, b, c, 0]),
            _ => 0,
        };
        v.wrapping_mul(0x9E37_79B1).wrapping_shr(32 - HASH_BITS) as usize
    }

    fn slot(&self, p: usize) -> usize {
        self.origin.wrapping_add(p) & self.window().wrapping_sub(1)
    }

    /// Puts every position below `limit` that has 3 bytes after it into the hash chains, in
    /// order (so each chain runs from the newest position to older ones).
    fn hash_up_to(&mut self, limit: usize) {
        let limit = limit.min(self.len.saturating_sub(MIN_MATCH - 1));
        while self.hashed < limit {
            let p = self.hashed;
            let h = self.hash(p);
            let newest = table::get(self.head, h);
            let back = match p.checked_sub(usize::from(newest)) {
                Some(d) if newest != EMPTY && d <= self.window() => d as u16,
                _ => 0,
            };
            let slot = self.slot(p);
            table::set(self.prev, slot, back);
            table::set(self.head, h, p as u16);
            self.hashed = p.wrapping_add(1);
        }
    }

    /// The optimal parse of `buf[base..base + n]` (`n` at most a segment): the cheapest path
    /// from the first position to the last, where a literal costs its code length and a match
    /// its length code, distance code and extra bits. Writes the path's symbols.
    fn parse_segment(&mut self, nodes: &mut [u8], base: usize, n: usize, w: &mut BitWriter<'_>) {
        // Per position: the fewest bits to reach it and the edge that does (see `node`).
        for quad in nodes.chunks_exact_mut(4).take(n.wrapping_add(1)) {
            quad.fill(0xFF); // node::UNREACHED
        }
        set32(nodes, 0, node::new(0, 1, 0));
        let mut covered = 0; // positions below this are inside a taken long match
        for i in 0..n {
            let p = base.wrapping_add(i);
            self.hash_up_to(p);
            let reached = get32(nodes, i);
            if i < covered || reached == node::UNREACHED {
                continue;
            }
            let here = node::cost(reached);
            let literal = self.buf.get(p).copied().unwrap_or_default();
            relax(
                nodes,
                i.wrapping_add(1),
                here.wrapping_add(literal_bits(literal)),
                1,
                0,
            );
            let longest = self.weigh_matches(p, n.wrapping_sub(i), |len, dist, bits| {
                relax(
                    nodes,
                    i.wrapping_add(len),
                    here.wrapping_add(bits),
                    len,
                    dist,
                );
            });
            if longest >= NICE_MATCH {
                covered = i.wrapping_add(longest);
            }
        }
        // Turn the path around: each position on it gets the edge that leaves it (swapped in
        // for the edge arriving there, which leads on to the previous position).
        let mut j = n;
        let mut edge = get32(nodes, n);
        while j > 0 {
            j = j.saturating_sub(node::len(edge));
            let arriving = get32(nodes, j);
            set32(nodes, j, edge);
            edge = arriving;
        }
        let mut j = 0;
        while j < n {
            let edge = get32(nodes, j);
            let (len, dist) = (node::len(edge), node::dist(edge));
            match self.buf.get(base.wrapping_add(j)) {
                Some(&b) if len == 1 => put_literal(w, b),
                _ => put_match(w, len, dist),
            }
            j = j.wrapping_add(len);
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
        let max = room.min(MAX_MATCH).min(self.len.saturating_sub(p));
        let Some(here) = self.buf.get(p..p.wrapping_add(max)) else {
            return 0;
        };
        if max < MIN_MATCH {
            return 0;
        }
        let mut best = MIN_MATCH - 1;
        let mut cand = table::get(self.head, self.hash(p));
        for _ in 0..MAX_CHAIN {
            let c = usize::from(cand);
            let dist = p.wrapping_sub(c);
            if cand == EMPTY || c >= p || dist > self.max_distance {
                break;
            }
            let there = self.buf.get(c..).unwrap_or_default();
            // Only a candidate longer than `best` helps; test the byte that decides it first.
            if there.get(best) == here.get(best) {
                let len = there.iter().zip(here).take_while(|(a, b)| a == b).count();
                if len > best {
                    let dist_bits = distance_code(dist).bits();
                    for l in best.wrapping_add(1)..=len {
                        edge(l, dist, length_bits(l).wrapping_add(dist_bits));
                    }
                    best = len;
                    if len == max || len >= NICE_MATCH {
                        break;
                    }
                }
            }
            let back = usize::from(table::get(self.prev, self.slot(c)));
            match c.checked_sub(back) {
                Some(older) if back != 0 => cand = older as u16,
                _ => break,
            }
        }
        if best >= MIN_MATCH {
            best
        } else {
            0
        }
    }
}

/// A compressor's `window_bits` must be 8..=10.
fn check_window_bits(window_bits: u8) -> Result<(), StorageError> {
    match window_bits {
        MIN_WINDOW_BITS..=MAX_SEND_WINDOW_BITS => Ok(()),
        _ => Err(StorageError::WindowBits(window_bits)),
    }
}

/// `2^window_bits` for a compressor, `window_bits` clamped to 8..=10.
const fn window_of(window_bits: u8) -> usize {
    let bits = if window_bits < MIN_WINDOW_BITS {
        MIN_WINDOW_BITS
    } else if window_bits > MAX_SEND_WINDOW_BITS {
        MAX_SEND_WINDOW_BITS
    } else {
        window_bits
    };
    1usize.wrapping_shl(bits as u32)
}

/// Moves `buf[from..from + count]` to the front of `buf`, front to back in pieces of `from`
/// bytes, which do not overlap (a `memmove` without linking one).
fn move_to_front(buf: &mut [u8], from: usize, count: usize) {
    let mut done = 0;
    while done < count {
        let Some((front, back)) = buf.split_at_mut_checked(done.wrapping_add(from)) else {
            return;
        };
        let dst = front.get_mut(done..).unwrap_or_default();
        let src = back.get(..count.wrapping_sub(done)).unwrap_or_default();
        match crate::bytes::copy(dst, src) {
            0 => return,
            moved => done = done.wrapping_add(moved),
        }
    }
}

/// Lowers the cost of reaching `to` to `bits` through an edge of (`len`, `dist`) if that is
/// cheaper.
fn relax(nodes: &mut [u8], to: usize, bits: u32, len: usize, dist: usize) {
    if bits < node::cost(get32(nodes, to)) {
        set32(nodes, to, node::new(bits, len, dist));
    }
}

/// The fixed Huffman code of literal/length symbol 0..=287 (RFC 1951 3.2.6): (code, bits).
fn fixed_code(symbol: u32) -> (u32, u32) {
    match symbol {
        0..=143 => (symbol.wrapping_add(0x30), 8),
        144..=255 => (symbol.wrapping_add(0x190 - 144), 9),
        256..=279 => (symbol.wrapping_sub(256), 7),
        _ => (symbol.wrapping_sub(280 - 0xC0), 8),
    }
}

/// Bits of a fixed-Huffman literal.
fn literal_bits(b: u8) -> u32 {
    if b < 144 {
        8
    } else {
        9
    }
}

/// Fixed-Huffman literal.
fn put_literal(w: &mut BitWriter<'_>, b: u8) {
    let (code, bits) = fixed_code(u32::from(b));
    w.put_code(code, bits);
}

/// Bits of a match length's code and extra bits: the same as `length_code(len).bits()`,
/// without building the code (the parse asks for every length of every match).
fn length_bits(len: usize) -> u32 {
    let l = len.wrapping_sub(MIN_MATCH) as u32;
    // Symbols 265..=279 (7-bit codes) then 280..=284 (8-bit), with n - 2 extra bits for
    // l in 2^n..2^(n+1), n = 31 - leading zeros.
    match l {
        0..=7 => 7,
        8..=111 => 36u32.wrapping_sub(l.leading_zeros()),
        112..=254 => 37u32.wrapping_sub(l.leading_zeros()),
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
        code.wrapping_add(self.extra_bits)
    }
}

/// The low `n` bits of `v`.
fn low_bits(v: u32, n: u32) -> u32 {
    v & 1u32.wrapping_shl(n).wrapping_sub(1)
}

/// The length symbol (257..=285) and extra bits of a match of `len` (3..=258) bytes.
fn length_code(len: usize) -> Code {
    let l = len.wrapping_sub(MIN_MATCH) as u32;
    if len == MAX_MATCH {
        Code::new(285, 0, 0)
    } else if l < 8 {
        Code::new(l.wrapping_add(257), 0, 0)
    } else {
        let n = 31u32.wrapping_sub(l.leading_zeros()); // 3..=7
        let extra_bits = n.wrapping_sub(2);
        let group = n.wrapping_sub(3).wrapping_mul(4);
        let symbol = group
            .wrapping_add(265)
            .wrapping_add(low_bits(l.wrapping_shr(extra_bits), 2));
        Code::new(symbol, extra_bits, low_bits(l, extra_bits))
    }
}

/// The distance symbol (0..=19 for a 1 KiB window) and extra bits of `dist` (1..=1024).
fn distance_code(dist: usize) -> Code {
    let d = dist.wrapping_sub(1) as u32;
    if d < 4 {
        Code::new(d, 0, 0)
    } else {
        let n = 31u32.wrapping_sub(d.leading_zeros()); // 2..=9
        let extra_bits = n.wrapping_sub(1);
        let symbol = n
            .wrapping_mul(2)
            .wrapping_add(low_bits(d.wrapping_shr(extra_bits), 1));
        Code::new(symbol, extra_bits, low_bits(d, extra_bits))
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
    /// Bits not written yet: fewer than 8 between calls, and a call adds at most 13.
    acc: u32,
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

    /// Writes the low `n` (at most 16) bits of `v`, least significant first. (Called, not
    /// inlined at each of its eight uses: less flash.)
    #[inline(never)]
    fn put(&mut self, v: u32, n: u32) {
        self.acc |= v.wrapping_shl(self.bits);
        self.bits = self.bits.wrapping_add(n);
        while self.bits >= 8 {
            self.byte(self.acc as u8);
            self.acc = self.acc.wrapping_shr(8);
            self.bits = self.bits.wrapping_sub(8);
        }
    }

    /// Writes a Huffman code of `n` (1..=9) bits, most significant bit first.
    fn put_code(&mut self, code: u32, n: u32) {
        self.put(code.reverse_bits().wrapping_shr(32u32.wrapping_sub(n)), n);
    }

    fn byte(&mut self, b: u8) {
        match self.out.get_mut(self.pos) {
            Some(slot) if !self.overflow => {
                *slot = b;
                self.pos = self.pos.wrapping_add(1);
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
        // Window and chunk, hash heads, chain links, the parse's nodes.
        const { assert!(Deflater::storage_size(10) == 1024 + 128 + 512 + 2048 + 516) };
        const { assert!(Deflater::storage_size(8) == 256 + 128 + 512 + 512 + 516) };
        // Out of range counts as the nearest.
        assert_eq!(Deflater::storage_size(0), Deflater::storage_size(8));
        assert_eq!(Deflater::storage_size(255), Deflater::storage_size(10));
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
