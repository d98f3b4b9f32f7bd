//! Forward error correction in the link (`PROTOCOL.md` section 7): the [`Repair`]
//! interface the link calls, and [`Fec`], its implementation over [`crate::fec`].
//!
//! The link holds its repair layer as a trait object installed by
//! [`Link::enable_fec`](super::Link::enable_fec), so firmware that does not use FEC links none
//! of its code.

use super::receive::FecDue;
use super::storage::data_body_len;
use super::Link;
use crate::fec::{Carries, ConfigError, FecRx, FecTx, MAX_K, MAX_M, MAX_WINDOW};

/// What the link asks of its forward error correction. `Send`, like the other services, so
/// that a [`Link`] can be moved into an interrupt handler's or an RTIC task's state.
pub trait Repair: Send {
    /// The largest group and the most parity frames per group this side repairs (announced
    /// in the hello record as `fec_k`, `fec_m`).
    fn receives(&self) -> (u8, u8);
    /// A session starts; the peer repairs groups of up to `peer_k` frames with up to
    /// `peer_m` parity frames (0: it takes no FEC). Numbering restarts both ways.
    fn start(&mut self, peer_k: u8, peer_m: u8);
    /// Whether this side protects what it sends in this session.
    fn sending(&self) -> bool;
    /// The FEC number the next protected frame gets.
    fn next_seq(&self) -> u8;
    /// A protected frame's complete body (header, payload, CRC) as sent, and what it
    /// carries.
    fn protect(&mut self, body: &[u8], now: u64, carries: Carries);
    /// Drops the closed group's pending parity that the peer cannot need, given which
    /// reliable messages it has acknowledged (`acked`); see [`FecTx::skip_unneeded`].
    fn skip_unneeded(&mut self, acked: &dyn Fn(u16) -> bool);
    /// When the open group should be closed early (the time its first frame was sent plus
    /// `after`), or `None` when no group is open.
    fn flush_at(&self, after: u64) -> Option<u64>;
    /// Closes the open group: its parity becomes pending.
    fn close_group(&mut self);
    /// Length of the next pending PARITY payload (0: none pending).
    fn parity_len(&self) -> usize;
    /// Writes the next pending PARITY payload into `out` (exactly [`Repair::parity_len`]
    /// bytes); false when none was written.
    fn next_parity(&mut self, out: &mut [u8]) -> bool;
    /// Whether this side repairs frames the peer protects.
    fn receiving(&self) -> bool;
    /// A protected frame that arrived: its complete body as received (CRC included).
    fn on_protected(&mut self, fec_seq: u8, body: &[u8]);
    /// A PARITY payload that arrived; false when it is refused (counted).
    fn on_parity(&mut self, payload: &[u8]) -> bool;
    /// A body rebuilt from parity, written into `out`: its length.
    fn next_recovered(&mut self, out: &mut [u8]) -> Option<usize>;
    /// Counters.
    fn stats(&self) -> FecStats;
    /// The link's own side of FEC. Keep the default: it is reached only through this trait
    /// object, so a link that never enables FEC links none of that code either.
    #[doc(hidden)]
    fn glue(&self) -> &'static Glue {
        &GLUE
    }
    /// Bytes of caller memory it works in besides its own object (0: none). A C layer checks
    /// a new service's memory against it.
    fn memory_len(&self) -> usize {
        0
    }
}

/// The link's side of FEC (deciding when parity goes, handing received frames over,
/// receiving what was rebuilt), as function pointers reached through [`Repair::glue`].
#[doc(hidden)]
pub struct Glue {
    /// Whether a closed group's parity is pending and still needed.
    pub(super) parity_needed: fn(&mut Link<'_>) -> bool,
    /// Whether a PARITY frame should go now (closing an open group that is old enough).
    pub(super) parity_due: fn(&mut Link<'_>) -> bool,
    /// Hands FEC what the frame just received gave it, then receives what it rebuilt.
    pub(super) finish: fn(&mut Link<'_>, FecDue),
}

static GLUE: Glue = Glue {
    parity_needed: |link| link.parity_needed(),
    parity_due: |link| link.parity_due(),
    finish: |link, due| link.finish_fec(due),
};

/// FEC counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FecStats {
    /// PARITY frames sent.
    pub parity_sent: u32,
    /// PARITY frames of a closed group left unsent because another protected frame had to go
    /// first (the group then has less protection).
    pub parity_dropped: u32,
    /// PARITY frames of a closed group left unsent because the peer had acknowledged enough
    /// of the group that it could not need them.
    pub parity_unneeded: u32,
    /// Frames rebuilt from parity (each then checked like any frame received).
    pub recovered: u32,
    /// Groups that lost more frames than their parity repairs (ARQ repairs those).
    pub unrecoverable: u32,
    /// PARITY payloads refused (malformed, inconsistent, stale), and groups given up because
    /// their parity disagrees with their data.
    pub parity_rejected: u32,
}

/// How a side uses FEC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FecConfig {
    /// Data frames per group, 1..=32: the group this side sends (when the peer repairs it)
    /// and the largest group it repairs.
    pub k: u8,
    /// Parity frames per group, 1..=16 (same for both directions).
    pub m: u8,
    /// Groups the receiver keeps at once, 2.. (with `groups · k <= 128`).
    pub groups: u8,
    /// Whether this side protects what it sends (it always repairs what it receives).
    pub send: bool,
}

impl FecConfig {
    /// 8 data frames and 2 parity frames per group, 2 groups kept, both directions.
    pub const DEFAULT: Self = Self {
        k: 8,
        m: 2,
        groups: 2,
        send: true,
    };

