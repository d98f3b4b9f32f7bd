//! FEC: parity against a reference encoder written from the documented construction, and
//! repair under every kind of loss, duplication, reordering and garbage.

use ferrule::fec::{
    max_parity_len, Carries, ConfigError, FecRx, FecTx, Parity, ParityError, MAX_K, MAX_M,
};
use proptest::prelude::*;

/// xorshift64*: seeded, reproducible test data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// GF(2^8) product modulo 0x11D, bit by bit (independent of the crate's tables).
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        a = (a << 1) ^ if a & 0x80 != 0 { 0x1D } else { 0 };
        b >>= 1;
    }
    p
}

fn gf_inv(a: u8) -> u8 {
    (1..=255).find(|&x| gf_mul(a, x) == 1).unwrap()
}

/// The parity payloads of one group, straight from the documented formula.
fn reference_parity(first: u8, m: usize, bodies: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let l = bodies.iter().map(Vec::len).max().unwrap();
    (0..m)
        .map(|j| {
            let mut p = vec![0u8; 2 + l];
            for (i, body) in bodies.iter().enumerate() {
                let mut sym = (body.len() as u16).to_le_bytes().to_vec();
                sym.extend_from_slice(body);
                let c = gf_inv(j as u8 ^ (m + i) as u8);
                for (pb, sb) in p.iter_mut().zip(&sym) {
                    *pb ^= gf_mul(c, *sb);
                }
            }
            let mut payload = vec![first, bodies.len() as u8, j as u8, m as u8];
            payload.extend_from_slice(&p);
            payload
        })
        .collect()
}

/// One group as sent: its data frames and parity payloads.
#[derive(Debug, Clone)]
struct Sent {
    first: u8,
    data: Vec<(u8, Vec<u8>)>,
    parity: Vec<Vec<u8>>,
}

/// A sender with its memory, and helpers that produce whole groups.
struct Sender {
    tx: FecTx<'static>,
}

impl Sender {
    fn new(k: usize, m: usize, max_body: usize) -> Self {
        let mem = vec![0u8; FecTx::storage_size(m, max_body)].leak();
        Self {
            tx: FecTx::new(k, m, max_body, mem).unwrap(),
        }
    }

    /// Sends `bodies` as one group (closing it early if shorter than k).
    fn group(&mut self, bodies: &[Vec<u8>]) -> Sent {
        let first = self.tx.next_seq();
        let mut data = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            let seq = self.tx.next_seq();
            assert_eq!(self.tx.add(body, i as u64), Ok(seq));
            data.push((seq, body.clone()));
        }
        self.tx.close_group();
        let mut parity = Vec::new();
        let mut buf = vec![0u8; max_parity_len(self.tx.max_body())];
        while let Some(n) = self.tx.next_parity(&mut buf) {
            parity.push(buf[..n].to_vec());
        }
        Sent {
            first,
            data,
            parity,
        }
    }

    /// Advances the numbering by `count` frames nobody receives.
    fn skip(&mut self, count: usize) {
        for _ in 0..count {
            self.tx.add(b"", 0).unwrap();
            if self.tx.parity_pending() > 0 {
                while self.tx.next_parity(&mut [0u8; 16]).is_some() {}
            }
        }
        self.tx.close_group();
        while self.tx.next_parity(&mut [0u8; 16]).is_some() {}
    }
}

fn receiver(k: usize, m: usize, max_body: usize, groups: usize) -> FecRx<'static> {
    let mem = vec![0u8; FecRx::storage_size(k, m, max_body, groups)].leak();
    FecRx::new(k, m, max_body, groups, mem).unwrap()
}

fn drain(rx: &mut FecRx, max_body: usize) -> Vec<Vec<u8>> {
    let mut out = vec![0u8; max_body];
    let mut got = Vec::new();
    while let Some(n) = rx.next_recovered(&mut out) {
        assert!(n <= max_body);
        got.push(out[..n].to_vec());
    }
    got
}

/// Random bodies for a group of `n` (lengths 0..=max_body, one of them often the longest).
fn bodies(rng: &mut Rng, n: usize, max_body: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let len = if rng.below(4) == 0 {
                max_body
            } else {
                rng.below(max_body + 1)
            };
            rng.bytes(len)
        })
        .collect()
}

