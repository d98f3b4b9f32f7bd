//! The results as one JSON document (`--json`).

use crate::channel::Loss;
use crate::driver::{Measurement, Scenario};
use crate::fec::FecResult;
use crate::report::{figures, Memory, ScenarioResult, Target};
use std::fmt::Write;

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

fn json_targets(o: &mut String, targets: &[Target]) {
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
}

/// The FEC results: per medium and shape, per loss level the three stacks.
fn json_fec(o: &mut String, results: &[FecResult]) {
    for (i, r) in results.iter().enumerate() {
        let sc = &r.sc;
        let _ = write!(
            o,
            "{}{{\"medium\":\"{}\",\"window\":{},\"size\":{},\"k\":{},\"m\":{},\"groups\":{},\"fec_memory\":{},\"messages\":{},\"runs\":{},\"rows\":[",
            if i > 0 { "," } else { "" },
            sc.medium.key(),
            sc.window,
            sc.size,
            r.fec.k,
            r.fec.m,
            r.fec.groups,
            crate::fec::memory(&r.fec, sc.size),
            sc.messages,
            sc.runs
        );
        let (off0, on0, kcp0) = r.lossless();
        for (j, row) in r.rows.iter().enumerate() {
            let _ = write!(
                o,
                "{}{{\"loss\":\"{}\",\"average_loss\":{},\"off\":",
                if j > 0 { "," } else { "" },
                row.loss.label(),
                row.loss.average()
            );
            json_measurement(o, &row.off, off0, row.loss, sc);
            o.push_str(",\"on\":");
            json_measurement(o, &row.on, on0, row.loss, sc);
            let [a, b] = &row.on_stats;
            let _ = write!(
                o,
                ",\"on_max_ms\":{},\"parity_sent\":{},\"fec_recovered\":{},\"fec_unrecoverable\":{},\"parity_rejected\":{},\"kcp\":",
                row.on.percentile(1.0),
                a.parity_sent + b.parity_sent,
                a.fec_recovered + b.fec_recovered,
                a.fec_unrecoverable + b.fec_unrecoverable,
                a.parity_rejected + b.parity_rejected
            );
            json_measurement(o, &row.kcp, kcp0, row.loss, sc);
            o.push('}');
        }
        o.push_str("]}");
    }
}

/// The results as one JSON document.
pub fn json(
    results: &[ScenarioResult],
    memory: &[Memory],
    targets: &[Target],
    fec: &[FecResult],
    fec_targets: &[Target],
) -> String {
    let mut o = String::from("{\"overrides\":{");
    for (i, (k, v)) in crate::ferrule_end::overrides().iter().enumerate() {
        let _ = write!(o, "{}\"{k}\":{v}", if i > 0 { "," } else { "" });
    }
    o.push_str("},\"scenarios\":[");
    for (i, r) in results.iter().enumerate() {
        let sc = &r.sc;
        let _ = write!(
            o,
            "{}{{\"medium\":\"{}\",\"window\":{},\"size\":{},\"bidirectional\":{},\"batched\":{},\"messages\":{},\"runs\":{},\"rows\":[",
            if i > 0 { "," } else { "" },
            sc.medium.key(),
            sc.window,
            sc.size,
            sc.bidirectional,
            sc.batched,
            sc.messages,
            sc.runs
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
    json_targets(&mut o, targets);
    o.push_str("],\"fec\":[");
    json_fec(&mut o, fec);
    o.push_str("],\"fec_targets\":[");
    json_targets(&mut o, fec_targets);
    o.push_str("]}");
    o
}
