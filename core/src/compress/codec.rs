//! [`Compressor`]: the codec a link uses, over one block of caller memory sized from its
//! configuration.

use super::deflate::WORK_AREA;
use super::{
    copy_out, copy_raw, table, Codec, CodecConfig, CodecStats, DecompressError, Deflater,
    Dictionary, End, Inflater, Mode, NotSmaller, RxCaps, StorageError, Window, DYNAMIC_TABLE_BYTES,
    MAX_SEND_WINDOW_BITS, MAX_WINDOW_BITS, MIN_WINDOW_BITS,
};
use crate::frame::Compression;

/// The parts of a [`Compressor`]'s memory, in order: bytes each (0: not allocated).
struct Layout {
    /// The reliable channel's shared-stream compressor (some service sends `Mode::Shared`),
    /// without its work area.
    shared_tx: usize,
    /// The stand-alone compressor (some service sends per-message or dictionary payloads),
    /// without its work area.
    single_tx: usize,
    /// The compressors' work area, one for both: they never run at the same time.
    work: usize,
    /// The incoming shared stream's history (shared pieces are accepted).
    ring: usize,
    /// Dynamic-Huffman tables (dynamic blocks are accepted).
    tables: usize,
}

impl Layout {
    const fn of(cfg: &CodecConfig<'_>) -> Self {
        let dict = has_dictionary(cfg.dictionary);
        let single = sends_single(cfg.reliable, dict)
            || sends_single(cfg.unreliable, dict)
            || matches!(cfg.unreliable, Mode::Shared);
        let deflater = Deflater::history_size(cfg.send_window_bits);
        let shared = matches!(cfg.reliable, Mode::Shared);
        let rx = &cfg.receive;
        Self {
            shared_tx: if shared { deflater } else { 0 },
            single_tx: if single { deflater } else { 0 },
            work: if shared || single { WORK_AREA } else { 0 },
            ring: if rx.shared {
                Window::storage_size(rx.window_bits)
            } else {
                0
            },
            tables: if rx.dynamic && rx.any() {
                DYNAMIC_TABLE_BYTES
            } else {
                0
            },
        }
    }

    /// The sum (each part is at most a few KiB).
    const fn total(&self) -> usize {
        self.shared_tx
            .wrapping_add(self.single_tx)
            .wrapping_add(self.work)
            .wrapping_add(self.ring)
            .wrapping_add(self.tables)
    }

    /// Whether a compressor is needed.
    const fn sends(&self) -> bool {
        self.work > 0
    }
}

/// A dictionary that can be used (id 0 means none).
const fn has_dictionary(d: Option<Dictionary<'_>>) -> bool {
    matches!(d, Some(Dictionary { id: 1..=255, .. }))
}

/// Whether `mode` compresses messages on their own.
const fn sends_single(mode: Mode, dictionary: bool) -> bool {
    match mode {
        Mode::PerMessage => true,
        Mode::Dictionary => dictionary,
        Mode::Off | Mode::Shared => false,
    }
}

/// The full codec: per-message, shared-window and dictionary modes, heap-free, over caller
/// memory of [`Compressor::storage_size`] bytes, of which only what the configuration uses is
/// taken: a compressor ([`Deflater::storage_size`]) for the shared stream if the reliable
/// channel sends [`Mode::Shared`], another for stand-alone messages if some service sends
/// per-message or dictionary payloads (the two share their 516-byte work area), a
/// `2^window_bits` ring if shared pieces are accepted, and [`DYNAMIC_TABLE_BYTES`] if dynamic
/// blocks are.
///
/// A receive-only codec (every mode [`Mode::Off`]) needs no memory unless it accepts the
/// shared stream (the ring) or dynamic blocks (the tables).
///
/// ```
/// use ferrule::compress::{CodecConfig, Compressor, Mode, Receive};
///
/// // Sends the shared stream, takes per-message payloads only: one compressor, no ring.
/// const CFG: CodecConfig<'static> = CodecConfig {
///     reliable: Mode::Shared,
///     receive: Receive { shared: false, ..Receive::DEFAULT },
///     ..CodecConfig::DEFAULT
/// };
/// let mut mem = [0u8; Compressor::storage_size(&CFG)];
/// assert_eq!(mem.len(), 4228);
/// let codec = Compressor::new(CFG, &mut mem).unwrap();
/// ```
pub struct Compressor<'a> {
    cfg: CodecConfig<'a>,
    tx_shared: Option<Deflater<'a>>,
    tx_single: Option<Deflater<'a>>,
    /// The work area the compressors share (lent to the one compressing a message).
    work: &'a mut [u8],
    rx: Option<Inflater<'a>>,
    ring: Option<Window<'a>>,
    peer: RxCaps,
    stats: CodecStats,
}

