//! The sender: parity accumulated frame by frame, no data symbols kept.

use super::gf::{cauchy, mul_add};
use super::parity::{Parity, PARITY_HEADER_LEN};
use super::{check_config, symbol_len, ConfigError};

/// Sender counters. Plain 32-bit counters that wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FecTxStats {
    /// Bodies added to a group.
    pub protected: u32,
    /// Groups closed (full, or flushed early).
    pub groups: u32,
    /// Parity payloads handed out by [`FecTx::next_parity`].
    pub parity_sent: u32,
    /// Parity payloads never handed out: abandoned because a body was added before they
    /// were taken, or skipped because the buffer given to `next_parity` was too short.
    pub parity_dropped: u32,
    /// Parity payloads never handed out because the peer had acknowledged enough of the
    /// group's frames that it cannot need them ([`FecTx::skip_unneeded`]).
    pub parity_unneeded: u32,
    /// Bodies refused by [`FecTx::add`] because they are longer than `max_body`.
    pub too_long: u32,
}

/// What a protected frame carries, as far as acknowledgements go: what lets
/// [`FecTx::skip_unneeded`] tell which frames of a group the peer certainly holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Carries {
    /// The first transmission of reliable message `seq`: once the peer acknowledges `seq`
    /// (and as long as no other transmission of it joins the group), this very frame
    /// arrived.
    First(u16),
    /// Another transmission of reliable message `seq`: never counted as arrived, and it
    /// makes an earlier transmission of `seq` in the same group uncertain too (either copy
    /// may be the one the acknowledgement answers).
    Again(u16),
    /// Nothing the peer acknowledges (best-effort `DATA`): never counted as arrived.
    Unacked,
}

/// A body longer than the `max_body` a [`FecTx`] was created with; nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TooLong;

impl core::fmt::Display for TooLong {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("body longer than the FEC max_body")
    }
}

impl core::error::Error for TooLong {}

/// The sending half of FEC: numbers protected frames (`fec_seq`), groups them, and computes
/// each group's parity as its frames go out, so no copy of the data is kept.
///
/// State is `m` parity accumulators of `2 + max_body` bytes in caller memory
/// ([`FecTx::storage_size`]) and a few bytes here. See the [module docs](super) for the
/// order of calls.
#[derive(Debug)]
pub struct FecTx<'a> {
    mem: &'a mut [u8],
    k: u8,
    m: u8,
    /// The `m` the memory was sized for: [`FecTx::set_shape`] never goes above it.
    m_cap: u8,
    max_body: u16,
    next_seq: u8,
    /// `fec_seq` of the group's first frame.
    first: u8,
    /// Frames in the open or closed group.
    n: u8,
    /// Longest body in the group.
    longest: u16,
    /// When the group's first frame was added.
    opened_at: u64,
    /// Parity symbols handed out so far, or `None` while the group is open.
    taken: Option<u8>,
    /// Bit `i`: frame `i` of the group is the only transmission of reliable message
    /// `acked_by[i]` in it (see [`Carries::First`]).
    firsts: u32,
    /// The reliable message each frame of the group carries (meaningful where `firsts` says).
    acked_by: [u16; super::MAX_K],
    stats: FecTxStats,
}

impl<'a> FecTx<'a> {
    /// Bytes of the memory it was given.
    pub(crate) fn memory_len(&self) -> usize {
        self.mem.len()
    }

    /// Bytes of caller memory a sender needs: `m · (2 + max_body)`.
    pub const fn storage_size(m: usize, max_body: usize) -> usize {
        m.saturating_mul(symbol_len(max_body))
    }

    /// A sender for groups of up to `k` frames with `m` parity frames each, for bodies of up
    /// to `max_body` bytes, over `mem` (at least [`FecTx::storage_size`] bytes; zeroed
    /// here). The first protected frame gets `fec_seq` 0.
    pub fn new(
        k: usize,
        m: usize,
        max_body: usize,
        mem: &'a mut [u8],
    ) -> Result<Self, ConfigError> {
        let (k, m, max_body) = check_config(k, m, max_body)?;
        let need = Self::storage_size(m.into(), max_body.into());
        let len = mem.len();
        let Some(mem) = mem.get_mut(..need) else {
            return Err(ConfigError::MemoryTooSmall { need, have: len });
        };
        mem.fill(0);
        Ok(Self {
            mem,
            k,
            m,
            m_cap: m,
            max_body,
            next_seq: 0,
            first: 0,
            n: 0,
            longest: 0,
            opened_at: 0,
            taken: None,
            firsts: 0,
            acked_by: [0; super::MAX_K],
            stats: FecTxStats::default(),
        })
    }

