//! The receiver: a window of recent protected bodies, parity per group, repair.
//!
//! Caller memory, in this order (see [`FecRx::storage_size`]):
//!
//! | area | count | bytes each |
//! |---|---|---|
//! | data slots | `W = groups · k` | `2 + 2 + max_body`: state, `fec_seq`, then the symbol |
//! | group records | `groups` | `7 + m`: state, first, n, m, symbol length (u16), parity held, parity indices |
//! | parity symbols | `groups · m` | `2 + max_body` |
//!
//! The data slot of `fec_seq` `s` is fixed by its distance to the newest one (`hi`, in slot
//! `hi_slot`): `(hi_slot − (hi − s)) mod W`, so a lookup is one step and wrapping needs no
//! care beyond the distance.

use super::gf::{cauchy, inv, mul_add, scale};
use super::parity::{Parity, ParityError};
use super::solve::Matrix;
use super::{check_config, symbol_len, ConfigError, MAX_K, MAX_M, MAX_WINDOW};
use crate::bytes::copy;

/// Receiver counters: every body and payload is accounted for. 32-bit, wrapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FecRxStats {
    /// Protected bodies buffered.
    pub protected: u32,
    /// Protected bodies already held (the first copy is kept).
    pub duplicate: u32,
    /// Protected bodies that arrived while their rebuilt copy was still waiting to be taken:
    /// the copy is withdrawn (the link has the original).
    pub late: u32,
    /// Protected bodies older than the window (not buffered).
    pub stale: u32,
    /// Protected bodies longer than `max_body` (not buffered).
    pub oversize: u32,
    /// Window restarts after `W` stale bodies in a row (the peer's numbering jumped).
    pub resync: u32,
    /// Parity payloads stored.
    pub parity: u32,
    /// Valid parity payloads not stored: their group was complete or repaired, enough
    /// parity was held already, or the same index came again.
    pub parity_unneeded: u32,
    /// Rejected: [`ParityError::Truncated`].
    pub parity_truncated: u32,
    /// Rejected: [`ParityError::BadCounts`].
    pub parity_bad_counts: u32,
    /// Rejected: [`ParityError::GroupTooLarge`].
    pub parity_group_too_large: u32,
    /// Rejected: [`ParityError::Oversize`].
    pub parity_oversize: u32,
    /// Rejected: [`ParityError::Inconsistent`].
    pub parity_inconsistent: u32,
    /// Rejected: [`ParityError::Stale`].
    pub parity_stale: u32,
    /// Groups whose data all arrived (their parity was not needed).
    pub groups_intact: u32,
    /// Groups repaired.
    pub groups_repaired: u32,
    /// Groups with more erasures than parity when they left the receiver (superseded by
    /// newer groups, or out of the window). Groups whose parity all was lost are unknown to
    /// the receiver and not counted.
    pub unrecoverable: u32,
    /// Groups given up because data and parity disagree: a body longer than the parity
    /// symbol, or a solution with a bad length or non-zero padding. Nothing of them is
    /// handed out.
    pub inconsistent: u32,
    /// Rebuilt bodies handed out by [`FecRx::next_recovered`].
    pub recovered: u32,
    /// Rebuilt bodies that left the window before they were taken.
    pub evicted: u32,
    /// Rebuilt bodies skipped because the buffer given to `next_recovered` was too short.
    pub out_too_small: u32,
}

impl FecRxStats {
    /// Counts one rejected parity payload.
    pub fn count(&mut self, e: ParityError) {
        let c = match e {
            ParityError::Truncated => &mut self.parity_truncated,
            ParityError::BadCounts => &mut self.parity_bad_counts,
            ParityError::GroupTooLarge => &mut self.parity_group_too_large,
            ParityError::Oversize => &mut self.parity_oversize,
            ParityError::Inconsistent => &mut self.parity_inconsistent,
            ParityError::Stale => &mut self.parity_stale,
        };
        *c = c.wrapping_add(1);
    }

