//! The reliable link: a sans-IO state machine (`docs/PROTOCOL.md` section 4).
//!
//! [`Link`] never touches a socket, a UART or a clock. The caller
//! - feeds what arrives: [`Link::handle_input`] (stream bytes) or [`Link::handle_datagram`];
//! - drains what to send: [`Link::poll_transmit`] until it returns `Ok(None)`;
//! - passes the time in milliseconds to every call and calls [`Link::handle_timeout`] at
//!   [`Link::poll_timeout`];
//! - sends with [`Link::send`], takes messages with [`Link::recv`], events with
//!   [`Link::poll_event`].
//!
//! Memory is fixed by three const generics: `W` messages of window each way, `M` bytes of
//! largest message, `F` bytes of stream-decoder buffer (at least `M + 23`; see
//! [`frame_buffer_len`]). Nothing is allocated.
//!
//! ```
//! use ferrule::link::{frame_buffer_len, Config, Event, Link, Transport};
//!
//! type MyLink = Link<4, 64, { frame_buffer_len(64) }>;
//! let cfg = Config { transport: Transport::Datagram, ..Config::default() };
//! let (mut a, mut b) = (MyLink::new(cfg, 1), MyLink::new(cfg, 2));
//! let mut buf = [0u8; 128];
//! let mut now = 0;
//! // Pump frames both ways until both are up and the message has crossed.
//! let mut sent = false;
//! let mut got = None;
//! for _ in 0..20 {
//!     if a.is_up() && !sent {
//!         a.send(0, b"hi", now).unwrap();
//!         sent = true;
//!     }
//!     while let Ok(Some(n)) = a.poll_transmit(now, &mut buf) {
//!         let frame = buf;
//!         b.handle_datagram(&frame[..n], now);
//!     }
//!     while let Ok(Some(n)) = b.poll_transmit(now, &mut buf) {
//!         let frame = buf;
//!         a.handle_datagram(&frame[..n], now);
//!     }
//!     let mut msg = [0u8; 64];
//!     if let Ok(Some(r)) = b.recv(&mut msg) {
//!         got = Some(msg[..r.len].to_vec());
//!     }
//!     now += 1;
//! }
//! assert_eq!(got.as_deref(), Some(&b"hi"[..]));
//! assert_eq!(b.poll_event(), Some(Event::Up));
//! ```

#[cfg(feature = "best-effort")]
mod best_effort;
mod config;
mod rtt;
#[cfg(feature = "aead")]
mod seal;
pub mod session;
mod slots;
mod stats;

pub use config::{ChannelMap, Config, Transport};
pub use rtt::Rtt;
#[cfg(feature = "aead")]
pub use seal::AeadStatus;
pub use session::{Hello, SessionKeys};
pub use stats::LinkStats;

use crate::compress::{Codec, DecompressError, NoCodec};
use crate::decoder::{Feed, StreamDecoder};
use crate::encode::{encode_datagram, encode_stream, EncodeError, StreamOptions};
use crate::frame::{Ack, Compression, Frame, FrameKind, Header, CRC_LEN, MAX_HEADER_LEN};
use session::fmix32;
use slots::{RxSlot, TxSlot};

/// Decoder buffer needed for messages of `m` bytes: the largest header, the message, the CRC.
pub const fn frame_buffer_len(m: usize) -> usize {
    MAX_HEADER_LEN + m + CRC_LEN
}

/// Why [`Link::send`] refused a message. The message was not taken; nothing is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SendError {
    /// The send window (or the best-effort slot) is full: try again after some traffic.
    Full,
    /// The message is larger than this link's `M` or the peer's `max_payload`.
    TooLarge,
    /// No session is up; wait for [`Event::Up`].
    NotConnected,
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Full => "send window full, try later",
            Self::TooLarge => "message too large",
            Self::NotConnected => "link not connected",
        })
    }
}

impl core::error::Error for SendError {}

/// Why [`Link::recv`] could not hand out a message (it stays queued).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RecvError {
    /// The output buffer is too short; `needed` bytes are required (the message length, or
    /// `M` for a compressed message). The message stays queued.
    BufferTooSmall {
        /// Bytes required.
        needed: usize,
    },
    /// The message did not decompress; it was dropped (counted in `decompress_failed`). If it
    /// was part of the shared stream, the session restarts ([`DownReason::DecompressFailed`]).
    Decompress {
        /// Channel it arrived on.
        channel: u8,
        /// Why.
        error: DecompressError,
    },
}

impl core::fmt::Display for RecvError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BufferTooSmall { needed } => write!(f, "buffer too small: {needed} bytes needed"),
            Self::Decompress { channel, error } => {
                write!(f, "message on channel {channel} dropped: {error}")
            }
        }
    }
}

impl core::error::Error for RecvError {}

/// A message handed out by [`Link::recv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Received {
    /// Channel it arrived on.
    pub channel: u8,
    /// Bytes written to the output buffer.
    pub len: usize,
    /// Whether it came over the reliable, ordered service.
    pub reliable: bool,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DownReason {
    /// The peer came back with a new epoch (it rebooted or restarted its link).
    PeerRestarted,
    /// A message exceeded `max_retransmits`.
    RetryLimit,
    /// Nothing heard from the peer for eight keepalive intervals.
    PeerSilent,
    /// The peer sent CLOSE.
    PeerClosed,
    /// [`Link::close`] was called.
    LocalClose,
    /// A piece of the peer's shared compressed stream did not decompress.
    DecompressFailed,
    /// AEAD: this side sealed 2^32 - 1 frames under one nonce prefix; it starts a new session
    /// (a new prefix) rather than repeat a nonce.
    NonceExhausted,
}

/// Link lifecycle events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event {
    /// A session is up: messages can be sent.
    Up,
    /// The session ended. The last `unacked` reliable messages accepted by `send` were not
    /// confirmed delivered and have been discarded: the peer may or may not have them. (A
    /// queued best-effort message is discarded too, counted in `discarded_on_reset`.)
    Down {
        /// Why.
        reason: DownReason,
        /// Messages discarded from the send side.
        unacked: u16,
    },
}

const EVENT_CAP: usize = 4;
const EVENT_CAP_U8: u8 = EVENT_CAP as u8;
/// A peer silent for this many keepalive intervals is declared gone.
const DEAD_FACTOR: u64 = 8;

