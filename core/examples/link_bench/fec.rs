//! Forward error correction (issue 24): ferrule without FEC, ferrule with FEC and KCP on the
//! same channel, at the loss levels the issue names, on the UART and on datagrams at 6 ms and
//! 200 ms RTT; and the targets.
//!
//! The rows without FEC and KCP's are the main tables' where a main table has the scenario
//! (same seeds, so the same channel); the 200 ms rows run here. FEC rows are not replayed for
//! CPU time (the codec's own speed: `cargo run --release --example fec_vectors -- --speed`).

use crate::channel::Loss;
use crate::driver::{self, Measurement, Medium, Scenario};
use crate::ferrule_end::FerruleEnd;
use crate::kcp_end::KcpEnd;
use crate::report::{figures, pool_stats, runs_times, ScenarioResult, Target};
use crate::LOSSES;
use ferrule::link::{Fec, FecConfig, LinkStats};

/// The loss levels: 0 (the cost of parity), 1, 5, 10, 20 % and Gilbert–Elliott bursts.
pub const FEC_LOSSES: [Loss; 6] = [
    LOSSES[0], LOSSES[1], LOSSES[2], LOSSES[3], LOSSES[4], LOSSES[6],
];

/// One loss level: ferrule without and with FEC, and KCP.
pub struct FecRow {
    pub loss: Loss,
    pub off: Measurement,
    pub on: Measurement,
    /// The FEC run's counters, endpoint 0 (the sender) and 1.
    pub on_stats: [LinkStats; 2],
    pub kcp: Measurement,
}

/// The rows of one medium with one FEC configuration.
pub struct FecResult {
    /// The scenario without FEC (`fec` is `None`); `fec` is what the FEC rows used.
    pub sc: Scenario,
    pub fec: FecConfig,
    pub rows: Vec<FecRow>,
}

impl FecResult {
    pub fn title(&self) -> String {
        let s = &self.sc;
        format!(
            "{}, W = {}, {} B messages, one-way, FEC k = {}, m = {}, {} groups kept ({}{} messages per row)",
            s.medium.name(),
            s.window,
            s.size,
            self.fec.k,
            self.fec.m,
            self.fec.groups,
            runs_times(s.runs),
            crate::markdown::group(s.messages),
        )
    }

    /// The lossless rows: without FEC, with FEC, KCP.
    pub fn lossless(&self) -> (&Measurement, &Measurement, &Measurement) {
        let r = &self.rows[0];
        (&r.off, &r.on, &r.kcp)
    }

    /// Parity frames per group over all frames of a full group: `m / (k + m)`.
    pub fn parity_ratio(&self) -> f64 {
        f64::from(self.fec.m) / f64::from(self.fec.k + self.fec.m)
    }

    /// The cost of FEC in lossless goodput: `1 − on / off`.
    pub fn lossless_cost(&self) -> f64 {
        let (off, on, _) = self.lossless();
        1.0 - on.goodput() / off.goodput()
    }

    pub fn row(&self, loss: Loss) -> &FecRow {
        self.rows.iter().find(|r| r.loss == loss).expect("loss row")
    }
}

/// The group shape the tables use on `medium`: on the UART, where parity takes line time
/// that data would have had, 2 parity frames per 8; on datagrams 2 per 8 at 6 ms RTT, 4 per 8
/// at 200 ms RTT, where every repair FEC misses costs a long round trip.
pub fn default_shape(medium: Medium) -> (u8, u8) {
    match medium {
        Medium::Uart | Medium::Datagram => (8, 2),
        Medium::LongDatagram => (8, 4),
    }
}

/// FEC with groups of `k` data and `m` parity frames for a link of window `window`: enough
/// groups kept that the receiver's FEC window (`groups · k`) covers a full window of frames
/// in flight (at least 2 groups, at most 128 frames).
pub fn config(k: u8, m: u8, window: usize) -> FecConfig {
    let k_frames = usize::from(k.max(1));
    let groups = window.div_ceil(k_frames).clamp(2, 128 / k_frames);
    FecConfig {
        k,
        m,
        groups: groups as u8,
        send: true,
    }
}

/// Bytes of FEC memory per endpoint for `cfg` and `size`-byte messages.
pub fn memory(cfg: &FecConfig, size: usize) -> usize {
    Fec::storage_size(cfg, size)
}

/// The seed the main tables use for `loss` (so rows of equal loss see the same channel).
fn seed_of(loss: Loss) -> u64 {
    1_000 + LOSSES.iter().position(|&l| l == loss).expect("known loss") as u64
}

