//! Framing in C: encode one frame, and the streaming decoder in caller memory.

use crate::{bytes, bytes_mut, ferrule_status, guard, put};
use core::mem::{align_of, size_of};
use ferrule::decoder::Decoder;
use ferrule::frame::MAX_PAYLOAD;
use ferrule::{Ack, AeadField, Compression, Echo, Feed, FrameKind, Header, StreamOptions};

/// `ferrule_header_t.kind`: best-effort data.
pub const FERRULE_KIND_DATA: u8 = 0;
/// Reliable data.
pub const FERRULE_KIND_RDATA: u8 = 1;
/// Stand-alone acknowledgement.
pub const FERRULE_KIND_ACK: u8 = 2;
/// Handshake request.
pub const FERRULE_KIND_HELLO: u8 = 3;
/// Handshake reply.
pub const FERRULE_KIND_HELLO_ACK: u8 = 4;
/// Keepalive / window probe.
pub const FERRULE_KIND_PING: u8 = 5;
/// Session close.
pub const FERRULE_KIND_CLOSE: u8 = 6;
/// Forward error correction parity.
pub const FERRULE_KIND_PARITY: u8 = 7;

/// `ferrule_header_t.compression`: payload is the message.
pub const FERRULE_COMPRESSION_NONE: u8 = 0;
/// Raw deflate of this message alone.
pub const FERRULE_COMPRESSION_DEFLATE: u8 = 1;
/// Next piece of the session's shared deflate stream.
pub const FERRULE_COMPRESSION_SHARED: u8 = 2;
/// Uncompressed, but part of the shared stream's history.
pub const FERRULE_COMPRESSION_SHARED_RAW: u8 = 3;
/// Raw deflate against preset dictionary `dict_id`.
pub const FERRULE_COMPRESSION_DICTIONARY: u8 = 4;

/// Largest message payload the protocol allows. A link's `PARITY` frames (FEC) carry a whole
/// data frame body plus 6 bytes, so with FEC and messages near this size they exceed it: the
/// framing functions here refuse to build those, and a decoder sized with
/// `ferrule_decoder_size` counts them `oversize`. A link's own buffers take them.
pub const FERRULE_MAX_PAYLOAD: usize = 4096;

/// A frame header, field by field (`docs/PROTOCOL.md` section 2). Optional fields have a
/// `has_` flag; fields whose flag is 0 are ignored on encode and zero on decode.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ferrule_header_t {
    /// One of `FERRULE_KIND_*`.
    pub kind: u8,
    /// Logical channel.
    pub channel: u8,
    /// One of `FERRULE_COMPRESSION_*`.
    pub compression: u8,
    /// Dictionary id when `compression` is `FERRULE_COMPRESSION_DICTIONARY`.
    pub dict_id: u8,
    /// Session tag (on the wire when `has_seq` or `has_ack`).
    pub session: u8,
    /// A sequence number is present.
    pub has_seq: u8,
    /// Sequence number.
    pub seq: u16,
    /// Acknowledgement fields are present.
    pub has_ack: u8,
    /// Receiver's free window.
    pub ack_window: u8,
    /// Next sequence number expected.
    pub ack_next: u16,
    /// Selective-ack bitmap is present (requires `has_ack`).
    pub has_sack: u8,
    /// AEAD fields are present.
    pub has_aead: u8,
    /// AEAD key id.
    pub aead_key_id: u8,
    /// A send timestamp is present.
    pub has_ts: u8,
    /// Selective-ack bitmap.
    pub sack: u32,
    /// AEAD frame counter.
    pub aead_counter: u32,
    /// Send timestamp (ms modulo 65536).
    pub ts: u16,
    /// The echoed timestamp (with `has_echo`; requires `has_ack`).
    pub echo_ts: u16,
    /// An echo is present.
    pub has_echo: u8,
    /// How long the echo was held (ms, 255: 255 or more).
    pub echo_hold: u8,
    /// An FEC number is present (DATA and RDATA only).
    pub has_fec: u8,
    /// FEC number.
    pub fec_seq: u8,
}

