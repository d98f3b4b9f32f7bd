//! The compact link against the full `Link` and against itself, both roles, both transports,
//! over a seeded lossy wire.

mod compact_common;

/// Named `compact` so that `cargo test -p ferrule compact` selects every test here.
mod compact {
    use super::compact_common::*;

    use ferrule::link::Transport;

    const N: u32 = 2000;
    const LIMIT: u64 = 2_000_000;

    fn check(r: &Report, n: u32) {
        println!("{r:?}");
        assert_eq!(r.delivered, [n, n], "{r:?}");
        assert_eq!(r.downs, [0, 0], "no session lost: {r:?}");
        assert_eq!(r.ups, [1, 1], "{r:?}");
    }

    fn transports() -> [Transport; 2] {
        [Transport::Stream, Transport::Datagram]
    }

    #[test]
    fn compact_initiator_full_responder_lossy() {
        // The compact side starts first (its HELLO goes out before the full one exists on the
        // wire): it is the initiator; the full link answers.
        for (k, t) in transports().into_iter().enumerate() {
            let c = compact(t, 0x1111 + k as u64);
            let f = full(t, 0x2222 + k as u64);
            let r = run(Box::new(c), Box::new(f), N, MODERATE, 7 + k as u64, LIMIT);
            check(&r, N);
        }
    }

    #[test]
    fn full_initiator_compact_responder_lossy() {
        for (k, t) in transports().into_iter().enumerate() {
            let f = full(t, 0x3333 + k as u64);
            let c = compact(t, 0x4444 + k as u64);
            let r = run(Box::new(f), Box::new(c), N, MODERATE, 11 + k as u64, LIMIT);
            check(&r, N);
        }
    }

    #[test]
    fn compact_to_compact_lossy() {
        for (k, t) in transports().into_iter().enumerate() {
            let a = compact(t, 0x5555 + k as u64);
            let b = compact(t, 0x6666 + k as u64);
            let r = run(Box::new(a), Box::new(b), N, MODERATE, 13 + k as u64, LIMIT);
            check(&r, N);
        }
    }

    #[test]
    fn clean_wire_has_no_retransmissions() {
        for t in transports() {
            let c = compact(t, 1);
            let f = full(t, 2);
            let r = run(Box::new(c), Box::new(f), 500, CLEAN, 3, LIMIT);
            check(&r, 500);
            assert_eq!(r.retransmissions, [0, 0], "{r:?}");
        }
    }

    /// The reference: the full link against itself on the same wire (for the numbers).
    #[test]
    fn full_to_full_reference() {
        for (k, t) in transports().into_iter().enumerate() {
            let a = full(t, 0x7777 + k as u64);
            let b = full(t, 0x8888 + k as u64);
            let r = run(Box::new(a), Box::new(b), N, MODERATE, 17 + k as u64, LIMIT);
            check(&r, N);
        }
    }

    /// Different sizes each side: a full link of 8 × 256 against a compact link of 2 × 128
    /// (each side keeps to the other's window and largest message), and stream input fed in
    /// pieces of 1 to 8 bytes.
    #[test]
    fn different_windows_and_chunked_input() {
        for (k, t) in transports().into_iter().enumerate() {
            let f = full_with(t, 0x99 + k as u64, 8, 256);
            let cfg = ferrule::compact::CompactConfig {
                window: 2,
                ..compact_cfg(t)
            };
            let c = compact_with(cfg, 0xAA + k as u64);
            let mut sim = Sim::new(Box::new(c), Box::new(f), 1000, MODERATE, 23 + k as u64);
            sim.hold[1] = LATENCY + 1;
            sim.chunked = [t == Transport::Stream; 2];
            assert!(sim.run_until_delivered(1000, LIMIT), "{:?}", sim.report());
            let r = sim.report();
            println!("{t:?} 8x256 full, 2x128 compact: {r:?}");
            assert_eq!(r.downs, [0, 0]);
        }
    }
}
