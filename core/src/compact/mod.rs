//! A size-first reliable link, wire-compatible with [`crate::link::Link`] (`PROTOCOL.md`
//! sections 1–4, wire format version 2).
//!
//! [`CompactLink`] speaks the same frames as the full link and interoperates with it as either
//! role, but keeps only what a small microcontroller needs:
//!
//! - **Every channel is reliable and ordered.** It announces no best effort or FEC
//!   (PROTOCOL.md 4.6), so a full peer sends it `RDATA` only; `DATA`, `PARITY` and
//!   FEC-numbered frames are dropped (`not_negotiated`).
//! - **Compression is optional** ([`CompactLink::set_codec`], the codecs of
//!   [`crate::compress`], as [`crate::link::Link::set_codec`]): the hello announces what the
//!   codec decompresses; `send` compresses into the send slot as far as the peer announced
//!   (PROTOCOL.md section 5; never longer than the message); received payloads are kept as
//!   they came and decompressed at `recv`, in order, so the shared stream of a session is
//!   natural to the go-back-N receiver. A frame in a representation this side did not announce
//!   is dropped (`not_negotiated`); a payload that does not decompress is counted
//!   (`decompress_failed`) and reported by `recv` ([`RecvError::Decompress`]), and one of the
//!   shared stream ends the session ([`DownReason::DecompressFailed`], `CLOSE` to the peer).
//!   Without `set_codec`, none of this code is linked.
//! - **No keys.** Hellos and frames sealed under a pre-shared key are dropped (`unknown_key`).
//! - **Go-back-N receiver.** Only the next message in order is accepted; one that arrives ahead
//!   of a gap is dropped and counted (`out_of_order`), and the peer's retransmission fills the
//!   gap. Acknowledgements never carry `SACK`. The receive slots hold in-order messages until
//!   the application takes them, and the announced window shrinks accordingly.
//! - **Simple sender.** Up to `min(own window, peer's window)` messages in flight; slots are
//!   freed by the cumulative `ack` (SACK bits from a full peer mark messages that need no
//!   retransmission). Every retransmission and `PING`, and about one first transmission per
//!   round trip, carries `TS`; the peer's echoes give RTT
//!   samples (RFC 6298 smoothing, `PTO = SRTT + max(4·RTTVAR, 1) + ack_delay` clamped to
//!   `[rto_min, rto_max]`). One retransmission timer: when it fires, the oldest
//!   unacknowledged message goes again, and the others after it once an acknowledgement says
//!   what arrived (go-back-N a round trip later: what only lost its acknowledgement is not
//!   sent twice); the timer doubles (up to `rto_max`), and after `max_retransmits` rounds
//!   without progress the next expiry ends the session
//!   ([`DownReason::RetryLimit`]) with an [`Event::Down`] naming every discarded message.
//!   While the peer's window is closed an expiry sends a `PING` probe instead.
//! - Handshake, restarts, keepalive, peer-silent timeout and `CLOSE` as in PROTOCOL.md 4.1 and
//!   4.5, with the nonce formation and keyless session derivation of the full link (the same
//!   functions), so both agree by construction.
//!
//! Memory is one caller block of [`memory_len`]`(window, max_message)` bytes (or a
//! [`CompactStorage`]); nothing is allocated, no input can make it panic.
//!
//! ```
//! use ferrule::compact::{memory_len, CompactConfig, CompactLink, CompactStorage};
//! use ferrule::link::{Event, Transport};
//!
//! type Storage = CompactStorage<{ memory_len(4, 64) }>;
//! let (mut sa, mut sb) = (Storage::new(), Storage::new());
//! let cfg = CompactConfig { transport: Transport::Datagram, window: 4, max_message: 64, ..CompactConfig::DEFAULT };
//! let mut a = CompactLink::new(cfg, 1, sa.memory()).unwrap();
//! let mut b = CompactLink::new(cfg, 2, sb.memory()).unwrap();
//! let mut buf = [0u8; 128];
//! let (mut now, mut sent, mut got) = (0, false, 0);
//! for _ in 0..20 {
//!     if a.is_up() && !sent {
//!         a.send(0, b"hi", now).unwrap();
//!         sent = true;
//!     }
//!     while let Ok(Some(n)) = a.poll_transmit(now, &mut buf) {
//!         b.handle_datagram(&buf[..n], now);
//!     }
//!     while let Ok(Some(n)) = b.poll_transmit(now, &mut buf) {
//!         a.handle_datagram(&buf[..n], now);
//!     }
//!     let mut msg = [0u8; 64];
//!     if let Ok(Some(r)) = b.recv(&mut msg) {
//!         got = r.len;
//!     }
//!     now += 1;
//! }
//! assert_eq!(got, 2);
//! assert_eq!(b.poll_event(), Some(Event::Up));
//! ```

// No panic path: no indexing, no unwrap (the C firmware build aborts on panic, and every
// panic path costs flash).
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable
)]

mod rx;
mod tx;
mod zip;

use crate::compress::Codec;
use crate::decoder::Decoder;
use crate::frame::Compression;
use crate::frame::{CRC_LEN, MAX_HEADER_LEN};
use crate::link::hello::{Hello, NONCE_LEN};
use crate::link::Transport;
use crate::link::{DownReason, Event, MessageId, Received, RecvError, SendError, SetupError};
use crate::stats::DecoderStats;
use managed::Managed;

