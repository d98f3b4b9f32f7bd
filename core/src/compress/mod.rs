//! Compression (`PROTOCOL.md` section 5): raw deflate, never expanding, heap-free, with
//! every byte of state in memory the caller provides and sizes from the configuration.
//!
//! - [`Deflater`]: this crate's compressor — fixed Huffman codes, optimally parsed, over a
//!   window of up to 1 KiB; the longest back-reference it emits is set at run time to what the
//!   peer accepts.
//! - [`Inflater`]: this crate's decompressor — stored and fixed-Huffman blocks always,
//!   dynamic-Huffman blocks only with their tables ([`DYNAMIC_TABLE_BYTES`]) configured.
//!   Output is bounded by the caller's buffer (an error, never a truncated message);
//!   back-references are bounded by a window of `2^window_bits` bytes.
//! - [`Window`]: the history of the shared stream a receiver keeps between messages.
//! - [`Compressor`]: the [`Codec`] a link uses — per-message, shared-window (reliable
//!   channel) and preset-dictionary modes, each sent only when the peer accepts it
//!   ([`RxCaps`]).
//!
//! Both ends are written here rather than taken from a crate: `miniz_oxide`'s decompressor
//! alone keeps 10.5 KB of state and its compressor needs a heap, where a 16 KiB Cortex-M0 has
//! about 5 KiB for the codec of a link that compresses both ways.
//!
//! Small messages barely compress alone; the shared window (one deflate stream per session
//! and direction, sync-flushed per message) is what makes 64-byte telemetry shrink.
//!
//! ```
//! use ferrule::compress::{Codec, CodecConfig, Compressor, Mode};
//!
//! const CFG: CodecConfig<'static> = CodecConfig { reliable: Mode::Shared, ..CodecConfig::DEFAULT };
//! // All state lives in memory the caller provides: a `static` array on a microcontroller,
//! // sized at compile time.
//! let (mut mem_a, mut mem_b) = ([0u8; Compressor::storage_size(&CFG)], vec![0u8; Compressor::storage_size(&CFG)]);
//! let mut tx = Compressor::new(CFG, &mut mem_a).unwrap();
//! let mut rx = Compressor::new(CFG, &mut mem_b).unwrap();
//! // A session starts: each side sends only what the other announced it accepts.
//! tx.start_tx(rx.rx_caps());
//! rx.reset_rx();
//! let mut wire = [0u8; 128];
//! let mut out = [0u8; 128];
//! let mut sizes = Vec::new();
//! for i in 0..10 {
//!     let msg = format!("{{\"seq\":{i},\"temp\":23.{i},\"rh\":41.{i},\"ok\":true}}");
//!     let (repr, n) = tx.compress(true, msg.as_bytes(), &mut wire);
//!     let m = rx.decompress(repr, &wire[..n], &mut out).unwrap();
//!     assert_eq!(&out[..m], msg.as_bytes());
//!     sizes.push(n * 100 / msg.len());
//! }
//! assert!(sizes[9] < 50, "{sizes:?}"); // later messages compress against earlier ones
//! ```
//!
//! Every input is bounded, and no path panics: indexing, slicing and arithmetic that could
//! are denied here (outside tests), so the compiled code carries no panic or formatting code.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::panic,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

mod codec;
pub mod deflate;
mod huffman;
pub mod inflate;
mod table;
mod window;

pub use codec::Compressor;
pub use deflate::{Deflater, End, NotSmaller};
pub use huffman::DYNAMIC_TABLE_BYTES;
pub use inflate::{DecompressError, Inflater};
pub use window::Window;

use crate::frame::Compression;

/// `window_bits` both ends use unless configured otherwise (a 1 KiB window).
pub const DEFAULT_WINDOW_BITS: u8 = 10;
/// Smallest `window_bits` a receiver may announce (a 256-byte window).
pub const MIN_WINDOW_BITS: u8 = 8;
/// Largest `window_bits` a receiver may announce (deflate's 32 KiB window).
pub const MAX_WINDOW_BITS: u8 = 15;
/// Largest `window_bits` of this crate's compressor: it never reaches further than 1 KiB.
pub const MAX_SEND_WINDOW_BITS: u8 = 10;
/// Longest preset dictionary that helps: the compressor references at most its last 1 KiB.
pub const MAX_DICTIONARY: usize = 1 << MAX_SEND_WINDOW_BITS;

/// How messages of one service are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Mode {
    /// Sent as they are.
    #[default]
    Off,
    /// Each message compressed on its own (helps from a few hundred bytes up).
    PerMessage,
    /// Reliable channel only: one deflate stream per session and direction. On the best-effort
    /// service this means [`Mode::PerMessage`].
    Shared,
    /// Each message compressed against the configured preset dictionary.
    Dictionary,
}

