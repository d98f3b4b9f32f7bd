//! Authenticated encryption of frame bodies and the keys of a session (feature `aead`,
//! `PROTOCOL.md` section 6).
//!
//! - Handshake: a hello record is authenticated with [`hello_mac`] (HMAC-SHA256 under the
//!   pre-shared key, truncated to 16 bytes); both sides derive the session's keys, tag and
//!   initial sequence numbers from the pre-shared key and the two handshake nonces with
//!   [`derive_session`] (HKDF-SHA256, RFC 5869).
//! - Frames: ChaCha20-Poly1305 (RFC 8439), in place, no heap, under the key of
//!   the sending direction. A sealed body is `header ‖ ciphertext ‖ tag ‖ CRC`: the header is
//!   the associated data. The nonce is the sender's frame counter ([`nonce`]); each session
//!   has fresh keys, so a counter never repeats under a key. [`ReplayWindow`] rejects a
//!   counter seen before.
//!
//! The link ([`crate::link::Link::enable_aead`]) does all of this; these functions are for
//! framing-only users, other implementations and checking the format. The primitives are
//! this crate's own (small stack on microcontrollers; see the `crypto` module's notes),
//! checked against the RFC vectors and against RustCrypto.
//!
//! ```
//! use ferrule::aead::{derive_session, nonce, open_body, seal_body, Key, TAG_LEN};
//!
//! let psk = [7u8; 32];
//! let s = derive_session(&psk, &[1; 16], &[2; 16]);
//! let key = Key::new(1, &s.key_lo);
//! let n = nonce(5);
//! let mut body = [0u8; 3 + 5 + TAG_LEN];
//! body[..3].copy_from_slice(&[0x20, 0x40, 0x01]); // header (associated data)
//! body[3..8].copy_from_slice(b"hello");
//! seal_body(&key, &n, &mut body, 3).unwrap();
//! assert_ne!(&body[3..8], b"hello");
//! open_body(&key, &n, &mut body, 3).unwrap();
//! assert_eq!(&body[3..8], b"hello");
//! body[0] ^= 1; // tampered header
//! assert!(open_body(&key, &n, &mut body, 3).is_err());
//! ```

use crate::crypto::{chacha20, hmac};

/// Bytes the tag adds to every sealed payload.
pub const TAG_LEN: usize = 16;
/// Key length in bytes (256-bit keys).
pub const KEY_LEN: usize = 32;
/// Nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// Counters a [`ReplayWindow`] remembers behind the highest one.
pub const REPLAY_WINDOW: u32 = 64;

/// A pre-shared key and the id that names it on the wire.
#[derive(Clone)]
pub struct Key {
    id: u8,
    bytes: [u8; KEY_LEN],
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print key material.
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// A placeholder (id 0, all-zero key) for state that gets its key later.
    pub(crate) const EMPTY: Self = Self {
        id: 0,
        bytes: [0; KEY_LEN],
    };

    /// A key with id `id`.
    pub const fn new(id: u8, bytes: &[u8; KEY_LEN]) -> Self {
        Self { id, bytes: *bytes }
    }

    /// The key's bytes, to write a derived key in place.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8; KEY_LEN] {
        &mut self.bytes
    }

    /// Renames the key.
    pub(crate) fn set_id(&mut self, id: u8) {
        self.id = id;
    }

    /// The key id carried in sealed headers.
    pub fn id(&self) -> u8 {
        self.id
    }
}

/// The body failed authentication (tampered, forged, or sealed under another key or nonce).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AuthError;

impl core::fmt::Display for AuthError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("authentication failed")
    }
}

impl core::error::Error for AuthError {}

/// The nonce of the frame a sender seals as number `counter` of its session: the counter
/// (u32 LE) and eight zero bytes. The key is the session's key for that direction, so a
/// counter never repeats under a key.
pub fn nonce(counter: u32) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    for (d, s) in n.iter_mut().zip(counter.to_le_bytes()) {
        *d = s;
    }
    n
}

/// Length of a hello record's MAC.
pub const MAC_LEN: usize = 16;
/// What [`hello_mac`] puts before the covered bytes (domain separation).
pub const HELLO_LABEL: &[u8] = b"ferrule v2 hello";
/// The HKDF `info` of [`derive_session`].
pub const SESSION_LABEL: &[u8] = b"ferrule v2 session";
/// Length of a handshake nonce.
pub const HANDSHAKE_NONCE_LEN: usize = 16;

/// The MAC of a hello frame: the first 16 bytes of HMAC-SHA256(`psk`, [`HELLO_LABEL`] ‖
/// `covered`), where `covered` is the frame's header and hello record.
pub fn hello_mac(psk: &[u8; KEY_LEN], covered: &[u8]) -> [u8; MAC_LEN] {
    let mut full = [0u8; 32];
    hmac::hmac(psk, &[HELLO_LABEL, covered], &mut full);
    let mut out = [0u8; MAC_LEN];
    for (d, s) in out.iter_mut().zip(full.iter()) {
        *d = *s;
    }
    out
}

