//! The async driver end to end: two drivers over in-memory byte pipes on tokio's
//! current-thread runtime with its clock paused (time advances only when every task waits,
//! so runs are deterministic and take no wall time). Impairments come from a seeded PRNG.
#![cfg(feature = "embedded-io-async")]

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use embedded_io_async::{ErrorType, Read};
use ferrule::asynch::{run_buffer_len, AckError, Clock, Driver, RunError};
use ferrule::link::{
    frame_buffer_len, Config, DownReason, Event, Link, LinkStorage, MessageId, SendError, Sent,
};
use tokio::io::{DuplexStream, ReadHalf, WriteHalf};

const M: usize = 128;
type Storage = LinkStorage<4, M, { frame_buffer_len(M) }>;

/// tokio's (paused) clock in milliseconds from the start of the test.
#[derive(Clone, Copy)]
struct TokioClock(tokio::time::Instant);

impl Clock for TokioClock {
    fn now_ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }
    async fn sleep_until(&self, deadline_ms: u64) {
        tokio::time::sleep_until(self.0 + Duration::from_millis(deadline_ms)).await
    }
}

type Peer = Driver<'static, TokioClock>;

fn config() -> Config {
    Config {
        rto_initial: 200,
        keepalive: 500,
        ..Config::default()
    }
}

fn peer(seed: u64, clock: TokioClock) -> Peer {
    let storage = Box::leak(Box::new(Storage::new()));
    Driver::new(Link::new(config(), seed, storage.buffers()).unwrap(), clock)
}

type Rx = FromTokio<ReadHalf<DuplexStream>>;
type Tx = FromTokio<WriteHalf<DuplexStream>>;

/// Two connected byte streams: (A's rx, A's tx), (B's rx, B's tx).
fn wire() -> ((Rx, Tx), (Rx, Tx)) {
    let (a, b) = tokio::io::duplex(512);
    let (ra, ta) = tokio::io::split(a);
    let (rb, tb) = tokio::io::split(b);
    (
        (FromTokio::new(ra), FromTokio::new(ta)),
        (FromTokio::new(rb), FromTokio::new(tb)),
    )
}

/// A reader that drops and flips bytes (xorshift PRNG, seeded): `per_mille` of the bytes
/// read are dropped, as many again flipped.
struct Noisy<R> {
    inner: R,
    state: u64,
    per_mille: u64,
    hits: u32,
}

impl<R> Noisy<R> {
    fn new(inner: R, seed: u64, per_mille: u64) -> Self {
        Self {
            inner,
            state: seed | 1,
            per_mille,
            hits: 0,
        }
    }
    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state % 1000
    }
}

impl<R: ErrorType> ErrorType for Noisy<R> {
    type Error = R::Error;
}

impl<R: Read> Read for Noisy<R> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        loop {
            let n = self.inner.read(buf).await?;
            if n == 0 {
                return Ok(0);
            }
            let mut kept = 0;
            for i in 0..n {
                let r = self.next();
                if r < self.per_mille {
                    self.hits += 1; // dropped
                } else {
                    buf[kept] = if r < 2 * self.per_mille {
                        self.hits += 1;
                        buf[i] ^ 0x20
                    } else {
                        buf[i]
                    };
                    kept += 1;
                }
            }
            if kept > 0 {
                return Ok(kept);
            }
        }
    }
}

/// Runs `app` while both peers run over `wire`; panics if a run ends first.
async fn with_peers<T>(
    a: &Peer,
    b: &Peer,
    ((ra, ta), (rb, tb)): ((impl Read, impl embedded_io_async::Write), (Rx, Tx)),
    app: impl Future<Output = T>,
) -> T {
    let mut buf_a = [0u8; run_buffer_len(M)];
    let mut buf_b = [0u8; run_buffer_len(M)];
    tokio::select! {
        biased;
        r = app => r,
        e = a.run(ra, ta, &mut buf_a) => panic!("A's run ended: {e:?}"),
        e = b.run(rb, tb, &mut buf_b) => panic!("B's run ended: {e:?}"),
    }
}

fn message(i: u32) -> Vec<u8> {
    let mut m = i.to_le_bytes().to_vec();
    m.extend(std::iter::repeat_n(
        b'a' + (i % 26) as u8,
        (i as usize * 7) % 100,
    ));
    m
}

