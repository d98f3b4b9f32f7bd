//! AEAD on the link (feature `aead`): tampering, replays, wrong keys, nonce uniqueness across
//! reboots, rekeying without dropping the session, and the PROTOCOL.md section 6 vectors.
#![cfg(feature = "aead")]

use ferrule::aead::{nonce, open_body, Key, TAG_LEN};
use ferrule::link::{frame_buffer_len, Config, Link, LinkStats, Transport};
use ferrule::{crc::crc32c, Frame, FrameKind, Header};
use std::collections::HashSet;

const M: usize = 64;
type L = Link<4, M, { frame_buffer_len(M) + TAG_LEN }>;
const K1: [u8; 32] = [0x11; 32];
const K2: [u8; 32] = [0x22; 32];

fn cfg() -> Config {
    Config {
        transport: Transport::Datagram,
        keepalive: 0,
        ..Config::default()
    }
}

fn sealed(seed: u32, id: u8, key: &[u8; 32]) -> L {
    let mut l = L::new(cfg(), seed);
    l.set_key(id, key, 0).unwrap();
    l
}

/// Moves every frame each way once; returns the frames `from` sent.
fn pump(from: &mut L, to: &mut L, now: u64) -> Vec<Vec<u8>> {
    let mut buf = [0u8; L::MAX_FRAME];
    let mut sent = Vec::new();
    while let Ok(Some(n)) = from.poll_transmit(now, &mut buf) {
        sent.push(buf[..n].to_vec());
        to.handle_datagram(&buf[..n], now);
    }
    sent
}

/// Runs both directions until quiet; returns what A sent.
fn settle(a: &mut L, b: &mut L, now: &mut u64) -> Vec<Vec<u8>> {
    let mut log = Vec::new();
    for _ in 0..50 {
        log.extend(pump(a, b, *now));
        pump(b, a, *now);
        *now += 5;
        a.handle_timeout(*now);
        b.handle_timeout(*now);
    }
    log
}

fn drain(l: &mut L) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; M];
    while let Ok(Some(r)) = l.recv(&mut buf) {
        out.push(buf[..r.len].to_vec());
    }
    out
}

/// Every reason a received frame can be dropped, summed.
fn rejects(s: &LinkStats) -> u32 {
    s.framing.rejected()
        + s.stale_session
        + s.unexpected
        + s.auth_failed
        + s.unknown_key
        + s.replayed
        + s.too_old
        + s.unauthenticated
        + s.bad_ack
}

fn with_crc(body: &[u8]) -> Vec<u8> {
    let mut v = body.to_vec();
    v.extend_from_slice(&crc32c(body).to_le_bytes());
    v
}

#[test]
fn sealed_link_delivers_and_hides_the_payload() {
    let (mut a, mut b) = (sealed(1, 1, &K1), sealed(2, 1, &K1));
    let mut now = 0;
    settle(&mut a, &mut b, &mut now);
    assert!(a.is_up() && b.is_up());
    a.send(0, b"the secret telemetry", now).unwrap();
    let wire = settle(&mut a, &mut b, &mut now);
    assert_eq!(drain(&mut b), vec![b"the secret telemetry".to_vec()]);
    let rdata: Vec<_> = wire
        .iter()
        .filter_map(|f| Frame::from_body(f).ok())
        .filter(|f| f.header.kind == FrameKind::Rdata)
        .map(|f| (f.header, f.payload.to_vec()))
        .collect();
    assert_eq!(rdata.len(), 1);
    let (h, payload) = &rdata[0];
    assert!(h.aead.is_some_and(|x| x.key_id == 1));
    assert_eq!(payload.len(), 20 + TAG_LEN);
    assert!(!payload.windows(6).any(|w| w == b"secret"));
    assert_eq!(rejects(&a.stats()) + rejects(&b.stats()), 0);
}