impl ferrule_header_t {
    pub(crate) fn to_header(self) -> Option<Header> {
        let kind = FrameKind::from_nibble(self.kind)?;
        let compression = match self.compression {
            FERRULE_COMPRESSION_NONE => Compression::None,
            FERRULE_COMPRESSION_DEFLATE => Compression::Deflate,
            FERRULE_COMPRESSION_SHARED => Compression::Shared,
            FERRULE_COMPRESSION_SHARED_RAW => Compression::SharedRaw,
            FERRULE_COMPRESSION_DICTIONARY => Compression::Dictionary(self.dict_id),
            _ => return None,
        };
        if (self.has_sack != 0 || self.has_echo != 0) && self.has_ack == 0 {
            return None;
        }
        let h = Header {
            kind,
            channel: self.channel,
            compression,
            session: self.session,
            seq: (self.has_seq != 0).then_some(self.seq),
            ack: (self.has_ack != 0).then_some(Ack {
                next: self.ack_next,
                window: self.ack_window,
                sack: (self.has_sack != 0).then_some(self.sack),
            }),
            ts: (self.has_ts != 0).then_some(self.ts),
            echo: (self.has_echo != 0).then_some(Echo {
                ts: self.echo_ts,
                hold: self.echo_hold,
            }),
            fec_seq: (self.has_fec != 0).then_some(self.fec_seq),
            aead: (self.has_aead != 0).then_some(AeadField {
                key_id: self.aead_key_id,
                counter: self.aead_counter,
            }),
        };
        // Only headers a receiver accepts: the flags must be a valid combination for the type
        // (PROTOCOL.md section 2.4).
        let mut buf = [0u8; ferrule::frame::MAX_HEADER_LEN];
        let n = h.emit(&mut buf)?;
        Header::parse(buf.get(..n)?).ok()?;
        Some(h)
    }

    pub(crate) fn from_header(h: &Header) -> Self {
        let (compression, dict_id) = match h.compression {
            Compression::None => (FERRULE_COMPRESSION_NONE, 0),
            Compression::Deflate => (FERRULE_COMPRESSION_DEFLATE, 0),
            Compression::Shared => (FERRULE_COMPRESSION_SHARED, 0),
            Compression::SharedRaw => (FERRULE_COMPRESSION_SHARED_RAW, 0),
            Compression::Dictionary(id) => (FERRULE_COMPRESSION_DICTIONARY, id),
        };
        let ack = h.ack;
        let aead = h.aead;
        Self {
            kind: h.kind as u8,
            channel: h.channel,
            compression,
            dict_id,
            session: h.session,
            has_seq: u8::from(h.seq.is_some()),
            seq: h.seq.unwrap_or(0),
            has_ack: u8::from(ack.is_some()),
            ack_window: ack.map_or(0, |a| a.window),
            ack_next: ack.map_or(0, |a| a.next),
            has_sack: u8::from(ack.is_some_and(|a| a.sack.is_some())),
            has_aead: u8::from(aead.is_some()),
            aead_key_id: aead.map_or(0, |a| a.key_id),
            has_ts: u8::from(h.ts.is_some()),
            sack: ack.and_then(|a| a.sack).unwrap_or(0),
            aead_counter: aead.map_or(0, |a| a.counter),
            ts: h.ts.unwrap_or(0),
            echo_ts: h.echo.map_or(0, |e| e.ts),
            has_echo: u8::from(h.echo.is_some()),
            echo_hold: h.echo.map_or(0, |e| e.hold),
            has_fec: u8::from(h.fec_seq.is_some()),
            fec_seq: h.fec_seq.unwrap_or(0),
        }
    }
}

