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

/// The 12-byte payload of HELLO and HELLO_ACK.
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
}

impl Hello {
    /// Encoded length.
    pub const LEN: usize = 12;

    /// Writes the record.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0..4].copy_from_slice(&self.epoch.to_le_bytes());
        b[4..8].copy_from_slice(&self.peer_epoch.to_le_bytes());
        b[8..10].copy_from_slice(&self.max_payload.to_le_bytes());
        b[10] = self.window;
        b[11] = self.caps;
        b
    }

    /// Reads a record; `None` unless exactly 12 bytes with a non-zero epoch and no unknown
    /// capability bits.
    pub fn parse(b: &[u8]) -> Option<Self> {
        let b: &[u8; Self::LEN] = b.try_into().ok()?;
        let h = Self {
            epoch: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            peer_epoch: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            max_payload: u16::from_le_bytes([b[8], b[9]]),
            window: b[10],
            caps: b[11],
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
        };
        assert_eq!(Hello::parse(&h.to_bytes()), Some(h));
        assert_eq!(Hello::parse(&h.to_bytes()[..11]), None);
        let mut zero = h.to_bytes();
        zero[..4].fill(0);
        assert_eq!(Hello::parse(&zero), None);
        let mut bad_caps = h.to_bytes();
        bad_caps[11] = 0x80;
        assert_eq!(Hello::parse(&bad_caps), None);
    }
}
