//! Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999) with `0x00` as the delimiter.
//!
//! COBS removes every `0x00` from a byte string at a cost of at most one byte per 254, so a
//! `0x00` on the line can only be a frame delimiter. A receiver that loses sync (noise, a peer
//! that starts mid-frame, a dropped byte) is back in sync at the next `0x00`, by construction.
//!
//! The encoding here is the one in the original paper and on Wikipedia: a block of 254 non-zero
//! bytes is code `0xFF` and implies no zero; the final (virtual) zero is not encoded; a `0xFF`
//! block that ends the input is not followed by an empty `0x01` block.
//!
//! [`Encoder`] writes one encoded string from several input slices in one pass (the frame
//! encoder feeds it header, payload and CRC without copying them together first).
//! [`decode`] is the one-shot decoder; the streaming decoder lives in [`crate::decoder`].

use crate::zero::find_zero;
#[cfg(all(target_pointer_width = "64", not(feature = "small")))]
use crate::{bytes::le_u64, zero::zero_bytes};
#[cfg(not(feature = "small"))]
use crate::{
    bytes::{copy, split},
    zero::around,
};

/// Output buffer too small for the encoded or decoded bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BufferTooSmall;

/// Why [`decode`] rejected its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecodeError {
    /// The input holds a `0x00`, which COBS never produces.
    ZeroByte,
    /// A block code points past the end of the input.
    Truncated,
    /// The input is empty (COBS encodes even the empty string as one byte).
    Empty,
    /// The output buffer is too small.
    BufferTooSmall,
}

/// Worst-case COBS length of `n` input bytes, without any delimiter.
pub const fn max_encoded_len(n: usize) -> usize {
    n + n / 254 + 1
}

/// Blocks at least this long are copied in bulk; shorter ones take the word-at-a-time paths
/// (64-bit hosts only).
#[cfg(all(target_pointer_width = "64", not(feature = "small")))]
const LONG_BLOCK: usize = 16;

/// For each set of zero bytes in a word (bit `i`: byte `i` is zero), the word that puts into
/// each zero byte but the last the distance to the next one: the code bytes of the blocks that
/// end inside the word.
#[cfg(all(target_pointer_width = "64", not(feature = "small")))]
static NEXT_ZERO: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut mask = 0;
    while mask < 256 {
        let mut i = 0;
        while i < 8 {
            if mask & (1 << i) != 0 {
                let mut j = i + 1;
                while j < 8 && mask & (1 << j) == 0 {
                    j += 1;
                }
                if j < 8 {
                    table[mask] |= ((j - i) as u64) << (8 * i);
                }
            }
            i += 1;
        }
        mask += 1;
    }
    table
};

/// One-pass COBS encoder writing into a caller buffer, fed by any number of slices.
pub struct Encoder<'a> {
    out: &'a mut [u8],
    /// Index of the current block's code byte.
    code_at: usize,
    /// Next write index.
    w: usize,
    /// Data bytes in the current block so far (0..=254).
    run: usize,
}

impl<'a> Encoder<'a> {
    /// Starts encoding into `out`.
    pub fn new(out: &'a mut [u8]) -> Result<Self, BufferTooSmall> {
        if out.is_empty() {
            return Err(BufferTooSmall);
        }
        Ok(Self {
            out,
            code_at: 0,
            w: 1,
            run: 0,
        })
    }

    /// Encodes `data` after what was pushed before.
    #[cfg(feature = "small")]
    pub fn push(&mut self, data: &[u8]) -> Result<(), BufferTooSmall> {
        // Byte at a time: the least code (feature `small`).
        for &b in data {
            if self.run == 254 {
                self.close_block(0xFF)?;
            }
            if b == 0 {
                self.close_block((self.run + 1) as u8)?;
            } else {
                *self.out.get_mut(self.w).ok_or(BufferTooSmall)? = b;
                self.w += 1;
                self.run += 1;
            }
        }
        Ok(())
    }

    /// Encodes `data` after what was pushed before.
    #[cfg(not(feature = "small"))]
    pub fn push(&mut self, mut data: &[u8]) -> Result<(), BufferTooSmall> {
        while !data.is_empty() {
            // Host speed for a little code: 32-bit MCUs keep the compact block loop.
            #[cfg(all(target_pointer_width = "64", not(feature = "small")))]
            if self.run < LONG_BLOCK && data.len() >= 8 {
                let used = self.push_dense(data);
                if used > 0 {
                    data = data.get(used..).unwrap_or_default();
                    continue;
                }
            }
            if self.run == 254 {
                self.close_block(0xFF)?;
            }
            let room = 254 - self.run;
            let (window, after) = split(data, room);
            match find_zero(window) {
                Some(k) => {
                    let (block, rest) = around(data, k);
                    self.copy(block)?;
                    self.close_block((self.run + k + 1) as u8)?;
                    data = rest;
                }
                None => {
                    self.copy(window)?;
                    self.run += window.len();
                    data = after;
                }
            }
        }
        Ok(())
    }

