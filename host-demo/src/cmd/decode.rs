//! `ferrule decode FILE`: prints a capture (pcapng from `--capture`, or the earlier `.fcap`)
//! frame by frame, with a summary.

use crate::capture::{self, Record, SENT, UNKNOWN};
use crate::cli::DecodeArgs;
use crate::fail::Failure;
use ferrule::{cobs, Compression, Frame, FrameError, Header};
use std::io::{self, Write};

/// The human-readable line for one record.
pub fn describe(stream: bool, r: &Record) -> String {
    let arrow = match r.dir {
        SENT => "->",
        UNKNOWN => "  ",
        _ => "<-",
    };
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

/// Prints every record and a summary.
pub fn main(a: &DecodeArgs) -> Result<(), Failure> {
    let path = &a.file;
    let f = capture::read(path)?;
    let framing = if f.stream {
        "stream (COBS)"
    } else {
        "datagram"
    };
    let mut out = io::stdout().lock();
    let mut put = |line: &str| writeln!(out, "{line}").is_ok();
    put(&format!(
        "{path}: {} records, {framing} framing ({})",
        f.records.len(),
        f.format
    ));
    put("       time    dir  len  type      fields");
    let mut bad = 0;
    for r in &f.records {
        let line = describe(f.stream, r);
        if !line.contains("crc ok") {
            bad += 1;
        }
        if !put(&line) {
            return Ok(()); // stdout closed (e.g. piped into `head`)
        }
    }
    let sent = f.records.iter().filter(|r| r.dir == SENT).count();
    put(&format!(
        "{} sent, {} received, {bad} damaged or rejected",
        sent,
        f.records.len() - sent
    ));
    Ok(())
}
