//! The end-of-run report, as a table with a histogram or as one JSON object (field names are
//! stable and documented in README.md).

use super::run::Report;
use std::fmt::Write as _;

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Messages lost, duplicated and damaged-but-accepted, both directions.
fn faults(r: &Report) -> (u64, u64, u64) {
    let (ab, ba) = (&r.a_to_b, &r.b_to_a);
    (
        (ab.sent + ba.sent).saturating_sub(ab.delivered + ba.delivered),
        ab.duplicated + ba.duplicated,
        ab.damaged + ba.damaged,
    )
}

/// Totals the report shows, computed once.
struct Totals {
    sent: u64,
    delivered: u64,
    lost: u64,
    dup: u64,
    damaged: u64,
    payload: u64,
    wire: u64,
    retx: u64,
    crc: u64,
    auth_failed: u64,
    zin: u64,
    zout: u64,
    parity: u64,
    fec_recovered: u64,
    secs: f64,
    lat: [u64; 4],
    /// Every latency, sorted (for the histogram).
    sorted: Vec<u64>,
    raw_lost: u64,
}

fn totals(r: &Report) -> Totals {
    let mut sorted: Vec<u64> = r.samples().map(|s| s.1).collect();
    sorted.sort_unstable();
    let [a, b] = &r.stats;
    let (lost, dup, damaged) = faults(r);
    Totals {
        sent: r.a_to_b.sent + r.b_to_a.sent,
        delivered: r.a_to_b.delivered + r.b_to_a.delivered,
        lost,
        dup,
        damaged,
        payload: r.a_to_b.payload_bytes + r.b_to_a.payload_bytes,
        wire: a.bytes_sent + b.bytes_sent,
        retx: a.retransmissions + b.retransmissions,
        crc: a.crc_rejects + b.crc_rejects,
        auth_failed: a.auth_failed + b.auth_failed,
        zin: a.compress_in + b.compress_in,
        zout: a.compress_out + b.compress_out,
        parity: a.parity_sent + b.parity_sent,
        fec_recovered: a.fec_recovered + b.fec_recovered,
        secs: r.elapsed.as_secs_f64(),
        lat: [
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.9),
            percentile(&sorted, 0.99),
            sorted.last().copied().unwrap_or(0),
        ],
        sorted,
        raw_lost: r.raw.sent.saturating_sub(r.raw.delivered),
    }
}

/// Whether reliable delivery was exact: nothing lost, duplicated or damaged.
pub fn exact(r: &Report) -> bool {
    faults(r) == (0, 0, 0)
}

/// Rounds to `places` decimals for the report.
fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// The report as one line of JSON.
pub fn json(r: &Report) -> String {
    let t = totals(r);
    // No ratio when nothing went through the compressor (compression off).
    let ratio = (t.zin > 0).then(|| round(t.zout as f64 / t.zin as f64, 3));
    serde_json::json!({
        "transport": r.transport,
        "apis": r.apis,
        "sent": t.sent,
        "delivered": t.delivered,
        "lost": t.lost,
        "duplicated": t.dup,
        "damaged_accepted": t.damaged,
        "elapsed_s": round(t.secs, 3),
        "goodput_msgs_per_s": (t.delivered as f64 / t.secs).round() as u64,
        "goodput_bytes_per_s": (t.payload as f64 / t.secs).round() as u64,
        "latency_us": {"p50": t.lat[0], "p90": t.lat[1], "p99": t.lat[2], "max": t.lat[3]},
        "retransmissions": t.retx,
        "crc_rejects": t.crc,
        "fec": {"parity_sent": t.parity, "recovered": t.fec_recovered},
        "wire_bytes": t.wire,
        "payload_bytes": t.payload,
        "link_downs": r.downs,
        "compression": {"bytes_in": t.zin, "bytes_out": t.zout, "ratio": ratio},
        "aead": r.aead,
        "auth_failed": t.auth_failed,
        "captured_frames": r.captured,
        "raw_udp": {
            "sent": r.raw.sent,
            "delivered": r.raw.delivered,
            "lost": t.raw_lost,
            "damaged_accepted": r.raw.damaged,
        },
    })
    .to_string()
}

/// The report as a table, with the terminal histogram.
pub fn table(r: &Report) -> String {
    let t = totals(r);
    let mut s = String::new();
    s.push('\n');
    let _ = writeln!(
        s,
        "  endpoint A: {} API, endpoint B: {} API, over {}",
        r.apis[0], r.apis[1], r.transport
    );
    let _ = writeln!(
        s,
        "                         ferrule (reliable)     raw UDP (same proxy)"
    );
    let _ = writeln!(
        s,
        "  messages sent          {:>18}     {:>20}",
        t.sent, r.raw.sent
    );
    let _ = writeln!(
        s,
        "  delivered              {:>18}     {:>20}",
        t.delivered, r.raw.delivered
    );
    let _ = writeln!(
        s,
        "  lost                   {:>18}     {:>20}",
        t.lost, t.raw_lost
    );
    let _ = writeln!(
        s,
        "  duplicated             {:>18}     {:>20}",
        t.dup, "(not detected)"
    );
    let _ = writeln!(
        s,
        "  damaged but accepted   {:>18}     {:>20}",
        t.damaged, r.raw.damaged
    );
    s.push('\n');
    let _ = writeln!(s, "  run time               {:.2} s", t.secs);
    let _ = writeln!(
        s,
        "  goodput                {:.0} msg/s, {:.1} KB/s of payload",
        t.delivered as f64 / t.secs,
        t.payload as f64 / t.secs / 1000.0
    );
    let _ = writeln!(
        s,
        "  latency (send->deliver) p50 {} us  p90 {} us  p99 {} us  max {} us",
        t.lat[0], t.lat[1], t.lat[2], t.lat[3]
    );
    let _ = writeln!(
        s,
        "  retransmissions        {} ({:.1}% of messages)",
        t.retx,
        t.retx as f64 * 100.0 / t.sent.max(1) as f64
    );
    let _ = writeln!(
        s,
        "  CRC rejects            {} (corrupted frames caught)",
        t.crc
    );
    if t.parity > 0 {
        let _ = writeln!(
            s,
            "  FEC                    {} parity frames sent, {} lost frames rebuilt",
            t.parity, t.fec_recovered
        );
    }
    if t.zin > 0 {
        let _ = writeln!(
            s,
            "  compression            {:.1}% of message bytes on the wire ({} -> {} B)",
            t.zout as f64 * 100.0 / t.zin as f64,
            t.zin,
            t.zout
        );
    }
    if r.aead {
        let _ = writeln!(
            s,
            "  AEAD                   on (ChaCha20-Poly1305); {} forgeries rejected",
            t.auth_failed
        );
    }
    let _ = writeln!(
        s,
        "  wire bytes / payload   {:.3} (headers, CRC, acks, retransmissions)",
        t.wire as f64 / t.payload.max(1) as f64
    );
    let p = &r.proxy;
    let _ = writeln!(
        s,
        "  proxy                  dropped {} corrupted {} duplicated {} reordered {}",
        p.dropped, p.corrupted, p.duplicated, p.reordered
    );
    let _ = writeln!(s, "  link failures          {}", r.downs);
    if let Some(n) = r.captured {
        let _ = writeln!(
            s,
            "  capture                {n} frames recorded at endpoint A"
        );
    }
    s += &super::plot::terminal_histogram(&t.sorted);
    s
}