/// The link state machine. See the [module docs](self).
pub struct Link<const W: usize, const M: usize, const F: usize, C: Codec = NoCodec> {
    decoder: StreamDecoder<F>,
    core: Core<W, M, C>,
}

struct Core<const W: usize, const M: usize, C> {
    cfg: Config,
    codec: C,
    seed: u32,
    generation: u32,
    epoch: u32,
    /// Whether `epoch` has already keyed a session (a new responder session then takes a fresh
    /// one, so a delayed HELLO_ACK echoing it cannot reopen a dead session).
    epoch_used: bool,
    peer_epoch: u32,
    /// The last few peer epochs this side replaced: a delayed HELLO from one is stale.
    retired: [u32; RETIRED_EPOCHS],
    retired_next: u8,
    up: bool,
    keys: SessionKeys,
    peer_max_payload: u16,
    peer_window: u8,
    peer_ack: u16,
    // Reliable send window: slot `tx_head` holds sequence number `tx_base`.
    tx: [TxSlot<M>; W],
    tx_head: usize,
    tx_base: u16,
    tx_next: u16,
    next_tx_id: u32,
    // Reliable receive buffer: `rx_ready` in-order messages from `rx_head`, then reorder slots.
    rx: [RxSlot<M>; W],
    rx_head: usize,
    rx_ready: usize,
    rx_next: u16,
    /// Ready messages left over from the previous session (decoded with its stream).
    rx_old: usize,
    rx_reset_pending: bool,
    /// The receive-side shared stream failed: its remaining pieces are undecodable.
    rx_broken: bool,
    advertised_window: u8,
    #[cfg(feature = "best-effort")]
    best_effort: best_effort::BestEffort<M>,
    // Acknowledgement and control.
    ack_owed: u8,
    /// The acknowledgement most recently sent.
    last_ack: Option<Ack>,
    ack_now: bool,
    ack_deadline: Option<u64>,
    send_hello_ack: bool,
    send_close: bool,
    hello_due: u64,
    hello_backoff: u32,
    probe_due: Option<u64>,
    probe_backoff: u32,
    stalled: bool,
    last_tx: u64,
    last_rx: u64,
    now: u64,
    rtt: Rtt,
    /// Payload bytes a body of the decoder's size holds (`F` less header and CRC).
    body_room: u16,
    #[cfg(feature = "aead")]
    seal: seal::Sealing,
    events: [Option<Event>; EVENT_CAP],
    ev_head: u8,
    ev_len: u8,
    stats: LinkStats,
}

impl<const W: usize, const M: usize, const F: usize> Link<W, M, F, NoCodec> {
    /// A link without compression that starts its handshake at once. `seed` must differ on
    /// every boot (a hardware random number, or a boot counter from non-volatile memory): it
    /// makes the session epochs by which a peer recognises that this side restarted.
    pub fn new(cfg: Config, seed: u32) -> Self {
        Self::with_codec(cfg, seed, NoCodec)
    }
}

impl<const W: usize, const M: usize, const F: usize, C: Codec> Link<W, M, F, C> {
    const CHECK: () = {
        assert!(W >= 1 && W <= 255, "window must be 1..=255 messages");
        assert!(
            M >= 1 && M <= crate::frame::MAX_PAYLOAD,
            "message size must be 1..=4096"
        );
        assert!(
            F >= frame_buffer_len(M),
            "F must be at least frame_buffer_len(M)"
        );
    };

    /// Payload bytes a body of `F` bytes holds (capped: no payload exceeds 4,096 + tag).
    const BODY_ROOM: u16 = {
        let room = F - frame_buffer_len(0);
        if room > u16::MAX as usize {
            u16::MAX
        } else {
            room as u16
        }
    };

    /// Largest frame `poll_transmit` can produce (a body of up to `F` bytes, stuffed and
    /// delimited): size its output buffer with this.
    pub const MAX_FRAME: usize = 2 + crate::cobs::max_encoded_len(F);

