//! The async driver on a host, with tokio: the host end of the request/response protocol of
//! the UART test firmware (`tests/firmware/uart_peer.c`, the C API on a Cortex-M under QEMU;
//! `examples-embedded/embassy-mps2` speaks the same), over TCP: QEMU's `-serial tcp:ADDR`
//! connects to `--listen ADDR`.
//!
//! ```text
//! cargo run --example tokio_host --features embedded-io-async -- --listen 127.0.0.1:5555 --count 300
//! qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native,arg=x,arg=seed=7 \
//!     -serial tcp:127.0.0.1:5555 -kernel target/firmware/uart_peer.elf
//! ```
//!
//! - request `i`: `[i u32 LE] 'H' text(i)`; response: `[i u32 LE] 'F' reverse(text(i))`;
//!   `text(i)`: `{"n":i,"t":21.d,"s":"ok"}` (`d = i % 10`) repeated, cut to `24 + (i*37) % 160`.
//! - One task: the driver's `run` (started again on every new connection: the firmware may
//!   be killed and booted again), a sender, a receiver and an event watcher, joined.
//! - When a session ends, requests without a response are sent again in the next one. At the
//!   end, `acked` tells for every request sent whether the firmware's link acknowledged it or
//!   the driver discarded it when a session ended; the discarded ones must be exactly those
//!   the `Down` events counted.
//!
//! Prints `responses N` every 100 responses (a test script restarts the firmware on one of
//! them) and a summary; exits 1 on a missing, duplicated or corrupted response.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use ferrule::asynch::{run_buffer_len, AckError, Clock, Driver};
use ferrule::compress::{Codec, CodecConfig, Compressor, Mode};
use ferrule::link::{frame_buffer_len, Config, Event, Link, LinkStorage, MessageId, Sent};

const M: usize = 256;
type Storage = LinkStorage<8, M, { frame_buffer_len(M) }>;

/// tokio's clock, in milliseconds since the example started.
struct TokioClock(tokio::time::Instant);

impl Clock for TokioClock {
    fn now_ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }
    async fn sleep_until(&self, deadline_ms: u64) {
        tokio::time::sleep_until(self.0 + Duration::from_millis(deadline_ms)).await
    }
}

fn text(i: u32) -> Vec<u8> {
    let rec = format!("{{\"n\":{i},\"t\":21.{},\"s\":\"ok\"}}", i % 10);
    rec.bytes()
        .cycle()
        .take(24 + (i as usize * 37) % 160)
        .collect()
}

fn request(i: u32) -> Vec<u8> {
    let mut m = i.to_le_bytes().to_vec();
    m.push(b'H');
    m.extend(text(i));
    m
}

fn response(i: u32) -> Vec<u8> {
    let mut m = i.to_le_bytes().to_vec();
    m.push(b'F');
    m.extend(text(i).into_iter().rev());
    m
}

/// What the application keeps: requests to send, sent and unanswered, answered.
#[derive(Default)]
struct Book {
    to_send: BTreeSet<u32>,
    /// Request index -> the id the link gave it.
    in_flight: BTreeMap<u32, MessageId>,
    answered: BTreeSet<u32>,
    sent: Vec<MessageId>,
    duplicates: u32,
    corrupted: u32,
    resent: u32,
    sessions: u32,
    discarded_by_downs: u32,
}

type Host<'a> = Driver<'a, TokioClock>;

/// Sends requests, lowest first, whenever the book has one to send.
async fn sender(driver: &Host<'_>, book: &RefCell<Book>, wake: &tokio::sync::Notify) {
    loop {
        let next = book.borrow().to_send.first().copied();
        let Some(i) = next else {
            wake.notified().await;
            continue;
        };
        match driver.send(0, &request(i)).await {
            Ok(Sent::Reliable(id)) => {
                let mut b = book.borrow_mut();
                b.to_send.remove(&i);
                b.in_flight.insert(i, id);
                b.sent.push(id);
            }
            other => panic!("request {i}: {other:?}"),
        }
    }
}

/// Books one response.
fn take(book: &RefCell<Book>, msg: &[u8]) {
    let i = msg
        .get(..4)
        .map_or(u32::MAX, |b| u32::from_le_bytes(b.try_into().unwrap()));
    let mut b = book.borrow_mut();
    if msg != response(i).as_slice() {
        b.corrupted += 1;
    } else if b.in_flight.remove(&i).is_none() || !b.answered.insert(i) {
        b.duplicates += 1;
    } else if b.answered.len() % 100 == 0 {
        println!("responses {}", b.answered.len());
    }
}

/// Takes responses until every request has one.
async fn receiver(driver: &Host<'_>, book: &RefCell<Book>, count: u32) {
    let mut buf = [0u8; M];
    while (book.borrow().answered.len() as u32) < count {
        let r = driver.recv(&mut buf).await.expect("response");
        take(book, &buf[..r.len]);
    }
}

