//! The reliable link: a sans-IO state machine (`PROTOCOL.md` section 4).
//!
//! [`Link`] never touches a socket, a UART or a clock. The caller
//! - feeds what arrives: [`Link::handle_input`] (stream bytes) or [`Link::handle_datagram`];
//! - drains what to send: [`Link::poll_transmit`] until it returns `Ok(None)`;
//! - passes the time in milliseconds to every call and calls [`Link::handle_timeout`] at
//!   [`Link::poll_timeout`];
//! - sends with [`Link::send`], takes messages with [`Link::recv`], events with
//!   [`Link::poll_event`].
//!
//! Memory is the caller's ([`LinkBuffers`], or [`LinkStorage`] in one `static`): the window
//! (messages in flight each way) and the largest message are whatever those buffers hold.
//! Compression ([`Link::set_codec`]) and authenticated encryption ([`Link::enable_aead`]) are
//! installed separately, with memory of their own, so firmware that does not use them links
//! none of their code. Nothing is allocated.
//!
//! The link is split by concern, one file each: `session` (handshake, capabilities),
//! `transmit` (what to send next, framing), `recovery` (loss detection, RTT, timers of the
//! send window), `receive` (incoming frames, acknowledgements, delivery), `timers` (the clock).
//!
//! ```
//! use ferrule::link::{frame_buffer_len, max_frame_len, Config, Event, Link, LinkStorage, Transport};
//!
//! type Storage = LinkStorage<4, 64, { frame_buffer_len(64) }>;
//! let (mut sa, mut sb) = (Storage::new(), Storage::new());
//! let cfg = Config { transport: Transport::Datagram, ..Config::default() };
//! let mut a = Link::new(cfg, 1, sa.buffers()).unwrap();
//! let mut b = Link::new(cfg, 2, sb.buffers()).unwrap();
//! let mut buf = [0u8; max_frame_len(64)];
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
//!         b.handle_datagram(&buf[..n], now);
//!     }
//!     while let Ok(Some(n)) = b.poll_transmit(now, &mut buf) {
//!         a.handle_datagram(&buf[..n], now);
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
mod events;
pub mod fec;
pub mod hello;
mod receive;
mod recovery;
mod rtt;
pub mod seal;
mod session;
mod stats;
pub mod storage;
mod timers;
mod transmit;

pub use config::{ChannelMap, Config, Transport};
pub use events::{DownReason, Event, MessageId};
pub use fec::{Fec, FecConfig, FecStats, Repair};
pub use hello::Hello;
pub use rtt::Rtt;
#[cfg(feature = "aead")]
pub use seal::Guard;
pub use seal::{AeadStatus, KeySet, OpenError, Sealer, SessionParams};
/// The keyless session derivation and nonce formation, shared with [`crate::compact`] so both
/// implementations agree by construction.
pub(crate) use session::{nonce_for, plain_params};
pub use stats::LinkStats;
pub use storage::{
    frame_buffer_len, max_frame_len, CheckedSetup, LinkBuffers, LinkStorage, RxSlot, SetupError,
    TxSlot,
};

use crate::compress::{Codec, DecompressError};
use crate::decoder::Decoder;
use managed::{Managed, ManagedSlice};

/// Why [`Link::send`] refused a message. The message was not taken; nothing is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SendError {
    /// The send window (or the best-effort mailbox) is full: try again after some traffic.
    Full,
    /// The message is larger than this link's largest message or the peer's.
    TooLarge,
    /// No session is up, or it is ending ([`Link::close`]): wait for [`Event::Up`].
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

/// What [`Link::send`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Sent {
    /// Queued on the reliable service under this id: it is delivered exactly once, or
    /// reported in [`Event::Down`]; [`Link::acked_before`] tells when it was acknowledged.
    Reliable(MessageId),
    /// Queued on the best-effort service (delivered at most once, never reported).
    BestEffort,
}

/// Why [`Link::recv`] could not hand out a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RecvError {
    /// The output buffer is too short; `needed` bytes are required (the message length, or
    /// the largest message for a compressed one). The message stays queued.
    BufferTooSmall {
        /// Bytes required.
        needed: usize,
    },
    /// The message did not decompress; it was dropped (counted in `decompress_failed`). If it
    /// was part of the shared stream, the session ends ([`DownReason::DecompressFailed`]).
    Decompress {
        /// Channel it arrived on.
        channel: u8,
        /// Whether it came over the reliable, ordered service.
        reliable: bool,
        /// Why.
        error: DecompressError,
    },
}

