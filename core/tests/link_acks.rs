//! When a receiver acknowledges (`docs/PROTOCOL.md` 4.3, "Acknowledgement"): a data frame
//! that brings nothing new says the sender may have missed acknowledgements; the receiver then
//! repeats its acknowledgement: on a stream at once; on datagrams, and on a stream with FEC,
//! when the same message comes back in a later round of retransmission.
//! And what a sender makes of acknowledgements that arrive out of order.

mod common;

use common::link::{buffers, drain, feed, handshake_over, header, received};
use ferrule::link::{Config, Fec, FecConfig, Link, Repair, Transport};
use ferrule::FrameKind;

const M: usize = 64;
/// Acknowledgements a receiver sends when it repeats: the answer and four repeats.
const REPEATED: usize = 5;

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
    handshake_over(&mut a, &mut b, stream);
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

/// A's next retransmission round from `from` on: when, and its data frames (on datagrams the
/// oldest message's retransmission goes out twice).
fn retransmission(a: &mut Link<'static>, from: u64, stream: bool) -> (u64, Vec<Vec<u8>>) {
    (from..from + 10_000)
        .find_map(|now| {
            let copies: Vec<_> = drain(a, now)
                .into_iter()
                .filter(|f| header(f, stream).kind == FrameKind::Rdata)
                .collect();
            (!copies.is_empty()).then_some((now, copies))
        })
        .expect("a retransmission")
}

#[test]
fn a_stream_receiver_repeats_its_ack_when_a_duplicate_shows_it_was_lost() {
    let (_a, mut b, data) = up_with_one_message(Transport::Stream, false);
    feed(&mut b, &data, 40, true);
    assert_eq!(b.stats().duplicates, 1);
    let acks = answer(&mut b, 40, true);
    assert_eq!(acks.len(), REPEATED, "{acks:?}");
    let first = acks[0];
    assert_eq!(first.0, FrameKind::Ack);
    assert!(acks.iter().all(|&k| k == first), "the same ACK each time");
    // Nothing more once the repeats are out; another duplicate starts them again.
    assert!(answer(&mut b, 41, true).is_empty());
    feed(&mut b, &data, 60, true);
    assert_eq!(answer(&mut b, 60, true).len(), REPEATED);
    assert!(received(&mut b).is_empty(), "delivered once");
}

#[test]
fn a_datagram_receiver_repeats_only_for_a_later_round_of_the_same_message() {
    let (mut a, mut b, _) = up_with_one_message(Transport::Datagram, false);
    // A's retransmissions of the message B has (B's acknowledgement was lost). The first round
    // is answered once per copy: on datagrams a lone copy is mostly a retransmission that
    // overtook its late original. A later round (another timestamp) shows A did not hear
    // those answers. (The oldest message's retransmission goes out twice on datagrams, both
    // copies stamped alike.)
    let (t1, first) = retransmission(&mut a, 12, false);
    assert_eq!(first.len(), 2);
    assert_eq!(header(&first[0], false).ts, header(&first[1], false).ts);
    for copy in &first {
        feed(&mut b, copy, t1 + 1, false);
        let acks = answer(&mut b, t1 + 1, false);
        assert_eq!(acks.len(), 1, "{acks:?}");
        assert_eq!(acks[0].0, FrameKind::Ack);
    }
    assert_eq!(b.stats().duplicates, 2);
    let (t2, second) = retransmission(&mut a, t1 + 1, false);
    assert_ne!(header(&second[0], false).ts, header(&first[0], false).ts);
    feed(&mut b, &second[0], t2 + 1, false);
    assert_eq!(answer(&mut b, t2 + 1, false).len(), REPEATED);
    assert!(received(&mut b).is_empty(), "delivered once");
}

