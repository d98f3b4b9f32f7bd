//! Sending: what goes next, the timers, and framing it.

use super::{inc, CompactLink, Core, REPR_SHIFT, SACKED, SLOT_HEAD};
use crate::encode::{encode_datagram, encode_stream, EncodeError, StreamOptions};
use crate::frame::{Ack, Echo, FrameKind, Header};
use crate::link::hello::{Hello, NONCE_LEN};
use crate::link::{DownReason, Transport};

/// Longest retransmission backoff: `rto << 6`, capped at `rto_max` anyway.
const MAX_BACKOFF: u8 = 6;

/// What the next frame is.
enum Next {
    Hello { answer: bool },
    Data(u8),
    Control(FrameKind),
}

impl CompactLink<'_> {
    /// Writes the next frame to send into `out` and returns its length; `Ok(None)` when there
    /// is nothing to send now. `out` must hold [`CompactLink::max_frame_len`] bytes, else
    /// [`EncodeError::BufferTooSmall`] and nothing is taken.
    pub fn poll_transmit(
        &mut self,
        now: u64,
        out: &mut [u8],
    ) -> Result<Option<usize>, EncodeError> {
        if out.len() < self.max_frame_len() {
            return Err(EncodeError::BufferTooSmall);
        }
        self.c.now = now;
        self.c.on_time();
        self.c.transmit(out)
    }

    /// When [`CompactLink::handle_timeout`] is due next (a time already passed: now; a hello
    /// or an acknowledgement can go at once). After `handle_timeout(now)` and
    /// [`CompactLink::poll_transmit`] until `None`, it is later than `now` (or `None`), up or
    /// not: a loop driven by it does not spin.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.c.next_deadline()
    }

    /// Runs the timers that are due at `now` (retransmission, keepalive, peer silence).
    pub fn handle_timeout(&mut self, now: u64) {
        self.c.now = now;
        self.c.on_time();
    }
}

