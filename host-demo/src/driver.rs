//! The two ways the tool drives a link: the Rust API ([`RustLink`]) and the C API
//! ([`CLink`], the `ferrule-ffi` crate linked in, called exactly as C firmware calls it).
//!
//! This module and `runner.rs` are the only users of `ferrule::link` and `ferrule_ffi::link`:
//! every subcommand goes through the [`Driver`] trait via the runner.

use ferrule::compress::{CodecConfig, Compressor, Mode};
use ferrule::link::{
    ChannelMap, Config, DownReason, Event, Fec, FecConfig, Guard, Link, LinkBuffers, MessageId,
    Sent, Transport,
};
use ferrule_ffi::ferrule_status;
use ferrule_ffi::{aead as c_aead, compression as c_codec, fec as c_fec, link as c};
use serde::Serialize;
use std::io;

/// Largest message of the demo's endpoints (both APIs).
pub const M: usize = 256;
/// Largest message of the tool's links (the wire format's limit); `--max-message` sets the
/// size of a link at run time.
pub const MAX_MESSAGE: usize = 4096;
/// Largest window of the tool's links (`--window`).
pub const RUST_WINDOW: usize = 64;
/// A buffer that holds any frame a link of the tool sends.
pub const MAX_FRAME: usize = ferrule::link::max_frame_len(MAX_MESSAGE);

/// A message a link delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// Channel it arrived on.
    pub channel: u8,
    /// Its length in the output buffer.
    pub len: usize,
    /// Whether it came over the reliable, ordered service.
    pub reliable: bool,
}

/// What a driver's `recv` hands over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A message, in the output buffer.
    Message(Delivered),
    /// A message that arrived but could not be delivered (it failed to decompress): dropped
    /// and counted by the link, reported so that nothing is lost silently.
    Dropped {
        /// Channel it arrived on.
        channel: u8,
        /// Why, in words.
        reason: String,
    },
}

/// Why a driver refused a message (it was not taken).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The window is full, or no session is up: try again later.
    NotNow,
    /// Larger than this link or its peer accepts.
    TooLarge,
}

/// What a link reported.
#[derive(Debug)]
pub enum LinkEvent {
    /// A session is up.
    Up,
    /// The session ended; the messages from `first` on were discarded.
    Down {
        /// Why, in words.
        reason: String,
        /// Id of the first of them (the link's message ids); every earlier one was
        /// acknowledged.
        first: u32,
    },
}

/// The counters the report shows, from either API.
#[derive(Debug, Default, Clone, Copy)]
pub struct EndStats {
    pub bytes_sent: u64,
    pub retransmissions: u64,
    pub crc_rejects: u64,
    pub auth_failed: u64,
    /// Frames refused by the key checks: failed authentication, sealed under a key this end
    /// does not have, or unsealed on a keyed link (a key or key id that differs between the
    /// ends).
    pub key_rejects: u64,
    pub compress_in: u64,
    pub compress_out: u64,
    /// FEC: parity frames sent.
    pub parity_sent: u64,
    /// FEC: lost frames rebuilt from parity.
    pub fec_recovered: u64,
}

/// The counters `bridge --stats` prints, as one JSON object: traffic, and every reason a
/// frame or message was dropped or refused (the link's counters of the same names).
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct StatsLine {
    pub frames_sent: u64,
    pub frames_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub retransmissions: u64,
    pub crc_rejects: u64,
    pub auth_failed: u64,
    pub sessions: u64,
    pub link_downs: u64,
    pub srtt_ms: u32,
    pub rto_ms: u32,
    pub duplicates: u32,
    pub out_of_window: u32,
    pub too_large: u32,
    pub stale_session: u32,
    pub not_negotiated: u32,
    pub bad_ack: u32,
    pub decompress_failed: u32,
    pub replayed: u32,
    pub too_old: u32,
    pub untagged: u32,
    pub reflected: u32,
    pub unexpected: u32,
    pub hello_duplicates: u32,
    pub unknown_key: u32,
    pub unauthenticated: u32,
    pub events_dropped: u32,
    pub parity_sent: u32,
    pub parity_rejected: u32,
    pub fec_recovered: u32,
    pub fec_unrecoverable: u32,
    /// UDP datagrams dropped because they came from another address than `--peer` (counted
    /// by the wire, not the link).
    pub foreign_datagrams: u64,
}