/// Bytes of per-slot bookkeeping in front of each message: length (u16 LE), channel, flags.
const SLOT_HEAD: usize = 4;
/// Events kept for the application.
const EVENTS: usize = 4;
/// Slot flag: the peer reported the message received (SACK); it is not retransmitted.
const SACKED: u8 = 1;
/// The representation of a slot's payload is kept in the flags byte from this bit on (send
/// slots; in receive slots the byte is the representation alone).
const REPR_SHIFT: u8 = 1;

/// Frame buffer for messages of up to `m` bytes: the largest body, and at least a keyed hello
/// (so that one is counted `unknown_key`, not `oversize`).
pub const fn frame_len(m: usize) -> usize {
    let p = if m > Hello::SEALED_LEN {
        m
    } else {
        Hello::SEALED_LEN
    };
    p + MAX_HEADER_LEN + CRC_LEN
}

/// Bytes of memory a [`CompactLink`] with `window` slots each way and messages of up to
/// `max_message` bytes takes: the send and receive slots and the frame buffer.
pub const fn memory_len(window: usize, max_message: usize) -> usize {
    2 * window * (SLOT_HEAD + max_message) + frame_len(max_message)
}

/// Memory for a compact link in one `static` (or on the stack): `N` is
/// [`memory_len`]`(window, max_message)`.
pub struct CompactStorage<const N: usize>([u8; N]);

impl<const N: usize> CompactStorage<N> {
    /// Zeroed storage.
    pub const fn new() -> Self {
        Self([0; N])
    }

