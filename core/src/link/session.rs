//! Sessions: the handshake, what each side announces, and how sessions start and end
//! (`PROTOCOL.md` sections 4.1 and 4.2).
//!
//! Each handshake attempt has a 16-byte nonce that this side never used before: the seed (8 bytes)
//! and a 64-bit attempt counter (PROTOCOL.md 4.1.3). The initiator sends `HELLO`; a responder
//! answers `HELLO_ACK` and keeps the derived session as *pending*: its current session (if any)
//! goes on, and the pending one starts only when a frame arrives that belongs to it (with AEAD:
//! that authenticates under its keys), which proves the peer completed the same handshake. A
//! replayed `HELLO` therefore costs an answer, never a session.

use super::hello::{caps, Hello, NONCE_LEN};
use super::seal::{KeySet, SessionParams};
use super::{DownReason, Event, Link, RxSlot, TxSlot};
use crate::compress::RxCaps;
use crate::frame::{FrameKind, Header};

/// MurmurHash3's 32-bit finaliser: a bijection with good avalanche.
pub const fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^= h >> 16;
    h
}

/// The session parameters of a link without a pre-shared key: a mix of the two nonces
/// (`lo` the bytewise smaller). Not a secret, only distinct per session.
pub fn plain_params(lo: &[u8; NONCE_LEN], hi: &[u8; NONCE_LEN]) -> (u8, u16, u16) {
    let mut h = 0u32;
    for w in lo.chunks_exact(4).chain(hi.chunks_exact(4)) {
        h = fmix32(h ^ crate::bytes::le_u32(w));
    }
    let y = fmix32(h ^ 0x9E37_79B9);
    ((h >> 24) as u8, h as u16, y as u16)
}

/// The nonce of handshake attempt `attempt` of a link seeded with `seed` (PROTOCOL.md 4.1.3):
/// the seed (LE), the attempt's low 32 bits (LE), then 1 plus its high 32 bits (LE u32), which
/// keeps it from being all zero whatever the seed. Shared with [`crate::compact`].
pub(crate) fn nonce_for(seed: u64, attempt: u64) -> [u8; NONCE_LEN] {
    let s = seed.to_le_bytes();
    let a = attempt.to_le_bytes();
    let hi = (attempt >> 32) as u32;
    let e = hi.wrapping_add(1).to_le_bytes();
    [
        s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], a[0], a[1], a[2], a[3], e[0], e[1], e[2],
        e[3],
    ]
}

/// A handshake this side answered, waiting for the peer's first frame of it.
#[derive(Clone, Copy)]
pub(super) struct Pending {
    /// The peer's hello record.
    pub peer: Hello,
    pub params: SessionParams,
    /// The pre-shared key the handshake is keyed with (0 without AEAD).
    pub key_id: u8,
}

pub(super) struct Session {
    seed: u64,
    /// Fresh nonces taken since the link was seeded. 64 bits: it goes up at most once per
    /// frame received, and a peer (or an attacker replaying hellos) cannot make it wrap,
    /// which would repeat a nonce.
    attempt: u64,
    /// A session keyed with the current nonce went up: the next handshake takes a new one.
    nonce_used: bool,
    /// A hello with the current nonce went out (a reconfiguration then takes a new one).
    pub nonce_sent: bool,
    pub up: bool,
    pub params: SessionParams,
    /// The peer's hello record of the current session.
    pub peer: Hello,
    pub pending: Option<Pending>,
    /// A `HELLO_ACK` for the pending handshake is owed.
    pub answer: bool,
    pub hello_due: u64,
    pub hello_backoff: u32,
    /// A hello was accepted whose keys are still to be derived ([`Link::finish_hello`]),
    /// with the record kept in `pending`: the derivation runs once the frame's processing
    /// has returned, on a shallow stack.
    pub derive_due: Option<KeySet>,
}

