//! Loss detection and recovery for the reliable send window (after RFC 9002 and RACK-TLP,
//! RFC 8985): RTT samples from every acknowledged transmission that can be told apart,
//! time-ordered loss detection from those deliveries, a packet threshold, and a probe timer
//! per message rather than one shared backoff.
//!
//! - Every transmission gets an order number (`tx_id`) and a send time. A delivery is known
//!   for sure when a message sent once is acknowledged, or when the peer echoes the timestamp
//!   of a transmission (retransmissions and about one frame per round trip carry one).
//! - A message whose latest transmission went out before a transmission known delivered is
//!   lost: at once on a stream (a serial line never reorders), after the round-trip time of
//!   that delivery plus a reordering allowance of a quarter of the minimum RTT on datagrams,
//!   or when `dupthresh` acknowledgements of later transmissions arrived.
//! - Each message in flight has its own timer, `PTO · 1.5^backoff` (at most 1.5^10, and at
//!   most `rto_max`), where `PTO = SRTT + max(4·RTTVAR, 1) + ack delay` (the larger of ours
//!   and the longest the peer was seen to hold an acknowledgement lately); a timeout
//!   retransmits that message only and lengthens only its timer. Any progress (a new
//!   acknowledgement) resets every backoff.
//! - A timer runs from the message's latest transmission or from the latest transmission of
//!   any message, whichever is later (RFC 9002 arms its probe timer from the last packet
//!   sent): while later frames are still going out, their acknowledgements are the evidence,
//!   and on a busy serial line the next one is at least a frame time away. Timers fire only
//!   once the link has sent nothing new for a whole PTO.
//! - On a stream a fired timer first asks (`ASK_PINGS` PINGs, answered by an acknowledgement
//!   at once): the answer tells data that arrived from data that did not, and only the
//!   latter is retransmitted, its timer backed off as after a timeout; after `ASK_ROUNDS`
//!   unanswered asks the timer's messages go.
//! - On datagrams, a retransmission of the oldest message in flight (the one every later
//!   message waits behind) goes out twice, the copy after any other retransmission due: a
//!   second loss of it stalls the whole window for another round trip, and on a lossy
//!   datagram path two copies are far less likely to both be lost (20 % loss: 4 % against
//!   20 %). The copies do not count
//!   against `max_retransmits`. Streams never do this: a serial line's bandwidth is the
//!   bottleneck there, and its losses are rare bit errors.
//! - The packet threshold counts later transmissions known delivered, not acknowledgement
//!   frames (RFC 9002 counts packets), so it does not depend on how the peer batches its
//!   acknowledgements. It stays in force when reordering is seen: on the links measured
//!   (`link_bench`), retransmitting early costs less than waiting.

use super::rtt::Rtt;
use super::{Config, Link, Transport, TxSlot};
use crate::frame::{Ack, Echo};

/// Milliseconds since `sent_at` (the low 32 bits of a timestamp), wrapping-safe.
pub(super) fn age_ms(now: u64, sent_at: u32) -> u32 {
    (now as u32).wrapping_sub(sent_at)
}

/// Whether transmission `a` (send time, order) went out before `b`.
fn before(a: (u32, u32), b: (u32, u32)) -> bool {
    let dt = a.0.wrapping_sub(b.0) as i32;
    dt < 0 || (dt == 0 && (a.1.wrapping_sub(b.1) as i32) < 0)
}

/// Stream: PINGs sent when a probe timer fires, before anything is retransmitted (an ask).
/// A data frame costs the line about eight times what a PING costs, and a PING is answered
/// at once with the receiver's acknowledgement (PROTOCOL.md 4.3): when the data arrived and
/// only its acknowledgements were lost, the answer says so; when it did not, the echo of the
/// PING makes every message sent before it lost at once (`detect_lost`). Measured in
/// `link_bench` (UART rows; README "Loss recovery").
pub(super) const ASK_PINGS: u8 = 3;
/// Asks in a row without an answer before the messages whose timers fired are retransmitted.
const ASK_ROUNDS: u8 = 3;

