//! The two ways the demo drives a link: the Rust API ([`RustLink`]) and the C API
//! ([`CLink`], the `ferrule-ffi` crate linked in, called exactly as C firmware calls it).

use ferrule::compress::{CodecConfig, Compressor, Mode};
use ferrule::link::{frame_buffer_len, Config, DownReason, Event, Link, Transport};
use ferrule_ffi::ferrule_status;
use ferrule_ffi::link as c;
use std::io;

/// Largest message of both endpoints (the C API's `FERRULE_LINK_MAX_MESSAGE`).
pub const M: usize = c::FERRULE_LINK_MAX_MESSAGE;
/// Window of the Rust endpoint (`--window` may lower it at run time).
pub const RUST_WINDOW: usize = 32;
/// A buffer that holds any frame either endpoint sends.
pub const MAX_FRAME: usize = 512;

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

/// How an endpoint's link is set up.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub stream: bool,
    pub compression: Mode,
    pub window: u8,
    pub seed: u32,
    pub key: Option<[u8; 32]>,
    pub rto_initial: u32,
    pub keepalive: u32,
}

/// A link, driven through one of the two APIs.
pub trait Driver {
    /// "Rust" or "C".
    fn api(&self) -> &'static str;
    /// Feeds received bytes (a datagram, or a chunk of a stream).
    fn input(&mut self, bytes: &[u8], now: u64);
    /// The next delivered message: its length and whether it came reliably.
    fn recv(&mut self, out: &mut [u8]) -> Option<(usize, bool)>;
    /// Queues a reliable message; false when the window is full.
    fn send(&mut self, msg: &[u8], now: u64) -> bool;
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
        ..Config::default()
    }
}

/// A link through the Rust API.
pub struct RustLink {
    link: Link<RUST_WINDOW, M, { frame_buffer_len(M) + 16 }, Compressor<'static>>,
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
        let mut link = Link::with_codec(config(s), s.seed, Compressor::new(codec));
        if let Some(k) = &s.key {
            link.set_key(1, k, 0)
                .map_err(|e| io::Error::other(e.to_string()))?;
        }
        Ok(Self {
            link,
            stream: s.stream,
        })
    }

    /// Free reliable send slots.
    pub fn send_capacity(&self) -> usize {
        self.link.send_capacity()
    }

    /// Ends the session (a CLOSE frame goes out with the next `poll_transmit`).
    pub fn close(&mut self, now: u64) {
        self.link.close(now)
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
    fn recv(&mut self, out: &mut [u8]) -> Option<(usize, bool)> {
        // A message that fails to decompress is counted by the link (and ends the session);
        // nothing more to deliver this round.
        self.link
            .recv(out)
            .ok()
            .flatten()
            .map(|r| (r.len, r.reliable))
    }
    fn send(&mut self, msg: &[u8], now: u64) -> bool {
        self.link.send(0, msg, now).is_ok()
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
            let st = unsafe { c::ferrule_link_set_key(handle, 1, k.as_ptr(), k.len(), 0) };
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
    fn recv(&mut self, out: &mut [u8]) -> Option<(usize, bool)> {
        let mut r = c::ferrule_received_t::default();
        // SAFETY: live handle; `out` writable for its length; `r` a local.
        let st = unsafe { c::ferrule_link_recv(self.handle, out.as_mut_ptr(), out.len(), &mut r) };
        (st == ferrule_status::FERRULE_OK).then_some((r.len, r.reliable))
    }
    fn send(&mut self, msg: &[u8], now: u64) -> bool {
        // SAFETY: live handle; `msg` readable for its length.
        let st = unsafe { c::ferrule_link_send(self.handle, 0, msg.as_ptr(), msg.len(), now) };
        st == ferrule_status::FERRULE_OK
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
