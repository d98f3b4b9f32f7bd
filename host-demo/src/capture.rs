//! `--capture FILE` records every frame an endpoint sends and receives; `decode FILE` prints
//! a capture. The format (all integers little-endian):
//!
//! ```text
//! file header, 16 bytes:
//!   0..8    magic "FERRCAP1"
//!   8       framing: 0 = datagram (a record holds one datagram: a frame body),
//!                    1 = stream   (a record holds one COBS-encoded frame, delimiters removed)
//!   9..16   zero
//! record, 12 bytes + data:
//!   0..8    u64 microseconds since the capture started
//!   8       direction: 0 = sent by the capturing endpoint, 1 = received by it
//!   9       zero
//!   10..12  u16 length n of the data
//!   12..    n bytes, exactly as on the wire (received frames after any line damage)
//! ```

use ferrule::{cobs, Compression, Frame, FrameError, Header};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

/// First bytes of every capture.
pub const MAGIC: &[u8; 8] = b"FERRCAP1";
/// Direction byte: sent by the capturing endpoint.
pub const SENT: u8 = 0;
/// Direction byte: received by the capturing endpoint.
pub const RECEIVED: u8 = 1;

/// Writes a capture.
pub struct Capture {
    out: BufWriter<File>,
    stream: bool,
    /// Stream bytes received since the last delimiter.
    partial: Vec<u8>,
    /// Records written.
    pub records: u64,
}

impl Capture {
    /// Creates `path` (replacing it) and writes the file header.
    pub fn create(path: &str, stream: bool) -> io::Result<Self> {
        let f = File::create(path)
            .map_err(|e| crate::transport::context(e, &format!("cannot create {path}")))?;
        let mut out = BufWriter::new(f);
        out.write_all(MAGIC)?;
        out.write_all(&[u8::from(stream), 0, 0, 0, 0, 0, 0, 0])?;
        Ok(Self {
            out,
            stream,
            partial: Vec::new(),
            records: 0,
        })
    }

    fn record(&mut self, t_us: u64, dir: u8, data: &[u8]) -> io::Result<()> {
        // Frames are far below 64 KiB; a longer run of bytes without a delimiter is noise and
        // is cut into records, so nothing seen is left out.
        for chunk in data.chunks(usize::from(u16::MAX)) {
            self.out.write_all(&t_us.to_le_bytes())?;
            self.out.write_all(&[dir, 0])?;
            self.out.write_all(&(chunk.len() as u16).to_le_bytes())?;
            self.out.write_all(chunk)?;
            self.records += 1;
        }
        Ok(())
    }

    /// Records what the endpoint put on the wire: one datagram, or one stream frame with its
    /// delimiters.
    pub fn sent(&mut self, t_us: u64, wire: &[u8]) -> io::Result<()> {
        if !self.stream {
            return self.record(t_us, SENT, wire);
        }
        for frame in wire.split(|&b| b == 0).filter(|f| !f.is_empty()) {
            self.record(t_us, SENT, frame)?;
        }
        Ok(())
    }

    /// Records what the endpoint read: one datagram, or a chunk of stream bytes (frames are
    /// recorded as their delimiters arrive).
    pub fn received(&mut self, t_us: u64, wire: &[u8]) -> io::Result<()> {
        if !self.stream {
            return self.record(t_us, RECEIVED, wire);
        }
        for &b in wire {
            if b != 0 {
                self.partial.push(b);
            } else if !self.partial.is_empty() {
                let frame = std::mem::take(&mut self.partial);
                self.record(t_us, RECEIVED, &frame)?;
            }
        }
        Ok(())
    }

    /// Writes everything out.
    pub fn finish(mut self) -> io::Result<u64> {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.record(u64::MAX, RECEIVED, &rest)?;
        }
        self.out.flush()?;
        Ok(self.records)
    }
}

/// One record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Microseconds since the capture started.
    pub t_us: u64,
    /// `SENT` or `RECEIVED`.
    pub dir: u8,
    /// The bytes as on the wire.
    pub data: Vec<u8>,
}

/// Reads a whole capture: whether it is a stream capture, and its records.
pub fn read(path: &str) -> Result<(bool, Vec<Record>), String> {
    let mut f = File::open(path).map_err(|e| format!("cannot open {path}: {e}"))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    parse(&bytes).map_err(|e| format!("{path}: {e}"))
}

