//! Frames over any [`embedded_io`] byte stream (feature `embedded-io`).
//!
//! The same code serves a UART driver on the MCU and a socket or serial port on the host
//! (through `embedded-io-adapters`, or any type implementing the traits).

use embedded_io::{Read, Write};

use crate::decoder::{Feed, StreamDecoder};
use crate::encode::{encode_stream, EncodeError, StreamOptions};
use crate::frame::{Frame, Header};

/// Error from [`write_frame`] / [`FrameReader::read_frame`]: the transport's, or ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IoError<E> {
    /// The transport failed.
    Io(E),
    /// The frame could not be encoded.
    Encode(EncodeError),
    /// The transport reached end of file (a read returned 0 bytes).
    Eof,
}

/// Encodes a frame into `scratch` and writes all of it to `w`. Size `scratch` with
/// [`crate::max_stream_frame_len`].
pub fn write_frame<W: Write>(
    w: &mut W,
    header: &Header,
    payload: &[u8],
    scratch: &mut [u8],
) -> Result<usize, IoError<W::Error>> {
    let n = encode_stream(header, payload, StreamOptions::default(), scratch)
        .map_err(IoError::Encode)?;
    w.write_all(&scratch[..n]).map_err(IoError::Io)?;
    w.flush().map_err(IoError::Io)?;
    Ok(n)
}

/// Reads frames from an `embedded_io::Read`, with a decoder of capacity `N` and a read buffer
/// of `R` bytes.
pub struct FrameReader<const N: usize, const R: usize> {
    decoder: StreamDecoder<N>,
    rx: [u8; R],
    start: usize,
    end: usize,
}

impl<const N: usize, const R: usize> Default for FrameReader<N, R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const R: usize> FrameReader<N, R> {
    const CHECK: () = assert!(
        R >= 1,
        "a frame reader needs a read buffer of at least 1 byte"
    );

    /// A reader with empty buffers. A read buffer of 0 bytes (`R` = 0), or a decoder buffer
    /// too small for any frame, does not compile:
    ///
    /// ```compile_fail
    /// let reader = ferrule::io::FrameReader::<96, 0>::new();
    /// ```
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Self {
            decoder: StreamDecoder::new(),
            rx: [0; R],
            start: 0,
            end: 0,
        }
    }

    /// The decoder's counters.
    pub fn stats(&self) -> &crate::DecoderStats {
        self.decoder.stats()
    }

    /// Blocks until the next valid frame; rejected frames are counted and skipped, and so
    /// are reported here only through [`Self::stats`].
    pub fn read_frame<Rd: Read>(&mut self, r: &mut Rd) -> Result<Frame<'_>, IoError<Rd::Error>> {
        loop {
            if self.start == self.end {
                let n = r.read(&mut self.rx).map_err(IoError::Io)?;
                if n == 0 {
                    return Err(IoError::Eof);
                }
                self.start = 0;
                self.end = n;
            }
            let input = &self.rx[self.start..self.end];
            let before = input.len();
            // Two-phase to satisfy the borrow checker: learn the outcome, then re-borrow.
            let (consumed, got_frame) = match self.decoder.feed(input) {
                Feed::Consumed => (before, false),
                Feed::Frame { rest, .. } => (before - rest.len(), true),
                Feed::Rejected { rest, .. } => (before - rest.len(), false),
            };
            self.start += consumed;
            if got_frame {
                break;
            }
        }
        // `feed` just returned a frame, so `last_frame` is `Some`.
        self.decoder.last_frame().ok_or(IoError::Eof)
    }
}