impl Core<'_> {
    /// The probe timeout before backoff (PROTOCOL.md 4.3.1).
    pub(super) fn rto(&self) -> u32 {
        let c = &self.cfg;
        if self.srtt == 0 {
            return c.rto_initial;
        }
        let v = self
            .srtt
            .saturating_add((self.rttvar << 2).max(1))
            .saturating_add(c.ack_delay);
        // Not `clamp`: it has a panic path (min > max, ruled out by `new`).
        v.max(c.rto_min).min(c.rto_max)
    }

    /// The retransmission timeout with the current backoff.
    fn rto_backed(&self) -> u64 {
        let r = u64::from(self.rto()) << self.backoff;
        r.min(self.cfg.rto_max.into())
    }

    /// How long without sending before a keepalive: a quarter of it once the peer has been
    /// silent for a whole interval.
    fn keepalive_interval(&self) -> u64 {
        let k = u64::from(self.cfg.keepalive);
        if self.now.saturating_sub(self.last_rx) >= k {
            // At least 1 ms: 0 would make every poll a PING (and `poll_transmit` never end).
            (k >> 2).max(1)
        } else {
            k
        }
    }

    /// Runs the timers due at `now`.
    #[inline(never)]
    pub(super) fn on_time(&mut self) {
        let now = self.now;
        if !self.up {
            return;
        }
        let k = u64::from(self.cfg.keepalive);
        if k > 0 {
            if now.saturating_sub(self.last_rx) >= k << 3 {
                self.fail(DownReason::PeerSilent);
                return;
            }
            if now.saturating_sub(self.last_tx) >= self.keepalive_interval() {
                self.ping_due = true;
            }
        }
        if self.rtx_at.is_some_and(|t| now >= t) {
            inc(&mut self.stats.timeouts);
            // Nothing can go while the peer's window is closed (an equal ack may close it
            // with messages in flight): probe it, and count no retransmission round.
            if self.tx_hw > 0 && self.peer_window > 0 {
                if self.tries >= self.cfg.max_retransmits && self.cfg.max_retransmits != 255 {
                    self.fail(DownReason::RetryLimit);
                    return;
                }
                self.tries = self.tries.saturating_add(1);
                // Go back N: everything unacknowledged goes again, oldest first; the oldest
                // alone until an acknowledgement says what else arrived.
                self.tx_cursor = 0;
                self.hold = true;
            } else {
                // The peer's window is closed: probe it; once it opens, everything not
                // acknowledged goes again.
                self.ping_due = true;
                self.tx_cursor = 0;
            }
            self.backoff = (self.backoff + 1).min(MAX_BACKOFF);
            self.rtx_at = Some(now.saturating_add(self.rto_backed()));
        }
        if self.ack_at.is_some_and(|t| now >= t) {
            self.ack_now = true;
        }
    }

    /// The earliest timer.
    pub(super) fn next_deadline(&self) -> Option<u64> {
        if !self.up {
            // A hello (or the answer to the peer's) is due; `hello_due` is in the future once
            // `poll_transmit` sent one.
            return Some(if self.answer {
                self.now
            } else {
                self.hello_due
            });
        }
        let mut t = self.rtx_at;
        let mut at = |d: u64| t = Some(t.map_or(d, |t| t.min(d)));
        if let Some(a) = self.ack_at {
            at(a);
        }
        let k = u64::from(self.cfg.keepalive);
        if k > 0 {
            at(self.last_rx.saturating_add(k << 3));
            at(self.last_tx.saturating_add(self.keepalive_interval()));
            // The interval shortens once the peer has been silent for a whole one (a time
            // that has passed is no deadline: it would make a timer-driven loop spin).
            let short = self.last_rx.saturating_add(k);
            if short > self.now {
                at(short);
            }
        }
        if self.ack_now || self.ping_due || self.answer || self.close_due {
            at(self.now);
        }
        t
    }

    /// The next frame to send, if any.
    fn pick(&mut self) -> Option<Next> {
        if self.answer {
            return Some(Next::Hello { answer: true });
        }
        if !self.up {
            if self.now < self.hello_due {
                return None;
            }
            self.hello_due = self.now.saturating_add(self.hello_backoff.into());
            self.hello_backoff = self.hello_backoff.saturating_mul(2).min(self.cfg.rto_max);
            return Some(Next::Hello { answer: false });
        }
        if self.close_due {
            return Some(Next::Control(FrameKind::Close));
        }
        // Skip what the peer reported received.
        while self.tx_cursor < self.tx_hw
            && self
                .tx_slot(self.tx_cursor)
                .get(3)
                .is_some_and(|f| f & SACKED != 0)
        {
            self.tx_cursor += 1;
        }
        let c = self.tx_cursor;
        if c < self.tx_count && !(self.hold && c > 0) {
            if c < self.peer_window {
                return Some(Next::Data(c));
            }
            if self.rtx_at.is_none() {
                // Window closed with nothing in flight: the probe timer.
                self.rtx_at = Some(self.now.saturating_add(self.rto_backed()));
            }
        }
        if self.ack_now {
            return Some(Next::Control(FrameKind::Ack));
        }
        if self.ping_due {
            return Some(Next::Control(FrameKind::Ping));
        }
        None
    }

    /// The ack fields (and echo) to carry, and the acknowledgement state reset.
    fn ack_fields(&mut self) -> (Ack, Option<Echo>) {
        let window = self.rx_window();
        self.advertised = window;
        self.ack_now = false;
        self.ack_at = None;
        self.unacked_in_order = 0;
        let echo = self.echo.take().map(|(ts, at)| Echo {
            ts,
            hold: self.now.saturating_sub(at).min(255) as u8,
        });
        let a = Ack {
            next: self.rx_next,
            window,
            sack: None,
        };
        (a, echo)
    }

    #[inline(never)]
    pub(super) fn transmit(&mut self, out: &mut [u8]) -> Result<Option<usize>, EncodeError> {
        let Some(next) = self.pick() else {
            return Ok(None);
        };
        let mut h = Header::control(FrameKind::Ack);
        h.session = self.tag;
        let mut rec = [0u8; Hello::LEN];
        let mut lead = self.cfg.leading_delimiter;
        let mut payload = (0, 0);
        match next {
            Next::Hello { answer } => {
                h.kind = if answer {
                    FrameKind::HelloAck
                } else {
                    FrameKind::Hello
                };
                Hello {
                    nonce: self.nonce(),
                    peer_nonce: match (answer, self.pending) {
                        (true, Some(p)) => p.nonce,
                        _ => [0; NONCE_LEN],
                    },
                    max_message: self.m,
                    window: self.w,
                    caps: self.caps[0],
                    window_bits: self.caps[1],
                    dict_id: self.caps[2],
                    fec_k: 0,
                    fec_m: 0,
                }
                .write(&mut rec);
                self.answer &= !answer;
                self.nonce_sent = true;
                lead = true;
                inc(&mut self.stats.hellos_sent);
            }
            Next::Data(i) => {
                let slot = self.tx_slot(i);
                let (len, channel, flags) = match *slot {
                    [l0, l1, ch, f, ..] => (usize::from(u16::from_le_bytes([l0, l1])), ch, f),
                    _ => (0, 0, 0),
                };
                h.kind = FrameKind::Rdata;
                h.compression = super::repr_of(flags >> REPR_SHIFT, self.peer_dict);
                h.channel = channel;
                h.seq = Some(self.tx_seq.wrapping_add(i.into()));
                // TS on every retransmission and on about one first transmission per round
                // trip (PROTOCOL.md 4.3.1): the peer echoes it at once, an RTT sample.
                let retransmission = i < self.tx_hw;
                if retransmission || self.now.saturating_sub(self.ts_at) >= self.srtt.into() {
                    h.ts = Some(self.now as u16);
                    self.ts_at = self.now;
                }
                if self.ack_now || self.ack_at.is_some() || self.advertised != self.rx_window() {
                    let (a, e) = self.ack_fields();
                    h.ack = Some(a);
                    h.echo = e;
                }
                if retransmission {
                    inc(&mut self.stats.retransmissions);
                }
                self.tx_cursor = i + 1;
                self.tx_hw = self.tx_hw.max(i + 1);
                self.rtx_at = Some(self.now.saturating_add(self.rto_backed()));
                payload = (SLOT_HEAD, len);
            }
            Next::Control(kind) => {
                h.kind = kind;
                let (a, e) = self.ack_fields();
                h.ack = Some(a);
                h.echo = e;
                match kind {
                    FrameKind::Ping => {
                        h.ts = Some(self.now as u16);
                        self.ping_due = false;
                        inc(&mut self.stats.pings_sent);
                    }
                    FrameKind::Ack => inc(&mut self.stats.acks_sent),
                    _ => {}
                }
            }
        }
        let transport = self.cfg.transport;
        let body: &[u8] = match next {
            Next::Hello { .. } => &rec,
            Next::Data(i) => {
                let (start, len) = payload;
                self.tx_slot(i).get(start..start + len).unwrap_or_default()
            }
            Next::Control(_) => &[],
        };
        let n = match transport {
            Transport::Stream => encode_stream(
                &h,
                body,
                StreamOptions {
                    leading_delimiter: lead,
                },
                out,
            ),
            Transport::Datagram => encode_datagram(&h, body, out),
        }?;
        self.last_tx = self.now;
        inc(&mut self.stats.frames_sent);
        if h.kind == FrameKind::Close {
            self.fail(self.close_reason);
        }
        Ok(Some(n))
    }
}