/// `count` distinct positions out of `0..total`.
fn pick(rng: &mut Rng, total: usize, count: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..total).collect();
    for i in 0..count {
        let j = i + rng.below(total - i);
        all.swap(i, j);
    }
    all.truncate(count);
    all
}

#[test]
fn parity_matches_the_documented_construction() {
    let mut rng = Rng::new(7);
    for (k, m, max_body) in [(4, 2, 40), (1, 1, 0), (32, 16, 64), (8, 3, 300)] {
        let mut s = Sender::new(k, m, max_body);
        s.skip(rng.below(256));
        for n in [k, 1, k.div_ceil(2)] {
            let b = bodies(&mut rng, n, max_body);
            let sent = s.group(&b);
            assert_eq!(
                sent.parity,
                reference_parity(sent.first, m, &b),
                "k={k} m={m} n={n}"
            );
        }
    }
}

#[test]
fn pinned_vector() {
    // `cargo run --example fec_vectors -- --lose 0,2 010203 04 "" 05060708` prints these.
    let bodies: Vec<Vec<u8>> = vec![vec![1, 2, 3], vec![4], vec![], vec![5, 6, 7, 8]];
    let mut s = Sender::new(4, 2, 8);
    let sent = s.group(&bodies);
    assert_eq!(sent.parity, reference_parity(0, 2, &bodies));
    assert_eq!(
        sent.parity[0],
        [0, 4, 0, 2, 0xdd, 0x00, 0x78, 0xf4, 0xdd, 0x51]
    );
    assert_eq!(
        sent.parity[1],
        [0, 4, 1, 2, 0x8e, 0x00, 0xb0, 0x7a, 0xc9, 0x02]
    );
}

