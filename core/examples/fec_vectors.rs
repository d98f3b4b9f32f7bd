//! Prints an FEC test vector for `docs/PROTOCOL.md`: one group of four bodies (k = 4,
//! m = 2), its Cauchy coefficients, both PARITY payloads, and the repair of two erasures.
//!
//! ```text
//! cargo run -p ferrule --example fec_vectors
//! cargo run -p ferrule --example fec_vectors -- --lose 0,2 <hex body 0> … <hex body 3>
//! cargo run -p ferrule --release --example fec_vectors -- --speed
//! ```
//!
//! `--speed` instead times the codec on this machine (host numbers; a rough guide only).
//!
//! Without bodies it uses four hand-built bodies laid out like v2 RDATA frames (version 2 |
//! RDATA, flags SEQ|ACK|EXT, channel, session, seq, ack, window, xflags FEC, `fec_seq`,
//! payload, CRC-32C); give real ones (hex, spaces allowed inside one argument) to replace
//! them. The bodies must be the group's frames with `fec_seq` 0, 1, 2, 3.

use ferrule::crc::crc32c;
use ferrule::fec::{cauchy, max_parity_len, FecRx, FecTx};
use std::fmt::Write;
use std::hint::black_box;
use std::time::Instant;

const K: usize = 4;
const M: usize = 2;

/// A body shaped like a v2 RDATA frame with the FEC extension (built by hand here).
fn sample_body(fec_seq: u8, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0x21, 0x98, 0x01, 0x5A];
    b.extend_from_slice(&seq.to_le_bytes());
    b.extend_from_slice(&0x0203u16.to_le_bytes()); // ack
    b.push(8); // window
    b.push(0x04); // xflags: FEC
    b.push(fec_seq);
    b.extend_from_slice(payload);
    let crc = crc32c(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

fn hex(bytes: &[u8]) -> String {
    let h: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    h.chunks(32)
        .map(|c| c.join(" "))
        .collect::<Vec<_>>()
        .join("\n          ")
}

fn parse_hex(s: &str) -> Vec<u8> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits in {s:?}");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex body"))
        .collect()
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
    let bodies = if given.is_empty() {
        vec![
            sample_body(0, 0x0100, b"{\"t\":21.5}"),
            sample_body(1, 0x0101, b"{\"rh\":40}"),
            sample_body(2, 0x0102, b"ok"),
            sample_body(3, 0x0103, b"{\"t\":21.6,\"v\":3.29}"),
        ]
    } else {
        given
    };
    assert_eq!(bodies.len(), K, "give exactly {K} bodies");
    assert!(
        lose.len() <= M && lose.iter().all(|&i| i < K),
        "at most {M} of 0..{K}"
    );

    let max_body = bodies.iter().map(Vec::len).max().unwrap_or(0);
    let mut tx_mem = vec![0u8; FecTx::storage_size(M, max_body)];
    let mut rx_mem = vec![0u8; FecRx::storage_size(K, M, max_body, 2)];
    let mut tx = FecTx::new(K, M, max_body, &mut tx_mem).expect("sender");
    let mut rx = FecRx::new(K, M, max_body, 2, &mut rx_mem).expect("receiver");

    let mut parity = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let fec_seq = tx.add(body, 0).expect("body fits");
        if !lose.contains(&i) {
            rx.on_protected(fec_seq, body);
        }
    }
    let mut buf = vec![0u8; max_parity_len(max_body)];
    while let Some(n) = tx.next_parity(&mut buf) {
        parity.push(buf[..n].to_vec());
    }
    for p in &parity {
        rx.on_parity(p).expect("parity accepted");
    }
    let mut rebuilt = Vec::new();
    let mut out = vec![0u8; max_body];
    while let Some(n) = rx.next_recovered(&mut out) {
        rebuilt.push(out[..n].to_vec());
    }
    let mut lost_sorted = lose.clone();
    lost_sorted.sort();
    for (got, &i) in rebuilt.iter().zip(&lost_sorted) {
        assert_eq!(got, &bodies[i], "body {i} rebuilt byte-exactly");
    }
    assert_eq!(rebuilt.len(), lost_sorted.len());

    let mut v = String::new();
    let _ = writeln!(v, "```fec-vector");
    let _ = writeln!(v, "name:     k={K} m={M}, erasures {lost_sorted:?}");
    let _ = writeln!(v, "k:        {K}");
    let _ = writeln!(v, "m:        {M}");
    let _ = writeln!(v, "first:    0");
    for j in 0..M {
        let row: Vec<String> = (0..K)
            .map(|i| format!("{:02x}", cauchy(j as u8, M as u8, i as u8)))
            .collect();
        let _ = writeln!(v, "coef{j}:    {}", row.join(" "));
    }
    for (i, b) in bodies.iter().enumerate() {
        let _ = writeln!(v, "body{i}:    {}", hex(b));
    }
    for (j, p) in parity.iter().enumerate() {
        let _ = writeln!(v, "parity{j}:  {}", hex(p));
    }
    let erased: Vec<String> = lost_sorted.iter().map(|i| format!("body{i}")).collect();
    let _ = writeln!(v, "erased:   {}", erased.join(" "));
    for (got, i) in rebuilt.iter().zip(&lost_sorted) {
        let _ = writeln!(v, "rebuilt{i}: {}", hex(got));
    }
    let _ = writeln!(v, "```");
    for line in v.lines() {
        println!("{}", line.trim_end());
    }
}