#[test]
fn with_fec_a_stream_receiver_repeats_only_for_a_later_round_of_the_same_message() {
    let (mut a, mut b, _) = up_with_one_message(Transport::Stream, true);
    // A lone copy may be a retransmission racing the copy rebuilt from parity: answered once,
    // and so is the same copy again.
    let (t1, first) = retransmission(&mut a, 12, true);
    assert_eq!(first.len(), 1);
    for now in [t1 + 1, t1 + 2] {
        feed(&mut b, &first[0], now, true);
        assert_eq!(answer(&mut b, now, true).len(), 1);
    }
    // A later round (another timestamp) shows A did not hear the answers.
    let (t2, second) = retransmission(&mut a, t1 + 1, true);
    assert_ne!(header(&second[0], true).ts, header(&first[0], true).ts);
    feed(&mut b, &second[0], t2 + 1, true);
    assert_eq!(answer(&mut b, t2 + 1, true).len(), REPEATED);
    assert!(received(&mut b).is_empty(), "delivered once");
}

/// An acknowledgement overtaken on the way by a later one is old news, not a bad ack; one for
/// a message never sent is.
#[test]
fn an_overtaken_ack_is_ignored_and_an_ack_beyond_what_was_sent_is_bad() {
    let (mut a, mut b, _) = up_with_one_message(Transport::Datagram, false);
    a.send(0, b"two", 20).unwrap();
    let data = drain(&mut a, 20);
    assert_eq!(data.len(), 1);
    feed(&mut b, &data[0], 21, false);
    let newer = drain(&mut b, 21).remove(0);
    let next = header(&newer, false).ack.unwrap().next;
    // B's first ack (lost before) now arrives after the newer one.
    let older = ferrule::Header {
        ack: Some(ferrule::Ack {
            next: next.wrapping_sub(1),
            window: 8,
            sack: None,
        }),
        echo: None,
        ..header(&newer, false)
    };
    let beyond = ferrule::Header {
        ack: Some(ferrule::Ack {
            next: next.wrapping_add(3),
            window: 8,
            sack: None,
        }),
        echo: None,
        ..header(&newer, false)
    };
    feed(&mut a, &newer, 22, false);
    assert_eq!(a.send_capacity(), 8, "both messages acknowledged");
    let acked = a.acked_before();
    let mut out = [0u8; 64];
    let n = ferrule::encode_datagram(&older, &[], &mut out).unwrap();
    feed(&mut a, &out[..n], 23, false);
    assert_eq!(a.stats().bad_ack, 0);
    assert_eq!(a.acked_before(), acked, "an old ack takes nothing back");
    assert_eq!(a.send_capacity(), 8);
    let n = ferrule::encode_datagram(&beyond, &[], &mut out).unwrap();
    feed(&mut a, &out[..n], 24, false);
    assert_eq!(a.stats().bad_ack, 1);
    // A selective ack of numbers never sent (nothing is outstanding) is bad too, and takes
    // nothing.
    let sack_beyond = ferrule::Header {
        ack: Some(ferrule::Ack {
            next,
            window: 8,
            sack: Some(0b101),
        }),
        echo: None,
        ..header(&newer, false)
    };
    let n = ferrule::encode_datagram(&sack_beyond, &[], &mut out).unwrap();
    feed(&mut a, &out[..n], 25, false);
    assert_eq!(a.stats().bad_ack, 2);
    assert_eq!((a.acked_before(), a.send_capacity()), (acked, 8));
}

/// What A sends at `now`: the kinds.
fn kinds(a: &mut Link<'static>, now: u64, stream: bool) -> Vec<(FrameKind, Vec<u8>)> {
    drain(a, now)
        .into_iter()
        .map(|f| (header(&f, stream).kind, f))
        .collect()
}

/// From `from` on, the first millisecond A sends anything, and what.
fn next_send(a: &mut Link<'static>, from: u64, stream: bool) -> (u64, Vec<(FrameKind, Vec<u8>)>) {
    (from..from + 10_000)
        .find_map(|now| {
            let sent = kinds(a, now, stream);
            (!sent.is_empty()).then_some((now, sent))
        })
        .expect("A sends something")
}

