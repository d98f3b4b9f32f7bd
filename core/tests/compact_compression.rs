//! The compact link with compression (`CompactLink::set_codec`): the shared stream both ways
//! against the full link and itself over the lossy wire, a peer without compression, a
//! forged compressed payload, restarts.

mod compact_common;

/// Named `compact` so that `cargo test -p ferrule compact` selects every test here.
mod compact {
    use super::compact_common::*;

    use ferrule::compact::CompactLink;
    use ferrule::frame::{Compression, Frame, FrameKind};
    use ferrule::link::{DownReason, Event, RecvError, Transport};

    const LIMIT: u64 = 3_000_000;
    const N: u32 = 1_200;

    fn full_z(t: Transport, seed: u64) -> Box<dyn Endpoint> {
        let mut f = full(t, seed);
        f.l.set_codec(shared_codec());
        Box::new(f)
    }

    fn compact_z(t: Transport, seed: u64) -> Box<dyn Endpoint> {
        let mut c = compact(t, seed);
        c.l.set_codec(shared_codec());
        Box::new(c)
    }

    type Make = fn(Transport, u64) -> Box<dyn Endpoint>;

    /// `N` compressible messages each way over the moderate wire, `initiator` sending its
    /// hello first; checks exactly once, in order, byte for byte (the driver), and that both
    /// codecs compressed.
    fn shared_run(t: Transport, a: Make, b: Make, initiator: usize, seed: u64) -> Report {
        let mut sim = Sim::new(a(t, seed), b(t, seed + 1), N, MODERATE, seed);
        sim.text = true;
        sim.hold[1 - initiator] = LATENCY + 1;
        let done = sim.run_until_delivered(N, LIMIT);
        let r = sim.report();
        assert!(done, "{r:?}");
        assert_eq!((r.ups, r.downs), ([1, 1], [0, 0]), "{r:?}");
        for side in 0..2 {
            let z = sim.eps[side].codec_stats().unwrap();
            // Every message went through the shared stream, and it paid.
            assert!(z.compressed > u64::from(N) / 2, "side {side}: {z:?}");
            assert!(z.bytes_out * 10 < z.bytes_in * 7, "side {side}: {z:?}");
            assert_eq!(z.failed, 0, "side {side}: {z:?}");
            println!(
                "{t:?} initiator {initiator} side {side}: {} messages, {} -> {} B ({:.0} %), \
                 {} retransmissions",
                z.compressed + z.not_smaller,
                z.bytes_in,
                z.bytes_out,
                100.0 * z.bytes_out as f64 / z.bytes_in as f64,
                r.retransmissions[side]
            );
        }
        r
    }

    /// Compact ↔ full, shared compression both ways, both transports, both roles.
    #[test]
    fn shared_compression_with_the_full_link() {
        for t in [Transport::Stream, Transport::Datagram] {
            for initiator in 0..2 {
                shared_run(t, compact_z, full_z, initiator, 0xC0 + initiator as u64);
            }
        }
    }

    /// Compact ↔ compact, shared compression both ways, both transports.
    #[test]
    fn shared_compression_between_compact_links() {
        for t in [Transport::Stream, Transport::Datagram] {
            shared_run(t, compact_z, compact_z, 0, 0xD0);
        }
    }

    /// A peer that announces no compression gets raw frames (and the compact side without a
    /// codec gets raw frames from a full peer with one).
    #[test]
    fn a_peer_without_compression_gets_raw_frames() {
        let plain_full = |t, s| -> Box<dyn Endpoint> { Box::new(full(t, s)) };
        let plain_compact = |t, s| -> Box<dyn Endpoint> { Box::new(compact(t, s)) };
        let pairs: [(Make, Make); 3] = [
            (compact_z, plain_full),
            (compact_z, plain_compact),
            (plain_compact, full_z),
        ];
        for t in [Transport::Stream, Transport::Datagram] {
            for (a, b) in pairs {
                let mut sim = Sim::new(a(t, 5), b(t, 6), 300, MODERATE, 7);
                sim.text = true;
                assert!(sim.run_until_delivered(300, LIMIT), "{:?}", sim.report());
                for side in 0..2 {
                    if let Some(z) = sim.eps[side].codec_stats() {
                        assert_eq!((z.compressed, z.inflated, z.failed), (0, 0, 0), "{z:?}");
                    }
                }
            }
        }
    }

