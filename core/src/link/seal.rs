//! Sealing link frames (feature `aead`, `docs/PROTOCOL.md` section 6): the keys, this side's
//! frame counter, the peer's nonce prefix and the replay window.

use super::{Core, DownReason, Hello};
use crate::aead::{nonce, open_body, Key, Replay, ReplayWindow, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::compress::Codec;
use crate::frame::{AeadField, FrameKind, Header};

/// What the link keeps for AEAD.
pub(crate) struct Sealing {
    /// Seals everything this side sends; `None`: AEAD is off.
    pub send: Option<Key>,
    /// The key before the last [`super::Link::set_key`]: still opens what the peer sends.
    pub previous: Option<Key>,
    /// Frames sealed under this side's current nonce prefix (boot, generation).
    pub counter: u32,
    /// The peer's nonce prefix (boot, generation) from its hello record.
    pub peer: (u32, u32),
    /// The nonce of the last frame this side sealed.
    pub last: [u8; NONCE_LEN],
    /// Counters of the peer's frames accepted in this session.
    pub window: ReplayWindow,
}

impl Sealing {
    pub const OFF: Self = Self {
        send: None,
        previous: None,
        counter: 0,
        peer: (0, 0),
        last: [0; NONCE_LEN],
        window: ReplayWindow::new(),
    };

    fn key(&self, id: u8) -> Option<&Key> {
        [&self.send, &self.previous]
            .into_iter()
            .flatten()
            .find(|k| k.id() == id)
    }
}

/// This side's sealing state, for diagnostics (how far the counter is from exhaustion, which
/// key seals) and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AeadStatus {
    /// Id of the key that seals what this side sends.
    pub key_id: u8,
    /// This side's boot id (the link's seed): nonce bytes 0..4.
    pub boot: u32,
    /// This side's session attempt in this boot: nonce bytes 4..8.
    pub generation: u32,
    /// The counter the next sealed frame gets: nonce bytes 8..12.
    pub counter: u32,
    /// The nonce of the last frame sealed (all zero before the first).
    pub last_nonce: [u8; NONCE_LEN],
}

impl<const W: usize, const M: usize, C: Codec> Core<W, M, C> {
    pub(super) fn sealing(&self) -> bool {
        self.seal.send.is_some()
    }

    pub(super) fn aead_status(&self) -> Option<AeadStatus> {
        let key = self.seal.send.as_ref()?;
        Some(AeadStatus {
            key_id: key.id(),
            boot: self.seed,
            generation: self.generation,
            counter: self.seal.counter,
            last_nonce: self.seal.last,
        })
    }

    /// Installs `key` for sending; the previous one keeps opening what the peer sends. The
    /// first key turns AEAD on: a session that is up ends, and the next one is sealed.
    pub(super) fn set_key(&mut self, id: u8, key: &[u8; KEY_LEN]) {
        let first = self.seal.send.is_none();
        self.seal.previous = self.seal.send.replace(Key::new(id, key));
        if first {
            self.fail(DownReason::LocalClose);
        }
    }

    /// Stamps `h` with the key id and the next counter; returns the nonce to seal it with.
    /// `None` when AEAD is off.
    pub(super) fn stamp(&mut self, h: &mut Header) -> Option<[u8; 12]> {
        let key = self.seal.send.as_ref()?;
        let counter = self.seal.counter;
        self.seal.counter = counter.wrapping_add(1);
        h.aead = Some(AeadField {
            key_id: key.id(),
            counter,
        });
        self.seal.last = nonce(self.seed, self.generation, counter);
        Some(self.seal.last)
    }

    /// A session may not seal with the last counter: move to a fresh nonce prefix first.
    pub(super) fn check_counter(&mut self) {
        if self.sealing() && self.seal.counter == u32::MAX {
            self.fail(DownReason::NonceExhausted);
        }
    }

    /// Authenticates and decrypts a received body (without CRC) in place. Returns where the
    /// plaintext payload ends, or `None` after counting why the frame was dropped.
    pub(super) fn open(&mut self, h: &Header, body: &mut [u8], start: usize) -> Option<usize> {
        let Some(a) = h.aead else {
            self.stats.unauthenticated += 1;
            return None;
        };
        let hello = matches!(h.kind, FrameKind::Hello | FrameKind::HelloAck);
        let (prefix, aad_len) = if hello {
            // The record is in clear (associated data); it names the sender's nonce prefix.
            let record = body.get(start..body.len().saturating_sub(TAG_LEN));
            match record.and_then(Hello::parse) {
                // Both directions would draw nonces from the same prefixes: refuse.
                Some(r) if r.boot == self.seed => {
                    self.stats.unexpected += 1;
                    return None;
                }
                Some(r) if r.caps & super::session::caps::AEAD != 0 => {
                    ((r.boot, r.generation), start + Hello::AEAD_LEN)
                }
                _ => {
                    self.stats.unexpected += 1;
                    return None;
                }
            }
        } else {
            if !self.up || h.session != self.keys.tag || (h.seq.is_none() && h.ack.is_none()) {
                self.stats.stale_session += 1;
                return None;
            }
            (self.seal.peer, start)
        };
        let Some(key) = self.seal.key(a.key_id) else {
            self.stats.unknown_key += 1;
            return None;
        };
        // Frames of this session pass the replay window; a HELLO from an older session attempt
        // of the peer's current boot is a replay too.
        let current = !hello || (self.up && prefix == self.seal.peer);
        let verdict = if current {
            self.seal.window.check(a.counter)
        } else if self.peer_epoch != 0
            && prefix.0 == self.seal.peer.0
            && prefix.1 < self.seal.peer.1
        {
            Err(Replay::Replayed)
        } else {
            Ok(())
        };
        match verdict {
            Err(Replay::Replayed) => self.stats.replayed += 1,
            Err(Replay::TooOld) => self.stats.too_old += 1,
            Ok(()) => {}
        }
        verdict.ok()?;
        let n = nonce(prefix.0, prefix.1, a.counter);
        if open_body(key, &n, body, aad_len).is_err() {
            self.stats.auth_failed += 1;
            return None;
        }
        if current {
            self.seal.window.mark(a.counter);
        }
        Some(body.len() - TAG_LEN)
    }
}