    /// Whether `k`, `m` and `groups` are in range ([`Fec::new`] refuses anything else):
    ///
    /// ```
    /// use ferrule::link::FecConfig;
    /// assert!(FecConfig::DEFAULT.is_valid());
    /// assert!(!FecConfig { groups: 5, k: 32, ..FecConfig::DEFAULT }.is_valid()); // 160 > 128
    /// ```
    pub const fn is_valid(&self) -> bool {
        let (k, m, groups) = (self.k as usize, self.m as usize, self.groups as usize);
        k >= 1 && k <= MAX_K && m >= 1 && m <= MAX_M && groups >= 2 && groups * k <= MAX_WINDOW
    }
}

impl Default for FecConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Forward error correction for a link of messages of up to `max_message` bytes: a
/// [`FecTx`] and a [`FecRx`] over one block of caller memory ([`Fec::storage_size`]).
pub struct Fec<'a> {
    tx: FecTx<'a>,
    rx: FecRx<'a>,
    cfg: FecConfig,
    sending: bool,
}

impl<'a> Fec<'a> {
    /// Bytes of memory for `cfg` on a link of messages of up to `max_message` bytes.
    pub const fn storage_size(cfg: &FecConfig, max_message: usize) -> usize {
        let body = data_body_len(max_message);
        FecTx::storage_size(cfg.m as usize, body).saturating_add(FecRx::storage_size(
            cfg.k as usize,
            cfg.m as usize,
            body,
            cfg.groups as usize,
        ))
    }

    /// FEC for `cfg` over `mem` (at least [`Fec::storage_size`] bytes).
    pub fn new(cfg: FecConfig, max_message: usize, mem: &'a mut [u8]) -> Result<Self, ConfigError> {
        let body = data_body_len(max_message);
        let (k, m) = (usize::from(cfg.k), usize::from(cfg.m));
        let need = Self::storage_size(&cfg, max_message);
        let have = mem.len();
        if have < need {
            return Err(ConfigError::MemoryTooSmall { need, have });
        }
        let (tx_mem, rx_mem) = mem.split_at_mut(FecTx::storage_size(m, body));
        Ok(Self {
            tx: FecTx::new(k, m, body, tx_mem)?,
            rx: FecRx::new(k, m, body, cfg.groups.into(), rx_mem)?,
            cfg,
            sending: false,
        })
    }
}

impl Repair for Fec<'_> {
    fn memory_len(&self) -> usize {
        self.tx.memory_len().saturating_add(self.rx.memory_len())
    }

    fn receives(&self) -> (u8, u8) {
        (self.cfg.k, self.cfg.m)
    }

    fn start(&mut self, peer_k: u8, peer_m: u8) {
        let (k, m) = (self.cfg.k.min(peer_k), self.cfg.m.min(peer_m));
        self.sending =
            self.cfg.send && k > 0 && m > 0 && self.tx.set_shape(k.into(), m.into()).is_ok();
        self.tx.reset();
        self.rx.reset();
    }

    fn sending(&self) -> bool {
        self.sending
    }

    fn next_seq(&self) -> u8 {
        self.tx.next_seq()
    }

    fn protect(&mut self, body: &[u8], now: u64, carries: Carries) {
        // Bodies never exceed the link's largest (the size FEC was built for).
        let _ = self.tx.add_frame(body, now, carries);
    }

    fn skip_unneeded(&mut self, acked: &dyn Fn(u16) -> bool) {
        self.tx.skip_unneeded(acked);
    }

    fn flush_at(&self, after: u64) -> Option<u64> {
        self.tx.opened_at().map(|t| t.saturating_add(after))
    }

    fn close_group(&mut self) {
        self.tx.close_group();
    }

    fn parity_len(&self) -> usize {
        self.tx.parity_len()
    }

    fn next_parity(&mut self, out: &mut [u8]) -> bool {
        self.tx.next_parity(out).is_some()
    }

    fn receiving(&self) -> bool {
        true
    }

    fn on_protected(&mut self, fec_seq: u8, body: &[u8]) {
        self.rx.on_protected(fec_seq, body);
    }

    fn on_parity(&mut self, payload: &[u8]) -> bool {
        self.rx.on_parity(payload).is_ok()
    }

    fn next_recovered(&mut self, out: &mut [u8]) -> Option<usize> {
        self.rx.next_recovered(out)
    }

    fn stats(&self) -> FecStats {
        let (t, r) = (self.tx.stats(), self.rx.stats());
        FecStats {
            parity_sent: t.parity_sent,
            parity_dropped: t.parity_dropped,
            parity_unneeded: t.parity_unneeded,
            recovered: r.recovered,
            unrecoverable: r.unrecoverable,
            // A group given up as inconsistent had parity that disagrees with its (checked)
            // data: that parity is refused too.
            parity_rejected: r.parity_rejected().wrapping_add(r.inconsistent),
        }
    }
}
