//! The async driver (feature `embedded-io-async`): a [`Link`] over any
//! [`embedded_io_async::Read`] and `Write` and a [`Clock`], for embassy, tokio or any other
//! executor. `no_std`, no heap, no `unsafe`. In RTIC 2 a driver is not a shared resource
//! (it is not `Send`: see "Sharing"): one async task runs it and uses it (`join`/`select`
//! inside that task); tasks that share a link there use the sans-IO [`Link`] behind a lock.
//!
//! A [`Driver`] owns the link. Its [`run`](Driver::run) future moves bytes and keeps time
//! (feeds what the transport reads, writes every frame the link has, sleeps until the link's
//! next deadline); everything else borrows the same driver, from the same task (`join`) or
//! other tasks of the same executor:
//!
//! - [`send`](Driver::send) resolves once the link has taken the message (waiting while the
//!   session is down or the window is full); [`acked`](Driver::acked) resolves once the peer
//!   acknowledged it, or tells that it was discarded when a session ended;
//! - [`recv`](Driver::recv) resolves with the next message;
//! - [`event`](Driver::event) resolves with the next [`Event`] (`Up`, `Down`);
//! - [`with_link`](Driver::with_link) reaches the link itself (keys, statistics, close).
//!
//! The driver takes every event from the link right after each call into it, so a session
//! that ends and restarts within one read is recorded before any later `send` takes an id:
//! [`Event::Down`]'s range and [`Driver::acked`] always name the right messages. A `Down` does
//! not take back messages delivered before it: `recv` still returns them. An application that
//! sends requests again after a `Down` takes those first (`try_recv` until `Ok(None)`), or
//! it answers them twice.
//!
//! # Cancellation
//!
//! Each future either completes or leaves the link as it was; dropping one loses nothing that
//! it had not already handed over:
//!
//! - `send`: the message is taken in the same poll that completes the future. Dropped before
//!   it completed, the message was never queued (and never will be); once it completed, the
//!   link owns it (delivered exactly once, or reported in [`Event::Down`]).
//! - `acked`, `event`, `wait_up`: only watch; dropping them changes nothing.
//! - `recv`: the message is copied out in the poll that completes the future; dropped before,
//!   the message stays queued for the next `recv`.
//! - `run`: the link keeps its state. Call `run` again (with the same transport or a new one)
//!   and the session goes on. A frame cut short on the wire is dropped by the peer's decoder
//!   (counted) and retransmitted if it was reliable; each `run` starts with a `0x00`, so the
//!   cut frame does not take the next one with it. Bytes a completed read returned were fed
//!   to the link in the same poll; whether a dropped, unfinished read loses bytes is up to the
//!   transport (`embedded-io-async` asks reads to be cancel-safe).
//!
//! # Sharing
//!
//! `Driver` uses a `RefCell` and is `!Sync`: every task that uses it runs on one executor
//! (embassy's `Spawner` spawns such tasks; with tokio, `join!` in one task or a `LocalSet`;
//! in RTIC 2, within one task, as RTIC requires shared resources to be `Send`). Calls never
//! hold the borrow across an `.await`. Only one `run` may be active at a time. At most
//! [`MAX_WAITERS`] tasks may wait on one driver at once.
//!
//! # Example
//!
//! Two drivers on tokio, joined by an in-memory byte pipe (`tokio::io::duplex`) through
//! `embedded-io-adapters`:
//!
//! ```
//! use embedded_io_adapters::tokio_1::FromTokio;
//! use ferrule::asynch::{run_buffer_len, Clock, Driver};
//! use ferrule::link::{frame_buffer_len, Config, Link, LinkStorage, Sent};
//!
//! # struct TokioClock(tokio::time::Instant);
//! # impl Clock for TokioClock {
//! #     fn now_ms(&self) -> u64 { self.0.elapsed().as_millis() as u64 }
//! #     async fn sleep_until(&self, ms: u64) {
//! #         tokio::time::sleep_until(self.0 + std::time::Duration::from_millis(ms)).await
//! #     }
//! # }
//! type Storage = LinkStorage<4, 128, { frame_buffer_len(128) }>;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (mut sa, mut sb) = (Storage::new(), Storage::new());
//! let start = tokio::time::Instant::now();
//! let a = Driver::new(Link::new(Config::default(), 1, sa.buffers()).unwrap(), TokioClock(start));
//! let b = Driver::new(Link::new(Config::default(), 2, sb.buffers()).unwrap(), TokioClock(start));
//! let (wire_a, wire_b) = tokio::io::duplex(1024);
//! let (rx_a, tx_a) = tokio::io::split(wire_a);
//! let (rx_b, tx_b) = tokio::io::split(wire_b);
//! let (mut buf_a, mut buf_b) = ([0u8; run_buffer_len(128)], [0u8; run_buffer_len(128)]);
//!
//! let app = async {
//!     let Ok(Sent::Reliable(id)) = a.send(0, b"hello").await else { panic!() };
//!     let mut msg = [0u8; 128];
//!     let got = b.recv(&mut msg).await.unwrap();
//!     assert_eq!(&msg[..got.len], b"hello");
//!     a.acked(id).await.unwrap(); // the peer acknowledged it
//! };
//! tokio::select! {
//!     () = app => {}
//!     e = a.run(FromTokio::new(rx_a), FromTokio::new(tx_a), &mut buf_a) => panic!("{e}"),
//!     e = b.run(FromTokio::new(rx_b), FromTokio::new(tx_b), &mut buf_b) => panic!("{e}"),
//! }
//! # }
//! ```

