//! Prints the AEAD test vectors of `docs/PROTOCOL.md` (section 6.7) from real links.
//!
//! `cargo run -p ferrule --features aead --example aead_vectors` — `tests/link_aead.rs`
//! checks the document against the code: it runs the same two links and compares every byte.
//!
//! The handshake: initiator seed `0x0123456789abcdef`, responder seed `0xfedcba9876543210`,
//! pre-shared key `00 01 … 1f` with id 1, datagram links of 4 × 64-byte messages, no codec.
//! Then the initiator's key confirmation (an `ACK`) and its first message, sealed.

#[path = "../tests/common/mod.rs"]
mod common;

use common::link::{buffers, drain};
use ferrule::aead::{derive_session, nonce};
use ferrule::link::{Config, Guard, Link, Sealer, Transport};
use ferrule::Header;

/// The pre-shared key of the vectors: bytes 0 to 31.
pub const PSK: [u8; 32] = {
    let mut k = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        k[i] = i as u8;
        i += 1;
    }
    k
};
const INITIATOR: u64 = 0x0123_4567_89ab_cdef;
const RESPONDER: u64 = 0xfedc_ba98_7654_3210;

fn hex(b: &[u8]) -> String {
    b.chunks(16)
        .map(|c| {
            c.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n            ")
}

fn node(seed: u64) -> Link<'static> {
    let cfg = Config {
        transport: Transport::Datagram,
        keepalive: 0,
        ..Config::default()
    };
    let mut l = Link::new(cfg, seed, buffers(4, 64)).unwrap();
    let guard = Box::leak(Box::new(Guard::new(1, &PSK)));
    l.enable_aead(guard as &mut dyn Sealer);
    l
}

/// A link's handshake nonce for attempt 0: its seed (LE), the attempt (0), then 1 (LE).
fn nonce_of(seed: u64) -> [u8; 16] {
    let mut n = [0u8; 16];
    n[..8].copy_from_slice(&seed.to_le_bytes());
    n[12] = 1;
    n
}

fn main() {
    let mut a = node(INITIATOR);
    let mut b = node(RESPONDER);
    let hello = drain(&mut a, 0).remove(0);
    b.handle_datagram(&hello, 0);
    let hello_ack = drain(&mut b, 0).remove(0);
    let (ni, nr) = (nonce_of(INITIATOR), nonce_of(RESPONDER));
    let (lo, hi) = if ni < nr { (ni, nr) } else { (nr, ni) };
    let s = derive_session(&PSK, &lo, &hi);
    println!("```aead-handshake");
    println!("psk:         {}", hex(&PSK));
    println!("key_id:      1");
    println!("initiator:   seed {INITIATOR:#018x}");
    println!("responder:   seed {RESPONDER:#018x}");
    println!("nonce_lo:    {}", hex(&lo));
    println!("nonce_hi:    {}", hex(&hi));
    println!("hello:       {}", hex(&hello));
    println!("hello_ack:   {}", hex(&hello_ack));
    println!("key_lo:      {}", hex(&s.key_lo));
    println!("key_hi:      {}", hex(&s.key_hi));
    println!("tag:         {}", s.tag);
    println!("isn_lo:      {}", s.isn_lo);
    println!("isn_hi:      {}", s.isn_hi);
    println!("```");
    a.handle_datagram(&hello_ack, 0);
    let confirm = drain(&mut a, 0).remove(0);
    a.send(0, br#"{"temp":21.5}"#, 1).unwrap();
    let rdata = drain(&mut a, 1).remove(0);
    // The initiator is `lo` exactly when its nonce sorts first.
    let key = if ni == lo { s.key_lo } else { s.key_hi };
    for (name, frame, plain) in [
        (
            "key confirmation (ACK), initiator to responder",
            confirm,
            &b""[..],
        ),
        (
            "first message (RDATA), initiator to responder",
            rdata,
            &br#"{"temp":21.5}"#[..],
        ),
    ] {
        let (h, hlen) = Header::parse(&frame).unwrap();
        let counter = h.aead.unwrap().counter;
        println!();
        println!("```aead-vector");
        println!("name:        {name}");
        println!("key:         {}", hex(&key));
        println!("counter:     {counter}");
        println!("nonce:       {}", hex(&nonce(counter)));
        println!("aad_len:     {hlen}");
        println!(
            "plaintext:   {}",
            if plain.is_empty() {
                "-".into()
            } else {
                hex(plain)
            }
        );
        println!("body:        {}", hex(&frame));
        println!("```");
    }
}
