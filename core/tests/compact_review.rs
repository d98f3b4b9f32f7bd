//! Review tests of `ferrule::compact`: each names one defect (or checks one claim).

mod compact_common;

use compact_common::*;
use ferrule::compact::{memory_len, CompactConfig, CompactLink};
use ferrule::link::{Event, Transport};

fn leak(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}

fn cl(cfg: CompactConfig, seed: u64) -> CompactLink<'static> {
    CompactLink::new(
        cfg,
        seed,
        leak(memory_len(cfg.window.into(), cfg.max_message.into())),
    )
    .unwrap()
}

/// Every frame `l` has to send now (at most 1000: more is a spin).
fn out(l: &mut CompactLink<'_>, now: u64) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; l.max_frame_len()];
    let mut v = Vec::new();
    while let Some(n) = l.poll_transmit(now, &mut buf).unwrap() {
        assert!(v.len() < 1000, "poll_transmit spins at t={now}");
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

type Make = fn(Transport, u64) -> Box<dyn Endpoint>;
fn mk_full(t: Transport, s: u64) -> Box<dyn Endpoint> {
    Box::new(full(t, s))
}
fn mk_compact(t: Transport, s: u64) -> Box<dyn Endpoint> {
    Box::new(compact(t, s))
}

struct Pair {
    eps: [Box<dyn Endpoint>; 2],
    /// Every frame each side sent (both sessions), in order.
    log: [Vec<Vec<u8>>; 2],
    got: [Vec<Vec<u8>>; 2],
    ev: [Vec<Event>; 2],
    now: u64,
}

impl Pair {
    fn pump(&mut self, rounds: usize) {
        let mut buf = vec![0u8; 2048];
        for _ in 0..rounds {
            self.now += 1;
            for s in 0..2 {
                if self.eps[s].deadline().is_some_and(|d| d <= self.now) {
                    self.eps[s].timeout(self.now);
                }
                while let Some(n) = self.eps[s].transmit(self.now, &mut buf) {
                    self.log[s].push(buf[..n].to_vec());
                    self.eps[1 - s].input(&buf[..n], self.now);
                }
            }
            self.drain();
        }
    }
    fn drain(&mut self) {
        let mut m = [0u8; 256];
        for s in 0..2 {
            while let Some((_, n)) = self.eps[s].receive(&mut m) {
                self.got[s].push(m[..n].to_vec());
            }
            while let Some(e) = self.eps[s].event() {
                self.ev[s].push(e);
            }
        }
    }
}

/// The claim of PROTOCOL.md 4.1/4.2/4.5 without a key: record a session, restart one side
/// (new seed), bring up a new session, then replay every recorded frame of both sessions into
/// both sides, reordered and each twice. No message is delivered twice, no session is made or
/// ended, and each side counts what it drops.
fn replay_case(t: Transport, a: Make, b: Make, restarted: usize, seed: u64) {
    let mut p = Pair {
        eps: [a(t, seed), b(t, seed + 1)],
        log: [vec![], vec![]],
        got: [vec![], vec![]],
        ev: [vec![], vec![]],
        now: 0,
    };
    p.pump(20);
    assert!(p.eps[0].up() && p.eps[1].up());
    for i in 0..6u8 {
        for s in 0..2 {
            p.eps[s].send(0, &[b'a' + s as u8, 1, i], p.now).unwrap();
        }
        p.pump(3);
    }
    p.pump(50);
    let makers = [a, b];
    p.eps[restarted] = makers[restarted](t, seed + 100);
    p.got[restarted].clear();
    p.ev[restarted].clear();
    p.pump(3000);
    assert!(p.eps[0].up() && p.eps[1].up());
    for i in 0..3u8 {
        for s in 0..2 {
            p.eps[s].send(0, &[b'a' + s as u8, 2, i], p.now).unwrap();
        }
        p.pump(3);
    }
    p.pump(50);
    let (got, ev) = (p.got.clone(), p.ev.clone());
    let stale = [p.eps[0].counts().1, p.eps[1].counts().1];
    // The attacker: every recorded frame, reordered, twice, into both sides.
    let mut rng = Rng(seed | 1);
    for s in 0..2 {
        let mut frames: Vec<Vec<u8>> = p.log[1 - s].iter().chain(&p.log[1 - s]).cloned().collect();
        for i in (1..frames.len()).rev() {
            frames.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for f in frames {
            p.now += 1;
            p.eps[s].input(&f, p.now);
            // Each side answers as it would (answers go to the real peer).
            let mut buf = vec![0u8; 2048];
            while let Some(n) = p.eps[s].transmit(p.now, &mut buf) {
                p.eps[1 - s].input(&buf[..n], p.now);
            }
            let mut buf2 = vec![0u8; 2048];
            while let Some(n) = p.eps[1 - s].transmit(p.now, &mut buf2) {
                p.eps[s].input(&buf2[..n], p.now);
            }
            p.drain();
        }
    }
    p.pump(200);
    for s in 0..2 {
        assert_eq!(
            p.got[s], got[s],
            "side {s}: replay delivered something ({t:?}, restarted {restarted})"
        );
        assert_eq!(
            p.ev[s], ev[s],
            "side {s}: replay changed the session ({t:?}, restarted {restarted})"
        );
        assert!(p.eps[s].up());
        assert!(
            p.eps[s].counts().1 > stale[s],
            "side {s}: stale frames not counted"
        );
    }
    // Still working after the replay.
    for s in 0..2 {
        p.eps[s].send(0, &[b'a' + s as u8, 3, 0], p.now).unwrap();
    }
    p.pump(50);
    for s in 0..2 {
        assert_eq!(p.got[s].last().unwrap(), &vec![b'b' - s as u8, 3, 0]);
    }
}

#[test]
fn replayed_frames_of_an_old_session_after_a_restart_are_rejected() {
    for t in [Transport::Datagram, Transport::Stream] {
        let combos: [(Make, Make); 3] = [
            (mk_compact, mk_full),
            (mk_full, mk_compact),
            (mk_compact, mk_compact),
        ];
        for (i, (a, b)) in combos.into_iter().enumerate() {
            for restarted in 0..2 {
                replay_case(t, a, b, restarted, 1000 + i as u64 * 10);
            }
        }
    }
}

/// `poll_timeout` promises a loop driven by it never spins. With a keepalive below 4 ms the
/// silent-peer interval `keepalive >> 2` is 0: once the peer has been silent a whole interval,
/// the keepalive deadline is `last_tx`, i.e. now, after every PING (the full link takes
/// `max(keepalive / 4, 1)`).
#[test]
fn a_short_keepalive_does_not_make_the_timer_loop_spin() {
    for k in 1..4 {
        let cfg = dgram(2, k);
        let (mut a, mut b) = (cl(cfg, 1), cl(cfg, 2));
        settle(&mut a, &mut b, 0);
        assert!(a.is_up());
        // B is gone; A's loop runs on its own deadlines.
        let mut now = 0;
        let mut pings_at_one_time = 0;
        while a.is_up() && now < 1000 {
            let d = a.poll_timeout().unwrap();
            let before = now;
            now = d.max(now);
            a.handle_timeout(now);
            let n = out(&mut a, now).len();
            pings_at_one_time = if now == before {
                pings_at_one_time + n
            } else {
                n
            };
            assert!(
                pings_at_one_time < 100,
                "keepalive {k}: {pings_at_one_time} frames at t={now}: the loop spins"
            );
            assert!(
                a.poll_timeout().is_none_or(|t| t > now),
                "keepalive {k}: spin at {now}"
            );
        }
    }
}

/// Windows 1 and 255 against each other and against full links of other windows, with faults:
/// exactly once, in order (the harness checks), one session, over 16-bit wrap of the numbers
/// when the ISN is near it.
#[test]
fn window_extremes_deliver_exactly_once() {
    for t in [Transport::Datagram, Transport::Stream] {
        for (wa, wb, full_b) in [
            (1u8, 255usize, false),
            (255, 1, false),
            (255, 255, false),
            (1, 8, true),
            (255, 2, true),
            (3, 255, true),
        ] {
            let ca = CompactConfig {
                window: wa,
                ..compact_cfg(t)
            };
            let b: Box<dyn Endpoint> = if full_b {
                Box::new(full_with(t, 7, wb, M))
            } else {
                Box::new(compact_with(
                    CompactConfig {
                        window: wb as u8,
                        ..compact_cfg(t)
                    },
                    7,
                ))
            };
            let r = run(
                Box::new(compact_with(ca, 3)),
                b,
                1500,
                MODERATE,
                11 + u64::from(wa),
                3_000_000,
            );
            assert!(
                r.delivered[0] >= 1500 && r.delivered[1] >= 1500,
                "{t:?} {wa}/{wb} full {full_b}: {r:?}"
            );
            assert_eq!(
                (r.ups, r.downs),
                ([1, 1], [0, 0]),
                "{t:?} {wa}/{wb} full {full_b}: {r:?}"
            );
        }
    }
}

/// PROTOCOL.md 5.1/5.2: "messages still waiting from the previous session are decoded with the
/// previous stream first"; a broken shared stream fails the rest *of that session*. The
/// compact receiver marks queued messages only "of an earlier session" (one bit) and restarts
/// its stream only at the first message of the *current* one: when two sessions change before
/// the application drains, the middle session's messages are decoded with the first
/// session's stream state. Here that stream broke (a malformed piece of session 1), so every
/// valid message of session 2 is reported `Decompress` and lost.
#[test]
fn messages_of_two_earlier_sessions_each_decode_with_their_own_stream() {
    use ferrule::frame::{Compression, Frame};
    let cfg = CompactConfig {
        max_message: 128,
        ..dgram(4, 1000)
    };
    let (mut a, mut b) = (cl(cfg, 1), cl(cfg, 2));
    a.set_codec(shared_codec());
    b.set_codec(shared_codec());
    let mut now = 0;
    settle(&mut a, &mut b, now);
    assert!(a.is_up() && b.is_up());
    let text = |i: u8| {
        format!("temperature={i} humidity={i} temperature={i} humidity={i} status=ok").into_bytes()
    };
    // Session 1: one message whose shared piece arrives malformed (CRC-valid: a non-conforming
    // peer, or the frame rebuilt by an attacker).
    b.send(0, &text(1), now).unwrap();
    let f = out(&mut b, now);
    assert_eq!(f.len(), 1);
    let fr = Frame::from_body(&f[0]).unwrap();
    assert_eq!(fr.header.compression, Compression::Shared);
    let mut bad = fr.payload.to_vec();
    for x in &mut bad {
        *x ^= 0xA5;
    }
    let mut buf = vec![0u8; 512];
    let n = ferrule::encode::encode_datagram(&fr.header, &bad, &mut buf).unwrap();
    a.handle_datagram(&buf[..n], now);
    settle(&mut a, &mut b, now);
    // Session 2 (B closes and the two meet again): two valid messages, not taken yet.
    let new_session =
        |a: &mut CompactLink<'static>, b: &mut CompactLink<'static>, now: &mut u64| {
            b.close(*now);
            for _ in 0..50 {
                *now += 10;
                a.handle_timeout(*now);
                b.handle_timeout(*now);
                settle(a, b, *now);
                if a.is_up() && b.is_up() {
                    break;
                }
            }
            assert!(a.is_up() && b.is_up());
        };
    new_session(&mut a, &mut b, &mut now);
    for i in 2..4 {
        b.send(0, &text(i), now).unwrap();
        settle(&mut a, &mut b, now);
    }
    // Session 3 before A's application drains.
    new_session(&mut a, &mut b, &mut now);
    let mut m = [0u8; 128];
    let first = a.recv(&mut m);
    assert!(
        first.is_err(),
        "session 1's malformed piece fails: {first:?}"
    );
    for i in 2..4 {
        let r = a.recv(&mut m);
        assert!(
            matches!(r, Ok(Some(ref x)) if m[..x.len] == text(i)[..]),
            "session 2's message {i}: {r:?} (decompress_failed {})",
            a.stats().decompress_failed
        );
    }
}

/// PROTOCOL.md 4.1/4.5: hellos (and frames of other sessions) are never signs of life and
/// never make a session. A compact side whose full peer vanished is fed, every 100 ms, the
/// recorded hellos of the current session and every frame of an earlier one: it still ends
/// the session after 8 keepalive intervals (`PeerSilent`) and never comes up again.
#[test]
fn replayed_hellos_neither_keep_a_session_alive_nor_make_one() {
    for t in [Transport::Datagram, Transport::Stream] {
        let mut p = Pair {
            eps: [mk_compact(t, 50), mk_full(t, 60)],
            log: [vec![], vec![]],
            got: [vec![], vec![]],
            ev: [vec![], vec![]],
            now: 0,
        };
        p.pump(20);
        p.eps[0].send(0, b"old", p.now).unwrap();
        p.pump(20);
        // The full side restarts: a second session; its frames of the first are now stale.
        let old = p.log[1].len();
        p.eps[1] = mk_full(t, 61);
        p.pump(3000);
        assert!(p.eps[0].up() && p.eps[1].up());
        // Every frame of the first session; of the current one, its hellos (datagrams: the
        // kind is readable without unframing).
        let mut recorded: Vec<Vec<u8>> = p.log[1][..old].to_vec();
        if t == Transport::Datagram {
            use ferrule::frame::{Frame, FrameKind};
            recorded.extend(
                p.log[1][old..]
                    .iter()
                    .filter(|f| {
                        Frame::from_body(f).is_ok_and(|f| {
                            matches!(f.header.kind, FrameKind::Hello | FrameKind::HelloAck)
                        })
                    })
                    .cloned(),
            );
        }
        p.ev[0].clear();
        // The full side vanishes; the attacker replays everything it ever sent.
        let start = p.now;
        let mut buf = vec![0u8; 2048];
        let mut i = 0;
        while p.now < start + 20_000 {
            p.now += 100;
            p.eps[0].input(&recorded[i % recorded.len()], p.now);
            i += 1;
            if p.eps[0].deadline().is_some_and(|d| d <= p.now) {
                p.eps[0].timeout(p.now);
            }
            while p.eps[0].transmit(p.now, &mut buf).is_some() {}
            p.drain();
        }
        assert!(
            matches!(
                p.ev[0].first(),
                Some(Event::Down {
                    reason: ferrule::link::DownReason::PeerSilent,
                    ..
                })
            ),
            "{t:?}: {:?}",
            p.ev[0]
        );
        assert_eq!(p.ev[0].len(), 1, "{t:?}: {:?}", p.ev[0]);
        assert!(!p.eps[0].up());
    }
}
