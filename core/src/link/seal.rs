//! Sealing link frames (`PROTOCOL.md` section 6): the interface the link calls, and
//! `Guard`, its ChaCha20-Poly1305 implementation (feature `aead`).
//!
//! The link holds its sealer as a trait object installed by
//! [`Link::enable_aead`](super::Link::enable_aead), so firmware that never turns AEAD on links
//! none of the cryptography.

use super::hello::NONCE_LEN;
use super::Link;
use crate::frame::Header;

/// Session parameters both ends derive from the handshake: the tag every frame of the
/// session carries, and each direction's first sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SessionParams {
    /// Session tag.
    pub tag: u8,
    /// First sequence number this side sends.
    pub isn_tx: u16,
    /// First sequence number the peer sends.
    pub isn_rx: u16,
}

impl SessionParams {
    /// All zero (no session yet).
    pub const NONE: Self = Self {
        tag: 0,
        isn_tx: 0,
        isn_rx: 0,
    };
}

/// Which set of session keys an operation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySet {
    /// The session that is up.
    Current,
    /// A handshake this side answered, waiting for the peer to prove it holds the keys.
    Pending,
}

/// Why a sealed frame was not opened. Each is counted by the link under its own name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OpenError {
    /// No key with this id (`unknown_key`).
    UnknownKey,
    /// The counter was accepted before (`replayed`).
    Replayed,
    /// The counter is behind the replay window (`too_old`).
    TooOld,
    /// The tag does not verify (`auth_failed`).
    AuthFailed,
    /// There are no keys for that session (`stale_session`).
    NoSession,
}

/// The security layer a link seals and opens its frames with. `Send`, so that a link that
/// holds one stays `Send`.
pub trait Sealer: Send {
    /// Id of the pre-shared key this side seals hellos with.
    fn key_id(&self) -> u8;
    /// The MAC of a hello frame (header and record) under pre-shared key `key_id`; `None`
    /// when this side has no key with that id.
    fn hello_mac(&self, key_id: u8, covered: &[u8]) -> Option<[u8; 16]>;
    /// Derives the keys of a session keyed by pre-shared key `key_id` from this side's nonce
    /// and the peer's, into `set`; returns the session's parameters, or `None` when there is
    /// no such key. The nonces differ (the link refuses equal ones).
    fn derive(
        &mut self,
        set: KeySet,
        key_id: u8,
        ours: &[u8; NONCE_LEN],
        theirs: &[u8; NONCE_LEN],
    ) -> Option<SessionParams>;
    /// The pending keys become the current ones (fresh counters and replay window).
    fn promote(&mut self);
    /// The next frame counter of the current session and the key id it seals under; `None`
    /// when the counter is exhausted (the session must end).
    fn next_counter(&mut self) -> Option<(u8, u32)>;
    /// Seals `body` (header first, `aad_len` bytes of associated data, tag room last) with
    /// the current session's sending key and `counter`.
    fn seal(&self, counter: u32, body: &mut [u8], aad_len: usize) -> bool;
    /// Checks the replay window, authenticates and decrypts `body` in place.
    fn open(
        &mut self,
        set: KeySet,
        key_id: u8,
        counter: u32,
        body: &mut [u8],
        aad_len: usize,
    ) -> Result<(), OpenError>;
    /// Seals an opened body again with the receiving key of the current session that opened
    /// it (`key_id`, `counter` from its header), restoring the bytes as they arrived (forward
    /// error correction keeps received bodies as sent). False when there is no such key.
    fn reseal(&self, key_id: u8, counter: u32, body: &mut [u8], aad_len: usize) -> bool;
    /// Installs a new pre-shared key (the previous one keeps opening frames) and re-derives
    /// the keys of the current and pending sessions under it.
    fn set_key(&mut self, id: u8, key: &[u8; 32]);
    /// This side's sealing state.
    fn status(&self) -> AeadStatus;
    /// The link's own side of AEAD. Keep the default: it is reached only through this trait
    /// object, so a link that never enables AEAD links none of that code either.
    #[doc(hidden)]
    fn glue(&self) -> &'static Glue {
        &GLUE
    }
}

/// The link's side of AEAD (opening a frame under the session's keys, checking a hello's
/// MAC), as function pointers reached through [`Sealer::glue`].
#[doc(hidden)]
pub struct Glue {
    pub(super) open: OpenFn,
    pub(super) hello: HelloFn,
}

