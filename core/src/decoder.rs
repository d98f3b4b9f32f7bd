//! Streaming frame decoder for byte streams (UART, USB-CDC, TCP).
//!
//! [`StreamDecoder`] takes input in chunks of any size — one byte from a UART interrupt or a
//! whole DMA block — and yields each complete, CRC-checked frame as a zero-copy view into its
//! fixed buffer of `N` bytes (the largest decoded frame body it accepts). After garbage, a bad
//! CRC, a truncated frame, or a frame too large for `N`, it drops everything up to the next
//! `0x00` and starts again there, counting the reason. It never allocates and never panics.
//!
//! ```
//! use ferrule::{encode_stream, Header, StreamDecoder, StreamOptions, Feed};
//!
//! let mut wire = [0u8; 64];
//! let n = encode_stream(&Header::data(2), b"hello", StreamOptions::default(), &mut wire).unwrap();
//!
//! let mut dec = StreamDecoder::<128>::new();
//! let mut got = None;
//! for byte in wire[..n].chunks(1) {            // one byte at a time, as from a UART ISR
//!     if let Feed::Frame { frame, .. } = dec.feed(byte) {
//!         got = Some((frame.header.channel, frame.payload.len()));
//!     }
//! }
//! assert_eq!(got, Some((2, 5)));
//! ```

use crate::cobs::{AbsorbError, BlockState};
use crate::frame::{Frame, FrameError};
use crate::stats::DecoderStats;
use crate::zero::{around, find_zero};

/// What one call to [`StreamDecoder::feed`] produced.
#[derive(Debug)]
pub enum Feed<'d, 'i> {
    /// All input was absorbed; no frame ended in it.
    Consumed,
    /// A frame ended; `rest` is the input after its delimiter (feed it next).
    Frame {
        /// The decoded frame, valid until the next call to `feed`.
        frame: Frame<'d>,
        /// Unconsumed input.
        rest: &'i [u8],
    },
    /// A frame ended but was rejected (and counted); `rest` is the input after its delimiter.
    Rejected {
        /// Why it was rejected.
        error: FrameError,
        /// Unconsumed input.
        rest: &'i [u8],
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Decoding into the buffer.
    Decoding,
    /// The frame overflowed the buffer: drop bytes up to the next delimiter.
    DiscardingOversize,
    /// The frame held invalid COBS: drop bytes up to the next delimiter.
    DiscardingMalformed,
}

/// A streaming decoder over a buffer `B` (an array, a borrowed slice, ...): the buffer's length
/// is the largest frame body (header + payload + CRC) it accepts.
pub struct Decoder<B> {
    buf: B,
    state: State,
}

/// Everything of a decoder but its buffer. The decoding logic works on this and a plain slice,
/// so it is compiled once in a firmware image, whatever buffer types its decoders use.
struct State {
    len: usize,
    cobs: BlockState,
    mode: Mode,
    /// Bytes absorbed since the last delimiter (to tell an empty frame from a runt).
    seen: usize,
    /// A frame view was handed out; clear the buffer on the next call.
    reset_pending: bool,
    /// The buffer holds the body of the frame handed out last (see [`Decoder::last_frame`]).
    last_ok: bool,
    stats: DecoderStats,
}

/// Fixed-capacity streaming decoder; `N` is the largest frame body (header + payload + CRC).
pub type StreamDecoder<const N: usize> = Decoder<[u8; N]>;

impl<const N: usize> Default for Decoder<[u8; N]> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Decoder<[u8; N]> {
    const CHECK: () = assert!(
        N >= crate::frame::MIN_BODY_LEN,
        "a decoder's buffer must hold the smallest frame (MIN_BODY_LEN bytes)"
    );

    /// A decoder in sync, ready for the first frame (it does not wait for a delimiter first).
    /// A buffer too small for any frame (`N` below
    /// [`MIN_BODY_LEN`](crate::frame::MIN_BODY_LEN)) does not compile:
    ///
    /// ```compile_fail
    /// let decoder = ferrule::StreamDecoder::<0>::new();
    /// ```
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Self::with_buffer([0; N])
    }
}

