//! Captures through Wireshark: what `--capture` wrote, read back by `tshark` with
//! `tools/wireshark/ferrule.lua`, shows exactly the frames the tool sent (types, channels,
//! payload text, CRC status), over datagrams (LINKTYPE_USER0) and a COBS stream
//! (LINKTYPE_USER1). Wire format version 2 frames, built here byte by byte, decode field by
//! field. Skipped, with a message, where tshark is not installed.
//!
//! tshark runs headless as root here with no extra options (it prints a "Running as user
//! root" warning on stderr, which is harmless).

mod common;

use common::{free_udp, tmp, tshark, tshark_fields, Proc};
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;
use std::borrow::Cow;
use std::time::Duration;

fn skip() -> bool {
    if tshark() {
        return false;
    }
    eprintln!("SKIPPED: tshark is not installed (apt-get install tshark)");
    true
}

const SENT_TEXTS: [(u8, &str); 4] = [
    (0, "alpha"),
    (1, "beta two"),
    (9, "gamma {json:1}"),
    (200, "delta"),
];

/// Bridge A (capturing, uncompressed so payloads read as text) sends SENT_TEXTS to bridge B;
/// returns the capture's path once A left.
fn capture_run(name: &str, a_wire: &[&str], b_wire: &[&str]) -> String {
    let cap = tmp(name);
    let mut a_args = vec!["bridge", "--compression", "off", "--capture", &cap];
    a_args.extend_from_slice(a_wire);
    let mut b_args = vec!["bridge"];
    b_args.extend_from_slice(b_wire);
    let mut b = Proc::start(&b_args);
    let mut a = Proc::start(&a_args);
    for (ch, t) in SENT_TEXTS {
        a.write_line(&format!(r#"{{"channel":{ch},"text":"{t}"}}"#));
    }
    for _ in SENT_TEXTS {
        b.expect("\"channel\"");
    }
    let (code, _) = a.finish();
    assert_eq!(code, Some(0));
    b.expect("peer closed");
    drop(b);
    cap
}

/// Checks the capture's frames as tshark shows them against what A sent.
fn check(cap: &str) {
    let rows = tshark_fields(
        cap,
        &[
            "frame.p2p_dir",
            "ferrule.version",
            "ferrule.type",
            "ferrule.channel",
            "ferrule.seq",
            "ferrule.text",
            "ferrule.crc.status",
        ],
    );
    assert!(rows.len() >= 6, "{rows:?}");
    for r in &rows {
        assert_eq!(r[1], "2", "version 2 frames: {r:?}");
        assert_eq!(r[6], "1", "CRC good: {r:?}");
    }
    // Frames A sent (direction 0) carrying messages (type 1, RDATA), in order.
    let data: Vec<(u8, String)> = rows
        .iter()
        .filter(|r| r[0] == "0" && r[2] == "1")
        .map(|r| (r[3].parse().unwrap(), r[5].clone()))
        .collect();
    let want: Vec<(u8, String)> = SENT_TEXTS
        .iter()
        .map(|(c, t)| (*c, t.to_string()))
        .collect();
    assert_eq!(data, want);
    let seqs: Vec<u32> = rows
        .iter()
        .filter(|r| r[0] == "0" && r[2] == "1")
        .map(|r| r[4].parse().unwrap())
        .collect();
    for w in seqs.windows(2) {
        assert_eq!(
            w[1],
            (w[0] + 1) % 65536,
            "consecutive sequence numbers {seqs:?}"
        );
    }
    let types: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    for t in ["3", "4", "2", "6"] {
        // HELLO or HELLO_ACK, ACK, CLOSE
        assert!(
            types.contains(&t) || (t == "3" && types.contains(&"4")),
            "type {t} in {types:?}"
        );
    }
    // decode agrees on the number of frames.
    let out = std::process::Command::new(common::BIN)
        .args(["decode", cap])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains(&format!("{} records", rows.len())),
        "{text}"
    );
}

#[test]
fn a_datagram_capture_reads_back_in_tshark() {
    if skip() {
        return;
    }
    let (pa, pb) = (free_udp(), free_udp());
    let cap = capture_run(
        "udp.pcapng",
        &["--udp", &pa, "--peer", &pb],
        &["--udp", &pb, "--peer", &pa],
    );
    check(&cap);
}

#[cfg(unix)]
#[test]
fn a_stream_capture_reads_back_in_tshark() {
    if skip() {
        return;
    }
    let m = common::null_modem();
    let cap = capture_run(
        "pty.pcapng",
        &["--device", &m.paths[0]],
        &["--device", &m.paths[1]],
    );
    check(&cap);
    let rows = tshark_fields(&cap, &["ferrule.cobs.delimited", "ferrule.cobs.len"]);
    assert!(rows.iter().all(|r| r[0] == "1"), "{rows:?}");
}

fn crc32c(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn body(header_and_payload: &[u8]) -> Vec<u8> {
    let mut b = header_and_payload.to_vec();
    b.extend(crc32c(header_and_payload).to_le_bytes());
    b
}

fn cobs(body: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    let mut code_at = 0;
    for &b in body {
        if b == 0 {
            out[code_at] = (out.len() - code_at) as u8;
            code_at = out.len();
            out.push(0);
        } else {
            out.push(b);
            if out.len() - code_at == 255 {
                out[code_at] = 255;
                code_at = out.len();
                out.push(0);
            }
        }
    }
    out[code_at] = (out.len() - code_at) as u8;
    out.push(0);
    out
}

fn write_pcapng(path: &str, link: DataLink, packets: &[Vec<u8>]) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = PcapNgWriter::new(f).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock::new(link, 0))
        .unwrap();
    for (i, p) in packets.iter().enumerate() {
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_micros(i as u64),
            original_len: p.len() as u32,
            data: Cow::Borrowed(p),
            options: vec![EnhancedPacketOption::Flags(1)],
        })
        .unwrap();
    }
}

