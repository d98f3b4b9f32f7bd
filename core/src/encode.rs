//! Frame encoders: stream framing (COBS + `0x00` delimiter) and datagram framing (raw body).

use crate::bytes::copy;
use crate::cobs;
use crate::crc::Crc32c;
use crate::frame::{Header, CRC_LEN, MAX_HEADER_LEN, MAX_PAYLOAD};

/// Why a frame could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncodeError {
    /// The output buffer cannot hold the encoded frame. Size it with
    /// [`max_stream_frame_len`] / [`max_datagram_len`].
    BufferTooSmall,
    /// The payload exceeds [`MAX_PAYLOAD`].
    PayloadTooLarge,
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::BufferTooSmall => "output buffer too small",
            Self::PayloadTooLarge => "payload larger than the protocol maximum",
        })
    }
}

impl core::error::Error for EncodeError {}

impl From<cobs::BufferTooSmall> for EncodeError {
    fn from(_: cobs::BufferTooSmall) -> Self {
        Self::BufferTooSmall
    }
}

/// Worst-case bytes on a stream line for a payload of `payload_len` bytes: a leading delimiter,
/// the COBS-encoded body with the largest header, and the trailing delimiter.
pub const fn max_stream_frame_len(payload_len: usize) -> usize {
    1 + cobs::max_encoded_len(MAX_HEADER_LEN + payload_len + CRC_LEN) + 1
}

/// Worst-case datagram size for a payload of `payload_len` bytes.
pub const fn max_datagram_len(payload_len: usize) -> usize {
    MAX_HEADER_LEN + payload_len + CRC_LEN
}

/// The largest payload whose stream frame (worst case, largest header) fits in `frame_len`
/// bytes; 0 when none does. The inverse of [`max_stream_frame_len`].
pub const fn max_payload_for_stream_frame(frame_len: usize) -> usize {
    // Two delimiters, the header, the CRC and one COBS code byte per 254 bytes.
    let mut p = frame_len.saturating_sub(2 + MAX_HEADER_LEN + CRC_LEN + frame_len / 254 + 1);
    if p > MAX_PAYLOAD {
        p = MAX_PAYLOAD;
    }
    while p > 0 && max_stream_frame_len(p) > frame_len {
        p -= 1;
    }
    while p < MAX_PAYLOAD && max_stream_frame_len(p + 1) <= frame_len {
        p += 1;
    }
    if max_stream_frame_len(p) > frame_len {
        0
    } else {
        p
    }
}

/// The largest payload whose datagram (worst case, largest header) fits in `datagram_len`
/// bytes; 0 when none does.
pub const fn max_payload_for_datagram(datagram_len: usize) -> usize {
    let p = datagram_len.saturating_sub(MAX_HEADER_LEN + CRC_LEN);
    if p > MAX_PAYLOAD {
        MAX_PAYLOAD
    } else {
        p
    }
}

/// Options for stream framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamOptions {
    /// Emit a `0x00` before the frame so a receiver flushes line noise first (recommended after
    /// idle periods; costs one byte).
    pub leading_delimiter: bool,
}

/// Encodes one frame for a stream line (UART, TCP) into `out`, in one pass, and returns the
/// number of bytes to transmit. The output ends with the `0x00` delimiter.
// Inlined into each caller: a firmware has one or two, and its constants (the header, the
// options) then fold into the call site, as they did when the framing was its only user.
#[inline(always)]
pub fn encode_stream(
    header: &Header,
    payload: &[u8],
    opts: StreamOptions,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(EncodeError::PayloadTooLarge);
    }
    let mut hbuf = [0u8; MAX_HEADER_LEN];
    let hlen = header.emit(&mut hbuf).ok_or(EncodeError::BufferTooSmall)?;
    let hdr = hbuf.get(..hlen).ok_or(EncodeError::BufferTooSmall)?;
    let lead = usize::from(opts.leading_delimiter);
    if lead == 1 {
        *out.first_mut().ok_or(EncodeError::BufferTooSmall)? = 0;
    }
    let body_out = out.get_mut(lead..).ok_or(EncodeError::BufferTooSmall)?;
    let mut crc = Crc32c::new();
    crc.update(hdr);
    crc.update(payload);
    let crc = crc.finish().to_le_bytes();
    let mut enc = cobs::Encoder::new(body_out)?;
    enc.push(hdr)?;
    enc.push(payload)?;
    enc.push(&crc)?;
    let n = lead + enc.finish();
    *out.get_mut(n).ok_or(EncodeError::BufferTooSmall)? = 0;
    Ok(n + 1)
}

