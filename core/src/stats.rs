//! Counters. Nothing is dropped without being counted here or in the link statistics.

use crate::frame::FrameError;

/// Frames accepted and rejected by a decoder, with one counter per rejection reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(C)]
pub struct DecoderStats {
    /// Bytes consumed, delimiters included.
    pub bytes_in: u64,
    /// Frames that passed every check.
    pub frames_ok: u32,
    /// Invalid COBS between two delimiters (usually a lost or corrupted byte).
    pub malformed: u32,
    /// Bodies shorter than header + CRC.
    pub too_short: u32,
    /// Frames larger than the receive buffer, discarded whole.
    pub oversize: u32,
    /// CRC mismatches (line noise).
    pub bad_crc: u32,
    /// Valid CRC but a version other than this one ([`crate::frame::VERSION`]).
    pub bad_version: u32,
    /// Valid CRC but an unknown frame type.
    pub unknown_kind: u32,
    /// Valid CRC but reserved or contradictory flags.
    pub bad_flags: u32,
    /// Valid CRC but the flags announce more header than the frame holds.
    pub truncated_header: u32,
}

impl DecoderStats {
    /// All counters zero.
    pub const fn new() -> Self {
        Self {
            bytes_in: 0,
            frames_ok: 0,
            malformed: 0,
            too_short: 0,
            oversize: 0,
            bad_crc: 0,
            bad_version: 0,
            unknown_kind: 0,
            bad_flags: 0,
            truncated_header: 0,
        }
    }

    /// Counts one rejection.
    pub fn count(&mut self, e: FrameError) {
        let c = match e {
            FrameError::Malformed => &mut self.malformed,
            FrameError::TooShort => &mut self.too_short,
            FrameError::Oversize => &mut self.oversize,
            FrameError::BadCrc => &mut self.bad_crc,
            FrameError::UnsupportedVersion(_) => &mut self.bad_version,
            FrameError::UnknownKind(_) => &mut self.unknown_kind,
            FrameError::BadFlags(_) => &mut self.bad_flags,
            FrameError::TruncatedHeader => &mut self.truncated_header,
        };
        *c = c.saturating_add(1);
    }

    /// Total frames rejected, all reasons.
    pub fn rejected(&self) -> u32 {
        [
            self.malformed,
            self.too_short,
            self.oversize,
            self.bad_crc,
            self.bad_version,
            self.unknown_kind,
            self.bad_flags,
            self.truncated_header,
        ]
        .iter()
        .fold(0u32, |a, &b| a.saturating_add(b))
    }
}
