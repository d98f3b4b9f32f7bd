//! # ferrule
//!
//! A link stack for messages between microcontroller firmware and a host (or two MCUs) over a
//! serial line (UART, USB-CDC) or UDP: COBS framing, CRC-32C over the whole frame,
//! compression, optional ChaCha20-Poly1305, and a reliable link that reports everything it
//! drops. `#![no_std]`, no heap, no `unsafe`; all state lives in memory the caller provides.
//!
//! The wire format is specified in `PROTOCOL.md` (shipped with the crate), with test vectors
//! that the test suite reads back out of the document.
//!
//! ## Which part for which job
//!
//! | job | use | feature |
//! |---|---|---|
//! | frame and check messages yourself, with your own retries (or none) | [`encode_stream`], [`StreamDecoder`], [`encode_datagram`], [`decode_datagram`] | — |
//! | the same over a blocking `embedded_io` stream | `io::write_frame`, `io::FrameReader` | `embedded-io` |
//! | reliable, ordered delivery from a superloop, RTIC tasks or interrupts (sans-IO) | [`link::Link`] | — |
//! | reliable delivery on an async executor (embassy, tokio; in RTIC 2 within one task) | `asynch::Driver` | `embedded-io-async` (`embassy-time` for its clock) |
//! | C firmware, or a C/C++ host program | the `ferrule-ffi` crate and its header `ferrule.h` | — |
//!
//! ### Framing only
//!
//! Encode a frame, decode it from a byte stream (any chunking; the decoder resynchronises at
//! the next delimiter after garbage):
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
//! ### The link, sans-IO
//!
//! [`link::Link`] touches no UART and no clock: the application feeds it bytes and the time
//! and writes out what it returns, from whatever loop, task or interrupt it already has. A
//! `Link` is `Send` (so are the compression, AEAD and FEC services it may hold), so it can live
//! in a `critical_section::Mutex<RefCell<…>>` shared with an interrupt handler, or be an RTIC
//! shared resource, without `unsafe`. The loop of a UART firmware, here with two links wired
//! back to back in memory:
//!
//! ```
//! use ferrule::link::{frame_buffer_len, Config, Event, Link, LinkStorage};
//!
//! // Window of 4 messages of up to 128 bytes: one `static` on an MCU (`const fn new`).
//! type Storage = LinkStorage<4, 128, { frame_buffer_len(128) }>;
//! let (mut sa, mut sb) = (Storage::new(), Storage::new());
//! // The seed must differ on every boot (a hardware RNG, or a counter kept in flash).
//! let mut dev = Link::new(Config::default(), 0xd1, sa.buffers()).unwrap();
//! let mut host = Link::new(Config::default(), 0x40, sb.buffers()).unwrap();
//! let mut frame = [0u8; ferrule::link::max_frame_len(128)];
//! let mut msg = [0u8; 128];
//! let mut got = Vec::new();
//! for now in 0..50u64 {
//!     // Each side: frames out (to the UART, in a real firmware), timers when due.
//!     while let Ok(Some(n)) = dev.poll_transmit(now, &mut frame) {
//!         host.handle_input(&frame[..n], now);
//!     }
//!     while let Ok(Some(n)) = host.poll_transmit(now, &mut frame) {
//!         dev.handle_input(&frame[..n], now);
//!     }
//!     for link in [&mut dev, &mut host] {
//!         if link.poll_timeout().is_some_and(|t| t <= now) {
//!             link.handle_timeout(now);
//!         }
//!     }
//!     if dev.poll_event() == Some(Event::Up) {
//!         dev.send(0, b"boot ok", now).unwrap();
//!     }
//!     while let Ok(Some(r)) = host.recv(&mut msg) {
//!         got.push(msg[..r.len].to_vec());
//!     }
//! }
//! assert_eq!(got, [b"boot ok".to_vec()]);
//! ```
//!
//! ### The async driver
//!
//! With feature `embedded-io-async`, [`asynch::Driver`][asynch-docs] runs a link over any
//! `embedded_io_async::Read`/`Write` (an embassy `BufferedUart`, a tokio stream through
//! `embedded-io-adapters`) as one `run()` future, while tasks `send(...).await`,
//! `recv(...).await`, await acknowledgements and events. Its module documentation has a
//! runnable example; the repository has an embassy firmware that runs under QEMU and a tokio
//! host example.
//!
#![cfg_attr(
    feature = "embedded-io-async",
    doc = "[asynch-docs]: crate::asynch::Driver"
)]
#![cfg_attr(
    not(feature = "embedded-io-async"),
    doc = "[asynch-docs]: #the-async-driver"
)]
//!
//! ### The C API
//!
//! The `ferrule-ffi` crate builds `libferrule.a` (and a shared library) with the header
//! `ferrule.h`: the same framing and link, in one block of caller memory. The repository's
//! `tests/c/example.c` is a complete firmware loop, run on the host by its C tests.
//!
//! ## Memory: why plain slices and no `heapless`
//!
//! The link's window and largest message are chosen at run time (the C API carves one
//! caller-provided block), and its message slots double as the retransmission buffer, with
//! per-slot timing state beside them. `heapless` containers fix their capacity in the type
//! and move by value, so a queue of messages would be copied out on every return and sized at
//! compile time for every user. Instead the caller lends slices ([`link::LinkBuffers`]), or
//! one `static` of [`link::LinkStorage`] whose `const fn new` puts it in `.bss`; received
//! messages are copied into the caller's buffer. The API has no strings to hold: errors are
//! enums with `Display`, events are `Copy` values.
//!
//! ## Modules
//!
//! | module | layer |
//! |---|---|
//! | [`cobs`] | byte stuffing: removes `0x00` so it can delimit frames on a stream |
//! | [`compress`] | raw deflate, never expanding: per message, shared window, dictionary |
//! | [`crc`] | CRC-32C frame check over the whole body, header included |
//! | [`frame`] | the wire header (version, type, flags, channel, sequence/ack/window fields) |
//! | [`encode`] | one-pass frame encoders for streams (COBS) and datagrams (UDP) |
//! | [`decoder`] | the streaming decoder: any chunking, resync at the next delimiter |
//! | [`fec`] | forward error correction: Reed-Solomon parity over groups of frames |
//! | [`link`] | the reliable link: sessions, selective-repeat ARQ, flow control, keepalive |
//! | [`stats`] | counters for every accept and reject reason |
//! | `aead` | ChaCha20-Poly1305 sealing, nonces, replay window (feature `aead`) |
//! | `io` | frames over `embedded_io::Read`/`Write` (feature `embedded-io`) |
//! | `asynch` | the async driver (feature `embedded-io-async`) |
//!
//! Every public error type implements `Display` and `core::error::Error`, and `defmt::Format`
//! with feature `defmt`. Minimum Rust version: 1.85.
//!
//! ## Feature flags
//!
//! Listed in `Cargo.toml`; rendered here when the docs are built with feature
//! `document-features` (as on docs.rs).
#![cfg_attr(feature = "document-features", doc = document_features::document_features!())]
#![cfg_attr(docsrs, feature(doc_cfg))]
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
pub mod compact;
pub mod compress;
pub mod crc;
#[cfg(feature = "aead")]
mod crypto;
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
