//! The Rust side of `python/bench/link_bench.py`, the same loop without Python:
//! `cargo run --release -p ferrule --features std --example sansio_bench [messages] [size] [window]`.
//!
//! Two links in one process over an in-memory datagram loop, the Python `ferrule.Link`
//! defaults (window 32, messages up to 4096 bytes, no compression, 5 ms ack delay, 1 s
//! keepalive): A sends `size`-byte messages as fast as its window allows, every frame goes to
//! the other side at once, B delivers; the clock moves 1 ms per round. What it prints is the
//! link's own cost per message (send, frame, feed, deliver, acknowledge), the baseline for the
//! binding's figure in README.md.

#[path = "../tests/common/link.rs"]
mod helpers;

use ferrule::link::{Config, Link, SendError, Transport};
use std::time::Instant;

/// Frames `from` sends at `now`, fed to `to`; returns how many.
fn carry(from: &mut Link<'_>, to: &mut Link<'_>, now: u64, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while let Ok(Some(len)) = from.poll_transmit(now, buf) {
        to.handle_datagram(&buf[..len], now);
        n += 1;
    }
    n
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().ok());
    let messages = args.next().flatten().unwrap_or(200_000);
    let size = args.next().flatten().unwrap_or(64);
    let window = args.next().flatten().unwrap_or(32);
    let cfg = Config {
        transport: Transport::Datagram,
        ..Config::default()
    };
    let (mut a, mut b) = (
        helpers::link(cfg, 1, window, 4096),
        helpers::link(cfg, 2, window, 4096),
    );
    let mut buf = vec![0u8; a.max_frame_len()];
    let mut out = vec![0u8; 4096];
    let mut now = 0;
    while !(a.is_up() && b.is_up()) {
        carry(&mut a, &mut b, now, &mut buf);
        carry(&mut b, &mut a, now, &mut buf);
        now += 1;
    }
    let msg = vec![b'x'; size];
    let (mut sent, mut got) = (0, 0);
    let t = Instant::now();
    while got < messages {
        while sent < messages {
            match a.send(0, &msg, now) {
                Ok(_) => sent += 1,
                Err(SendError::Full) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        carry(&mut a, &mut b, now, &mut buf);
        while let Ok(Some(_)) = b.recv(&mut out) {
            got += 1;
        }
        carry(&mut b, &mut a, now, &mut buf);
        now += 1;
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "sans-IO, one process, {size} B messages, window {window}: {:.0} msg/s ({:.2} us per \
         message: send, frame, feed, deliver, acknowledge)",
        messages as f64 / dt,
        dt * 1e6 / messages as f64
    );
}
