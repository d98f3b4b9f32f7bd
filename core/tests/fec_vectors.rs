//! The FEC vectors of `docs/PROTOCOL.md` section 7.9 against the implementation: parity
//! recomputed with this file's own GF(2^8) arithmetic from the documented construction and
//! compared with the document and with [`FecTx`]; every pattern of up to `m` erasures
//! repaired byte-exactly by [`FecRx`] and by a real link, more than `m` reported; and the
//! same links as the document's producing every frame byte for byte.
//!
//! `cargo run -p ferrule --features aead --example fec_vectors` prints the vectors
//! (`scripts/regen-vectors.py` puts them in the document).

mod common;

use common::link::{buffers, drain, handshake, received};
use ferrule::fec::{max_parity_len, FecRx, FecTx};
use ferrule::link::{Config, Fec, FecConfig, Link, Repair, Transport};
use ferrule::{Frame, FrameKind};

const PROTOCOL: &str = include_str!("../PROTOCOL.md");
/// Largest message of the vector links.
const MAX_MESSAGE: usize = 64;

/// One ```` ```fec-vector ```` block.
struct Vector {
    block: &'static str,
    name: String,
    k: usize,
    m: usize,
    bodies: Vec<Vec<u8>>,
    parity_frames: Vec<Vec<u8>>,
    payloads: Vec<Vec<u8>>,
}

/// One field of a block (with its indented continuation lines); `-` reads as empty.
fn field(block: &str, k: &str) -> Option<String> {
    let mut lines = block
        .lines()
        .skip_while(|l| !l.starts_with(&format!("{k}:")));
    let first = lines.next()?;
    let mut v = first[k.len() + 1..].trim().to_string();
    for l in lines.take_while(|l| l.starts_with(' ')) {
        v.push(' ');
        v.push_str(l.trim());
    }
    if v == "-" {
        v.clear();
    }
    Some(v)
}

fn hex_field(block: &str, k: &str) -> Vec<u8> {
    common::unhex(&field(block, k).unwrap_or_else(|| panic!("missing {k}")))
}

/// Fields `{prefix}0`, `{prefix}1`, … as bytes, as many as there are.
fn numbered(block: &str, prefix: &str) -> Vec<Vec<u8>> {
    (0..)
        .map_while(|i| field(block, &format!("{prefix}{i}")))
        .map(|v| common::unhex(&v))
        .collect()
}

/// `k=4 m=2 groups=2 …` → (k, m, groups).
fn shape(block: &str) -> (usize, usize, usize) {
    let v = field(block, "fec").expect("fec");
    let get = |name: &str| -> usize {
        v.split_whitespace()
            .find_map(|t| t.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("fec {name}"))
            .parse()
            .unwrap()
    };
    (get("k"), get("m"), get("groups"))
}

fn vectors() -> Vec<Vector> {
    let out: Vec<Vector> = PROTOCOL
        .split("```fec-vector\n")
        .skip(1)
        .map(|b| {
            let block = &b[..b.find("```").unwrap()];
            let (k, m, _) = shape(block);
            Vector {
                block,
                name: field(block, "name").unwrap(),
                k,
                m,
                bodies: numbered(block, "body"),
                parity_frames: numbered(block, "parity"),
                payloads: numbered(block, "payload"),
            }
        })
        .collect();
    assert!(out.len() >= 2, "PROTOCOL.md has {} FEC vectors", out.len());
    out
}

// ------------------------------------------------------------- the documented arithmetic

/// GF(2^8) product modulo x^8 + x^4 + x^3 + x^2 + 1, bit by bit.
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        a = (a << 1) ^ if a & 0x80 != 0 { 0x1D } else { 0 };
        b >>= 1;
    }
    p
}

fn gf_inv(a: u8) -> u8 {
    (1..=255).find(|&x| gf_mul(a, x) == 1).unwrap()
}

/// `C(j, i) = 1 / (x_j + y_i)`, `x_j = j`, `y_i = m + i`.
fn coef(j: usize, m: usize, i: usize) -> u8 {
    gf_inv(j as u8 ^ (m + i) as u8)
}

