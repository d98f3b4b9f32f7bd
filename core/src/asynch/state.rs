//! What the driver keeps beside the link: the events it took from the link (for the
//! application), the ranges of messages each ended session discarded (to answer
//! [`Driver::acked`](super::Driver::acked)), and who is waiting for what.

use core::task::Waker;

use crate::link::{Event, Link, MessageId};

use super::{AckError, DriverStats, Wake};

/// Events the driver holds for the application; the oldest is dropped (and counted in
/// [`DriverStats::events_dropped`]) when the application does not take them.
pub const EVENT_QUEUE: usize = 8;

/// Ended sessions whose discarded messages the driver remembers.
pub const DOWN_LOG: usize = 8;

/// Tasks that can wait on one driver at once ([`super::MAX_WAITERS`]).
pub(super) const WAITERS: usize = super::MAX_WAITERS;

/// Id distance past which a remembered range is too old to compare (serial-number order is
/// only defined within 2^31).
const HORIZON: u32 = 1 << 30;

/// The driver's state, behind its `RefCell`.
pub(super) struct Shared<'a> {
    pub link: Link<'a>,
    events: Ring<Event, EVENT_QUEUE>,
    downs: DownLog,
    pub stats: DriverStats,
    /// The transmit side must look at the link again.
    pub kick: bool,
    /// The transmit side's waker, while it waits.
    pub runner: Option<Waker>,
    /// Application tasks waiting for the link to change.
    waiters: [Option<Waker>; WAITERS],
}

impl<'a> Shared<'a> {
    pub fn new(link: Link<'a>) -> Self {
        Self {
            link,
            events: Ring::new(),
            downs: DownLog::new(),
            stats: DriverStats::default(),
            kick: true,
            runner: None,
            waiters: [const { None }; WAITERS],
        }
    }

    /// After every call into the link: takes its events (so a `Down` is recorded before any
    /// later `send` can take an id) and returns the wakers of every waiting task, and of the
    /// transmit side if it was kicked, to wake once the borrow is released.
    pub fn settle(&mut self) -> Wake {
        while let Some(e) = self.link.poll_event() {
            if let Event::Down { first, unacked, .. } = e {
                self.downs.record(first, unacked);
            }
            if self.events.push(e).is_some() {
                self.stats.events_dropped = self.stats.events_dropped.wrapping_add(1);
            }
        }
        self.downs.prune(self.link.acked_before());
        let mut wake = Wake::none();
        if self.kick {
            wake.0[0] = self.runner.take();
        }
        for (slot, w) in wake.0.iter_mut().skip(1).zip(self.waiters.iter_mut()) {
            *slot = w.take();
        }
        wake
    }

    /// Registers `waker` to be woken at the next change of the link. Returns wakers to wake
    /// (when more tasks wait than there are slots, all of them poll again).
    pub fn wait(&mut self, waker: &Waker) -> Wake {
        let mut wake = Wake::none();
        if self.waiters.iter().flatten().any(|w| w.will_wake(waker)) {
            return wake;
        }
        if let Some(slot) = self.waiters.iter_mut().find(|w| w.is_none()) {
            *slot = Some(waker.clone());
            return wake;
        }
        self.stats.waiter_overflows = self.stats.waiter_overflows.wrapping_add(1);
        for (slot, w) in wake.0.iter_mut().zip(self.waiters.iter_mut()) {
            *slot = w.take();
        }
        if let Some(slot) = self.waiters.first_mut() {
            *slot = Some(waker.clone());
        }
        wake
    }

    pub fn pop_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    /// What became of reliable message `id`: `None` while it awaits its acknowledgement.
    pub fn verdict(&self, id: MessageId) -> Option<Result<(), AckError>> {
        self.downs.verdict(id, self.link.acked_before())
    }
}

/// The messages each of the last [`DOWN_LOG`] sessions discarded when it ended.
struct DownLog {
    ranges: Ring<(MessageId, u16), DOWN_LOG>,
    /// Ids before this one may have been discarded by a session no longer in `ranges`.
    forgotten_before: Option<MessageId>,
}

impl DownLog {
    const fn new() -> Self {
        Self {
            ranges: Ring::new(),
            forgotten_before: None,
        }
    }

    /// A session ended, discarding `count` messages from `first` on.
    fn record(&mut self, first: MessageId, count: u16) {
        if count == 0 {
            return;
        }
        if let Some((f, n)) = self.ranges.push((first, count)) {
            self.forgotten_before = Some(f.plus(u32::from(n)));
        }
    }