    /// Back to the state of [`FecTx::new`] (a new session): `fec_seq` restarts at 0, the
    /// open group and any parity not taken are dropped (the latter counted). Statistics
    /// are kept.
    pub fn reset(&mut self) {
        self.drop_pending();
        self.clear_group();
        self.next_seq = 0;
    }

    /// Changes the group shape to `k` frames and `m` parity frames (what the link agreed with
    /// its peer, at most what this sender was built for), then [resets](Self::reset).
    pub fn set_shape(&mut self, k: usize, m: usize) -> Result<(), ConfigError> {
        let (k, m, _) = check_config(k, m, self.max_body.into())?;
        if m > self.m_cap {
            return Err(ConfigError::BadM);
        }
        self.reset();
        self.k = k;
        self.m = m;
        Ok(())
    }

    /// The `fec_seq` the next [`FecTx::add`] assigns: put it in the frame's header before
    /// building the body.
    pub fn next_seq(&self) -> u8 {
        self.next_seq
    }

    /// Adds the complete body of a protected frame as it is sent (header with
    /// `fec_seq =` [`FecTx::next_seq`], payload, CRC; sealed if the link seals). Returns
    /// the `fec_seq` used. When this fills the group (`k` frames), the group closes and its
    /// parity becomes pending. Parity of an earlier group not yet taken is abandoned
    /// (counted in `parity_dropped`): take it with [`FecTx::next_parity`] first.
    ///
    /// A body longer than `max_body` is refused and nothing changes: the link must send
    /// that frame without the FEC flag (it cannot happen when `max_body` is the link's
    /// largest frame body).
    pub fn add(&mut self, body: &[u8], now: u64) -> Result<u8, TooLong> {
        self.add_frame(body, now, Carries::Unacked)
    }

    /// [`FecTx::add`] for a frame that carries `carries`: what later lets
    /// [`FecTx::skip_unneeded`] leave out parity the peer cannot need.
    pub fn add_frame(&mut self, body: &[u8], now: u64, carries: Carries) -> Result<u8, TooLong> {
        let len = match u16::try_from(body.len()) {
            Ok(len) if len <= self.max_body => len,
            _ => {
                self.stats.too_long = self.stats.too_long.wrapping_add(1);
                return Err(TooLong);
            }
        };
        if self.taken.is_some() {
            self.drop_pending();
            self.clear_group();
        }
        if self.n == 0 {
            self.first = self.next_seq;
            self.opened_at = now;
        }
        let i = self.n;
        self.note(i, carries);
        let sym = symbol_len(self.max_body.into());
        for (j, acc) in (0..self.m).zip(self.mem.chunks_exact_mut(sym)) {
            let c = cauchy(j, self.m, i);
            if let Some((head, rest)) = acc.split_at_mut_checked(2) {
                mul_add(head, &len.to_le_bytes(), c);
                mul_add(rest, body, c);
            }
        }
        self.n = self.n.saturating_add(1);
        self.longest = self.longest.max(len);
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        self.stats.protected = self.stats.protected.wrapping_add(1);
        if self.n >= self.k {
            self.close_group();
        }
        Ok(seq)
    }

    /// Frames in the open group (0 when none is open or the group is closed).
    pub fn open_len(&self) -> usize {
        if self.taken.is_some() {
            0
        } else {
            self.n.into()
        }
    }

    /// When the open group's first frame was added (`now` of that [`FecTx::add`]), or
    /// `None` when no group is open: the link closes it with [`FecTx::close_group`] once it
    /// is old enough.
    pub fn opened_at(&self) -> Option<u64> {
        (self.open_len() > 0).then_some(self.opened_at)
    }

    /// Closes the open group early (nothing more to send soon): its parity becomes pending.
    /// Returns whether parity is pending afterwards (false when no frame was open).
    pub fn close_group(&mut self) -> bool {
        if self.taken.is_none() && self.n > 0 {
            self.taken = Some(0);
            self.stats.groups = self.stats.groups.wrapping_add(1);
        }
        self.parity_pending() > 0
    }

    /// Parity payloads of the closed group not yet taken.
    pub fn parity_pending(&self) -> usize {
        self.taken
            .map_or(0, |t| usize::from(self.m.saturating_sub(t)))
    }