/// Delivers the groups with the given erasures (positions in `0..n + m`, data first), in
/// order, draining after each group. Returns what was recovered per group.
fn run(rx: &mut FecRx, sent: &[Sent], erased: &[Vec<usize>], max_body: usize) -> Vec<Vec<Vec<u8>>> {
    let mut recovered = Vec::new();
    for (g, e) in sent.iter().zip(erased) {
        for (i, (seq, body)) in g.data.iter().enumerate() {
            if !e.contains(&i) {
                rx.on_protected(*seq, body);
            }
        }
        for (j, p) in g.parity.iter().enumerate() {
            if !e.contains(&(g.data.len() + j)) {
                assert_eq!(rx.on_parity(p), Ok(()));
            }
        }
        recovered.push(drain(rx, max_body));
    }
    recovered
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any ≤ m erasures per group, data and parity alike, are repaired byte-exactly; more
    /// are reported unrecoverable once superseded and nothing is emitted for them.
    #[test]
    fn erasures_up_to_m_are_repaired_and_more_are_reported(
        k in 1..=MAX_K,
        m in 1..=MAX_M,
        max_body in 0usize..300,
        groups in 1usize..10,
        skip in 0usize..256,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let mut s = Sender::new(k, m, max_body);
        let rx_groups = 2.max(4.min(128 / k));
        let mut rx = receiver(k, m, max_body, rx_groups);
        s.skip(skip);
        let mut sent = Vec::new();
        let mut erased = Vec::new();
        for _ in 0..groups {
            let n = if rng.below(2) == 0 { k } else { 1 + rng.below(k) };
            let g = s.group(&bodies(&mut rng, n, max_body));
            let count = if rng.below(4) == 0 { rng.below(n + m + 1) } else { rng.below(m + 1) };
            erased.push(pick(&mut rng, n + m, count));
            sent.push(g);
        }
        let recovered = run(&mut rx, &sent, &erased, max_body);
        let mut expect_unrecoverable = 0;
        let mut expect_recovered = 0;
        for ((g, e), got) in sent.iter().zip(&erased).zip(&recovered) {
            let n = g.data.len();
            let mut lost: Vec<usize> = e.iter().copied().filter(|&i| i < n).collect();
            lost.sort();
            let want: Vec<Vec<u8>> = lost.iter().map(|&i| g.data[i].1.clone()).collect();
            if e.len() <= m {
                prop_assert_eq!(got, &want);
                expect_recovered += want.len();
            } else {
                prop_assert!(got.is_empty());
                // Known to the receiver only if some parity arrived.
                if (n..n + m).any(|i| !e.contains(&i)) {
                    expect_unrecoverable += 1;
                }
            }
        }
        rx.reset();
        let st = *rx.stats();
        prop_assert_eq!(st.recovered as usize, expect_recovered);
        prop_assert_eq!(st.unrecoverable, expect_unrecoverable);
        prop_assert_eq!(st.inconsistent, 0);
        prop_assert_eq!(st.parity_rejected(), 0);
        prop_assert_eq!(st.evicted, 0);
    }

    /// Within a group, frames arrive shuffled and some twice, parity possibly first; with
    /// ≤ m erasures exactly the lost bodies come out (a body rebuilt before its original
    /// arrived is withdrawn when the original comes).
    #[test]
    fn reordered_and_duplicated_arrivals(
        k in 1..=16usize,
        m in 1..=8usize,
        max_body in 1usize..100,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let mut s = Sender::new(k, m, max_body);
        let mut rx = receiver(k, m, max_body, 2);
        s.skip(rng.below(256));
        let mut total = 0;
        for _ in 0..6 {
            let n = 1 + rng.below(k);
            let g = s.group(&bodies(&mut rng, n, max_body));
            let count = rng.below(m + 1);
            let e = pick(&mut rng, n + m, count);
            let mut order: Vec<usize> = (0..n + m).filter(|i| !e.contains(i)).collect();
            let dups: Vec<usize> = order.iter().copied().filter(|_| rng.below(3) == 0).collect();
            order.extend(dups);
            let len = order.len();
            for i in 0..len {
                order.swap(i, i + rng.below(len - i));
            }
            for &i in &order {
                if i < n {
                    rx.on_protected(g.data[i].0, &g.data[i].1);
                } else {
                    prop_assert_eq!(rx.on_parity(&g.parity[i - n]), Ok(()));
                }
            }
            let mut lost: Vec<usize> = e.iter().copied().filter(|&i| i < n).collect();
            lost.sort();
            let want: Vec<Vec<u8>> = lost.iter().map(|&i| g.data[i].1.clone()).collect();
            prop_assert_eq!(drain(&mut rx, max_body), want);
            total += lost.len();
        }
        prop_assert_eq!(rx.stats().recovered as usize, total);
        prop_assert_eq!(rx.stats().unrecoverable, 0);
    }

    /// Arbitrary payloads never panic, are rejected with a reason or accepted, and every
    /// rejection is counted.
    #[test]
    fn arbitrary_parity_payloads(payloads in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..40), 0..20)
    ) {
        let mut rx = receiver(4, 2, 16, 2);
        let mut rejected = 0;
        for p in &payloads {
            if rx.on_parity(p).is_err() {
                rejected += 1;
            }
            for b in drain(&mut rx, 16) {
                prop_assert!(b.len() <= 16);
            }
        }
        prop_assert_eq!(rx.stats().parity_rejected(), rejected);
    }
}

#[test]
fn parity_before_data_and_late_parity() {
    let (k, m, mb) = (4, 2, 20);
    let mut s = Sender::new(k, m, mb);
    let mut rx = receiver(k, m, mb, 3);
    let mut rng = Rng::new(3);
    let a = s.group(&bodies(&mut rng, 4, mb));
    let b = s.group(&bodies(&mut rng, 4, mb));
    // Group a's parity first, then its data minus frame 2: frame 2 is rebuilt.
    for p in &a.parity {
        rx.on_parity(p).unwrap();
    }
    for (i, (seq, body)) in a.data.iter().enumerate() {
        if i != 2 {
            rx.on_protected(*seq, body);
        }
    }
    assert_eq!(drain(&mut rx, mb), vec![a.data[2].1.clone()]);
    // Group b's data (minus 0 and 3), then group c's data, then b's parity late.
    let c = s.group(&bodies(&mut rng, 4, mb));
    for (i, (seq, body)) in b.data.iter().enumerate() {
        if i != 0 && i != 3 {
            rx.on_protected(*seq, body);
        }
    }
    for (seq, body) in &c.data {
        rx.on_protected(*seq, body);
    }
    assert!(drain(&mut rx, mb).is_empty());
    for p in &b.parity {
        rx.on_parity(p).unwrap();
    }
    assert_eq!(
        drain(&mut rx, mb),
        vec![b.data[0].1.clone(), b.data[3].1.clone()]
    );
    assert_eq!(rx.stats().groups_repaired, 2);
}