/// Version 2 frames of every kind the dissector knows, with every optional field.
fn v2_frames() -> Vec<Vec<u8>> {
    let mut rdata = vec![0x21, 0xB8, 3, 0x5A];
    rdata.extend(1000u16.to_le_bytes()); // seq
    rdata.extend(2000u16.to_le_bytes()); // ack
    rdata.push(7); // window
    rdata.extend(0x8000_0001u32.to_le_bytes()); // sack
    rdata.push(0x07); // xflags TS | ECHO | FEC
    rdata.extend(12345u16.to_le_bytes()); // ts
    rdata.extend(54321u16.to_le_bytes()); // echo
    rdata.push(9); // hold
    rdata.push(200); // fec_seq
    rdata.extend(b"v2 text");

    let mut hello = vec![0x23, 0x40, 0, 4];
    hello.extend(0u32.to_le_bytes()); // key 4, counter 0
    hello.extend([0x11; 16]); // nonce
    hello.extend([0; 16]); // peer nonce
    hello.extend(1024u16.to_le_bytes());
    hello.extend([16, 0x0F, 10, 0, 8, 2]); // window, caps, window_bits, dict, fec_k, fec_m
    hello.extend([0xAA; 16]); // MAC

    let mut parity = vec![0x27, 0x10, 0, 1];
    parity.extend(5u16.to_le_bytes());
    parity.push(8);
    parity.extend([10, 4, 1, 2, 0xDE, 0xAD]);

    let mut sealed = vec![0x21, 0x4D, 6, 0x33];
    sealed.extend(77u16.to_le_bytes());
    sealed.extend([2]); // key id
    sealed.extend(99u32.to_le_bytes()); // counter
    sealed.push(9); // dict id
    sealed.extend([0x55; 5]); // ciphertext
    sealed.extend([0xCC; 16]); // tag

    let mut bad = body(&[0x20, 0, 1, b'x']);
    bad[4] ^= 0xFF;

    vec![
        body(&rdata),
        body(&hello),
        body(&parity),
        body(&sealed),
        bad,
    ]
}

