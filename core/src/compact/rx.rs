//! Receiving: framing, hellos, session check, acknowledgements, in-order delivery.

use super::{inc, CompactLink, Core, Pending, SACKED, SLOT_HEAD};
use crate::decoder::Feed;
use crate::frame::{Ack, Compression, Echo, Frame, FrameError, FrameKind, Header};
use crate::link::hello::Hello;
use crate::link::DownReason;

impl CompactLink<'_> {
    /// Feeds bytes received from a stream transport, in any chunking. After a UART error
    /// (bytes lost), feed `&[0]` so a partial frame ends there.
    pub fn handle_input(&mut self, mut bytes: &[u8], now: u64) {
        self.c.now = now;
        loop {
            match self.dec.feed(bytes) {
                Feed::Consumed => return,
                Feed::Rejected { rest, .. } => bytes = rest,
                Feed::Frame { frame, rest } => {
                    self.c.on_frame(&frame.header, frame.payload);
                    bytes = rest;
                }
            }
        }
    }

    /// Feeds one datagram received from a datagram transport.
    pub fn handle_datagram(&mut self, datagram: &[u8], now: u64) {
        self.c.now = now;
        let frame = if datagram.len() > self.dec.capacity() {
            Err(FrameError::Oversize)
        } else {
            Frame::from_body(datagram)
        };
        self.dec.count_external(datagram.len(), frame.map(|_| ()));
        if let Ok(f) = frame {
            self.c.on_frame(&f.header, f.payload);
        }
    }
}