/// ferrule on `sc`, its runs pooled, and both endpoints' counters summed over the runs.
fn run_ferrule(sc: &Scenario) -> (Measurement, [LinkStats; 2]) {
    let mut stats: Option<[LinkStats; 2]> = None;
    let m = Measurement::pooled(sc.runs, |k| {
        let sc = sc.run_k(k);
        let mut ends = [FerruleEnd::new(&sc, 0), FerruleEnd::new(&sc, 1)];
        let m = driver::run(&sc, &mut ends);
        pool_stats(&mut stats, [ends[0].stats(), ends[1].stats()]);
        m
    });
    (m, stats.unwrap_or_default())
}

fn run_kcp(sc: &Scenario) -> Measurement {
    Measurement::pooled(sc.runs, |k| {
        let sc = sc.run_k(k);
        let mut ends = [KcpEnd::new(&sc, 0), KcpEnd::new(&sc, 1)];
        driver::run(&sc, &mut ends)
    })
}

/// Every row of `base` (a scenario without FEC) with `fec`; rows without FEC and KCP's come
/// from `main` when it is the same scenario.
pub fn measure(base: &Scenario, fec: FecConfig, main: Option<&ScenarioResult>) -> FecResult {
    let rows = FEC_LOSSES
        .iter()
        .map(|&loss| {
            let sc = Scenario {
                loss,
                seed: seed_of(loss),
                ..*base
            };
            let reused = main.and_then(|r| r.rows.iter().find(|row| row.loss == loss));
            let (off, kcp) = match reused {
                Some(row) => (row.ferrule.clone(), row.kcp.clone()),
                None => (run_ferrule(&sc).0, run_kcp(&sc)),
            };
            let (on, on_stats) = run_ferrule(&Scenario {
                fec: Some(fec),
                ..sc
            });
            FecRow {
                loss,
                off,
                on,
                on_stats,
                kcp,
            }
        })
        .collect();
    FecResult {
        sc: Scenario { fec: None, ..*base },
        fec,
        rows,
    }
}

/// The targets: at 200 ms RTT and 5 % random loss, with FEC, p99 latency at most
/// 1.5 × the lossless p99 and goodput at least 90 % of ideal; on every medium, FEC's cost in
/// lossless goodput at most the parity ratio plus 2 points.
pub fn targets(results: &[&FecResult]) -> Vec<Target> {
    let mut t = Vec::new();
    if let Some(r) = results.iter().find(|r| r.sc.medium == Medium::LongDatagram) {
        let five = Loss::Independent(0.05);
        let row = r.row(five);
        let (_, on0, _) = r.lossless();
        let (p99, p99_0) = (row.on.percentile(0.99), on0.percentile(0.99));
        let limit = 1.5 * f64::from(p99_0);
        t.push(Target {
            name: format!(
                "{}, W = {}, 64 B, FEC {}:{}, 5 % loss: p99 latency <= 1.5 x the lossless p99",
                r.sc.medium.name(),
                r.sc.window,
                r.fec.k,
                r.fec.m
            ),
            met: f64::from(p99) <= limit && row.on.complete,
            detail: format!(
                "{p99} ms, limit {limit:.0} ms (lossless {p99_0} ms; without FEC {} ms)",
                row.off.percentile(0.99)
            ),
        });
        let f = figures(&row.on, on0, five, r.sc.size);
        let off = figures(&row.off, &r.rows[0].off, five, r.sc.size);
        t.push(Target {
            name: format!(
                "{}, W = {}, 64 B, FEC {}:{}, 5 % loss: goodput >= 90 % of ideal",
                r.sc.medium.name(),
                r.sc.window,
                r.fec.k,
                r.fec.m
            ),
            met: f.ideal_pct >= 90.0 && row.on.complete,
            detail: format!(
                "{:.1} % ({:.0} msg/s; without FEC {:.1} %)",
                f.ideal_pct, f.goodput, off.ideal_pct
            ),
        });
    }
    let mut misses = Vec::new();
    let mut parts = Vec::new();
    for r in results {
        let (cost, limit) = (r.lossless_cost() * 100.0, r.parity_ratio() * 100.0 + 2.0);
        parts.push(format!(
            "{} {cost:.1} % (limit {limit:.1} %)",
            r.sc.medium.name()
        ));
        if cost > limit {
            misses.push(r.sc.medium.name());
        }
    }
    t.push(Target {
        name: "FEC at 0 % loss: goodput cost <= parity ratio m / (k + m) + 2 %".into(),
        met: misses.is_empty(),
        detail: parts.join("; "),
    });
    t
}