    /// The block to give [`CompactLink::new`].
    pub fn memory(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl<const N: usize> Default for CompactStorage<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Parameters of a compact link. Times are in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CompactConfig {
    /// Framing.
    pub transport: Transport,
    /// Slots each way (1..=255): messages in flight to the peer, and in-order messages held
    /// for the application.
    pub window: u8,
    /// Largest message (1..=4096) either way.
    pub max_message: u16,
    /// Retransmission timeout before the first RTT sample.
    pub rto_initial: u32,
    /// Lower bound of the retransmission timeout.
    pub rto_min: u32,
    /// Upper bound of the retransmission timeout (and of the handshake backoff).
    pub rto_max: u32,
    /// Retransmission rounds without progress: each of the first `max_retransmits`
    /// retransmission-timer expiries in a row sends the oldest unacknowledged message again;
    /// the next one (expiry `max_retransmits + 1`) ends the session
    /// ([`DownReason::RetryLimit`]). An expiry while the peer's window is closed sends a PING
    /// probe instead and does not count. 255: no limit.
    pub max_retransmits: u8,
    /// Longest an acknowledgement is delayed when nothing else is sent.
    pub ack_delay: u32,
    /// Send a PING after this long without sending (a quarter of it while the peer is
    /// silent); end the session after eight times this long without a frame of it. 0: off.
    pub keepalive: u32,
    /// Emit a `0x00` before each stream frame (hellos always get one).
    pub leading_delimiter: bool,
}

impl CompactConfig {
    /// A stream link, 4 × 128; RTO 1000 ms at first, 20..=4000 ms; 20 retransmissions; acks
    /// delayed up to 5 ms; keepalive 1 s (the full link's defaults).
    pub const DEFAULT: Self = Self {
        transport: Transport::Stream,
        window: 4,
        max_message: 128,
        rto_initial: 1000,
        rto_min: 20,
        rto_max: 4000,
        max_retransmits: 20,
        ack_delay: 5,
        keepalive: 1000,
        leading_delimiter: false,
    };
}

impl Default for CompactConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Counters of a compact link (wrapping). Names as in PROTOCOL.md section 3 and
/// [`crate::link::LinkStats`]; every dropped frame is counted under exactly one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(C)]
pub struct CompactStats {
    /// Smoothed RTT (ms; 0 before the first sample).
    pub srtt: u32,
    /// Current retransmission timeout (ms, before backoff).
    pub rto: u32,
    /// Frames handed to the transport.
    pub frames_sent: u32,
    /// Valid frames received (after CRC and header checks).
    pub frames_received: u32,
    /// Messages accepted by `send`.
    pub sent_reliable: u32,
    /// Messages handed to the application.
    pub delivered_reliable: u32,
    /// RDATA frames sent again.
    pub retransmissions: u32,
    /// Retransmission timer expiries.
    pub timeouts: u32,
    /// Stand-alone ACK frames sent.
    pub acks_sent: u32,
    /// PINGs sent (keepalives and zero-window probes).
    pub pings_sent: u32,
    /// HELLO and HELLO_ACK frames sent.
    pub hellos_sent: u32,
    /// HELLOs answered with a new pending handshake.
    pub hellos_answered: u32,
    /// Hellos of a handshake already answered or completed.
    pub hello_duplicates: u32,
    /// RDATA already delivered (dropped, re-acknowledged).
    pub duplicates: u32,
    /// RDATA inside the window but ahead of the next expected one (dropped: go-back-N).
    pub out_of_order: u32,
    /// RDATA beyond the window (dropped).
    pub out_of_window: u32,
    /// `send` refused a message because the window was full.
    pub send_full: u32,
    /// Frames of another session or before any session, and HELLO_ACKs answering a nonce
    /// other than this side's current one (dropped).
    pub stale_session: u32,
    /// Link frames without a session tag (dropped).
    pub untagged: u32,
    /// Frames in a form this side does not announce (DATA, PARITY, FEC, a compression this
    /// side's codec does not take or any without one; dropped).
    pub not_negotiated: u32,
    /// Hellos carrying this side's own nonce (dropped).
    pub reflected: u32,
    /// Hellos with a malformed record (dropped).
    pub unexpected: u32,
    /// Acks for sequence numbers never sent (ignored).
    pub bad_ack: u32,
    /// Messages larger than this link's largest (dropped).
    pub too_large: u32,
    /// Sealed frames (AEAD): this link has no keys (dropped).
    pub unknown_key: u32,
    /// Sessions started.
    pub sessions: u32,
    /// Sessions ended.
    pub link_downs: u32,
    /// Send-side messages discarded when sessions ended (also in `Event::Down`).
    pub discarded_on_reset: u32,
    /// Events dropped or merged because the application did not poll them.
    pub events_dropped: u32,
    /// Received messages that failed to decompress (dropped, reported by `recv`).
    pub decompress_failed: u32,
    /// Framing rejects by reason.
    pub framing: DecoderStats,
}

/// Adds one to a counter (wrapping).
fn inc(c: &mut u32) {
    *c = c.wrapping_add(1);
}

/// A handshake this side answered, waiting for the peer's first frame of it.
#[derive(Clone, Copy)]
struct Pending {
    nonce: [u8; NONCE_LEN],
    tag: u8,
    isn_tx: u16,
    isn_rx: u16,
    window: u8,
    max_message: u16,
}

/// Everything but the decoder (so a decoded frame, borrowed from it, can be processed).
struct Core<'a> {
    cfg: CompactConfig,
    /// Slots each way.
    w: u8,
    /// Largest message.
    m: u16,
    /// Send slots, then receive slots, `SLOT_HEAD + m` bytes each.
    mem: &'a mut [u8],
    now: u64,
    stats: CompactStats,
    /// The codec, if compression is on ([`CompactLink::set_codec`]).
    codec: Option<Managed<'a, dyn Codec + 'a>>,
    /// The compression glue, set with the codec (only `set_codec` refers to it, so firmware
    /// without compression links none of it).
    zip: Option<&'static zip::Zip>,
    /// What this side decompresses, as its hello says it: capability bits, window bits,
    /// dictionary id (all 0 without a codec).
    caps: [u8; 3],
    /// Queued events, oldest first.
    events: [Option<Event>; EVENTS],
    ev_len: u8,

    // Handshake.
    seed: u64,
    attempt: u64,
    nonce_used: bool,
    nonce_sent: bool,
    up: bool,
    pending: Option<Pending>,
    answer: bool,
    hello_due: u64,
    hello_backoff: u32,
    close_due: bool,
    /// Why the session ends once `CLOSE` is out.
    close_reason: DownReason,

    // Current session.
    tag: u8,
    peer_nonce: [u8; NONCE_LEN],
    peer_max: u16,
    peer_window: u8,
    /// The dictionary the peer decompresses with (for [`Compression::Dictionary`]).
    peer_dict: u8,
    /// What the peer of the handshake derived last decompresses: its hello's capability
    /// bits, window bits and dictionary (the session that starts next is that one's).
    peer_caps: [u8; 3],
    last_rx: u64,
    last_tx: u64,
    ping_due: bool,

    // Send side: `tx_count` messages from slot `tx_head`, the first numbered `tx_seq`; the
    // first `tx_hw` were transmitted at least once, the next to (re)transmit is `tx_cursor`.
    tx_head: u8,
    tx_count: u8,
    tx_hw: u8,
    tx_cursor: u8,
    tx_seq: u16,
    next_id: u32,
    tries: u8,
    backoff: u8,
    /// After a timeout: only the oldest message goes again until an acknowledgement arrives.
    hold: bool,
    rtx_at: Option<u64>,
    srtt: u32,
    rttvar: u32,
    /// When a first transmission last carried `TS`.
    ts_at: u64,

    // Receive side: `rx_count` in-order messages from slot `rx_head`; `rx_next` expected next.
    rx_head: u8,
    rx_count: u8,
    rx_next: u16,
    ack_now: bool,
    ack_at: Option<u64>,
    unacked_in_order: u8,
    advertised: u8,
    echo: Option<(u16, u64)>,
    /// The next message stored is the first of its session: its slot is marked
    /// `zip::FIRST`, and the shared stream restarts before it is decompressed (messages of
    /// earlier sessions still queued are marked `zip::EARLIER` and decompress first, each
    /// session's from its own first message).
    rx_reset: bool,
    /// A piece of the shared stream failed: the rest of it fails too until it restarts.
    rx_broken: bool,
}

/// The compact link state machine. See the [module docs](self).
pub struct CompactLink<'a> {
    dec: Decoder<&'a mut [u8]>,
    c: Core<'a>,
}

