//! The compact link's rules: restarts, the retry limit, peer silence, close, what it drops and
//! how it counts it, and garbage input.

mod compact_common;

/// Named `compact` so that `cargo test -p ferrule compact` selects every test here.
mod compact {
    use super::compact_common::*;

    use ferrule::compact::CompactConfig;
    use ferrule::frame::{AeadField, FrameKind, Header};
    use ferrule::link::{DownReason, Event, Transport};

    const LIMIT: u64 = 3_000_000;

    fn ep_full(t: Transport, seed: u64) -> Box<dyn Endpoint> {
        Box::new(full(t, seed))
    }

    fn ep_compact(t: Transport, seed: u64) -> Box<dyn Endpoint> {
        Box::new(compact(t, seed))
    }

    type Make = fn(Transport, u64) -> Box<dyn Endpoint>;

    /// Side `restarted` of (a, b) is replaced by a new instance with a new seed after 150
    /// messages each way, more in flight; the new session comes up, old-session frames are
    /// rejected and counted, and 300 messages each way of the new session flow exactly once, in
    /// order.
    fn restart_case(t: Transport, a: Make, b: Make, restarted: usize, seed: u64) {
        let makers = [a, b];
        let mut sim = Sim::new(a(t, seed), b(t, seed + 1), 300, MODERATE, seed);
        sim.hold[1] = LATENCY + 1;
        assert!(sim.run_until_delivered(150, LIMIT), "{:?}", sim.report());
        let before = sim.report();
        // Frames of the old session, as each side sent them last.
        let old = sim.sent_log.clone();
        sim.restart(restarted, makers[restarted](t, seed + 100));
        assert!(
            sim.run_until_delivered(300, sim.now + LIMIT),
            "{:?}",
            sim.report()
        );
        let r = sim.report();
        println!("{t:?} restart side {restarted}: before {before:?}\n  after {r:?}");
        let survivor = 1 - restarted;
        assert_eq!(r.ups[survivor], 2, "{r:?}");
        assert_eq!(r.downs[survivor], 1, "{r:?}");
        assert!(
            matches!(
                sim.down_events[0],
                (s, Event::Down { reason: DownReason::PeerRestarted, .. }) if s == survivor
            ),
            "{:?}",
            sim.down_events
        );
        // Frames of the old session, late: each side drops them (stale_session).
        let now = sim.now;
        for side in 0..2 {
            let before = sim.eps[side].counts().1;
            for f in &old[1 - side] {
                sim.eps[side].input(f, now);
            }
            assert!(sim.eps[side].counts().1 > before, "side {side}: {r:?}");
        }
        assert!(sim.run_until_delivered(300, now + LIMIT));
    }

    #[test]
    fn restart_of_either_side_with_the_full_link() {
        for (k, t) in [Transport::Stream, Transport::Datagram]
            .into_iter()
            .enumerate()
        {
            let s = 100 * k as u64;
            restart_case(t, ep_compact, ep_full, 0, 21 + s);
            restart_case(t, ep_compact, ep_full, 1, 23 + s);
            restart_case(t, ep_full, ep_compact, 0, 25 + s);
            restart_case(t, ep_full, ep_compact, 1, 27 + s);
        }
    }

    #[test]
    fn restart_compact_to_compact() {
        for (k, t) in [Transport::Stream, Transport::Datagram]
            .into_iter()
            .enumerate()
        {
            restart_case(t, ep_compact, ep_compact, 0, 31 + k as u64);
            restart_case(t, ep_compact, ep_compact, 1, 33 + k as u64);
        }
    }

    /// The peer vanishes with messages in flight: after `max_retransmits` timeouts the session
    /// ends, and the Down event names every message not acknowledged.
    #[test]
    fn retry_limit_names_the_unacked_messages() {
        for t in [Transport::Stream, Transport::Datagram] {
            let cfg = CompactConfig {
                max_retransmits: 5,
                keepalive: 60_000,
                ..compact_cfg(t)
            };
            let mut sim = Sim::new(Box::new(compact_with(cfg, 5)), ep_full(t, 6), 2, CLEAN, 9);
            assert!(sim.run_until_delivered(2, 10_000));
            // Both acknowledged: let the acks arrive.
            for _ in 0..50 {
                sim.step();
            }
            sim.sending = [false; 2];
            sim.faults.drop = 1000;
            let mut ids = Vec::new();
            for i in 0..3u32 {
                let (ch, m) = message(0, 9, i);
                ids.push(sim.eps[0].send(ch, &m, sim.now).unwrap());
            }
            assert_eq!(ids, [2, 3, 4]);
            while sim.downs[0] == 0 && sim.now < 100_000 {
                sim.step();
            }
            let s = sim.eps[0].counts();
            assert_eq!(
                sim.down_events[0],
                (
                    0,
                    Event::Down {
                        reason: DownReason::RetryLimit,
                        unacked: 3,
                        first: ferrule::link::MessageId(2)
                    }
                )
            );
            // The oldest went 5 more times; the other two wait after a timeout for an
            // acknowledgement (none came).
            assert_eq!(s.0, 5, "retransmissions");
            assert!(!sim.eps[0].up());
        }
    }