    /// Parity payloads rejected, all reasons.
    pub fn parity_rejected(&self) -> u32 {
        [
            self.parity_truncated,
            self.parity_bad_counts,
            self.parity_group_too_large,
            self.parity_oversize,
            self.parity_inconsistent,
            self.parity_stale,
        ]
        .iter()
        .fold(0, |a, &b| a.wrapping_add(b))
    }
}

/// Data slot states.
const EMPTY: u8 = 0;
const HELD: u8 = 1;
/// Rebuilt, waiting for `next_recovered`.
const PENDING: u8 = 2;
/// Rebuilt and handed out.
const GIVEN: u8 = 3;

/// Group record states.
const FREE: u8 = 0;
/// Parity held, data missing.
const ACTIVE: u8 = 1;
/// Complete, repaired or given up; kept so repeated parity is recognised.
const DONE: u8 = 2;

/// Bytes of a data slot before the symbol.
const SLOT_HEAD: usize = 2;
/// Bytes of a group record before the parity indices.
const REC_HEAD: usize = 7;

/// A group record, copied out of and back into caller memory.
#[derive(Clone, Copy)]
struct Group {
    state: u8,
    first: u8,
    n: u8,
    m: u8,
    sym_len: u16,
    count: u8,
    index: [u8; MAX_M],
}

/// Unsigned 16-bit little-endian value at the front of `b` (0 if shorter).
fn le16(b: &[u8]) -> usize {
    b.first_chunk().map_or(0, |&w| u16::from_le_bytes(w).into())
}

/// The receiving half of FEC: holds the last `groups · k` protected bodies and the parity of
/// up to `groups` groups, and rebuilds missing bodies when a group has enough.
///
/// The window: `hi` is the newest `fec_seq` seen (from a body, or the last `fec_seq` of a
/// parity group). A value `s` is *newer* when `(s − hi) mod 256` is in `1..=127` (it moves
/// `hi`); otherwise its age is `(hi − s) mod 256` and it is *in the window* when the age is
/// below `W = groups · k` (at most 128), *stale* otherwise. A group `(first, n)` lives while
/// `first` is in the window; when it falls out, or when its record is reused for a newer
/// group, a group still missing bodies is counted `unrecoverable`. See the
/// [module docs](super) for the order of calls.
#[derive(Debug)]
pub struct FecRx<'a> {
    mem: &'a mut [u8],
    k: u8,
    m: u8,
    groups: u8,
    max_body: u16,
    /// `W`, data slots.
    window: u8,
    started: bool,
    hi: u8,
    hi_slot: u8,
    stale_run: u8,
    stats: FecRxStats,
}

impl<'a> FecRx<'a> {
    /// Bytes of the memory it was given.
    pub(crate) fn memory_len(&self) -> usize {
        self.mem.len()
    }

    /// Bytes of caller memory: `groups · (k · (4 + max_body) + 7 + m + m · (2 + max_body))`.
    pub const fn storage_size(k: usize, m: usize, max_body: usize, groups: usize) -> usize {
        let sym = symbol_len(max_body);
        let per_group = k
            .saturating_mul(SLOT_HEAD + sym)
            .saturating_add(REC_HEAD + m)
            .saturating_add(m.saturating_mul(sym));
        groups.saturating_mul(per_group)
    }

    /// A receiver for groups of up to `k` data frames, holding up to `m` parity symbols per
    /// group, bodies of up to `max_body` bytes, `groups` groups (at least 2; `groups · k` at
    /// most 128), over `mem` (at least [`FecRx::storage_size`] bytes; zeroed here).
    pub fn new(
        k: usize,
        m: usize,
        max_body: usize,
        groups: usize,
        mem: &'a mut [u8],
    ) -> Result<Self, ConfigError> {
        let (k8, m8, max_body) = check_config(k, m, max_body)?;
        let window = match groups.checked_mul(k) {
            Some(w) if groups >= 2 && w <= MAX_WINDOW => w as u8,
            _ => return Err(ConfigError::BadGroups),
        };
        let need = Self::storage_size(k, m, max_body.into(), groups);
        let have = mem.len();
        let Some(mem) = mem.get_mut(..need) else {
            return Err(ConfigError::MemoryTooSmall { need, have });
        };
        mem.fill(0);
        Ok(Self {
            mem,
            k: k8,
            m: m8,
            groups: groups as u8,
            max_body,
            window,
            started: false,
            hi: 0,
            hi_slot: 0,
            stale_run: 0,
            stats: FecRxStats::default(),
        })
    }

