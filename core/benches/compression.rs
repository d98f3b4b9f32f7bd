//! Compression benchmark: bytes on the wire per payload byte (stream framing included) and
//! throughput, per corpus kind and message size, for every mode.
//!
//! `cargo bench -p ferrule --features std --bench compression`

#[path = "../tests/common/corpus.rs"]
mod corpus;

use ferrule::compress::{Codec, CodecConfig, Compressor, Dictionary, Mode, Receive};
use ferrule::{encode_stream, max_stream_frame_len, Compression, StreamOptions};
use std::hint::black_box;
use std::time::{Duration, Instant};

const SIZES: [usize; 5] = [32, 64, 128, 256, 4096];
const MODES: [&str; 7] = [
    "none",
    "per-message",
    "shared",
    "dictionary",
    "miniz L1",
    "miniz L6",
    "miniz L9",
];

/// Enough memory for any codec of this benchmark.
const MEM: usize = 64 * 1024;

/// What the receiving side accepts: everything, with the window and dynamic tables miniz's
/// 32 KiB-window output needs.
const RECEIVE_ALL: Receive = Receive {
    per_message: true,
    shared: true,
    dynamic: true,
    window_bits: 15,
};

/// miniz_oxide (flate2's default backend) at `level`: `None` when not smaller than `msg`.
fn miniz(msg: &[u8], level: u32) -> Option<Vec<u8>> {
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
    std::io::Write::write_all(&mut z, msg).unwrap();
    let v = z.finish().unwrap();
    (v.len() < msg.len()).then_some(v)
}

/// A sender in `mode`, started against a peer that accepts everything.
fn sender<'a>(mode: Mode, dict: &'a [u8], mem: &'a mut [u8]) -> Compressor<'a> {
    let mut c = Compressor::new(
        CodecConfig {
            reliable: mode,
            unreliable: mode,
            dictionary: Some(Dictionary { id: 1, bytes: dict }),
            ..CodecConfig::DEFAULT
        },
        mem,
    )
    .unwrap();
    c.start_tx(ferrule::compress::RxCaps {
        per_message: true,
        shared: true,
        dynamic: true,
        window_bits: 15,
        dict_id: 1,
    });
    c
}

/// Encodes every message in `mode`; returns (wire bytes, payload bytes) of one pass.
fn run(
    mode: &str,
    msgs: &[Vec<u8>],
    dict: &[u8],
    mem: &mut [u8],
    wire: &mut [u8],
    frame: &mut [u8],
) -> (usize, usize) {
    let codec_mode = match mode {
        "per-message" => Mode::PerMessage,
        "shared" => Mode::Shared,
        "dictionary" => Mode::Dictionary,
        _ => Mode::Off,
    };
    let mut c = sender(codec_mode, dict, mem);
    let level = match mode {
        "miniz L1" => Some(1),
        "miniz L6" => Some(6),
        "miniz L9" => Some(9),
        _ => None,
    };
    let (mut on_wire, mut payload) = (0, 0);
    for m in msgs {
        let (repr, n) = match level.and_then(|l| miniz(m, l)) {
            Some(v) => {
                wire[..v.len()].copy_from_slice(&v);
                (Compression::Deflate, v.len())
            }
            None if level.is_some() => {
                wire[..m.len()].copy_from_slice(m);
                (Compression::None, m.len())
            }
            None => c.compress(true, m, wire),
        };
        on_wire += encode_stream(
            &corpus::one_way_header(repr, 1234),
            &wire[..n],
            StreamOptions::default(),
            frame,
        )
        .unwrap();
        payload += m.len();
    }
    (on_wire, payload)
}

/// Median-of-5 throughput of `f` over `bytes` per call, in MB/s.
fn throughput(bytes: usize, mut f: impl FnMut()) -> f64 {
    let mut rates = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let mut calls = 0u32;
        while start.elapsed() < Duration::from_millis(40) {
            f();
            calls += 1;
        }
        rates.push(bytes as f64 * f64::from(calls) / start.elapsed().as_secs_f64() / 1e6);
    }
    rates.sort_by(f64::total_cmp);
    rates[2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let mut wire = vec![0u8; 4096];
    let mut frame = vec![0u8; max_stream_frame_len(4096)];
    let mut mem = vec![0u8; MEM];
    let mut rx_mem = vec![0u8; MEM];
    println!("## Wire bytes / payload bytes (COBS stream framing, RDATA header, CRC)\n");
    for kind in corpus::KINDS {
        let dict = corpus::dictionary(kind);
        println!("### {kind}\n");
        println!("| mode | {} |", SIZES.map(|s| format!("{s} B")).join(" | "));
        println!("|---|{}", "---:|".repeat(SIZES.len()));
        for mode in MODES {
            let cells: Vec<String> = SIZES
                .iter()
                .map(|&size| {
                    let count = (64 * 1024 / size).clamp(16, 400);
                    let msgs = corpus::messages(kind, size, count, 7);
                    let (w, p) = run(mode, &msgs, &dict, &mut mem, &mut wire, &mut frame);
                    format!("{:.1} %", 100.0 * w as f64 / p as f64)
                })
                .collect();
            println!("| {mode} | {} |", cells.join(" | "));
        }
        println!();
    }
    if quick {
        return;
    }
    println!("## Throughput, JSON (MB/s of message bytes: compress + frame; inflate)\n");
    println!("| mode | {} |", SIZES.map(|s| format!("{s} B")).join(" | "));
    println!("|---|{}", "---:|".repeat(SIZES.len()));
    let dict = corpus::dictionary("json");
    for mode in MODES {
        let cells: Vec<String> = SIZES
            .iter()
            .map(|&size| {
                let count = (64 * 1024 / size).clamp(16, 400);
                let msgs = corpus::messages("json", size, count, 7);
                let total: usize = msgs.iter().map(Vec::len).sum();
                let enc = throughput(total, || {
                    black_box(run(mode, &msgs, &dict, &mut mem, &mut wire, &mut frame));
                });
                // Inflate side: decode what this mode produced (miniz rows: per-message streams).
                let mode_of = match mode {
                    "shared" => Mode::Shared,
                    "dictionary" => Mode::Dictionary,
                    "none" => Mode::Off,
                    _ => Mode::PerMessage,
                };
                let mut tx = sender(mode_of, &dict, &mut mem);
                let payloads: Vec<(Compression, Vec<u8>)> = msgs
                    .iter()
                    .map(|m| {
                        let level = mode.strip_prefix("miniz L").map(|l| l.parse().unwrap());
                        match level.and_then(|l| miniz(m, l)) {
                            Some(v) => (Compression::Deflate, v),
                            None => {
                                let (r, n) = tx.compress(true, m, &mut wire);
                                (r, wire[..n].to_vec())
                            }
                        }
                    })
                    .collect();
                let mut out = vec![0u8; 4096];
                let dec = throughput(total, || {
                    let mut rx = Compressor::new(
                        CodecConfig {
                            dictionary: Some(Dictionary {
                                id: 1,
                                bytes: &dict,
                            }),
                            receive: RECEIVE_ALL,
                            ..CodecConfig::DEFAULT
                        },
                        &mut rx_mem,
                    )
                    .unwrap();
                    rx.reset_rx();
                    for (r, p) in &payloads {
                        black_box(rx.decompress(*r, p, &mut out).unwrap());
                    }
                });
                format!("{enc:.0} / {dec:.0}")
            })
            .collect();
        println!("| {mode} | {} |", cells.join(" | "));
    }
}
