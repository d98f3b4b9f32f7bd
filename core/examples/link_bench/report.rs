//! Runs the rows of a scenario for both stacks, measures memory, checks the issue's
//! targets (`markdown` and `json` print the results).

use crate::channel::Loss;
use crate::driver::{self, Endpoint, Measurement, Scenario};
use crate::ferrule_end::FerruleEnd;
use crate::kcp_end::{self, KcpEnd};
use crate::replay::{self, Recorded};
use crate::LOSSES;
use ferrule::link::{DownReason, Link, LinkStats};

/// One loss level, both stacks.
pub struct Row {
    pub loss: Loss,
    pub ferrule: Measurement,
    /// ferrule's counters, endpoint 0 (the sender) and 1, summed over the runs (RTT
    /// estimates: the first run's).
    pub stats: [LinkStats; 2],
    /// ferrule's sessions that ended: run, endpoint, time (ms), reason, messages discarded.
    pub downs: Vec<(u64, usize, u64, DownReason, u16)>,
    pub kcp: Measurement,
}

pub struct ScenarioResult {
    pub sc: Scenario,
    pub rows: Vec<Row>,
}

impl ScenarioResult {
    pub fn title(&self) -> String {
        let s = &self.sc;
        format!(
            "{}, W = {}, {} B messages, {} ({}{} messages per sender and row{})",
            s.medium.name(),
            s.window,
            s.size,
            if s.bidirectional {
                "bidirectional"
            } else {
                "one-way"
            },
            runs_times(s.runs),
            crate::markdown::group(s.messages),
            if s.batched { "; batched reads" } else { "" }
        )
    }

    pub fn lossless(&self) -> (&Measurement, &Measurement) {
        (&self.rows[0].ferrule, &self.rows[0].kcp)
    }
}

/// "4 runs x " for a pooled row, nothing for one run.
pub fn runs_times(runs: u64) -> String {
    if runs > 1 {
        format!("{runs} runs x ")
    } else {
        String::new()
    }
}

/// Adds a run's counters (both endpoints) to the row's: the counters the tables show add up,
/// the RTT estimates stay the first run's.
pub fn pool_stats(acc: &mut Option<[LinkStats; 2]>, run: [LinkStats; 2]) {
    let Some(acc) = acc else {
        *acc = Some(run);
        return;
    };
    for (a, s) in acc.iter_mut().zip(&run) {
        a.retransmissions += s.retransmissions;
        a.fast_retransmits += s.fast_retransmits;
        a.timeouts += s.timeouts;
        a.spurious_retransmissions += s.spurious_retransmissions;
        a.duplicates += s.duplicates;
        a.window_stalls += s.window_stalls;
        a.rdata_frames_sent += s.rdata_frames_sent;
        a.parity_sent += s.parity_sent;
        a.parity_rejected += s.parity_rejected;
        a.fec_recovered += s.fec_recovered;
        a.fec_unrecoverable += s.fec_unrecoverable;
    }
}

/// Replays per measurement for CPU time (the fastest counts).
const REPLAYS: usize = 3;

/// One run of `sc` with endpoints from `new` (by side), recorded and replayed for its CPU
/// time; the endpoints come back for their counters.
fn timed_run<E: Endpoint>(
    sc: &Scenario,
    new: impl Fn(usize) -> E,
) -> (Measurement, [Recorded<E>; 2]) {
    let mut ends = [Recorded::new(new(0)), Recorded::new(new(1))];
    let mut m = driver::run(sc, &mut ends);
    m.cpu_ns = replay::cpu_ns(&ends, new, sc.size, REPLAYS);
    (m, ends)
}

/// Every row of `sc`, both stacks, same seeds; each row pools `sc.runs` runs.
pub fn measure(sc: &Scenario) -> ScenarioResult {
    let rows = LOSSES
        .iter()
        .enumerate()
        .map(|(i, &loss)| {
            let row_sc = Scenario {
                loss,
                seed: 1_000 + i as u64,
                ..*sc
            };
            let mut stats: Option<[LinkStats; 2]> = None;
            let mut downs = Vec::new();
            let ferrule = Measurement::pooled(sc.runs, |k| {
                let sc = row_sc.run_k(k);
                let (m, f) = timed_run(&sc, |side| FerruleEnd::new(&sc, side as u64));
                pool_stats(&mut stats, [f[0].inner.stats(), f[1].inner.stats()]);
                for (e, end) in f.iter().enumerate() {
                    downs.extend(end.inner.downs.iter().map(|&(t, r, n)| (k, e, t, r, n)));
                }
                m
            });
            let kcp = Measurement::pooled(sc.runs, |k| {
                let sc = row_sc.run_k(k);
                timed_run(&sc, |side| KcpEnd::new(&sc, side as u64)).0
            });
            Row {
                loss,
                ferrule,
                stats: stats.unwrap_or_default(),
                downs,
                kcp,
            }
        })
        .collect();
    ScenarioResult { sc: *sc, rows }
}

/// The per-message figures of a measurement.
pub struct Figures {
    pub goodput: f64,
    pub ideal_pct: f64,
    pub p50: u32,
    pub p99: u32,
    pub wire_per_payload: f64,
    pub retx: f64,
    pub spurious: f64,
    pub cpu_ns: f64,
}

pub fn figures(m: &Measurement, lossless: &Measurement, loss: Loss, size: usize) -> Figures {
    let d = m.delivered.max(1) as f64;
    Figures {
        goodput: m.goodput(),
        ideal_pct: 100.0 * m.goodput() / (lossless.goodput() * (1.0 - loss.average())),
        p50: m.percentile(0.50),
        p99: m.percentile(0.99),
        wire_per_payload: m.wire_bytes as f64 / (d * size as f64),
        retx: m.counters.retransmissions as f64 / d,
        spurious: m.counters.duplicates_received as f64 / d,
        cpu_ns: m.cpu_ns as f64 / d,
    }
}

