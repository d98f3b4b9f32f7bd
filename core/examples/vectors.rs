//! Prints the test vectors of `docs/PROTOCOL.md` section 8 from the encoder.
//!
//! `cargo run -p ferrule --example vectors` — the output is pasted into the document, and
//! `tests/vectors.rs` checks the document against the code, so they cannot drift apart.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{header_spec, hex_lines, parse_payload};
use ferrule::link::hello::{caps, Hello};
use ferrule::{
    encode_datagram, encode_stream, max_datagram_len, max_stream_frame_len, Ack, AeadField,
    Compression, Echo, FrameKind, Header, StreamOptions,
};

fn tagged(kind: FrameKind, channel: u8) -> Header {
    Header {
        kind,
        session: 0x5A,
        ..Header::data(channel)
    }
}

fn main() {
    let ack = |next, window, sack| Ack { next, window, sack };
    let reliable = Header {
        seq: Some(258),
        ack: Some(ack(772, 8, None)),
        ..tagged(FrameKind::Rdata, 1)
    };
    let retransmission = Header {
        seq: Some(259),
        ts: Some(0x1234),
        ..tagged(FrameKind::Rdata, 1)
    };
    let sack = Header {
        ack: Some(ack(0xFFFE, 3, Some(0x0000_0005))),
        echo: Some(Echo {
            ts: 0x1234,
            hold: 2,
        }),
        ..tagged(FrameKind::Ack, 0)
    };
    let ping = Header {
        ack: Some(ack(772, 8, None)),
        ts: Some(40000),
        ..tagged(FrameKind::Ping, 0)
    };
    let close = Header {
        ack: Some(ack(772, 8, None)),
        ..tagged(FrameKind::Close, 0)
    };
    let best_effort_fec = Header {
        seq: Some(17),
        fec_seq: Some(200),
        ..tagged(FrameKind::Data, 2)
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
    // A HELLO record: nonce = seed 0x0123456789abcdef (LE) ‖ attempt 0 ‖ 1; no peer nonce;
    // 256-byte messages, window 8, per-message and shared deflate with 1 KiB back-references,
    // best effort, no dictionary, no FEC.
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&0x0123_4567_89ab_cdef_u64.to_le_bytes());
    nonce[12] = 1;
    let record = Hello {
        nonce,
        peer_nonce: [0; 16],
        max_message: 256,
        window: 8,
        caps: caps::DEFLATE | caps::SHARED | caps::BEST_EFFORT,
        window_bits: 10,
        dict_id: 0,
        fec_k: 0,
        fec_m: 0,
    }
    .to_bytes();
    let hello_payload: String = format!(
        "hex:{}",
        record
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
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
        (
            "retransmission with a timestamp",
            retransmission,
            "text:abc",
            false,
        ),
        (
            "ack with selective-ack bitmap and echo",
            sack,
            "zeros:0",
            false,
        ),
        (
            "hello (handshake)",
            Header::control(FrameKind::Hello),
            &hello_payload,
            true,
        ),
        ("ping with timestamp", ping, "zeros:0", false),
        ("close", close, "zeros:0", false),
        (
            "best-effort data protected by FEC",
            best_effort_fec,
            "text:sample",
            false,
        ),
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