/// On a stream, a sender whose probe timer fires asks first (three PINGs); the receiver
/// answers each with its acknowledgement and two repeats; the answer shows the message
/// arrived, so it is never sent again.
#[test]
fn a_stream_sender_asks_before_it_retransmits_and_the_answer_saves_the_copy() {
    let (mut a, mut b, _) = up_with_one_message(Transport::Stream, false);
    let (t, pings) = next_send(&mut a, 12, true);
    assert_eq!(pings.len(), 3, "an ask is three PINGs");
    assert!(pings.iter().all(|(k, _)| *k == FrameKind::Ping));
    assert_eq!(a.stats().timeouts, 0);
    assert_eq!(a.stats().probes_sent, 3);
    feed(&mut b, &pings[0].1, t + 1, true);
    let acks = drain(&mut b, t + 1);
    let fields: Vec<_> = acks.iter().map(|f| header(f, true)).collect();
    assert_eq!(acks.len(), 3, "the answer and two repeats");
    assert!(fields
        .iter()
        .all(|h| h.kind == FrameKind::Ack && h.ack == fields[0].ack));
    feed(&mut a, &acks[0], t + 3, true);
    assert_eq!(a.send_capacity(), 8, "the message is acknowledged");
    for now in t + 3..t + 2_000 {
        assert!(
            kinds(&mut a, now, true).is_empty(),
            "nothing more to send at {now}"
        );
    }
    let s = a.stats();
    assert_eq!((s.retransmissions, s.timeouts), (0, 0));
}

/// An ask nobody answers is repeated, waiting longer each time (half a PTO, times 1.5 per
/// round); after three the message is retransmitted, and a timeout counted.
#[test]
fn an_unanswered_ask_is_asked_again_then_the_message_is_retransmitted() {
    let (mut a, _b, _) = up_with_one_message(Transport::Stream, false);
    let mut at = Vec::new();
    let mut from = 12;
    let retransmitted = loop {
        let (t, sent) = next_send(&mut a, from, true);
        from = t + 1;
        if sent.iter().any(|(k, _)| *k == FrameKind::Rdata) {
            break t;
        }
        assert!(
            sent.iter().all(|(k, _)| *k == FrameKind::Ping),
            "only PINGs while asking"
        );
        assert_eq!(sent.len(), 3);
        at.push(t);
    };
    assert_eq!(at.len(), 3, "three asks before a retransmission: {at:?}");
    let waits = [at[1] - at[0], at[2] - at[1], retransmitted - at[2]];
    assert!(
        waits[0] < waits[1] && waits[1] < waits[2],
        "longer each time: {waits:?}"
    );
    let s = a.stats();
    assert_eq!((s.probes_sent, s.retransmissions, s.timeouts), (9, 1, 1));
}

/// Two stream links after their handshake, and A's first message sent and lost on the way.
fn up_with_one_message_lost() -> (Link<'static>, Link<'static>) {
    let (mut a, mut b) = (
        node(1, Transport::Stream, false),
        node(2, Transport::Stream, false),
    );
    handshake_over(&mut a, &mut b, true);
    a.send(0, b"lost", 10).unwrap();
    let lost = drain(&mut a, 10);
    assert_eq!(lost.len(), 1);
    assert_eq!(header(&lost[0], true).kind, FrameKind::Rdata);
    (a, b)
}

/// When the answer to an ask lacks the message, the message is lost (the PING, sent after it,
/// arrived): it goes again at once, without waiting for another timer.
#[test]
fn an_answer_that_lacks_the_message_makes_it_go_again_at_once() {
    let stream = true;
    let (mut a, mut b) = up_with_one_message_lost();
    let (t, pings) = next_send(&mut a, 11, stream);
    assert!(pings.iter().all(|(k, _)| *k == FrameKind::Ping));
    feed(&mut b, &pings[0].1, t + 1, stream);
    let answer = drain(&mut b, t + 1).remove(0);
    feed(&mut a, &answer, t + 2, stream);
    let again = kinds(&mut a, t + 2, stream);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].0, FrameKind::Rdata);
    feed(&mut b, &again[0].1, t + 3, stream);
    assert_eq!(received(&mut b), [b"lost".to_vec()]);
    let s = a.stats();
    assert_eq!(
        (s.retransmissions, s.fast_retransmits, s.timeouts),
        (1, 1, 0)
    );
    // Its timer had run out: the retransmission's timer is backed off (PTO x 1.5), as after a
    // timeout.
    let pto = u64::from(s.rto);
    let (t2, _) = next_send(&mut a, t + 3, stream);
    assert!(
        t2 - (t + 2) >= pto * 3 / 2,
        "next ask after {} ms, PTO {pto}",
        t2 - (t + 2)
    );
}

