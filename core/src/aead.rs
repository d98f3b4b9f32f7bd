//! Authenticated encryption of frame bodies (feature `aead`, `docs/PROTOCOL.md` section 6).
//!
//! ChaCha20-Poly1305 (RFC 8439) from RustCrypto, in place, no heap. A sealed body is
//! `header ‖ clear ‖ ciphertext ‖ tag ‖ CRC`: the header and the `clear` part (the hello
//! record of `HELLO`/`HELLO_ACK`, empty otherwise) are authenticated as associated data, the
//! message is encrypted, the 16-byte tag follows. The CRC is still computed over everything,
//! so line noise is rejected as `bad_crc` before the authenticator sees it.
//!
//! The nonce is `boot ‖ generation ‖ counter` of the sender ([`nonce`]); [`ReplayWindow`]
//! rejects a counter seen before. The link ([`crate::link::Link::set_key`]) does all of this;
//! these functions are for framing-only users and for checking the format.
//!
//! ```
//! use ferrule::aead::{nonce, open_body, seal_body, Key, TAG_LEN};
//!
//! let key = Key::new(1, &[7; 32]);
//! let n = nonce(42, 0, 5);
//! let mut body = [0u8; 3 + 5 + TAG_LEN];
//! body[..3].copy_from_slice(&[0x10, 0x40, 0x01]); // header (associated data)
//! body[3..8].copy_from_slice(b"hello");
//! seal_body(&key, &n, &mut body, 3).unwrap();
//! assert_ne!(&body[3..8], b"hello");
//! open_body(&key, &n, &mut body, 3).unwrap();
//! assert_eq!(&body[3..8], b"hello");
//! body[0] ^= 1; // tampered header
//! assert!(open_body(&key, &n, &mut body, 3).is_err());
//! ```

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};

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
    cipher: ChaCha20Poly1305,
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
    /// A key with id `id`.
    pub fn new(id: u8, bytes: &[u8; KEY_LEN]) -> Self {
        Self {
            id,
            cipher: ChaCha20Poly1305::new(bytes.into()),
        }
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

/// The nonce of the frame a sender seals as number `counter` of session attempt `generation`
/// of boot `boot`: `boot ‖ generation ‖ counter`, each little-endian.
pub fn nonce(boot: u32, generation: u32, counter: u32) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[..4].copy_from_slice(&boot.to_le_bytes());
    n[4..8].copy_from_slice(&generation.to_le_bytes());
    n[8..].copy_from_slice(&counter.to_le_bytes());
    n
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
pub fn seal_body(
    key: &Key,
    nonce: &[u8; NONCE_LEN],
    body: &mut [u8],
    aad_len: usize,
) -> Result<(), AuthError> {
    let (aad, text, tag) = split(body, aad_len).ok_or(AuthError)?;
    let t = key
        .cipher
        .encrypt_in_place_detached(Nonce::from_slice(nonce), aad, text)
        .map_err(|_| AuthError)?;
    tag.copy_from_slice(&t);
    Ok(())
}

/// Checks and decrypts a body sealed by [`seal_body`], in place. On error the body is left
/// as it was.
pub fn open_body(
    key: &Key,
    nonce: &[u8; NONCE_LEN],
    body: &mut [u8],
    aad_len: usize,
) -> Result<(), AuthError> {
    let (aad, text, tag) = split(body, aad_len).ok_or(AuthError)?;
    let tag = Tag::clone_from_slice(tag);
    key.cipher
        .decrypt_in_place_detached(Nonce::from_slice(nonce), aad, text, &tag)
        .map_err(|_| AuthError)
}

/// Why a key could not be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeyError {
    /// The link's frame buffer `F` cannot hold a sealed hello (43 bytes).
    FrameBufferTooSmall,
}

impl core::fmt::Display for KeyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("frame buffer too small for sealed frames")
    }
}

impl core::error::Error for KeyError {}

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
/// the highest counter accepted and a bitmap of the [`REPLAY_WINDOW`] before it.
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
        let n = nonce(1, 2, 3);
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