/// Encodes one frame as a datagram (UDP): header, payload, CRC, no stuffing.
pub fn encode_datagram(
    header: &Header,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(EncodeError::PayloadTooLarge);
    }
    let hlen = header.emit(out).ok_or(EncodeError::BufferTooSmall)?;
    let end = hlen + payload.len();
    let frame = out
        .get_mut(..end + CRC_LEN)
        .ok_or(EncodeError::BufferTooSmall)?;
    let (body, crc_out) = frame
        .split_at_mut_checked(end)
        .ok_or(EncodeError::BufferTooSmall)?;
    copy(body.get_mut(hlen..).unwrap_or_default(), payload);
    copy(crc_out, &crate::crc::crc32c(body).to_le_bytes());
    Ok(end + CRC_LEN)
}

/// Where a frame's payload comes from: bytes, or a writer that fills exactly the given number
/// of bytes in place (returning false if it cannot).
pub(crate) enum Payload<'p> {
    Bytes(&'p [u8]),
    Fill(usize, &'p mut dyn FnMut(&mut [u8]) -> bool),
}

/// Builds the frame body `header ‖ payload ‖ tag ‖ CRC` in `out` and frames it for `stream`
/// (COBS in place; `None`: a datagram). With `tag_len` > 0, `seal` gets the body without its
/// CRC and the length of the associated data (the header), and turns the payload into
/// ciphertext and the tag in place; it returns false when it cannot. `body` sees the complete
/// body (CRC included) before it is stuffed. `out` needs the worst-case frame length for the
/// body, as the body is built where its encoding goes.
pub(crate) fn build_frame(
    header: &Header,
    payload: Payload<'_>,
    tag_len: usize,
    stream: Option<StreamOptions>,
    out: &mut [u8],
    seal: &mut dyn FnMut(&mut [u8], usize) -> bool,
    body: &mut dyn FnMut(&[u8]),
) -> Result<usize, EncodeError> {
    let payload_len = match &payload {
        Payload::Bytes(b) => b.len(),
        Payload::Fill(len, _) => *len,
    };
    if payload_len > MAX_PAYLOAD + 64 + tag_len {
        return Err(EncodeError::PayloadTooLarge);
    }
    let hlen = header.len();
    let body_len = hlen + payload_len + tag_len + CRC_LEN;
    let lead = stream.map_or(0, |o| usize::from(o.leading_delimiter));
    // Where the body starts: far enough in for COBS to encode it forward in place.
    let src = if stream.is_some() {
        lead + body_len / 254 + 1
    } else {
        0
    };
    let needed = src + body_len + usize::from(stream.is_some());
    let small = EncodeError::BufferTooSmall;
    let area = out.get_mut(..needed).ok_or(small)?;
    let frame = area.get_mut(src..src + body_len).ok_or(small)?;
    header.emit(frame).ok_or(small)?;
    let (sealed, crc_out) = frame
        .split_at_mut_checked(body_len - CRC_LEN)
        .ok_or(small)?;
    let room = sealed.get_mut(hlen..hlen + payload_len).unwrap_or_default();
    match payload {
        Payload::Bytes(b) => {
            copy(room, b);
        }
        Payload::Fill(_, fill) => {
            if !fill(room) {
                return Err(small);
            }
        }
    }
    if tag_len > 0 && !seal(sealed, hlen) {
        return Err(small);
    }
    copy(crc_out, &crate::crc::crc32c(sealed).to_le_bytes());
    body(frame);
    if stream.is_none() {
        return Ok(body_len);
    }
    if let Some(first) = area.first_mut().filter(|_| lead == 1) {
        *first = 0;
    }
    let stuffed = area.get_mut(lead..).ok_or(small)?;
    let n = lead + cobs::encode_in_place(stuffed, src - lead, body_len)?;
    *area.get_mut(n).ok_or(small)? = 0;
    Ok(n + 1)
}

/// Checks and parses a received datagram.
pub fn decode_datagram(datagram: &[u8]) -> Result<crate::Frame<'_>, crate::FrameError> {
    crate::Frame::from_body(datagram)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_for_frame_is_the_exact_inverse() {
        for frame_len in 0..5000 {
            let p = max_payload_for_stream_frame(frame_len);
            if p > 0 {
                assert!(max_stream_frame_len(p) <= frame_len, "{frame_len}");
            }
            if p < MAX_PAYLOAD && max_stream_frame_len(p + 1) <= frame_len {
                panic!("{frame_len}: {p} is not the largest");
            }
            let d = max_payload_for_datagram(frame_len);
            assert!(d == 0 || max_datagram_len(d) <= frame_len);
            assert!(d == MAX_PAYLOAD || max_datagram_len(d + 1) > frame_len);
        }
    }
}
