//! The best-effort channel (feature `best-effort`): `DATA` frames, never retransmitted.
//!
//! One message waits each way, in the link's best-effort area: the next one to send (a
//! second `send` before it left is refused as `Full`) and the last one received (a newer one
//! replaces it, counted as `unreliable_overwritten`). Each `DATA` frame carries a sequence
//! number of its own so the receiver drops duplicates within the last 32.

use crate::frame::Compression;

/// What sits in one mailbox (its bytes are in the link's best-effort area).
#[derive(Clone, Copy)]
pub(super) struct Mailbox {
    pub len: u16,
    pub channel: u8,
    pub compression: Compression,
    pub filled: bool,
}

impl Mailbox {
    const EMPTY: Self = Self {
        len: 0,
        channel: 0,
        compression: Compression::None,
        filled: false,
    };
}

/// Best-effort state of one endpoint: the two mailboxes and duplicate suppression.
pub(super) struct BestEffort {
    /// The message waiting for `poll_transmit` (bytes: the area's first half).
    pub tx: Mailbox,
    /// Sequence number of the next `DATA` frame.
    pub tx_seq: u16,
    /// The message waiting for `recv` (bytes: the area's second half).
    pub rx: Mailbox,
    /// Highest sequence number received this session (valid once `rx_any`).
    rx_high: u16,
    /// Bit `i`: `rx_high - i` was received.
    rx_bits: u32,
    rx_any: bool,
}

impl BestEffort {
    pub const fn new() -> Self {
        Self {
            tx: Mailbox::EMPTY,
            tx_seq: 0,
            rx: Mailbox::EMPTY,
            rx_high: 0,
            rx_bits: 0,
            rx_any: false,
        }
    }

    /// A new session: nothing queued, numbering from `isn_tx`, no history.
    pub fn start(&mut self, isn_tx: u16) {
        self.tx.filled = false;
        self.tx_seq = isn_tx;
        self.rx_any = false;
    }

    /// Drops the queued message (the session ended); returns how many were dropped (0 or 1).
    pub fn discard(&mut self) -> u8 {
        let n = u8::from(self.tx.filled);
        self.tx.filled = false;
        n
    }

    /// Records `seq` as received; false when it is a duplicate (or older than the last 32).
    pub fn accept(&mut self, seq: u16) -> bool {
        if !self.rx_any {
            self.rx_any = true;
            self.rx_high = seq;
            self.rx_bits = 1;
            return true;
        }
        let d = seq.wrapping_sub(self.rx_high) as i16;
        if d > 0 {
            self.rx_bits = if d >= 32 { 0 } else { self.rx_bits << d };
            self.rx_bits |= 1;
            self.rx_high = seq;
            return true;
        }
        let back = d.unsigned_abs();
        if back >= 32 || self.rx_bits & (1 << back) != 0 {
            return false;
        }
        self.rx_bits |= 1 << back;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::BestEffort;

    #[test]
    fn duplicates_within_32_are_refused() {
        let mut be = BestEffort::new();
        assert!(be.accept(100));
        assert!(!be.accept(100));
        assert!(be.accept(103));
        assert!(be.accept(101));
        assert!(!be.accept(101));
        assert!(be.accept(102));
        // 32 behind the highest is outside the window: refused as too old.
        assert!(!be.accept(103u16.wrapping_sub(32)));
        // Wrapping forward and a jump beyond the window.
        assert!(be.accept(103 + 40));
        assert!(!be.accept(103));
        be.start(7);
        assert!(be.accept(103));
    }
}