/// Compares two MACs in time independent of where they differ.
pub fn mac_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Everything both ends derive for one session (section 6.3 of `PROTOCOL.md`).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecrets {
    /// Seals what the side with the lower nonce sends.
    pub key_lo: [u8; KEY_LEN],
    /// Seals what the side with the higher nonce sends.
    pub key_hi: [u8; KEY_LEN],
    /// The session tag.
    pub tag: u8,
    /// First sequence number of the side with the lower nonce.
    pub isn_lo: u16,
    /// First sequence number of the side with the higher nonce.
    pub isn_hi: u16,
}

impl core::fmt::Debug for SessionSecrets {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print key material.
        f.debug_struct("SessionSecrets")
            .field("tag", &self.tag)
            .field("isn_lo", &self.isn_lo)
            .field("isn_hi", &self.isn_hi)
            .finish_non_exhaustive()
    }
}

/// HKDF-SHA256 with salt `lo ‖ hi` (the two handshake nonces, lower first), input key
/// material `psk` and info [`SESSION_LABEL`], expanded to 69 bytes: `key_lo` (32), `key_hi`
/// (32), `tag` (1), `isn_lo` (2, LE), `isn_hi` (2, LE).
pub fn derive_session(
    psk: &[u8; KEY_LEN],
    lo: &[u8; HANDSHAKE_NONCE_LEN],
    hi: &[u8; HANDSHAKE_NONCE_LEN],
) -> SessionSecrets {
    let mut s = SessionSecrets {
        key_lo: [0; KEY_LEN],
        key_hi: [0; KEY_LEN],
        tag: 0,
        isn_lo: 0,
        isn_hi: 0,
    };
    derive_session_into(psk, lo, hi, &mut s);
    s
}

/// [`derive_session`] into `out` (no copy of the secrets on the stack).
pub fn derive_session_into(
    psk: &[u8; KEY_LEN],
    lo: &[u8; HANDSHAKE_NONCE_LEN],
    hi: &[u8; HANDSHAKE_NONCE_LEN],
    out: &mut SessionSecrets,
) {
    let (tag, isn_lo, isn_hi) = derive_keys(psk, lo, hi, &mut out.key_lo, &mut out.key_hi);
    out.tag = tag;
    out.isn_lo = isn_lo;
    out.isn_hi = isn_hi;
}

/// The HKDF blocks of [`derive_session`], the keys written where they are kept; returns the
/// tag and the two initial sequence numbers (`lo`'s, `hi`'s).
#[inline(never)]
pub(crate) fn derive_keys(
    psk: &[u8; KEY_LEN],
    lo: &[u8; HANDSHAKE_NONCE_LEN],
    hi: &[u8; HANDSHAKE_NONCE_LEN],
    key_lo: &mut [u8; KEY_LEN],
    key_hi: &mut [u8; KEY_LEN],
) -> (u8, u16, u16) {
    // Extract: HMAC(salt = lo ‖ hi, psk); then Expand, block by block (the salt's memory
    // takes the third block).
    let mut salt = [0u8; 2 * HANDSHAKE_NONCE_LEN];
    for (d, s) in salt.iter_mut().zip(lo.iter().chain(hi)) {
        *d = *s;
    }
    let mut prk = [0u8; 32];
    hmac::hmac(&salt, &[psk], &mut prk);
    hmac::hmac(&prk, &[SESSION_LABEL, &[1]], key_lo);
    hmac::hmac(&prk, &[key_lo, SESSION_LABEL, &[2]], key_hi);
    hmac::hmac(&prk, &[key_hi, SESSION_LABEL, &[3]], &mut salt);
    let [tag, a, b, c, d, ..] = salt;
    (tag, u16::from_le_bytes([a, b]), u16::from_le_bytes([c, d]))
}

/// Splits a sealed body into associated data, text and tag; `None` when `body` is shorter
/// than `aad_len + TAG_LEN`.
fn split(body: &mut [u8], aad_len: usize) -> Option<(&mut [u8], &mut [u8], &mut [u8])> {
    let text_len = body.len().checked_sub(TAG_LEN)?.checked_sub(aad_len)?;
    let (aad, rest) = body.split_at_mut(aad_len);
    let (text, tag) = rest.split_at_mut(text_len);
    Some((aad, text, tag))
}

/// Seals `body` in place: `body[..aad_len]` is authenticated as is, the bytes after it up to
/// the last [`TAG_LEN`] are encrypted, and the tag is written into the last [`TAG_LEN`] bytes.
/// Fails only when `body` is shorter than `aad_len + TAG_LEN`.
#[inline(always)]
pub fn seal_body(
    key: &Key,
    nonce: &[u8; NONCE_LEN],
    body: &mut [u8],
    aad_len: usize,
) -> Result<(), AuthError> {
    let (aad, text, tag) = split(body, aad_len).ok_or(AuthError)?;
    tag.copy_from_slice(&chacha20::seal(&key.bytes, nonce, aad, text));
    Ok(())
}