/// A preset dictionary: the same bytes and id on both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dictionary<'d> {
    /// Identifies the dictionary on the wire (1..=255; 0 means none, so such a dictionary is
    /// never used).
    pub id: u8,
    /// Typical content; the compressor references only its last [`MAX_DICTIONARY`] bytes.
    pub bytes: &'d [u8],
}

/// What a codec decompresses: part of its configuration, and of the memory it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Receive {
    /// Per-message payloads (`COMPRESSED`), and preset-dictionary ones with the configured
    /// dictionary. No memory of its own: the message buffer is the history.
    pub per_message: bool,
    /// Pieces of the peer's shared stream (`COMPRESSED + SHARED`, `SHARED`): a history ring
    /// of `2^window_bits` bytes.
    pub shared: bool,
    /// Dynamic-Huffman blocks ([`DYNAMIC_TABLE_BYTES`] of tables). Without them a payload
    /// holding one is refused ([`DecompressError::DynamicBlock`]); this crate's compressor
    /// never produces them.
    pub dynamic: bool,
    /// log2 of the longest back-reference accepted, [`MIN_WINDOW_BITS`]..=[`MAX_WINDOW_BITS`].
    pub window_bits: u8,
}

impl Receive {
    /// Nothing compressed is accepted (no memory).
    pub const NONE: Self = Self {
        per_message: false,
        shared: false,
        dynamic: false,
        window_bits: DEFAULT_WINDOW_BITS,
    };
    /// The default: per-message, dictionary and shared payloads with fixed codes over a 1 KiB
    /// window (a 1 KiB ring).
    pub const DEFAULT: Self = Self {
        per_message: true,
        shared: true,
        dynamic: false,
        window_bits: DEFAULT_WINDOW_BITS,
    };

    /// Whether anything compressed is accepted.
    pub const fn any(&self) -> bool {
        self.per_message || self.shared
    }
}

impl Default for Receive {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What a [`Compressor`] sends and accepts. The memory it needs follows from this
/// ([`Compressor::storage_size`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecConfig<'d> {
    /// Mode for reliable-channel messages.
    pub reliable: Mode,
    /// Mode for best-effort messages ([`Mode::Shared`] means [`Mode::PerMessage`] here).
    pub unreliable: Mode,
    /// The preset dictionary (needed to send with, and to receive, `Mode::Dictionary`).
    pub dictionary: Option<Dictionary<'d>>,
    /// What this side decompresses.
    pub receive: Receive,
    /// log2 of the compressor's window, [`MIN_WINDOW_BITS`]..=[`MAX_SEND_WINDOW_BITS`]: the
    /// longest back-reference it may emit (a peer announcing less gets less), and the size of
    /// its state (`3 × 2^send_window_bits + 640` bytes per compressor, and a 516-byte work
    /// area the compressors of a codec share).
    pub send_window_bits: u8,
}

impl CodecConfig<'_> {
    /// Sends everything raw; accepts [`Receive::DEFAULT`]; a 1 KiB compressor window.
    pub const DEFAULT: CodecConfig<'static> = CodecConfig {
        reliable: Mode::Off,
        unreliable: Mode::Off,
        dictionary: None,
        receive: Receive::DEFAULT,
        send_window_bits: MAX_SEND_WINDOW_BITS,
    };
}

impl Default for CodecConfig<'_> {
    fn default() -> Self {
        CodecConfig::DEFAULT
    }
}

/// What one side can decompress: announced to the peer in the hello record (`caps` bits
/// DEFLATE, SHARED, DYNAMIC, and the `window_bits` and `dict_id` bytes), and given to the
/// peer's [`Codec::start_tx`] so it never sends anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RxCaps {
    /// Accepts per-message deflate (`COMPRESSED`).
    pub per_message: bool,
    /// Accepts the shared stream (`COMPRESSED + SHARED`, `SHARED`).
    pub shared: bool,
    /// Accepts dynamic-Huffman blocks.
    pub dynamic: bool,
    /// log2 of the longest back-reference accepted (8..=15); 0: no compression at all.
    pub window_bits: u8,
    /// The preset dictionary it decompresses with (0: none).
    pub dict_id: u8,
}

impl RxCaps {
    /// Nothing compressed is accepted.
    pub const NONE: Self = Self {
        per_message: false,
        shared: false,
        dynamic: false,
        window_bits: 0,
        dict_id: 0,
    };

    /// The longest back-reference these caps allow, 0 when nothing compressed is accepted
    /// (`window_bits` below 8); values above 15 count as 15.
    pub const fn max_distance(&self) -> usize {
        if self.window_bits < MIN_WINDOW_BITS {
            0
        } else if self.window_bits > MAX_WINDOW_BITS {
            1 << MAX_WINDOW_BITS
        } else {
            1 << self.window_bits
        }
    }
}