    /// Nothing heard for eight keepalive intervals: the session ends (peer silent).
    #[test]
    fn peer_silent_ends_the_session() {
        let cfg = CompactConfig {
            keepalive: 100,
            ..compact_cfg(Transport::Datagram)
        };
        let mut sim = Sim::new(
            Box::new(compact_with(cfg, 5)),
            ep_full(Transport::Datagram, 6),
            1,
            CLEAN,
            9,
        );
        assert!(sim.run_until_delivered(1, 10_000));
        // Idle but alive: keepalives keep it up.
        for _ in 0..3000 {
            sim.step();
        }
        assert_eq!(sim.downs, [0, 0]);
        sim.faults.drop = 1000;
        let at = sim.now;
        while sim.downs[0] == 0 && sim.now < at + 10_000 {
            sim.step();
        }
        assert!(matches!(
            sim.down_events[0],
            (
                0,
                Event::Down {
                    reason: DownReason::PeerSilent,
                    unacked: 0,
                    ..
                }
            )
        ));
        assert!(sim.now - at <= 8 * 100 + 10, "{}", sim.now - at);
    }

    /// `close` sends CLOSE: the peer reports it (peer closed), both come back up.
    #[test]
    fn close_both_ways() {
        for closer in 0..2 {
            let t = Transport::Stream;
            let mut sim = Sim::new(ep_compact(t, 1), ep_full(t, 2), 50, CLEAN, 3);
            assert!(sim.run_until_delivered(50, 10_000));
            let now = sim.now;
            sim.eps[closer].close_now(now);
            for _ in 0..3000 {
                sim.step();
            }
            let downs: Vec<_> = sim.down_events.iter().map(|(s, e)| (*s, *e)).collect();
            let reason = |s: usize| match downs.iter().find(|d| d.0 == s) {
                Some((_, Event::Down { reason, .. })) => Some(*reason),
                _ => None,
            };
            assert_eq!(reason(closer), Some(DownReason::LocalClose), "{downs:?}");
            assert_eq!(
                reason(1 - closer),
                Some(DownReason::PeerClosed),
                "{downs:?}"
            );
            assert_eq!(sim.ups, [2, 2]);
            assert!(sim.eps[0].up() && sim.eps[1].up());
        }
    }