/// `len (u16 LE) ‖ body ‖ zeros` to `2 + longest`.
fn symbol(bodies: &[Vec<u8>], i: usize) -> Vec<u8> {
    let l = bodies.iter().map(Vec::len).max().unwrap();
    let mut s = (bodies[i].len() as u16).to_le_bytes().to_vec();
    s.extend_from_slice(&bodies[i]);
    s.resize(2 + l, 0);
    s
}

/// `first | n | j | m | Σ_i C(j, i) · S_i`.
fn parity_payload(first: u8, m: usize, j: usize, bodies: &[Vec<u8>]) -> Vec<u8> {
    let mut p = vec![0u8; symbol(bodies, 0).len()];
    for i in 0..bodies.len() {
        let c = coef(j, m, i);
        for (pb, sb) in p.iter_mut().zip(symbol(bodies, i)) {
            *pb ^= gf_mul(c, sb);
        }
    }
    let mut out = vec![first, bodies.len() as u8, j as u8, m as u8];
    out.extend_from_slice(&p);
    out
}

#[test]
fn the_document_follows_the_documented_arithmetic() {
    for v in vectors() {
        assert_eq!(v.bodies.len(), v.k, "{}: a full group", v.name);
        assert_eq!(v.payloads.len(), v.m, "{}", v.name);
        // Each body is a protected DATA/RDATA frame numbered first, first + 1, ….
        let seqs: Vec<u8> = v
            .bodies
            .iter()
            .map(|b| {
                let h = Frame::from_body(b).expect("a valid frame").header;
                assert!(matches!(h.kind, FrameKind::Rdata | FrameKind::Data));
                h.fec_seq.expect("FEC extension")
            })
            .collect();
        let first = seqs[0];
        for (i, s) in seqs.iter().enumerate() {
            assert_eq!(*s, first.wrapping_add(i as u8), "{}: fec_seq", v.name);
        }
        for j in 0..v.m {
            let row: Vec<u8> = (0..v.k).map(|i| coef(j, v.m, i)).collect();
            assert_eq!(row, hex_field(v.block, &format!("coef{j}")), "{}", v.name);
            assert_eq!(
                v.payloads[j],
                parity_payload(first, v.m, j, &v.bodies),
                "{}: payload{j}",
                v.name
            );
        }
        let symbols = numbered(v.block, "symbol");
        for (i, s) in symbols.iter().enumerate() {
            assert_eq!(*s, symbol(&v.bodies, i), "{}: symbol{i}", v.name);
        }
        assert_eq!(symbols.len(), v.k);
        // The implementation's sender computes the same payloads.
        let max_body = v.bodies.iter().map(Vec::len).max().unwrap();
        let mut mem = vec![0u8; FecTx::storage_size(v.m, max_body)];
        let mut tx = FecTx::new(v.k, v.m, max_body, &mut mem).unwrap();
        let mut buf = vec![0u8; max_parity_len(max_body)];
        for _ in 0..first {
            tx.add(&[], 0).unwrap();
            tx.close_group();
            while tx.next_parity(&mut buf).is_some() {}
        }
        for b in &v.bodies {
            tx.add(b, 0).unwrap();
        }
        for (j, want) in v.payloads.iter().enumerate() {
            let n = tx.next_parity(&mut buf).expect("parity pending");
            assert_eq!(&buf[..n], &want[..], "{}: FecTx payload{j}", v.name);
        }
    }
}

#[test]
fn parity_frames_carry_the_payloads() {
    for v in vectors() {
        assert_eq!(v.parity_frames.len(), v.m, "{}", v.name);
        for (j, frame) in v.parity_frames.iter().enumerate() {
            let f = Frame::from_body(frame).expect("a valid frame");
            assert_eq!(f.header.kind, FrameKind::Parity);
            assert!(f.header.ack.is_some() && f.header.fec_seq.is_none());
            match f.header.aead {
                None => assert_eq!(f.payload, &v.payloads[j][..], "{}", v.name),
                Some(_a) => {
                    #[cfg(feature = "aead")]
                    {
                        let opened = open(v.block, frame);
                        assert_eq!(opened, v.payloads[j], "{}: parity{j} opened", v.name);
                    }
                }
            }
        }
        // Sealed data frames open to the stated messages.
        #[cfg(feature = "aead")]
        for (i, body) in v.bodies.iter().enumerate() {
            let message = field(v.block, &format!("message{i}")).unwrap();
            if Frame::from_body(body).unwrap().header.aead.is_some() {
                assert_eq!(open(v.block, body), message.as_bytes(), "{}", v.name);
            }
        }
    }
}