    /// A link that compresses with `codec` (see [`crate::compress`]); otherwise as
    /// [`Link::new`].
    pub fn with_codec(cfg: Config, seed: u32, codec: C) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Self {
            decoder: StreamDecoder::new(),
            core: Core::new(cfg, seed, codec, Self::BODY_ROOM),
        }
    }

    /// The codec (for its statistics or configuration).
    pub fn codec(&self) -> &C {
        &self.core.codec
    }

    /// The largest message that fits, in the worst case, in a frame of `frame_len` bytes on
    /// this link's transport (a UDP payload limit, a radio MTU, a DMA buffer). Compression
    /// never expands a message, so this holds for every mode; capped at `M` and at the peer's
    /// limit once a session is up.
    pub fn max_message_for_frame(&self, frame_len: usize) -> usize {
        let room = match self.core.cfg.transport {
            Transport::Datagram => crate::encode::max_payload_for_datagram(frame_len),
            Transport::Stream => crate::encode::max_payload_for_stream_frame(frame_len),
        };
        let peer = if self.core.up {
            usize::from(self.core.peer_max_payload)
        } else {
            M
        };
        room.saturating_sub(self.core.seal_overhead())
            .min(self.core.max_message())
            .min(peer)
    }

    /// Whether a session is up.
    pub fn is_up(&self) -> bool {
        self.core.up
    }

    /// This side's current epoch.
    pub fn epoch(&self) -> u32 {
        self.core.epoch
    }

    /// Counters and RTT estimates (including the framing decoder's reject counters).
    pub fn stats(&self) -> LinkStats {
        let mut s = self.core.stats;
        s.framing = *self.decoder.stats();
        s.rtt_min = self.core.rtt.min();
        s.srtt = self.core.rtt.srtt();
        s.rttvar = self.core.rtt.rttvar();
        s.rto = self.core.rtt.rto();
        s
    }

    /// Queues a message on `channel` (reliable or best effort per the config).
    pub fn send(&mut self, channel: u8, msg: &[u8], now: u64) -> Result<(), SendError> {
        self.core.now = now;
        self.core.send(channel, msg)
    }

    /// Copies the next delivered message into `out`.
    pub fn recv(&mut self, out: &mut [u8]) -> Result<Option<Received>, RecvError> {
        self.core.recv(out)
    }

    /// Free reliable send slots right now.
    pub fn send_capacity(&self) -> usize {
        W - usize::from(self.core.tx_next.wrapping_sub(self.core.tx_base))
    }

    /// Feeds bytes received from a stream transport.
    pub fn handle_input(&mut self, mut bytes: &[u8], now: u64) {
        self.core.now = now;
        loop {
            match self.decoder.feed(bytes) {
                Feed::Consumed => return,
                Feed::Frame { frame, rest } => {
                    bytes = rest;
                    #[cfg(feature = "aead")]
                    if self.core.sealing() {
                        let header = frame.header;
                        if let Some(body) = self.decoder.last_body_mut() {
                            self.core.on_sealed(header, body);
                        }
                        continue;
                    }
                    self.core.on_frame(&frame);
                }
                Feed::Rejected { rest, .. } => bytes = rest,
            }
        }
    }

    /// Feeds one datagram received from a datagram transport.
    pub fn handle_datagram(&mut self, datagram: &[u8], now: u64) {
        self.core.now = now;
        if datagram.len() > F {
            let e = crate::FrameError::Oversize;
            self.decoder.count_external(datagram.len(), Err(e));
            return;
        }
        match Frame::from_body(datagram) {
            Ok(frame) => {
                self.decoder.count_external(datagram.len(), Ok(()));
                #[cfg(feature = "aead")]
                if self.core.sealing() {
                    // Opened in place: a copy in the decoder's buffer (idle on datagrams).
                    let body = datagram
                        .get(..datagram.len() - crate::frame::CRC_LEN)
                        .unwrap_or_default();
                    if let Some(buf) = self.decoder.load(body) {
                        self.core.on_sealed(frame.header, buf);
                    }
                    return;
                }
                self.core.on_frame(&frame)
            }
            Err(e) => self.decoder.count_external(datagram.len(), Err(e)),
        }
    }

    /// Writes the next frame to send into `out` (at least [`Self::MAX_FRAME`] bytes) and
    /// returns its length; `Ok(None)` when there is nothing to send now.
    pub fn poll_transmit(
        &mut self,
        now: u64,
        out: &mut [u8],
    ) -> Result<Option<usize>, EncodeError> {
        self.core.now = now;
        self.core.on_time();
        #[cfg(feature = "aead")]
        self.core.check_counter();
        #[allow(unused_mut)]
        let Some((mut header, payload)) = self.core.next_frame() else {
            return Ok(None);
        };
        #[cfg(feature = "aead")]
        let nonce = self.core.stamp(&mut header);
        let hello;
        let payload: &[u8] = match payload {
            Payload::Empty => &[],
            Payload::Hello(h) => {
                hello = h.to_bytes();
                hello.get(..h.len()).unwrap_or_default()
            }
            Payload::Tx(i) => self.core.tx[i % W].payload(),
            #[cfg(feature = "best-effort")]
            Payload::BestEffort => self.core.best_effort.tx.payload(),
        };
        let stream = match self.core.cfg.transport {
            Transport::Stream => Some(StreamOptions {
                leading_delimiter: self.core.cfg.leading_delimiter,
            }),
            Transport::Datagram => None,
        };
        #[cfg(feature = "aead")]
        let sealed = match (nonce, &self.core.seal.send) {
            (Some(nonce), Some(key)) => {
                // A hello record stays in clear (associated data); messages are encrypted.
                let (clear, text) = match header.kind {
                    FrameKind::Hello | FrameKind::HelloAck => (payload, &[][..]),
                    _ => (&[][..], payload),
                };
                let seal = |body: &mut [u8], aad: usize| {
                    crate::aead::seal_body(key, &nonce, body, aad)
                        .map_err(|_| EncodeError::BufferTooSmall)
                };
                let tag = crate::aead::TAG_LEN;
                Some(crate::encode::encode_sealed(
                    &header, clear, text, tag, stream, out, &seal,
                )?)
            }
            _ => None,
        };
        #[cfg(not(feature = "aead"))]
        let sealed = None;
        let n = match (sealed, stream) {
            (Some(n), _) => n,
            (None, Some(opts)) => encode_stream(&header, payload, opts, out)?,
            (None, None) => encode_datagram(&header, payload, out)?,
        };
        #[cfg(feature = "best-effort")]
        if matches!(header.kind, FrameKind::Data) {
            self.core.best_effort.tx.filled = false;
        }
        if matches!(header.kind, FrameKind::Close) {
            self.core.fail(DownReason::LocalClose);
        }
        self.core.stats.frames_sent += 1;
        self.core.stats.bytes_sent += n as u64;
        Ok(Some(n))
    }

    /// The absolute time (ms) by which [`Self::handle_timeout`] (or `poll_transmit`) must be
    /// called again. Equal to the last `now` when something can be sent immediately.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.core.poll_timeout()
    }

    /// Runs timers: retransmissions, delayed acks, keepalive, probes, handshake.
    pub fn handle_timeout(&mut self, now: u64) {
        self.core.now = now;
        self.core.on_time();
    }

    /// The next lifecycle event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.core.pop_event()
    }

    /// Turns on authenticated encryption (feature `aead`, `docs/PROTOCOL.md` section 6) with
    /// the 256-bit pre-shared key `key`, named `id` on the wire, or rekeys.
    ///
    /// - The first key: every frame is sealed from now on and unsealed ones are dropped
    ///   (`unauthenticated`). Call it right after creating the link; a session already up
    ///   ends (`LocalClose`) and the next handshake is sealed. The link's `seed` is then the
    ///   boot id in every nonce: it must **never repeat under the same key**, on either end of
    ///   the link, and the two ends need different ids (a peer with this side's id is
    ///   refused). Use a boot counter kept in non-volatile memory and incremented before use,
    ///   with a device number in its top byte; or 32 bits from a hardware RNG, which repeat
    ///   with probability about n²/2³³ after n boots.
    /// - A later key (with a new id): a rekey that keeps the session. This side seals with the
    ///   new key at once and still opens frames sealed with the previous one. Rekey both
    ///   sides; frames that reach a side before it has the new key are dropped
    ///   (`unknown_key`) and retransmitted, so rekeying both within the retry budget loses
    ///   nothing on reliable channels.
    ///
    /// Fails (and changes nothing) if `F` cannot hold a sealed hello (`F` < 43).
    #[cfg(feature = "aead")]
    pub fn set_key(
        &mut self,
        id: u8,
        key: &[u8; crate::aead::KEY_LEN],
        now: u64,
    ) -> Result<(), crate::aead::KeyError> {
        use crate::frame::{CRC_LEN, FIXED_HEADER_LEN};
        if F < FIXED_HEADER_LEN + Hello::AEAD_LEN + crate::aead::TAG_LEN + CRC_LEN {
            return Err(crate::aead::KeyError::FrameBufferTooSmall);
        }
        self.core.now = now;
        self.core.set_key(id, key);
        Ok(())
    }

    /// The key id and nonce state this side seals with; `None` while AEAD is off.
    #[cfg(feature = "aead")]
    pub fn aead_status(&self) -> Option<AeadStatus> {
        self.core.aead_status()
    }

    /// Ends the session: sends CLOSE, reports [`Event::Down`], and starts a new handshake.
    pub fn close(&mut self, now: u64) {
        self.core.now = now;
        if self.core.up {
            self.core.send_close = true;
        }
    }
}

