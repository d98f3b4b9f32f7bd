//! Channel reliability with and without the `best-effort` feature: with it, channels the
//! config does not mark reliable travel as `DATA` frames; without it, every channel is
//! reliable, the hello record does not announce best effort, and a `DATA` frame from a peer is
//! dropped and counted (`not_negotiated`), never delivered.

mod common;

use common::link::{handshake, link};
use ferrule::link::{Config, Link, Transport};
use ferrule::{encode_datagram, FrameKind, Header};

const M: usize = 64;
type L = Link<'static>;

fn cfg() -> Config {
    Config {
        transport: Transport::Datagram,
        keepalive: 0,
        ack_delay: 0,
        ..Config::default()
    }
}

fn drain(from: &mut L) -> Vec<Vec<u8>> {
    common::link::drain(from, 0)
}

fn pair() -> (L, L) {
    let (mut a, mut b) = (link(cfg(), 1, 4, M), link(cfg(), 2, 4, M));
    handshake(&mut a, &mut b);
    (a, b)
}

/// The first frame of `frames` re-encoded with its type changed to `kind`.
fn retyped(frames: &[Vec<u8>], kind: FrameKind) -> Vec<u8> {
    let body = &frames[0][..frames[0].len() - 4];
    let (mut h, hlen) = Header::parse(body).unwrap();
    h.kind = kind;
    let mut out = [0u8; 256];
    let n = encode_datagram(&h, &body[hlen..], &mut out).unwrap();
    out[..n].to_vec()
}

#[test]
fn channel_one_is_best_effort_only_with_the_feature() {
    let (mut a, mut b) = pair();
    // Channel 1 is not marked reliable in the default config.
    a.send(1, b"sample", 0).unwrap();
    let frames = drain(&mut a);
    let sent_as = Header::parse(&frames[0]).unwrap().0.kind;
    for d in &frames {
        b.handle_datagram(d, 0);
    }
    let mut out = [0u8; M];
    let r = b.recv(&mut out).unwrap().expect("delivered");
    assert_eq!((r.channel, &out[..r.len]), (1, &b"sample"[..]));
    if cfg!(feature = "best-effort") {
        assert_eq!(sent_as, FrameKind::Data);
        assert!(!r.reliable);
        assert_eq!(a.stats().sent_unreliable, 1);
    } else {
        assert_eq!(sent_as, FrameKind::Rdata);
        assert!(r.reliable);
        assert_eq!(a.stats().sent_reliable, 1);
    }
}

#[test]
fn a_data_frame_is_delivered_only_with_the_feature() {
    let (mut a, mut b) = pair();
    a.send(0, b"reading", 0).unwrap();
    // The same message as a best-effort DATA frame of the live session.
    let data = retyped(&drain(&mut a), FrameKind::Data);
    b.handle_datagram(&data, 0);
    let mut out = [0u8; M];
    let got = b.recv(&mut out).unwrap();
    if cfg!(feature = "best-effort") {
        let r = got.expect("delivered");
        assert!(!r.reliable);
        assert_eq!(&out[..r.len], b"reading");
        assert_eq!(b.stats().not_negotiated, 0);
    } else {
        assert!(got.is_none(), "a DATA frame must not be delivered");
        assert_eq!(b.stats().not_negotiated, 1);
    }
}