/// A [`StatsLine`] from either API's counters (the same names; the round-trip times named
/// `$srtt` and `$rto`).
macro_rules! stats_line {
    ($s:expr, $srtt:ident, $rto:ident) => {{
        let s = $s;
        StatsLine {
            frames_sent: s.frames_sent.into(),
            frames_received: s.frames_received.into(),
            bytes_sent: s.bytes_sent,
            bytes_received: s.framing.bytes_in,
            messages_sent: u64::from(s.sent_reliable) + u64::from(s.sent_unreliable),
            messages_delivered: u64::from(s.delivered_reliable) + u64::from(s.delivered_unreliable),
            retransmissions: s.retransmissions.into(),
            crc_rejects: s.framing.bad_crc.into(),
            auth_failed: s.auth_failed.into(),
            sessions: s.sessions.into(),
            link_downs: s.link_downs.into(),
            srtt_ms: s.$srtt,
            rto_ms: s.$rto,
            duplicates: s.duplicates,
            out_of_window: s.out_of_window,
            too_large: s.too_large,
            stale_session: s.stale_session,
            not_negotiated: s.not_negotiated,
            bad_ack: s.bad_ack,
            decompress_failed: s.decompress_failed,
            replayed: s.replayed,
            too_old: s.too_old,
            untagged: s.untagged,
            reflected: s.reflected,
            unexpected: s.unexpected,
            hello_duplicates: s.hello_duplicates,
            unknown_key: s.unknown_key,
            unauthenticated: s.unauthenticated,
            events_dropped: s.events_dropped,
            parity_sent: s.parity_sent,
            parity_rejected: s.parity_rejected,
            fec_recovered: s.fec_recovered,
            fec_unrecoverable: s.fec_unrecoverable,
            foreign_datagrams: 0,
        }
    }};
}

/// How an endpoint's link is set up.
#[derive(Debug, Clone)]
pub struct Setup {
    pub stream: bool,
    pub compression: Mode,
    pub window: u8,
    /// Largest message of the link (its memory is sized for it).
    pub max_message: usize,
    pub seed: u64,
    pub key: Option<[u8; 32]>,
    /// The id naming `key` on the wire.
    pub key_id: u8,
    pub rto_initial: u32,
    pub keepalive: u32,
    /// Channels sent best effort (`DATA`); every other channel is reliable.
    pub best_effort: Vec<u8>,
    /// Forward error correction: data and parity frames per group.
    pub fec: Option<(u8, u8)>,
}

/// The FEC configuration of `k:m`: two groups kept (the library's default), protecting
/// what this side sends.
fn fec_config((k, m): (u8, u8)) -> FecConfig {
    FecConfig {
        k,
        m,
        ..FecConfig::DEFAULT
    }
}

/// A link, driven through one of the two APIs.
pub trait Driver {
    /// "Rust" or "C".
    fn api(&self) -> &'static str;
    /// Feeds received bytes (a datagram, or a chunk of a stream).
    fn input(&mut self, bytes: &[u8], now: u64);
    /// The next delivered message, or the next one dropped on arrival.
    fn recv(&mut self, out: &mut [u8]) -> Option<Delivery>;
    /// Queues a message on `channel`; its message id if it went on the reliable service.
    fn send(&mut self, channel: u8, msg: &[u8], now: u64) -> Result<Option<u32>, Refused>;
    /// Every reliable message with an id below this one is acknowledged (or reported lost).
    fn acked_before(&self) -> u32;
    /// Ends the session (a CLOSE frame goes out with the next `poll_transmit`).
    fn close(&mut self, now: u64);
    /// Runs timers.
    fn handle_timeout(&mut self, now: u64);
    /// When the link next needs `handle_timeout`.
    fn poll_timeout(&self) -> Option<u64>;
    /// The next frame to put on the wire.
    fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> io::Result<Option<usize>>;
    /// The next event.
    fn poll_event(&mut self) -> Option<LinkEvent>;
    /// Whether a session is up.
    fn is_up(&self) -> bool;
    /// Counters.
    fn stats(&self) -> EndStats;
    /// The counters of `bridge --stats`.
    fn stats_line(&self) -> StatsLine;
    /// The largest message `send` takes now (capped at the peer's announced limit once a
    /// session is up), when the API tells.
    fn send_limit(&self) -> Option<usize> {
        None
    }
}