    /// The fast path for data with frequent zeros: while a block cannot reach 254 bytes
    /// within the next eight, each input byte lands at one output position, a zero becoming
    /// the code byte of the block it starts. So eight bytes are copied as they are and then
    /// each zero among them is replaced by the length of the block it ends (written to that
    /// block's code byte) and becomes the next code byte. Returns the input bytes consumed.
    #[cfg(all(target_pointer_width = "64", not(feature = "small")))]
    #[inline]
    fn push_dense(&mut self, data: &[u8]) -> usize {
        let out = &mut *self.out;
        let (mut w, mut code_at, mut r) = (self.w, self.code_at, 0);
        // The open block (`w - code_at - 1` bytes) is shorter than `LONG_BLOCK` on entry (the
        // caller checks) and after every word (the loop ends otherwise): 8 more bytes fit.
        while let (Some(input), Some(dst)) = (data.get(r..r + 8), out.get_mut(w..w + 8)) {
            let v = le_u64(input);
            // One bit per zero byte; each zero but the last becomes the distance to the next
            // (`NEXT_ZERO`), in place, since the zero lanes of `v` are empty.
            let mask = ((zero_bytes(v) >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as usize;
            copy(dst, &(v | NEXT_ZERO[mask]).to_le_bytes());
            // The open block ends at the first zero (without one, the length so far is written
            // and overwritten later); the last zero opens the next block.
            let first = (mask | 0x100).trailing_zeros() as usize;
            set(out, code_at, (w + first - code_at) as u8);
            let last = w + 31 - (mask as u32 | 1).leading_zeros() as usize;
            code_at = if mask != 0 { last } else { code_at };
            w += 8;
            r += 8;
            if w - code_at > LONG_BLOCK {
                // A long block: the block-at-a-time path copies it in bulk.
                break;
            }
        }
        self.w = w;
        self.code_at = code_at;
        self.run = w - code_at - 1;
        r
    }

    /// Closes the last block and returns the encoded length.
    pub fn finish(self) -> usize {
        // `code_at < w <= out.len()` holds: `new` and `close_block` check it.
        set(self.out, self.code_at, (self.run + 1) as u8);
        self.w
    }

    #[cfg(not(feature = "small"))]
    #[inline(always)]
    fn copy(&mut self, src: &[u8]) -> Result<(), BufferTooSmall> {
        let end = self.w + src.len();
        copy(self.out.get_mut(self.w..end).ok_or(BufferTooSmall)?, src);
        self.w = end;
        Ok(())
    }

    #[inline(always)]
    fn close_block(&mut self, code: u8) -> Result<(), BufferTooSmall> {
        if self.w >= self.out.len() {
            return Err(BufferTooSmall);
        }
        // `code_at < w <= out.len()`: always present.
        set(self.out, self.code_at, code);
        self.code_at = self.w;
        self.w += 1;
        self.run = 0;
        Ok(())
    }
}

/// Encodes `src` into `dst` (no delimiter) and returns the encoded length.
pub fn encode(src: &[u8], dst: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let mut e = Encoder::new(dst)?;
    e.push(src)?;
    Ok(e.finish())
}

/// Encodes `buf[src..src + len]` into the front of `buf` (no delimiter) and returns the
/// encoded length. The output overtakes the input by at most one byte per 254, so `src` must be
/// at least `len / 254 + 1` (then the encoding, [`max_encoded_len`]`(len)` bytes at most,
/// ends where the input did). Lets a sealed frame be built and stuffed in one buffer.
pub fn encode_in_place(buf: &mut [u8], src: usize, len: usize) -> Result<usize, BufferTooSmall> {
    let end = src.checked_add(len).ok_or(BufferTooSmall)?;
    if src < len / 254 + 1 || end > buf.len() {
        return Err(BufferTooSmall);
    }
    // Invariant: code_at < w <= r, so writes land only on input already consumed.
    let (mut code_at, mut w, mut r, mut run) = (0usize, 1usize, src, 0usize);
    while r < end {
        if run == 254 {
            set(buf, code_at, 0xFF);
            (code_at, w, run) = (w, w + 1, 0);
            continue;
        }
        let room = (254 - run).min(end - r);
        match find_zero(buf.get(r..r + room).unwrap_or_default()) {
            Some(k) => {
                shift_down(buf, r, w, k);
                set(buf, code_at, (run + k + 1) as u8);
                (code_at, w, r, run) = (w + k, w + k + 1, r + k + 1, 0);
            }
            None => {
                shift_down(buf, r, w, room);
                (w, r, run) = (w + room, r + room, run + room);
            }
        }
    }
    set(buf, code_at, (run + 1) as u8);
    Ok(w)
}

/// `buf[at] = v`, for an `at` the encoders' invariants keep in range (no panic path if not).
#[inline(always)]
fn set(buf: &mut [u8], at: usize, v: u8) {
    if let Some(b) = buf.get_mut(at) {
        *b = v;
    }
}

/// Copies `n` bytes from `buf[from..]` to `buf[to..]`, `to <= from`, front to back (safe for
/// the overlap; a plain loop keeps firmware from linking a general `memmove`).
#[inline]
fn shift_down(buf: &mut [u8], from: usize, to: usize, n: usize) {
    for i in 0..n {
        if let Some(&b) = buf.get(from + i) {
            set(buf, to + i, b);
        }
    }
}

/// Decodes one COBS string (without its delimiter) into `dst`; returns the decoded length.
pub fn decode(src: &[u8], dst: &mut [u8]) -> Result<usize, DecodeError> {
    if src.is_empty() {
        return Err(DecodeError::Empty);
    }
    if find_zero(src).is_some() {
        return Err(DecodeError::ZeroByte);
    }
    let mut state = BlockState::new();
    let w = state.absorb(src, dst, 0).map_err(|e| match e {
        AbsorbError::ZeroByte => DecodeError::ZeroByte,
        AbsorbError::Overflow => DecodeError::BufferTooSmall,
    })?;
    if state.in_block() {
        return Err(DecodeError::Truncated);
    }
    Ok(w)
}

/// Streaming COBS block state, shared by [`decode`] and the stream decoder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockState {
    /// Data bytes still expected in the current block; 0 means the next byte is a code.
    remaining: u8,
    /// A zero must be written before the next block's data (previous code was not `0xFF`).
    pending_zero: bool,
}

/// Why [`BlockState::absorb`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AbsorbError {
    /// A `0x00` inside the encoded string.
    ZeroByte,
    /// `dst` is full.
    Overflow,
}