    /// Forgets every body, parity and rebuilt body (a new session): groups still missing
    /// bodies are counted `unrecoverable`, rebuilt bodies not taken `evicted`. Statistics
    /// are kept.
    pub fn reset(&mut self) {
        for slot in 0..usize::from(self.window) {
            self.evict(slot);
        }
        for g in 0..usize::from(self.groups) {
            self.retire(g);
        }
        self.started = false;
        self.stale_run = 0;
    }

    /// A protected frame arrived intact (CRC and authentication passed): its `fec_seq` and
    /// its complete body as received. May complete a group; then take the rebuilt bodies
    /// with [`FecRx::next_recovered`]. Never hand it a body this receiver rebuilt.
    pub fn on_protected(&mut self, fec_seq: u8, body: &[u8]) {
        let len = match u16::try_from(body.len()) {
            Ok(len) if len <= self.max_body => len,
            _ => return bump(&mut self.stats.oversize),
        };
        self.advance(fec_seq);
        let slot = match self.slot_of(fec_seq) {
            Some(slot) => slot,
            None => {
                bump(&mut self.stats.stale);
                self.stale_run = self.stale_run.saturating_add(1);
                if self.stale_run < self.window {
                    return;
                }
                bump(&mut self.stats.resync);
                self.reset();
                self.advance(fec_seq);
                match self.slot_of(fec_seq) {
                    Some(slot) => slot,
                    None => return,
                }
            }
        };
        self.stale_run = 0;
        let (state, seq) = self.slot_tag(slot);
        if state != EMPTY && seq == fec_seq {
            if state == PENDING {
                self.set_tag(slot, HELD, fec_seq);
                bump(&mut self.stats.late);
            } else {
                bump(&mut self.stats.duplicate);
            }
            return;
        }
        let off = self.data_off(slot);
        if let Some(dst) = self.mem.get_mut(off..off + SLOT_HEAD + 2 + body.len()) {
            let [l0, l1] = len.to_le_bytes();
            copy(dst, &[HELD, fec_seq, l0, l1]);
            copy(dst.get_mut(SLOT_HEAD + 2..).unwrap_or_default(), body);
        }
        bump(&mut self.stats.protected);
        if let Some(g) = self.group_of(fec_seq) {
            self.try_repair(g);
        }
    }

    /// A PARITY frame arrived intact: its payload. Rejected payloads change nothing and are
    /// counted by reason. May complete a group; then take the rebuilt bodies with
    /// [`FecRx::next_recovered`].
    pub fn on_parity(&mut self, payload: &[u8]) -> Result<(), ParityError> {
        let r = self.parity(payload);
        if let Err(e) = r {
            self.stats.count(e);
        }
        r
    }

    /// Writes the oldest rebuilt body not yet taken into `out` and returns its length (at
    /// most `max_body`); `None` when there is none. Only bodies that never arrived are
    /// rebuilt; each is handed out once. A body longer than `out` is skipped (counted in
    /// `out_too_small`): size `out` for `max_body`.
    pub fn next_recovered(&mut self, out: &mut [u8]) -> Option<usize> {
        loop {
            let slot = (0..usize::from(self.window))
                .filter(|&s| self.slot_tag(s).0 == PENDING)
                .max_by_key(|&s| self.hi.wrapping_sub(self.slot_tag(s).1))?;
            let seq = self.slot_tag(slot).1;
            self.set_tag(slot, GIVEN, seq);
            let sym = self.symbol(slot);
            let len = le16(sym);
            match (out.get_mut(..len), sym.get(2..2 + len)) {
                (Some(dst), Some(body)) => {
                    copy(dst, body);
                    bump(&mut self.stats.recovered);
                    return Some(len);
                }
                _ => bump(&mut self.stats.out_too_small),
            }
        }
    }