fn config(s: &Setup) -> Config {
    Config {
        transport: if s.stream {
            Transport::Stream
        } else {
            Transport::Datagram
        },
        rto_initial: s.rto_initial,
        rto_min: 5,
        rto_max: 1000,
        ack_delay: 1,
        keepalive: s.keepalive,
        channels: channels(&s.best_effort),
        ..Config::default()
    }
}

/// The codec configuration of a setup: its mode for reliable messages, per-message for best
/// effort; takes every mode over a 1 KiB window.
fn codec_config(s: &Setup) -> CodecConfig<'static> {
    CodecConfig {
        reliable: s.compression,
        unreliable: Mode::PerMessage,
        ..CodecConfig::DEFAULT
    }
}

/// Every channel reliable except `best_effort`.
fn channels(best_effort: &[u8]) -> ChannelMap {
    (0..=255u8)
        .filter(|c| !best_effort.contains(c))
        .fold(ChannelMap::none(), ChannelMap::with_reliable)
}

/// A link through the Rust API, over heap buffers it owns.
pub struct RustLink {
    link: Link<'static>,
    stream: bool,
}

impl RustLink {
    /// A link set up as `s` says.
    pub fn new(s: &Setup) -> io::Result<Self> {
        let buffers = LinkBuffers::alloc(
            usize::from(s.window),
            s.max_message,
            !s.best_effort.is_empty(),
        );
        let mut link = Link::new(config(s), s.seed, buffers).map_err(io::Error::other)?;
        let codec = codec_config(s);
        // The codec's memory lives as long as the process (one per link the tool makes).
        let mem: &'static mut [u8] =
            Box::leak(vec![0u8; Compressor::storage_size(&codec)].into_boxed_slice());
        let codec = Compressor::new(codec, mem).map_err(io::Error::other)?;
        link.set_codec(Box::new(codec) as Box<dyn ferrule::compress::Codec>);
        if let Some(k) = &s.key {
            link.enable_aead(Box::new(Guard::new(s.key_id, k)) as Box<dyn ferrule::link::Sealer>);
        }
        if let Some(km) = s.fec {
            let cfg = fec_config(km);
            // Like the codec's, lives as long as the process.
            let mem: &'static mut [u8] =
                Box::leak(vec![0u8; Fec::storage_size(&cfg, s.max_message)].into_boxed_slice());
            let fec = Fec::new(cfg, s.max_message, mem).map_err(io::Error::other)?;
            link.enable_fec(Box::new(fec) as Box<dyn ferrule::link::Repair>);
        }
        Ok(Self {
            link,
            stream: s.stream,
        })
    }
}

