//! `ferrule decode FILE`: prints a capture (pcapng from `--capture`, or the earlier `.fcap`)
//! frame by frame, with a summary.

use crate::capture::{self, Record, SENT, UNKNOWN};
use crate::cli::DecodeArgs;
use crate::fail::{Code, Failure};
use ferrule::aead::{derive_session, nonce, open_body, Key, TAG_LEN};
use ferrule::link::hello::{Hello, NONCE_LEN};
use ferrule::{cobs, Compression, Frame, FrameError, FrameKind, Header};
use std::io::{self, Write};

/// Opens the sealed frames of a capture with the pre-shared key: every `HELLO_ACK` names a
/// handshake (its nonce and the nonce it answers), whose session keys are derived as the
/// endpoints derive them; a sealed frame is opened with the keys of the latest handshake that
/// opens it (a replayed or unanswered handshake never does).
pub struct Opener {
    psk: [u8; 32],
    /// Handshakes seen, newest last: the sender of the HELLO_ACK's direction, and the keys of
    /// frames sent in the capture's outbound and inbound directions.
    sessions: Vec<[[u8; 32]; 2]>,
}

impl Opener {
    /// An opener with `psk`.
    pub fn new(psk: [u8; 32]) -> Self {
        Self {
            psk,
            sessions: Vec::new(),
        }
    }

    /// Notes a hello record seen in direction `dir`.
    fn hello(&mut self, kind: FrameKind, dir: u8, record: &[u8]) {
        let Some(rec) = record.get(..Hello::LEN).and_then(Hello::parse) else {
            return;
        };
        if kind != FrameKind::HelloAck || rec.peer_nonce == [0; NONCE_LEN] {
            return;
        }
        let (sender, other) = (rec.nonce, rec.peer_nonce);
        let (lo, hi) = if sender < other {
            (sender, other)
        } else {
            (other, sender)
        };
        let s = derive_session(&self.psk, &lo, &hi);
        let (k_sender, k_other) = if sender == lo {
            (s.key_lo, s.key_hi)
        } else {
            (s.key_hi, s.key_lo)
        };
        // Index 0: keys of outbound frames, 1: of inbound ones.
        let keys = if dir == SENT {
            [k_sender, k_other]
        } else {
            [k_other, k_sender]
        };
        self.sessions.push(keys);
    }

    /// The plaintext of a sealed frame (`body` without CRC), if a known session opens it.
    fn open(&self, h: &Header, dir: u8, body: &[u8]) -> Option<Vec<u8>> {
        let a = h.aead?;
        let side = usize::from(dir != SENT);
        let hlen = h.len();
        self.sessions.iter().rev().find_map(|keys| {
            let key = Key::new(a.key_id, &keys[side]);
            let mut b = body.to_vec();
            open_body(&key, &nonce(a.counter), &mut b, hlen).ok()?;
            Some(b[hlen..b.len() - TAG_LEN].to_vec())
        })
    }
}

/// One record, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// Its frame kind; `None` when the frame is malformed or its header unreadable.
    pub kind: Option<FrameKind>,
    /// Whether the frame passed its CRC.
    pub crc_ok: bool,
    /// Whether it is a sealed (AEAD) frame other than a hello.
    pub sealed: bool,
    /// Whether the key opened it.
    pub opened: bool,
    /// The human-readable line.
    pub line: String,
}

impl Described {
    /// A record that is not a frame (or whose header cannot be read).
    fn broken(line: String) -> Self {
        Self {
            kind: None,
            crc_ok: false,
            sealed: false,
            opened: false,
            line,
        }
    }
}