    /// A restart of either side mid-run: the new session's shared stream starts afresh on
    /// both sides, messages flow exactly once again.
    #[test]
    fn restart_restarts_the_shared_stream() {
        for t in [Transport::Stream, Transport::Datagram] {
            for restarted in 0..2 {
                let makers: [Make; 2] = [compact_z, full_z];
                let mut sim = Sim::new(compact_z(t, 11), full_z(t, 12), 400, MODERATE, 13);
                sim.text = true;
                assert!(sim.run_until_delivered(150, LIMIT), "{:?}", sim.report());
                sim.restart(restarted, makers[restarted](t, 111));
                assert!(
                    sim.run_until_delivered(400, sim.now + LIMIT),
                    "{:?}",
                    sim.report()
                );
                let survivor = 1 - restarted;
                assert_eq!(sim.report().ups[survivor], 2);
                let z = sim.eps[survivor].codec_stats().unwrap();
                assert_eq!(z.failed, 0, "{z:?}");
                assert!(z.inflated > 400, "{z:?}");
            }
        }
    }

    /// Steps a compact link `c` and a full link `f` over a clean datagram wire for `ms`.
    fn pump(c: &mut CompactLink<'static>, f: &mut ferrule::link::Link<'static>, now: &mut u64) {
        let mut buf = [0u8; 512];
        for _ in 0..20 {
            if c.poll_timeout().is_some_and(|t| t <= *now) {
                c.handle_timeout(*now);
            }
            if f.poll_timeout().is_some_and(|t| t <= *now) {
                f.handle_timeout(*now);
            }
            while let Some(n) = c.poll_transmit(*now, &mut buf).unwrap() {
                f.handle_datagram(&buf[..n], *now);
            }
            while let Some(n) = f.poll_transmit(*now, &mut buf).unwrap() {
                c.handle_datagram(&buf[..n], *now);
            }
            *now += 1;
        }
    }

    /// A compressed payload corrupted so that it does not inflate, with a valid CRC (forged):
    /// the compact side counts it, `recv` reports it, the session ends (`DecompressFailed`,
    /// the peer told with CLOSE), and a new one works. No panic.
    #[test]
    fn a_forged_compressed_payload_is_counted_and_reported() {
        let t = Transport::Datagram;
        let mut c = compact(t, 21).l;
        c.set_codec(shared_codec());
        let mut f = full(t, 22).l;
        f.set_codec(shared_codec());
        let mut now = 0;
        pump(&mut c, &mut f, &mut now);
        assert!(c.is_up() && f.is_up());
        let mut out = [0u8; M];
        let (_, msg) = text_message(1, 0, 0);
        // One good message, then one forged.
        f.send(0, &msg, now).unwrap();
        pump(&mut c, &mut f, &mut now);
        assert_eq!(c.recv(&mut out).unwrap().unwrap().len, msg.len());
        f.send(1, &msg, now).unwrap();
        let mut buf = [0u8; 512];
        let n = f.poll_transmit(now, &mut buf).unwrap().unwrap();
        let fr = Frame::from_body(&buf[..n]).unwrap();
        assert_eq!(fr.header.kind, FrameKind::Rdata);
        assert!(matches!(
            fr.header.compression,
            Compression::Shared | Compression::SharedRaw
        ));
        let mut h = fr.header;
        h.compression = Compression::Shared;
        // A reserved deflate block type (BTYPE 11): never valid.
        let bad = vec![0x07u8; fr.payload.len().max(4)];
        let mut forged = [0u8; 512];
        let k = ferrule::encode_datagram(&h, &bad, &mut forged).unwrap();
        c.handle_datagram(&forged[..k], now);
        let r = c.recv(&mut out);
        assert!(
            matches!(r, Err(RecvError::Decompress { channel: 1, .. })),
            "{r:?}"
        );
        assert_eq!(c.stats().decompress_failed, 1);
        assert_eq!(c.codec().unwrap().stats().failed, 1);
        assert_eq!(c.recv(&mut out).unwrap(), None);
        pump(&mut c, &mut f, &mut now);
        let mut downs = Vec::new();
        while let Some(e) = c.poll_event() {
            downs.push(e);
        }
        assert!(
            downs.iter().any(|e| matches!(
                e,
                Event::Down {
                    reason: DownReason::DecompressFailed,
                    ..
                }
            )),
            "{downs:?}"
        );
        let mut fdowns = Vec::new();
        while let Some(e) = f.poll_event() {
            fdowns.push(e);
        }
        assert!(
            fdowns.iter().any(|e| matches!(
                e,
                Event::Down {
                    reason: DownReason::PeerClosed,
                    ..
                }
            )),
            "{fdowns:?}"
        );
        // A new session, a new shared stream: messages decompress again.
        pump(&mut c, &mut f, &mut now);
        assert!(c.is_up() && f.is_up());
        for i in 0..20 {
            let (_, m) = text_message(1, 1, i);
            f.send(0, &m, now).unwrap();
            pump(&mut c, &mut f, &mut now);
            let got = c.recv(&mut out).unwrap().unwrap();
            assert_eq!(&out[..got.len], &m[..]);
        }
        assert_eq!(c.stats().decompress_failed, 1);
    }