impl<'a> Compressor<'a> {
    /// Bytes of memory a codec for `cfg` needs.
    pub const fn storage_size(cfg: &CodecConfig<'_>) -> usize {
        Layout::of(cfg).total()
    }

    /// Checks the window sizes of `cfg`: `receive.window_bits` ([`MIN_WINDOW_BITS`]..=
    /// [`MAX_WINDOW_BITS`]) if anything compressed is received, `send_window_bits`
    /// ([`MIN_WINDOW_BITS`]..=[`MAX_SEND_WINDOW_BITS`]) if anything is sent compressed. Every
    /// other configuration is valid.
    pub fn validate(cfg: &CodecConfig<'_>) -> Result<(), StorageError> {
        let rx = cfg.receive.window_bits;
        if cfg.receive.any() && !(MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&rx) {
            return Err(StorageError::WindowBits(rx));
        }
        let tx = cfg.send_window_bits;
        if Layout::of(cfg).sends() && !(MIN_WINDOW_BITS..=MAX_SEND_WINDOW_BITS).contains(&tx) {
            return Err(StorageError::WindowBits(tx));
        }
        Ok(())
    }

    /// A codec for `cfg` over the front of `mem` ([`storage_size`](Self::storage_size) bytes).
    /// It sends everything raw until [`Codec::start_tx`] names what the peer accepts. Errors:
    /// those of [`validate`](Self::validate), and [`StorageError::TooSmall`].
    // Inlined, so the codec is built where the caller puts it: a C library exports two
    // callers (the full and the compact link's enable calls), and an out-of-line constructor
    // returned the codec through a copy on the stack (160 B more on Cortex-M0).
    #[inline(always)]
    pub fn new(cfg: CodecConfig<'a>, mem: &'a mut [u8]) -> Result<Self, StorageError> {
        Self::validate(&cfg)?;
        let layout = Layout::of(&cfg);
        let (needed, given) = (layout.total(), mem.len());
        if given < needed {
            return Err(StorageError::TooSmall { needed, given });
        }
        // Every part below is valid now; a part the configuration does not use has no memory,
        // which is what makes its constructor fail (`None`).
        let mut mem = mem;
        let mut area = |n| table::take(&mut mem, n).unwrap_or_default();
        let (shared_mem, single_mem) = (area(layout.shared_tx), area(layout.single_tx));
        let work = area(layout.work);
        let (ring_mem, tables_mem) = (area(layout.ring), area(layout.tables));
        let (tx_bits, rx) = (cfg.send_window_bits, cfg.receive);
        Ok(Self {
            tx_shared: Deflater::without_work_area(tx_bits, shared_mem).ok(),
            tx_single: Deflater::without_work_area(tx_bits, single_mem).ok(),
            work,
            rx: match (rx.any(), layout.tables) {
                (false, _) => None,
                (true, 0) => Inflater::new(rx.window_bits).ok(),
                (true, _) => Inflater::with_dynamic(rx.window_bits, tables_mem).ok(),
            },
            ring: Window::new(rx.window_bits, ring_mem).ok(),
            cfg,
            peer: RxCaps::NONE,
            stats: CodecStats::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CodecConfig<'a> {
        &self.cfg
    }

    /// What the peer accepts (the last [`Codec::start_tx`]).
    pub fn peer(&self) -> RxCaps {
        self.peer
    }

    /// The usable dictionary (id 0 means none).
    fn dictionary(&self) -> Option<Dictionary<'a>> {
        self.cfg.dictionary.filter(|d| d.id != 0)
    }

    /// The mode a message goes out in, and whether that is less than configured: the
    /// configured mode if the peer accepts it, else the best it does accept (shared and
    /// dictionary fall back to per-message, per-message to raw).
    fn mode(&self, reliable: bool) -> (Mode, bool) {
        let configured = match (reliable, self.cfg.reliable, self.cfg.unreliable) {
            (true, m, _) => m,
            (false, _, Mode::Shared) => Mode::PerMessage,
            (false, _, m) => m,
        };
        let peer = &self.peer;
        let accepts = |mode| {
            peer.max_distance() > 0
                && match mode {
                    Mode::Off => true,
                    Mode::PerMessage => peer.per_message,
                    Mode::Shared => peer.shared,
                    Mode::Dictionary => self.dictionary().is_some_and(|d| d.id == peer.dict_id),
                }
        };
        if configured == Mode::Off || configured == Mode::Dictionary && self.dictionary().is_none()
        {
            (Mode::Off, false)
        } else if accepts(configured) {
            (configured, false)
        } else if configured != Mode::PerMessage && accepts(Mode::PerMessage) {
            (Mode::PerMessage, true)
        } else {
            (Mode::Off, true)
        }
    }
}

impl Codec for Compressor<'_> {
    fn memory_len(&self) -> usize {
        Self::storage_size(&self.cfg)
    }