    /// Counters.
    pub fn stats(&self) -> &FecRxStats {
        &self.stats
    }

    /// Largest group (data frames) this receiver repairs.
    pub fn k(&self) -> usize {
        self.k.into()
    }

    /// Parity symbols held per group.
    pub fn m(&self) -> usize {
        self.m.into()
    }

    /// Longest body held.
    pub fn max_body(&self) -> usize {
        self.max_body.into()
    }

    /// The window `W = groups · k`, in `fec_seq` values.
    pub fn window(&self) -> usize {
        self.window.into()
    }

    fn parity(&mut self, payload: &[u8]) -> Result<(), ParityError> {
        let p = Parity::parse(payload)?;
        if p.n > self.k {
            return Err(ParityError::GroupTooLarge);
        }
        let sym_len = match u16::try_from(p.symbol.len()) {
            Ok(l) if usize::from(l) <= symbol_len(self.max_body.into()) => l,
            _ => return Err(ParityError::Oversize),
        };
        let last = p.first.wrapping_add(p.n - 1);
        let new_hi = if !self.started || newer(last, self.hi) {
            last
        } else {
            self.hi
        };
        let alive = |first: u8| new_hi.wrapping_sub(first) < self.window;
        if !alive(p.first) {
            return Err(ParityError::Stale);
        }
        let mut same = None;
        for g in 0..usize::from(self.groups) {
            let rec = self.load(g);
            if rec.state == FREE || !alive(rec.first) {
                continue;
            }
            if rec.first == p.first {
                if (rec.n, rec.m, rec.sym_len) != (p.n, p.m, sym_len) {
                    return Err(ParityError::Inconsistent);
                }
                same = Some((g, rec));
            } else if overlap(rec.first, rec.n, p.first, p.n) {
                return Err(ParityError::Inconsistent);
            }
        }
        let (g, mut rec) = match same {
            Some((g, rec)) => {
                let held = rec.index.get(..rec.count.into()).unwrap_or_default();
                if rec.state == DONE || held.contains(&p.index) || rec.count >= self.m {
                    bump(&mut self.stats.parity_unneeded);
                    return Ok(());
                }
                (g, rec)
            }
            None => {
                let g = self.record_for(new_hi, p.first)?;
                self.advance(last);
                let rec = Group {
                    state: ACTIVE,
                    first: p.first,
                    n: p.n,
                    m: p.m,
                    sym_len,
                    count: 0,
                    index: [0; MAX_M],
                };
                (g, rec)
            }
        };
        let off = self.parity_off(g, rec.count.into());
        if let Some(dst) = self.mem.get_mut(off..off + p.symbol.len()) {
            copy(dst, p.symbol);
        }
        if let Some(i) = rec.index.get_mut(usize::from(rec.count)) {
            *i = p.index;
        }
        rec.count = rec.count.saturating_add(1);
        self.store(g, &rec);
        bump(&mut self.stats.parity);
        self.try_repair(g);
        Ok(())
    }

    /// The record a new group `first` gets once `hi` is `new_hi`: a free one (or one that
    /// will be out of the window), else the oldest one if it is older than `first`.
    fn record_for(&mut self, new_hi: u8, first: u8) -> Result<usize, ParityError> {
        let age = |f: u8| new_hi.wrapping_sub(f);
        let mut oldest: Option<(usize, u8)> = None;
        for g in 0..usize::from(self.groups) {
            let rec = self.load(g);
            if rec.state == FREE || age(rec.first) >= self.window {
                return Ok(g);
            }
            if oldest.is_none_or(|(_, a)| age(rec.first) > a) {
                oldest = Some((g, age(rec.first)));
            }
        }
        match oldest {
            Some((g, a)) if a > age(first) => {
                self.retire(g);
                Ok(g)
            }
            _ => Err(ParityError::Stale),
        }
    }