/// The payload of a sealed frame body, opened with the block's `key`.
#[cfg(feature = "aead")]
fn open(block: &str, body: &[u8]) -> Vec<u8> {
    use ferrule::aead::{nonce, open_body, Key, TAG_LEN};
    let f = Frame::from_body(body).unwrap();
    let a = f.header.aead.unwrap();
    let key: [u8; 32] = hex_field(block, "key").try_into().unwrap();
    let hlen = f.header.len();
    let mut sealed = body[..body.len() - 4].to_vec();
    open_body(
        &Key::new(a.key_id, &key),
        &nonce(a.counter),
        &mut sealed,
        hlen,
    )
    .unwrap();
    sealed[hlen..sealed.len() - TAG_LEN].to_vec()
}

// ------------------------------------------------------------------------- erasures

/// Every subset of `0..n` (bit `i` set: frame `i` erased), with its size.
fn patterns(n: usize) -> impl Iterator<Item = (u32, usize)> {
    (0u32..1 << n).map(|p| (p, p.count_ones() as usize))
}

/// Frame `i` of the group: data first, then parity. Its name in the vectors.
fn name(i: usize, k: usize) -> String {
    if i < k {
        format!("body{i}")
    } else {
        format!("parity{}", i - k)
    }
}

#[test]
fn every_pattern_of_up_to_m_erasures_is_repaired_and_more_are_reported() {
    for v in vectors() {
        let max_body = v.bodies.iter().map(Vec::len).max().unwrap();
        let first = Frame::from_body(&v.bodies[0])
            .unwrap()
            .header
            .fec_seq
            .unwrap();
        let n = v.k + v.m;
        for (p, erased) in patterns(n) {
            let mut mem = vec![0u8; FecRx::storage_size(v.k, v.m, max_body, 2)];
            let mut rx = FecRx::new(v.k, v.m, max_body, 2, &mut mem).unwrap();
            for i in (0..n).filter(|i| p & 1 << i == 0) {
                if i < v.k {
                    rx.on_protected(first.wrapping_add(i as u8), &v.bodies[i]);
                } else {
                    rx.on_parity(&v.payloads[i - v.k]).unwrap();
                }
            }
            let mut out = vec![0u8; max_body];
            let mut rebuilt = Vec::new();
            while let Some(len) = rx.next_recovered(&mut out) {
                rebuilt.push(out[..len].to_vec());
            }
            let lost: Vec<Vec<u8>> = (0..v.k)
                .filter(|i| p & 1 << i != 0)
                .map(|i| v.bodies[i].clone())
                .collect();
            if erased <= v.m {
                assert_eq!(rebuilt, lost, "{}: pattern {p:#b}", v.name);
            } else {
                assert!(rebuilt.is_empty(), "{}: pattern {p:#b}", v.name);
                // A group the receiver knows of (some parity arrived) that still lacks
                // bodies is counted when it leaves.
                let parity_held = (v.k..n).any(|i| p & 1 << i == 0);
                rx.reset();
                let want = u32::from(parity_held && !lost.is_empty());
                assert_eq!(rx.stats().unrecoverable, want, "{}: {p:#b}", v.name);
            }
        }
        // The named erasures and what the document says they rebuild.
        let named = field(v.block, "erased").unwrap();
        let mut rebuilt_named = 0;
        for e in named.split_whitespace() {
            let i = (0..n).find(|&i| name(i, v.k) == e).expect("a frame name");
            if i < v.k {
                assert_eq!(hex_field(v.block, &format!("rebuilt{i}")), v.bodies[i]);
                rebuilt_named += 1;
            }
        }
        assert_eq!(numbered_any(v.block, "rebuilt", v.k), rebuilt_named);
        assert!(named.split_whitespace().count() <= v.m);
    }
}

/// How many `{prefix}I` fields exist for `I` in `0..k` (not necessarily consecutive).
fn numbered_any(block: &str, prefix: &str, k: usize) -> usize {
    (0..k)
        .filter(|i| field(block, &format!("{prefix}{i}")).is_some())
        .count()
}