/// What goes into the payload of the next frame.
enum Payload {
    Empty,
    Hello(Hello),
    Tx(usize),
    /// The best-effort message waiting to go.
    #[cfg(feature = "best-effort")]
    BestEffort,
}

/// What [`Core::pick`] chose to send next.
enum Pick {
    /// `HELLO` or `HELLO_ACK` with this end's hello record.
    Hello(FrameKind),
    /// A payload-free frame tagged with the session and acknowledgement.
    Control(FrameKind),
    /// The reliable message in send slot `slot`, `off` after the window's base.
    Rdata { slot: usize, off: usize },
    /// The best-effort message waiting to go.
    #[cfg(feature = "best-effort")]
    BestEffort,
}

/// Where a message [`Core::decode`] turns into the application's bytes waits.
enum Source {
    /// Reliable receive slot `i`.
    Reliable(usize),
    /// The best-effort mailbox.
    #[cfg(feature = "best-effort")]
    BestEffort,
}

impl<const W: usize, const M: usize, C: Codec> Core<W, M, C> {
    fn new(cfg: Config, seed: u32, codec: C, body_room: u16) -> Self {
        let epoch = derive_epoch(seed, 0);
        Self {
            cfg,
            codec,
            seed,
            generation: 0,
            epoch,
            peer_epoch: 0,
            epoch_used: false,
            retired: [0; RETIRED_EPOCHS],
            retired_next: 0,
            up: false,
            keys: SessionKeys {
                tag: 0,
                isn_tx: 0,
                isn_rx: 0,
            },
            peer_max_payload: 0,
            peer_window: 0,
            peer_ack: 0,
            tx: [const { TxSlot::EMPTY }; W],
            tx_head: 0,
            tx_base: 0,
            tx_next: 0,
            next_tx_id: 0,
            rx: [const { RxSlot::EMPTY }; W],
            rx_head: 0,
            rx_ready: 0,
            rx_next: 0,
            rx_old: 0,
            rx_reset_pending: false,
            rx_broken: false,
            advertised_window: 0,
            #[cfg(feature = "best-effort")]
            best_effort: best_effort::BestEffort::NEW,
            ack_owed: 0,
            last_ack: None,
            ack_now: false,
            ack_deadline: None,
            send_hello_ack: false,
            send_close: false,
            hello_due: 0,
            hello_backoff: cfg.rto_initial,
            probe_due: None,
            probe_backoff: 0,
            stalled: false,
            last_tx: 0,
            last_rx: 0,
            now: 0,
            rtt: Rtt::new(cfg.rto_initial, cfg.rto_min, cfg.rto_max),
            body_room,
            #[cfg(feature = "aead")]
            seal: seal::Sealing::OFF,
            events: [None; EVENT_CAP],
            ev_head: 0,
            ev_len: 0,
            stats: LinkStats::new(),
        }
    }

    // ------------------------------------------------------------------ application side

    fn send(&mut self, channel: u8, msg: &[u8]) -> Result<(), SendError> {
        if !self.up {
            return Err(SendError::NotConnected);
        }
        if msg.len() > self.max_message() || msg.len() > usize::from(self.peer_max_payload) {
            return Err(SendError::TooLarge);
        }
        #[cfg(feature = "best-effort")]
        if !self.cfg.channels.is_reliable(channel) {
            let slot = &mut self.best_effort.tx;
            if slot.filled {
                self.stats.send_full += 1;
                return Err(SendError::Full);
            }
            let (repr, n) = self.codec.compress(false, msg, &mut slot.data);
            slot.len = n as u16;
            slot.channel = channel;
            slot.compression = repr;
            slot.filled = true;
            self.stats.sent_unreliable += 1;
            return Ok(());
        }
        let outstanding = usize::from(self.tx_next.wrapping_sub(self.tx_base));
        if outstanding >= W {
            self.stats.send_full += 1;
            return Err(SendError::Full);
        }
        let slot = &mut self.tx[(self.tx_head + outstanding) % W];
        *slot = TxSlot::EMPTY;
        let (repr, n) = self.codec.compress(true, msg, &mut slot.data);
        slot.len = n as u16;
        slot.channel = channel;
        slot.compression = repr;
        self.tx_next = self.tx_next.wrapping_add(1);
        self.stats.sent_reliable += 1;
        Ok(())
    }

    fn recv(&mut self, out: &mut [u8]) -> Result<Option<Received>, RecvError> {
        #[cfg(feature = "best-effort")]
        if self.best_effort.rx.filled {
            let out = Self::out_for(&self.best_effort.rx, out)?;
            self.best_effort.rx.filled = false;
            let (channel, n) = self.decode(Source::BestEffort, out)?;
            self.stats.delivered_unreliable += 1;
            return Ok(Some(Received {
                channel,
                len: n,
                reliable: false,
            }));
        }
        if self.rx_ready == 0 {
            return Ok(None);
        }
        let head = self.rx_head;
        let out = Self::out_for(&self.rx[head % W], out)?;
        if self.rx_old == 0 && self.rx_reset_pending {
            // The first message of the current session: its shared stream starts afresh.
            self.codec.reset_rx();
            self.rx_reset_pending = false;
            self.rx_broken = false;
        }
        self.rx_old = self.rx_old.saturating_sub(1);
        self.rx[head % W].filled = false;
        self.rx_head = (head + 1) % W;
        self.rx_ready -= 1;
        // Window update: tell a blocked sender at once, and a throttled one at half a window.
        let window = self.rx_window();
        if self.up
            && (self.advertised_window == 0
                || (self.advertised_window as usize) < self.rx_limit() / 2)
            && usize::from(window) >= self.rx_limit().div_ceil(2)
        {
            self.ack_now = true;
        }
        let (channel, n) = self.decode(Source::Reliable(head), out)?;
        self.stats.delivered_reliable += 1;
        Ok(Some(Received {
            channel,
            len: n,
            reliable: true,
        }))
    }

