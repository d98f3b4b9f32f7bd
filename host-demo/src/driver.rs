//! The two ways the tool drives a link: the Rust API ([`RustLink`]) and the C API
//! ([`CLink`], the `ferrule-ffi` crate linked in, called exactly as C firmware calls it).
//!
//! This module and `runner.rs` are the only users of `ferrule::link` and `ferrule_ffi::link`:
//! every subcommand goes through the [`Driver`] trait via the runner.

use ferrule::compress::{CodecConfig, Compressor, Mode};
use ferrule::link::{frame_buffer_len, ChannelMap, Config, DownReason, Event, Link, Transport};
use ferrule_ffi::ferrule_status;
use ferrule_ffi::link as c;
use serde::Serialize;
use std::io;

/// Largest message of the C API endpoint (`FERRULE_LINK_MAX_MESSAGE`): the demo's limit.
pub const M: usize = c::FERRULE_LINK_MAX_MESSAGE;
/// Largest message of the Rust endpoint (the wire format's limit); `--max-message` lowers
/// what the tool sends.
pub const MAX_MESSAGE: usize = 4096;
/// Window of the Rust endpoint (`--window` may lower it at run time).
pub const RUST_WINDOW: usize = 32;
/// Stream decoder buffer of the Rust endpoint: a sealed frame of the largest message.
const RUST_F: usize = frame_buffer_len(MAX_MESSAGE) + 16;
type RustInner = Link<RUST_WINDOW, MAX_MESSAGE, RUST_F, Compressor<'static>>;
/// A buffer that holds any frame either endpoint sends.
pub const MAX_FRAME: usize = RustInner::MAX_FRAME;

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
    /// The session ended; the last `unacked` messages sent were discarded.
    Down {
        /// Why, in words.
        reason: String,
        /// Messages discarded from the send side.
        unacked: u16,
    },
}

/// The counters the report shows, from either API.
#[derive(Debug, Default, Clone, Copy)]
pub struct EndStats {
    pub bytes_sent: u64,
    pub retransmissions: u64,
    pub crc_rejects: u64,
    pub auth_failed: u64,
    pub compress_in: u64,
    pub compress_out: u64,
}

/// The counters `bridge --stats` prints, as one JSON object.
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
}

/// How an endpoint's link is set up.
#[derive(Debug, Clone)]
pub struct Setup {
    pub stream: bool,
    pub compression: Mode,
    pub window: u8,
    pub seed: u32,
    pub key: Option<[u8; 32]>,
    /// The id naming `key` on the wire.
    pub key_id: u8,
    pub rto_initial: u32,
    pub keepalive: u32,
    /// Channels sent best effort (`DATA`); every other channel is reliable.
    pub best_effort: Vec<u8>,
}

/// A link, driven through one of the two APIs.
pub trait Driver {
    /// "Rust" or "C".
    fn api(&self) -> &'static str;
    /// Feeds received bytes (a datagram, or a chunk of a stream).
    fn input(&mut self, bytes: &[u8], now: u64);
    /// The next delivered message.
    fn recv(&mut self, out: &mut [u8]) -> Option<Delivered>;
    /// Queues a message on `channel`.
    fn send(&mut self, channel: u8, msg: &[u8], now: u64) -> Result<(), Refused>;
    /// Reliable messages sent and not yet acknowledged, oldest first; `None` when this API
    /// cannot tell.
    fn in_flight(&self) -> Option<usize>;
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
        window: s.window,
        channels: channels(&s.best_effort),
        ..Config::default()
    }
}

/// Every channel reliable except `best_effort`.
fn channels(best_effort: &[u8]) -> ChannelMap {
    (0..=255u8)
        .filter(|c| !best_effort.contains(c))
        .fold(ChannelMap::none(), ChannelMap::with_reliable)
}

/// A link through the Rust API.
pub struct RustLink {
    // Boxed: a link of 4 KiB messages holds about 300 KB of slots.
    link: Box<RustInner>,
    stream: bool,
}

