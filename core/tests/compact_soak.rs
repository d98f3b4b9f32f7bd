//! Many seeds and heavier loss (ignored by default: `cargo test -p ferrule --test compact_soak
//! -- --ignored`).

mod compact_common;

/// Named `compact` so that `cargo test -p ferrule compact` selects every test here.
mod compact {
    use super::compact_common::*;

    use ferrule::link::Transport;

    #[test]
    #[ignore]
    fn many_seeds_heavier_loss() {
        let heavy = Faults {
            drop: 150,
            corrupt: 50,
            duplicate: 50,
            reorder: 100,
        };
        let mut totals = [0u32; 3];
        for seed in 0..40u64 {
            for t in [Transport::Stream, Transport::Datagram] {
                for faults in [MODERATE, heavy] {
                    for pairing in 0..3 {
                        let (a, b): (Box<dyn Endpoint>, Box<dyn Endpoint>) = match pairing {
                            0 => (
                                Box::new(compact(t, seed * 7 + 1)),
                                Box::new(full(t, seed * 7 + 2)),
                            ),
                            1 => (
                                Box::new(full(t, seed * 7 + 3)),
                                Box::new(compact(t, seed * 7 + 4)),
                            ),
                            _ => (
                                Box::new(compact(t, seed * 7 + 5)),
                                Box::new(compact(t, seed * 7 + 6)),
                            ),
                        };
                        let r = run(a, b, 300, faults, seed + 1000, 3_000_000);
                        assert_eq!(
                            r.delivered,
                            [300, 300],
                            "{seed} {t:?} {faults:?} {pairing}: {r:?}"
                        );
                        totals[0] += r.downs[0] + r.downs[1];
                        totals[1] += r.dropped;
                        totals[2] += r.retransmissions[0] + r.retransmissions[1];
                        if r.downs != [0, 0] {
                            println!("{seed} {t:?} {faults:?} {pairing}: {r:?}");
                        }
                    }
                }
            }
        }
        println!(
            "downs {} dropped {} retransmissions {}",
            totals[0], totals[1], totals[2]
        );
    }

    /// 20,000 messages each way over 80 s of simulated time: past the 16-bit wrap of `ts`
    /// (65.5 s).
    #[test]
    #[ignore]
    fn long_run_past_the_wraps() {
        for t in [Transport::Stream, Transport::Datagram] {
            let r = run(
                Box::new(compact(t, 41)),
                Box::new(full(t, 42)),
                20_000,
                MODERATE,
                43,
                10_000_000,
            );
            println!("{t:?}: {r:?}");
            assert_eq!((r.delivered, r.downs), ([20_000, 20_000], [0, 0]), "{r:?}");
            assert!(r.end > 70_000, "{}", r.end);
        }
    }
}