/// How long an ask waits for its answer: half a PTO, times 1.5 per unanswered ask before it.
fn ask_wait(pto: u32, round: u8) -> u32 {
    backed_off((pto / 2).max(2), round)
}

/// Longest a timer backs off: 1.5^10 (about 58) base timeouts (then capped at `rto_max`).
const MAX_BACKOFF: u8 = 10;

/// `pto` after `backoff` timeouts in a row: times 1.5 each (KCP's no-delay mode; TCP and
/// QUIC double, which on a lossy link leaves the line idle longer than it needs to be).
fn backed_off(pto: u32, backoff: u8) -> u32 {
    (0..backoff.min(MAX_BACKOFF)).fold(pto, |t, _| t.saturating_add(t / 2))
}

pub(super) struct Recovery {
    pub rtt: Rtt,
    next_tx_id: u32,
    /// When a first transmission last carried a timestamp.
    last_stamp: Option<u64>,
    /// When the latest transmission of a message went out (timers run from it at the
    /// earliest).
    last_send: u64,
    /// The longest the peer held an acknowledgement lately (ms; decays by 1/8 per echo).
    peer_hold: u32,
    /// The latest transmission known delivered: send time (ms, low 32 bits) and order.
    rack: Option<(u32, u32)>,
    /// That transmission's round-trip time.
    rack_rtt: u32,
    /// When the time threshold next declares a message lost.
    pub loss_at: Option<u64>,
    /// The last timestamped PING: its send time and order.
    ping: Option<(u64, u32)>,
    /// Datagrams: the reordering allowance in quarters of the minimum RTT; grows when a
    /// retransmission turns out spurious, shrinks after many that were needed.
    reo_mult: u8,
    /// Needed retransmissions since the allowance last changed.
    reo_good: u8,
    /// Stream: a probe timer fired and the link asked (see [`ASK_PINGS`]); when the ask ends
    /// unanswered (ms, low 32 bits).
    asking: Option<u32>,
    /// PINGs of the current ask still to send.
    pub ask_pings: u8,
    /// Asks in a row without an answer.
    ask_rounds: u8,
}

impl Recovery {
    pub const fn new() -> Self {
        Self {
            rtt: Rtt::new(),
            next_tx_id: 0,
            last_stamp: None,
            last_send: 0,
            peer_hold: 0,
            rack: None,
            rack_rtt: 0,
            loss_at: None,
            ping: None,
            reo_mult: 1,
            reo_good: 0,
            asking: None,
            ask_pings: 0,
            ask_rounds: 0,
        }
    }

    /// A new session: what was delivered before says nothing now (the RTT estimate stays).
    pub fn start(&mut self) {
        self.rack = None;
        self.loss_at = None;
        self.last_stamp = None;
        self.ping = None;
        self.answered();
    }

    /// When the current ask ends unanswered, if one is waiting (`now` once it has ended).
    fn ask_until(&self, now: u64) -> Option<u64> {
        let left = |t: u32| u64::try_from(t.wrapping_sub(now as u32) as i32).unwrap_or(0);
        self.asking.map(|t| now + left(t))
    }

    /// An ask is over: answered, or made moot by progress.
    fn answered(&mut self) {
        self.asking = None;
        self.ask_pings = 0;
        self.ask_rounds = 0;
    }

    /// The base probe timeout.
    pub fn pto(&self, cfg: &Config) -> u32 {
        let hold = cfg.ack_delay.max(self.peer_hold);
        self.rtt
            .timeout(cfg.rto_initial, hold, cfg.rto_min, cfg.rto_max)
    }

    /// When the timer of a message last sent at `sent` (ms) starts: on a stream, not before
    /// the link's latest transmission (the line is shared, so acknowledgements of later frames
    /// come a frame time apart); on datagrams at its own transmission.
    fn timer_start(&self, sent: u64, transport: Transport) -> u64 {
        match transport {
            Transport::Stream => sent.max(self.last_send),
            Transport::Datagram => sent,
        }
    }