impl core::fmt::Display for RecvError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BufferTooSmall { needed } => write!(f, "buffer too small: {needed} bytes needed"),
            Self::Decompress { channel, error, .. } => {
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

/// The memory areas of the windows and mailboxes.
struct Areas<'a> {
    tx_slots: ManagedSlice<'a, TxSlot>,
    rx_slots: ManagedSlice<'a, RxSlot>,
    tx_data: ManagedSlice<'a, u8>,
    rx_data: ManagedSlice<'a, u8>,
    #[cfg_attr(not(feature = "best-effort"), allow(dead_code))]
    best_effort: ManagedSlice<'a, u8>,
}

/// The frame buffer, as the stream decoder takes it.
struct FrameBuf<'a>(ManagedSlice<'a, u8>);

impl AsRef<[u8]> for FrameBuf<'_> {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl AsMut<[u8]> for FrameBuf<'_> {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

/// The link state machine. See the [module docs](self).
pub struct Link<'a> {
    cfg: Config,
    /// Slots each way.
    window: u8,
    /// Largest message, bytes.
    max_message: u16,
    areas: Areas<'a>,
    decoder: Decoder<FrameBuf<'a>>,
    codec: Option<Managed<'a, dyn Codec + 'a>>,
    sealer: Option<Managed<'a, dyn Sealer + 'a>>,
    fec: Option<Managed<'a, dyn Repair + 'a>>,
    session: session::Session,
    tx: transmit::Sender,
    rx: receive::Receiver,
    rec: recovery::Recovery,
    #[cfg(feature = "best-effort")]
    best_effort: best_effort::BestEffort,
    timers: timers::Timers,
    events: events::Events,
    stats: stats::Counters,
    now: u64,
}

// A link can be moved into an interrupt handler's state, a `critical_section::Mutex` or an
// RTIC shared resource: it is `Send` (its services are), checked here at compile time.
const _: () = {
    const fn is_send<T: Send>() {}
    is_send::<Link<'static>>();
};

/// The latest time a link takes (2^63 ms, 292 million years): a clock must stay below it
/// (milliseconds since boot or since the Unix epoch do). A later time counts as this one, so
/// deadlines (`now` plus at most a `u32` of milliseconds) never overflow; but the link's clock
/// then stands still and its timers stop (no retransmission, keepalive or hello retry), and
/// `poll_timeout` may keep returning a deadline the caller's clock has passed (a loop that
/// sleeps until it spins).
pub const MAX_NOW: u64 = 1 << 63;

/// `now`, or [`MAX_NOW`] if it is later. Out of line: one copy for the six entry points.
#[inline(never)]
fn clamp_now(now: u64) -> u64 {
    now.min(MAX_NOW)
}

impl<'a> Link<'a> {
    /// A link over `buffers` that starts its handshake at once. `seed` must never repeat for
    /// links holding the same pre-shared key (with AEAD), and should differ on every boot in
    /// any case: a 64-bit hardware random number, or a boot counter kept in non-volatile
    /// memory and incremented before use, with a device number in its top bits. The
    /// handshake nonces are made from it (`PROTOCOL.md` section 4.1).
    ///
    /// The link is returned by value, so it passes through the stack (about a kilobyte on a
    /// 32-bit target). Firmware that keeps its link in a `static` builds it in place
    /// instead: [`Link::check`], then [`Link::init_in`].
    pub fn new(cfg: Config, seed: u64, buffers: LinkBuffers<'a>) -> Result<Self, SetupError> {
        Ok(Self::from_checked(Self::check(cfg, buffers)?, seed))
    }

