//! Review tests of `ferrule::compact`: each names one defect (or checks one claim).

mod compact_common;

use compact_common::*;
use ferrule::compact::{memory_len, CompactConfig, CompactLink};
use ferrule::link::{DownReason, Event, Transport};

fn leak(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}

fn cl(cfg: CompactConfig, seed: u64) -> CompactLink<'static> {
    CompactLink::new(cfg, seed, leak(memory_len(cfg.window.into(), cfg.max_message.into())))
        .unwrap()
}

/// Every frame `l` has to send now.
fn out(l: &mut CompactLink<'_>, now: u64) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; l.max_frame_len()];
    let mut v = Vec::new();
    while let Some(n) = l.poll_transmit(now, &mut buf).unwrap() {
        v.push(buf[..n].to_vec());
    }
    v
}

/// Exchanges frames until both are quiet.
fn settle(a: &mut CompactLink<'_>, b: &mut CompactLink<'_>, now: u64) {
    for _ in 0..10 {
        let fa = out(a, now);
        let fb = out(b, now);
        if fa.is_empty() && fb.is_empty() {
            return;
        }
        for f in fa {
            b.handle_datagram(&f, now);
        }
        for f in fb {
            a.handle_datagram(&f, now);
        }
    }
}

fn dgram(window: u8, keepalive: u32) -> CompactConfig {
    CompactConfig {
        transport: Transport::Datagram,
        window,
        max_message: 32,
        keepalive,
        ..CompactConfig::DEFAULT
    }
}

/// PROTOCOL.md 4.3: "a sender facing a zero window sends PING ... on a timer"; an equal ack
/// "updates the window". A datagram network reorders B's two acks of the same `next`
/// (window 0, then window 2 after B's application took two): A learns window 2, sends two
/// messages (lost), then learns window 0 from the late copy. From then on every
/// retransmission-timer expiry counts as a retransmission round although nothing can be sent
/// (no data: window 0; no PING: `tx_hw > 0`), and without keepalive the session dies
/// (`RetryLimit`) having sent nothing at all, while B is alive and waiting.
#[test]
fn zero_window_with_data_in_flight_is_probed_not_counted_as_retries() {
    let cfg = dgram(4, 0);
    let (mut a, mut b) = (cl(cfg, 1), cl(cfg, 2));
    settle(&mut a, &mut b, 0);
    assert!(a.is_up() && b.is_up());
    let mut now = 10;
    for i in 0..4u8 {
        a.send(0, &[i], now).unwrap();
    }
    for f in out(&mut a, now) {
        b.handle_datagram(&f, now);
    }
    // B: 4 held, window 0 (the ack is owed at once: every second in-order message).
    let ack_closed = out(&mut b, now);
    assert_eq!(ack_closed.len(), 1);
    for f in &ack_closed {
        a.handle_datagram(f, now);
    }
    assert_eq!(a.send_capacity(), 4);
    // B's application takes two: the window opens to half, an ACK at once (window 2).
    let mut m = [0u8; 32];
    b.recv(&mut m).unwrap().unwrap();
    b.recv(&mut m).unwrap().unwrap();
    now += 1;
    for f in out(&mut b, now) {
        a.handle_datagram(&f, now);
    }
    a.send(0, b"x", now).unwrap();
    a.send(0, b"y", now).unwrap();
    let lost = out(&mut a, now);
    assert_eq!(lost.len(), 2, "both go: window 2");
    // The late copy of the window-0 ack (same `next`): window 0, two in flight.
    for f in &ack_closed {
        a.handle_datagram(f, now);
    }
    // B stays silent (it has nothing to say); A runs its timers.
    let mut sent = 0;
    while now < 200_000 && a.stats().link_downs == 0 {
        now = a.poll_timeout().unwrap_or(now + 1000).max(now + 1);
        a.handle_timeout(now);
        let frames = out(&mut a, now);
        sent += frames.len();
        for f in frames {
            b.handle_datagram(&f, now);
        }
        for f in out(&mut b, now) {
            a.handle_datagram(&f, now);
        }
    }
    let ev: Vec<_> = std::iter::from_fn(|| a.poll_event()).collect();
    assert!(
        a.stats().link_downs == 0,
        "A went down ({ev:?}) after {} timeouts having sent {sent} frames",
        a.stats().timeouts
    );
    let mut got = 0;
    while b.recv(&mut m).unwrap().is_some() {
        got += 1;
    }
    assert_eq!(got, 4, "x and y arrived once");
}