impl<B> Decoder<B> {
    /// A decoder over `buf`, in sync, ready for the first frame.
    pub const fn with_buffer(buf: B) -> Self {
        Self {
            buf,
            state: State {
                len: 0,
                cobs: BlockState::new(),
                mode: Mode::Decoding,
                seen: 0,
                reset_pending: false,
                last_ok: false,
                stats: DecoderStats::new(),
            },
        }
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Decoder<B> {
    /// The largest frame body the buffer holds.
    pub fn capacity(&self) -> usize {
        self.buf.as_ref().len()
    }

    /// Swaps the buffer for `buf` and returns the old one (its contents stay: the last frame
    /// handed out lives there). Lets the owner work on that frame while it holds the decoder.
    pub(crate) fn replace_buffer(&mut self, buf: B) -> B {
        core::mem::replace(&mut self.buf, buf)
    }

    /// Counters of frames accepted and rejected, by reason.
    pub fn stats(&self) -> &DecoderStats {
        &self.state.stats
    }

    /// Counts a frame checked outside the decoder (a datagram): accepted when `result` is
    /// `Ok`, otherwise by reject reason.
    pub fn count_external(&mut self, len: usize, result: Result<(), crate::FrameError>) {
        let stats = &mut self.state.stats;
        stats.bytes_in += len as u64;
        match result {
            Ok(()) => stats.frames_ok += 1,
            Err(e) => stats.count(e),
        }
    }

    /// Drops any partial frame (e.g. after a UART framing error) and starts afresh.
    pub fn reset(&mut self) {
        self.state.start_frame();
    }

    /// Absorbs `input` until a frame ends or the input runs out.
    pub fn feed<'i>(&mut self, input: &'i [u8]) -> Feed<'_, 'i> {
        self.state.feed(self.buf.as_mut(), input)
    }

    /// The frame the last call to [`Self::feed`] returned, if it returned one; it stays valid
    /// until the next call.
    pub fn last_frame(&self) -> Option<Frame<'_>> {
        self.state.last_frame(self.buf.as_ref())
    }
}

impl State {
    fn start_frame(&mut self) {
        self.len = 0;
        self.seen = 0;
        self.cobs = BlockState::new();
        self.mode = Mode::Decoding;
        self.reset_pending = false;
        self.last_ok = false;
    }

    /// [`Decoder::feed`] on the decoder's buffer `buf`.
    #[inline(never)]
    fn feed<'d, 'i>(&mut self, buf: &'d mut [u8], mut input: &'i [u8]) -> Feed<'d, 'i> {
        if self.reset_pending {
            self.start_frame();
        }
        let rest = loop {
            let Some(z) = find_zero(input) else {
                self.absorb(buf, input);
                return Feed::Consumed;
            };
            let (segment, rest) = around(input, z);
            self.absorb(buf, segment);
            self.stats.bytes_in = self.stats.bytes_in.wrapping_add(1);
            if self.seen == 0 && self.mode == Mode::Decoding {
                // Back-to-back delimiters (idle fill or a sender's leading flush): not a frame.
                input = rest;
                continue;
            }
            break rest;
        };
        let buf: &'d [u8] = buf;
        let parsed = self.finish().and_then(|()| {
            Frame::from_body(buf.get(..self.len).unwrap_or_default())
                .map(|f| (f.header, f.payload.len()))
        });
        self.reset_pending = true;
        match parsed {
            Ok((header, payload_len)) => {
                self.stats.frames_ok += 1;
                // The payload ends where the CRC starts (`from_body` checked the length).
                let end = self.len.wrapping_sub(crate::frame::CRC_LEN);
                let start = end.wrapping_sub(payload_len);
                self.last_ok = true;
                Feed::Frame {
                    frame: Frame {
                        header,
                        payload: buf.get(start..end).unwrap_or_default(),
                    },
                    rest,
                }
            }
            Err(error) => {
                self.stats.count(error);
                Feed::Rejected { error, rest }
            }
        }
    }