impl<'a> CompactLink<'a> {
    /// A link over `mem` ([`memory_len`]`(cfg.window, cfg.max_message)` bytes at least) that
    /// starts its handshake at once. `seed` must differ on every boot and device (PROTOCOL.md
    /// 4.1.3): a hardware random number, or a boot counter kept in non-volatile memory.
    pub fn new(cfg: CompactConfig, seed: u64, mem: &'a mut [u8]) -> Result<Self, SetupError> {
        let (w, m) = (usize::from(cfg.window), usize::from(cfg.max_message));
        if w == 0 {
            return Err(SetupError::Window);
        }
        if m == 0 || m > crate::frame::MAX_PAYLOAD {
            return Err(SetupError::MessageArea);
        }
        if cfg.rto_initial == 0 || cfg.rto_min == 0 || cfg.rto_min > cfg.rto_max {
            return Err(SetupError::Timers);
        }
        let areas = 2 * w * (SLOT_HEAD + m);
        if mem.len() < memory_len(w, m) {
            return Err(SetupError::FrameBuffer);
        }
        let (mem, frame) = mem.split_at_mut(areas);
        Ok(Self {
            dec: Decoder::with_buffer(frame),
            c: Core {
                cfg,
                w: cfg.window,
                m: cfg.max_message,
                mem,
                now: 0,
                stats: CompactStats {
                    rto: cfg.rto_initial,
                    ..CompactStats::default()
                },
                codec: None,
                zip: None,
                caps: [0; 3],
                events: [None; EVENTS],
                ev_len: 0,
                seed,
                attempt: 0,
                nonce_used: false,
                nonce_sent: false,
                up: false,
                pending: None,
                answer: false,
                hello_due: 0,
                hello_backoff: cfg.rto_initial,
                close_due: false,
                close_reason: DownReason::LocalClose,
                tag: 0,
                peer_nonce: [0; NONCE_LEN],
                peer_max: 0,
                peer_window: 0,
                peer_dict: 0,
                peer_caps: [0; 3],
                last_rx: 0,
                last_tx: 0,
                ping_due: false,
                tx_head: 0,
                tx_count: 0,
                tx_hw: 0,
                tx_cursor: 0,
                tx_seq: 0,
                next_id: 0,
                tries: 0,
                backoff: 0,
                hold: false,
                rtx_at: None,
                srtt: 0,
                rttvar: 0,
                ts_at: 0,
                rx_head: 0,
                rx_count: 0,
                rx_next: 0,
                ack_now: false,
                ack_at: None,
                unacked_in_order: 0,
                advertised: 0,
                echo: None,
                rx_reset: true,
                rx_broken: false,
            },
        })
    }

    /// Slots each way.
    pub fn window(&self) -> usize {
        usize::from(self.c.w)
    }

    /// Largest message either way (this side's; the peer's may be smaller).
    pub fn max_message(&self) -> usize {
        usize::from(self.c.m)
    }

    /// Largest message the peer of the current session takes (from its hello); 0 when no
    /// session is up. [`CompactLink::send`] refuses anything longer than this or
    /// [`CompactLink::max_message`] ([`SendError::TooLarge`]).
    pub fn peer_max_message(&self) -> usize {
        if self.c.up {
            usize::from(self.c.peer_max)
        } else {
            0
        }
    }

    /// Installs a codec (see [`crate::compress`]; the same objects as
    /// [`crate::link::Link::set_codec`]): this side then announces in its hello what the codec
    /// decompresses, compresses what it sends as the peer allows (at [`CompactLink::send`],
    /// into the send slot), and decompresses at [`CompactLink::recv`], whose buffer must then
    /// hold [`CompactLink::max_message`] bytes. The announcement changes, so every handshake
    /// so far is void (PROTOCOL.md 4.1.1 rule 7): a session that is up ends
    /// ([`DownReason::LocalClose`]) and the next hello takes a fresh nonce. Firmware that never
    /// calls it links no compression code. Received messages still queued are decompressed
    /// by the new codec from a fresh stream: install it before the link carries traffic (a
    /// shared-stream message queued under an earlier codec may fail, counted and reported).
    pub fn set_codec(&mut self, codec: impl Into<Managed<'a, dyn Codec + 'a>>) {
        let c = &mut self.c;
        let codec = codec.into();
        c.caps = zip::caps(&codec.rx_caps());
        c.codec = Some(codec);
        c.zip = Some(&zip::ZIP);
        c.pending = None;
        c.answer = false;
        if c.nonce_sent {
            c.renew();
        }
        c.fail(DownReason::LocalClose);
    }

    /// The installed codec, for its statistics ([`Codec::stats`]).
    pub fn codec(&self) -> Option<&(dyn Codec + 'a)> {
        self.c.codec.as_deref()
    }

    /// Bytes `poll_transmit` may need for one frame (the worst case of this transport).
    pub fn max_frame_len(&self) -> usize {
        let m = usize::from(self.c.m).max(Hello::LEN);
        match self.c.cfg.transport {
            Transport::Stream => crate::max_stream_frame_len(m),
            Transport::Datagram => crate::max_datagram_len(m),
        }
    }