    /// Moves `hi` to `s` if `s` is newer (or the first value seen): slots that leave the
    /// window are emptied, groups whose first frame left it retired.
    fn advance(&mut self, s: u8) {
        if !self.started {
            self.started = true;
            self.hi = s;
            return;
        }
        if !newer(s, self.hi) {
            return;
        }
        let d = s.wrapping_sub(self.hi);
        let w = self.window.max(1);
        for step in 1..=d.min(w) {
            self.evict(usize::from(self.hi_slot.wrapping_add(step) % w));
        }
        self.hi = s;
        self.hi_slot = ((u16::from(self.hi_slot) + u16::from(d)) % u16::from(w)) as u8;
        for g in 0..usize::from(self.groups) {
            let rec = self.load(g);
            if rec.state != FREE && self.hi.wrapping_sub(rec.first) >= self.window {
                self.retire(g);
            }
        }
    }

    /// Slot of `s` if it is in the window.
    fn slot_of(&self, s: u8) -> Option<usize> {
        let age = self.hi.wrapping_sub(s);
        if !self.started || age >= self.window {
            return None;
        }
        let w = usize::from(self.window.max(1));
        Some((usize::from(self.hi_slot) + w - usize::from(age)) % w)
    }

    /// The live group containing `s`.
    fn group_of(&self, s: u8) -> Option<usize> {
        (0..usize::from(self.groups)).find(|&g| {
            let rec = self.load(g);
            rec.state != FREE && s.wrapping_sub(rec.first) < rec.n
        })
    }

    /// Repairs group `g` if it is active and has as much parity as missing bodies.
    fn try_repair(&mut self, g: usize) {
        let mut rec = self.load(g);
        if rec.state != ACTIVE {
            return;
        }
        let mut missing = [0u8; MAX_K];
        let mut e = 0usize;
        for i in 0..rec.n {
            let s = rec.first.wrapping_add(i);
            match self.held(s) {
                Some(slot) if 2 + le16(self.symbol(slot)) > usize::from(rec.sym_len) => {
                    return self.give_up(g, rec);
                }
                Some(_) => {}
                None => {
                    if let Some(x) = missing.get_mut(e) {
                        *x = i;
                    }
                    e += 1;
                }
            }
        }
        if e == 0 {
            rec.state = DONE;
            self.store(g, &rec);
            return bump(&mut self.stats.groups_intact);
        }
        if e > usize::from(rec.count) {
            return;
        }
        if self.solve(g, &rec, missing.get(..e).unwrap_or_default()) {
            rec.state = DONE;
            self.store(g, &rec);
            bump(&mut self.stats.groups_repaired);
        } else {
            self.give_up(g, rec);
        }
    }

    fn give_up(&mut self, g: usize, mut rec: Group) {
        rec.state = DONE;
        self.store(g, &rec);
        bump(&mut self.stats.inconsistent);
    }

