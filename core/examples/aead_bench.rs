//! Host cost of AEAD: `cargo run --release -p ferrule --features aead --example aead_bench`.
//!
//! Prints (1) seal + open throughput of the ChaCha20-Poly1305 body functions, and (2) a link
//! moving 128-byte messages one way over an in-memory datagram loop, without and with AEAD:
//! messages per second, payload MB/s and wire bytes per message.

#[path = "../tests/common/link.rs"]
mod helpers;

use ferrule::aead::{derive_session, hello_mac, nonce, open_body, seal_body, Key, TAG_LEN};
use ferrule::link::{Config, Transport};
use std::hint::black_box;
use std::time::Instant;

const M: usize = 256;

fn seal_open(len: usize) -> (f64, f64) {
    let key = Key::new(1, &[9; 32]);
    let mut body = vec![0x5Au8; 12 + len + TAG_LEN];
    let rounds = (20_000_000 / (len + 64)).max(1000);
    let t = Instant::now();
    for i in 0..rounds {
        let n = nonce(i as u32);
        seal_body(&key, &n, &mut body, 12).unwrap();
        open_body(&key, &n, black_box(&mut body), 12).unwrap();
    }
    let ns = t.elapsed().as_nanos() as f64 / rounds as f64;
    (ns, len as f64 / ns * 1e3 / 2.0) // MB/s of payload per direction (seal or open)
}

/// Returns (messages/s, payload MB/s, wire bytes per message).
fn link_run(sealed: bool, messages: u32, len: usize) -> (f64, f64, f64) {
    let cfg = Config {
        transport: Transport::Datagram,
        keepalive: 0,
        ..Config::default()
    };
    let (mut a, mut b) = if sealed {
        (
            helpers::sealed(cfg, 1, 1, &[7; 32], 8, M),
            helpers::sealed(cfg, 2, 1, &[7; 32], 8, M),
        )
    } else {
        (helpers::link(cfg, 1, 8, M), helpers::link(cfg, 2, 8, M))
    };
    let mut buf = vec![0u8; a.max_frame_len()];
    let mut rx = [0u8; M];
    let msg: Vec<u8> = (0..len).map(|i| b"telemetry "[i % 10]).collect();
    let (mut sent, mut got, mut now) = (0u32, 0u32, 0u64);
    let t = Instant::now();
    while got < messages {
        while sent < messages && a.is_up() && a.send(0, &msg, now).is_ok() {
            sent += 1;
        }
        while let Ok(Some(n)) = a.poll_transmit(now, &mut buf) {
            b.handle_datagram(&buf[..n], now);
        }
        while let Ok(Some(n)) = b.poll_transmit(now, &mut buf) {
            a.handle_datagram(&buf[..n], now);
        }
        while let Ok(Some(_)) = b.recv(&mut rx) {
            got += 1;
        }
        now += 1;
    }
    let s = t.elapsed().as_secs_f64();
    let wire = a.stats().bytes_sent as f64 / f64::from(messages);
    (
        f64::from(messages) / s,
        f64::from(messages) * len as f64 / s / 1e6,
        wire,
    )
}

/// The cryptography of one handshake on one side: two hello MACs (its own, the peer's) and
/// the session derivation. Returns ns per handshake.
fn handshake_crypto() -> f64 {
    let psk = [3u8; 32];
    let covered = [0x5Au8; 3 + 5 + 40];
    let rounds = 20_000;
    let t = Instant::now();
    for i in 0..rounds {
        let mut lo = [1u8; 16];
        lo[..4].copy_from_slice(&(i as u32).to_le_bytes());
        black_box(hello_mac(&psk, black_box(&covered)));
        black_box(hello_mac(&psk, black_box(&covered)));
        black_box(derive_session(&psk, &lo, &[2; 16]));
    }
    t.elapsed().as_nanos() as f64 / f64::from(rounds)
}

fn main() {
    println!(
        "handshake cryptography (2 HMAC-SHA256 + HKDF-SHA256), per side: {:.1} us\n",
        handshake_crypto() / 1e3
    );
    println!("seal + open (ChaCha20-Poly1305, 12-byte header as associated data):\n");
    println!("| payload | seal + open (ns) | MB/s per operation |");
    println!("|---:|---:|---:|");
    for len in [16, 64, 256, 1024] {
        let (ns, mbs) = seal_open(len);
        println!("| {len} B | {ns:.0} | {mbs:.0} |");
    }
    println!("\nlink, 128-byte messages one way, in-memory datagrams (200,000 messages):\n");
    println!("| link | messages/s | payload MB/s | wire bytes / message |");
    println!("|---|---:|---:|---:|");
    for sealed in [false, true] {
        let (mps, mbs, wire) = link_run(sealed, 200_000, 128);
        let name = if sealed { "with AEAD" } else { "without AEAD" };
        println!("| {name} | {mps:.0} | {mbs:.1} | {wire:.1} |");
    }
}