/// Every single-bit flip of a sealed frame, with the CRC recomputed so it passes the line
/// check, is rejected and counted once; the receiver's state is untouched (the genuine frame
/// is still delivered afterwards, exactly once).
#[test]
fn every_bit_flip_is_rejected() {
    let (mut a, mut b) = (sealed(1, 1, &K1), sealed(2, 1, &K1));
    let mut now = 0;
    settle(&mut a, &mut b, &mut now);
    a.send(0, b"flip me if you can", now).unwrap();
    let mut buf = [0u8; L::MAX_FRAME];
    let n = a.poll_transmit(now, &mut buf).unwrap().unwrap();
    let frame = buf[..n].to_vec();
    assert_eq!(
        Frame::from_body(&frame).unwrap().header.kind,
        FrameKind::Rdata
    );
    let body = &frame[..n - 4];
    for bit in 0..body.len() * 8 {
        let mut bad = body.to_vec();
        bad[bit / 8] ^= 1 << (bit % 8);
        let before = rejects(&b.stats());
        b.handle_datagram(&with_crc(&bad), now);
        assert_eq!(
            rejects(&b.stats()),
            before + 1,
            "bit {bit} not counted once"
        );
        assert!(drain(&mut b).is_empty(), "bit {bit} delivered");
        assert!(b.is_up(), "bit {bit} ended the session");
    }
    let s = b.stats();
    assert!(s.auth_failed as usize >= (n - 4 - 12) * 8, "{s:?}");
    b.handle_datagram(&frame, now);
    assert_eq!(drain(&mut b), vec![b"flip me if you can".to_vec()]);
    b.handle_datagram(&frame, now);
    assert!(drain(&mut b).is_empty());
    assert_eq!(b.stats().replayed, 1);
}

/// A flipped HELLO never opens a session.
#[test]
fn every_bit_flip_of_a_hello_is_rejected() {
    let mut a = sealed(1, 1, &K1);
    let mut buf = [0u8; L::MAX_FRAME];
    let n = a.poll_transmit(0, &mut buf).unwrap().unwrap();
    assert_eq!(
        Frame::from_body(&buf[..n]).unwrap().header.kind,
        FrameKind::Hello
    );
    let body = buf[..n - 4].to_vec();
    for bit in 0..body.len() * 8 {
        let mut b = sealed(2, 1, &K1);
        let mut bad = body.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        b.handle_datagram(&with_crc(&bad), 0);
        assert!(!b.is_up(), "bit {bit} opened a session");
        assert_eq!(rejects(&b.stats()), 1, "bit {bit}");
    }
    let mut b = sealed(2, 1, &K1);
    b.handle_datagram(&buf[..n], 0);
    assert!(b.is_up());
}

/// Frames replayed within a session are dropped and counted (`replayed`, or `too_old` behind
/// the window), never delivered twice.
#[test]
fn replays_are_rejected() {
    let (mut a, mut b) = (sealed(1, 1, &K1), sealed(2, 1, &K1));
    let mut now = 0;
    let mut wire = settle(&mut a, &mut b, &mut now);
    let mut delivered = 0;
    for i in 0..100u32 {
        a.send(0, &i.to_le_bytes(), now).unwrap();
        wire.extend(settle(&mut a, &mut b, &mut now));
        delivered += drain(&mut b).len();
    }
    assert_eq!(delivered, 100);
    let before = b.stats();
    for f in &wire {
        b.handle_datagram(f, now);
    }
    let after = b.stats();
    assert!(drain(&mut b).is_empty(), "a replay was delivered");
    let caught = (after.replayed - before.replayed) + (after.too_old - before.too_old);
    assert_eq!(caught as usize, wire.len(), "{after:?}");
    assert!(after.too_old > before.too_old && after.replayed > before.replayed);
    assert!(b.is_up());
}

#[test]
fn wrong_keys_never_connect() {
    // Same id, other key: authentication fails.
    let (mut a, mut b) = (sealed(1, 1, &K1), sealed(2, 1, &K2));
    let mut now = 0;
    settle(&mut a, &mut b, &mut now);
    assert!(!a.is_up() && !b.is_up());
    assert!(b.stats().auth_failed > 0);
    // Other id: unknown key.
    let (mut a, mut b) = (sealed(1, 1, &K1), sealed(2, 2, &K1));
    settle(&mut a, &mut b, &mut now);
    assert!(!a.is_up() && !b.is_up());
    assert!(b.stats().unknown_key > 0 && b.stats().auth_failed == 0);
    // One side without keys: each drops the other's frames.
    let (mut a, mut b) = (sealed(1, 1, &K1), L::new(cfg(), 2));
    settle(&mut a, &mut b, &mut now);
    assert!(!a.is_up() && !b.is_up());
    assert!(b.stats().unknown_key > 0);
    assert!(a.stats().unauthenticated > 0);
}