/// Worst-case encoded size of a frame with `payload_len` bytes of payload: for a stream
/// (`stream` true: COBS, both delimiters) or a datagram (header, payload, CRC). 0 if the payload
/// is larger than `FERRULE_MAX_PAYLOAD`.
/// Stack: 56 bytes. Reentrant: may be called from an interrupt.
#[no_mangle]
pub extern "C" fn ferrule_max_frame_len(payload_len: usize, stream: bool) -> usize {
    match (payload_len > MAX_PAYLOAD, stream) {
        (true, _) => 0,
        (false, true) => ferrule::max_stream_frame_len(payload_len),
        (false, false) => ferrule::max_datagram_len(payload_len),
    }
}

/// Encodes one frame into `out` (`out_cap` bytes): stream framing (COBS, trailing 0x00, and a
/// leading 0x00 if `leading_delimiter`) when `stream`, else a datagram. On success writes the
/// length to `*out_len`.
///
/// Returns `FERRULE_OK`; `FERRULE_ERR_NULL`; `FERRULE_ERR_INVALID_ARGUMENT` (an unknown kind or
/// compression, or any combination of fields a receiver rejects, docs/PROTOCOL.md 2.4: for
/// example a selective ack or echo without the ack fields, RDATA without a sequence number,
/// an FEC number on a frame that is not data);
/// `FERRULE_ERR_BUFFER_TOO_SMALL`; `FERRULE_ERR_TOO_LARGE` (payload above
/// `FERRULE_MAX_PAYLOAD`). On an error `*out_len` is not written and `out` holds no frame
/// (its first `out_cap` bytes may have been written).
/// Stack: 552 bytes on Cortex-M0, 520 on Cortex-M4F. Reentrant (it touches only its
/// arguments): may be called from an interrupt.
///
/// # Safety
/// `header` and `out_len` must be valid pointers; `payload`/`out` must point to
/// `payload_len`/`out_cap` bytes (`out` to `ferrule_max_frame_len(payload_len, stream)` bytes
/// when `out_cap` is larger; either may be NULL when its length is 0).
#[no_mangle]
pub unsafe extern "C" fn ferrule_encode(
    header: *const ferrule_header_t,
    payload: *const u8,
    payload_len: usize,
    stream: bool,
    leading_delimiter: bool,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> ferrule_status {
    guard(|| {
        if header.is_null() || out_len.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        // SAFETY: checked non-NULL; the caller passes a valid header.
        let h = unsafe { *header };
        let payload = match bytes(payload, payload_len, ferrule_status::FERRULE_ERR_TOO_LARGE) {
            Ok(payload) => payload,
            Err(e) => return e,
        };
        let Some(out) = bytes_mut(out, out_cap, ferrule_max_frame_len(payload.len(), stream))
        else {
            return ferrule_status::FERRULE_ERR_NULL;
        };
        let Some(h) = h.to_header() else {
            return ferrule_status::FERRULE_ERR_INVALID_ARGUMENT;
        };
        let r = if stream {
            let opts = StreamOptions { leading_delimiter };
            ferrule::encode_stream(&h, payload, opts, out)
        } else {
            ferrule::encode_datagram(&h, payload, out)
        };
        match r {
            Ok(n) => {
                put(out_len, n);
                ferrule_status::FERRULE_OK
            }
            Err(e) => e.into(),
        }
    })
}

/// Receive buffer of a decoder from `ferrule_decoder_size()` bytes: the largest frame body
/// there is (every header field, the largest payload, an AEAD tag, the CRC).
pub const FERRULE_DECODER_CAPACITY: usize = 4142;

/// Bytes of a decoder's state on 32-bit targets; its receive buffer follows in the same
/// memory (`FERRULE_DECODER_STORAGE_SIZE`).
pub const FERRULE_DECODER_STATE_SIZE_32: usize = 72;
/// Bytes of a decoder's state on 64-bit targets.
pub const FERRULE_DECODER_STATE_SIZE_64: usize = 88;
/// Bytes a frame body takes beyond its payload, at most (header fields and CRC).
pub const FERRULE_FRAME_BODY_OVERHEAD: usize = 30;
const _: () = assert!(FERRULE_FRAME_BODY_OVERHEAD == ferrule::frame::max_body_len(0));

#[cfg(target_pointer_width = "32")]
const _: () = assert!(size_of::<ferrule_decoder_t>() == FERRULE_DECODER_STATE_SIZE_32);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<ferrule_decoder_t>() == FERRULE_DECODER_STATE_SIZE_64);