#[test]
fn rebuilt_body_withdrawn_when_the_original_arrives_first() {
    let (k, m, mb) = (3, 1, 10);
    let mut s = Sender::new(k, m, mb);
    let mut rx = receiver(k, m, mb, 2);
    let g = s.group(&[b"aa".to_vec(), b"bbb".to_vec(), b"c".to_vec()]);
    rx.on_parity(&g.parity[0]).unwrap();
    rx.on_protected(g.data[0].0, &g.data[0].1);
    rx.on_protected(g.data[1].0, &g.data[1].1); // frame 2 is rebuilt here...
    rx.on_protected(g.data[2].0, &g.data[2].1); // ...and arrives before it was taken
    assert!(drain(&mut rx, mb).is_empty());
    assert_eq!(rx.stats().late, 1);
    // Once taken, a later original is a plain duplicate.
    let g = s.group(&[b"dd".to_vec(), b"e".to_vec(), b"ff".to_vec()]);
    rx.on_parity(&g.parity[0]).unwrap();
    rx.on_protected(g.data[1].0, &g.data[1].1);
    rx.on_protected(g.data[2].0, &g.data[2].1);
    assert_eq!(drain(&mut rx, mb), vec![b"dd".to_vec()]);
    rx.on_protected(g.data[0].0, &g.data[0].1);
    assert_eq!(rx.stats().duplicate, 1);
    assert!(drain(&mut rx, mb).is_empty());
}

#[test]
fn wrap_around_of_fec_seq() {
    let (k, m, mb) = (8, 2, 30);
    let mut s = Sender::new(k, m, mb);
    let mut rx = receiver(k, m, mb, 2);
    let mut rng = Rng::new(11);
    s.skip(252); // the next group spans 252..=259 mod 256
    for round in 0..70 {
        let g = s.group(&bodies(&mut rng, k, mb));
        let lost = [round % k, (round * 3 + 1) % k];
        let e: Vec<usize> = if lost[0] == lost[1] {
            vec![lost[0]]
        } else {
            lost.to_vec()
        };
        let got = run(
            &mut rx,
            std::slice::from_ref(&g),
            std::slice::from_ref(&e),
            mb,
        );
        let mut idx = e.clone();
        idx.sort();
        let want: Vec<Vec<u8>> = idx.iter().map(|&i| g.data[i].1.clone()).collect();
        assert_eq!(got[0], want, "round {round} first {}", g.first);
    }
    assert_eq!(rx.stats().unrecoverable, 0);
}

#[test]
fn unrecoverable_counted_once_superseded() {
    let (k, m, mb) = (4, 1, 10);
    let mut s = Sender::new(k, m, mb);
    let mut rx = receiver(k, m, mb, 2);
    let mut rng = Rng::new(5);
    let g = s.group(&bodies(&mut rng, 4, mb));
    run(&mut rx, std::slice::from_ref(&g), &[vec![0, 1]], mb);
    assert_eq!(rx.stats().unrecoverable, 0); // frames 0 or 1 could still come
                                             // Two more full groups push the first out of the 8-frame window.
    for _ in 0..2 {
        let g = s.group(&bodies(&mut rng, 4, mb));
        assert!(run(&mut rx, std::slice::from_ref(&g), &[vec![]], mb)[0].is_empty());
    }
    assert_eq!(rx.stats().unrecoverable, 1);
    assert_eq!(rx.stats().groups_intact, 2);
}