    /// Whether a session is up.
    pub fn is_up(&self) -> bool {
        self.c.up
    }

    /// Counters, RTT and the framing decoder's reject counters.
    pub fn stats(&self) -> CompactStats {
        let mut s = self.c.stats;
        s.framing = *self.dec.stats();
        s.srtt = self.c.srtt;
        s.rto = self.c.rto();
        s
    }

    /// Queues a message on `channel` (every channel is reliable and ordered): at most
    /// `min(`[`CompactLink::max_message`]`, `[`CompactLink::peer_max_message`]`)` bytes, else
    /// [`SendError::TooLarge`]. Its id counts
    /// up by one per message over the link's lifetime; an [`Event::Down`] names the ids of
    /// messages a session ended with unacknowledged.
    pub fn send(&mut self, channel: u8, msg: &[u8], now: u64) -> Result<MessageId, SendError> {
        self.c.now = now;
        self.c.send(channel, msg)
    }

    /// Copies the next message into `out`: its channel and length. With a codec installed,
    /// a compressed message is decompressed here and needs `out` of
    /// [`CompactLink::max_message`] bytes (else [`RecvError::BufferTooSmall`], the message
    /// stays queued). A message that does not decompress is dropped, counted
    /// (`decompress_failed`) and reported as [`RecvError::Decompress`]; if it was part of the
    /// shared stream, the session ends ([`DownReason::DecompressFailed`], the peer is told with
    /// `CLOSE`).
    pub fn recv(&mut self, out: &mut [u8]) -> Result<Option<Received>, RecvError> {
        self.c.recv(out)
    }

    /// Free send slots right now.
    pub fn send_capacity(&self) -> usize {
        usize::from(self.c.w.saturating_sub(self.c.tx_count))
    }

    /// Every message with an id below this one was acknowledged or reported discarded.
    pub fn acked_before(&self) -> MessageId {
        MessageId(self.c.next_id.wrapping_sub(u32::from(self.c.tx_count)))
    }

    /// The next lifecycle event, oldest first. Four are kept; when the application does not
    /// poll, room is made by the rule of the full link (the oldest `Up` goes first, then an
    /// empty `Down`, then the two oldest `Down`s merge into one naming every message of both;
    /// counted in [`CompactStats::events_dropped`]), so the events stay in order, every
    /// discarded message is named and the last event agrees with [`CompactLink::is_up`].
    pub fn poll_event(&mut self) -> Option<Event> {
        let c = &mut self.c;
        if c.ev_len == 0 {
            return None;
        }
        c.ev_len -= 1;
        remove_event(&mut c.events, 0)
    }

    /// Ends the session: the next [`CompactLink::poll_transmit`] sends `CLOSE`, reports
    /// [`Event::Down`] (`LocalClose`) and starts a new handshake. Without a session, nothing.
    pub fn close(&mut self, now: u64) {
        self.c.now = now;
        self.c.close_due = self.c.up;
        self.c.close_reason = DownReason::LocalClose;
    }
}

