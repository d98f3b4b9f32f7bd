//! The hello record: the payload of `HELLO` and `HELLO_ACK` (`PROTOCOL.md` section 4.1).
//!
//! ```text
//! offset size field
//! 0      16   nonce        the sender's fresh value for this handshake
//! 16     16   peer_nonce   HELLO: zero; HELLO_ACK: the nonce of the HELLO it answers
//! 32     2    max_message  largest message the sender accepts (u16 LE)
//! 34     1    window       the sender's receive window (messages)
//! 35     1    caps         what the sender accepts (bits in `caps`)
//! 36     1    window_bits  log2 of the longest back-reference its inflater takes (0: none)
//! 37     1    dict_id      the preset dictionary it decompresses with (0: none)
//! 38     1    fec_k        the largest FEC group it repairs (0: no FEC)
//! 39     1    fec_m        the most parity frames per group it keeps
//! [40    16   mac]         with a pre-shared key: HMAC-SHA256 tag, section 6.3
//! ```

/// Length of a handshake nonce.
pub const NONCE_LEN: usize = 16;

/// Capability bits of the hello record: what the sender can receive.
pub mod caps {
    /// Accepts `COMPRESSED` payloads that are one complete deflate stream each.
    pub const DEFLATE: u8 = 1 << 0;
    /// Accepts the shared deflate stream (`SHARED`, with or without `COMPRESSED`).
    pub const SHARED: u8 = 1 << 1;
    /// Accepts dynamic-Huffman deflate blocks (without it: stored and fixed-Huffman only).
    pub const DYNAMIC: u8 = 1 << 2;
    /// Accepts `DATA` frames (the best-effort service).
    pub const BEST_EFFORT: u8 = 1 << 3;
    /// Every bit a v2 sender may set.
    pub const ALL: u8 = DEFLATE | SHARED | DYNAMIC | BEST_EFFORT;
}

/// A decoded hello record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Hello {
    /// The sender's nonce for this handshake.
    pub nonce: [u8; NONCE_LEN],
    /// The nonce this record answers (all zero in a `HELLO`).
    pub peer_nonce: [u8; NONCE_LEN],
    /// Largest message (and payload before sealing) the sender accepts.
    pub max_message: u16,
    /// The sender's receive window (reliable messages).
    pub window: u8,
    /// [`caps`] bits.
    pub caps: u8,
    /// log2 of the longest back-reference the sender's inflater takes, 8..=15; 0 when it
    /// takes no compressed payload.
    pub window_bits: u8,
    /// Preset dictionary the sender decompresses with (0: none).
    pub dict_id: u8,
    /// Largest FEC group (data frames) the sender repairs (0: no FEC).
    pub fec_k: u8,
    /// Most parity frames per group the sender keeps.
    pub fec_m: u8,
}

impl Hello {
    /// Encoded length.
    pub const LEN: usize = 40;
    /// Length of the MAC that follows the record under a pre-shared key.
    pub const MAC_LEN: usize = 16;
    /// Encoded length with the MAC.
    pub const SEALED_LEN: usize = Self::LEN + Self::MAC_LEN;

    /// Writes the record.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        self.write(&mut b);
        b
    }

    /// Writes the record into the first [`Hello::LEN`] bytes of `b` (fewer if `b` is
    /// shorter).
    pub fn write(&self, b: &mut [u8]) {
        let [m0, m1] = self.max_message.to_le_bytes();
        let tail = [
            m0,
            m1,
            self.window,
            self.caps,
            self.window_bits,
            self.dict_id,
            self.fec_k,
            self.fec_m,
        ];
        for (dst, src) in b
            .iter_mut()
            .zip(self.nonce.iter().chain(&self.peer_nonce).chain(&tail))
        {
            *dst = *src;
        }
    }

    /// Reads a record; `None` unless `b` is exactly [`Self::LEN`] bytes with a non-zero
    /// nonce, no unknown capability bit, and a `window_bits` of 0 or 8..=15.
    // Always inlined: one caller per link implementation; an out-of-line copy costs the full
    // link 46 B of flash on Cortex-M0 once `ferrule::compact` is a second caller.
    #[inline(always)]
    pub fn parse(b: &[u8]) -> Option<Self> {
        let b: &[u8; Self::LEN] = b.try_into().ok()?;
        let (nonce, rest) = b.split_first_chunk::<NONCE_LEN>()?;
        let (peer_nonce, rest) = rest.split_first_chunk::<NONCE_LEN>()?;
        let &[m0, m1, window, caps, window_bits, dict_id, fec_k, fec_m] = rest else {
            return None;
        };
        let h = Self {
            nonce: *nonce,
            peer_nonce: *peer_nonce,
            max_message: u16::from_le_bytes([m0, m1]),
            window,
            caps,
            window_bits,
            dict_id,
            fec_k,
            fec_m,
        };
        let bits_ok = window_bits == 0 || (8..=15).contains(&window_bits);
        let valid = h.nonce != [0; NONCE_LEN]
            && h.caps & !caps::ALL == 0
            && bits_ok
            && h.max_message > 0
            && h.window > 0;
        valid.then_some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let h = Hello {
            nonce: [7; 16],
            peer_nonce: [0; 16],
            max_message: 128,
            window: 4,
            caps: caps::SHARED | caps::BEST_EFFORT,
            window_bits: 10,
            dict_id: 3,
            fec_k: 8,
            fec_m: 2,
        };
        let b = h.to_bytes();
        assert_eq!(Hello::parse(&b), Some(h));
        assert_eq!(Hello::parse(&b[..39]), None);
        let mut zero = b;
        zero[..16].fill(0);
        assert_eq!(Hello::parse(&zero), None);
        let mut bad = b;
        bad[35] = 0x80;
        assert_eq!(Hello::parse(&bad), None);
        bad = b;
        bad[36] = 7;
        assert_eq!(Hello::parse(&bad), None);
        bad = b;
        bad[34] = 0;
        assert_eq!(Hello::parse(&bad), None);
    }
}
