//! The receive side: frames in (checked, opened, assigned to a session), acknowledgements out,
//! messages delivered in order.

use super::hello::Hello;
use super::seal::{KeySet, OpenError};
use super::{clamp_now, DownReason, FrameBuf, Link, Received, RecvError, RxSlot, Transport};
use crate::compress::DecompressError;
use crate::decoder::Feed;
use crate::frame::{Compression, Frame, FrameKind, Header, CRC_LEN};
use managed::ManagedSlice;

/// The reliable receive buffer: `ready` in-order messages from slot `head`, then reorder
/// slots; and what the next acknowledgement must say.
pub(super) struct Receiver {
    pub head: usize,
    pub ready: usize,
    /// Next sequence number expected in order.
    pub next: u16,
    /// Ready messages left over from the previous session (decoded with its stream).
    pub old: usize,
    pub reset_pending: bool,
    /// The receive-side shared stream failed: its remaining pieces are undecodable.
    pub broken: bool,
    pub advertised: u8,
    pub ack_owed: u8,
    /// The acknowledgement most recently sent.
    pub last_ack: Option<crate::frame::Ack>,
    pub ack_now: bool,
    /// Copies of the acknowledgement still to send after the next one (see
    /// [`ACK_REPEATS`]).
    pub ack_repeats: u8,
    /// The last copy of an already delivered message, if it carried a timestamp: its
    /// sequence number and timestamp.
    pub last_again: Option<(u16, u16)>,
    pub ack_deadline: Option<u64>,
    /// The last timestamp received and when: echoed in the next acknowledgement.
    pub echo: Option<(u16, u64)>,
    /// What the frame just received gives FEC, handed over by [`Link::finish_fec`] once the
    /// frame's processing has returned (repair runs on a shallow stack).
    pub fec_due: Option<FecDue>,
}

/// How many more times a receiver repeats its acknowledgement when a data frame shows the
/// sender did not hear it (a copy of a message already delivered, or one beyond the window).
/// Loss comes in bursts, and takes acknowledgements too; a sender that hears nothing
/// retransmits by timeout and backs off, and every copy that arrives is line time spent on
/// nothing. On a stream every such frame counts. On datagrams, and on a stream with FEC
/// receiving, a lone copy is mostly a retransmission that overtook its late original or raced
/// the copy rebuilt from parity, so only a later round of retransmission of the same message
/// (another timestamp) counts. Measured in `link_bench`; see PROTOCOL.md 4.3.
pub(super) const ACK_REPEATS: u8 = 4;

/// How many more times a receiver on a stream repeats the acknowledgement that answers a
/// PING: a sender asks with PINGs when a probe timer fires (recovery.rs, `ASK_PINGS`), and a
/// loss burst that took the acknowledgements of its data takes single answers too.
pub(super) const PING_REPEATS: u8 = 2;

/// A frame's part for FEC, still in the frame buffer.
#[derive(Clone, Copy)]
pub(super) enum FecDue {
    /// A protected frame of the session: its `fec_seq` and its body's length (the body as
    /// received, sealed again if it was opened, CRC included).
    Protected { seq: u8, len: u16 },
    /// A PARITY payload: where it starts in the buffer and its length.
    Parity { start: u16, len: u16 },
}

impl Receiver {
    pub const fn new() -> Self {
        Self {
            head: 0,
            ready: 0,
            next: 0,
            old: 0,
            reset_pending: false,
            broken: false,
            advertised: 0,
            ack_owed: 0,
            last_ack: None,
            ack_now: false,
            ack_repeats: 0,
            last_again: None,
            ack_deadline: None,
            echo: None,
            fec_due: None,
        }
    }

    /// A new session: the peer numbers from `isn`; nothing owed.
    pub fn start(&mut self, isn: u16) {
        self.old = self.ready;
        self.reset_pending = true;
        self.next = isn;
        self.ack_owed = 0;
        self.ack_now = false;
        self.ack_repeats = 0;
        self.last_again = None;
        self.ack_deadline = None;
        self.last_ack = None;
        self.echo = None;
    }
}