impl BlockState {
    pub(crate) const fn new() -> Self {
        Self {
            remaining: 0,
            pending_zero: false,
        }
    }

    /// True when the input so far ended inside a block (so it is not a complete string).
    pub(crate) fn in_block(&self) -> bool {
        self.remaining != 0
    }

    /// Takes code byte `code`: writes the zero the previous block ended with (unless it was a
    /// `0xFF` block) and opens the next block. Returns the new `w`.
    #[inline(always)]
    fn code(&mut self, code: u8, dst: &mut [u8], mut w: usize) -> Result<usize, AbsorbError> {
        if code == 0 {
            return Err(AbsorbError::ZeroByte);
        }
        if self.pending_zero {
            *dst.get_mut(w).ok_or(AbsorbError::Overflow)? = 0;
            w += 1;
        }
        self.pending_zero = code != 0xFF;
        self.remaining = code - 1;
        Ok(w)
    }

    /// Decodes `src` (which must hold no delimiter) into `dst[w..]`; returns the new `w`.
    /// A byte at a time: the least code (feature `small`).
    #[cfg(feature = "small")]
    #[inline]
    pub(crate) fn absorb(
        &mut self,
        src: &[u8],
        dst: &mut [u8],
        mut w: usize,
    ) -> Result<usize, AbsorbError> {
        for &b in src {
            if self.remaining == 0 {
                w = self.code(b, dst, w)?;
            } else {
                *dst.get_mut(w).ok_or(AbsorbError::Overflow)? = b;
                w += 1;
                self.remaining -= 1;
            }
        }
        Ok(w)
    }

    /// Decodes `src` (which must hold no delimiter) into `dst[w..]`; returns the new `w`.
    #[cfg(not(feature = "small"))]
    #[inline]
    pub(crate) fn absorb(
        &mut self,
        mut src: &[u8],
        dst: &mut [u8],
        mut w: usize,
    ) -> Result<usize, AbsorbError> {
        while let Some((&first, rest)) = src.split_first() {
            // Host speed for a little code: 32-bit MCUs keep the compact block loop.
            #[cfg(all(target_pointer_width = "64", not(feature = "small")))]
            if self.pending_zero && usize::from(self.remaining) < LONG_BLOCK && src.len() >= 8 {
                let (used, end) = self.absorb_dense(src, dst, w);
                if used > 0 {
                    src = src.get(used..).unwrap_or_default();
                    w = end;
                    continue;
                }
            }
            if self.remaining == 0 {
                w = self.code(first, dst, w)?;
                src = rest;
                continue;
            }
            let take = (self.remaining as usize).min(src.len());
            let (data, rest) = split(src, take);
            let end = w + take;
            let out = dst.get_mut(w..end).ok_or(AbsorbError::Overflow)?;
            copy(out, data);
            w = end;
            self.remaining -= take as u8;
            src = rest;
        }
        Ok(w)
    }