#[test]
fn garbage_parity_rejected_with_typed_errors() {
    let (k, m, mb) = (4, 2, 16);
    let mut rx = receiver(k, m, mb, 2);
    let ok = |first: u8, n: u8, index: u8, mm: u8, len: usize| {
        let mut p = vec![first, n, index, mm];
        p.extend(std::iter::repeat_n(0x5A, len));
        p
    };
    assert_eq!(rx.on_parity(&[]), Err(ParityError::Truncated));
    assert_eq!(
        rx.on_parity(&ok(0, 4, 0, 2, 1)),
        Err(ParityError::Truncated)
    );
    assert_eq!(
        rx.on_parity(&ok(0, 0, 0, 2, 4)),
        Err(ParityError::BadCounts)
    );
    assert_eq!(
        rx.on_parity(&ok(0, 4, 2, 2, 4)),
        Err(ParityError::BadCounts)
    );
    assert_eq!(
        rx.on_parity(&ok(0, 4, 0, 17, 4)),
        Err(ParityError::BadCounts)
    );
    assert_eq!(
        rx.on_parity(&ok(0, 5, 0, 2, 4)),
        Err(ParityError::GroupTooLarge)
    );
    assert_eq!(
        rx.on_parity(&ok(0, 4, 0, 2, 19)),
        Err(ParityError::Oversize)
    );
    assert_eq!(rx.on_parity(&ok(0, 4, 0, 2, 18)), Ok(()));
    // Same group, other n / m / length; an overlapping group.
    assert_eq!(
        rx.on_parity(&ok(0, 3, 1, 2, 18)),
        Err(ParityError::Inconsistent)
    );
    assert_eq!(
        rx.on_parity(&ok(0, 4, 1, 3, 18)),
        Err(ParityError::Inconsistent)
    );
    assert_eq!(
        rx.on_parity(&ok(0, 4, 1, 2, 10)),
        Err(ParityError::Inconsistent)
    );
    assert_eq!(
        rx.on_parity(&ok(2, 4, 0, 2, 10)),
        Err(ParityError::Inconsistent)
    );
    assert_eq!(
        rx.on_parity(&ok(254, 4, 0, 2, 10)),
        Err(ParityError::Inconsistent)
    );
    // A group far behind the window (window 8, newest fec_seq 3).
    assert_eq!(rx.on_parity(&ok(200, 4, 0, 2, 10)), Err(ParityError::Stale));
    // Newer groups are fine; once they fill both records, an older one is stale.
    assert_eq!(rx.on_parity(&ok(4, 2, 0, 2, 10)), Ok(()));
    assert_eq!(rx.on_parity(&ok(6, 2, 0, 2, 10)), Ok(()));
    assert_eq!(rx.on_parity(&ok(4, 2, 1, 2, 10)), Ok(()));
    let st = *rx.stats();
    assert_eq!(
        (
            st.parity_truncated,
            st.parity_bad_counts,
            st.parity_group_too_large
        ),
        (2, 3, 1)
    );
    assert_eq!(
        (st.parity_oversize, st.parity_inconsistent, st.parity_stale),
        (1, 5, 1)
    );
    assert_eq!(st.parity_rejected(), 13);
    assert_eq!(st.parity, 4);
    // Group 0 (all four frames missing) left when group 6 needed its record.
    assert_eq!(st.unrecoverable, 1);
    // Parity repeated for the same index is not stored twice.
    assert_eq!(rx.on_parity(&ok(6, 2, 0, 2, 10)), Ok(()));
    assert_eq!(rx.stats().parity_unneeded, 1);
}

#[test]
fn inconsistent_data_is_never_emitted() {
    let (k, m, mb) = (4, 2, 16);
    let mut s = Sender::new(k, m, mb);
    let mut rx = receiver(k, m, mb, 2);
    let g = s.group(&[
        b"abc".to_vec(),
        b"de".to_vec(),
        b"f".to_vec(),
        b"ghij".to_vec(),
    ]);
    // The receiver holds a different body under fec_seq 1 (a bug or a stale session).
    rx.on_protected(0, b"abc");
    rx.on_protected(1, b"XY");
    for p in &g.parity {
        rx.on_parity(p).unwrap();
    }
    // The error lands in the bodies' bytes, so the rebuilt symbols' padding is not zero.
    assert!(drain(&mut rx, mb).is_empty());
    assert_eq!(rx.stats().inconsistent, 1);
    // A body longer than the group's symbol: the group is given up.
    let g = s.group(&[b"a".to_vec(), b"b".to_vec()]);
    rx.on_protected(g.data[0].0, b"longer");
    rx.on_parity(&g.parity[0]).unwrap();
    assert!(drain(&mut rx, mb).is_empty());
    assert_eq!(rx.stats().inconsistent, 2);
}

