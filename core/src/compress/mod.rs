//! Compression (`docs/PROTOCOL.md` section 5): raw deflate, never expanding, heap-free on
//! both ends.
//!
//! - [`Deflater`]: this crate's own compressor, fixed Huffman codes over a 1 KiB window,
//!   optimally parsed, about 3.8 KiB of state. `miniz_oxide`'s compressor needs a heap and
//!   ~319 KB, so it is only used by hosts (feature `alloc`, [`deflate_alloc`]).
//! - [`Inflater`]: `miniz_oxide`'s decompressor (about 10.5 KB of state) writing through a
//!   1 KiB ring; output is bounded by the caller's buffer.
//! - [`Compressor`]: the [`Codec`] a [`Link`](crate::link::Link) uses — per-message,
//!   shared-window (reliable channel) and preset-dictionary modes.
//!
//! Small messages barely compress alone; the shared window (one deflate stream per session
//! and direction, sync-flushed per message) is what makes 64-byte telemetry shrink.
//!
//! ```
//! use ferrule::compress::{Codec, CodecConfig, Compressor, Mode};
//!
//! let cfg = CodecConfig { reliable: Mode::Shared, ..CodecConfig::default() };
//! let (mut tx, mut rx) = (Compressor::new(cfg), Compressor::new(cfg));
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

pub mod deflate;
pub mod inflate;

pub use deflate::{Deflater, End, NotSmaller};
pub use inflate::{DecompressError, Inflater, Window};

use crate::frame::Compression;
use inflate::inflate_into;
use miniz_oxide::inflate::core::DecompressorOxide;

/// The deflate window both ends use: back-references never reach further than this.
pub const WINDOW: usize = 1 << WINDOW_BITS;
/// `log2(WINDOW)`, as in `docs/PROTOCOL.md` section 5.
pub const WINDOW_BITS: u32 = 10;
/// Longest preset dictionary (only the last [`WINDOW`] bytes can be referenced).
pub const MAX_DICTIONARY: usize = WINDOW;

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
    /// Identifies the dictionary on the wire (so a mismatch is detected, not mis-decoded).
    pub id: u8,
    /// Up to [`MAX_DICTIONARY`] bytes of typical content.
    pub bytes: &'d [u8],
}

/// What a [`Compressor`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CodecConfig<'d> {
    /// Mode for reliable-channel messages.
    pub reliable: Mode,
    /// Mode for best-effort messages.
    pub unreliable: Mode,
    /// The preset dictionary (needed to send with, and to receive, `Mode::Dictionary`).
    pub dictionary: Option<Dictionary<'d>>,
}

/// What a side can decompress: announced in its hello record, obeyed by the peer's codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RxCaps {
    /// Accepts per-message deflate payloads.
    pub per_message: bool,
    /// Accepts the shared stream.
    pub shared: bool,
    /// Accepts dynamic-Huffman blocks.
    pub dynamic: bool,
    /// log2 of the longest back-reference accepted (0: no compressed payloads).
    pub window_bits: u8,
    /// The preset dictionary it decompresses with (0: none).
    pub dict_id: u8,
}

impl RxCaps {
    /// Accepts no compressed payload.
    pub const NONE: Self = Self {
        per_message: false,
        shared: false,
        dynamic: false,
        window_bits: 0,
        dict_id: 0,
    };
}

/// The compression hooks a [`Link`](crate::link::Link) calls: at `send` (once per message,
/// so retransmissions repeat the same bytes), at `recv` (in delivery order), and at every new
/// session.
pub trait Codec {
    /// What this side can decompress.
    fn rx_caps(&self) -> RxCaps;
    /// A session starts: the outgoing shared stream restarts, and from now on only what
    /// `peer` accepts is sent.
    fn start_tx(&mut self, peer: RxCaps);
    /// Counters.
    fn stats(&self) -> CodecStats;
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
    /// A session started: the outgoing shared stream restarts.
    fn reset_tx(&mut self);
    /// The first message of a new session is about to be decoded: the incoming shared stream
    /// restarts.
    fn reset_rx(&mut self);
}

/// No compression: messages go out as they are; compressed payloads are refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCodec;

impl Codec for NoCodec {
    fn rx_caps(&self) -> RxCaps {
        RxCaps::NONE
    }

    fn start_tx(&mut self, _peer: RxCaps) {}

    fn stats(&self) -> CodecStats {
        CodecStats::default()
    }

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

