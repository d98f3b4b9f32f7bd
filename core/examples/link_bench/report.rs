//! Runs the rows of a scenario for both stacks, checks the targets, prints markdown
//! or JSON.

use crate::channel::Loss;
use crate::driver::{self, Measurement, Medium, Scenario};
use crate::ferrule_end::FerruleEnd;
use crate::kcp_end::{self, KcpEnd};
use crate::replay::{self, Recorded};
use crate::LOSSES;
use ferrule::link::{DownReason, Link, LinkStats};
use std::fmt::Write;

/// One loss level, both stacks.
pub struct Row {
    pub loss: Loss,
    pub ferrule: Measurement,
    /// ferrule's counters, endpoint 0 (the sender) and 1.
    pub stats: [LinkStats; 2],
    /// ferrule's sessions that ended: endpoint, time (ms), reason, messages discarded.
    pub downs: Vec<(usize, u64, DownReason, u16)>,
    pub kcp: Measurement,
}

pub struct ScenarioResult {
    pub sc: Scenario,
    pub rows: Vec<Row>,
}

impl ScenarioResult {
    fn title(&self) -> String {
        let s = &self.sc;
        format!(
            "{}, W = {}, {} B messages, {} ({} messages per sender and row)",
            s.medium.name(),
            s.window,
            s.size,
            if s.bidirectional {
                "bidirectional"
            } else {
                "one-way"
            },
            group(s.messages)
        )
    }

    fn lossless(&self) -> (&Measurement, &Measurement) {
        (&self.rows[0].ferrule, &self.rows[0].kcp)
    }
}

/// Replays per measurement for CPU time (the fastest counts).
const REPLAYS: usize = 3;

/// Every row of `sc`, both stacks, same seeds.
pub fn measure(sc: &Scenario) -> ScenarioResult {
    let rows = LOSSES
        .iter()
        .enumerate()
        .map(|(i, &loss)| {
            let sc = Scenario {
                loss,
                seed: 1_000 + i as u64,
                ..*sc
            };
            let new_f = |side| FerruleEnd::new(&sc, side as u64);
            let mut f = [Recorded::new(new_f(0)), Recorded::new(new_f(1))];
            let mut ferrule = driver::run(&sc, &mut f);
            ferrule.cpu_ns = replay::cpu_ns(&f, new_f, sc.size, REPLAYS);
            let new_k = |side| KcpEnd::new(&sc, side as u64);
            let mut k = [Recorded::new(new_k(0)), Recorded::new(new_k(1))];
            let mut kcp = driver::run(&sc, &mut k);
            kcp.cpu_ns = replay::cpu_ns(&k, new_k, sc.size, REPLAYS);
            let downs = (0..2)
                .flat_map(|e| f[e].inner.downs.iter().map(move |&(t, r, n)| (e, t, r, n)))
                .collect();
            Row {
                loss,
                ferrule,
                stats: [f[0].inner.stats(), f[1].inner.stats()],
                downs,
                kcp,
            }
        })
        .collect();
    ScenarioResult { sc: *sc, rows }
}

/// The per-message figures of a measurement.
struct Figures {
    goodput: f64,
    ideal_pct: f64,
    p50: u32,
    p99: u32,
    wire_per_payload: f64,
    retx: f64,
    spurious: f64,
    cpu_ns: f64,
}