impl Driver for RustLink {
    fn api(&self) -> &'static str {
        "Rust"
    }
    fn input(&mut self, bytes: &[u8], now: u64) {
        if self.stream {
            self.link.handle_input(bytes, now)
        } else {
            self.link.handle_datagram(bytes, now)
        }
    }
    fn recv(&mut self, out: &mut [u8]) -> Option<Delivery> {
        use ferrule::link::RecvError;
        match self.link.recv(out) {
            Ok(r) => r.map(|r| {
                Delivery::Message(Delivered {
                    channel: r.channel,
                    len: r.len,
                    reliable: r.reliable,
                })
            }),
            // Counted by the link (a broken shared stream also ends the session, reported
            // as an event); the next message may be fine.
            Err(RecvError::Decompress { channel, error, .. }) => Some(Delivery::Dropped {
                channel,
                reason: format!("it failed to decompress ({error})"),
            }),
            // `out` is always the largest message: cannot happen, but nothing is dropped.
            Err(RecvError::BufferTooSmall { .. }) => None,
        }
    }
    fn send(&mut self, channel: u8, msg: &[u8], now: u64) -> Result<Option<u32>, Refused> {
        use ferrule::link::SendError;
        match self.link.send(channel, msg, now) {
            Ok(Sent::Reliable(MessageId(id))) => Ok(Some(id)),
            Ok(Sent::BestEffort) => Ok(None),
            Err(SendError::TooLarge) => Err(Refused::TooLarge),
            Err(SendError::Full | SendError::NotConnected) => Err(Refused::NotNow),
        }
    }
    fn acked_before(&self) -> u32 {
        self.link.acked_before().0
    }
    fn close(&mut self, now: u64) {
        self.link.close(now)
    }
    fn handle_timeout(&mut self, now: u64) {
        self.link.handle_timeout(now)
    }
    fn poll_timeout(&self) -> Option<u64> {
        self.link.poll_timeout()
    }
    fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.link
            .poll_transmit(now, buf)
            .map_err(|e| io::Error::other(e.to_string()))
    }
    fn poll_event(&mut self) -> Option<LinkEvent> {
        self.link.poll_event().map(|e| match e {
            Event::Up => LinkEvent::Up,
            Event::Down { reason, first, .. } => LinkEvent::Down {
                reason: reason_text(reason).into(),
                first: first.0,
            },
        })
    }
    fn is_up(&self) -> bool {
        self.link.is_up()
    }
    fn stats(&self) -> EndStats {
        let s = self.link.stats();
        let z = self.link.codec().map(|c| c.stats()).unwrap_or_default();
        EndStats {
            bytes_sent: s.bytes_sent,
            retransmissions: u64::from(s.retransmissions),
            crc_rejects: u64::from(s.framing.bad_crc),
            auth_failed: u64::from(s.auth_failed),
            key_rejects: u64::from(s.auth_failed)
                + u64::from(s.unknown_key)
                + u64::from(s.unauthenticated),
            compress_in: z.bytes_in,
            compress_out: z.bytes_out,
            parity_sent: u64::from(s.parity_sent),
            fec_recovered: u64::from(s.fec_recovered),
        }
    }
    fn stats_line(&self) -> StatsLine {
        stats_line!(self.link.stats(), srtt, rto)
    }
    fn send_limit(&self) -> Option<usize> {
        Some(self.link.max_message_for_frame(MAX_FRAME))
    }
}

/// Why a session ended, in words.
pub fn reason_text(r: DownReason) -> &'static str {
    match r {
        DownReason::PeerRestarted => "peer restarted",
        DownReason::RetryLimit => "retry limit reached (peer unreachable)",
        DownReason::PeerSilent => "peer silent",
        DownReason::PeerClosed => "peer closed the link",
        DownReason::LocalClose => "closed locally",
        DownReason::DecompressFailed => "a message failed to decompress",
        DownReason::NonceExhausted => "nonce counter exhausted",
    }
}

/// A link through the C API, in memory this struct owns (as firmware uses static arrays):
/// the link, its compression and its AEAD state each in a block of their own.
pub struct CLink {
    handle: *mut c::ferrule_link_t,
    stream: bool,
    // Keep the blocks alive for `handle`. Declared last: dropped after use ends.
    _mem: Vec<Box<[u64]>>,
}

fn check(s: ferrule_status, what: &str) -> io::Result<()> {
    if s == ferrule_status::FERRULE_OK {
        return Ok(());
    }
    let msg = ferrule_ffi::ferrule_status_str(s as u32);
    // SAFETY: ferrule_status_str returns a static NUL-terminated string for every value.
    let text = unsafe { std::ffi::CStr::from_ptr(msg) }.to_string_lossy();
    Err(io::Error::other(format!("C API {what}: {text}")))
}

/// An 8-aligned block of at least `bytes` bytes.
fn block(bytes: usize) -> Box<[u64]> {
    vec![0u64; bytes.div_ceil(8)].into_boxed_slice()
}