    fn reset_tx(&mut self) {}

    fn reset_rx(&mut self) {}
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
    /// Message bytes given to `compress` with compression enabled.
    pub bytes_in: u64,
    /// Payload bytes produced for those messages.
    pub bytes_out: u64,
    /// Payloads decompressed.
    pub inflated: u64,
    /// Payloads that failed to decompress (malformed, too large, unknown dictionary).
    pub failed: u64,
}

/// The full codec: per-message, shared-window and dictionary modes, heap-free.
///
/// State: two [`Deflater`]s (shared stream, and stand-alone messages), one `miniz_oxide`
/// decompressor and two 1 KiB windows — [`Compressor::STATE_BYTES`] in all.
pub struct Compressor<'d> {
    cfg: CodecConfig<'d>,
    peer: RxCaps,
    tx_shared: Deflater,
    tx_single: Deflater,
    rx: Receiver,
    stats: CodecStats,
}

impl<'d> Compressor<'d> {
    /// Bytes of state.
    pub const STATE_BYTES: usize = core::mem::size_of::<Self>();

    /// A codec for `cfg`.
    pub fn new(cfg: CodecConfig<'d>) -> Self {
        Self {
            cfg,
            // Until a link says otherwise, the peer is assumed to take everything this codec
            // sends (a stand-alone compressor).
            peer: RxCaps {
                per_message: true,
                shared: true,
                dynamic: true,
                window_bits: 15,
                dict_id: match cfg.dictionary {
                    Some(d) => d.id,
                    None => 0,
                },
            },
            tx_shared: Deflater::new(),
            tx_single: Deflater::new(),
            rx: Receiver::new(),
            stats: CodecStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CodecConfig<'d> {
        &self.cfg
    }

    /// Counters.
    pub fn stats(&self) -> CodecStats {
        self.stats
    }
}

impl Codec for Compressor<'_> {
    fn rx_caps(&self) -> RxCaps {
        RxCaps {
            per_message: true,
            shared: true,
            dynamic: true,
            window_bits: WINDOW_BITS as u8,
            dict_id: self.cfg.dictionary.map_or(0, |d| d.id),
        }
    }

    fn start_tx(&mut self, peer: RxCaps) {
        self.tx_shared.reset();
        self.peer = peer;
    }

    fn stats(&self) -> CodecStats {
        self.stats
    }

    fn compress(&mut self, reliable: bool, msg: &[u8], out: &mut [u8]) -> (Compression, usize) {
        let peer = self.peer;
        let mode = if reliable {
            self.cfg.reliable
        } else {
            match self.cfg.unreliable {
                Mode::Shared => Mode::PerMessage,
                m => m,
            }
        };
        let dict = self
            .cfg
            .dictionary
            .filter(|d| d.id != 0 && d.id == peer.dict_id);
        let mode = match mode {
            Mode::Shared if !peer.shared => Mode::PerMessage,
            m => m,
        };
        let mode = match mode {
            Mode::PerMessage if !peer.per_message => Mode::Off,
            m => m,
        };
        let (attempt, repr, fallback) = match (mode, dict) {
            (Mode::Off, _) | (Mode::Dictionary, None) => return copy_raw(msg, out),
            (Mode::Shared, _) => (
                self.tx_shared.compress(msg, End::Sync, out),
                Compression::Shared,
                Compression::SharedRaw,
            ),
            (Mode::PerMessage, _) => {
                self.tx_single.reset();
                (
                    self.tx_single.compress(msg, End::Final, out),
                    Compression::Deflate,
                    Compression::None,
                )
            }
            (Mode::Dictionary, Some(d)) => {
                self.tx_single.preload(d.bytes);
                (
                    self.tx_single.compress(msg, End::Final, out),
                    Compression::Dictionary(d.id),
                    Compression::None,
                )
            }
        };
        self.stats.bytes_in += msg.len() as u64;
        match attempt {
            Ok(n) => {
                self.stats.compressed += 1;
                self.stats.bytes_out += n as u64;
                (repr, n)
            }
            Err(NotSmaller) => {
                self.stats.not_smaller += 1;
                self.stats.bytes_out += msg.len() as u64;
                (fallback, copy_raw(msg, out).1)
            }
        }
    }