impl RustLink {
    /// A link set up as `s` says.
    pub fn new(s: &Setup) -> io::Result<Self> {
        let codec = CodecConfig {
            reliable: s.compression,
            unreliable: Mode::PerMessage,
            dictionary: None,
        };
        let mut link = Box::new(RustInner::with_codec(
            config(s),
            s.seed,
            Compressor::new(codec),
        ));
        if let Some(k) = &s.key {
            link.set_key(s.key_id, k, 0)
                .map_err(|e| io::Error::other(e.to_string()))?;
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
    fn recv(&mut self, out: &mut [u8]) -> Option<Delivered> {
        // A message that fails to decompress is counted by the link (and ends the session);
        // nothing more to deliver this round.
        self.link.recv(out).ok().flatten().map(|r| Delivered {
            channel: r.channel,
            len: r.len,
            reliable: r.reliable,
        })
    }
    fn send(&mut self, channel: u8, msg: &[u8], now: u64) -> Result<(), Refused> {
        use ferrule::link::SendError;
        self.link.send(channel, msg, now).map_err(|e| match e {
            SendError::TooLarge => Refused::TooLarge,
            SendError::Full | SendError::NotConnected => Refused::NotNow,
        })
    }
    fn in_flight(&self) -> Option<usize> {
        Some(RUST_WINDOW - self.link.send_capacity())
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
            Event::Down { reason, unacked } => LinkEvent::Down {
                reason: reason_text(reason).into(),
                unacked,
            },
        })
    }
    fn is_up(&self) -> bool {
        self.link.is_up()
    }
    fn stats(&self) -> EndStats {
        let s = self.link.stats();
        let z = self.link.codec().stats();
        EndStats {
            bytes_sent: s.bytes_sent,
            retransmissions: u64::from(s.retransmissions),
            crc_rejects: u64::from(s.framing.bad_crc),
            auth_failed: u64::from(s.auth_failed),
            compress_in: z.bytes_in,
            compress_out: z.bytes_out,
        }
    }
    fn stats_line(&self) -> StatsLine {
        let s = self.link.stats();
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
            srtt_ms: s.srtt,
            rto_ms: s.rto,
        }
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

/// A link through the C API, in memory this struct owns (as firmware uses a static array).
pub struct CLink {
    handle: *mut c::ferrule_link_t,
    stream: bool,
    // Keeps the link's memory alive for `handle`. Declared last: dropped after use ends.
    _mem: Box<[u64]>,
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

impl CLink {
    /// A link set up as `s` says, created with `ferrule_link_init`.
    pub fn new(s: &Setup) -> io::Result<Self> {
        let mut mem = vec![0u64; c::FERRULE_LINK_STORAGE_SIZE / 8].into_boxed_slice();
        let mut cfg = c::ferrule_link_config_default();
        cfg.transport = if s.stream {
            c::FERRULE_TRANSPORT_STREAM
        } else {
            c::FERRULE_TRANSPORT_DATAGRAM
        };
        cfg.compression_reliable = match s.compression {
            Mode::Off => c::FERRULE_MODE_OFF,
            Mode::PerMessage => c::FERRULE_MODE_PER_MESSAGE,
            Mode::Shared => c::FERRULE_MODE_SHARED,
            Mode::Dictionary => c::FERRULE_MODE_DICTIONARY,
        };
        cfg.compression_unreliable = c::FERRULE_MODE_PER_MESSAGE;
        let rust = config(s);
        cfg.rto_initial_ms = rust.rto_initial;
        cfg.rto_min_ms = rust.rto_min;
        cfg.rto_max_ms = rust.rto_max;
        cfg.ack_delay_ms = rust.ack_delay;
        cfg.keepalive_ms = rust.keepalive;
        cfg.window = s.window;
        let mut handle = std::ptr::null_mut();
        // SAFETY: `mem` is a live, 8-aligned buffer of FERRULE_LINK_STORAGE_SIZE bytes that
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
        if let Some(k) = &s.key {
            // SAFETY: `handle` came from ferrule_link_init; `k` is 32 readable bytes.
            let st = unsafe { c::ferrule_link_set_key(handle, s.key_id, k.as_ptr(), k.len(), 0) };
            check(st, "ferrule_link_set_key")?;
        }
        Ok(Self {
            handle,
            stream: s.stream,
            _mem: mem,
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
    fn recv(&mut self, out: &mut [u8]) -> Option<Delivered> {
        let mut r = c::ferrule_received_t::default();
        // SAFETY: live handle; `out` writable for its length; `r` a local.
        let st = unsafe { c::ferrule_link_recv(self.handle, out.as_mut_ptr(), out.len(), &mut r) };
        (st == ferrule_status::FERRULE_OK).then_some(Delivered {
            channel: r.channel,
            len: r.len,
            reliable: r.reliable,
        })
    }
    fn send(&mut self, channel: u8, msg: &[u8], now: u64) -> Result<(), Refused> {
        // SAFETY: live handle; `msg` readable for its length.
        let st =
            unsafe { c::ferrule_link_send(self.handle, channel, msg.as_ptr(), msg.len(), now) };
        match st {
            ferrule_status::FERRULE_OK => Ok(()),
            ferrule_status::FERRULE_ERR_TOO_LARGE => Err(Refused::TooLarge),
            _ => Err(Refused::NotNow),
        }
    }
    fn in_flight(&self) -> Option<usize> {
        None
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
                unacked: e.unacked,
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
            compress_in: s.compress_bytes_in,
            compress_out: s.compress_bytes_out,
        }
    }
    fn stats_line(&self) -> StatsLine {
        let mut s = c::ferrule_link_stats_t::default();
        // SAFETY: live handle; `s` a local.
        unsafe { c::ferrule_link_stats(self.handle, &mut s) };
        StatsLine {
            frames_sent: s.frames_sent.into(),
            frames_received: s.frames_received.into(),
            bytes_sent: s.bytes_sent,
            bytes_received: s.framing.bytes_in,
            retransmissions: s.retransmissions.into(),
            crc_rejects: s.framing.bad_crc.into(),
            auth_failed: s.auth_failed.into(),
            ..StatsLine::default()
        }
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