const V2_FIELDS: [&str; 33] = [
    "ferrule.version",
    "ferrule.type",
    "ferrule.channel",
    "ferrule.flags",
    "ferrule.flags.ext",
    "ferrule.session",
    "ferrule.seq",
    "ferrule.ack",
    "ferrule.window",
    "ferrule.sack",
    "ferrule.xflags",
    "ferrule.ts",
    "ferrule.echo",
    "ferrule.hold",
    "ferrule.fec_seq",
    "ferrule.key_id",
    "ferrule.counter",
    "ferrule.dict_id",
    "ferrule.text",
    "ferrule.crc.status",
    "ferrule.hello.max_message",
    "ferrule.hello.window",
    "ferrule.hello.caps",
    "ferrule.hello.window_bits",
    "ferrule.hello.fec_k",
    "ferrule.hello.fec_m",
    "ferrule.hello.mac",
    "ferrule.parity.first",
    "ferrule.parity.n",
    "ferrule.parity.index",
    "ferrule.parity.m",
    "ferrule.aead.tag",
    "ferrule.hello.nonce",
];

fn check_v2(path: &str) {
    let rows = tshark_fields(path, &V2_FIELDS);
    assert_eq!(rows.len(), 5, "{rows:?}");
    let field = |row: usize, name: &str| -> String {
        let i = V2_FIELDS.iter().position(|f| *f == name).unwrap();
        rows[row][i].clone()
    };
    let expect = |row: usize, pairs: &[(&str, &str)]| {
        for (name, want) in pairs {
            assert_eq!(
                field(row, name),
                *want,
                "frame {row} field {name}: {:?}",
                rows[row]
            );
        }
    };
    expect(
        0,
        &[
            ("ferrule.version", "2"),
            ("ferrule.type", "1"),
            ("ferrule.channel", "3"),
            ("ferrule.flags", "0xb8"),
            ("ferrule.flags.ext", "1"),
            ("ferrule.session", "0x5a"),
            ("ferrule.seq", "1000"),
            ("ferrule.ack", "2000"),
            ("ferrule.window", "7"),
            ("ferrule.sack", "0x80000001"),
            ("ferrule.xflags", "0x07"),
            ("ferrule.ts", "12345"),
            ("ferrule.echo", "54321"),
            ("ferrule.hold", "9"),
            ("ferrule.fec_seq", "200"),
            ("ferrule.text", "v2 text"),
            ("ferrule.crc.status", "1"),
        ],
    );
    expect(
        1,
        &[
            ("ferrule.type", "3"),
            ("ferrule.key_id", "4"),
            ("ferrule.counter", "0"),
            ("ferrule.hello.nonce", &"11".repeat(16)),
            ("ferrule.hello.max_message", "1024"),
            ("ferrule.hello.window", "16"),
            ("ferrule.hello.caps", "0x0f"),
            ("ferrule.hello.window_bits", "10"),
            ("ferrule.hello.fec_k", "8"),
            ("ferrule.hello.fec_m", "2"),
            ("ferrule.hello.mac", &"aa".repeat(16)),
            ("ferrule.crc.status", "1"),
        ],
    );
    expect(
        2,
        &[
            ("ferrule.type", "7"),
            ("ferrule.ack", "5"),
            ("ferrule.parity.first", "10"),
            ("ferrule.parity.n", "4"),
            ("ferrule.parity.index", "1"),
            ("ferrule.parity.m", "2"),
        ],
    );
    expect(
        3,
        &[
            ("ferrule.seq", "77"),
            ("ferrule.key_id", "2"),
            ("ferrule.counter", "99"),
            ("ferrule.dict_id", "9"),
            ("ferrule.aead.tag", &"cc".repeat(16)),
            ("ferrule.text", ""),
        ],
    );
    expect(4, &[("ferrule.type", "0"), ("ferrule.crc.status", "0")]);
}

#[test]
fn version_2_frames_decode_field_by_field() {
    if skip() {
        return;
    }
    let frames = v2_frames();
    let dgram = tmp("v2-datagram.pcapng");
    write_pcapng(&dgram, DataLink::USER0, &frames);
    check_v2(&dgram);
    let stream = tmp("v2-stream.pcapng");
    let encoded: Vec<Vec<u8>> = frames.iter().map(|b| cobs(b)).collect();
    write_pcapng(&stream, DataLink::USER1, &encoded);
    check_v2(&stream);
}
