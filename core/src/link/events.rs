//! What the link tells the application: sessions up and down, with the messages lost.

use super::stats::Counters;

/// The id [`Link::send`](super::Link::send) gives a reliable message: consecutive numbers
/// (wrapping) over the link's lifetime, across sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MessageId(pub u32);

impl MessageId {
    /// `count` ids after this one.
    pub const fn plus(self, count: u32) -> Self {
        Self(self.0.wrapping_add(count))
    }

    /// Whether this id comes before `other` (serial-number order: within 2^31).
    pub const fn before(self, other: Self) -> bool {
        (other.0.wrapping_sub(self.0) as i32) > 0
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DownReason {
    /// The peer completed a new handshake (it rebooted or restarted its link).
    PeerRestarted,
    /// A message exceeded `max_retransmits`.
    RetryLimit,
    /// Nothing heard from the peer for eight keepalive intervals.
    PeerSilent,
    /// The peer sent CLOSE.
    PeerClosed,
    /// [`Link::close`](super::Link::close) was called, or the link was reconfigured.
    LocalClose,
    /// A piece of the peer's shared compressed stream did not decompress: the stream's state
    /// is lost, so the session ends (the peer is told with CLOSE).
    DecompressFailed,
    /// AEAD: this side sealed 2^32 - 1 frames in one session; it starts a new one (new keys)
    /// rather than repeat a nonce.
    NonceExhausted,
}

impl DownReason {
    /// A short lower-case name (`peer restarted`, `retry limit`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Self::PeerRestarted => "peer restarted",
            Self::RetryLimit => "retry limit",
            Self::PeerSilent => "peer silent",
            Self::PeerClosed => "peer closed",
            Self::LocalClose => "local close",
            Self::DecompressFailed => "decompress failed",
            Self::NonceExhausted => "nonce exhausted",
        }
    }
}

/// Link lifecycle events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event {
    /// A session is up: messages can be sent.
    Up,
    /// The session ended. The reliable messages `first .. first + unacked` (ids from
    /// [`Link::send`](super::Link::send)) were not confirmed delivered and are discarded: the
    /// peer may or may not have them. (A queued best-effort message is discarded too, counted
    /// in `discarded_on_reset`.) When the application fell behind, one `Down` may stand for
    /// several sessions' ([`Link::poll_event`](super::Link::poll_event)): its range then also
    /// names messages confirmed in between, and `unacked` may exceed the window.
    Down {
        /// Why.
        reason: DownReason,
        /// Messages discarded from the send side.
        unacked: u16,
        /// Id of the first of them.
        first: MessageId,
    },
}

const CAP: usize = 4;

/// A small queue of events. When the application does not keep up, room is made (and
/// counted in `events_dropped`): the oldest `Up` goes if there is one (the link still says
/// whether it is up); else the oldest `Down` that discarded nothing; else the two oldest
/// `Down`s become one, naming every message from the first's to the last's (with the later
/// reason), so that no discarded message goes unreported. Only when that range would not fit
/// `unacked` is the oldest `Down` dropped.
pub(super) struct Events {
    queue: [Option<Event>; CAP],
    head: u8,
    len: u8,
}

impl Events {
    pub const fn new() -> Self {
        Self {
            queue: [None; CAP],
            head: 0,
            len: 0,
        }
    }

    pub fn push(&mut self, e: Event, stats: &mut Counters) {
        if usize::from(self.len) == CAP {
            // The event at `i` (from the head) goes; the ones before it move one place
            // towards the tail, keeping their order, and the head follows.
            let h = usize::from(self.head);
            let at = |i: usize| self.queue[(h + i) % CAP];
            let up = (0..CAP).find(|&i| at(i) == Some(Event::Up));
            let empty =
                || (0..CAP).find(|&i| matches!(at(i), Some(Event::Down { unacked: 0, .. })));
            let mut i = match up.or_else(empty) {
                Some(i) => i,
                None => {
                    // Every event is a Down: the second oldest takes in the oldest.
                    if let (Some(older), Some(newer)) = (at(0), at(1)) {
                        if let Some(both) = merged(older, newer) {
                            self.queue[(h + 1) % CAP] = Some(both);
                        }
                    }
                    0
                }
            };
            while i > 0 {
                self.queue[(h + i) % CAP] = self.queue[(h + i - 1) % CAP];
                i -= 1;
            }
            self.head = ((h + 1) % CAP) as u8;
            self.len -= 1;
            stats.events_dropped += 1;
        }
        let at = usize::from((self.head + self.len) % CAP as u8);
        if let Some(slot) = self.queue.get_mut(at) {
            *slot = Some(e);
        }
        self.len += 1;
    }

