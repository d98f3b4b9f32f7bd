//! Frames through `embedded_io` traits (feature `embedded-io`).
#![cfg(feature = "embedded-io")]

use ferrule::io::{write_frame, FrameReader, IoError};
use ferrule::{max_stream_frame_len, Header};

/// A reader that hands out at most `step` bytes per call, like a UART driver.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl embedded_io::ErrorType for Trickle<'_> {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.data.len().min(self.step).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn write_then_read_frames_through_embedded_io() {
    let mut line = [0u8; 512];
    let mut scratch = [0u8; max_stream_frame_len(64)];
    let mut w: &mut [u8] = &mut line;
    let mut written = 0;
    for i in 0..4u8 {
        let payload = [i; 40];
        written += write_frame(&mut w, &Header::data(i), &payload, &mut scratch).unwrap();
    }
    for step in [1, 7, 512] {
        let mut r = Trickle {
            data: &line[..written],
            step,
        };
        let mut reader = FrameReader::<96, 16>::new();
        for i in 0..4u8 {
            let f = reader.read_frame(&mut r).unwrap();
            assert_eq!((f.header.channel, f.payload), (i, &[i; 40][..]));
        }
        assert!(matches!(reader.read_frame(&mut r), Err(IoError::Eof)));
        assert_eq!(reader.stats().frames_ok, 4);
    }
}