mod clock;
mod state;

use core::cell::RefCell;
use core::fmt;
use core::future::{poll_fn, Future};
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use embedded_io_async::{Read, Write};

use crate::encode::EncodeError;
use crate::link::{
    max_frame_len, Event, Link, LinkStats, MessageId, Received, RecvError, SendError, Sent,
};

pub use clock::Clock;
#[cfg(feature = "embassy-time")]
pub use clock::EmbassyClock;
pub use state::{DOWN_LOG, EVENT_QUEUE};

use state::Shared;

/// Tasks that may wait on one driver at the same time (in `send`, `recv`, `acked`, `event`,
/// `wait_up`): the driver keeps a waker for each. Beyond that they keep waking each other
/// (counted in [`DriverStats::waiter_overflows`]): share a driver among at most this many
/// waiting tasks. Costs 8 bytes of the driver per task on 32-bit targets.
pub const MAX_WAITERS: usize = 8;

/// Bytes of the read area [`run_buffer_len`] adds after the frame area.
pub const READ_CHUNK: usize = 64;

/// A good size for [`Driver::run`]'s buffer on a link whose largest message is
/// `max_message` bytes: the largest frame it sends, plus [`READ_CHUNK`] bytes to read into.
pub const fn run_buffer_len(max_message: usize) -> usize {
    max_frame_len(max_message) + READ_CHUNK
}

/// Why [`Driver::acked`] cannot confirm a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AckError {
    /// The session ended before the peer acknowledged it: it was discarded, reported in
    /// [`Event::Down`]. The peer may or may not have it.
    Discarded,
    /// More than [`DOWN_LOG`] sessions ended between its sending and this question: the
    /// driver no longer knows whether it was acknowledged or discarded.
    Forgotten,
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Discarded => "message discarded unacknowledged when its session ended",
            Self::Forgotten => "message too old: acknowledged or discarded, no longer known",
        })
    }
}

impl core::error::Error for AckError {}

/// Why [`Driver::run`] returned. The link keeps its state: `run` may be called again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use = "the reason the transport failed or ended"]
pub enum RunError<R, W> {
    /// Reading failed.
    Read(R),
    /// Writing (or flushing) failed.
    Write(W),
    /// The transport reached end of file (a read returned 0 bytes).
    Eof,
    /// The transport accepted no bytes (a write returned 0).
    WriteZero,
    /// The buffer given to `run` is shorter than `needed` bytes: the link's largest frame
    /// and at least one byte to read into.
    BufferTooSmall {
        /// Bytes required.
        needed: usize,
    },
    /// The link could not frame what it had to send (a bug: the buffer was checked).
    Encode(EncodeError),
}

impl<R: fmt::Display, W: fmt::Display> fmt::Display for RunError<R, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(e) => write!(f, "transport read failed: {e}"),
            Self::Write(e) => write!(f, "transport write failed: {e}"),
            Self::Eof => f.write_str("transport reached end of file"),
            Self::WriteZero => f.write_str("transport accepted no bytes"),
            Self::BufferTooSmall { needed } => {
                write!(f, "run buffer too small: {needed} bytes needed")
            }
            Self::Encode(e) => write!(f, "frame not encoded: {e}"),
        }
    }
}