    /// Rebuilds the data symbols `missing` (indices in the group) of group `g` from its
    /// first `missing.len()` parity symbols, in place, and stores them as pending.
    fn solve(&mut self, g: usize, rec: &Group, missing: &[u8]) -> bool {
        let e = missing.len();
        let sym_len = usize::from(rec.sym_len);
        // Parity minus the contribution of the bodies held: what the missing ones sum to.
        for i in 0..rec.n {
            let Some(slot) = self.held(rec.first.wrapping_add(i)) else {
                continue;
            };
            let len = 2 + le16(self.symbol(slot));
            let src = self.data_off(slot) + SLOT_HEAD;
            for (r, &row) in rec.index.iter().enumerate().take(e) {
                self.row_op(self.parity_off(g, r), src, len, cauchy(row, rec.m, i));
            }
        }
        // Gauss-Jordan on the e×e Cauchy submatrix; row r's symbol is parity slot perm[r].
        let mut a = Matrix::new(e);
        for r in 0..e {
            let row = rec.index.get(r).copied().unwrap_or(0);
            for (c, &i) in missing.iter().enumerate() {
                a.set(r, c, cauchy(row, rec.m, i));
            }
        }
        let mut perm = [0u8; MAX_M];
        for (r, p) in perm.iter_mut().enumerate() {
            *p = r as u8;
        }
        for col in 0..e {
            let Some(p) = (col..e).find(|&r| a.get(r, col) != 0) else {
                return false;
            };
            a.swap_rows(p, col);
            swap(&mut perm, p, col);
            let f = inv(a.get(col, col));
            a.scale_row(col, f);
            let pc = self.parity_off(g, perm.get(col).copied().unwrap_or(0).into());
            if let Some(sym) = self.mem.get_mut(pc..pc + sym_len) {
                scale(sym, f);
            }
            for r in (0..e).filter(|&r| r != col) {
                let f = a.get(r, col);
                if f != 0 {
                    a.eliminate(r, col, f);
                    let pr = self.parity_off(g, perm.get(r).copied().unwrap_or(0).into());
                    self.row_op(pr, pc, sym_len, f);
                }
            }
        }
        // Every solution must look like a symbol: a length that fits, zero padding.
        let row = |c: usize| usize::from(perm.get(c).copied().unwrap_or(0));
        let well_formed = (0..e).all(|c| {
            let sym = self.parity_symbol(g, row(c), sym_len);
            let len = le16(sym);
            len <= usize::from(self.max_body)
                && 2 + len <= sym.len()
                && sym
                    .get(2 + len..)
                    .is_some_and(|pad| pad.iter().all(|&b| b == 0))
        });
        if !well_formed {
            return false;
        }
        for (c, &i) in missing.iter().enumerate() {
            let s = rec.first.wrapping_add(i);
            let Some(slot) = self.slot_of(s) else {
                continue;
            };
            let len = 2 + le16(self.parity_symbol(g, row(c), sym_len));
            let src = self.parity_off(g, row(c));
            let dst = self.data_off(slot) + SLOT_HEAD;
            if let Some((d, s)) = pair(self.mem, dst, src, len) {
                copy(d, s);
            }
            self.set_tag(slot, PENDING, s);
        }
        true
    }

    /// The first `len` bytes of parity slot `r` of group `g`.
    fn parity_symbol(&self, g: usize, r: usize, len: usize) -> &[u8] {
        let off = self.parity_off(g, r);
        self.mem.get(off..off + len).unwrap_or_default()
    }

    /// `mem[dst..dst + len] ^= c · mem[src..src + len]` (distinct areas).
    fn row_op(&mut self, dst: usize, src: usize, len: usize, c: u8) {
        if let Some((d, s)) = pair(self.mem, dst, src, len) {
            mul_add(d, s, c);
        }
    }

    /// Slot holding body `s` (received or rebuilt).
    fn held(&self, s: u8) -> Option<usize> {
        let slot = self.slot_of(s)?;
        let (state, seq) = self.slot_tag(slot);
        (state != EMPTY && seq == s).then_some(slot)
    }

    /// Empties a data slot, counting a rebuilt body nobody took.
    fn evict(&mut self, slot: usize) {
        let (state, seq) = self.slot_tag(slot);
        if state == PENDING {
            bump(&mut self.stats.evicted);
        }
        if state != EMPTY {
            self.set_tag(slot, EMPTY, seq);
        }
    }

    /// Frees a group record, counting a group that still lacked bodies.
    fn retire(&mut self, g: usize) {
        let mut rec = self.load(g);
        if rec.state == ACTIVE {
            bump(&mut self.stats.unrecoverable);
        }
        rec.state = FREE;
        self.store(g, &rec);
    }

    fn data_off(&self, slot: usize) -> usize {
        slot * (SLOT_HEAD + symbol_len(self.max_body.into()))
    }