    /// A frame in a representation this side did not announce is dropped, `not_negotiated`:
    /// any compressed one without a codec, a dictionary it does not have with one.
    #[test]
    fn an_unannounced_representation_is_not_negotiated() {
        let t = Transport::Datagram;
        for with_codec in [false, true] {
            let mut c = compact(t, 41).l;
            if with_codec {
                c.set_codec(shared_codec());
            }
            let mut f = full(t, 42).l;
            let mut now = 0;
            pump(&mut c, &mut f, &mut now);
            assert!(c.is_up());
            f.send(0, b"raw", now).unwrap();
            let mut buf = [0u8; 512];
            let n = f.poll_transmit(now, &mut buf).unwrap().unwrap();
            let fr = Frame::from_body(&buf[..n]).unwrap();
            let reprs: &[Compression] = if with_codec {
                &[Compression::Dictionary(7)]
            } else {
                &[
                    Compression::Shared,
                    Compression::SharedRaw,
                    Compression::Deflate,
                    Compression::Dictionary(7),
                ]
            };
            for (i, r) in reprs.iter().enumerate() {
                let mut h = fr.header;
                h.compression = *r;
                let mut forged = [0u8; 512];
                let k = ferrule::encode_datagram(&h, fr.payload, &mut forged).unwrap();
                c.handle_datagram(&forged[..k], now);
                assert_eq!(c.stats().not_negotiated as usize, i + 1, "{r:?}");
            }
            let mut out = [0u8; M];
            assert_eq!(c.recv(&mut out).unwrap(), None);
            // The real one still arrives.
            c.handle_datagram(&buf[..n], now);
            assert_eq!(c.recv(&mut out).unwrap().unwrap().len, 3);
        }
    }

    /// Messages of a session still queued when the peer restarts decompress with that
    /// session's stream; the new session's with a fresh one.
    #[test]
    fn queued_messages_of_an_earlier_session_decompress_with_its_stream() {
        let t = Transport::Datagram;
        let mut c = compact(t, 51).l;
        c.set_codec(shared_codec());
        let mut f = full(t, 52).l;
        f.set_codec(shared_codec());
        let mut now = 0;
        pump(&mut c, &mut f, &mut now);
        let old: Vec<Vec<u8>> = (0..3).map(|i| text_message(1, 0, 40 + i).1).collect();
        for m in &old {
            f.send(0, m, now).unwrap();
            pump(&mut c, &mut f, &mut now);
        }
        // The peer restarts; the application has taken nothing yet.
        let mut f = full(t, 53).l;
        f.set_codec(shared_codec());
        pump(&mut c, &mut f, &mut now);
        pump(&mut c, &mut f, &mut now);
        assert!(c.is_up() && f.is_up());
        let new: Vec<Vec<u8>> = (0..4).map(|i| text_message(1, 1, 40 + i).1).collect();
        let mut got = Vec::new();
        let mut out = [0u8; M];
        let mut sent = 0;
        for _ in 0..50 {
            if sent < new.len() && f.send(0, &new[sent], now).is_ok() {
                sent += 1;
            }
            pump(&mut c, &mut f, &mut now);
            // One at a time: the old ones first, while new ones arrive behind them.
            if let Some(r) = c.recv(&mut out).unwrap() {
                got.push(out[..r.len].to_vec());
            }
        }
        let want: Vec<Vec<u8>> = old.iter().chain(new.iter()).cloned().collect();
        assert_eq!(got, want);
        assert_eq!(c.stats().decompress_failed, 0);
        let z = c.codec().unwrap().stats();
        assert!(
            z.inflated >= 4,
            "{z:?} {:?}",
            want.iter().map(Vec::len).collect::<Vec<_>>()
        );
    }

    /// A compressed message needs a `max_message` buffer at `recv` (it stays queued until
    /// then); a raw one only its length.
    #[test]
    fn recv_of_a_compressed_message_needs_max_message() {
        let t = Transport::Datagram;
        let mut c = compact(t, 31).l;
        c.set_codec(shared_codec());
        let mut f = full(t, 32).l;
        f.set_codec(shared_codec());
        let mut now = 0;
        pump(&mut c, &mut f, &mut now);
        let msg = b"temperature=1 ".repeat(7);
        f.send(0, &msg, now).unwrap();
        pump(&mut c, &mut f, &mut now);
        let mut small = vec![0u8; msg.len()];
        assert_eq!(
            c.recv(&mut small),
            Err(RecvError::BufferTooSmall { needed: M })
        );
        let mut out = [0u8; M];
        assert_eq!(c.recv(&mut out).unwrap().unwrap().len, msg.len());
        assert_eq!(&out[..msg.len()], &msg[..]);
        // set_codec on a live link: the announcement changes, the session ends (rule 7).
        c.set_codec(shared_codec());
        assert!(!c.is_up());
    }
}
