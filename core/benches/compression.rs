//! Compression benchmark: bytes on the wire per payload byte (stream framing included) and
//! throughput, per corpus kind and message size, for every mode.
//!
//! `cargo bench -p ferrule --features std --bench compression`

#[path = "../tests/common/corpus.rs"]
mod corpus;

use ferrule::compress::{deflate_alloc, Codec, CodecConfig, Compressor, Dictionary, Mode};
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

/// Encodes every message in `mode`; returns (wire bytes, payload bytes) of one pass.
fn run(
    mode: &str,
    msgs: &[Vec<u8>],
    dict: &[u8],
    wire: &mut [u8],
    frame: &mut [u8],
) -> (usize, usize) {
    let codec_mode = match mode {
        "per-message" => Mode::PerMessage,
        "shared" => Mode::Shared,
        "dictionary" => Mode::Dictionary,
        _ => Mode::Off,
    };
    let mut c = Compressor::new(CodecConfig {
        reliable: codec_mode,
        unreliable: codec_mode,
        dictionary: Some(Dictionary { id: 1, bytes: dict }),
    });
    let level = match mode {
        "miniz L1" => Some(1),
        "miniz L6" => Some(6),
        "miniz L9" => Some(9),
        _ => None,
    };
    let (mut on_wire, mut payload) = (0, 0);
    for m in msgs {
        let (repr, n) = match level.and_then(|l| deflate_alloc(m, l)) {
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
                    let (w, p) = run(mode, &msgs, &dict, &mut wire, &mut frame);
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
                    black_box(run(mode, &msgs, &dict, &mut wire, &mut frame));
                });
                // Inflate side: decode what this mode produced (miniz rows: per-message streams).
                let mut tx = Compressor::new(CodecConfig {
                    reliable: match mode {
                        "shared" => Mode::Shared,
                        "dictionary" => Mode::Dictionary,
                        "none" => Mode::Off,
                        _ => Mode::PerMessage,
                    },
                    unreliable: Mode::Off,
                    dictionary: Some(Dictionary {
                        id: 1,
                        bytes: &dict,
                    }),
                });
                let payloads: Vec<(Compression, Vec<u8>)> = msgs
                    .iter()
                    .map(|m| {
                        let level = mode.strip_prefix("miniz L").map(|l| l.parse().unwrap());
                        match level.and_then(|l| deflate_alloc(m, l)) {
                            Some(v) => (Compression::Deflate, v),
                            None => {
                                let (r, n) = tx.compress(true, m, &mut wire);
                                (r, wire[..n].to_vec())
                            }
                        }
                    })
                    .collect();
                if mode.starts_with("miniz") && size > ferrule::compress::WINDOW {
                    // miniz uses a 32 KiB window; our 1 KiB inflate ring rejects such streams.
                    return format!("{enc:.0} / n/a");
                }
                let mut out = vec![0u8; 4096];
                let dec = throughput(total, || {
                    let mut rx = Compressor::new(CodecConfig {
                        dictionary: Some(Dictionary {
                            id: 1,
                            bytes: &dict,
                        }),
                        ..CodecConfig::default()
                    });
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
