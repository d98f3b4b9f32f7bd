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
    pub fn push(&mut self, mut data: &[u8]) -> Result<(), BufferTooSmall> {
        while !data.is_empty() {
            if self.run == 254 {
                self.close_block(0xFF)?;
            }
            let room = 254 - self.run;
            let window = &data[..data.len().min(room)];
            match find_zero(window) {
                Some(k) => {
                    self.copy(&window[..k])?;
                    self.close_block((self.run + k + 1) as u8)?;
                    data = &data[k + 1..];
                }
                None => {
                    self.copy(window)?;
                    self.run += window.len();
                    data = &data[window.len()..];
                }
            }
        }
        Ok(())
    }

    /// Closes the last block and returns the encoded length.
    pub fn finish(self) -> usize {
        // `code_at < w <= out.len()` holds: `new` and `close_block` check it.
        if let Some(c) = self.out.get_mut(self.code_at) {
            *c = (self.run + 1) as u8;
        }
        self.w
    }

    #[inline(always)]
    fn copy(&mut self, src: &[u8]) -> Result<(), BufferTooSmall> {
        let end = self.w + src.len();
        self.out
            .get_mut(self.w..end)
            .ok_or(BufferTooSmall)?
            .copy_from_slice(src);
        self.w = end;
        Ok(())
    }

    #[inline(always)]
    fn close_block(&mut self, code: u8) -> Result<(), BufferTooSmall> {
        if self.w >= self.out.len() {
            return Err(BufferTooSmall);
        }
        self.out[self.code_at] = code;
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
            buf[code_at] = 0xFF;
            (code_at, w, run) = (w, w + 1, 0);
            continue;
        }
        let room = (254 - run).min(end - r);
        match find_zero(&buf[r..r + room]) {
            Some(k) => {
                shift_down(buf, r, w, k);
                buf[code_at] = (run + k + 1) as u8;
                (code_at, w, r, run) = (w + k, w + k + 1, r + k + 1, 0);
            }
            None => {
                shift_down(buf, r, w, room);
                (w, r, run) = (w + room, r + room, run + room);
            }
        }
    }
    buf[code_at] = (run + 1) as u8;
    Ok(w)
}

/// Copies `n` bytes from `buf[from..]` to `buf[to..]`, `to <= from`, front to back (safe for
/// the overlap; a plain loop keeps firmware from linking a general `memmove`).
#[inline]
fn shift_down(buf: &mut [u8], from: usize, to: usize, n: usize) {
    for i in 0..n {
        buf[to + i] = buf[from + i];
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

    /// Decodes `src` (which must hold no delimiter) into `dst[w..]`; returns the new `w`.
    #[inline]
    pub(crate) fn absorb(
        &mut self,
        mut src: &[u8],
        dst: &mut [u8],
        mut w: usize,
    ) -> Result<usize, AbsorbError> {
        while let Some((&first, rest)) = src.split_first() {
            if self.remaining == 0 {
                if first == 0 {
                    return Err(AbsorbError::ZeroByte);
                }
                if self.pending_zero {
                    *dst.get_mut(w).ok_or(AbsorbError::Overflow)? = 0;
                    w += 1;
                }
                self.pending_zero = first != 0xFF;
                self.remaining = first - 1;
                src = rest;
                continue;
            }
            let take = (self.remaining as usize).min(src.len());
            let (data, rest) = src.split_at(take);
            let end = w + take;
            let out = dst.get_mut(w..end).ok_or(AbsorbError::Overflow)?;
            // Short blocks dominate zero-heavy data: copy them byte by byte, long ones in bulk.
            if take <= 8 {
                for (o, &b) in out.iter_mut().zip(data) {
                    *o = b;
                }
            } else {
                out.copy_from_slice(data);
            }
            w = end;
            self.remaining -= take as u8;
            src = rest;
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(src: &[u8]) -> ([u8; 700], usize) {
        let mut out = [0u8; 700];
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
