//! Prints the FEC test vectors of `docs/PROTOCOL.md` (section 7.9) from real links: one
//! group of four `RDATA` frames (k = 4, m = 2), its two `PARITY` frames, the arithmetic in
//! between, and a repair from named erasures; once without AEAD and once sealed.
//!
//! ```text
//! cargo run -p ferrule --features aead --example fec_vectors
//! cargo run -p ferrule --example fec_vectors -- --lose 0,2 010203 04 "" 05060708
//! cargo run -p ferrule --release --example fec_vectors -- --speed
//! ```
//!
//! `tests/fec_vectors.rs` checks the document against the code: it recomputes every parity
//! byte with its own GF(2^8) arithmetic, repairs every erasure pattern, and runs the same
//! links again and compares every frame. Without feature `aead` the sealed vector is left
//! out.
//!
//! With bodies (hex, one argument each; `""` is an empty body) it prints the same
//! arithmetic for those bodies as a group with `fec_seq` 0, 1, 2, …, losing the ones
//! `--lose` names (default 1,3). `--speed` instead times the codec on this machine (host
//! numbers; a rough guide only).

#[path = "../tests/common/mod.rs"]
mod common;

use common::link::{buffers, drain};
use ferrule::fec::{cauchy, max_parity_len, FecRx, FecTx};
use ferrule::link::{Config, Fec, FecConfig, Link, Repair, Transport};
use ferrule::{Frame, FrameKind};
use std::hint::black_box;
use std::time::Instant;

const K: u8 = 4;
const M: u8 = 2;
/// Largest message of the vector links.
const MAX_MESSAGE: usize = 64;
const INITIATOR: u64 = 0x0123_4567_89ab_cdef;
const RESPONDER: u64 = 0xfedc_ba98_7654_3210;
/// What the initiator sends once the session is up, all at time 1.
const MESSAGES: [&str; 4] = [
    r#"{"t":21.5}"#,
    r#"{"rh":40}"#,
    "ok",
    r#"{"t":21.6,"v":3.29}"#,
];

/// The pre-shared key of the sealed vector: bytes 0 to 31 (as in section 6.7).
#[cfg(feature = "aead")]
const PSK: [u8; 32] = {
    let mut k = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        k[i] = i as u8;
        i += 1;
    }
    k
};

fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        return "-".into();
    }
    b.chunks(16)
        .map(|c| {
            c.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n             ")
}

fn parse_hex(s: &str) -> Vec<u8> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits in {s:?}");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex body"))
        .collect()
}

/// One endpoint of the vector links: datagrams, 8 × 64-byte messages, FEC 4:2 with 2 groups.
fn node(seed: u64, sealed: bool) -> Link<'static> {
    let cfg = Config {
        transport: Transport::Datagram,
        keepalive: 0,
        ..Config::default()
    };
    let mut l = Link::new(cfg, seed, buffers(8, MAX_MESSAGE)).expect("link");
    let f = FecConfig {
        k: K,
        m: M,
        groups: 2,
        send: true,
    };
    let mem = vec![0u8; Fec::storage_size(&f, MAX_MESSAGE)].leak();
    let fec = Box::leak(Box::new(Fec::new(f, MAX_MESSAGE, mem).expect("fec")));
    l.enable_fec(fec as &mut dyn Repair);
    if sealed {
        #[cfg(feature = "aead")]
        {
            let guard = Box::leak(Box::new(ferrule::link::Guard::new(1, &PSK)));
            l.enable_aead(guard as &mut dyn ferrule::link::Sealer);
        }
    }
    l
}

/// The handshake at time 0, then the four messages from the initiator at time 1: the frames
/// it sends then (four `RDATA`, two `PARITY`).
fn group_from_links(sealed: bool) -> Vec<Vec<u8>> {
    let mut a = node(INITIATOR, sealed);
    let mut b = node(RESPONDER, sealed);
    common::link::handshake(&mut a, &mut b);
    for m in MESSAGES {
        a.send(0, m.as_bytes(), 1).expect("send");
    }
    drain(&mut a, 1)
}

/// The initiator's sending key of the sealed session and the `counter` of each frame.
#[cfg(feature = "aead")]
fn sending_key() -> [u8; 32] {
    let nonce_of = |seed: u64| {
        let mut n = [0u8; 16];
        n[..8].copy_from_slice(&seed.to_le_bytes());
        n[12] = 1;
        n
    };
    let (ni, nr) = (nonce_of(INITIATOR), nonce_of(RESPONDER));
    let (lo, hi) = if ni < nr { (ni, nr) } else { (nr, ni) };
    let s = ferrule::aead::derive_session(&PSK, &lo, &hi);
    if ni == lo {
        s.key_lo
    } else {
        s.key_hi
    }
}

