//! The best-effort channel (feature `best-effort`): `DATA` frames, never retransmitted.
//!
//! One message waits each way: the next one to send (a second `send` before it left is
//! refused as `Full`) and the last one received (a newer one replaces it, counted as
//! `unreliable_overwritten`). Each `DATA` frame carries a sequence number of its own so the
//! receiver drops duplicates within the last 32.

use super::slots::RxSlot;

/// Best-effort state of one endpoint: the two mailboxes and duplicate suppression.
pub(crate) struct BestEffort<const M: usize> {
    /// The message waiting for `poll_transmit`.
    pub tx: RxSlot<M>,
    /// Sequence number of the next `DATA` frame.
    pub tx_seq: u16,
    /// The message waiting for `recv`.
    pub rx: RxSlot<M>,
    /// Highest sequence number received this session (valid once `rx_any`).
    rx_high: u16,
    /// Bit `i`: `rx_high - i` was received.
    rx_bits: u32,
    rx_any: bool,
}

impl<const M: usize> BestEffort<M> {
    pub const NEW: Self = Self {
        tx: RxSlot::EMPTY,
        tx_seq: 0,
        rx: RxSlot::EMPTY,
        rx_high: 0,
        rx_bits: 0,
        rx_any: false,
    };

    /// A new session: nothing queued, numbering from `isn_tx`, no history.
    pub fn start(&mut self, isn_tx: u16) {
        self.tx.filled = false;
        self.tx_seq = isn_tx;
        self.rx_any = false;
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
        let mut be = BestEffort::<8>::NEW;
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