    fn rec_off(&self, g: usize) -> usize {
        self.data_off(self.window.into()) + g * (REC_HEAD + usize::from(self.m))
    }

    fn parity_off(&self, g: usize, r: usize) -> usize {
        let m = usize::from(self.m);
        self.rec_off(self.groups.into()) + (g * m + r) * symbol_len(self.max_body.into())
    }

    fn slot_tag(&self, slot: usize) -> (u8, u8) {
        let off = self.data_off(slot);
        match self.mem.get(off..off + 2) {
            Some(&[state, seq]) => (state, seq),
            _ => (EMPTY, 0),
        }
    }

    fn set_tag(&mut self, slot: usize, state: u8, seq: u8) {
        let off = self.data_off(slot);
        if let Some(t) = self.mem.get_mut(off..off + 2) {
            copy(t, &[state, seq]);
        }
    }

    /// The symbol area of a data slot (`len ‖ body ‖ …`).
    fn symbol(&self, slot: usize) -> &[u8] {
        let off = self.data_off(slot) + SLOT_HEAD;
        self.mem
            .get(off..off + symbol_len(self.max_body.into()))
            .unwrap_or_default()
    }

    fn load(&self, g: usize) -> Group {
        let off = self.rec_off(g);
        let raw = self.mem.get(off..).unwrap_or_default();
        let (head, rest) = raw
            .split_first_chunk::<REC_HEAD>()
            .unwrap_or((&[0; REC_HEAD], &[]));
        let [state, first, n, m, l0, l1, count] = *head;
        let mut index = [0u8; MAX_M];
        copy(&mut index, rest.get(..self.m.into()).unwrap_or_default());
        Group {
            state,
            first,
            n,
            m,
            sym_len: u16::from_le_bytes([l0, l1]),
            count,
            index,
        }
    }

    fn store(&mut self, g: usize, rec: &Group) {
        let off = self.rec_off(g);
        let m = usize::from(self.m);
        let [l0, l1] = rec.sym_len.to_le_bytes();
        let head = [rec.state, rec.first, rec.n, rec.m, l0, l1, rec.count];
        if let Some(dst) = self.mem.get_mut(off..off + REC_HEAD + m) {
            copy(dst, &head);
            copy(dst.get_mut(REC_HEAD..).unwrap_or_default(), &rec.index);
        }
    }
}

/// Whether `a` is newer than `b`: `(a − b) mod 256` in `1..=127`.
fn newer(a: u8, b: u8) -> bool {
    (1..=127).contains(&a.wrapping_sub(b))
}

/// Whether groups `[a, a + na)` and `[b, b + nb)` (mod 256) share a `fec_seq`.
fn overlap(a: u8, na: u8, b: u8, nb: u8) -> bool {
    b.wrapping_sub(a) < na || a.wrapping_sub(b) < nb
}

/// Swaps `v[a]` and `v[b]` (no-op out of range).
fn swap(v: &mut [u8], a: usize, b: usize) {
    if let (Some(&x), Some(&y)) = (v.get(a), v.get(b)) {
        if let Some(p) = v.get_mut(a) {
            *p = y;
        }
        if let Some(p) = v.get_mut(b) {
            *p = x;
        }
    }
}

fn bump(c: &mut u32) {
    *c = c.wrapping_add(1);
}

/// Two distinct areas of `mem`: `[dst, dst + len)` mutable, `[src, src + len)` shared.
fn pair(mem: &mut [u8], dst: usize, src: usize, len: usize) -> Option<(&mut [u8], &[u8])> {
    if dst < src {
        let (lo, hi) = mem.split_at_mut_checked(src)?;
        Some((lo.get_mut(dst..dst.checked_add(len)?)?, hi.get(..len)?))
    } else if src < dst {
        let (lo, hi) = mem.split_at_mut_checked(dst)?;
        Some((hi.get_mut(..len)?, lo.get(src..src.checked_add(len)?)?))
    } else {
        None
    }
}
