//! Session identity: epochs, the session tag and initial sequence numbers, the hello record
//! (`docs/PROTOCOL.md` sections 4.1 and 4.2).

/// MurmurHash3's 32-bit finaliser: a bijection with good avalanche.
pub const fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^= h >> 16;
    h
}

/// What both ends derive from the pair of epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SessionKeys {
    /// Tag carried by every DATA, RDATA and ACK frame of the session.
    pub tag: u8,
    /// First sequence number this side sends.
    pub isn_tx: u16,
    /// First sequence number the peer sends.
    pub isn_rx: u16,
}

impl SessionKeys {
    /// Derives the session from our epoch and the peer's.
    pub const fn derive(ours: u32, theirs: u32) -> Self {
        let (lo, hi) = if ours <= theirs {
            (ours, theirs)
        } else {
            (theirs, ours)
        };
        let x = fmix32(lo ^ fmix32(hi));
        let isn_lo = (x & 0xFFFF) as u16;
        let isn_hi = ((x >> 8) & 0xFFFF) as u16;
        let (isn_tx, isn_rx) = if ours < theirs {
            (isn_lo, isn_hi)
        } else if ours > theirs {
            (isn_hi, isn_lo)
        } else {
            // Equal epochs: neither side is "lo", so both directions start at the same ISN.
            (isn_lo, isn_lo)
        };
        Self {
            tag: (x >> 24) as u8,
            isn_tx,
            isn_rx,
        }
    }
}

/// Capability bits of the hello record.
pub mod caps {
    /// Accepts compressed payloads.
    pub const INFLATE: u8 = 1 << 0;
    /// Accepts the shared-window deflate stream.
    pub const SHARED: u8 = 1 << 1;
    /// Requires AEAD on every frame.
    pub const AEAD: u8 = 1 << 2;
}

/// The payload of HELLO and HELLO_ACK: 12 bytes, or 20 with [`caps::AEAD`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Hello {
    /// The sender's epoch.
    pub epoch: u32,
    /// The epoch the sender believes the peer has (0: none).
    pub peer_epoch: u32,
    /// Largest payload the sender accepts.
    pub max_payload: u16,
    /// The sender's receive window (messages).
    pub window: u8,
    /// Capability bits ([`caps`]).
    pub caps: u8,
    /// With [`caps::AEAD`]: the sender's boot id, the first part of its nonces.
    pub boot: u32,
    /// With [`caps::AEAD`]: the sender's session attempt in this boot, the second part.
    pub generation: u32,
}

impl Hello {
    /// Encoded length without AEAD.
    pub const LEN: usize = 12;
    /// Encoded length with [`caps::AEAD`] (boot and generation appended).
    pub const AEAD_LEN: usize = 20;

    /// The record's length on the wire.
    pub fn len(&self) -> usize {
        if self.caps & caps::AEAD != 0 {
            Self::AEAD_LEN
        } else {
            Self::LEN
        }
    }

    /// Always false (a record has at least 12 bytes).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the record; the first [`Self::len`] bytes are the encoding.
    pub fn to_bytes(&self) -> [u8; Self::AEAD_LEN] {
        let [e0, e1, e2, e3] = self.epoch.to_le_bytes();
        let [p0, p1, p2, p3] = self.peer_epoch.to_le_bytes();
        let [m0, m1] = self.max_payload.to_le_bytes();
        let [b0, b1, b2, b3] = self.boot.to_le_bytes();
        let [g0, g1, g2, g3] = self.generation.to_le_bytes();
        #[rustfmt::skip]
        let b = [
            e0, e1, e2, e3, p0, p1, p2, p3, m0, m1, self.window, self.caps,
            b0, b1, b2, b3, g0, g1, g2, g3,
        ];
        b
    }

    /// Reads a record; `None` unless it has exactly the length its caps call for, a non-zero
    /// epoch and no unknown capability bits.
    pub fn parse(b: &[u8]) -> Option<Self> {
        let u32_at = |i: usize| -> Option<u32> {
            Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
        };
        let caps = *b.get(11)?;
        let aead = caps & caps::AEAD != 0;
        if b.len() != if aead { Self::AEAD_LEN } else { Self::LEN } {
            return None;
        }
        let h = Self {
            epoch: u32_at(0)?,
            peer_epoch: u32_at(4)?,
            max_payload: u16::from_le_bytes([b[8], b[9]]),
            window: b[10],
            caps,
            boot: if aead { u32_at(12)? } else { 0 },
            generation: if aead { u32_at(16)? } else { 0 },
        };
        (h.epoch != 0 && h.caps & !(caps::INFLATE | caps::SHARED | caps::AEAD) == 0).then_some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_derive_the_same_session() {
        for (a, b) in [(1u32, 2u32), (0xDEAD_BEEF, 7), (5, 5), (u32::MAX, 1)] {
            let x = SessionKeys::derive(a, b);
            let y = SessionKeys::derive(b, a);
            assert_eq!(x.tag, y.tag);
            assert_eq!((x.isn_tx, x.isn_rx), (y.isn_rx, y.isn_tx));
        }
        // A new epoch on one side changes the tag for most epochs.
        let changed = (1..=1000u32)
            .filter(|&n| SessionKeys::derive(n, 99).tag != SessionKeys::derive(n + 1000, 99).tag)
            .count();
        assert!(changed > 980, "{changed}");
    }

    #[test]
    fn hello_round_trip_and_rejects() {
        let h = Hello {
            epoch: 0x1234_5678,
            peer_epoch: 0,
            max_payload: 128,
            window: 8,
            caps: caps::INFLATE,
            boot: 0,
            generation: 0,
        };
        let b = h.to_bytes();
        assert_eq!(Hello::parse(&b[..12]), Some(h));
        assert_eq!(Hello::parse(&b[..11]), None);
        assert_eq!(Hello::parse(&b[..20]), None);
        let mut zero = b;
        zero[..4].fill(0);
        assert_eq!(Hello::parse(&zero[..12]), None);
        let mut bad_caps = b;
        bad_caps[11] = 0x80;
        assert_eq!(Hello::parse(&bad_caps[..12]), None);
        let sealed = Hello {
            caps: caps::AEAD,
            boot: 7,
            generation: 9,
            ..h
        };
        assert_eq!(Hello::parse(&sealed.to_bytes()), Some(sealed));
        assert_eq!(Hello::parse(&sealed.to_bytes()[..12]), None);
    }
}