    /// Drops what lies so far behind `acked` that ids can no longer be compared with it.
    fn prune(&mut self, acked: MessageId) {
        let ancient = |end: MessageId| acked.0.wrapping_sub(end.0) > HORIZON;
        if self.forgotten_before.is_some_and(ancient) {
            self.forgotten_before = None;
        }
        while self
            .ranges
            .peek()
            .is_some_and(|&(f, n)| ancient(f.plus(u32::from(n))))
        {
            self.ranges.pop();
        }
    }

    /// What became of `id`, given that every id before `acked` is settled; `None` while it
    /// is not.
    fn verdict(&self, id: MessageId, acked: MessageId) -> Option<Result<(), AckError>> {
        if !id.before(acked) {
            return None;
        }
        let discarded = self
            .ranges
            .iter()
            .any(|&(f, n)| !id.before(f) && id.before(f.plus(u32::from(n))));
        Some(if discarded {
            Err(AckError::Discarded)
        } else if self.forgotten_before.is_some_and(|b| id.before(b)) {
            Err(AckError::Forgotten)
        } else {
            Ok(())
        })
    }
}

/// A fixed ring that drops its oldest entry when full.
struct Ring<T: Copy, const N: usize> {
    items: [Option<T>; N],
    head: usize,
    len: usize,
}

impl<T: Copy, const N: usize> Ring<T, N> {
    const fn new() -> Self {
        Self {
            items: [None; N],
            head: 0,
            len: 0,
        }
    }

    /// Appends `item`; returns the entry it pushed out, if the ring was full.
    fn push(&mut self, item: T) -> Option<T> {
        let out = if self.len == N { self.pop() } else { None };
        if let Some(slot) = self.items.get_mut((self.head + self.len) % N) {
            *slot = Some(item);
            self.len += 1;
        }
        out
    }

    fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let item = self.items.get_mut(self.head).and_then(Option::take);
        self.head = (self.head + 1) % N;
        self.len -= 1;
        item
    }

    fn peek(&self) -> Option<&T> {
        self.items.get(self.head).and_then(Option::as_ref)
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        (0..self.len).filter_map(|i| self.items.get((self.head + i) % N)?.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_log_tells_acked_from_discarded_and_forgotten() {
        let id = MessageId;
        let mut log = DownLog::new();
        assert_eq!(log.verdict(id(0), id(0)), None, "not settled yet");
        assert_eq!(log.verdict(id(4), id(5)), Some(Ok(())));
        log.record(id(5), 3); // 5, 6, 7 discarded
        assert_eq!(log.verdict(id(4), id(8)), Some(Ok(())));
        for i in 5..8 {
            assert_eq!(log.verdict(id(i), id(8)), Some(Err(AckError::Discarded)));
        }
        assert_eq!(log.verdict(id(8), id(9)), Some(Ok(())));
        // DOWN_LOG more sessions end, each discarding one message: 5..8 falls out of the log.
        for k in 0..DOWN_LOG as u32 {
            log.record(id(10 + 2 * k), 1);
        }
        assert_eq!(log.verdict(id(6), id(100)), Some(Err(AckError::Forgotten)));
        assert_eq!(
            log.verdict(id(8), id(100)),
            Some(Ok(())),
            "after the forgotten range"
        );
        assert_eq!(log.verdict(id(10), id(100)), Some(Err(AckError::Discarded)));
        assert_eq!(log.verdict(id(11), id(100)), Some(Ok(())));
        // Ids wrap: the log still answers across u32::MAX.
        let mut log = DownLog::new();
        log.record(id(u32::MAX - 1), 3); // MAX-1, MAX, 0
        assert_eq!(log.verdict(id(0), id(1)), Some(Err(AckError::Discarded)));
        assert_eq!(log.verdict(id(u32::MAX - 2), id(1)), Some(Ok(())));
        // Far behind the acknowledged point, ranges are dropped rather than misread.
        log.prune(id(1 << 31));
        assert!(log.ranges.iter().next().is_none());
    }

    #[test]
    fn ring_drops_the_oldest() {
        let mut r: Ring<u8, 3> = Ring::new();
        assert_eq!(r.push(1), None);
        assert_eq!(r.push(2), None);
        assert_eq!(r.push(3), None);
        assert_eq!(r.push(4), Some(1));
        assert_eq!(r.iter().copied().collect::<std::vec::Vec<_>>(), [2, 3, 4]);
        assert_eq!(r.pop(), Some(2));
        assert_eq!(r.peek(), Some(&3));
    }
}