impl Core<'_> {
    /// Bytes of one slot.
    fn slot_len(&self) -> usize {
        SLOT_HEAD + usize::from(self.m)
    }

    /// Where slot `i` after `head` starts in the ring of `w` slots that starts at slot `base`.
    fn slot_start(&self, base: usize, head: u8, i: u8) -> usize {
        let w = usize::from(self.w);
        let mut at = usize::from(head) + usize::from(i);
        if at >= w {
            at -= w;
        }
        (base + at) * self.slot_len()
    }

    /// Slot `i` after `head` in the ring of `w` slots that starts at slot `base`.
    fn slot(&mut self, base: usize, head: u8, i: u8) -> &mut [u8] {
        let start = self.slot_start(base, head, i);
        let len = self.slot_len();
        self.mem.get_mut(start..start + len).unwrap_or_default()
    }

    /// Send slot `i` (from the oldest unacknowledged).
    fn tx_slot(&mut self, i: u8) -> &mut [u8] {
        self.slot(0, self.tx_head, i)
    }

    /// Receive slot `i` (from the oldest undelivered).
    fn rx_slot(&mut self, i: u8) -> &mut [u8] {
        let w = usize::from(self.w);
        self.slot(w, self.rx_head, i)
    }

    /// Queues an event at the end, in the order things happened. Full: room is made (and
    /// counted in `events_dropped`) as the full link does: the oldest `Up` goes if there is
    /// one (the link still says whether it is up, and the newest event is always the current
    /// state); else the oldest `Down` that discarded nothing; else the two oldest `Down`s
    /// become one, naming every message from the first's to the end of the second's (any
    /// acknowledged in between are named too) with the later reason, so that no discarded
    /// message goes unreported. Only when that range would not fit `unacked` (65,535) is the
    /// oldest `Down` dropped. The events after the one removed keep their order.
    fn push_event(&mut self, e: Event) {
        if usize::from(self.ev_len) >= EVENTS {
            inc(&mut self.stats.events_dropped);
            let q = &mut self.events;
            let up = q.iter().position(|s| *s == Some(Event::Up));
            let empty = || {
                q.iter()
                    .position(|s| matches!(s, Some(Event::Down { unacked: 0, .. })))
            };
            let i = match up.or_else(empty) {
                Some(i) => i,
                None => {
                    // Only Downs with messages: the second oldest takes in the oldest.
                    if let [Some(o), Some(n), ..] = q {
                        if let Some(both) = merged(*o, *n) {
                            *n = both;
                        }
                    }
                    0
                }
            };
            remove_event(q, i);
            self.ev_len -= 1;
        }
        if let Some(s) = self.events.get_mut(usize::from(self.ev_len)) {
            *s = Some(e);
        }
        self.ev_len += 1;
    }

    fn send(&mut self, channel: u8, msg: &[u8]) -> Result<MessageId, SendError> {
        if !self.up || self.close_due {
            return Err(SendError::NotConnected);
        }
        if msg.len() > usize::from(self.m.min(self.peer_max)) {
            return Err(SendError::TooLarge);
        }
        if self.tx_count >= self.w {
            inc(&mut self.stats.send_full);
            return Err(SendError::Full);
        }
        let slot = self.tx_slot(self.tx_count);
        let [l0, l1] = (msg.len() as u16).to_le_bytes();
        if let Some(h) = slot.get_mut(..SLOT_HEAD) {
            h.copy_from_slice(&[l0, l1, channel, 0]);
        }
        if let Some(d) = slot.get_mut(SLOT_HEAD..SLOT_HEAD + msg.len()) {
            d.copy_from_slice(msg);
        }
        if let Some(z) = self.zip {
            // Compressed into the slot, never longer than the message.
            (z.compress)(self, msg);
        }
        self.tx_count += 1;
        let id = MessageId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        inc(&mut self.stats.sent_reliable);
        Ok(id)
    }

    fn recv(&mut self, out: &mut [u8]) -> Result<Option<Received>, RecvError> {
        if self.rx_count == 0 {
            return Ok(None);
        }
        let zip = self.zip;
        let slot = self.rx_slot(0);
        let (len, channel, code) = match *slot {
            [l0, l1, ch, r, ..] => (usize::from(u16::from_le_bytes([l0, l1])), ch, r),
            _ => (0, 0, 0),
        };
        if let (true, Some(z)) = (code != 0, zip) {
            return (z.recv)(self, code, len, out);
        }
        let msg = slot.get(SLOT_HEAD..SLOT_HEAD + len).unwrap_or_default();
        let dst = out
            .get_mut(..msg.len())
            .ok_or(RecvError::BufferTooSmall { needed: msg.len() })?;
        dst.copy_from_slice(msg);
        self.taken();
        inc(&mut self.stats.delivered_reliable);
        Ok(Some(Received {
            channel,
            len,
            reliable: true,
        }))
    }

    /// The oldest received message was taken: its slot is free.
    fn taken(&mut self) {
        self.rx_head += 1;
        if self.rx_head >= self.w {
            self.rx_head = 0;
        }
        self.rx_count -= 1;
        // A window that was closed or below half opens to half or more: say so at once.
        let open = self.w - self.rx_count;
        if self.up
            && u16::from(self.advertised) * 2 < u16::from(self.w)
            && u16::from(open) * 2 >= u16::from(self.w)
        {
            self.ack_now = true;
        }
    }

    /// The receive window to announce: free receive slots.
    fn rx_window(&self) -> u8 {
        self.w - self.rx_count
    }

    /// This side's current nonce.
    fn nonce(&self) -> [u8; NONCE_LEN] {
        crate::link::nonce_for(self.seed, self.attempt)
    }

    /// Takes a fresh nonce.
    fn renew(&mut self) {
        self.attempt = self.attempt.wrapping_add(1);
        self.nonce_used = false;
        self.nonce_sent = false;
    }

    /// Ends the session (if up) and starts a new handshake with a fresh nonce.
    fn fail(&mut self, reason: DownReason) {
        if self.up {
            self.end_session(reason);
        }
        if self.nonce_used {
            self.renew();
        }
        self.hello_due = self.now;
        self.hello_backoff = self.cfg.rto_initial;
    }

    fn end_session(&mut self, reason: DownReason) {
        let unacked = self.tx_count;
        let first = MessageId(self.next_id.wrapping_sub(u32::from(unacked)));
        self.stats.discarded_on_reset = self
            .stats
            .discarded_on_reset
            .wrapping_add(u32::from(unacked));
        self.tx_count = 0;
        self.tx_hw = 0;
        self.tx_cursor = 0;
        self.hold = false;
        self.rtx_at = None;
        self.up = false;
        self.close_due = false;
        inc(&mut self.stats.link_downs);
        self.push_event(Event::Down {
            reason,
            unacked: u16::from(unacked),
            first,
        });
    }

    /// Starts the session `p` (ending the current one: the peer restarted).
    fn start_session(&mut self, p: Pending) {
        if self.up {
            self.end_session(DownReason::PeerRestarted);
        }
        self.up = true;
        self.nonce_used = true;
        self.pending = None;
        self.answer = false;
        self.tag = p.tag;
        self.peer_nonce = p.nonce;
        self.peer_max = p.max_message;
        self.peer_window = p.window;
        if let Some(z) = self.zip {
            (z.start)(self);
        }
        self.tx_seq = p.isn_tx;
        self.tx_hw = 0;
        self.tx_cursor = 0;
        self.tries = 0;
        self.backoff = 0;
        self.hold = false;
        self.rtx_at = None;
        // In-order messages not yet taken stay deliverable; numbering starts anew.
        self.rx_next = p.isn_rx;
        self.ack_at = None;
        self.unacked_in_order = 0;
        self.advertised = self.rx_window();
        self.echo = None;
        self.ping_due = false;
        self.last_rx = self.now;
        self.last_tx = self.now;
        inc(&mut self.stats.sessions);
        self.push_event(Event::Up);
    }
}