    fn rx_caps(&self) -> RxCaps {
        let rx = &self.cfg.receive;
        if !rx.any() {
            return RxCaps::NONE;
        }
        RxCaps {
            per_message: rx.per_message,
            shared: rx.shared,
            dynamic: rx.dynamic,
            window_bits: rx.window_bits,
            dict_id: match self.dictionary() {
                Some(d) if rx.per_message => d.id,
                _ => 0,
            },
        }
    }

    fn start_tx(&mut self, peer: RxCaps) {
        self.peer = peer;
        let max = peer.max_distance();
        if let Some(d) = &mut self.tx_shared {
            d.set_max_distance(max);
            d.reset();
        }
        if let Some(d) = &mut self.tx_single {
            d.set_max_distance(max);
        }
    }

    fn reset_rx(&mut self) {
        if let Some(ring) = &mut self.ring {
            ring.reset();
        }
    }

    fn compress(&mut self, reliable: bool, msg: &[u8], out: &mut [u8]) -> (Compression, usize) {
        let (mode, downgraded) = self.mode(reliable);
        let stats = &mut self.stats;
        if downgraded {
            stats.downgraded = stats.downgraded.saturating_add(1);
        }
        let dict = self.dictionary();
        let peer_shared = self.peer.shared;
        // Stand-alone messages use their own compressor, or the shared stream's when the peer
        // takes no shared stream this session (it is idle then).
        let deflater = match mode {
            Mode::Off => None,
            Mode::Shared => self.tx_shared.as_mut(),
            _ => match self.tx_single.as_mut() {
                Some(d) => Some(d),
                None if !peer_shared => self.tx_shared.as_mut(),
                None => None,
            },
        };
        let Some(d) = deflater else {
            return copy_raw(msg, out);
        };
        let work = &mut *self.work;
        let (attempt, repr, fallback) = match (mode, dict) {
            (Mode::Shared, _) => (
                d.compress_with(work, msg, End::Sync, out),
                Compression::Shared,
                Compression::SharedRaw,
            ),
            (Mode::Dictionary, Some(dict)) => {
                d.preload(dict.bytes);
                (
                    d.compress_with(work, msg, End::Final, out),
                    Compression::Dictionary(dict.id),
                    Compression::None,
                )
            }
            _ => {
                d.reset();
                (
                    d.compress_with(work, msg, End::Final, out),
                    Compression::Deflate,
                    Compression::None,
                )
            }
        };
        let stats = &mut self.stats;
        stats.bytes_in = stats.bytes_in.saturating_add(msg.len() as u64);
        match attempt {
            Ok(n) => {
                stats.compressed = stats.compressed.saturating_add(1);
                stats.bytes_out = stats.bytes_out.saturating_add(n as u64);
                (repr, n)
            }
            Err(NotSmaller) => {
                stats.not_smaller = stats.not_smaller.saturating_add(1);
                stats.bytes_out = stats.bytes_out.saturating_add(msg.len() as u64);
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
        let per_message = self.cfg.receive.per_message;
        let dictionary = self.dictionary();
        let r = match (repr, &mut self.rx, &mut self.ring) {
            (Compression::None, _, _) => copy_out(payload, out),
            (Compression::SharedRaw, _, Some(ring)) => copy_out(payload, out).inspect(|_| {
                ring.absorb(payload);
            }),
            (Compression::Shared, Some(rx), Some(ring)) => rx.inflate_piece(ring, payload, out),
            (Compression::Deflate, Some(rx), _) if per_message => rx.inflate(payload, out),
            (Compression::Dictionary(id), Some(rx), _) if per_message => {
                match dictionary.filter(|d| d.id == id) {
                    Some(d) => rx.inflate_with_dictionary(d.bytes, payload, out),
                    None => Err(DecompressError::UnknownDictionary(id)),
                }
            }
            _ => Err(DecompressError::Unsupported),
        };
        match r {
            Ok(_) if !matches!(repr, Compression::None | Compression::SharedRaw) => {
                self.stats.inflated = self.stats.inflated.saturating_add(1);
            }
            Ok(_) => {}
            Err(e) => self.stats.count_failure(e),
        }
        r
    }

    fn stats(&self) -> CodecStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_compressors_share_one_work_area() {
        let cfg = CodecConfig {
            reliable: Mode::Shared,
            unreliable: Mode::PerMessage,
            ..CodecConfig::DEFAULT
        };
        let size = Compressor::storage_size(&cfg);
        assert_eq!(size, 2 * Deflater::history_size(10) + WORK_AREA + 1024);
        let (mut mem_tx, mut mem_rx) = (vec![0u8; size], vec![0u8; size]);
        let mut tx = Compressor::new(cfg, &mut mem_tx).unwrap();
        let mut rx = Compressor::new(cfg, &mut mem_rx).unwrap();
        tx.start_tx(rx.rx_caps());
        rx.reset_rx();
        // A stand-alone compressor with its own work area: per-message payloads are the same.
        let mut mem_alone = vec![0u8; Deflater::storage_size(10)];
        let mut alone = Deflater::new(10, &mut mem_alone).unwrap();
        let (mut wire, mut out, mut expect) = ([0u8; 300], [0u8; 300], [0u8; 300]);
        for i in 0..40u32 {
            let msg =
                format!("{{\"seq\":{i},\"temp\":2{}.5,\"rh\":40.{}}}", i % 7, i % 3).repeat(3);
            let reliable = i % 3 != 0;
            let (repr, n) = tx.compress(reliable, msg.as_bytes(), &mut wire);
            let expected = if reliable {
                Compression::Shared
            } else {
                alone.reset();
                let m = alone
                    .compress(msg.as_bytes(), End::Final, &mut expect)
                    .unwrap();
                assert_eq!(wire[..n], expect[..m], "message {i}");
                Compression::Deflate
            };
            assert_eq!(repr, expected, "message {i}");
            let m = rx.decompress(repr, &wire[..n], &mut out).unwrap();
            assert_eq!(&out[..m], msg.as_bytes(), "message {i}");
        }
    }
}