#[test]
fn storage_size_is_exact() {
    for (k, m, mb, groups) in [
        (8, 2, 151, 2),
        (8, 2, 279, 2),
        (1, 1, 0, 2),
        (32, 16, 64, 4),
    ] {
        let need = FecRx::storage_size(k, m, mb, groups);
        assert_eq!(need, groups * (k * (4 + mb) + 7 + m + m * (2 + mb)));
        let mut small = vec![0u8; need - 1];
        assert_eq!(
            FecRx::new(k, m, mb, groups, &mut small).err(),
            Some(ConfigError::MemoryTooSmall {
                need,
                have: need - 1
            })
        );
        let tneed = FecTx::storage_size(m, mb);
        assert_eq!(tneed, m * (2 + mb));
        let mut small = vec![0u8; tneed - 1];
        assert!(matches!(
            FecTx::new(k, m, mb, &mut small),
            Err(ConfigError::MemoryTooSmall { .. })
        ));
        // Exactly that much suffices, and memory past it is never touched.
        let mut tx_mem = vec![0xAAu8; tneed + 64];
        let mut rx_mem = vec![0xAAu8; need + 64];
        let mut tx = FecTx::new(k, m, mb, &mut tx_mem).unwrap();
        let mut rx = FecRx::new(k, m, mb, groups, &mut rx_mem).unwrap();
        let mut rng = Rng::new(k as u64);
        let mut parity = vec![0u8; max_parity_len(mb)];
        for round in 0..(3 * groups) {
            for i in 0..k {
                let body = rng.bytes(mb);
                let seq = tx.add(&body, 0).unwrap();
                if (i + round) % k != 0 {
                    rx.on_protected(seq, &body);
                }
            }
            while let Some(n) = tx.next_parity(&mut parity) {
                rx.on_parity(&parity[..n]).unwrap();
            }
            assert_eq!(drain(&mut rx, mb).len(), 1);
        }
        assert!(tx_mem[tneed..].iter().all(|&b| b == 0xAA));
        assert!(rx_mem[need..].iter().all(|&b| b == 0xAA));
    }
}

#[test]
fn configuration_limits() {
    let mut mem = vec![0u8; 1 << 16];
    assert_eq!(
        FecTx::new(0, 1, 10, &mut mem).err(),
        Some(ConfigError::BadK)
    );
    assert_eq!(
        FecTx::new(33, 1, 10, &mut mem).err(),
        Some(ConfigError::BadK)
    );
    assert_eq!(
        FecTx::new(4, 0, 10, &mut mem).err(),
        Some(ConfigError::BadM)
    );
    assert_eq!(
        FecTx::new(4, 17, 10, &mut mem).err(),
        Some(ConfigError::BadM)
    );
    assert_eq!(
        FecTx::new(4, 1, 65534, &mut mem).err(),
        Some(ConfigError::BadMaxBody)
    );
    assert_eq!(
        FecRx::new(4, 1, 10, 1, &mut mem).err(),
        Some(ConfigError::BadGroups)
    );
    assert_eq!(
        FecRx::new(32, 1, 10, 5, &mut mem).err(),
        Some(ConfigError::BadGroups)
    );
    assert!(FecRx::new(32, 1, 10, 4, &mut mem).is_ok());
}

