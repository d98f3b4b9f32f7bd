//! Link benchmark on the deterministic simulator: ferrule's reliable link and KCP in the same
//! run, over the same simulated channel, against independent and bursty loss.
//!
//! `cargo run --release -p ferrule --example link_bench [-- [--all] [--json] [--messages N]
//! [--set NAME=VALUE]...]`
//!
//! - Main tables (always): (a) UART 115200 baud (11,520 B/s, stream framing, 2 ms latency +
//!   0..1 ms jitter; the line rate limits goodput), W = 8, 64 B messages; (b) datagrams,
//!   6 ms RTT (3 ms each way + 0..1 ms jitter), unlimited rate, W = 32, 64 B. Traffic one way
//!   (the receiver sends only acks); both directions lossy.
//! - `--all`: every other combination of W 8/32 x 64/256 B x one-way/bidirectional on both
//!   media.
//! - FEC tables (always): ferrule without and with forward error correction, and KCP, at
//!   0, 1, 5, 10, 20 % and Gilbert–Elliott loss, on the UART (W = 8), datagrams at 6 ms RTT
//!   (W = 32) and datagrams at 200 ms RTT (100 ms each way + 0..1 ms jitter, W = 32), 64 B
//!   messages, one way; with the FEC targets (`fec.rs`).
//! - `--fec`: the FEC tables for more group shapes (k:m 4:1, 4:2, 8:2, 8:3, 8:4, 16:2, 16:6)
//!   after the default one (8:2 on the UART and at 6 ms, 8:4 at 200 ms), each keeping enough
//!   groups to cover the window; `--fec-config K:M[:GROUPS]`: the shape every FEC table uses
//!   instead of the default.
//! - `--json`: the same results as one JSON document instead of markdown.
//! - `--batched`: the applications read every frame that arrived in a millisecond before
//!   they let the stack transmit; by default each arriving frame is answered before the
//!   next is read (as KCP's flush after every input does, which it keeps either way).
//! - `--messages N`: messages per sending side and run (default 20,000).
//! - `--runs N`: runs pooled per row (default 4), each on its own channel seed: a row's
//!   figures are over all its runs (messages over the summed duration, latency percentiles
//!   over every message, counters summed), so one seed's luck does not decide a comparison.
//! - `--set name=value`: override one of ferrule's `Config` fields for a tuning run
//!   (`rto_initial`, `rto_min`, `rto_max`, `max_retransmits`, `dupthresh`, `ack_delay`,
//!   `keepalive`); repeatable. The output names the overrides.
//!
//! Rows: independent loss 0, 1, 5, 10, 20, 30 %; Gilbert–Elliott bursts (mean 4 frames,
//! 10 % average loss); bursts of 20–50 frames (uniform) at 30 % average loss. Loss applies
//! to every frame in both directions, data and acks alike, each direction with its own loss
//! process; bursts are counted in frames of their direction, so a side that sends little
//! (backing off) stays inside a burst for longer. Seeds are fixed (run `k` of a row uses the
//! row's seed plus `k · 100,003`): every number but CPU time is the same on every run and
//! machine.
//!
//! Both stacks see the same channel (`channel.rs`, over the simulator's line in
//! `tests/sim`), the same applications (keep the in-flight budget full, read at once) and
//! the same event loop (`driver.rs`). ferrule runs with the simulator's configuration
//! (`ferrule_end.rs`), KCP at its best (`kcp_end.rs` says how, and how it crosses the UART).
//!
//! Columns: goodput (messages delivered per virtual second, both directions, from the first
//! message accepted to the last delivered); % of ideal (goodput over the same stack's
//! lossless goodput times 1 − average loss); latency from `send` accepted to delivered;
//! wire bytes per payload byte (every byte on the wire both ways, lost frames, acks and
//! handshake included; datagram rows count datagram payloads, no UDP/IP headers);
//! retransmissions and spurious retransmissions (the receiver already had the message) per
//! delivered message; CPU time of the stack's calls per delivered message (wall time of a
//! replay of the run's calls, `replay.rs`; machine-dependent).

#[path = "../../tests/sim/mod.rs"]
mod sim;

mod channel;
mod driver;
mod fec;
mod ferrule_end;
mod json;
mod kcp_end;
mod markdown;
mod replay;
mod report;

use channel::Loss;
use driver::{Medium, Scenario};
use ferrule::link::FecConfig;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts live heap bytes, for KCP's memory (ferrule allocates nothing).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_heap() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The loss rows of every table.
pub const LOSSES: [Loss; 8] = [
    Loss::Independent(0.0),
    Loss::Independent(0.01),
    Loss::Independent(0.05),
    Loss::Independent(0.10),
    Loss::Independent(0.20),
    Loss::Independent(0.30),
    Loss::GilbertElliott {
        burst: 4.0,
        average: 0.10,
    },
    Loss::Bursts {
        min: 20,
        max: 50,
        average: 0.30,
    },
];

/// Group shapes of `--fec`.
const FEC_MATRIX: [(u8, u8); 7] = [(4, 1), (4, 2), (8, 2), (8, 3), (8, 4), (16, 2), (16, 6)];

struct Options {
    all: bool,
    fec: bool,
    /// `--fec-config`: k, m and groups (`None`: enough for the window).
    fec_config: Option<(u8, u8, Option<u8>)>,
    json: bool,
    batched: bool,
    messages: u64,
    runs: u64,
    set: Vec<(String, u32)>,
}