const _: () =
    assert!(FERRULE_DECODER_STATE_SIZE_32 % 8 == 0 && FERRULE_DECODER_STATE_SIZE_64 % 8 == 0);
const _: () = assert!(FERRULE_DECODER_CAPACITY == FERRULE_FRAME_BODY_OVERHEAD + MAX_PAYLOAD + 16);

/// Opaque streaming decoder, created in caller memory with `ferrule_decoder_init`: its state,
/// then its receive buffer (the rest of that memory).
pub struct ferrule_decoder_t {
    inner: Decoder<&'static mut [u8]>,
}

/// The decoder state's size on this target.
const STATE: usize = size_of::<ferrule_decoder_t>();

/// Bytes of memory for a decoder that accepts the largest frame there is
/// (`FERRULE_DECODER_CAPACITY` bytes of body). Smaller frames need less:
/// `ferrule_decoder_storage_size`. Stack: 8 bytes. Reentrant: may be called from an interrupt.
#[no_mangle]
pub extern "C" fn ferrule_decoder_size() -> usize {
    STATE.saturating_add(FERRULE_DECODER_CAPACITY)
}

/// Bytes of memory for a decoder that accepts frames of up to `max_payload` payload bytes
/// (an AEAD tag counts as payload; a link's frames carry at most its `max_message` + 16, and
/// with FEC its `PARITY` frames 6 bytes more than a whole data frame body: header, message,
/// tag and CRC):
/// the same number as `FERRULE_DECODER_STORAGE_SIZE(max_payload)`. Frames larger than that
/// are discarded whole and counted (`oversize`); 0 when the size would exceed `PTRDIFF_MAX`
/// (no memory block is that large). Stack: 8 bytes. Reentrant: may be called from an
/// interrupt.
#[no_mangle]
pub extern "C" fn ferrule_decoder_storage_size(max_payload: usize) -> usize {
    let size = STATE
        .saturating_add(ferrule::frame::max_body_len(0))
        .saturating_add(max_payload)
        .saturating_add(7)
        & !7;
    if size > isize::MAX as usize {
        0
    } else {
        size
    }
}

/// Alignment the decoder memory needs (at most `FERRULE_MEMORY_ALIGN`).
/// Stack: 8 bytes. Reentrant: may be called from an interrupt.
#[no_mangle]
pub extern "C" fn ferrule_decoder_align() -> usize {
    align_of::<ferrule_decoder_t>()
}