/// Sessions up and down; after a `Down`, the requests of the ended session that have no
/// response go again. Which ones: those whose id comes before the end of the `Down`'s range
/// (a request the sender got into the new session before this task saw the `Down` has a
/// later id and stays). Responses the link delivered before the `Down` are still queued: they
/// are taken first, or their requests would be sent again and answered twice.
async fn events(driver: &Host<'_>, book: &RefCell<Book>, wake: &tokio::sync::Notify) {
    let mut buf = [0u8; M];
    loop {
        match driver.event().await {
            Event::Up => {
                book.borrow_mut().sessions += 1;
                println!("link up");
            }
            Event::Down {
                reason,
                unacked,
                first,
            } => {
                while let Ok(Some(r)) = driver.try_recv(&mut buf) {
                    take(book, &buf[..r.len]);
                }
                let end = first.plus(u32::from(unacked));
                let mut b = book.borrow_mut();
                b.discarded_by_downs += u32::from(unacked);
                let (again, kept): (BTreeMap<u32, MessageId>, _) = std::mem::take(&mut b.in_flight)
                    .into_iter()
                    .partition(|(_, id)| id.before(end));
                b.in_flight = kept;
                b.resent += again.len() as u32;
                println!(
                    "link down: {} ({unacked} unacknowledged discarded, {} requests to send again)",
                    reason.name(),
                    again.len()
                );
                b.to_send.extend(again.into_keys());
                wake.notify_one();
            }
        }
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1).cloned()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let listen = arg("--listen").unwrap_or_else(|| "127.0.0.1:5555".into());
    let count: u32 = arg("--count").map_or(300, |c| c.parse().expect("--count N"));
    let timeout: u64 = arg("--timeout").map_or(120, |c| c.parse().expect("--timeout S"));

    // The link, its compression (a shared deflate stream, as the firmware uses) and the
    // driver: memory the process keeps for its whole life, no allocation after this.
    let storage: &'static mut Storage = Box::leak(Box::new(Storage::new()));
    let cfg = Config {
        rto_initial: 200,
        keepalive: 500,
        ..Config::default()
    };
    let seed = std::process::id() as u64 ^ 0x5eed_0000_0000;
    let mut link = Link::new(cfg, seed, storage.buffers()).expect("link");
    let z = CodecConfig {
        reliable: Mode::Shared,
        ..CodecConfig::DEFAULT
    };
    let zmem = Box::leak(vec![0u8; Compressor::storage_size(&z)].into_boxed_slice());
    let codec: &'static mut Compressor = Box::leak(Box::new(Compressor::new(z, zmem).unwrap()));
    link.set_codec(codec as &mut dyn Codec);
    let driver = Driver::new(link, TokioClock(tokio::time::Instant::now()));

    let book = RefCell::new(Book {
        to_send: (0..count).collect(),
        ..Book::default()
    });
    let wake = tokio::sync::Notify::new();
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .expect("listen");
    println!("listening on {listen} for {count} requests");

    let app = async {
        tokio::select! {
            biased;
            () = receiver(&driver, &book, count) => {}
            () = sender(&driver, &book, &wake) => unreachable!(),
            () = events(&driver, &book, &wake) => unreachable!(),
        }
    };
    let mut app = std::pin::pin!(app);
    let mut buf = vec![0u8; run_buffer_len(M) + 1024];
    let mut connections = 0;
    let deadline = tokio::time::sleep(Duration::from_secs(timeout));
    let mut deadline = std::pin::pin!(deadline);
    'outer: loop {
        let sock = tokio::select! {
            r = listener.accept() => r.expect("accept").0,
            () = &mut deadline => break 'outer,
        };
        connections += 1;
        println!("firmware connected");
        let (rd, wr) = sock.into_split();
        tokio::select! {
            () = &mut app => break 'outer,
            e = driver.run(FromTokio::new(rd), FromTokio::new(wr), &mut buf) => {
                println!("connection lost ({e}); waiting for the firmware again");
            }
            () = &mut deadline => break 'outer,
        }
    }

    // What became of every request the link took: acknowledged, or discarded when a session
    // ended. Settled already for all but those sent in the last moments; wait briefly.
    let sent = book.borrow().sent.clone();
    let (mut acked, mut discarded, mut unknown) = (0u32, 0u32, 0u32);
    for id in sent {
        let verdict = tokio::time::timeout(Duration::from_millis(10), driver.acked(id)).await;
        match verdict {
            Ok(Ok(())) => acked += 1,
            Ok(Err(AckError::Discarded)) => discarded += 1,
            Ok(Err(AckError::Forgotten)) | Err(_) => unknown += 1,
        }
    }
    let s = driver.stats();
    let d = driver.driver_stats();
    let b = book.borrow();
    println!(
        "result: {}/{count} responses, {} requests sent ({} again after restarts), {} duplicates, \
         {} corrupted, {} sessions, {connections} connections; acked {acked}, discarded {discarded} \
         (Down events: {}), unsettled {unknown}; {} frames out, {} retransmissions, {} bytes in",
        b.answered.len(),
        b.sent.len(),
        b.resent,
        b.duplicates,
        b.corrupted,
        b.sessions,
        b.discarded_by_downs,
        d.frames_out,
        s.retransmissions,
        d.bytes_in,
    );
    let ok = b.answered.len() as u32 == count
        && b.duplicates == 0
        && b.corrupted == 0
        && discarded == b.discarded_by_downs;
    std::process::exit(if ok { 0 } else { 1 });
}