/// A group's arithmetic: symbols, coefficients, parity payloads (from [`FecTx`]) and the
/// bodies rebuilt (by [`FecRx`]) when `erased` (names `bodyI` / `parityJ`) are lost.
struct Group {
    bodies: Vec<Vec<u8>>,
    payloads: Vec<Vec<u8>>,
    rebuilt: Vec<(usize, Vec<u8>)>,
}

fn compute(bodies: &[Vec<u8>], m: u8, erased: &[String]) -> Group {
    let k = bodies.len();
    let max_body = bodies.iter().map(Vec::len).max().unwrap_or(0);
    let mut tx_mem = vec![0u8; FecTx::storage_size(m.into(), max_body)];
    let mut rx_mem = vec![0u8; FecRx::storage_size(k, m.into(), max_body, 2)];
    let mut tx = FecTx::new(k, m.into(), max_body, &mut tx_mem).expect("sender");
    let mut rx = FecRx::new(k, m.into(), max_body, 2, &mut rx_mem).expect("receiver");
    for (i, body) in bodies.iter().enumerate() {
        let fec_seq = tx.add(body, 0).expect("body fits");
        if !erased.contains(&format!("body{i}")) {
            rx.on_protected(fec_seq, body);
        }
    }
    let mut payloads = Vec::new();
    let mut buf = vec![0u8; max_parity_len(max_body)];
    while let Some(n) = tx.next_parity(&mut buf) {
        payloads.push(buf[..n].to_vec());
    }
    for (j, p) in payloads.iter().enumerate() {
        if !erased.contains(&format!("parity{j}")) {
            rx.on_parity(p).expect("parity accepted");
        }
    }
    let missing: Vec<usize> = (0..k)
        .filter(|i| erased.contains(&format!("body{i}")))
        .collect();
    let mut rebuilt = Vec::new();
    let mut out = vec![0u8; max_body];
    for &i in &missing {
        let n = rx.next_recovered(&mut out).expect("repairable");
        assert_eq!(out[..n], bodies[i][..], "body {i} rebuilt byte-exactly");
        rebuilt.push((i, out[..n].to_vec()));
    }
    assert_eq!(rx.next_recovered(&mut out), None);
    Group {
        bodies: bodies.to_vec(),
        payloads,
        rebuilt,
    }
}

/// Symbol `i`: `len (u16 LE) ‖ body ‖ zeros`, as long as the longest body plus 2.
fn symbol(bodies: &[Vec<u8>], i: usize) -> Vec<u8> {
    let l = bodies.iter().map(Vec::len).max().unwrap_or(0);
    let mut s = (bodies[i].len() as u16).to_le_bytes().to_vec();
    s.extend_from_slice(&bodies[i]);
    s.resize(2 + l, 0);
    s
}

fn line(key: &str, value: &str) {
    println!("{:<13}{value}", format!("{key}:"));
}

/// Prints the arithmetic of `g` (coefficients, symbols, payloads, the repair).
fn print_group(g: &Group, m: u8, erased: &[String]) {
    let k = g.bodies.len();
    for j in 0..m {
        let row: Vec<String> = (0..k)
            .map(|i| format!("{:02x}", cauchy(j, m, i as u8)))
            .collect();
        line(&format!("coef{j}"), &row.join(" "));
    }
    for i in 0..k {
        line(&format!("symbol{i}"), &hex(&symbol(&g.bodies, i)));
    }
    for (j, p) in g.payloads.iter().enumerate() {
        line(&format!("payload{j}"), &hex(p));
    }
    line("erased", &erased.join(" "));
    for (i, b) in &g.rebuilt {
        line(&format!("rebuilt{i}"), &hex(b));
    }
}

/// One vector from real links: `sealed` or not, `erased` the names of the lost frames.
fn link_vector(name: &str, sealed: bool, erased: &[&str]) {
    let frames = group_from_links(sealed);
    let kinds: Vec<FrameKind> = frames
        .iter()
        .map(|f| Frame::from_body(f).expect("frame").header.kind)
        .collect();
    let data = usize::from(K);
    assert_eq!(
        kinds,
        [[FrameKind::Rdata; 4].as_slice(), &[FrameKind::Parity; 2]].concat(),
        "the initiator sends the group, then its parity"
    );
    let (bodies, parity) = frames.split_at(data);
    let erased: Vec<String> = erased.iter().map(|s| s.to_string()).collect();
    let g = compute(bodies, M, &erased);
    println!();
    println!("```fec-vector");
    line("name", name);
    line("initiator", &format!("seed {INITIATOR:#018x}"));
    line("responder", &format!("seed {RESPONDER:#018x}"));
    line("fec", &format!("k={K} m={M} groups=2 (both sides)"));
    #[cfg(feature = "aead")]
    if sealed {
        line("psk", &hex(&PSK));
        line("key_id", "1");
        line("key", &hex(&sending_key()));
    }
    for (i, m) in MESSAGES.iter().enumerate() {
        line(&format!("message{i}"), m);
    }
    for (i, b) in bodies.iter().enumerate() {
        line(&format!("body{i}"), &hex(b));
    }
    for (j, p) in parity.iter().enumerate() {
        line(&format!("parity{j}"), &hex(p));
    }
    print_group(&g, M, &erased);
    println!("```");
    // Unsealed, the PARITY frames carry the payloads as they are.
    if !sealed {
        for (p, want) in parity.iter().zip(&g.payloads) {
            assert_eq!(Frame::from_body(p).expect("parity").payload, &want[..]);
        }
    }
}