/// Creates a decoder in `mem` and writes its handle to `*out`. The decoder's state takes the
/// first `FERRULE_DECODER_STATE_SIZE` bytes and its receive buffer the rest, so `mem_len`
/// sets the largest frame it accepts: `ferrule_decoder_storage_size(max_payload)` bytes for
/// payloads of up to `max_payload` bytes, `ferrule_decoder_size()` for any frame. `mem` must
/// be aligned to `ferrule_decoder_align()` and stay valid and untouched (not moved) while the
/// handle is used; no cleanup call is needed.
///
/// Returns `FERRULE_OK`, `FERRULE_ERR_NULL`, `FERRULE_ERR_MEMORY_TOO_SMALL` (no room for a
/// frame with an empty payload), `FERRULE_ERR_MEMORY_ALIGNMENT` or
/// `FERRULE_ERR_INVALID_ARGUMENT` (`mem_len` above `PTRDIFF_MAX`); `*out` is written only on
/// success. Stack: under 100 bytes (only the state is written; the buffer is not touched).
/// May be called from an interrupt only if no other call uses the same memory at the time.
///
/// # Safety
/// `mem` must point to `mem_len` writable bytes used for nothing else; `out` to a writable
/// handle pointer.
#[no_mangle]
pub unsafe extern "C" fn ferrule_decoder_init(
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    out: *mut *mut ferrule_decoder_t,
) -> ferrule_status {
    guard(|| {
        if mem.is_null() || out.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        // No block is larger than PTRDIFF_MAX bytes: such a length is a wrong argument.
        if mem_len > isize::MAX as usize {
            return ferrule_status::FERRULE_ERR_INVALID_ARGUMENT;
        }
        let buf_len = match mem_len.checked_sub(STATE) {
            Some(n) if n >= FERRULE_FRAME_BODY_OVERHEAD => n,
            _ => return ferrule_status::FERRULE_ERR_MEMORY_TOO_SMALL,
        };
        let p = match place::<ferrule_decoder_t>(mem, mem_len, out) {
            Ok(p) => p,
            Err(s) => return s,
        };
        // SAFETY: `place` checked `mem` non-NULL, aligned and at least STATE bytes long; the
        // `buf_len` bytes after the state are the rest of the caller's block, which the caller
        // gives to this decoder alone for as long as it uses the handle.
        let buf = unsafe { core::slice::from_raw_parts_mut(mem.cast::<u8>().add(STATE), buf_len) };
        // SAFETY: `place` checked size, alignment and non-NULL for a ferrule_decoder_t; the
        // value is small (the buffer is borrowed), so it is built on the stack and moved in.
        unsafe {
            p.write(ferrule_decoder_t {
                inner: Decoder::with_buffer(buf),
            })
        };
        put(out, p);
        ferrule_status::FERRULE_OK
    })
}

/// Checks caller memory for a `T`: non-NULL, large enough, aligned.
pub(crate) fn place<T>(
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    out: *mut *mut T,
) -> Result<*mut T, ferrule_status> {
    if mem.is_null() || out.is_null() {
        return Err(ferrule_status::FERRULE_ERR_NULL);
    }
    if mem_len < size_of::<T>() {
        return Err(ferrule_status::FERRULE_ERR_MEMORY_TOO_SMALL);
    }
    if (mem as usize).checked_rem(align_of::<T>()) != Some(0) {
        return Err(ferrule_status::FERRULE_ERR_MEMORY_ALIGNMENT);
    }
    Ok(mem.cast())
}

/// A decoded frame: the header and a view of the payload inside the decoder, valid until the
/// next call on that decoder.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ferrule_frame_t {
    /// The header fields.
    pub header: ferrule_header_t,
    /// First payload byte (inside the decoder's buffer).
    pub payload: *const u8,
    /// Payload length.
    pub payload_len: usize,
}