    pub fn pop(&mut self) -> Option<Event> {
        if self.len == 0 {
            return None;
        }
        let e = self.queue.get_mut(usize::from(self.head))?.take();
        self.head = (self.head + 1) % CAP as u8;
        self.len -= 1;
        e
    }
}

/// The one `Down` that names the messages of two: from `older`'s first to the end of
/// `newer`'s (any acknowledged in between are named too), with `newer`'s reason; `None`
/// when that range is longer than `unacked` can say.
fn merged(older: Event, newer: Event) -> Option<Event> {
    let (
        Event::Down { first, .. },
        Event::Down {
            reason,
            unacked,
            first: last_first,
        },
    ) = (older, newer)
    else {
        return None;
    };
    let end = last_first.plus(u32::from(unacked));
    let span = u16::try_from(end.0.wrapping_sub(first.0)).ok()?;
    Some(Event::Down {
        reason,
        unacked: span,
        first,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down(first: u32, unacked: u16) -> Event {
        Event::Down {
            reason: DownReason::PeerRestarted,
            unacked,
            first: MessageId(first),
        }
    }

    fn drain(q: &mut Events) -> [Option<Event>; CAP] {
        core::array::from_fn(|_| q.pop())
    }

    /// Room is made in this order: the oldest Up, then the oldest Down that discarded
    /// nothing, then the two oldest Downs merged; the others keep their order.
    #[test]
    fn an_empty_down_goes_before_downs_merge() {
        let mut stats = Counters::new();
        let mut q = Events::new();
        for e in [down(0, 2), down(2, 0), down(5, 1), Event::Up, down(9, 3)] {
            q.push(e, &mut stats);
        }
        // The Up went first.
        assert_eq!(
            drain(&mut q),
            [
                Some(down(0, 2)),
                Some(down(2, 0)),
                Some(down(5, 1)),
                Some(down(9, 3))
            ]
        );
        for e in [down(0, 2), down(5, 1), down(7, 0), down(9, 3), Event::Up] {
            q.push(e, &mut stats);
        }
        // No Up queued: the empty Down went (not a merge of the oldest two).
        assert_eq!(
            drain(&mut q),
            [
                Some(down(0, 2)),
                Some(down(5, 1)),
                Some(down(9, 3)),
                Some(Event::Up)
            ]
        );
        for e in [down(0, 2), down(5, 1), down(9, 3), down(20, 1), down(30, 2)] {
            q.push(e, &mut stats);
        }
        // Only Downs with messages: the two oldest became one, 0 .. 6.
        assert_eq!(
            drain(&mut q),
            [
                Some(down(0, 6)),
                Some(down(9, 3)),
                Some(down(20, 1)),
                Some(down(30, 2))
            ]
        );
        assert_eq!(stats.events_dropped, 3);
    }

    /// A merged range that would not fit `unacked`: the oldest Down is dropped (counted).
    #[test]
    fn downs_too_far_apart_to_merge_drop_the_oldest() {
        let mut stats = Counters::new();
        let mut q = Events::new();
        for e in [
            down(0, 1),
            down(70_000, 1),
            down(70_001, 1),
            down(70_002, 1),
        ] {
            q.push(e, &mut stats);
        }
        q.push(down(70_003, 1), &mut stats);
        assert_eq!(
            drain(&mut q),
            [
                Some(down(70_000, 1)),
                Some(down(70_001, 1)),
                Some(down(70_002, 1)),
                Some(down(70_003, 1))
            ]
        );
        assert_eq!(stats.events_dropped, 1);
    }
}