    /// The part of `out` a message may fill: a raw one needs its length; a compressed one
    /// needs room for the largest message, as its size is only known after inflating.
    fn out_for<'o>(slot: &RxSlot<M>, out: &'o mut [u8]) -> Result<&'o mut [u8], RecvError> {
        let needed = match slot.compression {
            Compression::None | Compression::SharedRaw => usize::from(slot.len),
            _ => M,
        };
        out.get_mut(..needed)
            .ok_or(RecvError::BufferTooSmall { needed })
    }

    /// Turns a dequeued payload into the message, in place; returns its channel and length.
    /// A failure is counted and reported, and a broken shared stream ends the session (both
    /// ends restart their streams).
    fn decode(&mut self, from: Source, out: &mut [u8]) -> Result<(u8, usize), RecvError> {
        let slot = match from {
            Source::Reliable(i) => &self.rx[i % W],
            #[cfg(feature = "best-effort")]
            Source::BestEffort => &self.best_effort.rx,
        };
        let channel = slot.channel;
        let shared = matches!(
            slot.compression,
            Compression::Shared | Compression::SharedRaw
        );
        let result = if shared && self.rx_broken {
            Err(DecompressError::Malformed)
        } else {
            self.codec.decompress(slot.compression, slot.payload(), out)
        };
        result.map(|n| (channel, n)).map_err(|error| {
            self.stats.decompress_failed += 1;
            if shared && !self.rx_broken {
                self.rx_broken = true;
                self.fail(DownReason::DecompressFailed);
            }
            RecvError::Decompress { channel, error }
        })
    }

    // ------------------------------------------------------------------ receive path

    /// Bytes sealing adds to a payload (0 while AEAD is off).
    fn seal_overhead(&self) -> usize {
        #[cfg(feature = "aead")]
        if self.sealing() {
            return crate::aead::TAG_LEN;
        }
        0
    }

    /// The largest message this side sends and accepts: `M`, less the AEAD tag if the
    /// decoder buffer has no room for it.
    fn max_message(&self) -> usize {
        M.min(usize::from(self.body_room).saturating_sub(self.seal_overhead()))
    }

    /// A received body (CRC checked, CRC stripped; `header` parsed from it by the framing
    /// layer) on a sealing link: opened in place, then handled as a frame.
    #[cfg(feature = "aead")]
    fn on_sealed(&mut self, header: Header, body: &mut [u8]) {
        let start = header.len();
        self.stats.frames_received += 1;
        if let Some(end) = self.open(&header, body, start) {
            let payload = body.get(start..end).unwrap_or_default();
            self.dispatch(&Frame { header, payload });
        }
    }

    /// A received frame on a link without AEAD.
    fn on_frame(&mut self, frame: &Frame<'_>) {
        self.stats.frames_received += 1;
        if frame.header.aead.is_some() {
            // Sealed, and this side has no keys.
            self.stats.unknown_key += 1;
            return;
        }
        self.dispatch(frame);
    }

    fn dispatch(&mut self, frame: &Frame<'_>) {
        let h = &frame.header;
        match h.kind {
            FrameKind::Hello | FrameKind::HelloAck => self.on_hello(h.kind, frame.payload),
            _ => {
                let tagged = h.seq.is_some() || h.ack.is_some();
                if !self.up || !tagged || h.session != self.keys.tag {
                    self.stats.stale_session += 1;
                    return;
                }
                self.last_rx = self.now;
                if let Some(a) = h.ack {
                    self.on_ack(a);
                }
                match (h.kind, h.seq) {
                    (FrameKind::Rdata, Some(seq)) => self.on_rdata(h, seq, frame.payload),
                    #[cfg(feature = "best-effort")]
                    (FrameKind::Data, Some(seq)) => self.on_data(h, seq, frame.payload),
                    #[cfg(not(feature = "best-effort"))]
                    (FrameKind::Data, _) => self.stats.unsupported += 1,
                    (FrameKind::Ping, _) => self.ack_now = true,
                    (FrameKind::Close, _) => self.fail(DownReason::PeerClosed),
                    (FrameKind::Ack, _) => {}
                    _ => self.stats.unexpected += 1,
                }
            }
        }
    }

    fn on_hello(&mut self, kind: FrameKind, payload: &[u8]) {
        let Some(hello) = Hello::parse(payload) else {
            self.stats.unexpected += 1;
            return;
        };
        if hello.epoch != self.peer_epoch && self.retired.contains(&hello.epoch) {
            // A delayed HELLO from an incarnation we already replaced.
            self.stats.stale_session += 1;
            return;
        }
        let new_peer = !self.up || hello.epoch != self.peer_epoch;
        match kind {
            FrameKind::Hello => {
                if new_peer {
                    if self.epoch_used {
                        self.rotate_epoch();
                    }
                    self.start_session(&hello);
                }
                self.send_hello_ack = true;
            }
            _ => {
                // Only an answer to this epoch's HELLO opens a session, and only the first
                // one: once up, another incarnation's answer to the same HELLO is stale.
                if hello.peer_epoch != self.epoch || (self.up && new_peer) {
                    self.stats.stale_session += 1;
                } else if new_peer {
                    self.start_session(&hello);
                }
            }
        }
        self.last_rx = self.now;
    }

    fn on_ack(&mut self, a: Ack) {
        let outstanding = self.tx_next.wrapping_sub(self.tx_base);
        let cum = a.next.wrapping_sub(self.tx_base);
        if cum > outstanding {
            self.stats.bad_ack += 1;
            return;
        }
        // The newest transmission this ack proves delivered. Only messages sent once count:
        // the ack of a retransmitted one may be for its first copy (Karn's ambiguity), and
        // taking it as the newest would mark everything sent since as skipped.
        let mut newest: Option<(u32, u32)> = None; // (tx_id, sent_at)
        let mut note = |s: &TxSlot<M>| {
            if s.tx_count == 1 && newest.is_none_or(|(id, _)| s.tx_id > id) {
                newest = Some((s.tx_id, s.sent_at));
            }
        };
        for _ in 0..cum {
            let slot = &mut self.tx[self.tx_head % W];
            if slot.tx_count > 0 && !slot.sacked {
                note(slot);
            }
            *slot = TxSlot::EMPTY;
            self.tx_head = (self.tx_head + 1) % W;
        }
        self.tx_base = a.next;
        let remaining = usize::from(outstanding - cum);
        if let Some(bits) = a.sack {
            for i in 0..remaining.min(32) {
                // Bit i covers ack + 1 + i, which is slot offset i + 1.
                let off = i + 1;
                if bits & (1 << i) != 0 && off < remaining {
                    let slot = &mut self.tx[(self.tx_head + off) % W];
                    if slot.tx_count > 0 && !slot.sacked {
                        slot.sacked = true;
                        slot.due = false;
                        note(slot);
                    }
                }
            }
        }
        if let Some((newest_id, sent_at)) = newest {
            // Sent once, so the sample is unambiguous (Karn's rule).
            self.rtt.sample(age_ms(self.now, sent_at));
            for off in 0..remaining {
                let slot = &mut self.tx[(self.tx_head + off) % W];
                if slot.tx_count > 0 && !slot.sacked && !slot.due && slot.tx_id < newest_id {
                    slot.skips = slot.skips.saturating_add(1);
                    if slot.skips >= self.cfg.dupthresh {
                        slot.due = true;
                        self.stats.fast_retransmits += 1;
                    }
                }
            }
        }
        self.peer_ack = a.next;
        self.peer_window = a.window;
        if a.window > 0 {
            self.probe_due = None;
        }
    }

    /// Messages this end accepts in flight: `Config::window`, at most `W`.
    fn rx_limit(&self) -> usize {
        match usize::from(self.cfg.window) {
            0 => W,
            w => w.min(W),
        }
    }

    /// Free receive slots: how far beyond `rx_next` a message may be and still be taken.
    fn rx_free(&self) -> usize {
        self.rx_limit().saturating_sub(self.rx_ready)
    }

    fn rx_window(&self) -> u8 {
        self.rx_free().min(255) as u8
    }

    fn on_rdata(&mut self, h: &Header, seq: u16, payload: &[u8]) {
        let d = seq.wrapping_sub(self.rx_next);
        if (d as i16) < 0 {
            self.stats.duplicates += 1;
            self.ack_now = true;
            return;
        }
        let d = usize::from(d);
        if d >= self.rx_free() {
            self.stats.out_of_window += 1;
            self.ack_now = true;
            return;
        }
        if payload.len() > M {
            self.stats.too_large += 1;
            return;
        }
        let slot = &mut self.rx[(self.rx_head + self.rx_ready + d) % W];
        if slot.filled {
            self.stats.duplicates += 1;
            self.ack_now = true;
            return;
        }
        slot.fill(h.channel, h.compression, payload);
        if d > 0 {
            self.stats.out_of_order += 1;
            self.ack_now = true;
            return;
        }
        while self.rx_ready < W && self.rx[(self.rx_head + self.rx_ready) % W].filled {
            self.rx_ready += 1;
            self.rx_next = self.rx_next.wrapping_add(1);
        }
        self.ack_owed = self.ack_owed.saturating_add(1);
        if self.ack_owed >= 2 {
            self.ack_now = true;
        } else if self.ack_deadline.is_none() {
            self.ack_deadline = Some(self.now + u64::from(self.cfg.ack_delay));
        }
    }

    #[cfg(feature = "best-effort")]
    fn on_data(&mut self, h: &Header, seq: u16, payload: &[u8]) {
        if payload.len() > M {
            self.stats.too_large += 1;
            return;
        }
        if matches!(h.compression, Compression::Shared | Compression::SharedRaw) {
            self.stats.unsupported += 1;
            return;
        }
        if !self.best_effort.accept(seq) {
            self.stats.duplicates += 1;
            return;
        }
        if self.best_effort.rx.filled {
            self.stats.unreliable_overwritten += 1;
        }
        self.best_effort.rx.fill(h.channel, h.compression, payload);
    }

    // ------------------------------------------------------------------ sessions

    fn start_session(&mut self, hello: &Hello) {
        if self.up {
            self.end_session(DownReason::PeerRestarted);
        }
        if self.peer_epoch != 0 && self.peer_epoch != hello.epoch {
            let at = usize::from(self.retired_next) % RETIRED_EPOCHS;
            self.retired[at] = self.peer_epoch;
            self.retired_next = self.retired_next.wrapping_add(1);
        }
        self.peer_epoch = hello.epoch;
        self.epoch_used = true;
        #[cfg(feature = "aead")]
        {
            self.seal.peer = (hello.boot, hello.generation);
            self.seal.window = crate::aead::ReplayWindow::new();
        }
        self.keys = SessionKeys::derive(self.epoch, hello.epoch);
        self.peer_max_payload = hello.max_payload;
        self.peer_window = hello.window;
        self.peer_ack = self.keys.isn_tx;
        self.tx_base = self.keys.isn_tx;
        self.tx_next = self.keys.isn_tx;
        self.tx_head = 0;
        self.tx = [const { TxSlot::EMPTY }; W];
        // The v1 hello announces no compression capabilities: assume the peer accepts what
        // this side accepts (both ends configured alike).
        let peer_caps = self.codec.rx_caps();
        self.codec.start_tx(peer_caps);
        self.rx_old = self.rx_ready;
        self.rx_reset_pending = true;
        // Messages already in order stay deliverable (the peer holds them as acknowledged);
        // out-of-order ones were never cumulatively acknowledged: the peer reports them.
        for i in self.rx_ready..W {
            self.rx[(self.rx_head + i) % W].filled = false;
        }
        self.rx_next = self.keys.isn_rx;
        self.advertised_window = self.rx_window();
        #[cfg(feature = "best-effort")]
        self.best_effort.start(self.keys.isn_tx);
        self.ack_owed = 0;
        self.ack_now = false;
        self.ack_deadline = None;
        self.last_ack = None;
        self.probe_due = None;
        self.stalled = false;
        self.up = true;
        self.last_rx = self.now;
        self.last_tx = self.now;
        self.stats.sessions += 1;
        self.push_event(Event::Up);
    }

    fn end_session(&mut self, reason: DownReason) {
        let unacked = self.tx_next.wrapping_sub(self.tx_base);
        self.stats.discarded_on_reset += u32::from(unacked);
        #[cfg(feature = "best-effort")]
        {
            self.stats.discarded_on_reset += u32::from(self.best_effort.tx.filled);
            self.best_effort.tx.filled = false;
        }
        self.up = false;
        self.tx_base = self.tx_next;
        self.send_hello_ack = false;
        self.send_close = false;
        self.stats.link_downs += 1;
        self.push_event(Event::Down { reason, unacked });
    }

    /// Ends the session from this side and starts over with a fresh epoch.
    fn fail(&mut self, reason: DownReason) {
        if self.up {
            self.end_session(reason);
        }
        self.rotate_epoch();
        self.hello_due = self.now;
        self.hello_backoff = self.cfg.rto_initial;
    }

    /// Moves to the next epoch of this boot.
    fn rotate_epoch(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.epoch = derive_epoch(self.seed, self.generation);
        self.epoch_used = false;
        #[cfg(feature = "aead")]
        {
            self.seal.counter = 0;
        }
    }

    fn push_event(&mut self, e: Event) {
        if self.ev_len == EVENT_CAP_U8 {
            self.ev_head = (self.ev_head + 1) % EVENT_CAP_U8;
            self.ev_len -= 1;
            self.stats.events_dropped += 1;
        }
        self.events[usize::from((self.ev_head + self.ev_len) % EVENT_CAP_U8)] = Some(e);
        self.ev_len += 1;
    }

    fn pop_event(&mut self) -> Option<Event> {
        if self.ev_len == 0 {
            return None;
        }
        let e = self.events[usize::from(self.ev_head % EVENT_CAP_U8)].take();
        self.ev_head = (self.ev_head + 1) % EVENT_CAP_U8;
        self.ev_len -= 1;
        e
    }

    // ------------------------------------------------------------------ timers

    fn on_time(&mut self) {
        let now = self.now;
        if !self.up {
            return;
        }
        let keepalive = u64::from(self.cfg.keepalive);
        if keepalive > 0 && now.saturating_sub(self.last_rx) >= DEAD_FACTOR * keepalive {
            self.fail(DownReason::PeerSilent);
            return;
        }
        let rto = u64::from(self.rtt.rto());
        let outstanding = usize::from(self.tx_next.wrapping_sub(self.tx_base));
        let mut expired = false;
        for off in 0..outstanding {
            let slot = &mut self.tx[(self.tx_head + off) % W];
            if slot.tx_count > 0
                && !slot.sacked
                && !slot.due
                && u64::from(age_ms(now, slot.sent_at)) >= rto
            {
                slot.due = true;
                expired = true;
            }
        }
        if expired {
            self.rtt.back_off();
            self.stats.timeouts += 1;
        }
        if self.ack_deadline.is_some_and(|t| now >= t) {
            self.ack_now = true;
        }
    }

    /// A best-effort message waits for `poll_transmit`.
    fn best_effort_queued(&self) -> bool {
        #[cfg(feature = "best-effort")]
        return self.best_effort.tx.filled;
        #[cfg(not(feature = "best-effort"))]
        false
    }

    fn poll_timeout(&self) -> Option<u64> {
        if !self.up {
            return Some(self.hello_due);
        }
        if self.send_hello_ack || self.send_close || self.ack_now || self.best_effort_queued() {
            return Some(self.now);
        }
        let mut t = u64::MAX;
        let rto = u64::from(self.rtt.rto());
        let outstanding = usize::from(self.tx_next.wrapping_sub(self.tx_base));
        for off in 0..outstanding {
            let s = &self.tx[(self.tx_head + off) % W];
            if s.due || (s.tx_count == 0 && self.in_window(off)) {
                return Some(self.now);
            }
            if s.tx_count > 0 && !s.sacked {
                let sent = self.now - u64::from(age_ms(self.now, s.sent_at)).min(self.now);
                t = t.min(sent + rto);
            }
        }
        for d in [self.ack_deadline, self.probe_due].into_iter().flatten() {
            t = t.min(d);
        }
        let keepalive = u64::from(self.cfg.keepalive);
        if keepalive > 0 {
            t = t
                .min(self.last_tx + keepalive)
                .min(self.last_rx + 4 * keepalive);
        }
        (t != u64::MAX).then_some(t)
    }

    /// Idle time before a PING: the keepalive interval, or a quarter of it once the peer has
    /// been silent for a whole interval (so a lossy link gets many probes before it is
    /// declared dead).
    fn ping_interval(&self) -> u64 {
        let k = u64::from(self.cfg.keepalive);
        if self.now.saturating_sub(self.last_rx) >= k {
            (k / 4).max(1)
        } else {
            k
        }
    }

    /// Whether the message at offset `off` from `tx_base` fits the peer's window.
    fn in_window(&self, off: usize) -> bool {
        let seq = self.tx_base.wrapping_add(off as u16);
        usize::from(seq.wrapping_sub(self.peer_ack)) < usize::from(self.peer_window)
    }

    // ------------------------------------------------------------------ transmit path

    /// The next frame to send, header and payload; updates state as if it was sent.
    fn next_frame(&mut self) -> Option<(Header, Payload)> {
        Some(match self.pick()? {
            Pick::Hello(kind) => (Header::control(kind), Payload::Hello(self.hello())),
            Pick::Control(kind) => (self.tagged(kind, 0), Payload::Empty),
            Pick::Rdata { slot, off } => self.emit_rdata(slot, off),
            #[cfg(feature = "best-effort")]
            Pick::BestEffort => {
                let mut h = self.tagged(FrameKind::Data, self.best_effort.tx.channel);
                h.seq = Some(self.best_effort.tx_seq);
                h.compression = self.best_effort.tx.compression;
                self.best_effort.tx_seq = self.best_effort.tx_seq.wrapping_add(1);
                (h, Payload::BestEffort)
            }
        })
    }

    /// Decides what to send next, in priority order.
    fn pick(&mut self) -> Option<Pick> {
        let now = self.now;
        if !self.up {
            if now < self.hello_due {
                return None;
            }
            self.hello_due = now + u64::from(self.hello_backoff);
            self.hello_backoff = (self.hello_backoff * 2).min(self.cfg.rto_max);
            self.stats.hellos_sent += 1;
            return Some(Pick::Hello(FrameKind::Hello));
        }
        if self.send_hello_ack {
            self.send_hello_ack = false;
            return Some(Pick::Hello(FrameKind::HelloAck));
        }
        if self.send_close {
            // The session ends once the CLOSE is out (`poll_transmit`): it is still sealed
            // and tagged as part of this session.
            return Some(Pick::Control(FrameKind::Close));
        }
        let outstanding = usize::from(self.tx_next.wrapping_sub(self.tx_base));
        // Retransmissions first, oldest first.
        for off in 0..outstanding {
            let i = (self.tx_head + off) % W;
            if self.tx[i].due && !self.tx[i].sacked {
                if self.tx[i].tx_count > self.cfg.max_retransmits {
                    self.fail(DownReason::RetryLimit);
                    return None;
                }
                self.stats.retransmissions += 1;
                return Some(Pick::Rdata { slot: i, off });
            }
        }
        #[cfg(feature = "best-effort")]
        if self.best_effort.tx.filled {
            self.stats.data_frames_sent += 1;
            return Some(Pick::BestEffort);
        }
        let mut blocked = false;
        for off in 0..outstanding {
            let i = (self.tx_head + off) % W;
            if self.tx[i].tx_count == 0 {
                if self.in_window(off) {
                    self.stalled = false;
                    return Some(Pick::Rdata { slot: i, off });
                }
                blocked = true;
                break;
            }
        }
        if blocked {
            if !self.stalled {
                self.stalled = true;
                self.stats.window_stalls += 1;
            }
            let in_flight = (0..outstanding).any(|off| {
                let s = &self.tx[(self.tx_head + off) % W];
                s.tx_count > 0 && !s.sacked
            });
            if !in_flight && self.probe_due.is_none() {
                self.probe_backoff = self.rtt.rto();
                self.probe_due = Some(now + u64::from(self.probe_backoff));
            }
        }
        if self.probe_due.is_some_and(|t| now >= t) {
            self.probe_backoff = (self.probe_backoff * 2).min(self.cfg.rto_max);
            self.probe_due = Some(now + u64::from(self.probe_backoff));
            self.stats.probes_sent += 1;
            return Some(Pick::Control(FrameKind::Ping));
        }
        if self.cfg.keepalive > 0 && now >= self.last_tx + self.ping_interval() {
            self.stats.keepalives_sent += 1;
            return Some(Pick::Control(FrameKind::Ping));
        }
        if self.ack_now {
            self.stats.acks_sent += 1;
            return Some(Pick::Control(FrameKind::Ack));
        }
        None
    }

    fn emit_rdata(&mut self, i: usize, off: usize) -> (Header, Payload) {
        let seq = self.tx_base.wrapping_add(off as u16);
        let (channel, compression) = (self.tx[i % W].channel, self.tx[i % W].compression);
        let mut h = self.tagged(FrameKind::Rdata, channel);
        h.seq = Some(seq);
        h.compression = compression;
        let id = self.next_tx_id;
        self.next_tx_id = self.next_tx_id.wrapping_add(1);
        let slot = &mut self.tx[i % W];
        slot.tx_count = slot.tx_count.saturating_add(1);
        slot.sent_at = self.now as u32;
        slot.tx_id = id;
        slot.due = false;
        slot.skips = 0;
        self.stats.rdata_frames_sent += 1;
        (h, Payload::Tx(i))
    }

    /// A header carrying the session tag and the current acknowledgement.
    fn tagged(&mut self, kind: FrameKind, channel: u8) -> Header {
        let window = self.rx_window();
        // Bit `d - 1`: reorder slot `d` (sequence number `rx_next + d`) holds a message.
        let mut sack = 0u32;
        for d in 1..self.rx_free().min(33) {
            if self.rx[(self.rx_head + self.rx_ready + d) % W].filled {
                sack |= 1 << (d - 1);
            }
        }
        let ack = Ack {
            next: self.rx_next,
            window,
            sack: (sack != 0).then_some(sack),
        };
        self.last_tx = self.now;
        // Data frames carry the acknowledgement only when it tells the peer something new
        // (a one-way stream then costs no ack bytes); control frames always carry it. A lost
        // ack is repaired by the peer's retransmission, whose duplicate forces a fresh one.
        let news = self.ack_owed > 0
            || self.ack_now
            || self.ack_deadline.is_some()
            || self.last_ack != Some(ack);
        let data = matches!(kind, FrameKind::Rdata | FrameKind::Data);
        if data && !news {
            return Header {
                kind,
                channel,
                session: self.keys.tag,
                ..Header::data(channel)
            };
        }
        self.ack_now = false;
        self.ack_deadline = None;
        self.ack_owed = 0;
        self.advertised_window = window;
        self.last_ack = Some(ack);
        Header {
            kind,
            channel,
            session: self.keys.tag,
            ack: Some(ack),
            ..Header::data(channel)
        }
    }

    fn hello(&self) -> Hello {
        #[cfg(feature = "aead")]
        let (caps, boot, generation) = if self.sealing() {
            (session::caps::AEAD, self.seed, self.generation)
        } else {
            (0, 0, 0)
        };
        #[cfg(not(feature = "aead"))]
        let (caps, boot, generation) = (0, 0, 0);
        Hello {
            epoch: self.epoch,
            peer_epoch: self.peer_epoch,
            max_payload: self.max_message() as u16,
            window: self.rx_limit().min(255) as u8,
            caps,
            boot,
            generation,
        }
    }
}

/// Milliseconds since `sent_at` (the low 32 bits of a timestamp), wrapping-safe.
fn age_ms(now: u64, sent_at: u32) -> u32 {
    (now as u32).wrapping_sub(sent_at)
}

/// How many replaced peer epochs a link remembers.
const RETIRED_EPOCHS: usize = 4;

/// The epoch of session attempt `generation` for a boot `seed`: distinct for distinct
/// generations (fmix32 is a bijection), never zero.
fn derive_epoch(seed: u32, generation: u32) -> u32 {
    match fmix32(seed ^ fmix32(generation.wrapping_mul(0x9E37_79B9).wrapping_add(1))) {
        0 => 1,
        e => e,
    }
}