    /// The fast path for short blocks (zero-heavy data): while no block is a 254-byte `0xFF`
    /// block, every input byte yields one output byte, a code byte yielding the zero that ends
    /// the block before it. So eight bytes are copied as they are and then the code bytes among
    /// them, found by walking the block lengths inside the word, are overwritten with zeros.
    /// Needs `pending_zero` (the current block is not a `0xFF` block) and a zero-free `src`.
    /// Returns the input bytes consumed and the new `w`; stops before a `0xFF` code, at the
    /// last eight input bytes, or when `dst` has fewer than eight bytes left.
    #[cfg(all(target_pointer_width = "64", not(feature = "small")))]
    #[inline]
    fn absorb_dense(&mut self, src: &[u8], dst: &mut [u8], mut w: usize) -> (usize, usize) {
        // Offset, from the start of the current word, of the next code byte.
        let mut next = usize::from(self.remaining);
        let mut r = 0;
        while let (Some(input), Some(out)) = (src.get(r..r + 8), dst.get_mut(w..w + 8)) {
            let v = le_u64(input);
            // Walk the codes inside the word (in bits: one shift per code), collecting the
            // bytes that become zeros; one store writes the word.
            let mut at = next * 8;
            let mut codes = 0u64;
            while at < 64 {
                let code = (v >> at) as u8;
                if code == 0xFF {
                    // A long block starts here: the byte loop takes over at its code.
                    copy(out, &(v & !codes).to_le_bytes());
                    self.remaining = 0;
                    return (r + at / 8, w + at / 8);
                }
                codes |= 0xFF << at;
                at += usize::from(code) * 8;
            }
            copy(out, &(v & !codes).to_le_bytes());
            next = at / 8 - 8;
            r += 8;
            w += 8;
            if next >= LONG_BLOCK {
                // A long block ahead: the byte loop copies it in bulk.
                break;
            }
        }
        // `next` < 254 here: a code at offset < 8 moved it by at most 7 + 254, less the 8.
        self.remaining = next as u8;
        (r, w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(src: &[u8]) -> ([u8; 1200], usize) {
        let mut out = [0u8; 1200];
        let n = encode(src, &mut out).unwrap();
        (out, n)
    }

    #[test]
    fn wikipedia_examples() {
        let cases: &[(&[u8], &[u8])] = &[
            (&[0x00], &[0x01, 0x01]),
            (&[0x00, 0x00], &[0x01, 0x01, 0x01]),
            (&[0x00, 0x11, 0x00], &[0x01, 0x02, 0x11, 0x01]),
            (&[0x11, 0x22, 0x00, 0x33], &[0x03, 0x11, 0x22, 0x02, 0x33]),
            (&[0x11, 0x22, 0x33, 0x44], &[0x05, 0x11, 0x22, 0x33, 0x44]),
            (&[0x11, 0x00, 0x00, 0x00], &[0x02, 0x11, 0x01, 0x01, 0x01]),
            (&[], &[0x01]),
        ];
        for (raw, coded) in cases {
            let (out, n) = enc(raw);
            assert_eq!(&out[..n], *coded, "encode {raw:02x?}");
            let mut back = [0u8; 16];
            let m = decode(coded, &mut back).unwrap();
            assert_eq!(&back[..m], *raw, "decode {coded:02x?}");
        }
    }

    /// Textbook byte-at-a-time COBS, the reference for the word-at-a-time paths.
    fn reference(src: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8];
        let mut code_at = 0;
        for &b in src {
            if out.len() - code_at == 255 {
                out[code_at] = 0xFF;
                code_at = out.len();
                out.push(0);
            }
            if b == 0 {
                out[code_at] = (out.len() - code_at) as u8;
                code_at = out.len();
                out.push(0);
            } else {
                out.push(b);
            }
        }
        if out.len() - code_at == 255 && !src.is_empty() {
            out[code_at] = 0xFF;
        } else {
            out[code_at] = (out.len() - code_at) as u8;
        }
        out
    }

    #[test]
    fn word_paths_match_the_reference_at_every_zero_density() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut back = [0u8; 1200];
        for round in 0..3000usize {
            let len = (next() % 1100) as usize;
            // From all zeros to no zeros; some rounds with long zero-free stretches.
            let density = (round % 11) as u64;
            let src: Vec<u8> = (0..len)
                .map(|i| {
                    let r = next();
                    let long_run = round % 7 == 0 && (i / 300) % 2 == 1;
                    if !long_run && r % 10 < density {
                        0
                    } else {
                        (r >> 8) as u8 | 1
                    }
                })
                .collect();
            let want = reference(&src);
            // One push, and the same bytes pushed in uneven pieces.
            let (out, n) = enc(&src);
            assert_eq!(&out[..n], &want[..], "round {round}");
            let mut pieces = [0u8; 1200];
            let mut e = Encoder::new(&mut pieces).unwrap();
            for part in src.chunks(1 + round % 13) {
                e.push(part).unwrap();
            }
            assert_eq!(e.finish(), n);
            assert_eq!(&pieces[..n], &want[..]);
            // Decode whole, and through the streaming state in uneven pieces.
            let m = decode(&want, &mut back).unwrap();
            assert_eq!(&back[..m], &src[..], "round {round}");
            let mut st = BlockState::new();
            let mut w = 0;
            for part in want.chunks(1 + round % 17) {
                w = st.absorb(part, &mut back, w).unwrap();
            }
            assert!(!st.in_block());
            assert_eq!(&back[..w], &src[..]);
            // A destination one byte short overflows instead of truncating.
            if !src.is_empty() {
                let mut short = vec![0u8; src.len() - 1];
                assert_eq!(decode(&want, &mut short), Err(DecodeError::BufferTooSmall));
            }
        }
    }