impl<R, W> core::error::Error for RunError<R, W>
where
    R: core::error::Error + 'static,
    W: core::error::Error + 'static,
{
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Read(e) => Some(e),
            Self::Write(e) => Some(e),
            Self::Encode(e) => Some(e),
            _ => None,
        }
    }
}

/// The driver's own counters (the link's are [`Driver::stats`]). 32-bit, wrapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DriverStats {
    /// Bytes read from the transport and fed to the link.
    pub bytes_in: u32,
    /// Frames written to the transport.
    pub frames_out: u32,
    /// Bytes written to the transport.
    pub bytes_out: u32,
    /// Events dropped because the application did not take them ([`EVENT_QUEUE`] are kept).
    pub events_dropped: u32,
    /// Times more tasks waited at once than the driver keeps wakers for
    /// ([`MAX_WAITERS`]): all of them were woken to wait again. Nothing is lost, but while
    /// more tasks than that keep waiting they keep waking each other (the executor never
    /// sleeps): a non-zero count means too many tasks wait on one driver.
    pub waiter_overflows: u32,
}

/// Wakers taken out of the driver's state, woken once its borrow is released (the
/// transmit side's, then up to `WAITERS` application tasks').
struct Wake([Option<Waker>; 1 + state::WAITERS]);

impl Wake {
    const fn none() -> Self {
        Self([const { None }; 1 + state::WAITERS])
    }

    fn fire(self) {
        for w in self.0.into_iter().flatten() {
            w.wake();
        }
    }
}

/// A [`Link`] driven over async I/O. See the [module docs](self).
pub struct Driver<'a, C> {
    shared: RefCell<Shared<'a>>,
    clock: C,
}