    /// Checks that `cfg` and `buffers` make a link (what [`Link::new`] checks first) and
    /// keeps them for [`Link::from_checked`].
    pub fn check(cfg: Config, buffers: LinkBuffers<'a>) -> Result<CheckedSetup<'a>, SetupError> {
        let (window, max_message) = buffers.dimensions()?;
        if cfg.rto_initial == 0 || cfg.rto_min == 0 || cfg.rto_min > cfg.rto_max {
            return Err(SetupError::Timers);
        }
        Ok(CheckedSetup {
            cfg,
            buffers,
            window: window as u8,
            max_message: max_message as u16,
        })
    }

    /// The link a checked setup makes. Infallible, so it can be written straight into its
    /// destination (a `static`, or memory a C caller gave) without a `Result` of the link's
    /// size on the stack first:
    ///
    /// ```
    /// use ferrule::link::{Config, Link, LinkStorage};
    ///
    /// let storage = Box::leak(Box::new(LinkStorage::<4, 128, { ferrule::link::frame_buffer_len(128) }>::new()));
    /// let setup = Link::check(Config::default(), storage.buffers()).unwrap();
    /// let mut slot = None;
    /// let link = slot.insert(Link::from_checked(setup, 7));
    /// assert!(!link.is_up());
    /// ```
    #[inline(always)]
    pub fn from_checked(mut setup: CheckedSetup<'a>, seed: u64) -> Self {
        let best_effort = setup.take_best_effort();
        let mut link = Self::empty();
        link.install(setup, seed);
        link.attach_given(best_effort);
        link
    }

    /// A link without buffers, made of constants only, so [`Link::init_in`] can write it into
    /// place without building it on the stack first; then it fills in what a setup gives.
    #[inline(always)]
    fn empty() -> Self {
        Self {
            cfg: Config::DEFAULT,
            window: 0,
            max_message: 0,
            areas: Areas {
                tx_slots: ManagedSlice::Borrowed(&mut []),
                rx_slots: ManagedSlice::Borrowed(&mut []),
                tx_data: ManagedSlice::Borrowed(&mut []),
                rx_data: ManagedSlice::Borrowed(&mut []),
                best_effort: ManagedSlice::Borrowed(&mut []),
            },
            decoder: Decoder::with_buffer(FrameBuf(ManagedSlice::Borrowed(&mut []))),
            codec: None,
            sealer: None,
            fec: None,
            session: session::Session::new(0, 1),
            tx: transmit::Sender::new(),
            rx: receive::Receiver::new(),
            rec: recovery::Recovery::new(),
            #[cfg(feature = "best-effort")]
            best_effort: best_effort::BestEffort::new(),
            timers: timers::Timers::new(),
            events: events::Events::new(),
            stats: stats::Counters::new(),
            now: 0,
        }
    }

    /// Writes the link a checked setup makes into `slot` and returns it: a constant empty
    /// link is copied in and the setup's parts are filled in field by field, so
    /// initialisation needs little stack whatever the link's size (for memory a C caller
    /// gave, or a `static`).
    #[inline(never)]
    pub fn init_in<'s>(
        slot: &'s mut core::mem::MaybeUninit<Self>,
        setup: CheckedSetup<'a>,
        seed: u64,
    ) -> &'s mut Self {
        let mut setup = setup;
        let best_effort = setup.take_best_effort();
        let link = Self::write_in(slot, setup, seed);
        link.attach_given(best_effort);
        link
    }

    /// [`Link::init_in`] for a caller that turns the best-effort channel on separately
    /// ([`Link::enable_best_effort`]), so that a link without it does not link its code (the
    /// C API). A best-effort area in the setup is left unused.
    #[doc(hidden)]
    #[inline(never)]
    pub fn init_in_bare<'s>(
        slot: &'s mut core::mem::MaybeUninit<Self>,
        setup: CheckedSetup<'a>,
        seed: u64,
    ) -> &'s mut Self {
        Self::write_in(slot, setup, seed)
    }

    /// The body of both: the constant empty link written into `slot`, then filled in.
    #[inline(always)]
    fn write_in<'s>(
        slot: &'s mut core::mem::MaybeUninit<Self>,
        setup: CheckedSetup<'a>,
        seed: u64,
    ) -> &'s mut Self {
        let link = slot.write(Self::empty());
        link.install(setup, seed);
        link
    }

    /// Turns the best-effort channel on when the buffers brought its area (checked by
    /// [`Link::check`]).
    #[inline(always)]
    fn attach_given(&mut self, best_effort: ManagedSlice<'a, u8>) {
        #[cfg(feature = "best-effort")]
        if !best_effort.is_empty() {
            // The area's length was checked with the buffers.
            let _checked = self.attach_best_effort(best_effort);
        }
        #[cfg(not(feature = "best-effort"))]
        let _ = best_effort;
    }

    /// Fills an empty link (`Link::empty`) in with what a checked setup gives, field by field,
    /// but for the best-effort area, which only turning the service on attaches.
    #[inline(always)]
    fn install(&mut self, setup: CheckedSetup<'a>, seed: u64) {
        let CheckedSetup {
            cfg,
            buffers,
            window,
            max_message,
        } = setup;
        let LinkBuffers {
            mut tx_slots,
            mut rx_slots,
            tx_data,
            rx_data,
            frame,
            best_effort,
        } = buffers;
        tx_slots.fill(TxSlot::EMPTY);
        rx_slots.fill(RxSlot::EMPTY);
        self.cfg = cfg;
        self.window = window;
        self.max_message = max_message;
        self.areas = Areas {
            tx_slots,
            rx_slots,
            tx_data,
            rx_data,
            best_effort: ManagedSlice::Borrowed(&mut []),
        };
        self.decoder.replace_buffer(FrameBuf(frame));
        self.session.reseed(seed, cfg.rto_initial);
        let _unattached = best_effort;
    }

    /// Bytes of memory a link takes in all: the `Link` value itself and its buffers, for a
    /// window of `window` messages of up to `max_message` bytes, with or without the
    /// best-effort mailboxes.
    pub const fn memory(window: usize, max_message: usize, best_effort: bool) -> usize {
        core::mem::size_of::<Self>()
            + window * (core::mem::size_of::<TxSlot>() + core::mem::size_of::<RxSlot>())
            + 2 * window * max_message
            + frame_buffer_len(max_message)
            + if best_effort { 2 * max_message } else { 0 }
    }

    /// Installs a codec (see [`crate::compress`]): this side then announces what it can
    /// decompress, and compresses what it sends as the peer allows. A session that is up ends
    /// ([`DownReason::LocalClose`]): capabilities are fixed per session.
    pub fn set_codec(&mut self, codec: impl Into<Managed<'a, dyn Codec + 'a>>) {
        self.codec = Some(codec.into());
        self.restart(DownReason::LocalClose);
    }

    /// The installed codec, for its statistics.
    pub fn codec(&self) -> Option<&(dyn Codec + 'a)> {
        self.codec.as_deref()
    }

    /// Turns on authenticated encryption (`PROTOCOL.md` section 6) with `sealer`
    /// (usually a `Guard` holding the pre-shared key). From now on every frame is sealed
    /// and unsealed ones are dropped (`unauthenticated`). Call it right after creating the
    /// link; a session that is up ends ([`DownReason::LocalClose`]) and the next handshake is
    /// authenticated.
    pub fn enable_aead(&mut self, sealer: impl Into<Managed<'a, dyn Sealer + 'a>>) {
        self.sealer = Some(sealer.into());
        self.restart(DownReason::LocalClose);
    }

    /// Turns on forward error correction (`PROTOCOL.md` section 7) with `fec` (usually
    /// a [`Fec`] over memory of its own): this side announces what it repairs, and protects
    /// what it sends as far as the peer repairs it. A session that is up ends
    /// ([`DownReason::LocalClose`]): capabilities are fixed per session.
    pub fn enable_fec(&mut self, fec: impl Into<Managed<'a, dyn Repair + 'a>>) {
        self.fec = Some(fec.into());
        self.restart(DownReason::LocalClose);
    }

    /// The link's side of AEAD, when AEAD is enabled.
    fn aead_glue(&self) -> Option<&'static seal::Glue> {
        self.sealer.as_deref().map(|s| s.glue())
    }

    /// The link's side of FEC, when FEC is installed.
    fn fec_glue(&self) -> Option<&'static fec::Glue> {
        self.fec.as_deref().map(|f| f.glue())
    }

    /// Where the installed AEAD object lives, address and size (`None` while AEAD is off),
    /// for a C layer that checks a new service's memory against it. The object itself stays
    /// private: it holds the pre-shared key.
    pub fn sealer_extent(&self) -> Option<(usize, usize)> {
        self.sealer.as_deref().map(|s| {
            let at = core::ptr::from_ref(s).cast::<u8>() as usize;
            (at, core::mem::size_of_val(s))
        })
    }

    /// The installed forward error correction, when FEC is enabled.
    pub fn repair(&self) -> Option<&(dyn Repair + 'a)> {
        self.fec.as_deref()
    }

    /// The installed forward error correction's counters (zero without it).
    pub fn fec_stats(&self) -> FecStats {
        self.fec.as_deref().map(|f| f.stats()).unwrap_or_default()
    }

    /// Rekeys: seals with the new pre-shared key `key`, named `id`, from now on, and keeps
    /// opening frames under the previous one. The session continues. Rekey both sides;
    /// frames that reach a side before it has the new key are dropped (`unknown_key`) and
    /// retransmitted, so rekeying both within the retry budget loses nothing on reliable
    /// channels. Returns `false` (and changes nothing) when AEAD is not enabled. A handshake
    /// the peer keyed with a key this side no longer holds (neither the new one nor the one
    /// before) is dropped: its `HELLO_ACK` could not be authenticated; the peer's next
    /// `HELLO` starts over.
    #[must_use = "false: AEAD is not enabled and no key was installed"]
    pub fn set_key(&mut self, id: u8, key: &[u8; 32]) -> bool {
        let Some(s) = self.sealer.as_deref_mut() else {
            return false;
        };
        s.set_key(id, key);
        if let Some(p) = &self.session.pending {
            if s.hello_mac(p.key_id, &[]).is_none() {
                self.session.pending = None;
                self.session.answer = false;
            }
        }
        true
    }

    /// The key id and counter this side seals with; `None` while AEAD is off.
    pub fn aead_status(&self) -> Option<AeadStatus> {
        self.sealer.as_deref().map(|s| s.status())
    }

    /// Slots each way: messages in flight at most.
    pub fn window(&self) -> usize {
        usize::from(self.window)
    }

    /// The largest message this link sends and receives.
    pub fn max_message(&self) -> usize {
        usize::from(self.max_message)
    }

    /// Bytes `poll_transmit`'s buffer needs for the largest frame this link sends
    /// ([`max_frame_len`] of its largest message).
    pub fn max_frame_len(&self) -> usize {
        max_frame_len(self.max_message())
    }

    /// The largest message that fits, in the worst case, in a frame of `frame_len` bytes on
    /// this link's transport (a UDP payload limit, a radio MTU, a DMA buffer). Compression
    /// never expands a message, so this holds for every mode; capped at this link's largest
    /// message and at the peer's once a session is up.
    pub fn max_message_for_frame(&self, frame_len: usize) -> usize {
        let room = match self.cfg.transport {
            Transport::Datagram => crate::encode::max_payload_for_datagram(frame_len),
            Transport::Stream => crate::encode::max_payload_for_stream_frame(frame_len),
        };
        room.saturating_sub(self.seal_overhead())
            .min(self.send_limit())
    }

    /// Whether a session is up (until the CLOSE of [`Link::close`] is out, too).
    pub fn is_up(&self) -> bool {
        self.session.up
    }

    /// Counters and RTT estimates (including the framing decoder's reject counters).
    pub fn stats(&self) -> LinkStats {
        let mut s = LinkStats::new();
        self.write_stats(&mut s);
        s
    }

    /// Writes the statistics into `out`, every field: what [`Link::stats`] returns, without
    /// the copy through the stack (for small stacks, and for the C API, which fills the
    /// caller's struct this way).
    pub fn write_stats(&self, out: &mut LinkStats) {
        self.stats.write_into(out);
        out.framing = *self.decoder.stats();
        out.rtt_min = self.rec.rtt.min();
        out.srtt = self.rec.rtt.srtt();
        out.rttvar = self.rec.rtt.rttvar();
        out.rto = self.rec.pto(&self.cfg);
        let f = self.fec_stats();
        out.fec_recovered = f.recovered;
        out.fec_unrecoverable = f.unrecoverable;
        out.parity_sent = f.parity_sent;
        out.parity_dropped = f.parity_dropped;
        out.parity_unneeded = f.parity_unneeded;
        out.parity_rejected = f.parity_rejected;
    }

    /// Queues a message on `channel` (reliable or best effort per the configuration and what
    /// the peer accepts).
    pub fn send(&mut self, channel: u8, msg: &[u8], now: u64) -> Result<Sent, SendError> {
        let now = clamp_now(now);
        self.now = now;
        self.queue(channel, msg)
    }

    /// Copies the next delivered message into `out`.
    pub fn recv(&mut self, out: &mut [u8]) -> Result<Option<Received>, RecvError> {
        self.deliver(out)
    }

    /// Free reliable send slots right now.
    pub fn send_capacity(&self) -> usize {
        self.window().saturating_sub(self.tx.outstanding())
    }

    /// Every reliable message with an id below this one has been acknowledged by the peer,
    /// or reported discarded in an [`Event::Down`].
    pub fn acked_before(&self) -> MessageId {
        self.tx.acked_before()
    }

    /// The next lifecycle event. Four are kept; when the application falls behind, room is
    /// made by dropping the oldest `Up`, else the oldest `Down` that discarded nothing, else
    /// by merging the two oldest `Down`s into one that names every message from the first's
    /// `first` to the end of the second's (messages confirmed in between are named too;
    /// resending a `Down`'s messages is at-least-once anyway). Each counts in
    /// `events_dropped`. A `Down` is lost only when that range exceeds 65,535 ids.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    /// Ends the session. From this call on, [`Link::send`] returns
    /// [`SendError::NotConnected`]; the next [`Link::poll_transmit`] sends CLOSE, ends the
    /// session (until then [`Link::is_up`] is true), reports [`Event::Down`] (`LocalClose`,
    /// with the messages not yet acknowledged) and starts a new handshake. Without a session,
    /// nothing.
    pub fn close(&mut self, now: u64) {
        let now = clamp_now(now);
        self.now = now;
        if self.session.up {
            self.timers.close = Some(DownReason::LocalClose);
        }
    }
}