/// Checks and decrypts a body sealed by [`seal_body`], in place. On error the body is left
/// as it was.
#[inline(always)]
pub fn open_body(
    key: &Key,
    nonce: &[u8; NONCE_LEN],
    body: &mut [u8],
    aad_len: usize,
) -> Result<(), AuthError> {
    let (aad, text, tag) = split(body, aad_len).ok_or(AuthError)?;
    if chacha20::open(&key.bytes, nonce, aad, text, tag) {
        Ok(())
    } else {
        Err(AuthError)
    }
}

/// Why [`ReplayWindow::check`] refused a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Replay {
    /// This counter was accepted before.
    Replayed,
    /// The counter is further behind the highest one than the window remembers.
    TooOld,
}

/// Sliding anti-replay window over a sender's frame counters (RFC 4303 section 3.4.3 style):
/// the highest counter accepted and a bitmap of [`REPLAY_WINDOW`] counters: that one and the
/// ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReplayWindow {
    high: u32,
    /// Bit `i`: counter `high - i` was accepted.
    seen: u64,
    any: bool,
}

impl ReplayWindow {
    /// A window that has accepted nothing.
    pub const fn new() -> Self {
        Self {
            high: 0,
            seen: 0,
            any: false,
        }
    }

    /// Whether `counter` may be accepted (call [`Self::mark`] once it authenticated).
    pub fn check(&self, counter: u32) -> Result<(), Replay> {
        if !self.any || counter > self.high {
            return Ok(());
        }
        let back = self.high - counter;
        if back >= REPLAY_WINDOW {
            Err(Replay::TooOld)
        } else if self.seen & (1 << back) != 0 {
            Err(Replay::Replayed)
        } else {
            Ok(())
        }
    }

    /// Records an authenticated `counter`.
    pub fn mark(&mut self, counter: u32) {
        if !self.any {
            *self = Self {
                high: counter,
                seen: 1,
                any: true,
            };
        } else if counter > self.high {
            let d = counter - self.high;
            self.seen = if d >= REPLAY_WINDOW {
                0
            } else {
                self.seen << d
            } | 1;
            self.high = counter;
        } else if self.high - counter < REPLAY_WINDOW {
            self.seen |= 1 << (self.high - counter);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> std::vec::Vec<u8> {
        let s: std::string::String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 8439 section 2.8.2: the AEAD construction this module uses, byte for byte.
    #[test]
    fn rfc8439_aead_vector() {
        let key: [u8; 32] =
            hex("80818283 84858687 88898a8b 8c8d8e8f 90919293 94959697 98999a9b 9c9d9e9f")
                .try_into()
                .unwrap();
        let nonce: [u8; 12] = hex("07000000 40414243 44454647").try_into().unwrap();
        let aad = hex("50515253 c0c1c2c3 c4c5c6c7");
        let text = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let mut body = aad.clone();
        body.extend_from_slice(text);
        body.extend_from_slice(&[0; TAG_LEN]);
        seal_body(&Key::new(0, &key), &nonce, &mut body, aad.len()).unwrap();
        let tag = &body[body.len() - TAG_LEN..];
        assert_eq!(tag, hex("1ae10b59 4f09e26a 7e902ecb d0600691"));
        assert_eq!(&body[aad.len()..aad.len() + 4], hex("d31a8d34"));
        open_body(&Key::new(0, &key), &nonce, &mut body, aad.len()).unwrap();
        assert_eq!(&body[aad.len()..body.len() - TAG_LEN], text);
    }

    #[test]
    fn short_bodies_are_errors_not_panics() {
        let k = Key::new(1, &[1; 32]);
        let n = nonce(3);
        for len in 0..TAG_LEN + 2 {
            let mut b = [0u8; 40];
            for aad in 0..len + 2 {
                let _ = seal_body(&k, &n, &mut b[..len], aad);
                assert!(open_body(&k, &n, &mut b[..len], aad).is_err() || len >= TAG_LEN);
            }
        }
    }

    #[test]
    fn replay_window_accepts_each_counter_once() {
        let mut w = ReplayWindow::new();
        for c in [5u32, 3, 9, 4, 70, 8] {
            assert_eq!(w.check(c), Ok(()), "{c}");
            w.mark(c);
            assert_eq!(w.check(c), Err(Replay::Replayed), "{c}");
        }
        assert_eq!(w.check(6), Err(Replay::TooOld)); // 70 - 6 = 64: outside
        assert_eq!(w.check(7), Ok(())); // 70 - 7 = 63: inside, never seen
        assert_eq!(w.check(9), Err(Replay::Replayed));
        w.mark(u32::MAX);
        assert_eq!(w.check(70), Err(Replay::TooOld));
        assert_eq!(w.check(u32::MAX), Err(Replay::Replayed));
    }
}
