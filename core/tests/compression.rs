//! Compression: never expands, round-trips in every mode, interoperates with zlib (flate2)
//! as raw deflate both ways, and rejects bombs, garbage and dictionary mismatches.

mod common;

use common::corpus;
use ferrule::compress::{
    Codec, CodecConfig, Compressor, DecompressError, Deflater, Dictionary, End, Inflater, Mode,
};
use ferrule::{encode_stream, max_stream_frame_len, Compression, StreamOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, RngAlgorithm, TestRng, TestRunner};
use std::io::{Read, Write};

const MODES: [Mode; 4] = [Mode::Off, Mode::PerMessage, Mode::Shared, Mode::Dictionary];

fn cfg(mode: Mode, dict: &[u8]) -> CodecConfig<'_> {
    CodecConfig {
        reliable: mode,
        unreliable: mode,
        dictionary: Some(Dictionary { id: 7, bytes: dict }),
    }
}

fn zlib_inflate(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(data).read_to_end(&mut out)?;
    Ok(out)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        PtConfig {
            cases,
            failure_persistence: None,
            ..PtConfig::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[0x42; 32]),
    )
}

/// Payloads mixing text-like and random bytes, so some compress and some do not.
fn message() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        proptest::collection::vec(prop::sample::select(b"{}\":,0123 tempok".to_vec()), 0..600),
        (0usize..4096).prop_map(|n| vec![b'z'; n]),
    ]
}