impl Core<'_> {
    /// A frame that passed the framing checks.
    #[inline(never)]
    pub(super) fn on_frame(&mut self, h: &Header, payload: &[u8]) {
        inc(&mut self.stats.frames_received);
        if h.aead.is_some() {
            inc(&mut self.stats.unknown_key);
            return;
        }
        if matches!(h.kind, FrameKind::Hello | FrameKind::HelloAck) {
            match Hello::parse(payload) {
                Some(rec) => self.on_hello(h.kind, rec),
                None => inc(&mut self.stats.unexpected),
            }
            return;
        }
        if h.seq.is_none() && h.ack.is_none() {
            inc(&mut self.stats.untagged);
            return;
        }
        if matches!(h.kind, FrameKind::Data | FrameKind::Parity)
            || (h.compression != Compression::None
                && !self.zip.is_some_and(|z| (z.accepts)(self, h.compression)))
            || h.fec_seq.is_some()
        {
            inc(&mut self.stats.not_negotiated);
            return;
        }
        if !self.session_of(h) {
            inc(&mut self.stats.stale_session);
            return;
        }
        self.last_rx = self.now;
        if let Some(a) = h.ack {
            self.on_ack(a, h.echo);
        }
        if let Some(ts) = h.ts {
            // Not the stray copy of a message delivered long ago (PROTOCOL.md 4.3.1).
            let near = h.seq.is_none_or(|s| {
                let off = s.wrapping_sub(self.rx_next) as i16;
                (-i16::from(self.w)..i16::from(self.w)).contains(&off)
            });
            if near {
                self.echo = Some((ts, self.now));
                self.ack_now = true;
            }
        }
        match h.kind {
            FrameKind::Rdata => self.on_rdata(h, payload),
            FrameKind::Ping => self.ack_now = true,
            FrameKind::Close => self.fail(DownReason::PeerClosed),
            _ => {}
        }
    }

    /// Whether a tagged frame belongs to the current session, promoting the pending one
    /// first if the frame proves the peer completed it (PROTOCOL.md 4.1.1 rule 4).
    fn session_of(&mut self, h: &Header) -> bool {
        if let Some(p) = self.pending {
            let ack_fits = h.ack.is_none_or(|a| a.next == p.isn_tx);
            let seq_fits = h
                .seq
                .is_none_or(|s| s.wrapping_sub(p.isn_rx) < u16::from(self.w));
            if h.session == p.tag && ack_fits && seq_fits {
                self.start_session(p);
                return true;
            }
        }
        self.up && h.session == self.tag
    }

    /// A `HELLO` or `HELLO_ACK` with a valid record (PROTOCOL.md 4.1.1 rules 2 and 3).
    #[inline(never)]
    fn on_hello(&mut self, kind: FrameKind, rec: Hello) {
        let ours = self.nonce();
        if rec.nonce == ours {
            inc(&mut self.stats.reflected);
            return;
        }
        if kind == FrameKind::Hello {
            if self.up && rec.nonce == self.peer_nonce {
                inc(&mut self.stats.hello_duplicates);
                self.ack_now = true;
                return;
            }
            if let Some(p) = self.pending {
                if p.nonce == rec.nonce {
                    inc(&mut self.stats.hello_duplicates);
                    self.answer = true;
                    return;
                }
                // The answer to the handshake this replaces went out with this nonce.
                if self.nonce_sent {
                    self.renew();
                }
            }
            if self.nonce_used {
                self.renew();
            }
            self.pending = Some(self.derive(&rec));
            self.answer = true;
            inc(&mut self.stats.hellos_answered);
            return;
        }
        if rec.peer_nonce != ours {
            inc(&mut self.stats.stale_session);
            return;
        }
        if self.up {
            if rec.nonce == self.peer_nonce {
                inc(&mut self.stats.hello_duplicates);
                self.ack_now = true;
            } else {
                inc(&mut self.stats.stale_session);
            }
            return;
        }
        let p = self.derive(&rec);
        self.start_session(p);
        // Key confirmation.
        self.ack_now = true;
    }

    /// The keyless session with the peer of `rec` (PROTOCOL.md 4.2).
    fn derive(&mut self, rec: &Hello) -> Pending {
        self.peer_caps = [rec.caps, rec.window_bits, rec.dict_id];
        let ours = self.nonce();
        let we_lo = ours < rec.nonce;
        let (lo, hi) = if we_lo {
            (&ours, &rec.nonce)
        } else {
            (&rec.nonce, &ours)
        };
        let (tag, isn_lo, isn_hi) = crate::link::plain_params(lo, hi);
        let (isn_tx, isn_rx) = if we_lo {
            (isn_lo, isn_hi)
        } else {
            (isn_hi, isn_lo)
        };
        Pending {
            nonce: rec.nonce,
            tag,
            isn_tx,
            isn_rx,
            window: rec.window,
            max_message: rec.max_message.min(crate::frame::MAX_PAYLOAD as u16),
        }
    }

    /// Acknowledgement fields (and an echo) of the current session.
    #[inline(never)]
    pub(super) fn on_ack(&mut self, a: Ack, echo: Option<Echo>) {
        if let Some(e) = echo {
            if e.hold < 255 {
                let sample = (self.now as u16)
                    .wrapping_sub(e.ts)
                    .wrapping_sub(e.hold.into());
                if sample < 0x8000 {
                    self.rtt_sample(u32::from(sample));
                }
            }
        }
        let off = a.next.wrapping_sub(self.tx_seq);
        if off >= 0x8000 {
            return; // Older than the latest applied.
        }
        // Whatever it says, it says what arrived: the go-back-N round goes on.
        self.hold = false;
        if off > u16::from(self.tx_hw) {
            inc(&mut self.stats.bad_ack);
            return;
        }
        let off = off as u8;
        if off > 0 {
            self.tx_seq = a.next;
            let mut head = u16::from(self.tx_head) + u16::from(off);
            if head >= u16::from(self.w) {
                head -= u16::from(self.w);
            }
            self.tx_head = head as u8;
            self.tx_count -= off;
            self.tx_hw -= off;
            self.tx_cursor = self.tx_cursor.saturating_sub(off);
            self.tries = 0;
            self.backoff = 0;
            self.rtx_at = (self.tx_hw > 0).then(|| self.now.saturating_add(self.rto().into()));
        }
        self.peer_window = a.window;
        if let Some(mut bits) = a.sack {
            // Bits for numbers beyond the last assigned (queued by `send`) are `bad_ack`
            // (PROTOCOL.md 4.3); one for a message assigned but not sent yet is accepted and
            // changes nothing (it is sent anyway).
            let mut i = 1;
            while bits != 0 {
                if bits & 1 != 0 {
                    if i >= self.tx_count {
                        inc(&mut self.stats.bad_ack);
                        break;
                    }
                    if i < self.tx_hw {
                        if let Some(f) = self.tx_slot(i).get_mut(3) {
                            *f |= SACKED;
                        }
                    }
                }
                bits >>= 1;
                i += 1;
            }
        }
    }

    /// RFC 6298 smoothing, in shifts.
    fn rtt_sample(&mut self, r: u32) {
        if self.srtt == 0 {
            self.srtt = r.max(1);
            self.rttvar = r / 2;
        } else {
            let d = self.srtt.abs_diff(r);
            self.rttvar = (self.rttvar - (self.rttvar >> 2)).saturating_add(d >> 2);
            self.srtt = (self.srtt - (self.srtt >> 3)).saturating_add(r >> 3);
        }
    }

    /// An `RDATA` of the current session: accepted only if it is the next in order.
    #[inline(never)]
    fn on_rdata(&mut self, h: &Header, payload: &[u8]) {
        let seq = h.seq.unwrap_or_default();
        let off = seq.wrapping_sub(self.rx_next);
        if off != 0 {
            let c = if off >= 0x8000 {
                &mut self.stats.duplicates
            } else if off < u16::from(self.rx_window()) {
                &mut self.stats.out_of_order
            } else {
                &mut self.stats.out_of_window
            };
            inc(c);
            self.ack_now = true;
            return;
        }
        if payload.len() > usize::from(self.m) {
            inc(&mut self.stats.too_large);
            return;
        }
        if self.rx_count >= self.w {
            inc(&mut self.stats.out_of_window);
            self.ack_now = true;
            return;
        }
        let mut code = super::repr_code(h.compression);
        if self.rx_reset {
            // The first message of this session: its shared stream restarts before it.
            code |= super::zip::FIRST;
        }
        let slot = self.rx_slot(self.rx_count);
        let [l0, l1] = (payload.len() as u16).to_le_bytes();
        if let Some(hd) = slot.get_mut(..SLOT_HEAD) {
            hd.copy_from_slice(&[l0, l1, h.channel, code]);
        }
        if let Some(d) = slot.get_mut(SLOT_HEAD..SLOT_HEAD + payload.len()) {
            d.copy_from_slice(payload);
        }
        self.rx_count += 1;
        self.rx_reset = false;
        self.rx_next = self.rx_next.wrapping_add(1);
        self.unacked_in_order = self.unacked_in_order.saturating_add(1);
        if self.unacked_in_order >= 2 {
            self.ack_now = true;
        } else if self.ack_at.is_none() {
            self.ack_at = Some(self.now.saturating_add(self.cfg.ack_delay.into()));
        }
    }
}