    /// Length of each pending parity payload: `4 + 2 +` the group's longest body (0 when
    /// none is pending). At most [`max_parity_len`](super::max_parity_len)`(max_body)`.
    pub fn parity_len(&self) -> usize {
        if self.parity_pending() == 0 {
            return 0;
        }
        PARITY_HEADER_LEN + symbol_len(self.longest.into())
    }

    /// Writes the next pending PARITY payload into `out` and returns its length; `None`
    /// when no parity is pending. When `out` is shorter than [`FecTx::parity_len`], that
    /// parity frame is skipped (counted in `parity_dropped`) and the next one is tried, so
    /// a loop over this always ends. After the last one the accumulators are cleared for
    /// the next group.
    pub fn next_parity(&mut self, out: &mut [u8]) -> Option<usize> {
        while let Some(index) = self.taken.filter(|&t| t < self.m) {
            self.taken = Some(index.saturating_add(1));
            let sym = symbol_len(self.max_body.into());
            let used = symbol_len(self.longest.into());
            let acc = self
                .mem
                .chunks_exact(sym)
                .nth(index.into())
                .unwrap_or_default();
            let parity = Parity {
                first: self.first,
                n: self.n,
                index,
                m: self.m,
                symbol: acc.get(..used).unwrap_or_default(),
            };
            let written = parity.encode(out);
            if self.parity_pending() == 0 {
                self.clear_group();
            }
            match written {
                Some(len) => {
                    self.stats.parity_sent = self.stats.parity_sent.wrapping_add(1);
                    return Some(len);
                }
                None => self.stats.parity_dropped = self.stats.parity_dropped.wrapping_add(1),
            }
        }
        None
    }

    /// Leaves out the closed group's parity the peer cannot need: parity `j` is useful only
    /// while more than `j` of the group's frames may be missing at the peer, and a frame
    /// certainly arrived when it is the [only transmission](Carries::First) of a reliable
    /// message for which `acked` is true. Pending parity beyond what is still needed is
    /// dropped (counted in `parity_unneeded`); returns how many payloads that was. Call it
    /// before each [`FecTx::parity_len`] that decides whether to send parity.
    pub fn skip_unneeded(&mut self, acked: impl Fn(u16) -> bool) -> usize {
        let Some(taken) = self.taken.filter(|&t| t < self.m) else {
            return 0;
        };
        let arrived = (0..self.n)
            .zip(self.acked_by.iter())
            .filter(|&(i, &seq)| {
                self.firsts.checked_shr(i.into()).unwrap_or(0) & 1 == 1 && acked(seq)
            })
            .count();
        let unsure = usize::from(self.n).saturating_sub(arrived);
        if usize::from(taken) < unsure.min(self.m.into()) {
            return 0;
        }
        let left = self.m.saturating_sub(taken);
        self.stats.parity_unneeded = self.stats.parity_unneeded.wrapping_add(left.into());
        self.clear_group();
        left.into()
    }

    /// Counters.
    pub fn stats(&self) -> &FecTxStats {
        &self.stats
    }

    /// Largest group (data frames).
    pub fn k(&self) -> usize {
        self.k.into()
    }

    /// Parity frames per group.
    pub fn m(&self) -> usize {
        self.m.into()
    }

    /// Longest body accepted.
    pub fn max_body(&self) -> usize {
        self.max_body.into()
    }

    /// Records what frame `i` of the group carries.
    fn note(&mut self, i: u8, carries: Carries) {
        let bit = 1u32.checked_shl(i.into()).unwrap_or(0);
        match carries {
            Carries::First(seq) => {
                if let Some(slot) = self.acked_by.get_mut(usize::from(i)) {
                    *slot = seq;
                    self.firsts |= bit;
                }
            }
            Carries::Again(seq) => {
                for (j, &other) in self.acked_by.iter().enumerate().take(i.into()) {
                    if other == seq {
                        self.firsts &= !1u32.checked_shl(j as u32).unwrap_or(0);
                    }
                }
            }
            Carries::Unacked => {}
        }
    }

    /// Counts the parity not taken as dropped.
    fn drop_pending(&mut self) {
        let left = self.parity_pending() as u32;
        self.stats.parity_dropped = self.stats.parity_dropped.wrapping_add(left);
    }

    /// Zeroes the part of the accumulators the group used; no group open.
    fn clear_group(&mut self) {
        let sym = symbol_len(self.max_body.into());
        let used = symbol_len(self.longest.into());
        for acc in self.mem.chunks_exact_mut(sym) {
            acc.iter_mut().take(used).for_each(|b| *b = 0);
        }
        self.n = 0;
        self.longest = 0;
        self.taken = None;
        self.firsts = 0;
    }
}