    /// When the probe timer of a message runs out: last sent at `sent_at` (ms, low 32 bits),
    /// backed off `backoff` times, `pto` the base timeout.
    #[inline(never)]
    fn expiry(&self, now: u64, cfg: &Config, sent_at: u32, backoff: u8, pto: u32) -> u64 {
        let timeout = backed_off(pto, backoff).min(cfg.rto_max.max(pto));
        let sent = now.saturating_sub(u64::from(age_ms(now, sent_at)));
        self.timer_start(sent, cfg.transport) + u64::from(timeout)
    }

    /// The peer held an acknowledgement `hold` ms.
    fn held(&mut self, hold: u32) {
        self.peer_hold = hold.max(self.peer_hold - self.peer_hold / 8);
    }

    /// Whether a first transmission now should carry a timestamp: about one per round trip.
    pub fn wants_stamp(&self, now: u64, _cfg: &Config) -> bool {
        let period = u64::from(self.rtt.srtt().max(1));
        self.last_stamp.is_none_or(|t| now >= t + period)
    }

    /// Numbers a transmission of a message.
    pub fn next_tx_id(&mut self, now: u64, stamped: bool) -> u32 {
        self.last_send = self.last_send.max(now);
        self.number(now, stamped)
    }

    fn number(&mut self, now: u64, stamped: bool) -> u32 {
        let id = self.next_tx_id;
        self.next_tx_id = id.wrapping_add(1);
        if stamped {
            self.last_stamp = Some(now);
        }
        id
    }

    /// A timestamped PING goes out now. During an ask the first of its PINGs is kept: an
    /// echo of anything sent since then answers the ask.
    pub fn stamped_ping(&mut self, now: u64) {
        let id = self.number(now, false);
        let later_in_ask = self.asking.is_some() && self.ask_pings + 1 < ASK_PINGS;
        if !later_in_ask {
            self.ping = Some((now, id));
        }
    }

    /// Whether any message is in flight (sent, not acknowledged).
    pub fn in_flight(&self, slots: &[TxSlot], head: usize, outstanding: usize) -> bool {
        let w = slots.len().max(1);
        (0..outstanding).any(|off| {
            slots
                .get((head + off) % w)
                .is_some_and(|s| s.tx_count > 0 && !s.sacked)
        })
    }

    /// Notes that the transmission (`sent_at`, `tx_id`) was delivered, `rtt` ms round trip.
    fn delivered(&mut self, sent_at: u32, tx_id: u32, rtt: u32) {
        if self.rack.is_none_or(|r| before(r, (sent_at, tx_id))) {
            self.rack = Some((sent_at, tx_id));
            self.rack_rtt = rtt;
        }
    }

    /// Reordering allowance of the time threshold: none on a stream (a serial line never
    /// reorders), a multiple of a quarter of the minimum RTT on datagrams (at most the
    /// smoothed RTT).
    fn reorder_window(&self, transport: Transport) -> u32 {
        match transport {
            Transport::Stream => 0,
            Transport::Datagram => (self.rtt.min() / 4)
                .max(1)
                .saturating_mul(u32::from(self.reo_mult))
                .min(self.rtt.srtt().max(1)),
        }
    }

    /// A retransmitted message was acknowledged `age` ms after its latest copy went out:
    /// faster than any round trip means an earlier copy arrived and the retransmission was
    /// not needed (RFC 8985 widens its reordering window on such evidence).
    fn retransmission_acked(&mut self, age: u32) -> bool {
        let spurious = self.rtt.has_sample() && age < self.rtt.min();
        if spurious {
            self.reo_mult = self.reo_mult.saturating_add(1).min(16);
            self.reo_good = 0;
        } else {
            self.reo_good = self.reo_good.saturating_add(1);
            if self.reo_good >= 16 {
                self.reo_mult = self.reo_mult.saturating_sub(1).max(1);
                self.reo_good = 0;
            }
        }
        spurious
    }
}

