//! The clock side of the link: keepalive, liveness, delayed acknowledgements, probes, and
//! the earliest time anything is due.

use super::{clamp_now, DownReason, Link};

/// A peer silent for this many keepalive intervals is declared gone.
const DEAD_FACTOR: u64 = 8;

/// Idle time before a PING once the peer has been silent a whole `keepalive` interval: a
/// quarter of it (so a lossy link gets many probes before it is declared dead), at least 1 ms.
pub(super) fn silent_ping_interval(keepalive: u64) -> u64 {
    (keepalive / 4).max(1)
}

pub(super) struct Timers {
    pub last_tx: u64,
    pub last_rx: u64,
    /// Next zero-window probe.
    pub probe_due: Option<u64>,
    pub probe_backoff: u32,
    /// The session ends once a CLOSE with this reason is out.
    pub close: Option<DownReason>,
}

impl Timers {
    pub const fn new() -> Self {
        Self {
            last_tx: 0,
            last_rx: 0,
            probe_due: None,
            probe_backoff: 0,
            close: None,
        }
    }

    /// A session starts at `now`.
    pub fn start(&mut self, now: u64) {
        self.last_tx = now;
        self.last_rx = now;
        self.probe_due = None;
        self.close = None;
    }
}

impl Link<'_> {
    /// Runs timers: retransmissions, delayed acks, keepalive, probes, handshake.
    pub fn handle_timeout(&mut self, now: u64) {
        let now = clamp_now(now);
        self.now = now;
        self.on_time();
    }

    /// The absolute time (ms) by which [`Self::handle_timeout`] (or `poll_transmit`) must be
    /// called again. At or before the last `now` when something can be sent immediately
    /// (while no session is up: the next hello's due time).
    pub fn poll_timeout(&self) -> Option<u64> {
        let now = self.now;
        if self.session.answer && self.session.pending.is_some() {
            return Some(now);
        }
        if !self.session.up {
            return Some(self.session.hello_due);
        }
        if self.timers.close.is_some() || self.rx.ack_now || self.best_effort_queued() {
            return Some(now);
        }
        let (mut t, ready) = self.recovery_deadline();
        if ready {
            return Some(now);
        }
        let fec = self.fec.as_deref().filter(|f| f.sending());
        if fec.is_some_and(|f| f.parity_len() > 0) {
            return Some(now);
        }
        let flush = fec.and_then(|f| f.flush_at(self.fec_flush_after()));
        for d in [self.rx.ack_deadline, self.timers.probe_due, flush]
            .into_iter()
            .flatten()
        {
            t = Some(t.map_or(d, |x| x.min(d)));
        }
        let keepalive = u64::from(self.cfg.keepalive);
        if keepalive > 0 {
            // The next PING (`ping_interval`: a whole interval after the last frame sent, a
            // quarter once the peer has been silent a whole one, from that moment on) and the
            // end of the session by silence. Before `now` only when a PING is due at once.
            let silent_from = self.timers.last_rx + keepalive;
            let quarter = self.timers.last_tx + silent_ping_interval(keepalive);
            let k = (self.timers.last_tx + keepalive)
                .min(silent_from.max(quarter))
                .min(self.timers.last_rx + DEAD_FACTOR * keepalive);
            t = Some(t.map_or(k, |x| x.min(k)));
        }
        t
    }

    pub(super) fn on_time(&mut self) {
        let now = self.now;
        if !self.session.up {
            return;
        }
        let keepalive = u64::from(self.cfg.keepalive);
        if keepalive > 0 && now.saturating_sub(self.timers.last_rx) >= DEAD_FACTOR * keepalive {
            self.fail(DownReason::PeerSilent);
            return;
        }
        self.recovery_on_time();
        if self.rx.ack_deadline.is_some_and(|t| now >= t) {
            self.rx.ack_now = true;
        }
    }

    /// A best-effort message waits for `poll_transmit`.
    fn best_effort_queued(&self) -> bool {
        #[cfg(feature = "best-effort")]
        return self.best_effort.tx.filled;
        #[cfg(not(feature = "best-effort"))]
        false
    }
}
