//! Fixed-size message slots for the send window and the receive (reorder) buffer.

use crate::frame::Compression;

/// One reliable message awaiting acknowledgement.
#[derive(Clone, Copy)]
pub(crate) struct TxSlot<const M: usize> {
    pub data: [u8; M],
    pub len: u16,
    pub channel: u8,
    pub compression: Compression,
    /// Transmissions so far (0: queued, never sent).
    pub tx_count: u8,
    /// Due for retransmission.
    pub due: bool,
    /// Ack events that confirmed a message sent after this one.
    pub skips: u8,
    /// Selectively acknowledged.
    pub sacked: bool,
    /// Time of the last transmission (ms, low 32 bits; ages use wrapping arithmetic).
    pub sent_at: u32,
    /// Transmission order of the last transmission.
    pub tx_id: u32,
}

impl<const M: usize> TxSlot<M> {
    pub const EMPTY: Self = Self {
        data: [0; M],
        len: 0,
        channel: 0,
        compression: Compression::None,
        tx_count: 0,
        due: false,
        skips: 0,
        sacked: false,
        sent_at: 0,
        tx_id: 0,
    };

    pub fn payload(&self) -> &[u8] {
        &self.data[..usize::from(self.len).min(M)]
    }
}

/// One received message (reliable reorder slot, or the best-effort mailbox).
#[derive(Clone, Copy)]
pub(crate) struct RxSlot<const M: usize> {
    pub data: [u8; M],
    pub len: u16,
    pub channel: u8,
    pub compression: Compression,
    pub filled: bool,
}

impl<const M: usize> RxSlot<M> {
    pub const EMPTY: Self = Self {
        data: [0; M],
        len: 0,
        channel: 0,
        compression: Compression::None,
        filled: false,
    };

    /// Stores `msg` (the caller checked `msg.len() <= M`).
    pub fn fill(&mut self, channel: u8, compression: Compression, msg: &[u8]) {
        let n = crate::bytes::copy(&mut self.data, msg);
        self.len = n as u16;
        self.channel = channel;
        self.compression = compression;
        self.filled = true;
    }

    pub fn payload(&self) -> &[u8] {
        &self.data[..usize::from(self.len).min(M)]
    }
}