const NO_PEER: Hello = Hello {
    nonce: [0; NONCE_LEN],
    peer_nonce: [0; NONCE_LEN],
    max_message: 0,
    window: 0,
    caps: 0,
    window_bits: 0,
    dict_id: 0,
    fec_k: 0,
    fec_m: 0,
};

impl Session {
    pub const fn new(seed: u64, rto_initial: u32) -> Self {
        Self {
            seed,
            attempt: 0,
            nonce_used: false,
            nonce_sent: false,
            up: false,
            params: SessionParams::NONE,
            peer: NO_PEER,
            pending: None,
            answer: false,
            hello_due: 0,
            hello_backoff: rto_initial,
            derive_due: None,
        }
    }

    /// A fresh session state for a link seeded with `seed` (in place).
    pub fn reseed(&mut self, seed: u64, rto_initial: u32) {
        self.seed = seed;
        self.hello_backoff = rto_initial;
    }

    /// This side's current handshake nonce: the seed (LE), the attempt's low 32 bits (LE),
    /// then 1 plus its high 32 bits (LE u32), which keeps it from being all zero whatever the
    /// seed (1 for the first 2^32 attempts).
    pub fn nonce(&self) -> [u8; NONCE_LEN] {
        nonce_for(self.seed, self.attempt)
    }

    /// Takes a fresh nonce if the current one keyed a session.
    fn refresh(&mut self) {
        if self.nonce_used {
            self.renew();
        }
    }

    /// Takes a fresh nonce if a hello carried the current one.
    fn refresh_if_sent(&mut self) {
        if self.nonce_sent {
            self.renew();
        }
    }

    /// Takes a fresh nonce.
    fn renew(&mut self) {
        // 2^64 renewals are out of reach (one per frame received at most).
        self.attempt = self.attempt.wrapping_add(1);
        self.nonce_used = false;
        self.nonce_sent = false;
    }
}