/// Opens a sealed frame: the key set it opened under and where its payload ends, or `None`
/// (counted).
type OpenFn = fn(&mut Link<'_>, &Header, &mut [u8]) -> Option<(KeySet, usize)>;
/// Checks a hello's MAC: its key id and record, or `None` (counted).
type HelloFn = for<'b> fn(&mut Link<'_>, &Header, &'b [u8]) -> Option<(u8, &'b [u8])>;

static GLUE: Glue = Glue {
    open: |link, h, body| link.open_sealed(h, body),
    hello: open_hello,
};

fn open_hello<'b>(link: &mut Link<'_>, h: &Header, body: &'b [u8]) -> Option<(u8, &'b [u8])> {
    link.open_hello(h, body)
}

/// This side's sealing state, for diagnostics (how far the counter is from exhaustion, which
/// key seals) and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AeadStatus {
    /// Id of the pre-shared key this side seals with.
    pub key_id: u8,
    /// The counter the next sealed frame of the current session gets.
    pub counter: u32,
    /// Whether a session's keys are in place.
    pub session: bool,
}

#[cfg(feature = "aead")]
pub use guard::Guard;

#[cfg(feature = "aead")]
mod guard {
    use super::{AeadStatus, KeySet, OpenError, Sealer, SessionParams, NONCE_LEN};
    use crate::aead::{self, Key, Replay, ReplayWindow, KEY_LEN};

    /// A pre-shared key and its id.
    #[derive(Clone)]
    struct Psk {
        id: u8,
        bytes: [u8; KEY_LEN],
    }

    /// The keys of one session: what it was derived from (to re-derive after a rekey), the
    /// sending key, the receiving keys by pre-shared key id, the counter and replay window.
    #[derive(Clone)]
    struct Session {
        ours: [u8; NONCE_LEN],
        theirs: [u8; NONCE_LEN],
        tx: Key,
        rx: [Option<Key>; 2],
        counter: u32,
        window: ReplayWindow,
    }

    impl Session {
        /// No keys yet (`derive` fills them in).
        const EMPTY: Self = Self {
            ours: [0; NONCE_LEN],
            theirs: [0; NONCE_LEN],
            tx: Key::EMPTY,
            rx: [None, None],
            counter: 0,
            window: ReplayWindow::new(),
        };

        /// The keys of the session between nonces `ours` and `theirs` under `psk`, written
        /// in place (a session is a few hundred bytes: not built on the stack and moved).
        #[inline(never)]
        fn derive(
            &mut self,
            psk: &Psk,
            ours: &[u8; NONCE_LEN],
            theirs: &[u8; NONCE_LEN],
        ) -> SessionParams {
            self.ours = *ours;
            self.theirs = *theirs;
            self.counter = 0;
            self.window = ReplayWindow::new();
            self.rx[1] = None;
            self.install(psk)
        }

        /// Derives this session's keys under `psk` into its sending key and first receiving
        /// key; returns the session's numbering.
        fn install(&mut self, psk: &Psk) -> SessionParams {
            let Self {
                ours,
                theirs,
                tx,
                rx,
                ..
            } = self;
            let rx = rx[0].insert(Key::EMPTY);
            let we_lo = *ours < *theirs;
            let (tag, isn_lo, isn_hi) = if we_lo {
                aead::derive_keys(&psk.bytes, ours, theirs, tx.bytes_mut(), rx.bytes_mut())
            } else {
                aead::derive_keys(&psk.bytes, theirs, ours, rx.bytes_mut(), tx.bytes_mut())
            };
            tx.set_id(psk.id);
            rx.set_id(psk.id);
            let (isn_tx, isn_rx) = if we_lo {
                (isn_lo, isn_hi)
            } else {
                (isn_hi, isn_lo)
            };
            SessionParams {
                tag,
                isn_tx,
                isn_rx,
            }
        }

        /// Seals with `psk` from now on, and opens its frames too (plus the newest earlier
        /// receiving key).
        #[inline(never)]
        fn rekey(&mut self, psk: &Psk) {
            self.rx[1] = self.rx[0].take();
            self.install(psk);
        }

        fn rx_key(&self, id: u8) -> Option<&Key> {
            self.rx.iter().flatten().find(|k| k.id() == id)
        }
    }

    /// ChaCha20-Poly1305 sealing with keys derived per session from a pre-shared key (about
    /// 400 bytes). Create it, then hand it to [`Link::enable_aead`](crate::link::Link::enable_aead).
    #[derive(Clone)]
    pub struct Guard {
        psk: Psk,
        previous: Option<Psk>,
        current: Option<Session>,
        pending: Option<Session>,
    }

