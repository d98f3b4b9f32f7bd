//! Framing throughput: ferrule encode (COBS + CRC-32C + header) and stream decode, next to
//! memcpy and to the `cobs` and `corncobs` crates doing only the COBS step.
//!
//! `cargo bench -p ferrule --bench framing`; `scripts/bench-table.py` turns the results into
//! the README table. 64 KiB inputs are sent as 16 frames of 4 KiB (the protocol maximum).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrule::{encode_stream, max_stream_frame_len, Feed, Header, StreamDecoder, StreamOptions};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 5] = [16, 64, 256, 1024, 65536];
const FRAME_MAX: usize = 4096;

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// `random`, `zero-heavy` (24-byte LE sensor records, ~55 % zeros) or `json` telemetry lines.
fn input(kind: &str, len: usize) -> Vec<u8> {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut v = Vec::with_capacity(len + 256);
    match kind {
        "random" => v.extend((0..len).map(|_| rng.next() as u8)),
        "zero-heavy" => {
            while v.len() < len {
                let ts = rng.next() % 100_000;
                v.extend((ts as u32).to_le_bytes());
                v.extend(((rng.next() % 4000) as u32).to_le_bytes());
                v.extend(((rng.next() % 300) as u16).to_le_bytes());
                v.extend(((rng.next() % 100) as u16).to_le_bytes());
                v.extend([(rng.next() % 8) as u8, 0, 0, 0]);
                v.extend((rng.next() as u32 & 0x00FF_00FF).to_le_bytes());
                v.extend([0u8, 0, (rng.next() % 3) as u8, 0]);
            }
        }
        _ => {
            let mut seq = 0u32;
            while v.len() < len {
                let r = rng.next();
                let line = format!(
                    "{{\"ts\":{},\"dev\":\"node-{:02}\",\"seq\":{},\"temp\":{}.{:02},\"hum\":{}.{}}}\n",
                    1_700_000_000 + seq,
                    r % 8,
                    seq,
                    20 + r % 5,
                    (r >> 8) % 100,
                    40 + (r >> 16) % 20,
                    (r >> 24) % 10
                );
                v.extend(line.as_bytes());
                seq += 1;
            }
        }
    }
    v.truncate(len);
    v
}

fn encode_all(data: &[u8], out: &mut [u8]) -> usize {
    let mut n = 0;
    for chunk in data.chunks(FRAME_MAX) {
        n += encode_stream(
            &Header::data(1),
            chunk,
            StreamOptions::default(),
            &mut out[n..],
        )
        .unwrap();
    }
    n
}

fn bench(c: &mut Criterion) {
    for kind in ["random", "zero-heavy", "json"] {
        let mut g = c.benchmark_group(kind);
        g.warm_up_time(Duration::from_millis(300));
        g.measurement_time(Duration::from_millis(1200));
        g.sample_size(30);
        for size in SIZES {
            let data = input(kind, size);
            let mut wire = vec![0u8; (size / FRAME_MAX + 1) * max_stream_frame_len(FRAME_MAX)];
            let wire_len = encode_all(&data, &mut wire);
            g.throughput(Throughput::Bytes(size as u64));

            g.bench_with_input(BenchmarkId::new("ferrule-encode", size), &data, |b, d| {
                let mut out = vec![0u8; wire.len()];
                b.iter(|| black_box(encode_all(black_box(d), &mut out)))
            });
            g.bench_with_input(
                BenchmarkId::new("ferrule-decode", size),
                &wire[..wire_len],
                |b, w| {
                    let mut dec = StreamDecoder::<{ FRAME_MAX + 32 }>::new();
                    b.iter(|| {
                        let mut input = black_box(w);
                        let mut bytes = 0;
                        loop {
                            match dec.feed(input) {
                                Feed::Frame { frame, rest } => {
                                    bytes += frame.payload.len();
                                    input = rest;
                                }
                                Feed::Rejected { .. } => unreachable!(),
                                Feed::Consumed => break,
                            }
                        }
                        black_box(bytes)
                    })
                },
            );
            g.bench_with_input(BenchmarkId::new("memcpy", size), &data, |b, d| {
                let mut out = vec![0u8; d.len()];
                b.iter(|| out.copy_from_slice(black_box(d)))
            });
            let mut cobs_out = vec![0u8; cobs::max_encoding_length(size) + 1];
            let n = cobs::encode(&data, &mut cobs_out);
            g.bench_with_input(BenchmarkId::new("cobs-encode", size), &data, |b, d| {
                let mut out = vec![0u8; cobs::max_encoding_length(size)];
                b.iter(|| black_box(cobs::encode(black_box(d), &mut out)))
            });
            g.bench_with_input(
                BenchmarkId::new("cobs-decode", size),
                &cobs_out[..n],
                |b, e| {
                    let mut out = vec![0u8; size];
                    b.iter(|| black_box(cobs::decode(black_box(e), &mut out).unwrap()))
                },
            );
            let mut cc_out = vec![0u8; corncobs::max_encoded_len(size)];
            let m = corncobs::encode_buf(&data, &mut cc_out);
            g.bench_with_input(BenchmarkId::new("corncobs-encode", size), &data, |b, d| {
                let mut out = vec![0u8; corncobs::max_encoded_len(size)];
                b.iter(|| black_box(corncobs::encode_buf(black_box(d), &mut out)))
            });
            g.bench_with_input(
                BenchmarkId::new("corncobs-decode", size),
                &cc_out[..m],
                |b, e| {
                    let mut out = vec![0u8; size];
                    b.iter(|| black_box(corncobs::decode_buf(black_box(e), &mut out).unwrap()))
                },
            );
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