/// What the decoder made of some input.
enum Step<'i> {
    /// All absorbed, no frame ended.
    Consumed,
    /// A frame ended and was rejected (counted); the rest of the input.
    Rejected(&'i [u8]),
    /// A frame ended and passed: its header and payload length, and the rest of the input.
    Frame(usize, &'i [u8]),
}

impl Link<'_> {
    /// Feeds bytes received from a stream transport, in any chunking. After a UART overrun,
    /// framing or parity error (bytes were lost), feed `&[0]`: a partial frame ends there,
    /// rejected and counted, instead of taking the next frame down with it; with nothing
    /// pending a `0x00` is idle fill.
    #[inline]
    pub fn handle_input(&mut self, mut bytes: &[u8], now: u64) {
        let now = clamp_now(now);
        self.now = now;
        while let Some(rest) = self.input_frame(bytes) {
            // Key derivation for a hello the frame brought, and FEC's repair, run here, on a
            // shallow stack.
            self.finish_hello();
            self.fec_after_frame();
            bytes = rest;
        }
    }

    /// Feeds `bytes` to the decoder up to the end of the next frame and receives that
    /// frame; the input after it, or `None` when all of it was absorbed.
    #[inline(never)]
    fn input_frame<'i>(&mut self, mut bytes: &'i [u8]) -> Option<&'i [u8]> {
        loop {
            match self.next_frame(bytes) {
                Step::Consumed => return None,
                Step::Rejected(rest) => bytes = rest,
                Step::Frame(len, rest) => {
                    self.with_frame_buffer(|link, buf| link.receive_body(buf, len));
                    return Some(rest);
                }
            }
        }
    }

    /// The decoder's next step on `bytes` (its result, header included, stays in this
    /// function's frame: only the length of a frame's header and payload comes back).
    #[inline(never)]
    fn next_frame<'i>(&mut self, bytes: &'i [u8]) -> Step<'i> {
        match self.decoder.feed(bytes) {
            Feed::Consumed => Step::Consumed,
            Feed::Rejected { rest, .. } => Step::Rejected(rest),
            Feed::Frame { frame, rest } => {
                Step::Frame(frame.header.len() + frame.payload.len(), rest)
            }
        }
    }

    /// Feeds one datagram received from a datagram transport.
    #[inline]
    pub fn handle_datagram(&mut self, datagram: &[u8], now: u64) {
        let now = clamp_now(now);
        self.now = now;
        if self.check_datagram(datagram) {
            let len = datagram.len() - CRC_LEN;
            // Opened (or kept for repair) in the frame buffer, idle on datagram links.
            self.with_frame_buffer(|link, buf| {
                crate::bytes::copy(buf, datagram);
                link.receive_body(buf, len);
            });
        }
        self.finish_hello();
        self.fec_after_frame();
    }

    /// Hands FEC what the frame just received gave it (through its glue: code a link
    /// without FEC does not link).
    fn fec_after_frame(&mut self) {
        if let Some(due) = self.rx.fec_due.take() {
            if let Some(glue) = self.fec_glue() {
                (glue.finish)(self, due);
            }
        }
    }

    /// Hands FEC what the frame just received gave it, then receives every frame it could
    /// rebuild.
    pub(super) fn finish_fec(&mut self, due: FecDue) {
        self.with_frame_buffer(|link, buf| {
            if let Some(f) = link.fec.as_deref_mut() {
                match due {
                    FecDue::Protected { seq, len } => {
                        f.on_protected(seq, buf.get(..usize::from(len)).unwrap_or_default());
                    }
                    FecDue::Parity { start, len } => {
                        let (start, len) = (usize::from(start), usize::from(len));
                        f.on_parity(buf.get(start..start + len).unwrap_or_default());
                    }
                }
            }
            link.receive_recovered(buf);
        });
    }

    /// Checks a datagram's size, CRC and header, counting it either way.
    #[inline(never)]
    fn check_datagram(&mut self, datagram: &[u8]) -> bool {
        let result = if datagram.len() > self.decoder.capacity() {
            Err(crate::FrameError::Oversize)
        } else {
            Frame::from_body(datagram).map(|_| ())
        };
        let ok = result.is_ok();
        self.decoder.count_external(datagram.len(), result);
        ok
    }

    /// A frame the decoder (or the datagram check) accepted, in `buf`: its header is parsed
    /// again here, so no copy of it had to wait on the stack below.
    #[inline(never)]
    fn receive_body(&mut self, buf: &mut [u8], len: usize) {
        let header = match buf.get(..len).map(Header::parse) {
            Some(Ok((h, _))) => h,
            _ => return,
        };
        self.receive(&header, buf, len);
    }

    /// A frame that passed the CRC and header checks, in `buf` (`len` bytes of header and
    /// payload, then the CRC). A protected frame of the session is handed to FEC as it arrived
    /// (sealed again if it was opened), and whatever FEC can rebuild then is received too.
    fn receive(&mut self, header: &Header, buf: &mut [u8], len: usize) {
        let Some(body) = buf.get_mut(..len) else {
            return;
        };
        if matches!(header.kind, FrameKind::Hello | FrameKind::HelloAck) {
            // Straight to the handshake: its MAC check and key derivation run on a shallow
            // stack (not under the frame of `on_tagged`).
            self.stats.frames_received += 1;
            self.on_hello_frame(header, body);
            return;
        }
        let accepted = self.on_body(header, body, false);
        let Some(seq) = header.fec_seq.filter(|_| accepted) else {
            return;
        };
        if let Some(a) = header.aead {
            let resealed = self
                .sealer
                .as_deref()
                .is_some_and(|s| s.reseal(a.key_id, a.counter, body, header.len()));
            if !resealed {
                return;
            }
        }
        // Frames are far shorter than 64 KiB (the length field is 16 bits).
        if let (true, Ok(len)) = (self.fec.is_some(), u16::try_from(len + CRC_LEN)) {
            self.rx.fec_due = Some(FecDue::Protected { seq, len });
        }
    }

    /// Receives every frame FEC rebuilt, through the same checks as any other (they are not
    /// given back to FEC, and their timestamps are not echoed: the repair delayed them).
    #[inline(never)]
    fn receive_recovered(&mut self, buf: &mut [u8]) {
        while let Some(n) = self.fec.as_deref_mut().and_then(|f| f.next_recovered(buf)) {
            let body = buf.get_mut(..n).unwrap_or_default();
            match Frame::from_body(body) {
                Ok(f) => {
                    let header = f.header;
                    let end = n.saturating_sub(CRC_LEN);
                    self.on_body(&header, body.get_mut(..end).unwrap_or_default(), true);
                }
                Err(e) => self.decoder.count_external(n, Err(e)),
            }
        }
    }

    /// Runs `f` with the frame buffer lent out of the decoder.
    fn with_frame_buffer(&mut self, f: impl FnOnce(&mut Self, &mut [u8])) {
        let mut buf = self
            .decoder
            .replace_buffer(FrameBuf(ManagedSlice::Borrowed(&mut [])));
        f(self, buf.0.as_mut());
        self.decoder.replace_buffer(buf);
    }

    /// A frame that passed the CRC and header checks: `body` is header and payload. Returns
    /// whether it was taken as a frame of the (current or just promoted) session.
    fn on_body(&mut self, h: &Header, body: &mut [u8], recovered: bool) -> bool {
        self.stats.frames_received += 1;
        match h.kind {
            FrameKind::Hello | FrameKind::HelloAck => {
                self.on_hello_frame(h, body);
                false
            }
            _ => self.on_tagged(h, body, recovered),
        }
    }

    /// A `HELLO` or `HELLO_ACK`: authenticated (with AEAD), its record parsed.
    #[inline(never)]
    fn on_hello_frame(&mut self, h: &Header, body: &[u8]) {
        let (key_id, record) = if let Some(aead) = self.aead_glue() {
            match (aead.hello)(self, h, body) {
                Some(opened) => opened,
                None => return,
            }
        } else if h.aead.is_some() {
            self.stats.unknown_key += 1;
            return;
        } else {
            (0, body.get(h.len()..).unwrap_or_default())
        };
        match Hello::parse(record) {
            Some(rec) => self.on_hello(h.kind, key_id, rec),
            None => self.stats.unexpected += 1,
        }
    }

    /// A hello on a link with AEAD: its key id and record once its MAC checks out, or `None`
    /// (counted). Reached through the AEAD glue only.
    pub(super) fn open_hello<'b>(&mut self, h: &Header, body: &'b [u8]) -> Option<(u8, &'b [u8])> {
        let hlen = h.len();
        let payload = body.get(hlen..).unwrap_or_default();
        let (Some(s), Some(a)) = (self.sealer.as_deref(), h.aead) else {
            self.stats.unauthenticated += 1;
            return None;
        };
        if a.counter != 0 || payload.len() != Hello::SEALED_LEN {
            self.stats.unexpected += 1;
            return None;
        }
        let covered = body.get(..hlen + Hello::LEN).unwrap_or_default();
        let Some(mac) = s.hello_mac(a.key_id, covered) else {
            self.stats.unknown_key += 1;
            return None;
        };
        let sent = payload.get(Hello::LEN..).unwrap_or_default();
        if !crate::bytes::ct_eq(&mac, sent) {
            self.stats.auth_failed += 1;
            return None;
        }
        Some((a.key_id, payload.get(..Hello::LEN).unwrap_or_default()))
    }

    /// Every other frame: it must carry a session tag, and (with AEAD) open under the keys of
    /// the session it names.
    #[inline(never)]
    fn on_tagged(&mut self, h: &Header, body: &mut [u8], recovered: bool) -> bool {
        if h.seq.is_none() && h.ack.is_none() {
            self.stats.untagged += 1;
            return false;
        }
        let mut end = body.len();
        let set = if let Some(aead) = self.aead_glue() {
            match (aead.open)(self, h, body) {
                Some((set, payload_end)) => {
                    end = payload_end;
                    set
                }
                None => return false,
            }
        } else {
            if h.aead.is_some() {
                self.stats.unknown_key += 1;
                return false;
            }
            match self.plain_session_of(h) {
                Some(set) => set,
                None => {
                    self.stats.stale_session += 1;
                    return false;
                }
            }
        };
        if set == KeySet::Pending {
            self.promote();
        }
        let payload = body.get(h.len()..end).unwrap_or_default();
        self.dispatch(h, payload, recovered)
    }

    /// A sealed frame opened under the keys of the session it names (the pending one first):
    /// the key set and where its payload ends, or `None` (counted). Reached through the AEAD
    /// glue only.
    pub(super) fn open_sealed(&mut self, h: &Header, body: &mut [u8]) -> Option<(KeySet, usize)> {
        let Some(a) = h.aead else {
            self.stats.unauthenticated += 1;
            return None;
        };
        let hlen = h.len();
        let pending = self
            .session
            .pending
            .is_some_and(|p| p.params.tag == h.session);
        let current = self.session.up && self.session.params.tag == h.session;
        let mut result = Err(OpenError::NoSession);
        for (try_it, set) in [(pending, KeySet::Pending), (current, KeySet::Current)] {
            if try_it && result.is_err() {
                let sealer = self.sealer.as_deref_mut();
                result = sealer
                    .map_or(Err(OpenError::NoSession), |s| {
                        s.open(set, a.key_id, a.counter, body, hlen)
                    })
                    .map(|()| set);
            }
        }
        match result {
            Ok(set) => Some((set, body.len().saturating_sub(super::storage::TAG_ROOM))),
            Err(e) => {
                self.count_open_error(e);
                None
            }
        }
    }

    #[inline(never)]
    fn count_open_error(&mut self, e: OpenError) {
        let s = &mut self.stats;
        match e {
            OpenError::UnknownKey => s.unknown_key += 1,
            OpenError::Replayed => s.replayed += 1,
            OpenError::TooOld => s.too_old += 1,
            OpenError::AuthFailed => s.auth_failed += 1,
            OpenError::NoSession => s.stale_session += 1,
        }
    }

    /// A frame of the current session; false when it is in a form this side did not
    /// announce. Out of line: what it does (acks, loss detection, delivery) is not on the
    /// stack while a frame is being opened.
    #[inline(never)]
    fn dispatch(&mut self, h: &Header, payload: &[u8], recovered: bool) -> bool {
        let repairs = self.fec.as_deref().is_some_and(|f| f.receiving());
        if (h.fec_seq.is_some() || h.kind == FrameKind::Parity) && !repairs {
            self.stats.not_negotiated += 1;
            return false;
        }
        self.timers.last_rx = self.now;
        if let Some(ts) = h.ts.filter(|_| !recovered && !self.stale(h)) {
            self.rx.echo = Some((ts, self.now));
            self.rx.ack_now = true;
        }
        if let Some(a) = h.ack {
            self.on_ack(a, h.echo);
        }
        match (h.kind, h.seq) {
            (FrameKind::Rdata, Some(seq)) => self.on_rdata(h, seq, payload),
            (FrameKind::Data, None) => self.stats.untagged += 1,
            (FrameKind::Data, Some(seq)) => self.on_data(h, seq, payload),
            (FrameKind::Ping, _) => {
                self.rx.ack_now = true;
                if self.cfg.transport == Transport::Stream {
                    self.rx.ack_repeats = self.rx.ack_repeats.max(PING_REPEATS);
                }
            }
            (FrameKind::Close, _) => self.fail(DownReason::PeerClosed),
            (FrameKind::Parity, _) if !recovered => {
                // Handed over once this frame's processing has returned (`finish_fec`); the
                // payload stays where it is in the frame buffer until then.
                let start = h.len();
                if let (Ok(start), Ok(len)) = (u16::try_from(start), u16::try_from(payload.len())) {
                    self.rx.fec_due = Some(FecDue::Parity { start, len });
                }
            }
            _ => {}
        }
        true
    }

    /// Whether this side announced it takes payloads represented as `c`.
    pub(super) fn accepts(&self, c: Compression) -> bool {
        let rx = self
            .codec
            .as_deref()
            .map_or(crate::compress::RxCaps::NONE, |c| c.rx_caps());
        match c {
            Compression::None => true,
            Compression::Deflate => rx.per_message,
            Compression::Shared | Compression::SharedRaw => rx.shared,
            Compression::Dictionary(id) => id != 0 && id == rx.dict_id,
        }
    }

    /// Messages this end accepts in flight: `Config::window`, at most the slots.
    pub(super) fn rx_limit(&self) -> usize {
        match usize::from(self.cfg.window) {
            0 => self.window(),
            w => w.min(self.window()),
        }
    }

    /// Free receive slots: how far beyond `rx.next` a message may be and still be taken.
    fn rx_free(&self) -> usize {
        self.rx_limit().saturating_sub(self.rx.ready)
    }

    pub(super) fn rx_window(&self) -> u8 {
        self.rx_free().min(255) as u8
    }

    /// Bit `d - 1`: reorder slot `d` (sequence number `rx.next + d`) holds a message.
    pub(super) fn sack_bits(&self) -> Option<u32> {
        let w = self.window();
        let mut sack = 0u32;
        for d in 1..self.rx_free().min(33) {
            let i = (self.rx.head + self.rx.ready + d) % w;
            if self.areas.rx_slots.get(i).is_some_and(|s| s.filled) {
                sack |= 1 << (d - 1);
            }
        }
        (sack != 0).then_some(sack)
    }

    /// A data frame says the peer missed acknowledgements (it sent again what was
    /// acknowledged, or beyond the window it was told): acknowledge at once, and repeat that
    /// [`ACK_REPEATS`] times when the evidence is strong enough. `copy`: the frame's sequence
    /// number and timestamp when it is a stamped copy of a message delivered already.
    fn acks_went_missing(&mut self, copy: Option<(u16, u16)>) {
        self.rx.ack_now = true;
        let previous = core::mem::replace(&mut self.rx.last_again, copy);
        let rebuilds = self.fec.as_deref().is_some_and(|f| f.receiving());
        let strong = if self.cfg.transport == Transport::Stream && !rebuilds {
            true
        } else {
            // Datagrams reorder, and with FEC a retransmission races the copy rebuilt from
            // parity: a lone copy is mostly one of those. The same message sent again later
            // (another timestamp: a later round of retransmission) is a sender that did not
            // hear the answer.
            matches!((previous, copy), (Some((p, pt)), Some((s, t))) if p == s && pt != t)
        };
        if strong {
            self.rx.ack_repeats = ACK_REPEATS;
        }
    }

    /// An `RDATA` outside the span a message in flight can have: more than a window (this
    /// side's slots) behind the next message expected, or a window or more ahead of it. The
    /// peer sends only within this side's window of what it has not seen acknowledged, so
    /// such a frame is a stray copy of a message delivered long ago (the network duplicated
    /// or held it). Its timestamp is not echoed: it would read as a round trip of seconds.
    fn stale(&self, h: &Header) -> bool {
        let Some(seq) = h.seq.filter(|_| h.kind == FrameKind::Rdata) else {
            return false;
        };
        let w = self.window();
        let behind = usize::from(self.rx.next.wrapping_sub(seq));
        let ahead = usize::from(seq.wrapping_sub(self.rx.next));
        behind > w && ahead >= w
    }

    fn on_rdata(&mut self, h: &Header, seq: u16, payload: &[u8]) {
        if !self.accepts(h.compression) {
            self.stats.not_negotiated += 1;
            return;
        }
        let d = seq.wrapping_sub(self.rx.next);
        if (d as i16) < 0 {
            self.stats.duplicates += 1;
            self.acks_went_missing(h.ts.map(|ts| (seq, ts)));
            return;
        }
        let d = usize::from(d);
        if d >= self.rx_free() {
            self.stats.out_of_window += 1;
            self.acks_went_missing(None);
            return;
        }
        let m = self.max_message();
        if payload.len() > m {
            self.stats.too_large += 1;
            return;
        }
        let w = self.window();
        let i = (self.rx.head + self.rx.ready + d) % w;
        if self.areas.rx_slots.get(i).is_none_or(|s| s.filled) {
            self.stats.duplicates += 1;
            self.acks_went_missing(None);
            return;
        }
        if let Some(area) = self.areas.rx_data.get_mut(i * m..(i + 1) * m) {
            crate::bytes::copy(area, payload);
        }
        if let Some(slot) = self.areas.rx_slots.get_mut(i) {
            *slot = RxSlot {
                len: payload.len() as u16,
                channel: h.channel,
                compression: h.compression,
                filled: true,
            };
        }
        if d > 0 {
            self.stats.out_of_order += 1;
            self.rx.ack_now = true;
            return;
        }
        let before = self.rx.ready;
        while self.rx.ready < w
            && self
                .areas
                .rx_slots
                .get((self.rx.head + self.rx.ready) % w)
                .is_some_and(|s| s.filled)
        {
            self.rx.ready += 1;
            self.rx.next = self.rx.next.wrapping_add(1);
        }
        self.rx.ack_owed = self.rx.ack_owed.saturating_add(1);
        // Filling a gap, or with later messages still waiting beyond another one: the sender
        // is deciding about losses right now, so it hears at once.
        let filled_gap = self.rx.ready > before + 1 || self.sack_bits().is_some();
        // Datagrams: every message is acknowledged at once (an ACK datagram costs the peer
        // nothing but a receive, and its window opens a delayed ack sooner); a serial line
        // carries one ACK per two messages, or after `ack_delay`, so acks take less line time.
        let every = match self.cfg.transport {
            Transport::Datagram => 1,
            Transport::Stream => 2,
        };
        if self.rx.ack_owed >= every || filled_gap {
            self.rx.ack_now = true;
        } else if self.rx.ack_deadline.is_none() {
            self.rx.ack_deadline = Some(self.now + u64::from(self.cfg.ack_delay));
        }
    }

    /// A best-effort `DATA` frame: taken by the service's code when this side has it.
    fn on_data(&mut self, h: &Header, seq: u16, payload: &[u8]) {
        #[cfg(feature = "best-effort")]
        if let Some(glue) = self.best_effort.glue {
            return (glue.on_data)(self, h, seq, payload);
        }
        let _ = (h, seq, payload);
        self.stats.not_negotiated += 1;
    }

    /// Hands the next message to the application (best effort first).
    pub(super) fn deliver(&mut self, out: &mut [u8]) -> Result<Option<Received>, RecvError> {
        let m = self.max_message();
        let (slot, reliable) = match self.best_effort_waiting() {
            Some(mailbox) => (mailbox, false),
            None if self.rx.ready == 0 => return Ok(None),
            None => {
                let head = self.rx.head;
                let slot = self.areas.rx_slots.get(head).copied();
                (slot.unwrap_or(RxSlot::EMPTY), true)
            }
        };
        let out = out_for(slot.compression, slot.len, m, out)?;
        let shared = reliable
            && matches!(
                slot.compression,
                Compression::Shared | Compression::SharedRaw
            );
        // A message of an earlier session, still waiting for the application: its broken
        // shared stream is that session's, not the current one's.
        let earlier = reliable && self.rx.old > 0;
        let (area, start) = if reliable {
            let head = self.rx.head;
            self.take_in_order(head);
            (&self.areas.rx_data, head * m)
        } else {
            #[cfg(feature = "best-effort")]
            {
                self.best_effort.rx.filled = false;
            }
            // The receive mailbox is the best-effort area's second half.
            (&self.areas.best_effort, m)
        };
        let n = if shared && self.rx.broken {
            Err(DecompressError::Malformed)
        } else {
            let payload = area
                .get(start..start + usize::from(slot.len))
                .unwrap_or_default();
            decode(self.codec.as_deref_mut(), slot.compression, payload, out)
        };
        let n = self.decoded(&slot, reliable, shared, earlier, n)?;
        if reliable {
            self.stats.delivered_reliable += 1;
        } else {
            self.stats.delivered_unreliable += 1;
        }
        Ok(Some(Received {
            channel: slot.channel,
            len: n,
            reliable,
        }))
    }

    /// The received best-effort message waiting for the application, described as a slot.
    fn best_effort_waiting(&self) -> Option<RxSlot> {
        #[cfg(feature = "best-effort")]
        if self.best_effort.rx.filled {
            let mb = self.best_effort.rx;
            return Some(RxSlot {
                len: mb.len,
                channel: mb.channel,
                compression: mb.compression,
                filled: true,
            });
        }
        None
    }

    /// The in-order message in reorder slot `head` leaves the receive window: the slot is
    /// freed, and a blocked or throttled sender is told of the room.
    fn take_in_order(&mut self, head: usize) {
        if self.rx.old == 0 && self.rx.reset_pending {
            // The first message of the current session: its shared stream starts afresh.
            if let Some(c) = self.codec.as_deref_mut() {
                c.reset_rx();
            }
            self.rx.reset_pending = false;
            self.rx.broken = false;
        }
        self.rx.old = self.rx.old.saturating_sub(1);
        if let Some(s) = self.areas.rx_slots.get_mut(head) {
            s.filled = false;
        }
        self.rx.head = (head + 1) % self.window();
        self.rx.ready -= 1;
        // Window update: tell a blocked sender at once, and a throttled one at half a window.
        let window = self.rx_window();
        let limit = self.rx_limit();
        if self.session.up
            && (self.rx.advertised == 0 || usize::from(self.rx.advertised) < limit / 2)
            && usize::from(window) >= limit.div_ceil(2)
        {
            self.rx.ack_now = true;
        }
    }

    /// Counts and reports a decompression failure; a broken shared stream ends the session
    /// (the peer is told with CLOSE), unless it was an earlier session's (`earlier`): then
    /// only that stream's later pieces fail.
    fn decoded(
        &mut self,
        slot: &RxSlot,
        reliable: bool,
        shared: bool,
        earlier: bool,
        r: Result<usize, DecompressError>,
    ) -> Result<usize, RecvError> {
        r.map_err(|error| {
            self.stats.decompress_failed += 1;
            if shared && !self.rx.broken {
                self.rx.broken = true;
                if self.session.up && !earlier {
                    self.timers.close = Some(DownReason::DecompressFailed);
                }
            }
            RecvError::Decompress {
                channel: slot.channel,
                reliable,
                error,
            }
        })
    }
}

/// The part of `out` a message may fill: a raw one needs its length; a compressed one needs
/// room for the largest message, as its size is only known after inflating.
pub(super) fn out_for(
    c: Compression,
    len: u16,
    m: usize,
    out: &mut [u8],
) -> Result<&mut [u8], RecvError> {
    let needed = match c {
        Compression::None | Compression::SharedRaw => usize::from(len),
        _ => m,
    };
    out.get_mut(..needed)
        .ok_or(RecvError::BufferTooSmall { needed })
}

/// Turns a payload back into the message (a raw copy without a codec).
fn decode(
    codec: Option<&mut (dyn crate::compress::Codec + '_)>,
    c: Compression,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, DecompressError> {
    match (codec, c) {
        (Some(codec), c) => codec.decompress(c, payload, out),
        (None, Compression::None) => Ok(crate::bytes::copy(out, payload)),
        (None, _) => Err(DecompressError::Unsupported),
    }
}