    impl core::fmt::Debug for Guard {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            // Never print key material.
            f.debug_struct("Guard")
                .field("key_id", &self.psk.id)
                .finish_non_exhaustive()
        }
    }

    impl Guard {
        /// A guard with pre-shared key `key`, named `id` on the wire.
        pub fn new(id: u8, key: &[u8; KEY_LEN]) -> Self {
            Self {
                psk: Psk { id, bytes: *key },
                previous: None,
                current: None,
                pending: None,
            }
        }

        fn psk(&self, id: u8) -> Option<&Psk> {
            core::iter::once(&self.psk)
                .chain(&self.previous)
                .find(|p| p.id == id)
        }

        fn set(&mut self, set: KeySet) -> &mut Option<Session> {
            match set {
                KeySet::Current => &mut self.current,
                KeySet::Pending => &mut self.pending,
            }
        }
    }

    impl Sealer for Guard {
        fn key_id(&self) -> u8 {
            self.psk.id
        }

        fn hello_mac(&self, key_id: u8, covered: &[u8]) -> Option<[u8; 16]> {
            Some(aead::hello_mac(&self.psk(key_id)?.bytes, covered))
        }

        fn derive(
            &mut self,
            set: KeySet,
            key_id: u8,
            ours: &[u8; NONCE_LEN],
            theirs: &[u8; NONCE_LEN],
        ) -> Option<SessionParams> {
            let Self {
                psk,
                previous,
                current,
                pending,
            } = self;
            let current_psk = &*psk;
            let hello_psk = core::iter::once(current_psk)
                .chain(previous.iter())
                .find(|p| p.id == key_id)?;
            let slot = match set {
                KeySet::Current => current,
                KeySet::Pending => pending,
            };
            let session = slot.get_or_insert(Session::EMPTY);
            let params = session.derive(hello_psk, ours, theirs);
            if hello_psk.id != current_psk.id {
                // A hello under the previous PSK (the peer has not rotated yet): the session is
                // keyed by it, then rekeyed to the current PSK as `set_key` rekeys a running
                // one, so it seals with the current PSK and opens both (6.6). Its numbering
                // stays the hello's.
                session.rekey(current_psk);
            }
            Some(params)
        }

        fn promote(&mut self) {
            self.current = self.pending.take();
        }

        fn next_counter(&mut self) -> Option<(u8, u32)> {
            let s = self.current.as_mut()?;
            if s.counter == u32::MAX {
                return None;
            }
            let c = s.counter;
            s.counter += 1;
            Some((s.tx.id(), c))
        }

        fn seal(&self, counter: u32, body: &mut [u8], aad_len: usize) -> bool {
            self.current.as_ref().is_some_and(|s| {
                aead::seal_body(&s.tx, &aead::nonce(counter), body, aad_len).is_ok()
            })
        }

        fn open(
            &mut self,
            set: KeySet,
            key_id: u8,
            counter: u32,
            body: &mut [u8],
            aad_len: usize,
        ) -> Result<(), OpenError> {
            let s = self.set(set).as_mut().ok_or(OpenError::NoSession)?;
            let key = s.rx_key(key_id).ok_or(OpenError::UnknownKey)?;
            s.window.check(counter).map_err(|r| match r {
                Replay::Replayed => OpenError::Replayed,
                Replay::TooOld => OpenError::TooOld,
            })?;
            aead::open_body(key, &aead::nonce(counter), body, aad_len)
                .map_err(|_| OpenError::AuthFailed)?;
            s.window.mark(counter);
            Ok(())
        }

        fn reseal(&self, key_id: u8, counter: u32, body: &mut [u8], aad_len: usize) -> bool {
            let key = self.current.as_ref().and_then(|s| s.rx_key(key_id));
            key.is_some_and(|k| aead::seal_body(k, &aead::nonce(counter), body, aad_len).is_ok())
        }

        fn set_key(&mut self, id: u8, key: &[u8; 32]) {
            let psk = Psk { id, bytes: *key };
            for s in [&mut self.current, &mut self.pending].into_iter().flatten() {
                s.rekey(&psk);
            }
            self.previous = Some(core::mem::replace(&mut self.psk, psk));
        }

        fn status(&self) -> AeadStatus {
            AeadStatus {
                key_id: self.psk.id,
                counter: self.current.as_ref().map_or(0, |s| s.counter),
                session: self.current.is_some(),
            }
        }
    }
}
