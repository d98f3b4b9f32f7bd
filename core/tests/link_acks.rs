//! When a receiver acknowledges (`docs/PROTOCOL.md` 4.3, "Acknowledgement"): a data frame that brings nothing
//! new says the sender missed acknowledgements; on a stream the receiver then repeats its
//! acknowledgement, on datagrams it answers once.

mod common;

use common::link::{buffers, drain, feed, header, received};
use ferrule::link::{Config, Fec, FecConfig, Link, Repair, Transport};
use ferrule::FrameKind;

const M: usize = 64;
/// Acknowledgements a stream receiver sends for one data frame it already had: the answer
/// and four repeats.
const STREAM_ANSWER: usize = 5;

fn node(seed: u64, transport: Transport, fec: bool) -> Link<'static> {
    let cfg = Config {
        transport,
        keepalive: 0,
        ack_delay: 0,
        ..Config::default()
    };
    let mut l = Link::new(cfg, seed, buffers(8, M)).unwrap();
    if fec {
        let f = FecConfig {
            k: 4,
            m: 1,
            groups: 2,
            send: true,
        };
        let mem = Box::leak(vec![0u8; Fec::storage_size(&f, M)].into_boxed_slice());
        let fec = Box::leak(Box::new(Fec::new(f, M, mem).unwrap()));
        l.enable_fec(fec as &mut dyn Repair);
    }
    l
}

/// Two links after their handshake, and the first data frame A sent (B got it and
/// acknowledged it; the acknowledgement is dropped).
fn up_with_one_message(transport: Transport, fec: bool) -> (Link<'static>, Link<'static>, Vec<u8>) {
    let stream = transport == Transport::Stream;
    let (mut a, mut b) = (node(1, transport, fec), node(2, transport, fec));
    for now in 0..4 {
        for f in drain(&mut a, now) {
            feed(&mut b, &f, now, stream);
        }
        for f in drain(&mut b, now) {
            feed(&mut a, &f, now, stream);
        }
    }
    assert!(a.is_up() && b.is_up());
    a.send(0, b"once", 10).unwrap();
    let data = drain(&mut a, 10)
        .into_iter()
        .find(|f| header(f, stream).kind == FrameKind::Rdata)
        .expect("the message goes out");
    feed(&mut b, &data, 11, stream);
    assert_eq!(received(&mut b), [b"once".to_vec()]);
    let ack = drain(&mut b, 11);
    assert_eq!(ack.len(), 1, "one acknowledgement for the message");
    (a, b, data)
}

/// What B sends at `now` with nothing of its own to send: the kinds, and the acknowledgement
/// each carries.
fn answer(b: &mut Link<'static>, now: u64, stream: bool) -> Vec<(FrameKind, Option<u16>)> {
    drain(b, now)
        .iter()
        .map(|f| {
            let h = header(f, stream);
            (h.kind, h.ack.map(|a| a.next))
        })
        .collect()
}

#[test]
fn a_stream_receiver_repeats_its_ack_when_a_duplicate_shows_it_was_lost() {
    let (_a, mut b, data) = up_with_one_message(Transport::Stream, false);
    feed(&mut b, &data, 40, true);
    assert_eq!(b.stats().duplicates, 1);
    let acks = answer(&mut b, 40, true);
    assert_eq!(acks.len(), STREAM_ANSWER, "{acks:?}");
    let first = acks[0];
    assert_eq!(first.0, FrameKind::Ack);
    assert!(acks.iter().all(|&k| k == first), "the same ACK each time");
    // Nothing more once the repeats are out; another duplicate starts them again.
    assert!(answer(&mut b, 41, true).is_empty());
    feed(&mut b, &data, 60, true);
    assert_eq!(answer(&mut b, 60, true).len(), STREAM_ANSWER);
    assert!(received(&mut b).is_empty(), "delivered once");
}

#[test]
fn a_datagram_receiver_answers_a_duplicate_once() {
    let (_a, mut b, data) = up_with_one_message(Transport::Datagram, false);
    feed(&mut b, &data, 40, false);
    assert_eq!(b.stats().duplicates, 1);
    let acks = answer(&mut b, 40, false);
    assert_eq!(acks.len(), 1, "{acks:?}");
    assert_eq!(acks[0].0, FrameKind::Ack);
}

#[test]
fn with_fec_a_stream_receiver_repeats_only_after_two_duplicates_in_a_row() {
    let (mut a, mut b, data) = up_with_one_message(Transport::Stream, true);
    // A lone duplicate may be a retransmission racing a rebuilt copy: answered once.
    feed(&mut b, &data, 40, true);
    assert_eq!(answer(&mut b, 40, true).len(), 1);
    // A second one in a row is evidence enough.
    feed(&mut b, &data, 41, true);
    assert_eq!(answer(&mut b, 41, true).len(), STREAM_ANSWER);
    // A frame that brings something new ends the run: the next duplicate is alone again.
    a.send(0, b"twice", 50).unwrap();
    let fresh: Vec<_> = drain(&mut a, 50)
        .into_iter()
        .filter(|f| header(f, true).kind == FrameKind::Rdata)
        .collect();
    assert!(!fresh.is_empty());
    for f in &fresh {
        feed(&mut b, f, 51, true);
    }
    assert_eq!(received(&mut b), [b"twice".to_vec()]);
    drain(&mut b, 51);
    feed(&mut b, &data, 60, true);
    assert_eq!(answer(&mut b, 60, true).len(), 1);
}