impl Link<'_> {
    /// What this side can receive, as its hello record says it.
    fn rx_caps(&self) -> (u8, RxCaps) {
        let rx = self.codec.as_deref().map_or(RxCaps::NONE, |c| c.rx_caps());
        let mut bits = 0;
        if rx.per_message {
            bits |= caps::DEFLATE;
        }
        if rx.shared {
            bits |= caps::SHARED;
        }
        if rx.dynamic {
            bits |= caps::DYNAMIC;
        }
        if self.best_effort_enabled() {
            bits |= caps::BEST_EFFORT;
        }
        (bits, rx)
    }

    /// This side's hello record: a `HELLO` (`answer` false) or the `HELLO_ACK` of the pending
    /// handshake.
    #[inline(never)]
    pub(super) fn hello_record(&self, answer: bool) -> Hello {
        let (bits, rx) = self.rx_caps();
        let peer_nonce = match (answer, &self.session.pending) {
            (true, Some(p)) => p.peer.nonce,
            _ => [0; NONCE_LEN],
        };
        let (fec_k, fec_m) = self.fec.as_deref().map_or((0, 0), |f| f.receives());
        Hello {
            nonce: self.session.nonce(),
            peer_nonce,
            max_message: self.max_message,
            window: self.rx_limit() as u8,
            caps: bits,
            window_bits: rx.window_bits,
            dict_id: rx.dict_id,
            fec_k,
            fec_m,
        }
    }

    /// The pre-shared key a hello of this side is authenticated with (0 without AEAD).
    pub(super) fn hello_key_id(&self, answer: bool) -> u8 {
        match (answer, &self.session.pending) {
            (true, Some(p)) => p.key_id,
            _ => self.sealer.as_deref().map_or(0, |s| s.key_id()),
        }
    }

    /// Derives a session with the peer whose nonce is `theirs` into `set`.
    #[inline(never)]
    fn derive(
        &mut self,
        set: KeySet,
        key_id: u8,
        theirs: &[u8; NONCE_LEN],
    ) -> Option<SessionParams> {
        let ours = self.session.nonce();
        if let Some(s) = self.sealer.as_deref_mut() {
            return s.derive(set, key_id, &ours, theirs);
        }
        let we_lo = ours < *theirs;
        let (lo, hi) = if we_lo {
            (&ours, theirs)
        } else {
            (theirs, &ours)
        };
        let (tag, isn_lo, isn_hi) = plain_params(lo, hi);
        let (isn_tx, isn_rx) = if we_lo {
            (isn_lo, isn_hi)
        } else {
            (isn_hi, isn_lo)
        };
        Some(SessionParams {
            tag,
            isn_tx,
            isn_rx,
        })
    }

    /// A `HELLO` or `HELLO_ACK` whose record parsed (and, with AEAD, whose MAC verified under
    /// pre-shared key `key_id`).
    #[inline(never)]
    pub(super) fn on_hello(&mut self, kind: FrameKind, key_id: u8, rec: Hello) {
        let ours = self.session.nonce();
        if rec.nonce == ours {
            // Our own hello reflected back, or a peer with our nonce: no session possible.
            self.stats.reflected += 1;
            return;
        }
        // A hello says nothing about the current session's peer being alive (it may be a
        // replay): liveness is only ever refreshed by frames of the session.
        if kind == FrameKind::Hello {
            if self.session.up && rec.nonce == self.session.peer.nonce {
                // The peer's HELLO of this session: a late copy, or a responder whose pending
                // session is still waiting for its first frame (the confirming ACK was lost,
                // and without keepalives nothing else may come): that frame, now.
                self.stats.hello_duplicates += 1;
                self.rx.ack_now = true;
                return;
            }
            if self
                .session
                .pending
                .is_some_and(|p| p.peer.nonce == rec.nonce)
            {
                // Our answer was lost (or this is a replay): the same answer again.
                self.stats.hello_duplicates += 1;
                self.session.answer = true;
                return;
            }
            if self.session.pending.is_some() {
                // The pending handshake this replaces was (or may have been) answered with the
                // current nonce: a replay of its HELLO must not derive that session again.
                self.session.refresh_if_sent();
            }
            self.session.refresh();
            self.defer_derive(KeySet::Pending, key_id, rec);
            return;
        }
        // HELLO_ACK: only an answer to this side's current nonce counts.
        if rec.peer_nonce != ours {
            self.stats.stale_session += 1;
            return;
        }
        if self.session.up {
            if rec.nonce == self.session.peer.nonce {
                // The peer is still waiting for proof that this side is up.
                self.stats.hello_duplicates += 1;
                self.rx.ack_now = true;
            } else {
                self.stats.stale_session += 1;
            }
            return;
        }
        self.defer_derive(KeySet::Current, key_id, rec);
    }

    /// Keeps an accepted hello `rec` for [`Link::finish_hello`], which derives its session
    /// into `set` (`Pending`: a `HELLO` to answer; `Current`: the `HELLO_ACK` that completes
    /// this side's handshake).
    fn defer_derive(&mut self, set: KeySet, key_id: u8, rec: Hello) {
        self.session.pending = Some(Pending {
            peer: rec,
            params: SessionParams::default(),
            key_id,
        });
        self.session.derive_due = Some(set);
    }

    /// Derives the keys of a hello accepted by the frame just processed (called by
    /// `handle_input` and `handle_datagram` after each frame, so the key derivation's stack
    /// is not on top of the frame processing's).
    #[inline(never)]
    pub(super) fn finish_hello(&mut self) {
        let Some(set) = self.session.derive_due.take() else {
            return;
        };
        let Some((key_id, nonce)) = self
            .session
            .pending
            .as_ref()
            .map(|p| (p.key_id, p.peer.nonce))
        else {
            return;
        };
        let Some(params) = self.derive(set, key_id, &nonce) else {
            self.session.pending = None;
            self.stats.unknown_key += 1;
            return;
        };
        match set {
            KeySet::Pending => {
                if let Some(p) = self.session.pending.as_mut() {
                    p.params = params;
                }
                self.session.answer = true;
                self.stats.hellos_answered += 1;
            }
            KeySet::Current => {
                if let Some(p) = self.session.pending.take() {
                    self.start_session(p.peer, params);
                }
                // Key confirmation: the responder starts the session when this arrives.
                self.rx.ack_now = true;
            }
        }
    }

    /// Which session a tagged frame belongs to, for a link without AEAD: the pending one if
    /// its tag, sequence number and acknowledgement fit that session's numbering (the peer has
    /// received nothing of it yet), else the current one if the tag matches.
    pub(super) fn plain_session_of(&self, h: &Header) -> Option<KeySet> {
        if let Some(p) = &self.session.pending {
            let ack_fits = h.ack.is_none_or(|a| a.next == p.params.isn_tx);
            let seq_fits = h.seq.is_none_or(|s| {
                usize::from(s.wrapping_sub(p.params.isn_rx)) < usize::from(self.window)
            });
            if h.session == p.params.tag && ack_fits && seq_fits {
                return Some(KeySet::Pending);
            }
        }
        (self.session.up && h.session == self.session.params.tag).then_some(KeySet::Current)
    }

    /// The peer proved it completed the pending handshake: that session replaces the current
    /// one.
    pub(super) fn promote(&mut self) {
        let Some(p) = self.session.pending.take() else {
            return;
        };
        if let Some(s) = self.sealer.as_deref_mut() {
            s.promote();
        }
        self.session.answer = false;
        self.start_session(p.peer, p.params);
    }

    fn start_session(&mut self, peer: Hello, params: SessionParams) {
        if self.session.up {
            self.end_session(DownReason::PeerRestarted);
        }
        self.session.up = true;
        self.session.params = params;
        self.session.peer = peer;
        self.session.nonce_used = true;
        let peer_rx = RxCaps {
            per_message: peer.caps & caps::DEFLATE != 0,
            shared: peer.caps & caps::SHARED != 0,
            dynamic: peer.caps & caps::DYNAMIC != 0,
            window_bits: peer.window_bits,
            dict_id: peer.dict_id,
        };
        if let Some(c) = self.codec.as_deref_mut() {
            c.start_tx(peer_rx);
        }
        if let Some(f) = self.fec.as_deref_mut() {
            f.start(peer.fec_k, peer.fec_m);
        }
        self.tx.start(params.isn_tx, peer.window);
        self.areas.tx_slots.fill(TxSlot::EMPTY);
        self.rec.start();
        let window = usize::from(self.window);
        let rx = &mut self.rx;
        // Messages already in order stay deliverable (the peer holds them as acknowledged);
        // out-of-order ones were never cumulatively acknowledged: the peer reports them.
        for i in rx.ready..window {
            if let Some(s) = self.areas.rx_slots.get_mut((rx.head + i) % window) {
                *s = RxSlot::EMPTY;
            }
        }
        rx.start(params.isn_rx);
        self.rx.advertised = self.rx_window();
        #[cfg(feature = "best-effort")]
        self.best_effort.start(params.isn_tx, params.isn_rx);
        self.timers.start(self.now);
        self.stats.sessions += 1;
        self.events.push(Event::Up, &mut self.stats);
    }

    pub(super) fn end_session(&mut self, reason: DownReason) {
        let (first, unacked) = self.tx.discard();
        self.stats.discarded_on_reset += u32::from(unacked);
        #[cfg(feature = "best-effort")]
        {
            self.stats.discarded_on_reset += u32::from(self.best_effort.discard());
        }
        self.session.up = false;
        self.timers.close = None;
        self.stats.link_downs += 1;
        self.events.push(
            Event::Down {
                reason,
                unacked,
                first,
            },
            &mut self.stats,
        );
    }

    /// Ends the session from this side and starts a new handshake with a fresh nonce.
    pub(super) fn fail(&mut self, reason: DownReason) {
        if self.session.up {
            self.end_session(reason);
        }
        self.session.refresh();
        self.session.hello_due = self.now;
        self.session.hello_backoff = self.cfg.rto_initial;
    }

    /// Reconfigured (best effort, codec, AEAD, FEC): what this side announces changed, so
    /// every handshake and session so far is void. Once a hello with the current nonce went
    /// out, the next takes a fresh one even when none keyed a session yet: the peer may hold
    /// a hello or answer with the old nonce (and the old announcement), and would take a
    /// hello with it for a copy of that one (PROTOCOL.md 4.1.1, rule 7).
    pub(super) fn restart(&mut self, reason: DownReason) {
        self.session.pending = None;
        self.session.answer = false;
        self.session.refresh_if_sent();
        self.fail(reason);
    }

    /// Whether the peer takes best-effort `DATA` frames (and this side has the service).
    #[cfg(feature = "best-effort")]
    pub(super) fn best_effort_to_peer(&self) -> bool {
        self.best_effort_enabled() && self.session.peer.caps & caps::BEST_EFFORT != 0
    }

    /// Whether this side has the best-effort service (its area and code).
    pub(super) fn best_effort_enabled(&self) -> bool {
        #[cfg(feature = "best-effort")]
        return self.best_effort.glue.is_some();
        #[cfg(not(feature = "best-effort"))]
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_params_are_symmetric_and_differ_per_nonce() {
        let a = [1u8; 16];
        let b = [2u8; 16];
        let (t, lo, hi) = plain_params(&a, &b);
        assert_eq!(plain_params(&a, &b), (t, lo, hi));
        let changed = (0..1000u32)
            .filter(|&n| {
                let mut c = b;
                c[..4].copy_from_slice(&n.to_le_bytes());
                plain_params(&a, &c).0 != t
            })
            .count();
        assert!(changed > 980, "{changed}");
    }

    /// PROTOCOL.md 4.2's example: the keyless tag and first sequence numbers for the nonces
    /// of the 6.7 vectors (initiator seed 0x0123456789abcdef, responder 0xfedcba9876543210).
    #[test]
    fn plain_params_match_the_protocol_example() {
        let mut initiator = Session::new(0x0123_4567_89ab_cdef, 1000).nonce();
        let mut responder = Session::new(0xfedc_ba98_7654_3210, 1000).nonce();
        assert!(responder < initiator, "the responder's nonce is lo");
        assert_eq!(plain_params(&responder, &initiator), (0x57, 0x5229, 0x0329));
        initiator[0] ^= 1;
        responder[15] ^= 1;
        assert_ne!(plain_params(&responder, &initiator), (0x57, 0x5229, 0x0329));
    }

    /// Every replayed hello can take a fresh nonce (rule 2), so an attacker decides how many
    /// are taken: 2^32 of them must not bring back the boot's first nonce (before, the 32-bit
    /// attempt wrapped to 0 and the nonce repeated, PROTOCOL.md 4.1.3).
    #[test]
    fn the_nonce_does_not_repeat_when_the_attempt_passes_2_pow_32() {
        let mut s = Session::new(0x1122_3344_5566_7788, 1000);
        let first = s.nonce();
        assert_eq!(
            first[8..],
            [0, 0, 0, 0, 1, 0, 0, 0],
            "the vectors' form is kept"
        );
        s.attempt = u64::from(u32::MAX);
        let last_32 = s.nonce();
        s.renew();
        let next = s.nonce();
        assert_ne!(next, first);
        assert_ne!(next, last_32);
        assert_eq!(next[8..], [0, 0, 0, 0, 2, 0, 0, 0]);
        assert_ne!(next, [0; NONCE_LEN]);
    }
}