/// The PINGs of an ask go out in different milliseconds; an echo of the first, not only of the
/// last, answers it: the next ask waits the first round's time again.
#[test]
fn an_echo_of_any_ping_of_an_ask_answers_it() {
    let stream = true;
    let (mut a, mut b) = up_with_one_message_lost();
    let mut buf = vec![0u8; a.max_frame_len()];
    let mut one = |a: &mut Link<'static>, now: u64| match a.poll_transmit(now, &mut buf) {
        Ok(Some(n)) => Some(buf[..n].to_vec()),
        _ => None,
    };
    // The first millisecond something is due: the ask's first PING.
    let t = (11..10_000)
        .find(|&now| a.poll_timeout().is_some_and(|d| d <= now))
        .expect("the timer fires");
    let pings: Vec<_> = (t..t + 3)
        .map(|now| one(&mut a, now).expect("a PING"))
        .collect();
    assert!(pings
        .iter()
        .all(|p| header(p, stream).kind == FrameKind::Ping));
    assert_ne!(header(&pings[0], stream).ts, header(&pings[2], stream).ts);
    feed(&mut b, &pings[0], t + 3, stream);
    let answer = drain(&mut b, t + 3).remove(0);
    feed(&mut a, &answer, t + 4, stream);
    let again = one(&mut a, t + 4).expect("the message again");
    assert_eq!(header(&again, stream).kind, FrameKind::Rdata);
    // Nobody answers from here on: two asks, the second PTO / 2 after the first.
    let pto = u64::from(a.stats().rto);
    let (t1, first) = next_send(&mut a, t + 5, stream);
    let (t2, _) = next_send(&mut a, t1 + 1, stream);
    assert!(first.iter().all(|(k, _)| *k == FrameKind::Ping));
    assert_eq!(t2 - t1, (pto / 2).max(2), "a first round's wait");
}

/// Datagrams never ask: a PING there costs as much as the retransmission it would save.
#[test]
fn a_datagram_sender_retransmits_without_asking() {
    let (mut a, _b, _) = up_with_one_message(Transport::Datagram, false);
    let (_, sent) = next_send(&mut a, 12, false);
    assert!(
        sent.iter().all(|(k, _)| *k == FrameKind::Rdata),
        "{:?}",
        sent.len()
    );
    assert_eq!(a.stats().probes_sent, 0);
}