impl<'a, C: Clock> Driver<'a, C> {
    /// A driver for `link`, keeping time with `clock`. The link is in whatever state it was
    /// (usually just made with [`Link::new`], its codec or keys installed); it starts moving
    /// once [`Self::run`] runs.
    pub fn new(link: Link<'a>, clock: C) -> Self {
        Self {
            shared: RefCell::new(Shared::new(link)),
            clock,
        }
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Runs the link over a byte stream (the link's transport must be
    /// [`Transport::Stream`](crate::link::Transport::Stream)): reads from `rx` and feeds
    /// the link, writes (and flushes) every frame the link has to `tx`, and wakes the link at
    /// its deadlines. `buf` holds the frame being written (the first
    /// [`Link::max_frame_len`] bytes) and what is read (the rest; [`run_buffer_len`] sizes
    /// it with [`READ_CHUNK`] bytes for reading).
    ///
    /// Returns only when the transport fails or ends; the link keeps its state, and `run`
    /// may be called again. Reading and writing go on concurrently: a slow write does not
    /// stop reception.
    pub async fn run<R: Read, W: Write>(
        &self,
        mut rx: R,
        mut tx: W,
        buf: &mut [u8],
    ) -> RunError<R::Error, W::Error> {
        let frame_len = self.shared.borrow().link.max_frame_len();
        if buf.len() <= frame_len {
            return RunError::BufferTooSmall {
                needed: frame_len + 1,
            };
        }
        let (out, chunk) = buf.split_at_mut(frame_len);
        let receive = async {
            loop {
                match rx.read(chunk).await {
                    Ok(0) => return RunError::Eof,
                    Ok(n) => self.input(chunk.get(..n).unwrap_or_default()),
                    Err(e) => return RunError::Read(e),
                }
            }
        };
        let transmit = async {
            // A delimiter first: a frame an earlier `run` left cut short on the wire ends here
            // (the peer drops it, counted) instead of taking this run's first frame with it.
            if let Err(e) = write_all(&mut tx, &[0]).await {
                return e;
            }
            {
                let mut s = self.shared.borrow_mut();
                s.stats.bytes_out = s.stats.bytes_out.wrapping_add(1);
            }
            loop {
                if let Err(e) = self.transmit(&mut tx, out).await {
                    return e;
                }
                self.idle().await;
            }
        };
        first(receive, transmit).await
    }

    /// Bytes from the transport, into the link.
    fn input(&self, bytes: &[u8]) {
        let now = self.clock.now_ms();
        let wake = {
            let mut s = self.shared.borrow_mut();
            s.link.handle_input(bytes, now);
            s.stats.bytes_in = s.stats.bytes_in.wrapping_add(bytes.len() as u32);
            s.kick = true;
            s.settle()
        };
        wake.fire();
    }

    /// Runs the link's timers if due and writes every frame it has.
    async fn transmit<R, W: Write>(
        &self,
        tx: &mut W,
        out: &mut [u8],
    ) -> Result<(), RunError<R, W::Error>> {
        let mut wrote = false;
        loop {
            let now = self.clock.now_ms();
            let (next, wake) = {
                let mut s = self.shared.borrow_mut();
                s.kick = false;
                if s.link.poll_timeout().is_some_and(|t| t <= now) {
                    s.link.handle_timeout(now);
                }
                let next = s.link.poll_transmit(now, out);
                (next, s.settle())
            };
            wake.fire();
            let n = match next {
                Ok(Some(n)) => n,
                Ok(None) => break,
                Err(e) => return Err(RunError::Encode(e)),
            };
            write_all(tx, out.get(..n).unwrap_or_default()).await?;
            let mut s = self.shared.borrow_mut();
            s.stats.frames_out = s.stats.frames_out.wrapping_add(1);
            s.stats.bytes_out = s.stats.bytes_out.wrapping_add(n as u32);
            wrote = true;
        }
        if wrote {
            tx.flush().await.map_err(RunError::Write)?;
        }
        Ok(())
    }

    /// Waits until the link's next deadline, or until something changed it.
    async fn idle(&self) {
        let now = self.clock.now_ms();
        // A deadline already due, after the timers ran and every frame went out, has nothing
        // more to do in this millisecond: wait for the next one rather than spin.
        let deadline = self
            .shared
            .borrow()
            .link
            .poll_timeout()
            .map(|t| t.max(now + 1));
        let kicked = poll_fn(|cx| {
            let mut s = self.shared.borrow_mut();
            if s.kick {
                Poll::Ready(())
            } else {
                s.runner = Some(cx.waker().clone());
                Poll::Pending
            }
        });
        match deadline {
            Some(t) => first(kicked, self.clock.sleep_until(t)).await,
            None => kicked.await,
        }
    }

    /// Queues `msg` on `channel`: resolves once the link took it, waiting while no session
    /// is up or the send window (or best-effort mailbox) is full. Fails only with
    /// [`SendError::TooLarge`]. Dropped before it resolves, the message was not queued.
    ///
    /// Each attempt the link refuses for a full window is counted in
    /// [`LinkStats::send_full`]; the driver attempts again after each change of the link.
    pub async fn send(&self, channel: u8, msg: &[u8]) -> Result<Sent, SendError> {
        poll_fn(|cx| {
            let now = self.clock.now_ms();
            self.poll_with(cx, |s| match s.link.send(channel, msg, now) {
                Ok(sent) => Some((Ok(sent), true)),
                Err(SendError::TooLarge) => Some((Err(SendError::TooLarge), false)),
                Err(SendError::Full | SendError::NotConnected) => None,
            })
        })
        .await
    }

    /// [`Link::send`] now, without waiting: `Full` and `NotConnected` are returned.
    pub fn try_send(&self, channel: u8, msg: &[u8]) -> Result<Sent, SendError> {
        let now = self.clock.now_ms();
        self.call(|s| {
            let r = s.link.send(channel, msg, now);
            (r, r.is_ok())
        })
    }

    /// Resolves when reliable message `id` (from [`Sent::Reliable`]) is settled: `Ok` once
    /// the peer acknowledged it, [`AckError::Discarded`] if its session ended first.
    pub async fn acked(&self, id: MessageId) -> Result<(), AckError> {
        poll_fn(|cx| self.poll_with(cx, |s| s.verdict(id).map(|v| (v, false)))).await
    }

    /// Resolves with the next message, copied into `out`. Errors as [`Link::recv`]: with
    /// `BufferTooSmall` the message stays queued; with `Decompress` it was dropped.
    pub async fn recv(&self, out: &mut [u8]) -> Result<Received, RecvError> {
        poll_fn(|cx| {
            self.poll_with(cx, |s| match s.link.recv(out) {
                Ok(None) => None,
                Ok(Some(r)) => Some((Ok(r), true)),
                Err(e) => Some((Err(e), true)),
            })
        })
        .await
    }

    /// [`Link::recv`] now, without waiting.
    pub fn try_recv(&self, out: &mut [u8]) -> Result<Option<Received>, RecvError> {
        self.call(|s| {
            let r = s.link.recv(out);
            (r, !matches!(r, Ok(None)))
        })
    }

    /// Resolves with the next link event. The driver keeps the last [`EVENT_QUEUE`]; older
    /// ones not taken are dropped and counted ([`DriverStats::events_dropped`]).
    pub async fn event(&self) -> Event {
        poll_fn(|cx| self.poll_with(cx, |s| s.pop_event().map(|e| (e, false)))).await
    }

    /// The next link event, if there is one.
    pub fn try_event(&self) -> Option<Event> {
        self.shared.borrow_mut().pop_event()
    }

    /// Resolves once a session is up.
    pub async fn wait_up(&self) {
        poll_fn(|cx| self.poll_with(cx, |s| s.link.is_up().then_some(((), false)))).await
    }

    /// Whether a session is up.
    pub fn is_up(&self) -> bool {
        self.shared.borrow().link.is_up()
    }

    /// The link's counters ([`Link::stats`]).
    pub fn stats(&self) -> LinkStats {
        self.shared.borrow().link.stats()
    }

    /// The driver's counters.
    pub fn driver_stats(&self) -> DriverStats {
        self.shared.borrow().stats
    }

    /// Ends the session ([`Link::close`]): CLOSE goes out, [`Event::Down`] follows, and a new
    /// handshake starts.
    pub fn close(&self) {
        let now = self.clock.now_ms();
        self.with_link(|l| l.close(now));
    }

    /// Calls `f` with the link (to rekey, read the codec's counters, ...), then lets the
    /// driver act on whatever changed. Take events and messages through the driver, not
    /// `poll_event`/`recv` here (they would bypass its records), and do not call the driver
    /// from inside `f` (the link is borrowed: that would panic).
    pub fn with_link<T>(&self, f: impl FnOnce(&mut Link<'a>) -> T) -> T {
        self.call(|s| (f(&mut s.link), true))
    }

    /// Runs `f` on the state; when it says the link changed, the driver takes the link's
    /// events and wakes the transmit side and every waiting task (after the borrow ends).
    fn call<T>(&self, f: impl FnOnce(&mut Shared<'a>) -> (T, bool)) -> T {
        let (r, wake) = {
            let mut s = self.shared.borrow_mut();
            let (r, changed) = f(&mut s);
            (
                r,
                if changed {
                    s.after_call()
                } else {
                    Wake::none()
                },
            )
        };
        wake.fire();
        r
    }

    /// One poll of a waiting operation: `f` returns the result (and whether the link
    /// changed), or `None` to wait for the next change.
    fn poll_with<T>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Shared<'a>) -> Option<(T, bool)>,
    ) -> Poll<T> {
        let (poll, wake) = {
            let mut s = self.shared.borrow_mut();
            match f(&mut s) {
                Some((r, changed)) => (
                    Poll::Ready(r),
                    if changed {
                        s.after_call()
                    } else {
                        Wake::none()
                    },
                ),
                None => (Poll::Pending, s.wait(cx.waker())),
            }
        };
        wake.fire();
        poll
    }

    /// The link back, with whatever state it has.
    pub fn into_link(self) -> Link<'a> {
        self.shared.into_inner().link
    }
}

impl<'a> Shared<'a> {
    /// After a call from the application that may have changed the link: its events are
    /// taken and everyone concerned is told.
    fn after_call(&mut self) -> Wake {
        self.kick = true;
        self.settle()
    }
}

/// The output of whichever of `a` and `b` completes first (`a` is polled first); the other
/// is dropped.
async fn first<T>(a: impl Future<Output = T>, b: impl Future<Output = T>) -> T {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(move |cx| match a.as_mut().poll(cx) {
        Poll::Ready(v) => Poll::Ready(v),
        Poll::Pending => b.as_mut().poll(cx),
    })
    .await
}

/// Writes all of `bytes` to `tx` (a write that takes nothing is an error: the transport
/// would never take the rest).
async fn write_all<R, W: Write>(tx: &mut W, mut bytes: &[u8]) -> Result<(), RunError<R, W::Error>> {
    while !bytes.is_empty() {
        match tx.write(bytes).await {
            Ok(0) => return Err(RunError::WriteZero),
            Ok(k) => bytes = bytes.get(k..).unwrap_or_default(),
            Err(e) => return Err(RunError::Write(e)),
        }
    }
    Ok(())
}
