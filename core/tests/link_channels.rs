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

/// The best-effort channel turned on after creation (what the C API does): before it, a
/// channel the config leaves unreliable is reliable; `enable_best_effort` checks the area's
/// size, restarts the session, and from the next one on that channel travels as `DATA`.
#[cfg(feature = "best-effort")]
#[test]
fn best_effort_enabled_later_takes_effect_from_the_next_session() {
    let (mut a, mut b) = (bare(1), bare(2));
    handshake(&mut a, &mut b);
    a.send(1, b"first", 0).unwrap();
    let frames = drain(&mut a);
    assert_eq!(Header::parse(&frames[0]).unwrap().0.kind, FrameKind::Rdata);
    for d in &frames {
        b.handle_datagram(d, 0);
    }
    let mut out = [0u8; M];
    assert!(b.recv(&mut out).unwrap().unwrap().reliable);

    assert_eq!(
        a.enable_best_effort(area(2 * M - 1)),
        Err(ferrule::link::SetupError::BestEffort)
    );
    assert!(a.is_up(), "a rejected area changes nothing");
    a.enable_best_effort(area(2 * M)).unwrap();
    b.enable_best_effort(area(2 * M)).unwrap();
    assert!(!a.is_up() && !b.is_up());
    handshake(&mut a, &mut b);
    a.send(1, b"second", 0).unwrap();
    let frames = drain(&mut a);
    let kinds: Vec<_> = frames
        .iter()
        .map(|f| Header::parse(f).unwrap().0.kind)
        .collect();
    assert!(kinds.contains(&FrameKind::Data), "{kinds:?}");
    for d in &frames {
        b.handle_datagram(d, 0);
    }
    let mut got = None;
    while let Ok(Some(r)) = b.recv(&mut out) {
        got = Some((r.reliable, out[..r.len].to_vec()));
    }
    assert_eq!(got, Some((false, b"second".to_vec())));
    assert_eq!(a.stats().sent_unreliable, 1);

    // Enabled again with a message waiting in the old area: it is dropped and counted.
    a.send(1, b"third", 0).unwrap();
    for d in &drain(&mut a) {
        b.handle_datagram(d, 0);
    }
    let overwritten = b.stats().unreliable_overwritten;
    b.enable_best_effort(area(2 * M)).unwrap();
    assert_eq!(b.stats().unreliable_overwritten, overwritten + 1);
    assert_eq!(b.recv(&mut out), Ok(None));
}

/// A side that turns best effort on in the middle of a handshake (its hello answered, the
/// answer not yet taken) hellos again with a fresh nonce: the answer to the old hello is
/// stale, and the session that comes up has the channel both ways.
#[cfg(feature = "best-effort")]
#[test]
fn best_effort_enabled_while_the_initiator_waits_for_an_answer() {
    let (mut a, mut b) = (bare(1), bare(2));
    b.enable_best_effort(area(2 * M)).unwrap();
    let hello = drain(&mut a); // without the channel
    assert_eq!(Header::parse(&hello[0]).unwrap().0.kind, FrameKind::Hello);
    for d in &hello {
        b.handle_datagram(d, 0);
    }
    let answer = drain(&mut b);
    a.enable_best_effort(area(2 * M)).unwrap();
    let stale = a.stats().stale_session;
    for d in &answer {
        a.handle_datagram(d, 0);
    }
    assert!(!a.is_up(), "an answer to the hello before the change");
    assert!(a.stats().stale_session > stale);
    handshake(&mut a, &mut b);
    assert_eq!(a.send(1, b"from a", 0), Ok(ferrule::link::Sent::BestEffort));
    assert_eq!(b.send(1, b"from b", 0), Ok(ferrule::link::Sent::BestEffort));
}

/// A side that turns best effort on after answering a hello: the peer may come up on that
/// answer, but the fresh hello that follows is a new handshake to it (not a late copy of
/// the first), so both sides are up in the new session within one exchange, not after the
/// peer's keepalive gave up.
#[cfg(feature = "best-effort")]
#[test]
fn best_effort_enabled_after_answering_a_hello() {
    let (mut a, mut b) = (bare(1), bare(2));
    b.enable_best_effort(area(2 * M)).unwrap();
    let hello = drain(&mut b);
    for d in hello
        .iter()
        .filter(|d| Header::parse(d).unwrap().0.kind == FrameKind::Hello)
    {
        a.handle_datagram(d, 0);
    }
    let answer = drain(&mut a); // HELLO_ACK (and a's own HELLO)
    a.enable_best_effort(area(2 * M)).unwrap();
    for d in &answer {
        b.handle_datagram(d, 0);
    }
    // At most a few exchanges at time 0: no timer has to run out.
    for _ in 0..4 {
        common::link::pump(&mut a, &mut b, 0);
    }
    assert!(
        a.is_up() && b.is_up(),
        "a up {}, b up {}",
        a.is_up(),
        b.is_up()
    );
    assert_eq!(a.send(1, b"from a", 0), Ok(ferrule::link::Sent::BestEffort));
    assert_eq!(b.send(1, b"from b", 0), Ok(ferrule::link::Sent::BestEffort));
    let sent = b.send(0, b"reliable", 0).unwrap();
    common::link::pump(&mut a, &mut b, 0);
    let mut out = [0u8; M];
    let mut reliable = Vec::new();
    while let Ok(Some(r)) = a.recv(&mut out) {
        if r.reliable {
            reliable.push(out[..r.len].to_vec());
        }
    }
    assert_eq!(reliable, vec![b"reliable".to_vec()], "{sent:?}");
}

/// A link without the best-effort channel (it may be turned on later).
#[cfg(feature = "best-effort")]
fn bare(seed: u64) -> L {
    let mut buffers = common::link::buffers(4, M);
    buffers.best_effort = (&mut [][..]).into();
    Link::new(cfg(), seed, buffers).unwrap()
}

/// `n` bytes for the best-effort channel (`2 * M` is what an `M`-byte link takes).
#[cfg(feature = "best-effort")]
fn area(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}
