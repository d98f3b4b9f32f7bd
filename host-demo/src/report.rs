//! The end-of-run report, as a table with a histogram or as one JSON object (field names are
//! stable and documented in README.md).

use crate::run::Report;
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

/// The report as one line of JSON.
pub fn json(r: &Report) -> String {
    let t = totals(r);
    let ratio = t.zout as f64 / t.zin.max(1) as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        "{{\"transport\":\"{}\",\"apis\":[\"{}\",\"{}\"],\"sent\":{},\"delivered\":{},\"lost\":{},\
         \"duplicated\":{},\"damaged_accepted\":{},\"elapsed_s\":{:.3},\"goodput_msgs_per_s\":{:.0},\
         \"goodput_bytes_per_s\":{:.0},\"latency_us\":{{\"p50\":{},\"p90\":{},\"p99\":{},\"max\":{}}},\
         \"retransmissions\":{},\"crc_rejects\":{},\"wire_bytes\":{},\"payload_bytes\":{},\
         \"link_downs\":{},\"compression\":{{\"bytes_in\":{},\"bytes_out\":{},\"ratio\":{ratio:.3}}},\
         \"aead\":{},\"auth_failed\":{},\"captured_frames\":{},\
         \"raw_udp\":{{\"sent\":{},\"delivered\":{},\"lost\":{},\"damaged_accepted\":{}}}}}",
        r.transport,
        r.apis[0],
        r.apis[1],
        t.sent,
        t.delivered,
        t.lost,
        t.dup,
        t.damaged,
        t.secs,
        t.delivered as f64 / t.secs,
        t.payload as f64 / t.secs,
        t.lat[0],
        t.lat[1],
        t.lat[2],
        t.lat[3],
        t.retx,
        t.crc,
        t.wire,
        t.payload,
        r.downs,
        t.zin,
        t.zout,
        r.aead,
        t.auth_failed,
        r.captured.map_or("null".to_string(), |n| n.to_string()),
        r.raw.sent,
        r.raw.delivered,
        t.raw_lost,
        r.raw.damaged,
    );
    s
}

/// Prints the report as a table, with the terminal histogram.
pub fn print(r: &Report) {
    let t = totals(r);
    println!();
    println!(
        "  endpoint A: {} API, endpoint B: {} API, over {}",
        r.apis[0], r.apis[1], r.transport
    );
    println!("                         ferrule (reliable)     raw UDP (same proxy)");
    println!(
        "  messages sent          {:>18}     {:>20}",
        t.sent, r.raw.sent
    );
    println!(
        "  delivered              {:>18}     {:>20}",
        t.delivered, r.raw.delivered
    );
    println!(
        "  lost                   {:>18}     {:>20}",
        t.lost, t.raw_lost
    );
    println!(
        "  duplicated             {:>18}     {:>20}",
        t.dup, "(not detected)"
    );
    println!(
        "  damaged but accepted   {:>18}     {:>20}",
        t.damaged, r.raw.damaged
    );
    println!();
    println!("  run time               {:.2} s", t.secs);
    println!(
        "  goodput                {:.0} msg/s, {:.1} KB/s of payload",
        t.delivered as f64 / t.secs,
        t.payload as f64 / t.secs / 1000.0
    );
    println!(
        "  latency (send->deliver) p50 {} us  p90 {} us  p99 {} us  max {} us",
        t.lat[0], t.lat[1], t.lat[2], t.lat[3]
    );
    println!(
        "  retransmissions        {} ({:.1}% of messages)",
        t.retx,
        t.retx as f64 * 100.0 / t.sent.max(1) as f64
    );
    println!(
        "  CRC rejects            {} (corrupted frames caught)",
        t.crc
    );
    if t.zin > 0 {
        println!(
            "  compression            {:.1}% of message bytes on the wire ({} -> {} B)",
            t.zout as f64 * 100.0 / t.zin as f64,
            t.zin,
            t.zout
        );
    }
    if r.aead {
        println!(
            "  AEAD                   on (ChaCha20-Poly1305); {} forgeries rejected",
            t.auth_failed
        );
    }
    println!(
        "  wire bytes / payload   {:.3} (headers, CRC, acks, retransmissions)",
        t.wire as f64 / t.payload.max(1) as f64
    );
    let p = &r.proxy;
    println!(
        "  proxy                  dropped {} corrupted {} duplicated {} reordered {}",
        p.dropped, p.corrupted, p.duplicated, p.reordered
    );
    println!("  link failures          {}", r.downs);
    if let Some(n) = r.captured {
        println!("  capture                {n} frames recorded at endpoint A");
    }
    crate::plot::terminal_histogram(&t.sorted);
}