    #[test]
    fn block_boundaries() {
        // 254 non-zero bytes: one 0xFF block, no trailing 0x01.
        let data: [u8; 254] = core::array::from_fn(|i| (i + 1) as u8);
        let (out, n) = enc(&data);
        assert_eq!(n, 255);
        assert_eq!(out[0], 0xFF);
        // 255 non-zero bytes: 0xFF block then a 2-byte block.
        let data: [u8; 255] = core::array::from_fn(|i| (i % 255 + 1) as u8);
        let (out, n) = enc(&data);
        assert_eq!(n, 257);
        assert_eq!((out[0], out[255]), (0xFF, 0x02));
        // 254 non-zero bytes then a zero: FF .. 01 01.
        let mut data = [1u8; 255];
        data[254] = 0;
        let (out, n) = enc(&data);
        assert_eq!(&out[254..n], &[1, 0x01, 0x01]);
    }

    #[test]
    fn decode_rejects_garbage() {
        let mut out = [0u8; 8];
        assert_eq!(decode(&[], &mut out), Err(DecodeError::Empty));
        assert_eq!(decode(&[0x03, 0x01], &mut out), Err(DecodeError::Truncated));
        assert_eq!(decode(&[0x02, 0x00], &mut out), Err(DecodeError::ZeroByte));
        assert_eq!(
            decode(&[0x05, 1, 2, 3, 4], &mut out[..2]),
            Err(DecodeError::BufferTooSmall)
        );
    }

    #[test]
    fn encode_reports_small_buffer() {
        let mut out = [0u8; 4];
        assert_eq!(encode(&[1, 2, 3, 4], &mut out), Err(BufferTooSmall));
        assert_eq!(encode(&[], &mut []), Err(BufferTooSmall));
        assert_eq!(encode(&[1, 2, 3], &mut out), Ok(4));
    }

    #[test]
    fn in_place_encoding_matches_the_encoder() {
        let mut x = 0x1234_5678u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let mut lens: std::vec::Vec<usize> = (0..600).collect();
        lens.extend([1016, 1017, 1018, 4119]);
        for len in lens {
            for zeros in [0u32, 2, 50] {
                let input: std::vec::Vec<u8> = (0..len)
                    .map(|_| {
                        let v = next();
                        if v % 100 < zeros {
                            0
                        } else {
                            (v >> 8) as u8 | 1
                        }
                    })
                    .collect();
                let mut want = std::vec![0u8; max_encoded_len(len)];
                let n = encode(&input, &mut want).unwrap();
                let src = len / 254 + 1;
                let mut buf = std::vec![0xAAu8; src + len];
                buf[src..].copy_from_slice(&input);
                let m = encode_in_place(&mut buf, src, len).unwrap();
                assert_eq!(&buf[..m], &want[..n], "len {len} zeros {zeros}");
                assert!(encode_in_place(&mut buf, src - 1, len).is_err());
            }
        }
    }
}