fn usage() -> ! {
    eprintln!(
        "usage: link_bench [--all] [--fec] [--fec-config K:M[:GROUPS]] [--json] [--batched] \
         [--messages N] [--runs N] [--set NAME=VALUE]...\n\
         NAME: {}",
        ferrule_end::TUNABLE.join(", ")
    );
    std::process::exit(2);
}

fn options() -> Options {
    let mut o = Options {
        all: false,
        fec: false,
        fec_config: None,
        json: false,
        batched: false,
        messages: 20_000,
        runs: 4,
        set: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--all" => o.all = true,
            "--fec" => o.fec = true,
            "--fec-config" => {
                let v = args.next().unwrap_or_else(|| usage());
                o.fec_config = Some(parse_fec(&v).unwrap_or_else(|| usage()));
            }
            "--json" => o.json = true,
            "--batched" => o.batched = true,
            "--messages" => {
                o.messages = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage());
            }
            "--runs" => {
                o.runs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage());
            }
            "--set" => {
                let kv = args.next().unwrap_or_else(|| usage());
                let Some((k, v)) = kv.split_once('=') else {
                    usage()
                };
                let v = v.parse().unwrap_or_else(|_| usage());
                if !ferrule_end::TUNABLE.contains(&k) {
                    usage();
                }
                o.set.push((k.to_string(), v));
            }
            _ => usage(),
        }
    }
    o
}

/// `K:M` or `K:M:GROUPS`.
fn parse_fec(v: &str) -> Option<(u8, u8, Option<u8>)> {
    let n: Vec<u8> = v
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let (k, m, groups) = match n[..] {
        [k, m] => (k, m, None),
        [k, m, g] => (k, m, Some(g)),
        _ => return None,
    };
    // The limits `Fec::new` checks: k 1..=32, m 1..=16, groups >= 2 with groups * k <= 128.
    let groups_ok = groups.is_none_or(|g| g >= 2 && usize::from(g) * usize::from(k) <= 128);
    ((1..=32).contains(&k) && (1..=16).contains(&m) && groups_ok).then_some((k, m, groups))
}

fn scenario(
    medium: Medium,
    window: usize,
    size: usize,
    bidirectional: bool,
    o: &Options,
) -> Scenario {
    Scenario {
        medium,
        window,
        size,
        bidirectional,
        loss: Loss::Independent(0.0),
        messages: o.messages,
        batched: o.batched,
        seed: 0,
        runs: o.runs,
        fec: None,
    }
}

fn main() {
    let o = options();
    ferrule_end::set_overrides(o.set.clone());
    let started = std::time::Instant::now();
    let main = [
        scenario(Medium::Uart, 8, 64, false, &o),
        scenario(Medium::Datagram, 32, 64, false, &o),
    ];
    let mut results: Vec<report::ScenarioResult> = main.iter().map(report::measure).collect();
    if o.all {
        for medium in [Medium::Uart, Medium::Datagram] {
            for bidirectional in [false, true] {
                for window in [8, 32] {
                    for size in [64, 256] {
                        let s = scenario(medium, window, size, bidirectional, &o);
                        let is_main = main.iter().any(|m| {
                            (m.medium, m.window, m.size, m.bidirectional)
                                == (s.medium, s.window, s.size, s.bidirectional)
                        });
                        if !is_main {
                            results.push(report::measure(&s));
                        }
                    }
                }
            }
        }
    }
    // FEC: the media, the main tables' rows reused where the scenario is the same.
    let mut fec_results = Vec::new();
    let mut fec_chosen = Vec::new();
    for (medium, window) in [
        (Medium::Uart, 8),
        (Medium::Datagram, 32),
        (Medium::LongDatagram, 32),
    ] {
        let base = scenario(medium, window, 64, false, &o);
        let reuse = results[..2].iter().find(|r| {
            let s = &r.sc;
            (s.medium, s.window, s.size, s.bidirectional) == (medium, window, base.size, false)
        });
        let chosen = match o.fec_config {
            Some((k, m, groups)) => {
                let c = fec::config(k, m, window);
                FecConfig {
                    groups: groups.unwrap_or(c.groups),
                    ..c
                }
            }
            None => {
                let (k, m) = fec::default_shape(medium);
                fec::config(k, m, window)
            }
        };
        let mut shapes = vec![chosen];
        if o.fec {
            shapes.extend(
                FEC_MATRIX
                    .iter()
                    .map(|&(k, m)| fec::config(k, m, window))
                    .filter(|c| (c.k, c.m) != (chosen.k, chosen.m)),
            );
        }
        for cfg in shapes {
            let r = fec::measure(&base, cfg, reuse);
            if cfg == chosen {
                fec_chosen.push(fec_results.len());
            }
            fec_results.push(r);
        }
    }
    let memory = report::memory(live_heap);
    let targets = report::targets(&results[0], &results[1]);
    let chosen: Vec<&fec::FecResult> = fec_chosen.iter().map(|&i| &fec_results[i]).collect();
    let fec_targets = fec::targets(&chosen);
    if o.json {
        println!(
            "{}",
            json::json(&results, &memory, &targets, &fec_results, &fec_targets)
        );
    } else {
        markdown::markdown(&results, &memory, &targets);
        markdown::markdown_fec(&fec_results, &fec_targets);
        if o.all {
            markdown::markdown_all(&results);
        }
        println!("(run time {:.1} s)", started.elapsed().as_secs_f64());
    }
}