#[test]
fn never_expands_and_round_trips_in_every_mode() {
    let dict = corpus::dictionary("json");
    runner(256)
        .run(
            &proptest::collection::vec((message(), any::<bool>()), 1..12),
            |msgs| {
                for mode in MODES {
                    let (mut tx, mut rx) = (
                        Compressor::new(cfg(mode, &dict)),
                        Compressor::new(cfg(mode, &dict)),
                    );
                    for (msg, reliable) in &msgs {
                        let mut wire = vec![0u8; msg.len()];
                        let (repr, n) = tx.compress(*reliable, msg, &mut wire);
                        prop_assert!(n <= msg.len(), "{mode:?}: {n} > {}", msg.len());
                        if repr == Compression::None || repr == Compression::SharedRaw {
                            prop_assert_eq!(&wire[..n], &msg[..]);
                        } else {
                            prop_assert!(n < msg.len());
                        }
                        let mut out = vec![0u8; 4096];
                        let m = rx.decompress(repr, &wire[..n], &mut out).unwrap();
                        prop_assert_eq!(&out[..m], &msg[..]);
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn per_message_output_is_standard_raw_deflate() {
    let mut checked = 0;
    for kind in corpus::KINDS {
        for size in [64, 256, 1024, 4096] {
            for msg in corpus::messages(kind, size, 4, 1) {
                let mut d = Deflater::new();
                let mut wire = vec![0u8; size];
                // Small messages alone may not shrink; those go out raw.
                if let Ok(n) = d.compress(&msg, End::Final, &mut wire) {
                    assert_eq!(zlib_inflate(&wire[..n]).unwrap(), msg, "{kind} {size}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 12, "{checked}");
}

#[test]
fn shared_stream_is_one_standard_raw_deflate_stream() {
    for kind in corpus::KINDS {
        let mut d = Deflater::new();
        let msgs = corpus::messages(kind, 64, 200, 2);
        let mut stream = Vec::new();
        let mut wire = [0u8; 64];
        for msg in &msgs {
            match d.compress(msg, End::Sync, &mut wire) {
                // On the wire the 00 00 FF FF tail is omitted; a zlib reader needs it back.
                Ok(n) => stream.extend_from_slice(&wire[..n]),
                // A raw message in shared mode: a stored block carries it in the reference stream.
                Err(_) => {
                    stream.push(0);
                    stream.extend_from_slice(&(msg.len() as u16).to_le_bytes());
                    stream.extend_from_slice(&(!(msg.len() as u16)).to_le_bytes());
                    stream.extend_from_slice(msg);
                    continue;
                }
            }
            stream.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
        }
        stream.extend_from_slice(&[0x03, 0x00]); // final empty fixed block
        let mut out = Vec::new();
        let mut z = flate2::read::DeflateDecoder::new(&stream[..]);
        z.read_to_end(&mut out).unwrap();
        assert_eq!(out, msgs.concat(), "{kind}");
    }
}

#[test]
fn zlib_streams_at_every_level_decode_with_our_inflate() {
    for kind in corpus::KINDS {
        for size in [32, 128, 1024] {
            for level in 0..=9 {
                for msg in corpus::messages(kind, size, 3, 3) {
                    let mut z = flate2::write::DeflateEncoder::new(
                        Vec::new(),
                        flate2::Compression::new(level),
                    );
                    z.write_all(&msg).unwrap();
                    let wire = z.finish().unwrap();
                    let mut out = vec![0u8; size];
                    let n = Inflater::new().inflate(&wire, &mut out).unwrap();
                    assert_eq!(&out[..n], &msg[..], "{kind} {size} L{level}");
                    let mut codec = Compressor::new(CodecConfig::default());
                    let n = codec
                        .decompress(Compression::Deflate, &wire, &mut out)
                        .unwrap();
                    assert_eq!(&out[..n], &msg[..]);
                }
            }
        }
    }
}

#[test]
fn references_beyond_the_window_are_rejected_not_misdecoded() {
    // zlib's 32 KiB window: a 4 KiB message that repeats a 2 KiB block references 2 KiB back.
    let block = corpus::stream("binary", 2048, 9)[..2048].to_vec();
    let msg = [block.clone(), block].concat();
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&msg).unwrap();
    let wire = z.finish().unwrap();
    let mut out = vec![0u8; 4096];
    assert_eq!(
        Inflater::new().inflate(&wire, &mut out),
        Err(DecompressError::Malformed)
    );
}

#[test]
fn a_match_exactly_one_window_back_decodes() {
    // 1024 distinct-ish bytes, then the same 1024 again: distance exactly WINDOW.
    let block: Vec<u8> = (0..1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let msg = [block.clone(), block].concat();
    let mut d = Deflater::new();
    let mut wire = vec![0u8; msg.len()];
    let n = d.compress(&msg, End::Final, &mut wire).unwrap();
    assert!(n < 1500, "{n}");
    assert_eq!(zlib_inflate(&wire[..n]).unwrap(), msg);
    let mut out = vec![0u8; 2048];
    let m = Inflater::new().inflate(&wire[..n], &mut out).unwrap();
    assert_eq!(&out[..m], &msg[..]);
}

#[test]
fn bombs_are_an_error_not_a_truncated_message() {
    let msg = vec![0u8; 4096];
    let mut d = Deflater::new();
    let mut wire = vec![0u8; 4096];
    let n = d.compress(&msg, End::Final, &mut wire).unwrap();
    let mut out = vec![0u8; 4095];
    assert_eq!(
        Inflater::new().inflate(&wire[..n], &mut out),
        Err(DecompressError::TooLarge)
    );
    let mut codec = Compressor::new(CodecConfig::default());
    assert_eq!(
        codec.decompress(Compression::Deflate, &wire[..n], &mut out),
        Err(DecompressError::TooLarge)
    );
    assert_eq!(codec.stats().failed, 1);
}

#[test]
fn truncated_trailing_and_garbage_payloads_are_rejected() {
    let msg = corpus::stream("json", 512, 5);
    let mut d = Deflater::new();
    let mut wire = vec![0u8; 512];
    let n = d.compress(&msg[..512], End::Final, &mut wire).unwrap();
    let mut out = vec![0u8; 4096];
    let mut inf = Inflater::new();
    for cut in [0, 1, n / 2, n - 1] {
        assert_eq!(
            inf.inflate(&wire[..cut], &mut out),
            Err(DecompressError::Malformed),
            "cut {cut}"
        );
    }
    let mut longer = wire[..n].to_vec();
    longer.push(0x55);
    assert_eq!(
        inf.inflate(&longer, &mut out),
        Err(DecompressError::Malformed)
    );
    // A final block inside a shared piece is not a valid piece.
    let mut codec = Compressor::new(CodecConfig::default());
    assert_eq!(
        codec.decompress(Compression::Shared, &wire[..n], &mut out),
        Err(DecompressError::Malformed)
    );
    // Garbage never panics.
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    for _ in 0..20_000 {
        let len = (rng.next_u32() % 64) as usize;
        let junk: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
        for repr in [
            Compression::Deflate,
            Compression::Shared,
            Compression::Dictionary(7),
        ] {
            let _ = codec.decompress(repr, &junk, &mut out[..256]);
        }
    }
}

#[test]
fn a_dictionary_mismatch_is_detected() {
    let dict = corpus::dictionary("json");
    let msg = &corpus::messages("json", 96, 1, 11)[0];
    let mut tx = Compressor::new(cfg(Mode::Dictionary, &dict));
    let mut wire = [0u8; 96];
    let (repr, n) = tx.compress(false, msg, &mut wire);
    assert_eq!(repr, Compression::Dictionary(7));
    let other = corpus::dictionary("log");
    let mut rx = Compressor::new(CodecConfig {
        dictionary: Some(Dictionary {
            id: 8,
            bytes: &other,
        }),
        ..CodecConfig::default()
    });
    let mut out = [0u8; 256];
    assert_eq!(
        rx.decompress(repr, &wire[..n], &mut out),
        Err(DecompressError::UnknownDictionary(7))
    );
    let mut rx = Compressor::new(cfg(Mode::Off, &dict));
    let m = rx.decompress(repr, &wire[..n], &mut out).unwrap();
    assert_eq!(&out[..m], &msg[..]);
}

#[test]
fn shared_and_dictionary_modes_meet_the_ratio_target() {
    // 64-128 B JSON telemetry: <= 50 % of the payload on the wire, stream framing, header and
    // CRC included (the RDATA header of a one-way stream the benchmark uses too).
    let dict = corpus::dictionary("json");
    let mut frame = vec![0u8; max_stream_frame_len(256)];
    for size in [64, 128] {
        for mode in [Mode::Shared, Mode::Dictionary] {
            let mut tx = Compressor::new(cfg(mode, &dict));
            let msgs = corpus::messages("json", size, 500, 21);
            let mut payload = vec![0u8; size];
            let mut on_wire = 0;
            for (seq, m) in msgs.iter().enumerate() {
                let (compression, n) = tx.compress(true, m, &mut payload);
                let header = corpus::one_way_header(compression, seq as u16);
                on_wire +=
                    encode_stream(&header, &payload[..n], StreamOptions::default(), &mut frame)
                        .unwrap();
            }
            let ratio = on_wire as f64 / (size * msgs.len()) as f64;
            assert!(ratio <= 0.5, "{mode:?} {size}: {ratio:.3}");
        }
    }
}
