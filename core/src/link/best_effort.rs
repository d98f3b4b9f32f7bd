//! The best-effort channel (feature `best-effort`): `DATA` frames, never retransmitted.
//!
//! One message waits each way, in the link's best-effort area: the next one to send (a
//! second `send` before it left is refused as `Full`) and the last one received (a newer one
//! replaces it, counted as `unreliable_overwritten`). Each `DATA` frame carries a sequence
//! number of its own so the receiver drops duplicates within the last 32.
//!
//! The link reaches the receive side and the `DATA` header only through [`Glue`], which it is
//! given together with the area ([`Link::enable_best_effort`], or buffers with a best-effort
//! area), so firmware that never turns the service on does not link them; what stays inline
//! in `send` and `recv` are the mailboxes' few checks, sharing the reliable path's
//! compression and delivery code.

use super::{Link, SetupError};
use crate::frame::{Compression, FrameKind, Header};
use managed::ManagedSlice;

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
    /// Highest sequence number received this session (the one before the peer's first
    /// until a frame arrives).
    rx_high: u16,
    /// Bit `i`: `rx_high - i` was received (or is before the peer's first).
    rx_bits: u32,
    /// The service's code, once it is on.
    pub glue: Option<&'static Glue>,
}

impl BestEffort {
    pub const fn new() -> Self {
        Self {
            tx: Mailbox::EMPTY,
            tx_seq: 0,
            rx: Mailbox::EMPTY,
            rx_high: 0,
            rx_bits: 0,
            glue: None,
        }
    }

    /// A new session: nothing queued, numbering from `isn_tx`; the peer numbers from
    /// `isn_rx`, so everything before it counts as received already (a stale frame of an
    /// earlier session numbered behind it is a duplicate, never delivered).
    pub fn start(&mut self, isn_tx: u16, isn_rx: u16) {
        self.tx.filled = false;
        self.tx_seq = isn_tx;
        self.rx_high = isn_rx.wrapping_sub(1);
        self.rx_bits = u32::MAX;
    }

    /// Drops the queued message (the session ended); returns how many were dropped (0 or 1).
    pub fn discard(&mut self) -> u8 {
        let n = u8::from(self.tx.filled);
        self.tx.filled = false;
        n
    }

    /// Records `seq` as received; false when it is a duplicate (or older than the last 32).
    pub fn accept(&mut self, seq: u16) -> bool {
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

/// The bulk of the channel's code, as function pointers: a link holds them only once the
/// service is on (`BestEffort::glue`).
pub(super) struct Glue {
    /// The header of the `DATA` frame that carries the waiting message (numbers it).
    pub header: fn(&mut Link<'_>) -> Header,
    /// A `DATA` frame received: its header, sequence number and payload.
    pub on_data: fn(&mut Link<'_>, &Header, u16, &[u8]),
}

static GLUE: Glue = Glue {
    header: |link| link.best_effort_header(),
    on_data: |link, h, seq, payload| link.receive_data(h, seq, payload),
};

impl<'a> Link<'a> {
    /// Turns the best-effort channel on with `area` (2 × [`Link::max_message`] bytes: one
    /// message waiting each way): messages on channels [`Config::channels`](super::Config)
    /// does not mark reliable then go as `DATA` frames when the peer takes them. A session
    /// that is up ends ([`DownReason::LocalClose`](super::DownReason)): capabilities are
    /// fixed per session. Called again, it moves the channel to the new area: messages
    /// waiting in the old one are dropped and counted (`discarded_on_reset` for the one to
    /// send, `unreliable_overwritten` for the one received). [`Link::new`] does this itself for
    /// buffers with a best-effort area; firmware that never calls it (and gives no such area)
    /// does not link the channel's receive side.
    pub fn enable_best_effort(
        &mut self,
        area: impl Into<ManagedSlice<'a, u8>>,
    ) -> Result<(), SetupError> {
        self.attach_best_effort(area.into())?;
        self.restart(super::DownReason::LocalClose);
        Ok(())
    }

    /// The best-effort channel's memory (its two mailboxes) when the channel is enabled, else
    /// empty: with [`Link::codec`], [`Link::sealer_extent`] and [`Link::repair`], what a C layer
    /// checks a new service block against.
    pub fn best_effort_memory(&self) -> &[u8] {
        if self.best_effort.glue.is_some() {
            &self.areas.best_effort
        } else {
            &[]
        }
    }

    /// Gives the link `area` and the code of the service (no session is up yet, or
    /// [`Link::enable_best_effort`] restarts it).
    pub(super) fn attach_best_effort(
        &mut self,
        area: ManagedSlice<'a, u8>,
    ) -> Result<(), SetupError> {
        if area.len() != 2 * self.max_message() {
            return Err(SetupError::BestEffort);
        }
        let (tx, rx) = (&mut self.best_effort.tx, &mut self.best_effort.rx);
        self.stats.discarded_on_reset += u32::from(core::mem::take(&mut tx.filled));
        self.stats.unreliable_overwritten += u32::from(core::mem::take(&mut rx.filled));
        self.areas.best_effort = area;
        self.best_effort.glue = Some(&GLUE);
        Ok(())
    }
}

impl Link<'_> {
    fn best_effort_header(&mut self) -> Header {
        let mut h = self.tagged(FrameKind::Data, self.best_effort.tx.channel);
        h.seq = Some(self.best_effort.tx_seq);
        h.compression = self.best_effort.tx.compression;
        h.fec_seq = self.fec_seq();
        self.best_effort.tx_seq = self.best_effort.tx_seq.wrapping_add(1);
        h
    }

    fn receive_data(&mut self, h: &Header, seq: u16, payload: &[u8]) {
        let shared = matches!(h.compression, Compression::Shared | Compression::SharedRaw);
        if shared || !self.accepts(h.compression) {
            self.stats.not_negotiated += 1;
            return;
        }
        let m = self.max_message();
        if payload.len() > m {
            self.stats.too_large += 1;
            return;
        }
        if !self.best_effort.accept(seq) {
            self.stats.duplicates += 1;
            return;
        }
        if self.best_effort.rx.filled {
            self.stats.unreliable_overwritten += 1;
        }
        if let Some(area) = self.areas.best_effort.get_mut(m..2 * m) {
            crate::bytes::copy(area, payload);
        }
        let mb = &mut self.best_effort.rx;
        mb.len = payload.len() as u16;
        mb.channel = h.channel;
        mb.compression = h.compression;
        mb.filled = true;
    }
}

#[cfg(test)]
mod tests {
    use super::BestEffort;

    #[test]
    fn duplicates_within_32_are_refused() {
        let mut be = BestEffort::new();
        be.start(0, 100);
        // Numbered before the peer's first: a stale frame of an earlier session.
        assert!(!be.accept(99));
        assert!(!be.accept(100 - 31));
        assert!(!be.accept(100 - 40));
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
        // A new session whose peer numbers from 103: the earlier 103 and before are refused.
        be.start(7, 104);
        assert!(!be.accept(103));
        assert!(be.accept(104));
        assert!(be.accept(103 + 40));
    }
}
