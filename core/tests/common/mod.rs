//! Shared by the integration tests: the test-vector notation of `docs/PROTOCOL.md`.
#![allow(dead_code)]

use ferrule::{Ack, AeadField, Compression, Echo, FrameKind, Header};

/// One test vector.
pub struct Vector {
    pub name: String,
    pub header: Header,
    pub payload: Vec<u8>,
    pub leading_delimiter: bool,
    pub body: Vec<u8>,
    pub stream: Vec<u8>,
}

/// Renders a header in the notation `kind=DATA channel=1 seq=5 ...`.
pub fn header_spec(h: &Header) -> String {
    let mut s = format!("kind={} channel={}", h.kind.name(), h.channel);
    match h.compression {
        Compression::None => {}
        Compression::Deflate => s += " compression=deflate",
        Compression::Shared => s += " compression=shared",
        Compression::SharedRaw => s += " compression=shared-raw",
        Compression::Dictionary(id) => s += &format!(" compression=dict:{id}"),
    }
    if h.seq.is_some() || h.ack.is_some() {
        s += &format!(" session={}", h.session);
    }
    if let Some(q) = h.seq {
        s += &format!(" seq={q}");
    }
    if let Some(a) = h.ack {
        s += &format!(" ack={} window={}", a.next, a.window);
        if let Some(x) = a.sack {
            s += &format!(" sack=0x{x:08x}");
        }
    }
    if let Some(t) = h.ts {
        s += &format!(" ts={t}");
    }
    if let Some(e) = h.echo {
        s += &format!(" echo={} hold={}", e.ts, e.hold);
    }
    if let Some(f) = h.fec_seq {
        s += &format!(" fec={f}");
    }
    if let Some(a) = h.aead {
        s += &format!(" key_id={} counter={}", a.key_id, a.counter);
    }
    s
}

/// Parses the notation written by [`header_spec`].
pub fn parse_header_spec(spec: &str) -> Header {
    let mut h = Header::data(0);
    let mut ack: Option<Ack> = None;
    let mut aead: Option<AeadField> = None;
    for tok in spec.split_whitespace() {
        let (k, v) = tok.split_once('=').expect("key=value");
        let num = |v: &str| -> u64 {
            match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
                None => v.parse().unwrap(),
            }
        };
        match k {
            "kind" => {
                h.kind = match v {
                    "DATA" => FrameKind::Data,
                    "RDATA" => FrameKind::Rdata,
                    "ACK" => FrameKind::Ack,
                    "HELLO" => FrameKind::Hello,
                    "HELLO_ACK" => FrameKind::HelloAck,
                    "PING" => FrameKind::Ping,
                    "CLOSE" => FrameKind::Close,
                    "PARITY" => FrameKind::Parity,
                    other => panic!("kind {other}"),
                }
            }
            "channel" => h.channel = num(v) as u8,
            "compression" => {
                h.compression = match v {
                    "deflate" => Compression::Deflate,
                    "shared" => Compression::Shared,
                    "shared-raw" => Compression::SharedRaw,
                    d => Compression::Dictionary(num(d.strip_prefix("dict:").unwrap()) as u8),
                }
            }
            "session" => h.session = num(v) as u8,
            "seq" => h.seq = Some(num(v) as u16),
            "ack" => {
                ack = Some(Ack {
                    next: num(v) as u16,
                    window: 0,
                    sack: None,
                })
            }
            "window" => ack.as_mut().unwrap().window = num(v) as u8,
            "sack" => ack.as_mut().unwrap().sack = Some(num(v) as u32),
            "ts" => h.ts = Some(num(v) as u16),
            "echo" => {
                h.echo = Some(Echo {
                    ts: num(v) as u16,
                    hold: 0,
                })
            }
            "hold" => h.echo.as_mut().unwrap().hold = num(v) as u8,
            "fec" => h.fec_seq = Some(num(v) as u8),
            "key_id" => {
                aead = Some(AeadField {
                    key_id: num(v) as u8,
                    counter: 0,
                })
            }
            "counter" => aead.as_mut().unwrap().counter = num(v) as u32,
            other => panic!("unknown field {other}"),
        }
    }
    h.ack = ack;
    h.aead = aead;
    h
}

/// Payload notation: `hex:…`, `text:…`, `zeros:N`, or `pattern:N` (byte i = i % 255 + 1).
pub fn parse_payload(spec: &str) -> Vec<u8> {
    let (k, v) = spec.split_once(':').expect("payload kind");
    match k {
        "hex" => unhex(v),
        "text" => v.as_bytes().to_vec(),
        "zeros" => vec![0; v.parse().unwrap()],
        "pattern" => (0..v.parse::<usize>().unwrap())
            .map(|i| (i % 255 + 1) as u8)
            .collect(),
        other => panic!("payload kind {other}"),
    }
}

pub fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    assert!(digits.len() % 2 == 0, "odd hex length");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

pub fn hex_lines(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.chunks(32)
        .map(|c| c.join(" "))
        .collect::<Vec<_>>()
        .join("\n        ")
}

/// Reads every ```` ```vector ```` block out of a markdown document.
pub fn read_vectors(markdown: &str) -> Vec<Vector> {
    let mut out = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```vector" {
            continue;
        }
        let mut fields: Vec<(String, String)> = Vec::new();
        for l in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            if let Some((k, v)) = l.split_once(':').filter(|_| !l.starts_with(' ')) {
                fields.push((k.trim().to_string(), v.trim().to_string()));
            } else if let Some(last) = fields.last_mut() {
                last.1.push(' ');
                last.1.push_str(l.trim());
            }
        }
        let get = |k: &str| -> String {
            fields
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("vector field {k} missing"))
        };
        out.push(Vector {
            name: get("name"),
            header: parse_header_spec(&get("header")),
            payload: parse_payload(&get("payload")),
            leading_delimiter: get("leading").as_str() == "yes",
            body: unhex(&get("body")),
            stream: unhex(&get("stream")),
        });
    }
    out
}
pub mod corpus;
pub mod link;
