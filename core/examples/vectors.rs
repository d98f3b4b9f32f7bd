//! Prints the test vectors of `docs/PROTOCOL.md` ("Test vectors") from the encoder.
//!
//! `cargo run -p ferrule --example vectors` — the output is pasted into the document, and
//! `tests/vectors.rs` checks the document against the code, so they cannot drift apart.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{header_spec, hex_lines, parse_payload};
use ferrule::{
    encode_datagram, encode_stream, max_datagram_len, max_stream_frame_len, Ack, AeadField,
    Compression, FrameKind, Header, StreamOptions,
};

fn main() {
    let reliable = Header {
        session: 0x5A,
        seq: Some(258),
        ack: Some(Ack {
            next: 772,
            window: 8,
            sack: None,
        }),
        ..Header::data(1)
    };
    let reliable = Header {
        kind: FrameKind::Rdata,
        ..reliable
    };
    let sack = Header {
        session: 0x5A,
        ack: Some(Ack {
            next: 0xFFFE,
            window: 3,
            sack: Some(0x0000_0005),
        }),
        ..Header::control(FrameKind::Ack)
    };
    let sealed = Header {
        compression: Compression::Dictionary(7),
        session: 0x11,
        seq: Some(65535),
        aead: Some(AeadField {
            key_id: 2,
            counter: 0x0102_0304,
        }),
        ..Header::data(3)
    };
    let hello_payload = "hex:78563412 00000000 8000 08 01";
    let vectors: &[(&str, Header, &str, bool)] = &[
        ("empty payload", Header::data(0), "zeros:0", false),
        ("text on channel 1", Header::data(1), "text:hello", false),
        ("all-zero payload", Header::data(0), "zeros:16", false),
        (
            "zero-free run of 253 bytes",
            Header::data(0),
            "pattern:249",
            false,
        ),
        (
            "zero-free run of 254 bytes",
            Header::data(0),
            "pattern:250",
            false,
        ),
        (
            "zero-free run of 255 bytes",
            Header::data(0),
            "pattern:251",
            false,
        ),
        (
            "reliable data with piggybacked ack",
            reliable,
            "text:abc",
            false,
        ),
        ("ack with selective-ack bitmap", sack, "zeros:0", false),
        (
            "hello (handshake)",
            Header::control(FrameKind::Hello),
            hello_payload,
            true,
        ),
        ("ping", Header::control(FrameKind::Ping), "zeros:0", false),
        (
            "sealed, dictionary-compressed data",
            sealed,
            "hex:deadbeef00ff",
            false,
        ),
        (
            "maximum-size frame (4096-byte payload)",
            Header::data(255),
            "pattern:4096",
            true,
        ),
    ];
    for (name, header, payload_spec, leading) in vectors {
        let payload = parse_payload(payload_spec);
        let mut body = vec![0u8; max_datagram_len(payload.len())];
        let b = encode_datagram(header, &payload, &mut body).unwrap();
        let mut stream = vec![0u8; max_stream_frame_len(payload.len())];
        let opts = StreamOptions {
            leading_delimiter: *leading,
        };
        let s = encode_stream(header, &payload, opts, &mut stream).unwrap();
        println!("```vector");
        println!("name:    {name}");
        println!("header:  {}", header_spec(header));
        println!("payload: {payload_spec}");
        println!("leading: {}", if *leading { "yes" } else { "no" });
        println!("body:    {}", hex_lines(&body[..b]));
        println!("stream:  {}", hex_lines(&stream[..s]));
        println!("```");
        println!();
    }
}