/// Spurious retransmissions as a share of data frames sent.
pub fn spurious_share(m: &Measurement) -> f64 {
    m.counters.duplicates_received as f64 / m.counters.data_frames.max(1) as f64
}

/// Virtual time the senders sat blocked on a full budget (with an idle line, or while their
/// peer delivered nothing), as shares of the run.
pub fn blocked_shares(m: &Measurement, sc: &Scenario) -> (f64, f64) {
    let senders = if sc.bidirectional { 2 } else { 1 };
    let run = (m.duration_ms.max(1) * senders) as f64;
    (
        m.blocked_idle_ms as f64 / run,
        m.blocked_dry_ms as f64 / run,
    )
}

/// One line per memory configuration.
pub struct Memory {
    pub window: usize,
    pub size: usize,
    pub ferrule: usize,
    pub ferrule_best_effort: usize,
    pub kcp_heap: usize,
}

pub fn memory(live: fn() -> usize) -> Vec<Memory> {
    let mut out = Vec::new();
    for window in [8, 32] {
        for size in [64, 256] {
            out.push(Memory {
                window,
                size,
                ferrule: Link::memory(window, size, false),
                ferrule_best_effort: Link::memory(window, size, true),
                kcp_heap: kcp_end::heap_with_full_window(window, size, live),
            });
        }
    }
    out
}

/// One of the targets and whether this run meets it.
pub struct Target {
    pub name: String,
    pub met: bool,
    pub detail: String,
}

/// The targets, from the two main scenarios (UART first, datagrams second).
pub fn targets(uart: &ScenarioResult, dgram: &ScenarioResult) -> Vec<Target> {
    let mut t = Vec::new();
    // UART: >= 85 % of ideal up to 30 % and in the 10 % bursts.
    let (lossless, _) = uart.lossless();
    let mut misses = Vec::new();
    let mut worst = f64::MAX;
    for r in &uart.rows {
        if matches!(r.loss, Loss::Bursts { .. }) {
            continue;
        }
        let f = figures(&r.ferrule, lossless, r.loss, uart.sc.size);
        worst = worst.min(f.ideal_pct);
        if f.ideal_pct < 85.0 || !r.ferrule.complete {
            misses.push(format!("{} {:.1} %", r.loss.label(), f.ideal_pct));
        }
    }
    t.push(Target {
        name: "UART 115200, W = 8, 64 B: >= 85 % of ideal at every loss level up to 30 % and in the 10 % bursts".into(),
        met: misses.is_empty(),
        detail: if misses.is_empty() {
            format!("lowest {worst:.1} %")
        } else {
            format!("below at {}", misses.join(", "))
        },
    });
    let ge = uart
        .rows
        .iter()
        .find(|r| matches!(r.loss, Loss::GilbertElliott { .. }))
        .expect("GE row");
    let p99 = ge.ferrule.percentile(0.99);
    t.push(Target {
        name: "UART 115200, W = 8, 64 B: p99 latency in the 10 % bursts <= 300 ms".into(),
        met: p99 <= 300 && ge.ferrule.complete,
        detail: format!("{p99} ms (KCP {} ms)", ge.kcp.percentile(0.99)),
    });
    // Datagrams: goodput >= KCP's everywhere; p99 at 30 % <= 150 ms.
    let mut misses = Vec::new();
    let mut margin = f64::MAX;
    for r in &dgram.rows {
        let (f, k) = (r.ferrule.goodput(), r.kcp.goodput());
        margin = margin.min(f / k);
        if f < k || !r.ferrule.complete {
            misses.push(format!("{} {:.0} vs {:.0} msg/s", r.loss.label(), f, k));
        }
    }
    t.push(Target {
        name: "Datagrams, 6 ms RTT, W = 32, 64 B: goodput >= KCP's at every loss level and in the bursts".into(),
        met: misses.is_empty(),
        detail: if misses.is_empty() {
            format!("smallest ratio {margin:.2}x")
        } else {
            format!("below at {}", misses.join("; "))
        },
    });
    let r30 = dgram
        .rows
        .iter()
        .find(|r| r.loss == Loss::Independent(0.30))
        .expect("30 % row");
    let p99 = r30.ferrule.percentile(0.99);
    t.push(Target {
        name: "Datagrams, 6 ms RTT, W = 32, 64 B: p99 latency at 30 % loss <= 150 ms".into(),
        met: p99 <= 150 && r30.ferrule.complete,
        detail: format!("{p99} ms (KCP {} ms)", r30.kcp.percentile(0.99)),
    });
    // Spurious retransmissions on the UART.
    let mut misses = Vec::new();
    let mut worst = 0.0f64;
    for r in &uart.rows {
        let s = spurious_share(&r.ferrule) * 100.0;
        worst = worst.max(s);
        if s > 5.0 {
            let all = r.ferrule.counters.duplicates_received as f64 / r.ferrule.frames as f64;
            misses.push(format!(
                "{} {s:.2} % ({:.2} % of all frames both ways)",
                r.loss.label(),
                all * 100.0
            ));
        }
    }
    t.push(Target {
        name: "UART 115200, W = 8, 64 B: spurious retransmissions <= 5 % of data frames sent at every loss level".into(),
        met: misses.is_empty(),
        detail: if misses.is_empty() {
            format!("highest {worst:.2} %")
        } else {
            format!("above at {}", misses.join(", "))
        },
    });
    t
}