/// B echoes every message back until `count` are echoed.
async fn echo(b: &Peer, count: u32) {
    let mut buf = [0u8; M];
    for _ in 0..count {
        let r = b.recv(&mut buf).await.unwrap();
        b.send(r.channel, &buf[..r.len]).await.unwrap();
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn messages_cross_both_ways_and_every_one_is_acknowledged() {
    let clock = TokioClock(tokio::time::Instant::now());
    let (a, b) = (peer(1, clock), peer(2, clock));
    const N: u32 = 300;
    let app = async {
        let send = async {
            let mut ids = Vec::new();
            for i in 0..N {
                let Sent::Reliable(id) = a.send(0, &message(i)).await.unwrap() else {
                    panic!("channel 0 is reliable")
                };
                ids.push(id);
            }
            for id in ids {
                a.acked(id).await.unwrap();
            }
        };
        let check = async {
            let mut buf = [0u8; M];
            for i in 0..N {
                let r = a.recv(&mut buf).await.unwrap();
                assert_eq!(&buf[..r.len], message(i).as_slice(), "echo {i}");
                assert!(r.reliable);
            }
        };
        tokio::join!(send, check, echo(&b, N));
    };
    with_peers(&a, &b, wire(), app).await;
    assert_eq!(a.try_event(), Some(Event::Up));
    assert_eq!(a.try_event(), None);
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(sa.delivered_reliable, N);
    assert_eq!(sb.delivered_reliable, N);
    assert_eq!(
        sa.retransmissions, 0,
        "a clean pipe needs no retransmission"
    );
    let d = a.driver_stats();
    assert!(d.frames_out >= N, "{d:?}");
    assert_eq!(d.events_dropped, 0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_noisy_line_still_delivers_everything_once_in_order() {
    let clock = TokioClock(tokio::time::Instant::now());
    let (a, b) = (peer(3, clock), peer(4, clock));
    const N: u32 = 200;
    let ((ra, ta), wb) = wire();
    let mut noisy = Noisy::new(ra, 0x5eed, 3);
    let app = async {
        let send = async {
            for i in 0..N {
                a.send(0, &message(i)).await.unwrap();
            }
        };
        let check = async {
            let mut buf = [0u8; M];
            for i in 0..N {
                let r = a.recv(&mut buf).await.unwrap();
                assert_eq!(&buf[..r.len], message(i).as_slice(), "echo {i}");
            }
        };
        tokio::join!(send, check, echo(&b, N));
    };
    with_peers(&a, &b, ((&mut noisy, ta), wb), app).await;
    let s = a.stats();
    assert!(
        noisy.hits > 20,
        "the line was noisy: {} bytes hit",
        noisy.hits
    );
    assert!(s.framing.bad_crc + s.framing.malformed > 0, "{s:?}");
    assert!(b.stats().retransmissions > 0, "B resent what A lost");
}

/// The trap: a peer restart reported within one read, and a `send` before the
/// application looks at events. The driver records the `Down` before the `send` takes an id,
/// so the discarded range and `acked` name exactly the old session's messages.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_peer_restart_discards_exactly_the_unacknowledged_messages() {
    let clock = TokioClock(tokio::time::Instant::now());
    let a = peer(5, clock);
    let b1 = peer(6, clock);
    // B's ends outlive its run: when B stops, the line stays open and nobody reads it.
    let ((mut ra, mut ta), (mut rb, mut tb)) = wire();
    let mut buf_a = [0u8; run_buffer_len(M)];
    let mut buf_b = [0u8; run_buffer_len(M)];
    let mut ids = Vec::new();
    // Session 1: 3 messages delivered and acknowledged, then B stops reading (its run is
    // dropped, its link kept) while A queues 4 more, which stay unacknowledged.
    {
        let mut run_a = pin!(a.run(&mut ra, &mut ta, &mut buf_a));
        let phase = async {
            for i in 0..3 {
                let Ok(Sent::Reliable(id)) = a.send(0, &message(i)).await else {
                    panic!()
                };
                a.acked(id).await.unwrap();
                ids.push(id);
            }
        };
        tokio::select! {
            biased;
            () = phase => {}
            e = &mut run_a => panic!("{e:?}"),
            e = b1.run(&mut rb, &mut tb, &mut buf_b) => panic!("{e:?}"),
        }
        for i in 3..7 {
            let Ok(Sent::Reliable(id)) = a.try_send(0, &message(i)) else {
                panic!()
            };
            ids.push(id);
        }
        // A retransmits into the pipe for a while; nobody reads it.
        tokio::select! {
            biased;
            e = &mut run_a => panic!("{e:?}"),
            () = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
    }
    assert_eq!(a.try_event(), Some(Event::Up));
    // B reboots: a new link (new seed) on a new pipe. A sends at once, before it looks at its
    // events: the new message must not be taken for one of the old session's.
    let b2 = peer(7, clock);
    let ((ra, ta), wb) = wire();
    let app = async {
        // A's window is full of the old session's messages, so this send waits through the
        // restart: B2's handshake ends the old session (discarding those 4) and opens a new
        // one within A's reads, and the send completes in the new session.
        let Ok(Sent::Reliable(new_id)) = a.send(0, b"after").await else {
            panic!("channel 0 is reliable")
        };
        let mut buf = [0u8; M];
        let r = b2.recv(&mut buf).await.unwrap();
        assert_eq!(
            &buf[..r.len],
            b"after",
            "the old session's messages are not delivered"
        );
        a.acked(new_id).await.unwrap();
        new_id
    };
    let new_id = with_peers(&a, &b2, ((ra, ta), wb), app).await;
    let down = a.try_event();
    let Some(Event::Down {
        reason: DownReason::PeerRestarted,
        unacked,
        first,
    }) = down
    else {
        panic!("expected the peer restart, got {down:?}")
    };
    assert_eq!(
        (first, unacked),
        (ids[3], 4),
        "exactly the 4 unacknowledged"
    );
    assert_eq!(a.try_event(), Some(Event::Up));
    assert_eq!(new_id, MessageId(7));
    let mut verdicts = Vec::new();
    for id in &ids {
        verdicts.push(a.acked(*id).await);
    }
    assert_eq!(
        verdicts,
        [
            Ok(()),
            Ok(()),
            Ok(()),
            Err(AckError::Discarded),
            Err(AckError::Discarded),
            Err(AckError::Discarded),
            Err(AckError::Discarded)
        ]
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_dropped_send_queues_nothing_and_a_dropped_recv_loses_nothing() {
    let clock = TokioClock(tokio::time::Instant::now());
    let (a, b) = (peer(8, clock), peer(9, clock));
    // Not connected: the send waits; polled once, then dropped.
    {
        let mut early = pin!(a.send(0, b"never"));
        let polled = poll_fn(|cx| Poll::Ready(early.as_mut().poll(cx).is_pending())).await;
        assert!(polled, "no session yet: the send waits");
    }
    let app = async {
        // A recv started and dropped before anything arrives.
        {
            let mut buf = [0u8; M];
            let mut early = pin!(b.recv(&mut buf));
            let pending = poll_fn(|cx| Poll::Ready(early.as_mut().poll(cx).is_pending())).await;
            assert!(pending);
        }
        let Ok(Sent::Reliable(id)) = a.send(0, b"first").await else {
            panic!()
        };
        assert_eq!(id, MessageId(0), "the dropped send took no id");
        a.acked(id).await.unwrap();
        let mut buf = [0u8; M];
        let r = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..r.len], b"first", "the dropped recv lost nothing");
        assert_eq!(b.try_recv(&mut buf), Ok(None), "and nothing else arrived");
    };
    with_peers(&a, &b, wire(), app).await;
    assert_eq!(b.stats().delivered_reliable, 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn run_resumes_on_a_new_transport_after_end_of_file() {
    let clock = TokioClock(tokio::time::Instant::now());
    let (a, b) = (peer(10, clock), peer(11, clock));
    let app = async {
        let Ok(Sent::Reliable(id)) = a.send(0, b"one").await else {
            panic!()
        };
        a.acked(id).await.unwrap();
    };
    with_peers(&a, &b, wire(), app).await;
    // The line goes away: B's end is dropped, A's run sees end of file.
    let ((ra, ta), (rb, tb)) = wire();
    drop((rb, tb));
    let mut buf = [0u8; run_buffer_len(M)];
    let e = a.run(ra, ta, &mut buf).await;
    assert!(matches!(e, RunError::Eof | RunError::Write(_)), "{e:?}");
    // Sent during the outage, delivered once the runs resume on a new line.
    let Ok(Sent::Reliable(id)) = a.try_send(0, b"two") else {
        panic!()
    };
    let app = async {
        a.acked(id).await.unwrap();
        let mut m = [0u8; M];
        let r = b.recv(&mut m).await.unwrap();
        assert_eq!(&m[..r.len], b"one");
        let r = b.recv(&mut m).await.unwrap();
        assert_eq!(&m[..r.len], b"two");
    };
    with_peers(&a, &b, wire(), app).await;
    assert_eq!(a.try_event(), Some(Event::Up));
    assert_eq!(a.try_event(), None, "the session survived the outage");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn send_waits_for_the_window_and_refuses_only_what_is_too_large() {
    let clock = TokioClock(tokio::time::Instant::now());
    let (a, b) = (peer(12, clock), peer(13, clock));
    let app = async {
        assert_eq!(a.send(0, &[0u8; M + 1]).await, Err(SendError::TooLarge));
        // 40 messages through a window of 4, B reading slowly: each send waits its turn.
        let send = async {
            for i in 0..40 {
                a.send(0, &message(i)).await.unwrap();
            }
        };
        let slow = async {
            let mut buf = [0u8; M];
            for i in 0..40 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let r = b.recv(&mut buf).await.unwrap();
                assert_eq!(&buf[..r.len], message(i).as_slice());
            }
        };
        tokio::join!(send, slow);
    };
    with_peers(&a, &b, wire(), app).await;
    assert!(a.stats().send_full > 0, "the window filled");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_short_buffer_is_refused() {
    let clock = TokioClock(tokio::time::Instant::now());
    let a = peer(14, clock);
    let ((ra, ta), _b) = wire();
    let mut buf = [0u8; 64];
    let e = a.run(ra, ta, &mut buf).await;
    assert_eq!(
        e.to_string(),
        format!(
            "run buffer too small: {} bytes needed",
            run_buffer_len(M) - 63
        )
    );
}

/// `MAX_WAITERS` tasks wait on one driver while nothing happens: they sleep. (With more tasks
/// than the driver had slots, the waiters woke each other for ever: 230,000 polls in 200 ms
/// for five tasks and four slots. Found by an embedded Rust review.)
#[tokio::test(flavor = "current_thread")]
async fn the_most_waiting_tasks_sleep_while_nothing_happens() {
    use std::cell::Cell;
    use std::rc::Rc;
    let clock = TokioClock(tokio::time::Instant::now());
    let d: &'static Peer = Box::leak(Box::new(peer(1, clock)));
    let polls = Rc::new(Cell::new(0u64));
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            for _ in 0..ferrule::asynch::MAX_WAITERS {
                let polls = polls.clone();
                tokio::task::spawn_local(async move {
                    let mut ev = pin!(d.event());
                    poll_fn(|cx| {
                        polls.set(polls.get() + 1);
                        ev.as_mut().poll(cx)
                    })
                    .await;
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        })
        .await;
    assert_eq!(polls.get(), ferrule::asynch::MAX_WAITERS as u64);
    assert_eq!(d.driver_stats().waiter_overflows, 0);
}

/// A writer that takes `budget` bytes (3 at a time), then never completes: a UART whose
/// transmitter stalled.
struct Stall<W> {
    inner: W,
    budget: usize,
}

impl<W: ErrorType> ErrorType for Stall<W> {
    type Error = W::Error;
}

impl<W: embedded_io_async::Write> embedded_io_async::Write for Stall<W> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if self.budget == 0 {
            return std::future::pending().await;
        }
        let n = buf.len().min(self.budget).min(3);
        let k = self.inner.write(&buf[..n]).await?;
        self.budget -= k;
        Ok(k)
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush().await
    }
}

/// `run` dropped while a best-effort frame was half written (the README's `select` pattern),
/// then `run` again on the same, healthy line: the next message arrives. Before, the new
/// run's first frame ran into the stray bytes (one `malformed` frame at the peer) and a
/// best-effort message was lost without a report. Found by an embedded Rust review.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_new_run_after_a_frame_cut_short_loses_nothing_more() {
    let clock = TokioClock(tokio::time::Instant::now());
    let c = Config {
        keepalive: 0,
        channels: ferrule::link::ChannelMap::none().with_reliable(0),
        ..config()
    };
    let peer_with = |seed| {
        let storage = Box::leak(Box::new(Storage::new()));
        Driver::new(Link::new(c, seed, storage.buffers()).unwrap(), clock)
    };
    let (a, b) = (peer_with(21), peer_with(22));
    let ((mut ra, mut ta), (mut rb, mut tb)) = wire();
    let mut buf_a = [0u8; run_buffer_len(M)];
    let mut buf_b = [0u8; run_buffer_len(M)];
    let mut run_b = pin!(b.run(&mut rb, &mut tb, &mut buf_b));
    tokio::select! {
        biased;
        () = async {
            a.wait_up().await;
            b.wait_up().await;
            tokio::time::sleep(Duration::from_millis(50)).await
        } => {}
        e = a.run(&mut ra, &mut ta, &mut buf_a) => panic!("{e:?}"),
        e = &mut run_b => panic!("{e:?}"),
    }
    // A best-effort message; A's line stalls 10 bytes in, and that run is dropped.
    assert!(matches!(a.try_send(1, &[0x55; 60]), Ok(Sent::BestEffort)));
    {
        let stall = Stall {
            inner: &mut ta,
            budget: 10,
        };
        tokio::select! {
            biased;
            e = a.run(&mut ra, stall, &mut buf_a) => panic!("{e:?}"),
            e = &mut run_b => panic!("{e:?}"),
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    assert!(matches!(
        a.try_send(1, b"second, sent whole"),
        Ok(Sent::BestEffort)
    ));
    let mut got = Vec::new();
    tokio::select! {
        biased;
        e = a.run(&mut ra, &mut ta, &mut buf_a) => panic!("{e:?}"),
        e = &mut run_b => panic!("{e:?}"),
        () = async {
            let mut m = [0u8; M];
            loop {
                let r = b.recv(&mut m).await.unwrap();
                got.push(m[..r.len].to_vec());
            }
        } => {}
        () = tokio::time::sleep(Duration::from_millis(500)) => {}
    }
    assert_eq!(got, vec![b"second, sent whole".to_vec()]);
}