/// Two ends with the same boot id would draw nonces from the same prefixes in both
/// directions: they refuse each other.
#[test]
fn equal_boot_ids_are_refused() {
    let (mut a, mut b) = (sealed(7, 1, &K1), sealed(7, 1, &K1));
    let mut now = 0;
    settle(&mut a, &mut b, &mut now);
    assert!(!a.is_up() && !b.is_up());
    assert!(a.stats().unexpected > 0 && b.stats().unexpected > 0);
    assert_eq!(a.stats().sessions + b.stats().sessions, 0);
}

/// A forged unsealed frame with the right session tag is dropped.
#[test]
fn unsealed_frames_are_dropped() {
    let (mut a, mut b) = (sealed(1, 1, &K1), sealed(2, 1, &K1));
    let mut now = 0;
    settle(&mut a, &mut b, &mut now);
    a.send(0, b"genuine", now).unwrap();
    let wire = settle(&mut a, &mut b, &mut now);
    assert_eq!(drain(&mut b), vec![b"genuine".to_vec()]);
    let genuine = wire
        .iter()
        .filter_map(|f| Frame::from_body(f).ok())
        .find(|f| f.header.kind == FrameKind::Rdata)
        .unwrap()
        .header;
    // The next 301 sequence numbers of the session, with its tag, unsealed.
    let mut h = Header {
        aead: None,
        ack: None,
        ..genuine
    };
    let mut out = [0u8; 128];
    for i in 1..=301u16 {
        h.seq = Some(genuine.seq.unwrap().wrapping_add(i));
        let n = ferrule::encode_datagram(&h, b"forged", &mut out).unwrap();
        b.handle_datagram(&out[..n], now);
    }
    assert!(drain(&mut b).is_empty());
    assert_eq!(b.stats().unauthenticated, 301);
}