impl CLink {
    /// A link set up as `s` says, created with `ferrule_link_init` (then the best-effort
    /// channel when it has best-effort channels, compression, and AEAD when keyed).
    pub fn new(s: &Setup) -> io::Result<Self> {
        let mut cfg = c::ferrule_link_config_default();
        cfg.transport = if s.stream {
            c::FERRULE_TRANSPORT_STREAM
        } else {
            c::FERRULE_TRANSPORT_DATAGRAM
        };
        let rust = config(s);
        cfg.rto_initial_ms = rust.rto_initial;
        cfg.rto_min_ms = rust.rto_min;
        cfg.rto_max_ms = rust.rto_max;
        cfg.ack_delay_ms = rust.ack_delay;
        cfg.keepalive_ms = rust.keepalive;
        cfg.window = s.window;
        cfg.max_message = u16::try_from(s.max_message).map_err(io::Error::other)?;
        cfg.reliable_channels = (0..32)
            .filter(|ch| !s.best_effort.contains(ch))
            .fold(0, |m, ch| m | 1 << ch);
        // SAFETY: `cfg` is a valid configuration (a local).
        let mut mem = block(unsafe { c::ferrule_link_storage_size(&cfg) });
        let mut handle = std::ptr::null_mut();
        // SAFETY: `mem` is a live, 8-aligned block of the size the configuration needs, which
        // this struct owns for as long as it uses `handle`; `cfg` and `handle` are locals.
        let st = unsafe {
            c::ferrule_link_init(
                mem.as_mut_ptr().cast(),
                mem.len() * 8,
                &cfg,
                s.seed,
                &mut handle,
            )
        };
        check(st, "ferrule_link_init")?;
        let mut blocks = vec![mem];
        if !s.best_effort.is_empty() {
            let mut bmem = block(c::ferrule_best_effort_storage_size(cfg.max_message));
            // SAFETY: live handle; `bmem` an 8-aligned block of the size the best-effort
            // channel needs, kept alive with the link's.
            let st = unsafe {
                c::ferrule_link_enable_best_effort(handle, bmem.as_mut_ptr().cast(), bmem.len() * 8)
            };
            check(st, "ferrule_link_enable_best_effort")?;
            blocks.push(bmem);
        }
        let mut z = c_codec::ferrule_compression_config_default();
        z.reliable = match s.compression {
            Mode::Off => c_codec::FERRULE_MODE_OFF,
            Mode::PerMessage => c_codec::FERRULE_MODE_PER_MESSAGE,
            Mode::Shared => c_codec::FERRULE_MODE_SHARED,
            Mode::Dictionary => c_codec::FERRULE_MODE_DICTIONARY,
        };
        z.unreliable = c_codec::FERRULE_MODE_PER_MESSAGE;
        // SAFETY: `z` is a valid configuration (a local, no dictionary).
        let mut zmem = block(unsafe { c_codec::ferrule_compression_storage_size(&z) });
        // SAFETY: live handle; `zmem` an 8-aligned block of the size `z` needs, kept alive
        // with the link's.
        let st = unsafe {
            c_codec::ferrule_link_enable_compression(
                handle,
                zmem.as_mut_ptr().cast(),
                zmem.len() * 8,
                &z,
            )
        };
        check(st, "ferrule_link_enable_compression")?;
        blocks.push(zmem);
        if let Some(k) = &s.key {
            let mut kmem = block(c_aead::ferrule_aead_storage_size());
            // SAFETY: live handle; `kmem` an 8-aligned block of the size AEAD needs, kept
            // alive with the link's; `k` is 32 readable bytes.
            let st = unsafe {
                c_aead::ferrule_link_enable_aead(
                    handle,
                    kmem.as_mut_ptr().cast(),
                    kmem.len() * 8,
                    s.key_id,
                    k.as_ptr(),
                    k.len(),
                )
            };
            check(st, "ferrule_link_enable_aead")?;
            blocks.push(kmem);
        }
        if let Some((k, m)) = s.fec {
            let mut f = c_fec::ferrule_fec_config_default();
            f.k = k;
            f.m = m;
            // SAFETY: `f` is a valid configuration (a local).
            let mut fmem = block(unsafe { c_fec::ferrule_fec_storage_size(&f, cfg.max_message) });
            // SAFETY: live handle; `fmem` an 8-aligned block of the size `f` needs for the
            // link's largest message, kept alive with the link's.
            let st = unsafe {
                c_fec::ferrule_link_enable_fec(handle, fmem.as_mut_ptr().cast(), fmem.len() * 8, &f)
            };
            check(st, "ferrule_link_enable_fec")?;
            blocks.push(fmem);
        }
        Ok(Self {
            handle,
            stream: s.stream,
            _mem: blocks,
        })
    }
}