fn figures(m: &Measurement, lossless: &Measurement, loss: Loss, size: usize) -> Figures {
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
fn spurious_share(m: &Measurement) -> f64 {
    m.counters.duplicates_received as f64 / m.counters.data_frames.max(1) as f64
}

/// Virtual time the senders sat blocked on a full budget (with an idle line, or while their
/// peer delivered nothing), as shares of the run.
fn blocked_shares(m: &Measurement, sc: &Scenario) -> (f64, f64) {
    let senders = if sc.bidirectional { 2 } else { 1 };
    let run = (m.duration_ms.max(1) * senders) as f64;
    (
        m.blocked_idle_ms as f64 / run,
        m.blocked_dry_ms as f64 / run,
    )
}

/// 12345 -> "12,345".
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn row_label(loss: Loss, m: &Measurement) -> String {
    if loss.is_bursty() {
        format!(
            "{} (measured {:.1} %)",
            loss.label(),
            m.loss_measured() * 100.0
        )
    } else {
        loss.label()
    }
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

fn print_scenario(r: &ScenarioResult) {
    let size = r.sc.size;
    let (fl, kl) = r.lossless();
    println!("#### {}", r.title());
    println!();
    println!("| loss | stack | goodput (msg/s) | % of ideal | p50 (ms) | p99 (ms) | wire B / payload B | retx / msg | spurious / msg | CPU ns / msg ¹ |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &r.rows {
        for (name, m, lossless) in [("ferrule", &row.ferrule, fl), ("KCP", &row.kcp, kl)] {
            let f = figures(m, lossless, row.loss, size);
            let name = if m.complete {
                name.to_string()
            } else {
                format!("{name} (incomplete)")
            };
            println!(
                "| {} | {name} | {} | {:.1} % | {} | {} | {:.2} | {:.3} | {:.3} | {:.0} |",
                row_label(row.loss, m),
                group(f.goodput.round() as u64),
                f.ideal_pct,
                f.p50,
                f.p99,
                f.wire_per_payload,
                f.retx,
                f.spurious,
                f.cpu_ns
            );
        }
    }
    println!();
    println!("ferrule's loss recovery (both endpoints' `LinkStats` summed). Blocked: a sender had messages waiting and its window full, with its line idle (line time lost; UART) or while its peer delivered nothing (window stuck behind a loss); share of the run, ferrule / KCP:");
    println!();
    println!("| loss | retransmissions | fast retransmits | timeouts | spurious (sender) | duplicates (receiver) | spurious / data frames | blocked, line idle | blocked, nothing delivered | srtt / rttvar / rto (ms) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &r.rows {
        let [a, b] = &row.stats;
        let (fi, fd) = blocked_shares(&row.ferrule, &r.sc);
        let (ki, kd) = blocked_shares(&row.kcp, &r.sc);
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.2} % | {:.1} % / {:.1} % | {:.1} % / {:.1} % | {} / {} / {} |",
            row_label(row.loss, &row.ferrule),
            a.retransmissions + b.retransmissions,
            a.fast_retransmits + b.fast_retransmits,
            a.timeouts + b.timeouts,
            a.spurious_retransmissions + b.spurious_retransmissions,
            a.duplicates + b.duplicates,
            spurious_share(&row.ferrule) * 100.0,
            fi * 100.0,
            ki * 100.0,
            fd * 100.0,
            kd * 100.0,
            a.srtt,
            a.rttvar,
            a.rto
        );
    }
    for row in &r.rows {
        for (name, m) in [("ferrule", &row.ferrule), ("KCP", &row.kcp)] {
            if m.complete && m.misdelivered == 0 && m.skipped == 0 && m.counters.downs == 0 {
                continue;
            }
            let link = if name == "KCP" {
                if m.counters.downs > 0 {
                    "dead link flagged".to_string()
                } else {
                    "link alive".to_string()
                }
            } else {
                format!("{} session(s) down", m.counters.downs)
            };
            let end = if m.complete {
                String::new()
            } else {
                format!(
                    "; given up after {} virtual s without a delivery",
                    driver::NO_PROGRESS_MS / 1000
                )
            };
            println!();
            println!(
                "**{name}, {}: {} of {} messages delivered ({} never delivered, {} delivered wrong), {link}{end}**",
                row.loss.label(),
                m.delivered,
                r.sc.messages * if r.sc.bidirectional { 2 } else { 1 },
                m.skipped,
                m.misdelivered,
            );
            if name == "ferrule" {
                // One line per endpoint and reason: how often, first and last time, discarded.
                let mut seen: Vec<(usize, DownReason)> = Vec::new();
                for &(e, _, reason, _) in &row.downs {
                    if !seen.contains(&(e, reason)) {
                        seen.push((e, reason));
                    }
                }
                for (e, reason) in seen {
                    let these: Vec<_> = row
                        .downs
                        .iter()
                        .filter(|d| (d.0, d.2) == (e, reason))
                        .collect();
                    let discarded: u64 = these.iter().map(|d| u64::from(d.3)).sum();
                    println!(
                        "- ferrule endpoint {e}: {} x {} (first at {} ms, last at {} ms), {discarded} messages discarded in all",
                        these.len(),
                        reason.name(),
                        these[0].1,
                        these[these.len() - 1].1
                    );
                }
            }
        }
    }
    println!();
}

pub fn markdown(results: &[ScenarioResult], memory: &[Memory], targets: &[Target], all: bool) {
    println!("### Loss recovery: ferrule and KCP on the same simulated channel");
    println!();
    let overrides = crate::ferrule_end::overrides();
    if !overrides.is_empty() {
        let list: Vec<String> = overrides
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        println!("ferrule configuration overridden: {}", list.join(", "));
        println!();
    }
    for r in &results[..2] {
        print_scenario(r);
    }
    println!("¹ Wall time of the stack's calls only, per delivered message (KCP's includes the COBS + CRC-32C framing it gets on the UART); machine-dependent, unlike every other column.");
    println!();
    println!("Targets:");
    println!();
    for t in targets {
        println!(
            "- {}: **{}** ({})",
            t.name,
            if t.met { "met" } else { "NOT met" },
            t.detail
        );
    }
    println!();
    println!("Memory per endpoint (both directions' windows):");
    println!();
    println!("| W | message | ferrule `Link::memory` | with best-effort mailboxes | KCP heap, windows full |");
    println!("|---:|---:|---:|---:|---:|");
    for m in memory {
        println!(
            "| {} | {} B | {} B | {} B | {} B |",
            m.window,
            m.size,
            group(m.ferrule as u64),
            group(m.ferrule_best_effort as u64),
            group(m.kcp_heap as u64)
        );
    }
    println!();
    println!("KCP heap: the control block (boxed) and everything it allocated, with W messages sent and unacknowledged and W - 1 received behind a lost one, counted by a counting global allocator.");
    if all {
        println!();
        println!("### Every combination (`--all`)");
        println!();
        for r in &results[2..] {
            print_scenario(r);
        }
    }
}