/// One record decoded (sealed frames opened by `opener`, if any). What it counts as comes from
/// the frame, never from the line's text (which holds payload bytes).
pub fn describe(stream: bool, r: &Record, opener: Option<&mut Opener>) -> Described {
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
            Err(e) => {
                let line = format!("{t} {arrow} {:>4} B  malformed COBS ({e:?})", r.data.len());
                return Described::broken(line);
            }
        }
    } else {
        &r.data[..]
    };
    let (header, payload, crc) = match Frame::from_body(body) {
        Ok(f) => (f.header, f.payload, "ok"),
        Err(FrameError::BadCrc) => match Header::parse(&body[..body.len() - 4]) {
            Ok((h, len)) => (h, &body[len..body.len() - 4], "BAD"),
            Err(e) => {
                let line = format!("{t} {arrow} {:>4} B  CRC BAD, header: {e}", body.len());
                return Described::broken(line);
            }
        },
        Err(e) => {
            return Described::broken(format!("{t} {arrow} {:>4} B  rejected: {e}", body.len()))
        }
    };
    let hello = matches!(header.kind, FrameKind::Hello | FrameKind::HelloAck);
    let mut opened = None;
    if let Some(o) = opener.filter(|_| crc == "ok") {
        if hello {
            o.hello(header.kind, r.dir, payload);
        } else if header.aead.is_some() {
            opened = o.open(&header, r.dir, &body[..body.len() - 4]);
        }
    }
    let shown = match &opened {
        Some(plain) => {
            let opened_header = Header {
                aead: None,
                ..header
            };
            format!("(opened) {}", preview(&opened_header, plain))
        }
        None => preview(&header, payload),
    };
    let line = format!(
        "{t} {arrow} {:>4} B  {:<9} {}  crc {crc:<3}  {}",
        body.len(),
        header.kind.name(),
        fields(&header),
        shown
    );
    Described {
        kind: Some(header.kind),
        crc_ok: crc == "ok",
        sealed: header.aead.is_some() && !hello,
        opened: opened.is_some(),
        line,
    }
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
    if matches!(h.kind, FrameKind::Hello | FrameKind::HelloAck) {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        return match payload.get(..Hello::LEN).and_then(Hello::parse) {
            Some(r) => format!(
                "| nonce {} peer {} max {} win {} caps {:#04x} wbits {} dict {} fec {}:{}{}",
                hex(&r.nonce),
                hex(&r.peer_nonce),
                r.max_message,
                r.window,
                r.caps,
                r.window_bits,
                r.dict_id,
                r.fec_k,
                r.fec_m,
                if h.aead.is_some() { " + MAC" } else { "" }
            ),
            None => "| (bad hello record)".to_string(),
        };
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

/// Prints every record and a summary. A capture that ends early prints the records before
/// the damage, then fails with status 5. A key that opens nothing is warned about on stderr.
pub fn main(a: &DecodeArgs) -> Result<(), Failure> {
    let path = &a.file;
    let f = capture::read(path)?;
    let key = match (&a.key, &a.key_file) {
        (Some(k), _) => Some(*k),
        (None, Some(p)) => Some(crate::cli::read_key(p)?),
        (None, None) => None,
    };
    let mut opener = key.map(Opener::new);
    let framing = if f.stream {
        "stream (COBS)"
    } else {
        "datagram"
    };
    let mut out = io::stdout().lock();
    // A closed stdout (piped into `head`) ends it quietly; any other error is a failure.
    let mut put = |line: &str| writeln!(out, "{line}").map_err(|e| crate::out::error(&e));
    let ends_early = if f.damage.is_some() {
        ", ends early"
    } else {
        ""
    };
    put(&format!(
        "{path}: {} records, {framing} framing ({}{ends_early})",
        f.records.len(),
        f.format
    ))?;
    put("       time    dir  len  type      fields")?;
    let (mut bad, mut sealed, mut opened) = (0, 0, 0);
    for r in &f.records {
        let d = describe(f.stream, r, opener.as_mut());
        if !d.crc_ok {
            bad += 1;
        } else if d.sealed {
            sealed += 1;
            opened += usize::from(d.opened);
        }
        put(&d.line)?;
    }
    let sent = f.records.iter().filter(|r| r.dir == SENT).count();
    let opened_note = match key {
        Some(_) => format!("; {opened} of {sealed} sealed frames opened"),
        None => String::new(),
    };
    put(&format!(
        "{} sent, {} received, {bad} damaged or rejected{opened_note}",
        sent,
        f.records.len() - sent
    ))?;
    if key.is_some() && sealed > 0 && opened == 0 {
        eprintln!(
            "ferrule: warning: the key opened none of the {sealed} sealed frames (wrong key, or \
             a capture without the handshake?)"
        );
    }
    match f.damage {
        Some(d) => Err(Failure::new(Code::Capture, format!("{path}: {d}"))),
        None => Ok(()),
    }
}