/// Takes event `i` out of the queue; the later ones move up one place, in order (one by one:
/// `rotate_left` would link a `memmove`).
fn remove_event(q: &mut [Option<Event>; EVENTS], i: usize) -> Option<Event> {
    let e = q.get_mut(i).and_then(Option::take);
    for j in i..EVENTS - 1 {
        let next = q.get_mut(j + 1).and_then(Option::take);
        if let Some(s) = q.get_mut(j) {
            *s = next;
        }
    }
    e
}

/// A payload representation as kept in a slot (0: raw; 1: shared raw; above 1: compressed).
fn repr_code(c: Compression) -> u8 {
    match c {
        Compression::None => 0,
        Compression::SharedRaw => 1,
        Compression::Deflate => 2,
        Compression::Shared => 3,
        Compression::Dictionary(_) => 4,
    }
}

/// The representation of slot code `code` (`dict`: the dictionary it was made with).
fn repr_of(code: u8, dict: u8) -> Compression {
    match code {
        1 => Compression::SharedRaw,
        2 => Compression::Deflate,
        3 => Compression::Shared,
        4 => Compression::Dictionary(dict),
        _ => Compression::None,
    }
}

/// The one `Down` that names the messages of two: from `older`'s first to the end of
/// `newer`'s, with `newer`'s reason; `None` when that range is longer than `unacked` can say.
fn merged(older: Event, newer: Event) -> Option<Event> {
    let (
        Event::Down { first, .. },
        Event::Down {
            reason,
            unacked,
            first: last,
        },
    ) = (older, newer)
    else {
        return None;
    };
    let end = last.0.wrapping_add(u32::from(unacked));
    let span = u16::try_from(end.wrapping_sub(first.0)).ok()?;
    Some(Event::Down {
        reason,
        unacked: span,
        first,
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn down(first: u32, unacked: u16) -> Event {
        Event::Down {
            reason: DownReason::LocalClose,
            unacked,
            first: MessageId(first),
        }
    }

    fn drain(l: &mut CompactLink<'_>) -> std::vec::Vec<Event> {
        core::iter::from_fn(|| l.poll_event()).collect()
    }

    /// Events come out in the order they happened; a full queue drops the oldest `Up`, then
    /// an empty `Down`, then merges the two oldest `Down`s; the last event is the newest.
    #[test]
    fn event_overflow_keeps_order_and_names_every_message() {
        let mut mem = [0u8; memory_len(1, 16)];
        let cfg = CompactConfig {
            window: 1,
            max_message: 16,
            ..CompactConfig::DEFAULT
        };
        let mut l = CompactLink::new(cfg, 1, &mut mem).unwrap();
        // Up, Down 0, Up, Down 1, Up, Down 2, Up: the three oldest Ups go.
        l.c.push_event(Event::Up);
        for i in 0..3 {
            l.c.push_event(down(i, 1));
            l.c.push_event(Event::Up);
        }
        assert_eq!(l.stats().events_dropped, 3);
        assert_eq!(
            drain(&mut l),
            [down(0, 1), down(1, 1), down(2, 1), Event::Up]
        );
        // An Up polled in between: the ring wraps, order holds.
        l.c.push_event(Event::Up);
        assert_eq!(l.poll_event(), Some(Event::Up));
        l.c.push_event(down(3, 0));
        l.c.push_event(down(4, 2));
        l.c.push_event(down(6, 1));
        l.c.push_event(down(7, 1));
        // Full of Downs: the empty one (3) goes.
        l.c.push_event(down(8, 1));
        assert_eq!(
            drain(&mut l),
            [down(4, 2), down(6, 1), down(7, 1), down(8, 1)]
        );
        // Only Downs with messages: the two oldest merge (4..7), then the Up is last.
        for e in [down(4, 2), down(6, 1), down(7, 1), down(8, 1), Event::Up] {
            l.c.push_event(e);
        }
        assert_eq!(
            drain(&mut l),
            [down(4, 3), down(7, 1), down(8, 1), Event::Up]
        );
        // A range too long to merge: the oldest Down goes.
        for e in [
            down(0, 1),
            down(70_000, 1),
            down(70_001, 1),
            down(70_002, 1),
        ] {
            l.c.push_event(e);
        }
        l.c.push_event(Event::Up);
        assert_eq!(
            drain(&mut l),
            [down(70_000, 1), down(70_001, 1), down(70_002, 1), Event::Up]
        );
        assert_eq!(l.stats().events_dropped, 6);
    }

    /// Two datagram links of window 4 with a session up.
    fn up_pair<'m>(ma: &'m mut [u8], mb: &'m mut [u8]) -> (CompactLink<'m>, CompactLink<'m>) {
        let cfg = CompactConfig {
            transport: Transport::Datagram,
            window: 4,
            max_message: 32,
            ..CompactConfig::DEFAULT
        };
        let mut a = CompactLink::new(cfg, 1, ma).unwrap();
        let mut b = CompactLink::new(cfg, 2, mb).unwrap();
        let mut buf = [0u8; 128];
        for now in 0..10 {
            while let Ok(Some(n)) = a.poll_transmit(now, &mut buf) {
                b.handle_datagram(&buf[..n], now);
            }
            while let Ok(Some(n)) = b.poll_transmit(now, &mut buf) {
                a.handle_datagram(&buf[..n], now);
            }
        }
        assert!(a.is_up() && b.is_up());
        (a, b)
    }

    /// SACK bits up to the last number assigned are taken (sent or not); beyond it they are
    /// `bad_ack` (PROTOCOL.md 4.3), the rest of the ack applied.
    #[test]
    fn sack_bits_beyond_the_last_assigned_are_bad_ack() {
        let (mut ma, mut mb) = ([0u8; memory_len(4, 32)], [0u8; memory_len(4, 32)]);
        let (mut a, _b) = up_pair(&mut ma, &mut mb);
        let mut buf = [0u8; 128];
        // Three assigned, one sent (the peer's window is 1).
        a.c.peer_window = 1;
        for _ in 0..3 {
            a.send(0, b"m", 20).unwrap();
        }
        assert!(a.poll_transmit(20, &mut buf).unwrap().is_some());
        assert_eq!((a.c.tx_count, a.c.tx_hw), (3, 1));
        let next = a.c.tx_seq;
        let ack = |sack| crate::frame::Ack {
            next,
            window: 1,
            sack: Some(sack),
        };
        // Numbers next+1, next+2: assigned, not sent: fine, and not marked received.
        a.c.on_ack(ack(0b11), None);
        assert_eq!(a.stats().bad_ack, 0);
        assert!(a.c.tx_slot(1)[3] & SACKED == 0);
        // next+3: never assigned.
        a.c.on_ack(ack(0b100), None);
        assert_eq!(a.stats().bad_ack, 1);
        assert_eq!(a.c.peer_window, 1);
    }

    /// A main loop that calls `handle_timeout` whenever `poll_timeout` is due, then sends
    /// until `poll_transmit` has nothing, never spins: at most 20 calls in any simulated
    /// second, alone (no peer), once a peer appears, and once it falls silent again.
    #[test]
    fn a_timer_driven_loop_does_not_spin() {
        let cfg = CompactConfig {
            transport: Transport::Datagram,
            window: 2,
            max_message: 32,
            ..CompactConfig::DEFAULT
        };
        let (mut ma, mut mb) = ([0u8; memory_len(2, 32)], [0u8; memory_len(2, 32)]);
        let mut a = CompactLink::new(cfg, 1, &mut ma).unwrap();
        let mut b = CompactLink::new(cfg, 2, &mut mb).unwrap();
        let mut buf = [0u8; 128];
        let (mut now, mut calls, mut worst, mut second) = (0u64, 0u32, 0u32, 0u64);
        let mut ups = 0;
        // 0..10 s: a alone; 10..30 s: b answers; 30..50 s: b gone (a goes down, retries).
        while now < 50_000 {
            let peer = (10_000..30_000).contains(&now);
            let due = a.poll_timeout().unwrap_or(u64::MAX);
            let b_due = if peer {
                b.poll_timeout().unwrap_or(u64::MAX)
            } else {
                u64::MAX
            };
            // The clock jumps to the next deadline (now at the least: a past deadline is due).
            let next = due.min(b_due).max(now).min(now + 1000);
            if next / 1000 != second {
                worst = worst.max(calls);
                calls = 0;
                second = next / 1000;
            }
            now = next;
            if now >= due {
                a.handle_timeout(now);
                calls += 1;
            }
            if peer && now >= b_due {
                b.handle_timeout(now);
            }
            // Each side sends until it has nothing, also after what the other sent.
            let mut busy = true;
            while busy {
                busy = false;
                while let Ok(Some(n)) = a.poll_transmit(now, &mut buf) {
                    if peer {
                        b.handle_datagram(&buf[..n], now);
                    }
                }
                while let Ok(Some(n)) = b.poll_transmit(now, &mut buf) {
                    if peer {
                        a.handle_datagram(&buf[..n], now);
                        busy = true;
                    }
                }
            }
            while let Some(e) = a.poll_event() {
                ups += usize::from(e == Event::Up);
            }
            if !peer && now < 10_000 {
                assert!(!a.is_up());
            }
            // Time must move on: no deadline stays in the past after a full round.
            assert!(a.poll_timeout().is_none_or(|t| t > now), "spin at {now}");
        }
        assert_eq!(ups, 1);
        assert_eq!(a.stats().link_downs, 1);
        assert!(worst <= 20, "{worst} handle_timeout calls in one second");
    }
}
