//! The send side: queueing messages, deciding what goes out next, building and framing it.

use super::events::MessageId;
use super::hello::Hello;
use super::recovery::age_ms;
use super::timers::silent_ping_interval;
use super::{clamp_now, DownReason, Link, SendError, Sent, Transport, TxSlot};
use crate::encode::{build_frame, EncodeError, Payload as Source, StreamOptions};
use crate::fec::Carries;
use crate::frame::{Ack, AeadField, Compression, Echo, FrameKind, Header};

/// The reliable send window: slot `head` holds sequence number `base`.
pub(super) struct Sender {
    pub head: usize,
    pub base: u16,
    pub next: u16,
    /// The peer's latest cumulative ack and window.
    pub peer_ack: u16,
    pub peer_window: u8,
    /// Id of the next message `send` queues.
    next_id: MessageId,
    /// The peer's window blocks the next new message.
    pub stalled: bool,
}

impl Sender {
    pub const fn new() -> Self {
        Self {
            head: 0,
            base: 0,
            next: 0,
            peer_ack: 0,
            peer_window: 0,
            next_id: MessageId(0),
            stalled: false,
        }
    }

    /// Messages queued and not yet acknowledged.
    pub fn outstanding(&self) -> usize {
        usize::from(self.next.wrapping_sub(self.base))
    }

    pub fn acked_before(&self) -> MessageId {
        MessageId(self.next_id.0.wrapping_sub(self.outstanding() as u32))
    }

    /// A new session numbering from `isn`; the peer takes `window` messages to start with.
    pub fn start(&mut self, isn: u16, window: u8) {
        self.head = 0;
        self.base = isn;
        self.next = isn;
        self.peer_ack = isn;
        self.peer_window = window;
        self.stalled = false;
    }

    /// Gives up every unacknowledged message: returns the first one's id and their count.
    pub fn discard(&mut self) -> (MessageId, u16) {
        let n = self.outstanding();
        let first = self.acked_before();
        self.base = self.next;
        (first, n as u16)
    }

    fn take_id(&mut self) -> MessageId {
        let id = self.next_id;
        self.next_id = id.plus(1);
        id
    }
}

/// What goes into the payload of the next frame of a session.
enum Payload {
    Empty,
    Tx(usize),
    /// The best-effort message waiting to go.
    #[cfg(feature = "best-effort")]
    BestEffort,
    /// The next pending FEC parity.
    Parity,
}

/// What [`Link::pick`] chose to send next.
enum Pick {
    /// `HELLO` (or, answering the pending handshake, `HELLO_ACK`).
    Hello { answer: bool },
    /// A frame of a session.
    Tagged(Tagged),
}

/// A frame of a session [`Link::pick`] chose.
enum Tagged {
    /// A payload-free frame tagged with the session and acknowledgement.
    Control(FrameKind),
    /// The reliable message in send slot `slot`, `off` after the window's base.
    Rdata { slot: usize, off: usize },
    /// The best-effort message waiting to go.
    #[cfg(feature = "best-effort")]
    BestEffort,
    /// A PARITY frame of the closed FEC group.
    Parity,
}