/// Parses capture bytes.
pub fn parse(bytes: &[u8]) -> Result<(bool, Vec<Record>), String> {
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err("not a ferrule capture (no FERRCAP1 header)".into());
    }
    let stream = match bytes[8] {
        0 => false,
        1 => true,
        x => return Err(format!("unknown framing byte {x} in the header")),
    };
    let mut at = 16;
    let mut records = Vec::new();
    while at < bytes.len() {
        let Some(head) = bytes.get(at..at + 12) else {
            return Err(format!("truncated record header at offset {at}"));
        };
        let t_us = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
        let dir = head[8];
        if dir > RECEIVED {
            return Err(format!("bad direction byte {dir} at offset {}", at + 8));
        }
        let n = usize::from(u16::from_le_bytes([head[10], head[11]]));
        let Some(data) = bytes.get(at + 12..at + 12 + n) else {
            return Err(format!(
                "truncated record at offset {at} ({n} bytes announced)"
            ));
        };
        records.push(Record {
            t_us,
            dir,
            data: data.to_vec(),
        });
        at += 12 + n;
    }
    Ok((stream, records))
}

/// The human-readable line for one record.
pub fn describe(stream: bool, r: &Record) -> String {
    let arrow = if r.dir == SENT { "->" } else { "<-" };
    let t = if r.t_us == u64::MAX {
        "      (end)".to_string()
    } else {
        format!("{:>11.6}", r.t_us as f64 / 1e6)
    };
    let mut body = vec![0u8; r.data.len()];
    let body = if stream {
        match cobs::decode(&r.data, &mut body) {
            Ok(n) => &body[..n],
            Err(e) => return format!("{t} {arrow} {:>4} B  malformed COBS ({e:?})", r.data.len()),
        }
    } else {
        &r.data[..]
    };
    let (header, payload, crc) = match Frame::from_body(body) {
        Ok(f) => (f.header, f.payload, "ok"),
        Err(FrameError::BadCrc) => match Header::parse(&body[..body.len() - 4]) {
            Ok((h, len)) => (h, &body[len..body.len() - 4], "BAD"),
            Err(e) => return format!("{t} {arrow} {:>4} B  CRC BAD, header: {e}", body.len()),
        },
        Err(e) => return format!("{t} {arrow} {:>4} B  rejected: {e}", body.len()),
    };
    format!(
        "{t} {arrow} {:>4} B  {:<9} {}  crc {crc:<3}  {}",
        body.len(),
        header.kind.name(),
        fields(&header),
        preview(&header, payload)
    )
}

fn fields(h: &Header) -> String {
    let mut s = format!("ch {:<3} flags {:#04x}", h.channel, h.flags());
    match h.seq {
        Some(q) => s += &format!(" seq {q:<5}"),
        None => s += "          ",
    }
    match h.ack {
        Some(a) => {
            s += &format!(" ack {:<5} win {:<3}", a.next, a.window);
            if let Some(m) = a.sack {
                s += &format!(" sack {m:#010x}");
            }
        }
        None => s += "                  ",
    }
    if let Some(a) = h.aead {
        s += &format!(" sealed key {} ctr {}", a.key_id, a.counter);
    }
    s
}

fn preview(h: &Header, payload: &[u8]) -> String {
    if payload.is_empty() {
        return String::new();
    }
    let how = match (h.aead.is_some(), h.compression) {
        (true, _) => "ciphertext",
        (false, Compression::None | Compression::SharedRaw) => "",
        (false, Compression::Deflate) => "deflate",
        (false, Compression::Shared) => "deflate, shared window",
        (false, Compression::Dictionary(_)) => "deflate, dictionary",
    };
    let text: String = payload
        .iter()
        .take(40)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    let more = if payload.len() > 40 { "..." } else { "" };
    if how.is_empty() {
        format!("| {text}{more}")
    } else {
        format!("| ({how}) {text}{more}")
    }
}

/// `ferrule-demo decode FILE`: prints every record and a summary; the exit status.
pub fn main(args: &[String]) -> u8 {
    let [path] = args else {
        eprintln!("ferrule-demo: usage: ferrule-demo decode FILE");
        return 2;
    };
    let (stream, records) = match read(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ferrule-demo: {e}");
            return 1;
        }
    };
    let framing = if stream { "stream (COBS)" } else { "datagram" };
    println!("{path}: {} records, {framing} framing", records.len());
    println!("       time    dir  len  type      fields");
    let mut bad = 0;
    let mut out = io::stdout().lock();
    for r in &records {
        let line = describe(stream, r);
        if !line.contains("crc ok") {
            bad += 1;
        }
        if writeln!(out, "{line}").is_err() {
            return 0; // stdout closed (e.g. piped into `head`)
        }
    }
    let sent = records.iter().filter(|r| r.dir == SENT).count();
    let _ = writeln!(
        out,
        "{} sent, {} received, {bad} damaged or rejected",
        sent,
        records.len() - sent
    );
    0
}