// --------------------------------------------------------------------------- links

/// A vector link: datagrams, 8 × 64-byte messages, FEC as the block says; sealed with the
/// block's PSK when it names one.
fn node(block: &str, seed: u64) -> Link<'static> {
    let cfg = Config {
        transport: Transport::Datagram,
        keepalive: 0,
        ..Config::default()
    };
    let mut l = Link::new(cfg, seed, buffers(8, MAX_MESSAGE)).unwrap();
    let (k, m, groups) = shape(block);
    let f = FecConfig {
        k: k as u8,
        m: m as u8,
        groups: groups as u8,
        send: true,
    };
    let mem = vec![0u8; Fec::storage_size(&f, MAX_MESSAGE)].leak();
    let fec = Box::leak(Box::new(Fec::new(f, MAX_MESSAGE, mem).unwrap()));
    l.enable_fec(fec as &mut dyn Repair);
    #[cfg(feature = "aead")]
    if let Some(psk) = field(block, "psk") {
        let psk: [u8; 32] = common::unhex(&psk).try_into().unwrap();
        let id: u8 = field(block, "key_id").unwrap().parse().unwrap();
        let guard = Box::leak(Box::new(ferrule::link::Guard::new(id, &psk)));
        l.enable_aead(guard as &mut dyn ferrule::link::Sealer);
    }
    l
}

fn seed(block: &str, k: &str) -> u64 {
    let v = field(block, k).unwrap();
    u64::from_str_radix(v.trim_start_matches("seed 0x"), 16).unwrap()
}

/// The block's two links after the handshake (time 0) and the initiator's messages (time
/// 1): both links and the frames the initiator sent.
fn links(v: &Vector) -> (Link<'static>, Link<'static>, Vec<Vec<u8>>, Vec<String>) {
    let mut a = node(v.block, seed(v.block, "initiator"));
    let mut b = node(v.block, seed(v.block, "responder"));
    handshake(&mut a, &mut b);
    let messages: Vec<String> = (0..)
        .map_while(|i| field(v.block, &format!("message{i}")))
        .collect();
    for m in &messages {
        a.send(0, m.as_bytes(), 1).unwrap();
    }
    let frames = drain(&mut a, 1);
    (a, b, frames, messages)
}

/// Whether this build can run the block's links (a sealed block needs feature `aead`).
fn runnable(v: &Vector) -> bool {
    cfg!(feature = "aead") || field(v.block, "psk").is_none()
}

#[test]
fn the_documented_links_send_these_frames() {
    for v in vectors().iter().filter(|v| runnable(v)) {
        let (_, _, frames, _) = links(v);
        let want: Vec<Vec<u8>> = v.bodies.iter().chain(&v.parity_frames).cloned().collect();
        assert_eq!(frames, want, "{}", v.name);
    }
}

#[test]
fn a_link_rebuilds_up_to_m_lost_frames_and_delivers_them_checked() {
    for v in vectors().iter().filter(|v| runnable(v)) {
        let n = v.k + v.m;
        for (p, erased) in patterns(n).filter(|&(_, e)| e <= v.m + 1) {
            let (_, mut b, frames, messages) = links(v);
            for (i, f) in frames.iter().enumerate() {
                if p & 1 << i == 0 {
                    b.handle_datagram(f, 1);
                }
            }
            let got = received(&mut b);
            let lost_data = (0..v.k).filter(|i| p & 1 << i != 0).count() as u32;
            let s = b.stats();
            if erased <= v.m {
                let want: Vec<Vec<u8>> = messages.iter().map(|m| m.as_bytes().to_vec()).collect();
                assert_eq!(got, want, "{}: pattern {p:#b}", v.name);
                assert_eq!(s.fec_recovered, lost_data, "{}: {p:#b}", v.name);
            } else {
                // In order: what precedes the first lost message; ARQ repairs the rest.
                let first_lost = (0..v.k).find(|i| p & 1 << i != 0).unwrap_or(v.k);
                assert_eq!(got.len(), first_lost, "{}: pattern {p:#b}", v.name);
                assert_eq!(s.fec_recovered, 0, "{}: {p:#b}", v.name);
            }
            assert_eq!(s.parity_rejected, 0);
        }
    }
}