impl Link<'_> {
    /// Processes the acknowledgement fields (and timestamp echo) of a frame of the session.
    pub(super) fn on_ack(&mut self, a: Ack, echo: Option<Echo>) {
        let outstanding = self.tx.outstanding();
        let cum = usize::from(a.next.wrapping_sub(self.tx.base));
        if cum > outstanding {
            // An ack older than one already applied (it was overtaken on the way) says nothing
            // new; only one beyond what was sent is bad.
            if (a.next.wrapping_sub(self.tx.base) as i16) >= 0 {
                self.stats.bad_ack += 1;
            }
            return;
        }
        let now = self.now;
        let w = self.window();
        let remaining = outstanding - cum;
        self.count_skips(cum, remaining, a.sack);
        // The newest transmission this ack proves delivered: only messages sent once count
        // here (the ack of a retransmitted one may be for any copy; echoes settle those).
        let mut newest: Option<(u32, u32)> = None;
        let mut retransmitted: [u32; 2] = [0, 0]; // acked retransmissions: needed, spurious
        let rec = &mut self.rec;
        let mut note = |s: &TxSlot| {
            if s.tx_count == 1 && newest.is_none_or(|n| before(n, (s.sent_at, s.tx_id))) {
                newest = Some((s.sent_at, s.tx_id));
            }
            if s.tx_count > 1 {
                let spurious = rec.retransmission_acked(age_ms(now, s.sent_at));
                retransmitted[usize::from(spurious)] += 1;
            }
        };
        let mut progress = cum > 0;
        for _ in 0..cum {
            if let Some(slot) = self.areas.tx_slots.get_mut(self.tx.head) {
                if slot.tx_count > 0 && !slot.sacked {
                    note(slot);
                }
                *slot = TxSlot::EMPTY;
            }
            self.tx.head = (self.tx.head + 1) % w;
        }
        self.tx.base = a.next;
        if let Some(bits) = a.sack {
            // Bit i covers offset i + 1: from bit `remaining - 1` on, numbers never sent.
            let sent = remaining.saturating_sub(1);
            if sent < 32 && bits >> sent != 0 {
                self.stats.bad_ack += 1;
            }
            for i in 0..remaining.min(32) {
                // Bit i covers ack + 1 + i, which is slot offset i + 1.
                let off = i + 1;
                if bits & (1 << i) == 0 || off >= remaining {
                    continue;
                }
                if let Some(slot) = self.areas.tx_slots.get_mut((self.tx.head + off) % w) {
                    if slot.tx_count > 0 && !slot.sacked {
                        slot.sacked = true;
                        slot.lost = false;
                        slot.copy_due = false;
                        note(slot);
                        progress = true;
                    }
                }
            }
        }
        self.stats.spurious_retransmissions += retransmitted[1];
        let asking = self.rec.asking.is_some();
        if let Some((sent_at, tx_id)) = newest {
            let r = age_ms(now, sent_at);
            self.rec.rtt.sample(r);
            self.rec.delivered(sent_at, tx_id, r);
        }
        if let Some(e) = echo {
            self.on_echo(e);
        }
        if progress {
            self.rec.answered();
            for off in 0..remaining {
                if let Some(s) = self.areas.tx_slots.get_mut((self.tx.head + off) % w) {
                    s.backoff = 0;
                }
            }
        }
        self.tx.peer_ack = a.next;
        self.tx.peer_window = a.window;
        if a.window > 0 {
            self.timers.probe_due = None;
        }
        self.detect_lost(asking && !progress);
    }

    /// The packet threshold: before the ack is applied, counts for each message still in
    /// flight the transmissions sent after its latest one that this ack newly proves
    /// delivered (messages sent once, acknowledged cumulatively — the first `cum` — or newly
    /// selectively). Counted per transmission, as RFC 9002 counts packets, so the threshold
    /// does not depend on how the peer batches its acknowledgements.
    fn count_skips(&mut self, cum: usize, remaining: usize, sack: Option<u32>) {
        let w = self.window();
        let head = self.tx.head;
        let slots = &mut self.areas.tx_slots;
        let newly = |slots: &[TxSlot], off: usize| -> Option<u32> {
            let s = slots.get((head + off) % w)?;
            let sacked_now = off >= cum
                && sack.is_some_and(|b| off - cum >= 1 && b & (1 << (off - cum - 1).min(31)) != 0)
                && off - cum <= 32;
            (s.tx_count == 1 && !s.sacked && (off < cum || sacked_now)).then_some(s.tx_id)
        };
        for cand in 0..cum + remaining {
            let Some(id) = newly(slots, cand) else {
                continue;
            };
            for off in cum..cum + remaining {
                if newly(slots, off).is_some() {
                    continue;
                }
                if let Some(s) = slots.get_mut((head + off) % w) {
                    if s.tx_count > 0 && !s.sacked && !s.lost && before((0, s.tx_id), (0, id)) {
                        s.skips = s.skips.saturating_add(1);
                    }
                }
            }
        }
    }

    /// The peer heard a timestamped frame of ours: an RTT sample, and a delivery for loss
    /// detection.
    fn on_echo(&mut self, e: Echo) {
        let now = self.now;
        let elapsed = u32::from((now as u16).wrapping_sub(e.ts));
        if e.hold == u8::MAX || u32::from(e.hold) > elapsed {
            return;
        }
        self.rec.held(u32::from(e.hold));
        self.rec.rtt.sample(elapsed - u32::from(e.hold));
        let sent = now.saturating_sub(u64::from(elapsed));
        // Which transmission it was: a stamped retransmission or first transmission still in
        // the window (the earliest sent in that millisecond), or the last PING.
        let w = self.window();
        let mut id = None;
        for off in 0..self.tx.outstanding() {
            if let Some(s) = self.areas.tx_slots.get((self.tx.head + off) % w) {
                if s.stamped
                    && s.sent_at as u16 == e.ts
                    && id.is_none_or(|i: u32| before((0, s.tx_id), (0, i)))
                {
                    id = Some(s.tx_id);
                }
            }
        }
        if let Some((t, pid)) = self.rec.ping.filter(|p| p.0 as u16 == e.ts) {
            if t == sent {
                id = Some(id.map_or(pid, |i| if before((0, pid), (0, i)) { pid } else { i }));
            }
        }
        // The answer to an ask: an echo of any of its PINGs (of anything sent since the
        // first). What it acknowledges is applied, and what was sent before the echoed frame
        // and is still unacknowledged is lost (`detect_lost`).
        if self.rec.asking.is_some() && self.rec.ping.is_some_and(|(t, _)| sent >= t) {
            self.rec.answered();
        }
        // Unknown order (a slot already freed): by time only, everything sent earlier.
        let tx_id = id.unwrap_or(self.rec.next_tx_id.wrapping_sub(1 << 31));
        self.rec.delivered(sent as u32, tx_id, elapsed);
    }

    /// Declares lost every message in flight whose latest transmission went out before the
    /// latest one known delivered (time threshold), or that `dupthresh` later transmissions
    /// known delivered passed (packet threshold). `answer`: this is the answer to an ask that
    /// brought no progress, so a message whose timer has run out takes the backoff step its
    /// timeout would have taken.
    pub(super) fn detect_lost(&mut self, answer: bool) {
        let Some(rack) = self.rec.rack else {
            return;
        };
        let now = self.now;
        let reo = u64::from(self.rec.reorder_window(self.cfg.transport));
        // One more millisecond: times are whole milliseconds, so a frame sent "at the same
        // time" as the delivered one may have left up to a millisecond later.
        let wait = u64::from(self.rec.rack_rtt) + reo + 1;
        let stream = self.cfg.transport == Transport::Stream;
        let w = self.window();
        let mut loss_at: Option<u64> = None;
        for off in 0..self.tx.outstanding() {
            let Some(s) = self.areas.tx_slots.get_mut((self.tx.head + off) % w) else {
                continue;
            };
            if s.tx_count == 0 || s.sacked || s.lost {
                continue;
            }
            let mut lost = s.skips >= self.cfg.dupthresh;
            if before((s.sent_at, s.tx_id), rack) {
                let sent = now.saturating_sub(u64::from(age_ms(now, s.sent_at)));
                if stream || now >= sent + wait {
                    lost = true;
                } else {
                    loss_at = Some(loss_at.map_or(sent + wait, |t| t.min(sent + wait)));
                }
            }
            if lost {
                s.lost = true;
                self.stats.fast_retransmits += 1;
                // Only an answer to an ask needs the timer (rare; not on every ack).
                if answer {
                    let pto = self.rec.pto(&self.cfg);
                    if now >= self.rec.expiry(now, &self.cfg, s.sent_at, s.backoff, pto) {
                        s.backoff = s.backoff.saturating_add(1);
                    }
                }
            }
        }
        self.rec.loss_at = loss_at;
    }

    /// Timer work of the send window: per-message probe timeouts, and the loss time
    /// threshold.
    pub(super) fn recovery_on_time(&mut self) {
        let now = self.now;
        if self.rec.loss_at.is_some_and(|t| now >= t) {
            self.detect_lost(false);
        }
        let pto = self.rec.pto(&self.cfg);
        let w = self.window();
        let stream = self.cfg.transport == Transport::Stream;
        if self.rec.ask_until(now).is_some_and(|t| now < t) {
            return;
        }
        // An unanswered ask: ask again, or after `ASK_ROUNDS` retransmit.
        let ask =
            stream && !(self.rec.asking.take().is_some() && self.rec.ask_rounds >= ASK_ROUNDS);
        for off in 0..self.tx.outstanding() {
            let Some(s) = self.areas.tx_slots.get_mut((self.tx.head + off) % w) else {
                continue;
            };
            if s.tx_count == 0 || s.sacked || s.lost {
                continue;
            }
            if now >= self.rec.expiry(now, &self.cfg, s.sent_at, s.backoff, pto) {
                if ask {
                    let rec = &mut self.rec;
                    rec.asking = Some((now as u32).wrapping_add(ask_wait(pto, rec.ask_rounds)));
                    rec.ask_pings = ASK_PINGS;
                    rec.ask_rounds = rec.ask_rounds.saturating_add(1);
                    return;
                }
                s.lost = true;
                s.backoff = s.backoff.saturating_add(1);
                self.stats.timeouts += 1;
            }
        }
        // No ask started: the next fired timer starts counting asks afresh.
        self.rec.ask_rounds = 0;
    }

    /// The earliest time a message's probe timer or the loss threshold fires; whether a
    /// message can go right now.
    pub(super) fn recovery_deadline(&self) -> (Option<u64>, bool) {
        let now = self.now;
        let pto = self.rec.pto(&self.cfg);
        let w = self.window();
        let mut t = self.rec.loss_at;
        if self.rec.ask_pings > 0 {
            return (Some(now), true);
        }
        // While an ask waits for its answer, timers wait with it.
        let ask = self.rec.ask_until(now).unwrap_or(0);
        for off in 0..self.tx.outstanding() {
            let Some(s) = self.areas.tx_slots.get((self.tx.head + off) % w) else {
                continue;
            };
            if s.sacked {
                continue;
            }
            if s.lost || (s.tx_count == 0 && self.in_peer_window(off)) {
                return (Some(now), true);
            }
            if s.tx_count > 0 {
                let at = self.rec.expiry(now, &self.cfg, s.sent_at, s.backoff, pto);
                let at = at.max(ask);
                t = Some(t.map_or(at, |x| x.min(at)));
            }
        }
        (t, false)
    }
}
