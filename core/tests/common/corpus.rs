//! A deterministic telemetry corpus: JSON lines, CSV sensor lines, packed binary records and
//! log lines, as produced by typical firmware. Messages of a given size are consecutive
//! slices of one kind's stream.
#![allow(dead_code)]

/// The corpus kinds.
pub const KINDS: [&str; 4] = ["json", "csv", "binary", "log"];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn range(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

/// At least `len` bytes of `kind`'s stream, generated from `seed`.
pub fn stream(kind: &str, len: usize, seed: u64) -> Vec<u8> {
    let mut r = Lcg(seed ^ 0x5EED);
    let mut out = Vec::with_capacity(len + 256);
    let mut t: u64 = 1_700_000_000_000;
    let levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
    let modules = ["uart", "imu", "power", "radio", "link", "app"];
    let events = [
        "sample ready",
        "battery voltage nominal",
        "retrying transmission",
        "buffer high watermark",
        "sensor calibrated",
        "watchdog fed",
    ];
    let mut seq = 0u32;
    while out.len() < len {
        t += u64::from(10 + r.range(5));
        seq += 1;
        match kind {
            "json" => out.extend_from_slice(
                format!(
                    "{{\"id\":\"node-{:02}\",\"seq\":{},\"t\":{},\"temp\":{:.2},\"rh\":{:.1},\"v\":{:.3},\"ok\":{}}}\n",
                    r.range(4),
                    seq,
                    t,
                    20.0 + f64::from(r.range(600)) / 100.0,
                    40.0 + f64::from(r.range(200)) / 10.0,
                    3.2 + f64::from(r.range(100)) / 1000.0,
                    r.range(20) != 0
                )
                .as_bytes(),
            ),
            "csv" => out.extend_from_slice(
                format!(
                    "{},{},{:.3},{:.3},{:.3},{},{}\n",
                    t,
                    seq,
                    f64::from(r.range(2000)) / 1000.0 - 1.0,
                    f64::from(r.range(2000)) / 1000.0 - 1.0,
                    9.8 + f64::from(r.range(100)) / 1000.0,
                    1000 + r.range(50),
                    r.range(2)
                )
                .as_bytes(),
            ),
            "binary" => {
                // A packed little-endian record: timestamp, sequence, 4 x i16 channels, status.
                out.extend_from_slice(&(t as u32).to_le_bytes());
                out.extend_from_slice(&seq.to_le_bytes());
                for base in [100i16, -250, 4000, 0] {
                    let v = base + (r.range(64) as i16 - 32);
                    out.extend_from_slice(&v.to_le_bytes());
                }
                out.extend_from_slice(&[0, 0, (r.range(3)) as u8, 0]);
            }
            _ => out.extend_from_slice(
                format!(
                    "[{:>10}.{:03}] {:<5} {}: {} (n={})\n",
                    t / 1000,
                    t % 1000,
                    levels[r.range(6) as usize],
                    modules[r.range(6) as usize],
                    events[r.range(6) as usize],
                    r.range(1000)
                )
                .as_bytes(),
            ),
        }
    }
    out
}

/// `count` messages of `size` bytes of `kind`.
pub fn messages(kind: &str, size: usize, count: usize, seed: u64) -> Vec<Vec<u8>> {
    stream(kind, size * count, seed)
        .chunks_exact(size)
        .take(count)
        .map(<[u8]>::to_vec)
        .collect()
}

/// The header the link puts on a reliable message of a one-way telemetry stream, which the
/// wire-ratio numbers count: session tag and sequence number; no ack (the link piggybacks one
/// only when it has news, which adds 3 bytes).
pub fn one_way_header(compression: ferrule::Compression, seq: u16) -> ferrule::Header {
    ferrule::Header {
        kind: ferrule::FrameKind::Rdata,
        session: 0x5A,
        seq: Some(seq),
        compression,
        ..ferrule::Header::data(0)
    }
}

/// A preset dictionary for `kind`: the start of an independently seeded stream of it.
pub fn dictionary(kind: &str) -> Vec<u8> {
    let mut d = stream(kind, 1024, 0xD1C7);
    d.truncate(1024);
    d
}