    fn last_frame<'d>(&self, buf: &'d [u8]) -> Option<Frame<'d>> {
        if !self.last_ok {
            return None;
        }
        let body = buf.get(..self.len.checked_sub(crate::frame::CRC_LEN)?)?;
        let (header, start) = crate::frame::Header::parse(body).ok()?;
        Some(Frame {
            header,
            payload: body.get(start..)?,
        })
    }

    /// Checks the COBS state at a delimiter.
    fn finish(&self) -> Result<(), FrameError> {
        match self.mode {
            Mode::DiscardingOversize => Err(FrameError::Oversize),
            Mode::DiscardingMalformed => Err(FrameError::Malformed),
            Mode::Decoding if self.cobs.in_block() => Err(FrameError::Malformed),
            Mode::Decoding => Ok(()),
        }
    }

    fn absorb(&mut self, buf: &mut [u8], seg: &[u8]) {
        self.seen += seg.len();
        self.stats.bytes_in = self.stats.bytes_in.wrapping_add(seg.len() as u64);
        if self.mode != Mode::Decoding || seg.is_empty() {
            return;
        }
        match self.cobs.absorb(seg, buf, self.len) {
            Ok(w) => self.len = w,
            Err(AbsorbError::Overflow) => self.mode = Mode::DiscardingOversize,
            // `seg` never holds a zero (it ends before the delimiter); kept for completeness.
            Err(AbsorbError::ZeroByte) => self.mode = Mode::DiscardingMalformed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{encode_stream, StreamOptions};
    use crate::frame::Header;

    fn wire(payload: &[u8], channel: u8) -> ([u8; 600], usize) {
        let mut out = [0u8; 600];
        let n = encode_stream(
            &Header::data(channel),
            payload,
            StreamOptions::default(),
            &mut out,
        )
        .unwrap();
        (out, n)
    }

    fn collect<const N: usize>(dec: &mut StreamDecoder<N>, mut input: &[u8]) -> (usize, usize) {
        let (mut ok, mut bad) = (0, 0);
        loop {
            match dec.feed(input) {
                Feed::Consumed => return (ok, bad),
                Feed::Frame { rest, .. } => {
                    ok += 1;
                    input = rest
                }
                Feed::Rejected { rest, .. } => {
                    bad += 1;
                    input = rest
                }
            }
        }
    }

    #[test]
    fn oversize_is_discarded_not_truncated() {
        let (big, n) = wire(&[7u8; 300], 1);
        let (small, m) = wire(b"ok", 2);
        let mut dec = StreamDecoder::<64>::new();
        let mut input = [0u8; 700];
        input[..n].copy_from_slice(&big[..n]);
        input[n..n + m].copy_from_slice(&small[..m]);
        match dec.feed(&input[..n + m]) {
            Feed::Rejected { error, rest } => {
                assert_eq!(error, FrameError::Oversize);
                match dec.feed(rest) {
                    Feed::Frame { frame, .. } => assert_eq!(frame.payload, b"ok"),
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(dec.stats().oversize, 1);
        assert_eq!(dec.stats().frames_ok, 1);
    }

    #[test]
    fn resyncs_after_mid_frame_start_and_noise() {
        let (f, n) = wire(b"payload", 3);
        let mut dec = StreamDecoder::<64>::new();
        // Start mid-frame, then noise, then a clean frame.
        let mut input = [0u8; 200];
        let half = n / 2;
        input[..n - half].copy_from_slice(&f[half..n]);
        let noise = [0x55u8, 0x13, 0x00, 0x02, 0x99];
        input[n - half..n - half + 5].copy_from_slice(&noise);
        let start = n - half + 5;
        input[start] = 0;
        input[start + 1..start + 1 + n].copy_from_slice(&f[..n]);
        let (ok, bad) = collect(&mut dec, &input[..start + 1 + n]);
        // Rejected: the tail of the first frame, "55 13", and "02 99"; then the clean frame.
        assert_eq!(ok, 1);
        assert_eq!(bad, 3);
        assert_eq!(dec.stats().rejected(), 3);
        assert_eq!(dec.stats().frames_ok, 1);
    }

    #[test]
    fn empty_frames_between_delimiters_are_ignored() {
        let mut dec = StreamDecoder::<64>::new();
        assert_eq!(collect(&mut dec, &[0, 0, 0, 0]), (0, 0));
        assert_eq!(dec.stats().rejected(), 0);
        assert_eq!(collect(&mut dec, &[0x02, 0x05, 0]), (0, 1));
        assert_eq!(dec.stats().too_short, 1);
    }
}