/// Feeds received bytes. Stops at the first frame boundary and writes how many input bytes it
/// consumed to `*consumed` (always, unless `decoder`, `consumed` or `frame` is NULL); feed
/// the rest next. Returns `FERRULE_OK` with `*frame` filled when a valid frame ended,
/// `FERRULE_EMPTY` when all input was absorbed without completing one, `FERRULE_ERR_NULL`,
/// `FERRULE_ERR_INVALID_ARGUMENT` for a `len` above `PTRDIFF_MAX` (0 consumed), or the reject
/// reason when a frame ended but was rejected and counted: `FERRULE_ERR_MALFORMED`,
/// `FERRULE_ERR_TOO_SHORT`, `FERRULE_ERR_OVERSIZE`, `FERRULE_ERR_BAD_CRC`,
/// `FERRULE_ERR_BAD_VERSION`, `FERRULE_ERR_UNKNOWN_KIND`, `FERRULE_ERR_BAD_FLAGS`,
/// `FERRULE_ERR_TRUNCATED_HEADER`. The payload in `*frame` stays valid until the next call on
/// this decoder.
/// Stack: 712 bytes on Cortex-M0, 656 on Cortex-M4F. A decoder may be fed from a UART
/// interrupt if that interrupt is the only context using it.
///
/// # Safety
/// `decoder` must come from `ferrule_decoder_init`; `input` must point to `len` bytes (may be
/// NULL when `len` is 0); `consumed` and `frame` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_decoder_feed(
    decoder: *mut ferrule_decoder_t,
    input: *const u8,
    len: usize,
    consumed: *mut usize,
    frame: *mut ferrule_frame_t,
) -> ferrule_status {
    guard(|| {
        if decoder.is_null() || consumed.is_null() || frame.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        let input = match bytes(input, len, ferrule_status::FERRULE_ERR_INVALID_ARGUMENT) {
            Ok(input) => input,
            Err(e) => {
                put(consumed, 0);
                return e;
            }
        };
        // SAFETY: a handle from ferrule_decoder_init, used from one context at a time.
        let d = unsafe { &mut (*decoder).inner };
        match d.feed(input) {
            Feed::Consumed => {
                put(consumed, input.len());
                ferrule_status::FERRULE_EMPTY
            }
            Feed::Frame { frame: f, rest } => {
                put(consumed, input.len().saturating_sub(rest.len()));
                put(
                    frame,
                    ferrule_frame_t {
                        header: ferrule_header_t::from_header(&f.header),
                        payload: f.payload.as_ptr(),
                        payload_len: f.payload.len(),
                    },
                );
                ferrule_status::FERRULE_OK
            }
            Feed::Rejected { error, rest } => {
                put(consumed, input.len().saturating_sub(rest.len()));
                error.into()
            }
        }
    })
}

/// Frame counters of a decoder (or a link), one per reject reason.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ferrule_decoder_stats_t {
    /// Bytes consumed.
    pub bytes_in: u64,
    /// Frames accepted.
    pub frames_ok: u32,
    /// Invalid byte stuffing.
    pub malformed: u32,
    /// Shorter than header + CRC.
    pub too_short: u32,
    /// Larger than the buffer, discarded whole.
    pub oversize: u32,
    /// CRC mismatches.
    pub bad_crc: u32,
    /// Unsupported version.
    pub bad_version: u32,
    /// Unknown frame type.
    pub unknown_kind: u32,
    /// Invalid flags.
    pub bad_flags: u32,
    /// Header longer than the frame.
    pub truncated_header: u32,
}

impl From<&ferrule::DecoderStats> for ferrule_decoder_stats_t {
    fn from(s: &ferrule::DecoderStats) -> Self {
        Self {
            bytes_in: s.bytes_in,
            frames_ok: s.frames_ok,
            malformed: s.malformed,
            too_short: s.too_short,
            oversize: s.oversize,
            bad_crc: s.bad_crc,
            bad_version: s.bad_version,
            unknown_kind: s.unknown_kind,
            bad_flags: s.bad_flags,
            truncated_header: s.truncated_header,
        }
    }
}

/// Copies the decoder's counters into `*out`. Returns `FERRULE_OK` or `FERRULE_ERR_NULL`.
/// Stack: 40 bytes on Cortex-M0, 32 on Cortex-M4F. From the context that feeds the decoder
/// (an interrupt, if that is where it is fed); from another one only while feeding is held
/// off, or the counters may be read half updated.
///
/// # Safety
/// `decoder` from `ferrule_decoder_init`; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_decoder_stats(
    decoder: *const ferrule_decoder_t,
    out: *mut ferrule_decoder_stats_t,
) -> ferrule_status {
    guard(|| {
        if decoder.is_null() || out.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        // SAFETY: a handle from ferrule_decoder_init.
        let d = unsafe { &(*decoder).inner };
        put(out, d.stats().into());
        ferrule_status::FERRULE_OK
    })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;

    #[test]
    fn decoder_capacity_fits_the_largest_frame() {
        // The largest body: every header field, the largest payload, an AEAD tag, the CRC.
        assert_eq!(
            FERRULE_DECODER_CAPACITY,
            ferrule::frame::max_body_len(FERRULE_MAX_PAYLOAD + 16)
        );
        assert_eq!(FERRULE_MAX_PAYLOAD, MAX_PAYLOAD);
    }
}
