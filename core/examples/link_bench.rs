//! Link benchmark on the deterministic simulator: goodput, delivery latency and retransmissions
//! against independent loss from 0 to 30 %, next to the ideal (1 - p) goodput.
//!
//! `cargo run --release -p ferrule --example link_bench` — prints the README tables.
//! Window 8 x 256 B, both directions lossy, traffic A->B (B sends nothing but acks), messages of
//! 9..256 bytes. Two lines:
//! - a UART at 115200 baud (11,520 bytes/s, stream framing, 2 ms latency + 0..1 ms jitter):
//!   the line's rate limits goodput, as on the serial links ferrule is for;
//! - an unlimited-rate datagram path (2 ms one-way + 0..1 ms jitter): the window limits
//!   goodput to 8 messages per round trip, so every loss that holds the window's first slot
//!   for a round trip shows directly.
//!
//! Goodput is delivered messages per virtual second.

#[path = "../tests/sim/mod.rs"]
mod sim;

use ferrule::link::Transport;
use sim::{run, Impair, Profile};

fn main() {
    table(
        "UART 115200 baud, stream framing",
        Transport::Stream,
        11_520,
        6_000,
    );
    println!();
    table(
        "unlimited rate, datagrams (window-bound)",
        Transport::Datagram,
        0,
        40_000,
    );
}

fn table(title: &str, transport: Transport, rate: u64, messages: u64) {
    let losses = [0.0, 0.01, 0.05, 0.10, 0.20, 0.30];
    let mut lossless = 0.0;
    println!("{title}:");
    println!();
    println!("| loss | goodput (msg/s) | vs lossless | ideal (1-p) | latency p50 (ms) | p99 (ms) | retransmissions / delivered | spurious / sent |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, &p) in losses.iter().enumerate() {
        let imp = Impair {
            loss: p,
            delay: 2,
            jitter: 1,
            rate,
            ..Impair::default()
        };
        let prof = Profile {
            name: "bench",
            transport,
            a_to_b: imp,
            b_to_a: imp,
            stall: None,
            reboot_at: None,
            messages,
            replies: 0,
            unreliable_every: 0,
            compress: false,
            aead: false,
            fec: None,
            seed: 100 + i as u64,
        };
        let o = run(&prof);
        let delivered = o.b.reliable.len() as f64;
        assert_eq!(
            o.b.reliable.len(),
            o.a.sent.len(),
            "incomplete delivery at p={p}"
        );
        let goodput = delivered / (o.end_ms as f64 / 1000.0);
        if p == 0.0 {
            lossless = goodput;
        }
        let mut lat = o.latencies.clone();
        lat.sort_unstable();
        let pct = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize];
        let retx = o.stats_a.retransmissions as f64;
        // B's receiver counts RDATA it already had: with no duplication in the network, each one
        // is a retransmission that was not needed.
        let spurious = o.stats_b.duplicates as f64;
        let sends = o.stats_a.rdata_frames_sent as f64;
        println!(
            "| {:.0} % | {:.0} | {:.1} % | {:.1} % | {} | {} | {:.3} | {:.2} % |",
            p * 100.0,
            goodput,
            goodput / lossless * 100.0,
            (1.0 - p) * 100.0,
            pct(0.5),
            pct(0.99),
            retx / delivered,
            spurious / sends * 100.0
        );
    }
}