impl Link<'_> {
    /// The largest message this side may send now: its own limit and the peer's.
    pub(super) fn send_limit(&self) -> usize {
        let peer = if self.session.up {
            usize::from(self.session.peer.max_message)
        } else {
            usize::MAX
        };
        self.max_message().min(peer)
    }

    /// Bytes sealing adds to a payload (0 while AEAD is off).
    pub(super) fn seal_overhead(&self) -> usize {
        if self.sealer.is_some() {
            super::storage::TAG_ROOM
        } else {
            0
        }
    }

    /// `max_message` bytes of the send slot `i`.
    fn tx_area(&mut self, i: usize) -> &mut [u8] {
        let m = self.max_message();
        let start = (i % self.window()) * m;
        self.areas
            .tx_data
            .get_mut(start..start + m)
            .unwrap_or_default()
    }

    pub(super) fn queue(&mut self, channel: u8, msg: &[u8]) -> Result<Sent, SendError> {
        // Above this side's own limit a message never fits, session or not; the peer's limit
        // is known once a session is up.
        if msg.len() > self.max_message() {
            return Err(SendError::TooLarge);
        }
        if !self.session.up || self.timers.close.is_some() {
            return Err(SendError::NotConnected);
        }
        if msg.len() > self.send_limit() {
            return Err(SendError::TooLarge);
        }
        #[cfg(feature = "best-effort")]
        if !self.cfg.channels.is_reliable(channel) && self.best_effort_to_peer() {
            if self.best_effort.tx.filled {
                self.stats.send_full += 1;
                return Err(SendError::Full);
            }
            let m = self.max_message();
            let area = self.areas.best_effort.get_mut(..m).unwrap_or_default();
            let (repr, n) = compress(self.codec.as_deref_mut(), false, msg, area);
            let mb = &mut self.best_effort.tx;
            mb.len = n as u16;
            mb.channel = channel;
            mb.compression = repr;
            mb.filled = true;
            self.stats.sent_unreliable += 1;
            return Ok(Sent::BestEffort);
        }
        let outstanding = self.tx.outstanding();
        if outstanding >= self.window() {
            self.stats.send_full += 1;
            return Err(SendError::Full);
        }
        let i = (self.tx.head + outstanding) % self.window();
        let mut codec = self.codec.take();
        let (repr, n) = compress(codec.as_deref_mut(), true, msg, self.tx_area(i));
        self.codec = codec;
        if let Some(slot) = self.areas.tx_slots.get_mut(i) {
            *slot = TxSlot {
                len: n as u16,
                channel,
                compression: repr,
                ..TxSlot::EMPTY
            };
        }
        self.tx.next = self.tx.next.wrapping_add(1);
        self.stats.sent_reliable += 1;
        Ok(Sent::Reliable(self.tx.take_id()))
    }

    /// Writes the next frame to send into `out` (at least [`Link::max_frame_len`] bytes) and
    /// returns its length; `Ok(None)` when there is nothing to send now.
    pub fn poll_transmit(
        &mut self,
        now: u64,
        out: &mut [u8],
    ) -> Result<Option<usize>, EncodeError> {
        let now = clamp_now(now);
        self.now = now;
        self.on_time();
        let mut pick = self.pick();
        if pick.is_none() && !self.session.up {
            // `pick` may just have ended the session (the retry limit): its HELLO is due now.
            pick = self.pick();
        }
        let Some(pick) = pick else {
            return Ok(None);
        };
        let n = match pick {
            Pick::Hello { answer } => self.transmit_hello(answer, out)?,
            Pick::Tagged(pick) => match self.transmit_tagged(pick, out)? {
                Some(n) => n,
                None => return Ok(None),
            },
        };
        self.timers.last_tx = now;
        self.stats.frames_sent += 1;
        self.stats.bytes_sent += n as u64;
        Ok(Some(n))
    }

    /// The framing options of this link's transport (`None`: datagrams).
    fn stream_options(&self) -> Option<StreamOptions> {
        match self.cfg.transport {
            Transport::Stream => Some(StreamOptions {
                leading_delimiter: self.cfg.leading_delimiter,
            }),
            Transport::Datagram => None,
        }
    }

    /// A `HELLO` (or the `HELLO_ACK` answering the pending handshake), its record written
    /// straight into the frame and, under a pre-shared key, its MAC after it (section 4.1).
    #[inline(never)]
    fn transmit_hello(&self, answer: bool, out: &mut [u8]) -> Result<usize, EncodeError> {
        let kind = if answer {
            FrameKind::HelloAck
        } else {
            FrameKind::Hello
        };
        let mut header = Header::control(kind);
        let sealer = self.sealer.as_deref();
        let key_id = self.hello_key_id(answer);
        if sealer.is_some() {
            header.aead = Some(AeadField { key_id, counter: 0 });
        }
        let mac_len = if sealer.is_some() {
            Hello::SEALED_LEN - Hello::LEN
        } else {
            0
        };
        let mut fill = |room: &mut [u8]| {
            self.hello_record(answer).write(room);
            true
        };
        // The MAC covers the header and the record; it takes the place of a tag.
        let mut mac = |body: &mut [u8], _aad: usize| {
            let Some(covered_len) = body.len().checked_sub(mac_len) else {
                return false;
            };
            let (covered, tag) = body.split_at_mut(covered_len);
            match sealer.and_then(|s| s.hello_mac(key_id, covered)) {
                Some(m) => {
                    crate::bytes::copy(tag, &m);
                    true
                }
                None => false,
            }
        };
        // On a stream every hello starts with a delimiter, whatever the configuration: a
        // peer whose decoder holds part of a frame (this side reset in the middle of one, line
        // noise) ends it there, and the hello is not lost with it.
        let lead = self.stream_options().map(|_| StreamOptions {
            leading_delimiter: true,
        });
        build_frame(
            &header,
            Source::Fill(Hello::LEN, &mut fill),
            mac_len,
            lead,
            out,
            &mut mac,
            &mut |_| {},
        )
    }

    /// Every frame of a session: control frames, messages and parity.
    #[inline(never)]
    fn transmit_tagged(
        &mut self,
        pick: Tagged,
        out: &mut [u8],
    ) -> Result<Option<usize>, EncodeError> {
        let now = self.now;
        // The counter first: a frame that cannot be sealed is not built, and its message is not
        // recorded as transmitted.
        let aead = match self.sealer.as_deref_mut().map(|s| s.next_counter()) {
            None => None,
            Some(Some((key_id, counter))) => Some(AeadField { key_id, counter }),
            Some(None) => {
                self.fail(DownReason::NonceExhausted);
                return Ok(None);
            }
        };
        let (mut header, payload) = self.header_for(pick);
        header.aead = aead;
        let stream = self.stream_options();
        let m = self.max_message();
        let bytes: &[u8] = match payload {
            Payload::Empty | Payload::Parity => &[],
            Payload::Tx(i) => {
                let len = self.areas.tx_slots.get(i).map_or(0, |s| usize::from(s.len));
                let start = i * m;
                self.areas
                    .tx_data
                    .get(start..start + len)
                    .unwrap_or_default()
            }
            #[cfg(feature = "best-effort")]
            Payload::BestEffort => {
                let len = usize::from(self.best_effort.tx.len);
                self.areas.best_effort.get(..len).unwrap_or_default()
            }
        };
        let tag_len = if header.aead.is_some() {
            super::storage::TAG_ROOM
        } else {
            0
        };
        let sealer = self.sealer.as_deref();
        let counter = header.aead.map_or(0, |a| a.counter);
        let mut seal =
            |body: &mut [u8], aad: usize| sealer.is_some_and(|s| s.seal(counter, body, aad));
        // What a protected frame carries, for FEC's count of what the peer holds.
        let carries = match (&payload, header.seq) {
            (Payload::Tx(i), Some(seq)) => {
                // `rdata` counted this transmission: 1 means it is the first.
                let first = self.areas.tx_slots.get(*i).is_some_and(|s| s.tx_count == 1);
                if first {
                    Carries::First(seq)
                } else {
                    Carries::Again(seq)
                }
            }
            _ => Carries::Unacked,
        };
        let fec = self.fec.as_deref_mut();
        let n = match (payload, fec) {
            // A parity payload is written straight into the frame.
            (Payload::Parity, Some(f)) => {
                let len = f.parity_len();
                let mut fill = |room: &mut [u8]| f.next_parity(room);
                let source = Source::Fill(len, &mut fill);
                build_frame(
                    &header,
                    source,
                    tag_len,
                    stream,
                    out,
                    &mut seal,
                    &mut |_| {},
                )?
            }
            // A protected frame's body, as it goes out, is FEC's to add to its group.
            (_, mut fec) => {
                let protected = header.fec_seq.is_some();
                let mut protect = |body: &[u8]| {
                    if let Some(f) = fec.as_deref_mut().filter(|_| protected) {
                        f.protect(body, now, carries);
                    }
                };
                let source = Source::Bytes(bytes);
                build_frame(
                    &header,
                    source,
                    tag_len,
                    stream,
                    out,
                    &mut seal,
                    &mut protect,
                )?
            }
        };
        #[cfg(feature = "best-effort")]
        if header.kind == FrameKind::Data {
            self.best_effort.tx.filled = false;
        }
        if header.kind == FrameKind::Close {
            let reason = self.timers.close.unwrap_or(DownReason::LocalClose);
            self.fail(reason);
        }
        Ok(Some(n))
    }

    /// The header of the picked frame, and where its payload comes from (out of line: its
    /// work is not on the stack while the frame is sealed).
    #[inline(never)]
    fn header_for(&mut self, pick: Tagged) -> (Header, Payload) {
        match pick {
            Tagged::Control(kind) => {
                let mut h = self.tagged(kind, 0);
                if kind == FrameKind::Ping {
                    h.ts = Some(self.now as u16);
                    self.rec.stamped_ping(self.now);
                }
                (h, Payload::Empty)
            }
            Tagged::Rdata { slot, off } => self.rdata(slot, off),
            Tagged::Parity => (self.tagged(FrameKind::Parity, 0), Payload::Parity),
            #[cfg(feature = "best-effort")]
            // Only a link with the service (its glue) queues a best-effort message.
            Tagged::BestEffort => match self.best_effort.glue {
                Some(glue) => ((glue.header)(self), Payload::BestEffort),
                None => (self.tagged(FrameKind::Ack, 0), Payload::Empty),
            },
        }
    }

    /// Decides what to send next, in priority order.
    #[inline(never)]
    fn pick(&mut self) -> Option<Pick> {
        let now = self.now;
        if self.session.answer {
            self.session.answer = false;
            if self.session.pending.is_some() {
                self.session.nonce_sent = true;
                return Some(Pick::Hello { answer: true });
            }
        }
        if !self.session.up {
            if now < self.session.hello_due {
                return None;
            }
            self.session.hello_due = now + u64::from(self.session.hello_backoff);
            self.session.hello_backoff = self
                .session
                .hello_backoff
                .saturating_mul(2)
                .min(self.cfg.rto_max);
            self.stats.hellos_sent += 1;
            self.session.nonce_sent = true;
            return Some(Pick::Hello { answer: false });
        }
        if self.timers.close.is_some() {
            // The session ends once the CLOSE is out (`poll_transmit`): it is still sealed
            // and tagged as part of this session.
            return Some(Pick::Tagged(Tagged::Control(FrameKind::Close)));
        }
        // A closed group's parity before anything else: a protected retransmission would
        // start a new group and drop it.
        let fec = self.fec_glue();
        if fec.is_some_and(|g| (g.parity_needed)(self)) {
            return Some(Pick::Tagged(Tagged::Parity));
        }
        if self.rec.ask_pings > 0 {
            self.rec.ask_pings -= 1;
            self.stats.probes_sent += 1;
            return Some(Pick::Tagged(Tagged::Control(FrameKind::Ping)));
        }
        let outstanding = self.tx.outstanding();
        let w = self.window();
        // Retransmissions first, oldest first; a second copy (datagrams) after the others, so
        // that a burst of loss is less likely to take both.
        for pass in [false, true] {
            for off in 0..outstanding {
                let i = (self.tx.head + off) % w;
                let Some(s) = self.areas.tx_slots.get(i) else {
                    continue;
                };
                if s.lost && !s.sacked && s.copy_due == pass {
                    // A second copy does not count against the limit: the retransmission
                    // it copies was within it (PROTOCOL.md 4.3.2).
                    if !pass && s.tx_count > self.cfg.max_retransmits {
                        self.fail(DownReason::RetryLimit);
                        return None;
                    }
                    self.stats.retransmissions += 1;
                    return Some(Pick::Tagged(Tagged::Rdata { slot: i, off }));
                }
            }
        }
        if fec.is_some_and(|g| (g.parity_due)(self)) {
            return Some(Pick::Tagged(Tagged::Parity));
        }
        #[cfg(feature = "best-effort")]
        if self.best_effort.tx.filled {
            self.stats.data_frames_sent += 1;
            return Some(Pick::Tagged(Tagged::BestEffort));
        }
        let mut blocked = false;
        for off in 0..outstanding {
            let i = (self.tx.head + off) % w;
            if self.areas.tx_slots.get(i).is_some_and(|s| s.tx_count == 0) {
                if self.in_peer_window(off) {
                    self.tx.stalled = false;
                    return Some(Pick::Tagged(Tagged::Rdata { slot: i, off }));
                }
                blocked = true;
                break;
            }
        }
        if blocked {
            if !self.tx.stalled {
                self.tx.stalled = true;
                self.stats.window_stalls += 1;
            }
            if !self
                .rec
                .in_flight(&self.areas.tx_slots, self.tx.head, outstanding)
                && self.timers.probe_due.is_none()
            {
                self.timers.probe_backoff = self.rec.pto(&self.cfg);
                self.timers.probe_due = Some(now + u64::from(self.timers.probe_backoff));
            }
        }
        if self.timers.probe_due.is_some_and(|t| now >= t) {
            self.timers.probe_backoff = self
                .timers
                .probe_backoff
                .saturating_mul(2)
                .min(self.cfg.rto_max);
            self.timers.probe_due = Some(now + u64::from(self.timers.probe_backoff));
            self.stats.probes_sent += 1;
            return Some(Pick::Tagged(Tagged::Control(FrameKind::Ping)));
        }
        if self.cfg.keepalive > 0 && now >= self.timers.last_tx + self.ping_interval() {
            self.stats.keepalives_sent += 1;
            return Some(Pick::Tagged(Tagged::Control(FrameKind::Ping)));
        }
        if self.rx.ack_now {
            self.stats.acks_sent += 1;
            return Some(Pick::Tagged(Tagged::Control(FrameKind::Ack)));
        }
        None
    }

    /// The FEC number for a protected frame going out now, when this side protects.
    pub(super) fn fec_seq(&self) -> Option<u8> {
        self.fec
            .as_deref()
            .filter(|f| f.sending())
            .map(|f| f.next_seq())
    }

    /// How long an FEC group may stay open waiting for more frames: an eighth of the smoothed
    /// RTT (at least 2 ms, at most `rto_max`), so its parity arrives before loss detection
    /// would retransmit, while a steady stream still fills whole groups.
    pub(super) fn fec_flush_after(&self) -> u64 {
        u64::from((self.rec.rtt.srtt() / 8).min(self.cfg.rto_max).max(2))
    }

    /// Whether a PARITY frame should go now: a group is closed, or the open one is old enough
    /// to close and no new message could join it now (on a busy serial line the next one may
    /// be waiting only for the line).
    pub(super) fn parity_due(&mut self) -> bool {
        let after = self.fec_flush_after();
        let now = self.now;
        let more = self.new_data_ready();
        let Some(f) = self.fec.as_deref_mut().filter(|f| f.sending()) else {
            return false;
        };
        if !more && f.flush_at(after).is_some_and(|t| now >= t) {
            f.close_group();
        }
        self.parity_needed()
    }

    /// Whether a closed group's parity is pending and the peer may still need it: parity
    /// beyond what the frames not yet known to have arrived could need is dropped here
    /// (`parity_unneeded`; PROTOCOL 7.3).
    pub(super) fn parity_needed(&mut self) -> bool {
        let (base, head, outstanding, w) = (
            self.tx.base,
            self.tx.head,
            self.tx.outstanding(),
            self.window(),
        );
        let slots = &self.areas.tx_slots;
        // Acknowledged: before the cumulative ack, or selectively acknowledged.
        let acked = |seq: u16| {
            let off = usize::from(seq.wrapping_sub(base));
            off >= 0x8000
                || (off < outstanding && slots.get((head + off) % w).is_some_and(|s| s.sacked))
        };
        let Some(f) = self.fec.as_deref_mut().filter(|f| f.sending()) else {
            return false;
        };
        f.skip_unneeded(&acked);
        f.parity_len() > 0
    }

    /// Whether a first transmission (a reliable message in the peer's window, or the
    /// best-effort message) could go out now.
    fn new_data_ready(&self) -> bool {
        #[cfg(feature = "best-effort")]
        if self.best_effort.tx.filled {
            return true;
        }
        let w = self.window();
        (0..self.tx.outstanding()).any(|off| {
            let i = (self.tx.head + off) % w;
            self.areas.tx_slots.get(i).is_some_and(|s| s.tx_count == 0) && self.in_peer_window(off)
        })
    }

    /// Whether the message at offset `off` from the window's base fits the peer's window.
    pub(super) fn in_peer_window(&self, off: usize) -> bool {
        let seq = self.tx.base.wrapping_add(off as u16);
        usize::from(seq.wrapping_sub(self.tx.peer_ack)) < usize::from(self.tx.peer_window)
    }

    /// The header of an `RDATA` transmission of slot `i`; records the transmission.
    fn rdata(&mut self, i: usize, off: usize) -> (Header, Payload) {
        let seq = self.tx.base.wrapping_add(off as u16);
        let (channel, compression, retransmission) = self
            .areas
            .tx_slots
            .get(i)
            .map_or((0, Compression::None, false), |s| {
                (s.channel, s.compression, s.tx_count > 0)
            });
        let mut h = self.tagged(FrameKind::Rdata, channel);
        h.seq = Some(seq);
        h.compression = compression;
        h.fec_seq = self.fec_seq();
        // Retransmissions always carry a timestamp (their echo says which copy arrived);
        // first transmissions about once per round trip.
        let stamp = retransmission || self.rec.wants_stamp(self.now, &self.cfg);
        if stamp {
            h.ts = Some(self.now as u16);
        }
        let tx_id = self.rec.next_tx_id(self.now, stamp);
        if let Some(slot) = self.areas.tx_slots.get_mut(i) {
            if slot.copy_due {
                // The second copy of a retransmission: not another retransmission.
                slot.copy_due = false;
            } else {
                slot.tx_count = slot.tx_count.saturating_add(1);
                if retransmission && off == 0 && self.cfg.transport == Transport::Datagram {
                    // The message holding back the whole window goes out twice (recovery.rs).
                    slot.copy_due = true;
                }
            }
            slot.sent_at = self.now as u32;
            slot.tx_id = tx_id;
            slot.lost = slot.copy_due;
            slot.skips = 0;
            slot.stamped = stamp;
        }
        self.stats.rdata_frames_sent += 1;
        (h, Payload::Tx(i))
    }

    /// A header carrying the session tag and, when it has news, the acknowledgement (and the
    /// echo of the peer's last timestamp).
    pub(super) fn tagged(&mut self, kind: FrameKind, channel: u8) -> Header {
        let window = self.rx_window();
        let ack = Ack {
            next: self.rx.next,
            window,
            sack: self.sack_bits(),
        };
        let mut h = Header {
            kind,
            channel,
            session: self.session.params.tag,
            ..Header::data(channel)
        };
        // Data frames carry the acknowledgement only when it tells the peer something new
        // (a one-way stream then costs no ack bytes); control frames always carry it. A lost
        // ack is repaired by the peer's retransmission, whose duplicate forces a fresh one.
        let news = self.rx.ack_owed > 0
            || self.rx.ack_now
            || self.rx.ack_deadline.is_some()
            || self.rx.echo.is_some()
            || self.rx.last_ack != Some(ack);
        let data = matches!(kind, FrameKind::Rdata | FrameKind::Data);
        if data && !news {
            return h;
        }
        if let Some((ts, at)) = self.rx.echo.take() {
            let hold = age_ms(self.now, at as u32).min(255) as u8;
            h.echo = Some(Echo { ts, hold });
        }
        // A repeated acknowledgement (receive.rs, `ACK_REPEATS`) rides on the next frames.
        self.rx.ack_now = self.rx.ack_repeats > 0;
        self.rx.ack_repeats = self.rx.ack_repeats.saturating_sub(1);
        self.rx.ack_deadline = None;
        self.rx.ack_owed = 0;
        self.rx.advertised = window;
        self.rx.last_ack = Some(ack);
        h.ack = Some(ack);
        h
    }

    /// Idle time before a PING: the keepalive interval, or [`silent_ping_interval`] once the
    /// peer has been silent for a whole interval.
    pub(super) fn ping_interval(&self) -> u64 {
        let k = u64::from(self.cfg.keepalive);
        if self.now.saturating_sub(self.timers.last_rx) >= k {
            silent_ping_interval(k)
        } else {
            k
        }
    }
}

/// Compresses `msg` into `out` with `codec` (raw without one).
fn compress(
    codec: Option<&mut (dyn crate::compress::Codec + '_)>,
    reliable: bool,
    msg: &[u8],
    out: &mut [u8],
) -> (Compression, usize) {
    match codec {
        Some(c) => c.compress(reliable, msg, out),
        None => (Compression::None, crate::bytes::copy(out, msg)),
    }
}