    fn datagram(h: &Header, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; 512];
        let n = ferrule::encode_datagram(h, payload, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// Each form the compact link does not take is dropped under its own counter.
    #[test]
    fn what_it_does_not_take_is_counted() {
        let mut c = compact(Transport::Datagram, 1);
        // A keyed HELLO (AEAD field, 56-byte record).
        let mut h = Header::control(FrameKind::Hello);
        h.aead = Some(AeadField {
            key_id: 1,
            counter: 0,
        });
        c.l.handle_datagram(&datagram(&h, &[7; 56]), 0);
        // A HELLO with a malformed record.
        c.l.handle_datagram(&datagram(&Header::control(FrameKind::Hello), &[0; 40]), 0);
        // Untagged DATA; tagged DATA (best effort, not announced); an ACK of no session.
        c.l.handle_datagram(&datagram(&Header::data(3), b"x"), 0);
        let mut d = Header::data(3);
        d.seq = Some(1);
        c.l.handle_datagram(&datagram(&d, b"x"), 0);
        let mut a = Header::control(FrameKind::Ack);
        a.ack = Some(ferrule::Ack {
            next: 0,
            window: 1,
            sack: None,
        });
        c.l.handle_datagram(&datagram(&a, &[]), 0);
        // Framing: too short, bad CRC, oversize.
        c.l.handle_datagram(&[0x20, 0, 0], 0);
        let mut bad = datagram(&Header::data(1), b"abc");
        bad[3] ^= 1;
        c.l.handle_datagram(&bad, 0);
        c.l.handle_datagram(&[0; 2000], 0);
        let s = c.l.stats();
        assert_eq!(
            (
                s.unknown_key,
                s.unexpected,
                s.untagged,
                s.not_negotiated,
                s.stale_session
            ),
            (1, 1, 1, 1, 1)
        );
        assert_eq!(
            (s.framing.too_short, s.framing.bad_crc, s.framing.oversize),
            (1, 1, 1)
        );
        assert_eq!(s.frames_received, 5);
    }

    /// Random bytes, and valid frames of the peer mutated (with the CRC fixed, so they reach the
    /// link layer) or cut, fed to a compact link for a while: no panic; afterwards a new peer
    /// instance comes up with it and messages flow again.
    #[test]
    fn garbage_does_not_break_it() {
        for t in [Transport::Stream, Transport::Datagram] {
            let mut sim = Sim::new(ep_compact(t, 1), ep_full(t, 2), 1_000_000, CLEAN, 4);
            assert!(sim.run_until_delivered(100, 10_000));
            // Frames of the full side, as they are on the wire.
            let mut captured: Vec<Vec<u8>> = Vec::new();
            for _ in 0..200 {
                captured.extend(sim.wires[1].frames.iter().map(|(_, b)| b.clone()));
                sim.step();
            }
            let mut rng = Rng(0xDEAD_BEEF);
            let mut junk_out = vec![0u8; 256];
            for k in 0..50_000u32 {
                let now = sim.now + u64::from(k / 100);
                let bytes: Vec<u8> = match rng.below(3) {
                    0 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
                    _ => {
                        let f = &captured[rng.below(captured.len() as u64) as usize];
                        let mut body = match t {
                            Transport::Datagram => f.clone(),
                            Transport::Stream => {
                                let enc: Vec<u8> = f.iter().copied().filter(|&b| b != 0).collect();
                                let mut dec = vec![0u8; enc.len()];
                                match ferrule::cobs::decode(&enc, &mut dec) {
                                    Ok(n) => dec[..n].to_vec(),
                                    Err(_) => continue,
                                }
                            }
                        };
                        for _ in 0..1 + rng.below(3) {
                            if !body.is_empty() {
                                let i = rng.below(body.len().min(12) as u64) as usize;
                                body[i] = rng.next() as u8;
                            }
                        }
                        if body.len() > 4 && rng.chance(800) {
                            let n = body.len() - 4;
                            let crc = ferrule::crc::crc32c(&body[..n]).to_le_bytes();
                            body[n..].copy_from_slice(&crc);
                        }
                        match t {
                            Transport::Datagram => body,
                            Transport::Stream => {
                                let mut enc = vec![0u8; body.len() + body.len() / 254 + 2];
                                let n = ferrule::cobs::encode(&body, &mut enc).unwrap();
                                enc.truncate(n);
                                enc.push(0);
                                enc
                            }
                        }
                    }
                };
                sim.eps[0].input(&bytes, now);
                sim.eps[0].timeout(now);
                while sim.eps[0].transmit(now, &mut junk_out).is_some() {}
                while sim.eps[0].event().is_some() {}
                while sim.eps[0].receive(&mut junk_out).is_some() {}
            }
            sim.now += 600;
            // A new peer instance: the compact link takes it up and messages flow.
            sim.restart(1, ep_full(t, 77));
            sim.wires = Default::default();
            sim.n = 200;
            sim.next_recv = [0; 2];
            assert!(
                sim.run_until_delivered(200, sim.now + 200_000),
                "{t:?}: {:?}",
                sim.report()
            );
            println!("{t:?} after garbage: {:?}", sim.report());
        }
    }

    /// Window 255 both ways (ring indices near the top of their range), against the full link
    /// and itself.
    #[test]
    fn window_255() {
        for t in [Transport::Stream, Transport::Datagram] {
            let cfg = CompactConfig {
                window: 255,
                ..compact_cfg(t)
            };
            let r = run(
                Box::new(compact_with(cfg, 1)),
                Box::new(compact_with(cfg, 2)),
                3000,
                MODERATE,
                5,
                LIMIT,
            );
            assert_eq!((r.delivered, r.downs), ([3000, 3000], [0, 0]), "{r:?}");
            let r = run(
                Box::new(compact_with(cfg, 3)),
                ep_full(t, 4),
                3000,
                MODERATE,
                6,
                LIMIT,
            );
            assert_eq!((r.delivered, r.downs), ([3000, 3000], [0, 0]), "{r:?}");
        }
    }

    /// A keyed full link (AEAD): its hellos and sealed frames are dropped and counted
    /// (`unknown_key`), no session comes up on either side.
    #[cfg(feature = "aead")]
    #[test]
    fn a_keyed_peer_gets_no_session() {
        for t in [Transport::Stream, Transport::Datagram] {
            let mut f = full(t, 2);
            let guard: &'static mut ferrule::link::Guard =
                Box::leak(Box::new(ferrule::link::Guard::new(1, &[7; 32])));
            f.l.enable_aead(guard as &mut dyn ferrule::link::Sealer);
            let c = compact(t, 1);
            let mut sim = Sim::new(Box::new(c), Box::new(f), 10, CLEAN, 3);
            for _ in 0..10_000 {
                sim.step();
            }
            assert_eq!(sim.ups, [0, 0]);
            assert!(sim.eps[0].unknown_key() > 0);
        }
    }
}
