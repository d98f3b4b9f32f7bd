//! # ferrule
//!
//! A link stack for messages between microcontroller firmware and a host (or two MCUs) over a
//! serial line (UART, USB-CDC) or UDP. `#![no_std]`, no heap, fixed buffers sized by const
//! generics, no `unsafe`.
//!
//! The layers, bottom up, one module each:
//!
//! | module | layer |
//! |---|---|
//! | [`cobs`] | byte stuffing: removes `0x00` so it can delimit frames on a stream |
//! | [`compress`] | raw deflate, never expanding: per message, shared window, dictionary |
//! | [`crc`] | CRC-32C frame check over the whole body, header included |
//! | [`frame`] | the wire header (version, type, flags, channel, sequence/ack/window fields) |
//! | [`encode`] | one-pass frame encoders for streams (COBS) and datagrams (UDP) |
//! | [`decoder`] | the streaming decoder: any chunking, resync at the next delimiter |
//! | [`link`] | the reliable link: sessions, selective-repeat ARQ, flow control, keepalive |
//! | `aead` | ChaCha20-Poly1305 sealing, nonces, replay window (feature `aead`) |
//! | [`stats`] | counters for every accept and reject reason |
//! | `io` | frames over `embedded_io::Read`/`Write` (feature `embedded-io`) |
//!
//! The wire format is specified in `docs/PROTOCOL.md`, with test vectors that the test-suite
//! reads back out of the document.
//!
//! ## Example: encode a frame, decode it from a byte stream
//!
//! ```
//! use ferrule::{encode_stream, max_stream_frame_len, Feed, Header, StreamDecoder, StreamOptions};
//!
//! const PAYLOAD: &[u8] = b"{\"temp\":23.4}";
//! let mut wire = [0u8; max_stream_frame_len(PAYLOAD.len())];
//! let n = encode_stream(&Header::data(1), PAYLOAD, StreamOptions::default(), &mut wire)?;
//! assert_eq!(wire[n - 1], 0x00); // the delimiter; no other zero byte appears
//! assert!(!wire[..n - 1].contains(&0));
//!
//! let mut rx = StreamDecoder::<256>::new();
//! match rx.feed(&wire[..n]) {
//!     Feed::Frame { frame, rest } => {
//!         assert_eq!(frame.payload, PAYLOAD);
//!         assert!(rest.is_empty());
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! # Ok::<(), ferrule::EncodeError>(())
//! ```
//!
//! ## Features
//!
//! - `std`: host build; hardware CRC-32C through the `crc32c` crate.
//! - `alloc`: heap-backed conveniences.
//! - `defmt`: `defmt::Format` on public errors and statistics.
//! - `embedded-io`: [`io::write_frame`] and [`io::FrameReader`] over `embedded_io` traits.
//! - `best-effort` (default): the link's best-effort channel (`DATA` frames). Without it every
//!   channel is reliable, `DATA` frames from a peer are dropped and counted as `unsupported`,
//!   and each link keeps two message-sized mailboxes less.
//! - `small-crc`: bitwise CRC for the smallest flash (no 1 KiB table).
//! - `small`: `small-crc`, and COBS encoded and scanned a byte at a time instead of a machine
//!   word at a time: the least flash, slower on long frames. Same wire format.
//! - `aead`: authenticated encryption of every link frame (ChaCha20-Poly1305), replay window,
//!   rekeying: `Link::set_key`.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

#[cfg(feature = "aead")]
pub mod aead;
#[cfg(feature = "embedded-io-async")]
pub mod asynch;
mod bytes;
pub mod cobs;
pub mod compress;
pub mod crc;
pub mod decoder;
pub mod encode;
mod error_impls;
pub mod fec;
pub mod frame;
#[cfg(feature = "embedded-io")]
pub mod io;
pub mod link;
pub mod stats;
mod zero;

pub use decoder::{Decoder, Feed, StreamDecoder};
pub use encode::{
    decode_datagram, encode_datagram, encode_stream, max_datagram_len, max_payload_for_datagram,
    max_payload_for_stream_frame, max_stream_frame_len, EncodeError, StreamOptions,
};
pub use frame::{Ack, AeadField, Compression, Echo, Frame, FrameError, FrameKind, Header};
pub use stats::DecoderStats;