    fn decompress(
        &mut self,
        repr: Compression,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, DecompressError> {
        self.rx
            .decompress(self.cfg.dictionary, repr, payload, out, &mut self.stats)
    }

    fn reset_tx(&mut self) {
        self.tx_shared.reset();
    }

    fn reset_rx(&mut self) {
        self.rx.shared.reset();
    }
}

/// The receiving half of [`Compressor`]: sends messages raw, and takes every compressed
/// representation the peer may send (per-message, dictionary, shared stream). For firmware
/// that receives compressed data (configuration, commands) but cannot spare the compressor's
/// RAM: [`Compressor::STATE_BYTES`] less its two [`Deflater`]s.
pub struct InflateOnly<'d> {
    dictionary: Option<Dictionary<'d>>,
    rx: Receiver,
    stats: CodecStats,
}

impl<'d> InflateOnly<'d> {
    /// Bytes of state.
    pub const STATE_BYTES: usize = core::mem::size_of::<Self>();

    /// A decoder that knows `dictionary` (if any).
    pub fn new(dictionary: Option<Dictionary<'d>>) -> Self {
        Self {
            dictionary,
            rx: Receiver::new(),
            stats: CodecStats::default(),
        }
    }

    /// Counters (only the receive side moves).
    pub fn stats(&self) -> CodecStats {
        self.stats
    }
}

impl Codec for InflateOnly<'_> {
    fn rx_caps(&self) -> RxCaps {
        RxCaps {
            per_message: true,
            shared: true,
            dynamic: true,
            window_bits: WINDOW_BITS as u8,
            dict_id: self.dictionary.map_or(0, |d| d.id),
        }
    }

    fn start_tx(&mut self, _peer: RxCaps) {}

    fn stats(&self) -> CodecStats {
        self.stats
    }

    fn compress(&mut self, _reliable: bool, msg: &[u8], out: &mut [u8]) -> (Compression, usize) {
        copy_raw(msg, out)
    }

    fn decompress(
        &mut self,
        repr: Compression,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, DecompressError> {
        self.rx
            .decompress(self.dictionary, repr, payload, out, &mut self.stats)
    }

    fn reset_tx(&mut self) {}

    fn reset_rx(&mut self) {
        self.rx.shared.reset();
    }
}

/// The receive half both codecs embed: one `miniz_oxide` decompressor, the shared stream's
/// window and the window of stand-alone (per-message, dictionary) payloads.
struct Receiver {
    core: DecompressorOxide,
    shared: Window,
    single: Window,
}

impl Receiver {
    fn new() -> Self {
        Self {
            core: DecompressorOxide::new(),
            shared: Window::new(),
            single: Window::new(),
        }
    }

    /// Turns `payload` back into the message, with `dictionary` (id 0: none) for preset
    /// dictionary payloads; counts inflations and failures in `stats`.
    fn decompress(
        &mut self,
        dictionary: Option<Dictionary<'_>>,
        repr: Compression,
        payload: &[u8],
        out: &mut [u8],
        stats: &mut CodecStats,
    ) -> Result<usize, DecompressError> {
        let r = match repr {
            Compression::None => return copy_out(payload, out),
            Compression::SharedRaw => {
                let n = copy_out(payload, out)?;
                self.shared.absorb(payload);
                return Ok(n);
            }
            Compression::Deflate => {
                self.single.restart(&[]);
                inflate_into(&mut self.core, &mut self.single, payload, &[], out)
            }
            Compression::Dictionary(id) => match dictionary.filter(|d| d.id == id && d.id != 0) {
                Some(d) => {
                    self.single.restart(d.bytes);
                    inflate_into(&mut self.core, &mut self.single, payload, &[], out)
                }
                None => Err(DecompressError::UnknownDictionary(id)),
            },
            Compression::Shared => inflate_into(
                &mut self.core,
                &mut self.shared,
                payload,
                &inflate::SYNC_TAIL,
                out,
            ),
        };
        match r {
            Ok(_) => stats.inflated += 1,
            Err(_) => stats.failed += 1,
        }
        r
    }
}

/// Compresses `msg` as one raw-deflate stream with `miniz_oxide`'s full compressor at `level`
/// (0–10), for hosts. `None` when that is not smaller than `msg`.
#[cfg(feature = "alloc")]
pub fn deflate_alloc(msg: &[u8], level: u8) -> Option<alloc::vec::Vec<u8>> {
    let v = miniz_oxide::deflate::compress_to_vec(msg, level);
    (v.len() < msg.len()).then_some(v)
}