/// The nonce of every frame a side seals is unique across reboots (boot counter as seed),
/// session restarts and rekeys.
#[test]
fn nonces_are_unique_across_reboots() {
    let mut seen = HashSet::new();
    let mut frames = 0;
    let mut b = sealed(1000, 1, &K1);
    let mut now = 0;
    for boot in 1..=20u32 {
        // A reboots: a new link with the next boot counter.
        let mut a = sealed(boot, 1, &K1);
        let mut buf = [0u8; L::MAX_FRAME];
        for round in 0..60u64 {
            if a.is_up() {
                let _ = a.send(0, &round.to_le_bytes(), now);
                if round % 10 == 9 {
                    a.close(now); // a new session attempt in the same boot
                }
            }
            while let Ok(Some(n)) = a.poll_transmit(now, &mut buf) {
                let st = a.aead_status().unwrap();
                assert!(seen.insert(st.last_nonce), "nonce reused: {st:?}");
                frames += 1;
                // Every third frame is lost: retransmissions and handshake retries.
                if frames % 3 != 0 {
                    b.handle_datagram(&buf[..n], now);
                }
            }
            pump(&mut b, &mut a, now);
            drain(&mut b);
            now += 40;
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
    }
    assert!(frames > 500, "{frames}");
    assert_eq!(seen.len(), frames);
    assert!(b.stats().sessions >= 40);
}

/// Rekeying both sides at different times keeps the session: every message arrives exactly
/// once, in order, and no link-down is reported.
#[test]
fn rekey_keeps_the_session() {
    let (mut a, mut b) = (sealed(1, 1, &K1), sealed(2, 1, &K1));
    let mut now = 0;
    settle(&mut a, &mut b, &mut now);
    while a.poll_event().is_some() {}
    while b.poll_event().is_some() {}
    let mut got = Vec::new();
    let mut next = 0u32;
    for step in 0..400u32 {
        match step {
            100 => a.set_key(2, &K2, now).unwrap(),
            130 => b.set_key(2, &K2, now).unwrap(),
            250 => b.set_key(3, &[0x33; 32], now).unwrap(),
            251 => a.set_key(3, &[0x33; 32], now).unwrap(),
            _ => {}
        }
        if a.send(0, &next.to_le_bytes(), now).is_ok() {
            next += 1;
        }
        pump(&mut a, &mut b, now);
        pump(&mut b, &mut a, now);
        got.extend(drain(&mut b));
        now += 3;
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    settle(&mut a, &mut b, &mut now);
    got.extend(drain(&mut b));
    let want: Vec<Vec<u8>> = (0..next).map(|i| i.to_le_bytes().to_vec()).collect();
    assert_eq!(got, want);
    assert!(next > 300);
    assert_eq!(a.poll_event(), None, "rekey must not end the session");
    assert_eq!(b.poll_event(), None);
    assert!(b.stats().unknown_key > 0, "the gap was not exercised");
    assert_eq!(a.aead_status().unwrap().key_id, 3);
}

/// Sealing works on a byte stream too (COBS in place), with leading delimiters.
#[test]
fn sealed_stream_round_trip() {
    let c = Config {
        transport: Transport::Stream,
        leading_delimiter: true,
        keepalive: 0,
        ..Config::default()
    };
    let mut a = L::new(c, 5);
    let mut b = L::new(c, 6);
    a.set_key(9, &K1, 0).unwrap();
    b.set_key(9, &K1, 0).unwrap();
    let mut buf = [0u8; L::MAX_FRAME];
    let mut got = Vec::new();
    let msgs: Vec<Vec<u8>> = (0..40u8)
        .map(|i| vec![i % 3; usize::from(i) + 20])
        .collect();
    let mut i = 0;
    for now in 0..400u64 {
        if a.is_up() && i < msgs.len() && a.send(0, &msgs[i], now).is_ok() {
            i += 1;
        }
        while let Ok(Some(n)) = a.poll_transmit(now, &mut buf) {
            assert!(!buf[..n - 1].iter().skip(1).any(|&x| x == 0));
            b.handle_input(&buf[..n], now);
        }
        while let Ok(Some(n)) = b.poll_transmit(now, &mut buf) {
            a.handle_input(&buf[..n], now);
        }
        let mut m = [0u8; M];
        while let Ok(Some(r)) = b.recv(&mut m) {
            got.push(m[..r.len].to_vec());
        }
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    assert_eq!(got, msgs);
    assert_eq!(rejects(&b.stats()), 0);
}

#[test]
fn tiny_frame_buffers_refuse_keys() {
    let mut l: Link<1, 4, { frame_buffer_len(4) }> = Link::new(cfg(), 1);
    assert!(l.set_key(1, &K1, 0).is_err());
    assert!(l.aead_status().is_none());
}

/// `docs/PROTOCOL.md` section 6.7: each `aead-vector` block is opened with the primitives and
/// must give the stated plaintext, and sealing it again must give the stated body.
#[test]
fn protocol_vectors() {
    let doc = include_str!("../../docs/PROTOCOL.md");
    let mut count = 0;
    for block in doc.split("```aead-vector").skip(1) {
        let block = &block[..block.find("```").unwrap()];
        // A field's value, with its indented continuation lines.
        let field = |k: &str| -> String {
            let mut lines = block
                .lines()
                .skip_while(|l| !l.starts_with(&format!("{k}:")));
            let first = lines.next().unwrap_or_else(|| panic!("missing {k}"));
            let mut v = first[k.len() + 1..].trim().to_string();
            for l in lines.take_while(|l| l.starts_with(' ')) {
                v.push(' ');
                v.push_str(l.trim());
            }
            if v == "-" {
                v.clear();
            }
            v
        };
        let hex = |s: String| -> Vec<u8> {
            let s: String = s.split_whitespace().collect();
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let num = |k: &str| -> u32 {
            let v = field(k);
            v.strip_prefix("0x")
                .map(|h| u32::from_str_radix(h, 16).unwrap())
                .unwrap_or_else(|| v.parse().unwrap())
        };
        let key: [u8; 32] = hex(field("key")).try_into().unwrap();
        let n = nonce(num("boot"), num("generation"), num("counter"));
        assert_eq!(n.to_vec(), hex(field("nonce")));
        let aad_len: usize = field("aad_len").parse().unwrap();
        let plain = hex(field("plaintext"));
        let body = hex(field("body"));
        // The body checks on the line (CRC), parses, and names the same counter.
        let frame = Frame::from_body(&body).unwrap();
        let a = frame.header.aead.unwrap();
        assert_eq!(a.counter, num("counter"));
        let key = Key::new(a.key_id, &key);
        let mut sealed = body[..body.len() - 4].to_vec();
        open_body(&key, &n, &mut sealed, aad_len).unwrap();
        assert_eq!(&sealed[aad_len..sealed.len() - TAG_LEN], plain.as_slice());
        ferrule::aead::seal_body(&key, &n, &mut sealed, aad_len).unwrap();
        assert_eq!(with_crc(&sealed), body);
        count += 1;
    }
    assert!(count >= 2, "{count} aead vectors");
}