#[test]
fn sender_bookkeeping() {
    let mut s = Sender::new(4, 2, 8);
    let tx = &mut s.tx;
    assert_eq!(
        (tx.open_len(), tx.opened_at(), tx.parity_pending()),
        (0, None, 0)
    );
    assert!(!tx.close_group()); // nothing open
    tx.add(b"ab", 100).unwrap();
    tx.add(b"abcd", 105).unwrap();
    assert_eq!((tx.open_len(), tx.opened_at()), (2, Some(100)));
    assert_eq!(tx.add(&[0; 9], 106), Err(ferrule::fec::TooLong));
    assert_eq!(tx.stats().too_long, 1);
    assert_eq!(tx.next_seq(), 2);
    assert!(tx.close_group());
    assert_eq!(
        (tx.open_len(), tx.parity_pending(), tx.parity_len()),
        (0, 2, 4 + 2 + 4)
    );
    // A buffer too short skips that parity frame (counted), the next one still comes.
    assert_eq!(tx.next_parity(&mut [0u8; 9]), None);
    assert_eq!(tx.stats().parity_dropped, 2);
    // Parity not taken is abandoned (counted) when the next group starts.
    tx.add(b"x", 200).unwrap();
    tx.add(b"y", 201).unwrap();
    tx.add(b"z", 202).unwrap();
    tx.add(b"w", 203).unwrap(); // k = 4: closes by itself
    assert_eq!(tx.parity_pending(), 2);
    let mut buf = [0u8; 16];
    assert_eq!(tx.next_parity(&mut buf), Some(4 + 3));
    assert_eq!(&buf[..4], &[2, 4, 0, 2]);
    tx.add(b"v", 300).unwrap();
    assert_eq!(tx.stats().parity_dropped, 3);
    assert_eq!(
        (tx.open_len(), tx.opened_at(), tx.parity_pending()),
        (1, Some(300), 0)
    );
    tx.reset();
    assert_eq!((tx.next_seq(), tx.open_len()), (0, 0));
    assert_eq!(tx.stats().protected, 7);
    assert_eq!(tx.stats().parity_sent, 1);
}

/// Adds four 3-byte frames carrying `frames` (a full group of k = 4: it closes).
fn group(tx: &mut FecTx<'_>, frames: [Carries; 4]) {
    for (i, c) in frames.into_iter().enumerate() {
        tx.add_frame(b"abc", i as u64, c).unwrap();
    }
}

#[test]
fn parity_is_left_out_only_when_acknowledgements_prove_it_unneeded() {
    use Carries::{Again, First, Unacked};
    let mut s = Sender::new(4, 2, 8);
    let tx = &mut s.tx;
    let mut buf = [0u8; 32];
    // Nothing acknowledged: both parity frames stay.
    group(tx, [First(10), First(11), First(12), First(13)]);
    assert_eq!(tx.skip_unneeded(|_| false), 0);
    assert_eq!(tx.parity_pending(), 2);
    // Three of four acknowledged: one frame may be missing, so one parity frame is needed;
    // once it went, the second is not.
    let three = |seq: u16| seq != 13;
    assert_eq!(tx.skip_unneeded(three), 0);
    assert!(tx.next_parity(&mut buf).is_some());
    assert_eq!(tx.skip_unneeded(three), 1);
    assert_eq!((tx.parity_pending(), tx.parity_len()), (0, 0));
    assert_eq!(tx.stats().parity_unneeded, 1);
    // All acknowledged: no parity at all.
    group(tx, [First(20), First(21), First(22), First(23)]);
    assert_eq!(tx.skip_unneeded(|_| true), 2);
    assert_eq!(tx.parity_pending(), 0);
    // A retransmission makes the earlier copy in the group uncertain, best-effort frames are
    // never known to have arrived, and neither are retransmissions: with everything
    // acknowledged, three frames (the first copy of 30, its retransmission, the best-effort
    // one) may still be missing, so both parity frames stay.
    group(tx, [First(30), First(31), Again(30), Unacked]);
    assert_eq!(tx.skip_unneeded(|_| true), 0);
    assert_eq!(tx.parity_pending(), 2);
    // Partial groups count only their own frames.
    tx.add_frame(b"x", 9, First(40)).unwrap();
    assert_eq!(tx.stats().parity_dropped, 2); // the group above was abandoned
    assert!(tx.close_group());
    assert_eq!(tx.skip_unneeded(|seq| seq == 40), 2);
    assert_eq!(tx.stats().parity_unneeded, 5);
    // Nothing pending: nothing to do.
    assert_eq!(tx.skip_unneeded(|_| true), 0);
}