fn json_measurement(
    out: &mut String,
    m: &Measurement,
    lossless: &Measurement,
    loss: Loss,
    sc: &Scenario,
) {
    let f = figures(m, lossless, loss, sc.size);
    let _ = write!(
        out,
        "{{\"goodput\":{:.3},\"ideal_pct\":{:.3},\"p50_ms\":{},\"p99_ms\":{},\"wire_per_payload\":{:.4},\"retransmissions_per_msg\":{:.5},\"spurious_per_msg\":{:.5},\"cpu_ns_per_msg\":{:.1},\"delivered\":{},\"complete\":{},\"misdelivered\":{},\"skipped\":{},\"duration_ms\":{},\"wire_bytes\":{},\"frames\":{},\"frames_lost\":{},\"data_frames\":{},\"retransmissions\":{},\"duplicates_received\":{},\"downs\":{},\"blocked_idle_ms\":{},\"blocked_dry_ms\":{}}}",
        f.goodput, f.ideal_pct, f.p50, f.p99, f.wire_per_payload, f.retx, f.spurious, f.cpu_ns,
        m.delivered, m.complete, m.misdelivered, m.skipped, m.duration_ms, m.wire_bytes, m.frames,
        m.frames_lost, m.counters.data_frames, m.counters.retransmissions,
        m.counters.duplicates_received, m.counters.downs, m.blocked_idle_ms, m.blocked_dry_ms
    );
}

/// The results as one JSON document.
pub fn json(results: &[ScenarioResult], memory: &[Memory], targets: &[Target]) -> String {
    let mut o = String::from("{\"overrides\":{");
    for (i, (k, v)) in crate::ferrule_end::overrides().iter().enumerate() {
        let _ = write!(o, "{}\"{k}\":{v}", if i > 0 { "," } else { "" });
    }
    o.push_str("},\"scenarios\":[");
    for (i, r) in results.iter().enumerate() {
        let sc = &r.sc;
        let _ = write!(
            o,
            "{}{{\"medium\":\"{}\",\"window\":{},\"size\":{},\"bidirectional\":{},\"messages\":{},\"rows\":[",
            if i > 0 { "," } else { "" },
            match sc.medium {
                Medium::Uart => "uart115200",
                Medium::Datagram => "datagram6ms",
            },
            sc.window,
            sc.size,
            sc.bidirectional,
            sc.messages
        );
        let (fl, kl) = r.lossless();
        for (j, row) in r.rows.iter().enumerate() {
            let _ = write!(
                o,
                "{}{{\"loss\":\"{}\",\"average_loss\":{},\"measured_loss\":{:.4},\"ferrule\":",
                if j > 0 { "," } else { "" },
                row.loss.label(),
                row.loss.average(),
                row.ferrule.loss_measured()
            );
            json_measurement(&mut o, &row.ferrule, fl, row.loss, sc);
            let [a, b] = &row.stats;
            let _ = write!(
                o,
                ",\"ferrule_stats\":{{\"retransmissions\":{},\"fast_retransmits\":{},\"timeouts\":{},\"spurious_retransmissions\":{},\"duplicates\":{},\"window_stalls\":{},\"srtt\":{},\"rttvar\":{},\"rto\":{}}},\"kcp\":",
                a.retransmissions + b.retransmissions,
                a.fast_retransmits + b.fast_retransmits,
                a.timeouts + b.timeouts,
                a.spurious_retransmissions + b.spurious_retransmissions,
                a.duplicates + b.duplicates,
                a.window_stalls + b.window_stalls,
                a.srtt,
                a.rttvar,
                a.rto
            );
            json_measurement(&mut o, &row.kcp, kl, row.loss, sc);
            o.push('}');
        }
        o.push_str("]}");
    }
    o.push_str("],\"memory\":[");
    for (i, m) in memory.iter().enumerate() {
        let _ = write!(
            o,
            "{}{{\"window\":{},\"size\":{},\"ferrule\":{},\"ferrule_best_effort\":{},\"kcp_heap\":{}}}",
            if i > 0 { "," } else { "" },
            m.window,
            m.size,
            m.ferrule,
            m.ferrule_best_effort,
            m.kcp_heap
        );
    }
    o.push_str("],\"targets\":[");
    for (i, t) in targets.iter().enumerate() {
        let _ = write!(
            o,
            "{}{{\"name\":\"{}\",\"met\":{},\"detail\":\"{}\"}}",
            if i > 0 { "," } else { "" },
            t.name,
            t.met,
            t.detail
        );
    }
    o.push_str("]}");
    o
}