impl Driver for CLink {
    fn api(&self) -> &'static str {
        "C"
    }
    fn input(&mut self, bytes: &[u8], now: u64) {
        // SAFETY: live handle; `bytes` is readable for its length. The status is OK for any
        // non-NULL input (bad frames are counted, not returned).
        unsafe {
            if self.stream {
                c::ferrule_link_handle_input(self.handle, bytes.as_ptr(), bytes.len(), now);
            } else {
                c::ferrule_link_handle_datagram(self.handle, bytes.as_ptr(), bytes.len(), now);
            }
        }
    }
    fn recv(&mut self, out: &mut [u8]) -> Option<Delivery> {
        let mut r = c::ferrule_received_t::default();
        // SAFETY: live handle; `out` writable for its length; `r` a local.
        let st = unsafe { c::ferrule_link_recv(self.handle, out.as_mut_ptr(), out.len(), &mut r) };
        match st {
            ferrule_status::FERRULE_OK => Some(Delivery::Message(Delivered {
                channel: r.channel,
                len: r.len,
                reliable: r.reliable,
            })),
            ferrule_status::FERRULE_ERR_DECOMPRESS => Some(Delivery::Dropped {
                channel: r.channel,
                reason: "it failed to decompress".into(),
            }),
            _ => None,
        }
    }
    fn send(&mut self, channel: u8, msg: &[u8], now: u64) -> Result<Option<u32>, Refused> {
        // A best-effort message leaves the id untouched: a value no reliable one gets next.
        let mut id = self.acked_before().wrapping_sub(1);
        let before = id;
        // SAFETY: live handle; `msg` readable for its length; `id` a local.
        let st = unsafe {
            c::ferrule_link_send(self.handle, channel, msg.as_ptr(), msg.len(), now, &mut id)
        };
        match st {
            ferrule_status::FERRULE_OK => Ok((id != before).then_some(id)),
            ferrule_status::FERRULE_ERR_TOO_LARGE => Err(Refused::TooLarge),
            _ => Err(Refused::NotNow),
        }
    }
    fn acked_before(&self) -> u32 {
        let mut id = 0;
        // SAFETY: live handle; `id` a local.
        unsafe { c::ferrule_link_acked_before(self.handle, &mut id) };
        id
    }
    fn close(&mut self, now: u64) {
        // SAFETY: live handle.
        unsafe { c::ferrule_link_close(self.handle, now) };
    }
    fn handle_timeout(&mut self, now: u64) {
        // SAFETY: live handle.
        unsafe { c::ferrule_link_handle_timeout(self.handle, now) };
    }
    fn poll_timeout(&self) -> Option<u64> {
        let mut t = 0;
        // SAFETY: live handle; `t` a local.
        let st = unsafe { c::ferrule_link_poll_timeout(self.handle, &mut t) };
        (st == ferrule_status::FERRULE_OK).then_some(t)
    }
    fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let mut n = 0;
        // SAFETY: live handle; `buf` writable for its length; `n` a local.
        let st = unsafe {
            c::ferrule_link_poll_transmit(self.handle, now, buf.as_mut_ptr(), buf.len(), &mut n)
        };
        if st == ferrule_status::FERRULE_EMPTY {
            return Ok(None);
        }
        check(st, "ferrule_link_poll_transmit").map(|_| Some(n))
    }
    fn poll_event(&mut self) -> Option<LinkEvent> {
        let mut e = c::ferrule_event_t::default();
        // SAFETY: live handle; `e` a local.
        let st = unsafe { c::ferrule_link_poll_event(self.handle, &mut e) };
        if st != ferrule_status::FERRULE_OK {
            return None;
        }
        Some(match e.kind {
            c::FERRULE_EVENT_UP => LinkEvent::Up,
            _ => LinkEvent::Down {
                reason: format!("{} (C reason code {})", c_reason(e.reason), e.reason),
                first: e.first_id,
            },
        })
    }
    fn is_up(&self) -> bool {
        // SAFETY: live handle.
        unsafe { c::ferrule_link_is_up(self.handle) }
    }
    fn stats(&self) -> EndStats {
        let mut s = c::ferrule_link_stats_t::default();
        // SAFETY: live handle; `s` a local.
        unsafe { c::ferrule_link_stats(self.handle, &mut s) };
        EndStats {
            bytes_sent: s.bytes_sent,
            retransmissions: u64::from(s.retransmissions),
            crc_rejects: u64::from(s.framing.bad_crc),
            auth_failed: u64::from(s.auth_failed),
            key_rejects: u64::from(s.auth_failed)
                + u64::from(s.unknown_key)
                + u64::from(s.unauthenticated),
            compress_in: s.compress_bytes_in,
            compress_out: s.compress_bytes_out,
            parity_sent: u64::from(s.parity_sent),
            fec_recovered: u64::from(s.fec_recovered),
        }
    }
    fn stats_line(&self) -> StatsLine {
        let mut s = c::ferrule_link_stats_t::default();
        // SAFETY: live handle; `s` a local.
        unsafe { c::ferrule_link_stats(self.handle, &mut s) };
        stats_line!(s, srtt_ms, rto_ms)
    }
}