#[test]
fn receiver_edge_cases() {
    let (k, m, mb) = (4, 2, 8);
    let mut rx = receiver(k, m, mb, 2);
    rx.on_protected(0, &[0; 9]);
    assert_eq!(rx.stats().oversize, 1);
    // 8 stale bodies in a row (window 8) restart the window.
    rx.on_protected(100, b"a");
    for s in 0..8u8 {
        rx.on_protected(s, b"b");
    }
    assert_eq!((rx.stats().stale, rx.stats().resync), (8, 1));
    assert_eq!(rx.stats().protected, 2);
    // A buffer too short for a rebuilt body skips it (counted).
    let mut s = Sender::new(k, m, mb);
    let mut rx = receiver(k, m, mb, 2);
    let g = s.group(&[b"12345678".to_vec(), b"1".to_vec()]);
    rx.on_protected(g.data[1].0, &g.data[1].1);
    rx.on_parity(&g.parity[0]).unwrap();
    assert_eq!(rx.next_recovered(&mut [0u8; 7]), None);
    assert_eq!(rx.stats().out_too_small, 1);
    // A rebuilt body never taken is counted when it leaves the window.
    let g = s.group(&[b"ab".to_vec()]);
    rx.on_parity(&g.parity[0]).unwrap();
    let g2 = s.group(&bodies(&mut Rng::new(1), 4, mb));
    let g3 = s.group(&bodies(&mut Rng::new(2), 4, mb));
    for (seq, body) in g2.data.iter().chain(&g3.data) {
        rx.on_protected(*seq, body);
    }
    assert_eq!(rx.stats().evicted, 1);
    // Parity for a group whose data all arrived: counted intact, nothing rebuilt.
    let g = s.group(&[b"q".to_vec(), b"r".to_vec()]);
    for (seq, body) in &g.data {
        rx.on_protected(*seq, body);
    }
    rx.on_parity(&g.parity[0]).unwrap();
    rx.on_parity(&g.parity[1]).unwrap();
    assert!(drain(&mut rx, mb).is_empty());
    assert_eq!(rx.stats().parity_unneeded, 1);
    assert!(rx.stats().groups_intact >= 1);
}

#[test]
fn parse_round_trip() {
    let mut s = Sender::new(4, 2, 8);
    let g = s.group(&[b"ab".to_vec()]);
    let p = Parity::parse(&g.parity[1]).unwrap();
    assert_eq!(
        (p.first, p.n, p.index, p.m, p.symbol.len()),
        (0, 1, 1, 2, 4)
    );
    let mut out = [0u8; 8];
    assert_eq!(p.encode(&mut out), Some(8));
    assert_eq!(&out[..], &g.parity[1][..]);
}

#[test]
fn sender_with_more_parity_and_smaller_groups_than_the_receiver() {
    // Sender k = 4, m = 4; receiver k = 8, m = 2: it keeps two parity symbols per group,
    // whichever arrive, and repairs up to two losses.
    let mut s = Sender::new(4, 4, 20);
    let mut rx = receiver(8, 2, 20, 2);
    let mut rng = Rng::new(9);
    for round in 0..40 {
        let g = s.group(&bodies(&mut rng, 1 + round % 4, 20));
        let n = g.data.len();
        let lost: Vec<usize> = pick(&mut rng, n, n.min(2));
        // Parity 0 lost too: the receiver uses two of parity 1..=3.
        let mut erased = lost.clone();
        erased.push(n);
        let got = run(&mut rx, std::slice::from_ref(&g), &[erased], 20);
        let mut idx = lost;
        idx.sort();
        let want: Vec<Vec<u8>> = idx.iter().map(|&i| g.data[i].1.clone()).collect();
        assert_eq!(got[0], want, "round {round}");
    }
    assert!(rx.stats().parity_unneeded > 0);
    assert_eq!(rx.stats().unrecoverable, 0);
}