/// The compression hooks a link calls: at `send` (once per message, so retransmissions repeat
/// the same bytes), at `recv` (in delivery order), and at every new session. Object safe: a
/// link holds a `&mut dyn Codec`. `Send`, so that a link that holds one stays `Send`.
pub trait Codec: Send {
    /// What this side can decompress (announced in its hello record).
    fn rx_caps(&self) -> RxCaps;
    /// A new session: the outgoing shared stream restarts, and from now on only what `peer`
    /// accepts is produced (modes, dictionary id, back-references within
    /// `2^peer.window_bits`). Until the first call, everything is sent raw.
    fn start_tx(&mut self, peer: RxCaps);
    /// The first message of a new session is about to be decoded: the incoming shared stream
    /// restarts.
    fn reset_rx(&mut self);
    /// Writes the payload for `msg` into `out` (at least `msg.len()` bytes) and returns its
    /// representation and length. The payload is never longer than `msg`.
    fn compress(&mut self, reliable: bool, msg: &[u8], out: &mut [u8]) -> (Compression, usize);
    /// Turns a received payload back into the message, writing at most `out.len()` bytes.
    fn decompress(
        &mut self,
        repr: Compression,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, DecompressError>;
    /// Counters.
    fn stats(&self) -> CodecStats;
    /// Bytes of caller memory the codec works in besides its own object (0: none). A C layer
    /// checks a new service's memory against it.
    fn memory_len(&self) -> usize {
        0
    }
}

/// No compression: messages go out as they are; compressed payloads are refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCodec;

impl Codec for NoCodec {
    fn rx_caps(&self) -> RxCaps {
        RxCaps::NONE
    }

    fn start_tx(&mut self, _peer: RxCaps) {}

    fn reset_rx(&mut self) {}

    fn compress(&mut self, _reliable: bool, msg: &[u8], out: &mut [u8]) -> (Compression, usize) {
        copy_raw(msg, out)
    }

    fn decompress(
        &mut self,
        repr: Compression,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, DecompressError> {
        match repr {
            Compression::None => copy_out(payload, out),
            _ => Err(DecompressError::Unsupported),
        }
    }

    fn stats(&self) -> CodecStats {
        CodecStats::default()
    }
}

fn copy_raw(msg: &[u8], out: &mut [u8]) -> (Compression, usize) {
    (Compression::None, crate::bytes::copy(out, msg))
}

fn copy_out(payload: &[u8], out: &mut [u8]) -> Result<usize, DecompressError> {
    let out = out
        .get_mut(..payload.len())
        .ok_or(DecompressError::TooLarge)?;
    Ok(crate::bytes::copy(out, payload))
}

/// Compression counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CodecStats {
    /// Messages sent compressed.
    pub compressed: u64,
    /// Messages sent raw because compression would not have made them smaller.
    pub not_smaller: u64,
    /// Messages sent in a weaker mode than configured because the peer does not accept the
    /// configured one (shared → per-message, dictionary → per-message, per-message → raw).
    pub downgraded: u64,
    /// Message bytes given to `compress` with compression in use.
    pub bytes_in: u64,
    /// Payload bytes produced for those messages.
    pub bytes_out: u64,
    /// Payloads decompressed.
    pub inflated: u64,
    /// Payloads refused, all reasons (the sum of the counters below).
    pub failed: u64,
    /// Refused: not valid deflate, not ending exactly at the payload's end, or referencing
    /// history that does not exist.
    pub malformed: u32,
    /// Refused: the message would exceed the output buffer.
    pub too_large: u32,
    /// Refused: a back-reference beyond the announced window.
    pub too_far: u32,
    /// Refused: a dynamic-Huffman block while those are not accepted.
    pub dynamic_block: u32,
    /// Refused: a dictionary id this side does not have.
    pub unknown_dictionary: u32,
    /// Refused: a representation this side does not accept.
    pub unsupported: u32,
}

impl CodecStats {
    /// Counts one refused payload.
    pub(crate) fn count_failure(&mut self, e: DecompressError) {
        self.failed = self.failed.saturating_add(1);
        let c = match e {
            DecompressError::Malformed => &mut self.malformed,
            DecompressError::TooLarge => &mut self.too_large,
            DecompressError::TooFar => &mut self.too_far,
            DecompressError::DynamicBlock => &mut self.dynamic_block,
            DecompressError::UnknownDictionary(_) => &mut self.unknown_dictionary,
            DecompressError::Unsupported => &mut self.unsupported,
        };
        *c = c.saturating_add(1);
    }
}

/// Why a codec could not be built over the memory given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StorageError {
    /// The memory is smaller than the configuration needs.
    TooSmall {
        /// Bytes the configuration needs ([`Compressor::storage_size`]).
        needed: usize,
        /// Bytes given.
        given: usize,
    },
    /// A `window_bits` outside its range (receive: 8..=15, send: 8..=10).
    WindowBits(u8),
}

impl core::fmt::Display for StorageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooSmall { needed, given } => {
                write!(f, "codec memory too small: {given} B, needs {needed} B")
            }
            Self::WindowBits(b) => write!(f, "window_bits {b} out of range"),
        }
    }
}

impl core::error::Error for StorageError {}