fn c_reason(r: u8) -> &'static str {
    reason_text(match r {
        c::FERRULE_DOWN_PEER_RESTARTED => DownReason::PeerRestarted,
        c::FERRULE_DOWN_RETRY_LIMIT => DownReason::RetryLimit,
        c::FERRULE_DOWN_PEER_SILENT => DownReason::PeerSilent,
        c::FERRULE_DOWN_PEER_CLOSED => DownReason::PeerClosed,
        c::FERRULE_DOWN_LOCAL_CLOSE => DownReason::LocalClose,
        c::FERRULE_DOWN_DECOMPRESS_FAILED => DownReason::DecompressFailed,
        c::FERRULE_DOWN_NONCE_EXHAUSTED => DownReason::NonceExhausted,
        _ => return "unknown reason",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule::{encode_datagram, Compression, Frame, FrameKind};

    fn setup(seed: u64) -> Setup {
        Setup {
            stream: false,
            compression: Mode::PerMessage,
            window: 4,
            max_message: 128,
            seed,
            key: None,
            key_id: 0,
            rto_initial: 50,
            keepalive: 1000,
            best_effort: Vec::new(),
            fec: None,
        }
    }

    /// Every frame `from` has for the wire now.
    fn frames(from: &mut dyn Driver, now: u64) -> Vec<Vec<u8>> {
        let mut buf = [0u8; 512];
        let mut out = Vec::new();
        while let Some(n) = from.poll_transmit(now, &mut buf).unwrap() {
            out.push(buf[..n].to_vec());
        }
        out
    }

    /// A message that fails to decompress is reported by both APIs with the channel it
    /// arrived on (the C API names it in `ferrule_received_t`), and the next one arrives.
    #[test]
    fn both_apis_name_the_channel_of_a_message_that_failed_to_decompress() {
        let drivers: [Box<dyn Driver>; 2] = [
            Box::new(RustLink::new(&setup(1)).unwrap()),
            Box::new(CLink::new(&setup(2)).unwrap()),
        ];
        for mut receiver in drivers {
            let mut peer = RustLink::new(&setup(3)).unwrap();
            for now in 0..20 {
                for f in frames(&mut peer, now) {
                    receiver.input(&f, now);
                }
                for f in frames(receiver.as_mut(), now) {
                    peer.input(&f, now);
                }
            }
            assert!(receiver.is_up() && peer.is_up(), "{}", receiver.api());
            // The RDATA of a message on channel 5 claims a deflate payload of the reserved
            // block type 3.
            peer.send(5, b"placeholder", 20).unwrap();
            for f in frames(&mut peer, 20) {
                let mut h = Frame::from_body(&f).unwrap().header;
                if h.kind == FrameKind::Rdata {
                    h.compression = Compression::Deflate;
                    let mut out = [0u8; 64];
                    let n = encode_datagram(&h, &[0xFF, 0xFF], &mut out).unwrap();
                    receiver.input(&out[..n], 20);
                }
            }
            let mut out = [0u8; 128];
            match receiver.recv(&mut out) {
                Some(Delivery::Dropped { channel, reason }) => {
                    assert_eq!(channel, 5, "{}", receiver.api());
                    assert!(reason.contains("decompress"), "{reason}");
                }
                other => panic!("{}: {other:?}", receiver.api()),
            }
            assert_eq!(receiver.stats_line().decompress_failed, 1);
            peer.send(5, b"after", 21).unwrap();
            for f in frames(&mut peer, 21) {
                receiver.input(&f, 21);
            }
            match receiver.recv(&mut out) {
                Some(Delivery::Message(d)) => assert_eq!(&out[..d.len], b"after"),
                other => panic!("{}: {other:?}", receiver.api()),
            }
        }
    }
}
