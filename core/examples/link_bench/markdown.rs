//! The results as markdown, ready for the README.

use crate::channel::Loss;
use crate::driver::{self, Measurement};
use crate::fec::FecResult;
use crate::report::{blocked_shares, figures, spurious_share, Memory, ScenarioResult, Target};
use ferrule::link::DownReason;

/// 12345 -> "12,345".
pub fn group(n: u64) -> String {
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
                r.sc.runs * r.sc.messages * if r.sc.bidirectional { 2 } else { 1 },
                m.skipped,
                m.misdelivered,
            );
            if name == "ferrule" {
                // One line per endpoint and reason: how often, in how many runs, first and last
                // time (virtual ms into its run), discarded.
                let mut seen: Vec<(usize, DownReason)> = Vec::new();
                for &(_, e, _, reason, _) in &row.downs {
                    if !seen.contains(&(e, reason)) {
                        seen.push((e, reason));
                    }
                }
                for (e, reason) in seen {
                    let these: Vec<_> = row
                        .downs
                        .iter()
                        .filter(|d| (d.1, d.3) == (e, reason))
                        .collect();
                    let mut runs: Vec<u64> = these.iter().map(|d| d.0).collect();
                    runs.dedup();
                    let discarded: u64 = these.iter().map(|d| u64::from(d.4)).sum();
                    println!(
                        "- ferrule endpoint {e}: {} x {} in {} of {} run(s) (first at {} ms, last at {} ms into its run), {discarded} messages discarded in all",
                        these.len(),
                        reason.name(),
                        runs.len(),
                        r.sc.runs,
                        these[0].2,
                        these[these.len() - 1].2
                    );
                }
            }
        }
    }
    println!();
}

/// One FEC table: ferrule without FEC, with FEC, and KCP per loss level.
fn print_fec(r: &FecResult) {
    let size = r.sc.size;
    let (off0, on0, kcp0) = r.lossless();
    println!("#### {}", r.title());
    println!();
    println!("| loss | stack | goodput (msg/s) | % of ideal | p50 (ms) | p99 (ms) | max (ms) | wire B / payload B | retx / msg (duplicates) | parity / data frame | rebuilt | unrecoverable groups |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let fec_name = format!("ferrule FEC {}:{}", r.fec.k, r.fec.m);
    for row in &r.rows {
        let [a, b] = &row.on_stats;
        let parity = f64::from(a.parity_sent + b.parity_sent)
            / f64::from((a.rdata_frames_sent + b.rdata_frames_sent).max(1));
        let fec_cols = format!(
            "{parity:.3} | {} | {}",
            a.fec_recovered + b.fec_recovered,
            a.fec_unrecoverable + b.fec_unrecoverable
        );
        for (name, m, lossless, extra) in [
            ("ferrule", &row.off, off0, "– | – | –".to_string()),
            (fec_name.as_str(), &row.on, on0, fec_cols),
            ("KCP", &row.kcp, kcp0, "– | – | –".to_string()),
        ] {
            let f = figures(m, lossless, row.loss, size);
            let name = if m.complete {
                name.to_string()
            } else {
                format!("{name} (incomplete)")
            };
            println!(
                "| {} | {name} | {} | {:.1} % | {} | {} | {} | {:.2} | {:.3} ({:.3}) | {extra} |",
                row_label(row.loss, m),
                group(f.goodput.round() as u64),
                f.ideal_pct,
                f.p50,
                f.p99,
                m.percentile(1.0),
                f.wire_per_payload,
                f.retx,
                f.spurious,
            );
        }
    }
    println!();
    println!(
        "FEC memory per endpoint: {} B (k = {}, m = {}, {} groups kept, {} B messages), beside the link's.",
        group(crate::fec::memory(&r.fec, size) as u64),
        r.fec.k,
        r.fec.m,
        r.fec.groups,
        size
    );
    println!();
}

/// The FEC section: one table per medium.
pub fn markdown_fec(results: &[FecResult], targets: &[Target]) {
    println!("### Forward error correction: ferrule without and with FEC, and KCP");
    println!();
    println!("% of ideal: goodput over the same stack's lossless goodput times 1 − loss. duplicates: data frames whose message the receiver already had, per message: spurious retransmissions, and with FEC also originals that arrive after their rebuilt copy (reordering) and retransmissions of frames FEC rebuilt first. parity / data frame: PARITY frames sent per data frame sent (a full group sends m per k; a group closed early by the timer sends m for fewer). rebuilt: frames the receiver rebuilt from parity; unrecoverable groups: groups that lost more than their parity could rebuild (ARQ repaired them). Both endpoints' counters summed.");
    println!();
    for r in results {
        print_fec(r);
    }
    println!("Targets (FEC):");
    println!();
    print_targets(targets);
    println!();
}

fn print_targets(targets: &[Target]) {
    for t in targets {
        println!(
            "- {}: **{}** ({})",
            t.name,
            if t.met { "met" } else { "NOT met" },
            t.detail
        );
    }
}

pub fn markdown(results: &[ScenarioResult], memory: &[Memory], targets: &[Target]) {
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
    print_targets(targets);
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
    println!();
}

/// The other combinations (`--all`): every result after the two main ones.
pub fn markdown_all(results: &[ScenarioResult]) {
    println!("### Every combination (`--all`)");
    println!();
    for r in results.iter().skip(2) {
        print_scenario(r);
    }
}