/// A stray copy of a long-acknowledged frame (the network duplicated it, 10 s late) must not
/// be echoed with its old timestamp: the sender took that as a 10 s round trip (SRTT went
/// from 10 ms to 1,256 ms and the retransmission timer to its 4 s maximum, so a later loss
/// waited seconds). PROTOCOL.md 4.3.1. Found by a loss-recovery review.
#[test]
fn an_echo_of_a_stray_old_copy_is_not_a_round_trip() {
    let (mut a, mut b) = (
        node(1, Transport::Datagram, false),
        node(2, Transport::Datagram, false),
    );
    // Steady traffic, 5 ms each way: (arrival, towards B, frame).
    let mut wire: Vec<(u64, bool, Vec<u8>)> = Vec::new();
    let mut first_stamped = None;
    let mut n = 0u32;
    for now in 0..10_000u64 {
        if now % 10 == 0 && a.is_up() && a.send_capacity() > 0 {
            a.send(0, &n.to_le_bytes(), now).unwrap();
            n += 1;
        }
        for f in drain(&mut a, now) {
            let h = header(&f, false);
            if first_stamped.is_none() && h.kind == FrameKind::Rdata && h.ts.is_some() {
                first_stamped = Some(f.clone());
            }
            wire.push((now + 5, true, f));
        }
        for f in drain(&mut b, now) {
            wire.push((now + 5, false, f));
        }
        let (due, later): (Vec<_>, Vec<_>) = wire.drain(..).partition(|x| x.0 <= now);
        wire = later;
        for (_, to_b, f) in due {
            feed(if to_b { &mut b } else { &mut a }, &f, now, false);
        }
        received(&mut b);
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    let before = a.stats();
    assert!(
        n > 900 && before.srtt <= 12,
        "{n} messages, srtt {}",
        before.srtt
    );
    // The stray copy reaches B, a thousand messages behind: B acknowledges, but does not
    // echo its timestamp.
    let stray = first_stamped.unwrap();
    let ts = header(&stray, false).ts;
    b.handle_datagram(&stray, 10_000);
    let replies = drain(&mut b, 10_000);
    assert!(!replies.is_empty(), "B answers the duplicate");
    assert!(
        replies
            .iter()
            .all(|f| header(f, false).echo.is_none_or(|e| Some(e.ts) != ts)),
        "B echoed the stray copy's timestamp"
    );
    for f in replies {
        a.handle_datagram(&f, 10_005);
    }
    let after = a.stats();
    assert!(
        after.srtt <= 12 && after.rto <= before.rto,
        "srtt {} -> {} ms, rto {} -> {} ms",
        before.srtt,
        after.srtt,
        before.rto,
        after.rto
    );
}

/// The bound of that rule: a retransmission of the oldest message in flight, a whole window
/// (8) behind what the receiver expects next because every acknowledgement was lost, is
/// still echoed (it is a round trip of now); a copy one further behind is not.
#[test]
fn a_retransmission_a_window_behind_is_echoed() {
    let (mut a, mut b) = (
        node(1, Transport::Datagram, false),
        node(2, Transport::Datagram, false),
    );
    handshake_over(&mut a, &mut b, false);
    // A message B gets, whose copy later comes back W + 1 behind.
    a.send(0, b"old", 10).unwrap();
    let old = drain(&mut a, 10)
        .into_iter()
        .find(|f| header(f, false).kind == FrameKind::Rdata)
        .unwrap();
    b.handle_datagram(&old, 11);
    assert_eq!(received(&mut b), [b"old".to_vec()]);
    for f in drain(&mut b, 11) {
        a.handle_datagram(&f, 12);
    }
    // A full window B receives; every acknowledgement is lost.
    for i in 0..8u8 {
        a.send(0, &[i], 20).unwrap();
    }
    for f in drain(&mut a, 20) {
        b.handle_datagram(&f, 21);
    }
    assert_eq!(received(&mut b).len(), 8);
    drain(&mut b, 21);
    // A's timer fires: the oldest goes again, 8 behind B's next.
    let (at, copies) = retransmission(&mut a, 21, false);
    let ts = header(&copies[0], false).ts;
    assert!(ts.is_some(), "retransmissions carry a timestamp");
    b.handle_datagram(&copies[0], at);
    let echoes: Vec<_> = drain(&mut b, at)
        .iter()
        .filter_map(|f| header(f, false).echo.map(|e| e.ts))
        .collect();
    assert!(echoes.contains(&ts.unwrap()), "{echoes:?}");
    // The first message's copy, 9 behind: acknowledged, not echoed.
    let old_ts = header(&old, false).ts;
    assert!(old_ts.is_some(), "the first message carries a timestamp");
    b.handle_datagram(&old, at + 1);
    let replies = drain(&mut b, at + 1);
    assert!(!replies.is_empty());
    assert_ne!(old_ts, ts);
    assert!(replies
        .iter()
        .all(|f| header(f, false).echo.is_none_or(|e| Some(e.ts) != old_ts)));
}
