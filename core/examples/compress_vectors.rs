//! Compression test vectors for `docs/PROTOCOL.md` section 5.5, printed as the document's
//! `compress-vector` blocks (`python3 scripts/regen-vectors.py` puts them there): a per-message
//! payload, a shared-stream sequence of three messages (the first goes out `SHARED` alone,
//! uncompressed, and enters the history; the other two are pieces whose `00 00 FF FF` tail is
//! omitted), and a preset-dictionary payload with its dictionary. `core/tests/compression.rs`
//! decodes every vector with zlib (`zlib-rs`) as well as with this crate.
//!
//! `cargo run -p ferrule --example compress_vectors`

use ferrule::compress::{Codec, CodecConfig, Compressor, Dictionary, Mode, RxCaps};
use ferrule::Compression;

/// The preset dictionary of the dictionary vector.
pub const DICTIONARY: &[u8] =
    br#"{"id":"node-01","seq":0,"temp":21.50,"rh":40.1,"v":3.300,"ok":true,"status":"ok"}"#;
/// Its id.
pub const DICT_ID: u8 = 7;

/// One vector: a message and the payload this crate sends for it.
pub struct Vector {
    /// What it shows.
    pub name: &'static str,
    /// The payload's representation (the frame's `COMPRESSED`/`SHARED`/`DICT` flags).
    pub repr: Compression,
    /// The message.
    pub plaintext: Vec<u8>,
    /// The payload on the wire.
    pub payload: Vec<u8>,
}

const PER_MESSAGE: &[u8] =
    br#"{"sensor":"imu-3","accel":[0.01,0.01,9.81],"gyro":[0.00,0.00,0.00],"accel_ok":true,"gyro_ok":true}"#;
const SHARED: [&[u8]; 3] = [
    br#"{"boot":3,"fw":"v1.4.2","node":2}"#,
    br#"{"node":2,"seq":18,"t":1715603853,"temp":22.43,"rh":47.3}"#,
    br#"{"node":2,"seq":19,"t":1715603864,"temp":22.43,"rh":47.2,"fw":"v1.4.2"}"#,
];
const WITH_DICTIONARY: &[u8] =
    br#"{"id":"node-03","seq":4,"temp":19.75,"rh":52.0,"v":3.281,"ok":true,"status":"ok"}"#;

/// A codec sending `mode` on the reliable channel, started against a peer that takes it.
fn sender(mode: Mode, mem: &mut [u8]) -> Compressor<'_> {
    let cfg = config(mode);
    let mut c = Compressor::new(cfg, mem).expect("memory sized by storage_size");
    c.start_tx(RxCaps {
        per_message: true,
        shared: true,
        dynamic: false,
        window_bits: 10,
        dict_id: DICT_ID,
    });
    c
}

fn config(mode: Mode) -> CodecConfig<'static> {
    CodecConfig {
        reliable: mode,
        dictionary: Some(Dictionary {
            id: DICT_ID,
            bytes: DICTIONARY,
        }),
        ..CodecConfig::DEFAULT
    }
}

fn encode(c: &mut Compressor<'_>, name: &'static str, msg: &[u8]) -> Vector {
    let mut out = vec![0u8; msg.len()];
    let (repr, n) = c.compress(true, msg, &mut out);
    out.truncate(n);
    Vector {
        name,
        repr,
        plaintext: msg.to_vec(),
        payload: out,
    }
}

/// Every vector, in the order printed.
pub fn vectors() -> Vec<Vector> {
    let mut mem = vec![0u8; Compressor::storage_size(&config(Mode::Shared))];
    let mut v = Vec::new();
    let mut c = sender(Mode::PerMessage, &mut mem);
    v.push(encode(&mut c, "per-message (COMPRESSED)", PER_MESSAGE));
    let mut c = sender(Mode::Shared, &mut mem);
    for (msg, name) in SHARED
        .iter()
        .zip(["shared 1 of 3", "shared 2 of 3", "shared 3 of 3"])
    {
        v.push(encode(&mut c, name, msg));
    }
    let mut c = sender(Mode::Dictionary, &mut mem);
    v.push(encode(
        &mut c,
        "dictionary (COMPRESSED + DICT)",
        WITH_DICTIONARY,
    ));
    v
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The `compress-vector` blocks of `docs/PROTOCOL.md` section 5.5, as this example prints
/// them (`core/tests/compression.rs` compares the document with this).
pub fn blocks() -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "```compress-vector\ndictionary {DICT_ID}: {}\n```\n",
        hex(DICTIONARY)
    ));
    for v in vectors() {
        let flags = match v.repr {
            Compression::None => "none".to_string(),
            Compression::SharedRaw => "SHARED".to_string(),
            Compression::Deflate => "COMPRESSED".to_string(),
            Compression::Shared => "COMPRESSED SHARED".to_string(),
            Compression::Dictionary(id) => format!("COMPRESSED DICT {id}"),
        };
        out.push_str(&format!(
            "```compress-vector\nname: {}\nflags: {flags}\nmessage: {}\npayload: {}\n```\n",
            v.name,
            hex(&v.plaintext),
            hex(&v.payload)
        ));
    }
    out
}

#[allow(dead_code)] // also compiled into core/tests/compression.rs, which has its own main
fn main() {
    print!("{}", blocks());
}