/// Times one configuration: parity for `groups` groups of `k` bodies, then receiving them
/// with the first `lose` bodies of each group missing and repaired.
fn speed(k: usize, m: usize, body: usize, lose: usize) {
    let mut tmem = vec![0u8; FecTx::storage_size(m, body)];
    let mut rmem = vec![0u8; FecRx::storage_size(k, m, body, 2)];
    let mut tx = FecTx::new(k, m, body, &mut tmem).expect("sender");
    let mut rx = FecRx::new(k, m, body, 2, &mut rmem).expect("receiver");
    let bodies: Vec<Vec<u8>> = (0..k)
        .map(|i| (0..body).map(|j| (i * 31 + j * 7 + 1) as u8).collect())
        .collect();
    let groups = (100_000_000 / (k * body * m)).max(1);
    let mut parity = vec![vec![0u8; max_parity_len(body)]; m];
    let mut plen = vec![0usize; m];
    let t = Instant::now();
    for _ in 0..groups {
        for b in &bodies {
            tx.add(black_box(b), 0).expect("fits");
        }
        for (p, l) in parity.iter_mut().zip(&mut plen) {
            *l = tx.next_parity(p).expect("parity");
        }
    }
    let encode = t.elapsed().as_secs_f64();
    // Every group has the same bodies at the same positions, so the same parity symbols:
    // only `first` changes.
    let mut out = vec![0u8; body];
    let (mut first, mut rebuilt) = (0u8, 0usize);
    let t = Instant::now();
    for _ in 0..groups {
        for (i, b) in bodies.iter().enumerate().skip(lose) {
            rx.on_protected(first.wrapping_add(i as u8), black_box(b));
        }
        for (p, &l) in parity.iter_mut().zip(&plen) {
            p[0] = first;
            rx.on_parity(black_box(&p[..l])).expect("parity accepted");
        }
        while let Some(n) = rx.next_recovered(&mut out) {
            rebuilt += n;
        }
        first = first.wrapping_add(k as u8);
    }
    let receive = t.elapsed().as_secs_f64();
    assert_eq!(rebuilt, groups * lose * body, "every loss repaired");
    let mb = (groups * k * body) as f64 / 1e6;
    println!(
        "k={k:2} m={m:2} body={body:3} B, {lose} lost/group: parity {:6.1} MB/s of data, \
         receive+repair {:6.1} MB/s of data ({:.2} us/group)",
        mb / encode,
        mb / receive,
        receive / groups as f64 * 1e6
    );
}

fn main() {
    if std::env::args().any(|a| a == "--speed") {
        for (k, m, body, lose) in [
            (8, 2, 151, 0),
            (8, 2, 151, 2),
            (8, 2, 279, 2),
            (16, 4, 279, 4),
        ] {
            speed(k, m, body, lose);
        }
        return;
    }
    let mut lose = vec![1usize, 3];
    let mut given = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--lose" {
            let list = args.next().expect("--lose a,b");
            lose = list
                .split(',')
                .map(|x| x.trim().parse().expect("index"))
                .collect();
        } else {
            given.push(parse_hex(&a));
        }
    }
    if !given.is_empty() {
        assert!(
            !given.is_empty() && given.len() <= ferrule::fec::MAX_K,
            "1 to 32 bodies"
        );
        assert!(
            lose.len() <= usize::from(M) && lose.iter().all(|&i| i < given.len()),
            "at most {M} erasures among the bodies"
        );
        let erased: Vec<String> = lose.iter().map(|i| format!("body{i}")).collect();
        let g = compute(&given, M, &erased);
        println!("```text");
        for (i, b) in given.iter().enumerate() {
            line(&format!("body{i}"), &hex(b));
        }
        print_group(&g, M, &erased);
        println!("```");
        return;
    }
    link_vector(
        "datagram links without AEAD, k=4 m=2",
        false,
        &["body1", "body3"],
    );
    #[cfg(feature = "aead")]
    link_vector(
        "datagram links sealed with the PSK of 6.7, k=4 m=2",
        true,
        &["body0", "parity0"],
    );
    #[cfg(not(feature = "aead"))]
    eprintln!("(without feature aead: the sealed vector is left out)");
}
