//! Compression: never expands, round-trips in every mode, interoperates with zlib both ways
//! (flate2 and zlib-rs: raw deflate, 1 KiB window, fixed and dynamic codes, sync-flushed
//! streams, preset dictionaries), sends only what the peer accepts, sizes its memory exactly,
//! and refuses bombs, garbage, far references and unaccepted blocks with typed errors.

mod common;

#[path = "../examples/compress_vectors.rs"]
#[allow(dead_code)]
mod vectors;

use common::corpus;
use ferrule::compress::{
    Codec, CodecConfig, Compressor, DecompressError, Deflater, Dictionary, End, Inflater, Mode,
    Receive, RxCaps, StorageError, Window, DYNAMIC_TABLE_BYTES,
};
use ferrule::{encode_stream, max_stream_frame_len, Compression, StreamOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, RngAlgorithm, TestRng, TestRunner};
use std::io::Read;
use zlib_rs::{DeflateConfig, DeflateFlush, InflateFlush, Method, Status, Strategy as ZStrategy};

const MODES: [Mode; 4] = [Mode::Off, Mode::PerMessage, Mode::Shared, Mode::Dictionary];

fn cfg(mode: Mode, dict: &[u8]) -> CodecConfig<'_> {
    CodecConfig {
        reliable: mode,
        unreliable: mode,
        dictionary: Some(Dictionary { id: 7, bytes: dict }),
        ..CodecConfig::DEFAULT
    }
}

/// A codec over exactly the memory its configuration needs (leaked: tests only).
fn codec(cfg: CodecConfig<'_>) -> Compressor<'_> {
    let mem = vec![0u8; Compressor::storage_size(&cfg)].leak();
    Compressor::new(cfg, mem).unwrap()
}

/// A sender and a receiver at the start of a session.
fn pair<'d>(tx: CodecConfig<'d>, rx: CodecConfig<'d>) -> (Compressor<'d>, Compressor<'d>) {
    let (mut a, mut b) = (codec(tx), codec(rx));
    a.start_tx(b.rx_caps());
    b.reset_rx();
    (a, b)
}

/// An inflater with dynamic tables (leaked).
fn dynamic_inflater(window_bits: u8) -> Inflater<'static> {
    Inflater::with_dynamic(window_bits, vec![0u8; DYNAMIC_TABLE_BYTES].leak()).unwrap()
}

fn flate2_inflate(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(data).read_to_end(&mut out)?;
    Ok(out)
}

/// zlib's compressor for raw deflate with a `2^window_bits` window.
fn zlib(level: i32, window_bits: u8, strategy: ZStrategy) -> zlib_rs::Deflate {
    zlib_rs::Deflate::new_with_config(DeflateConfig {
        level,
        method: Method::Deflated,
        window_bits: -i32::from(window_bits),
        mem_level: 8,
        strategy,
    })
}

/// Compresses `msg` with `z`, flushing with `flush`; returns what it wrote.
fn zlib_put(z: &mut zlib_rs::Deflate, msg: &[u8], flush: DeflateFlush) -> Vec<u8> {
    let mut out = vec![0u8; msg.len() * 2 + 64];
    let before = z.total_out();
    let status = z.compress(msg, &mut out, flush).unwrap();
    assert!(
        matches!(status, Status::Ok | Status::StreamEnd),
        "{status:?}"
    );
    out.truncate((z.total_out() - before) as usize);
    out
}

/// zlib's decompressor for raw deflate with a `2^window_bits` window, preloaded with `dict`.
fn zlib_inflate(window_bits: u8, dict: &[u8], data: &[u8], flush: InflateFlush) -> Vec<u8> {
    let mut z = zlib_rs::Inflate::new(false, window_bits);
    if !dict.is_empty() {
        z.set_dictionary(dict).unwrap();
    }
    let mut out = vec![0u8; 1 << 16];
    z.decompress(data, &mut out, flush).unwrap();
    out.truncate(z.total_out() as usize);
    out
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

// ------------------------------------------------------------------ round trips, own deflater

#[test]
fn never_expands_and_round_trips_in_every_mode() {
    let dict = corpus::dictionary("json");
    runner(256)
        .run(
            &(
                proptest::collection::vec((message(), any::<bool>()), 1..12),
                8u8..=10,
                8u8..=15,
            ),
            |(msgs, send_bits, recv_bits)| {
                for mode in MODES {
                    let tx = CodecConfig {
                        send_window_bits: send_bits,
                        ..cfg(mode, &dict)
                    };
                    let rx = CodecConfig {
                        receive: Receive {
                            window_bits: recv_bits,
                            ..Receive::DEFAULT
                        },
                        ..cfg(Mode::Off, &dict)
                    };
                    let (mut tx, mut rx) = pair(tx, rx);
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
                    prop_assert_eq!(rx.stats().failed, 0);
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn per_message_output_is_standard_raw_deflate() {
    let mut checked = 0;
    let mut mem = vec![0u8; Deflater::storage_size(10)];
    for kind in corpus::KINDS {
        for size in [64, 256, 1024, 4096] {
            for msg in corpus::messages(kind, size, 4, 1) {
                let mut d = Deflater::new(10, &mut mem).unwrap();
                let mut wire = vec![0u8; size];
                // Small messages alone may not shrink; those go out raw.
                if let Ok(n) = d.compress(&msg, End::Final, &mut wire) {
                    assert_eq!(flate2_inflate(&wire[..n]).unwrap(), msg, "{kind} {size}");
                    let z = zlib_inflate(10, &[], &wire[..n], InflateFlush::Finish);
                    assert_eq!(z, msg, "zlib, window 1 KiB: {kind} {size}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 12, "{checked}");
}

#[test]
fn shared_stream_is_one_standard_raw_deflate_stream() {
    let mut mem = vec![0u8; Deflater::storage_size(10)];
    for kind in corpus::KINDS {
        let mut d = Deflater::new(10, &mut mem).unwrap();
        let msgs = corpus::messages(kind, 64, 200, 2);
        let mut stream = Vec::new();
        let mut wire = [0u8; 64];
        for msg in &msgs {
            match d.compress(msg, End::Sync, &mut wire) {
                // On the wire the 00 00 FF FF tail is omitted; a zlib reader needs it back.
                Ok(n) => stream.extend_from_slice(&wire[..n]),
                // A raw message in shared mode: a stored block carries it in the reference stream.
                Err(_) => {
                    stream.extend_from_slice(&stored_block(msg));
                    continue;
                }
            }
            stream.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
        }
        stream.extend_from_slice(&[0x03, 0x00]); // final empty fixed block
        assert_eq!(flate2_inflate(&stream).unwrap(), msgs.concat(), "{kind}");
        let z = zlib_inflate(10, &[], &stream, InflateFlush::Finish);
        assert!(z == msgs.concat(), "zlib, window 1 KiB: {kind}");
    }
}

/// A non-final stored block holding `data` (byte-aligned, as after a sync flush).
fn stored_block(data: &[u8]) -> Vec<u8> {
    let len = data.len() as u16;
    let mut b = vec![0];
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&(!len).to_le_bytes());
    b.extend_from_slice(data);
    b
}

#[test]
fn the_shared_stream_continues_across_many_messages_and_restarts_per_session() {
    let c = cfg(Mode::Shared, &[]);
    let (mut tx, mut rx) = pair(c, c);
    let mut wire = [0u8; 256];
    let mut out = [0u8; 256];
    for session in 0..3u64 {
        let msgs = corpus::messages("json", 100, 300, session);
        let mut sizes = Vec::new();
        for msg in &msgs {
            let (repr, n) = tx.compress(true, msg, &mut wire);
            assert!(matches!(repr, Compression::Shared | Compression::SharedRaw));
            let m = rx.decompress(repr, &wire[..n], &mut out).unwrap();
            assert_eq!(&out[..m], &msg[..]);
            sizes.push(n);
        }
        // 30 KB through a 1 KiB window: later messages reference earlier ones.
        let tail: usize = sizes[200..].iter().sum();
        assert!(tail * 2 < 100 * 100, "session {session}: {tail}");
        // A new session: both ends restart their stream.
        tx.start_tx(rx.rx_caps());
        rx.reset_rx();
    }
    let stats = rx.stats();
    assert_eq!(stats.failed, 0);
    assert!(stats.inflated > 800, "{stats:?}");
}

#[test]
fn a_piece_decoded_against_a_restarted_history_it_needs_is_refused() {
    let c = cfg(Mode::Shared, &[]);
    let (mut tx, mut rx) = pair(c, c);
    let msg = br#"{"temp":21.5,"rh":40.1,"status":"ok","n":1}"#;
    let mut wire = [0u8; 64];
    let mut out = [0u8; 64];
    let (repr, n) = tx.compress(true, msg, &mut wire);
    rx.decompress(repr, &wire[..n], &mut out).unwrap();
    let (repr, n) = tx.compress(true, msg, &mut wire);
    assert_eq!(repr, Compression::Shared);
    rx.reset_rx(); // only the receiver restarted
    assert_eq!(
        rx.decompress(repr, &wire[..n], &mut out),
        Err(DecompressError::Malformed)
    );
    assert_eq!(rx.stats().malformed, 1);
}

// ------------------------------------------------------------------ zlib as the sender

/// zlib with the 1 KiB window and fixed codes only: what an inflater without dynamic tables
/// must take, in every mode.
#[test]
fn zlib_fixed_codes_in_a_1_kib_window_decode_in_every_mode() {
    let dict = corpus::dictionary("json");
    let plain = CodecConfig {
        receive: Receive {
            dynamic: false,
            ..Receive::DEFAULT
        },
        ..cfg(Mode::Off, &dict)
    };
    let mut rx = codec(plain);
    rx.reset_rx();
    let mut out = vec![0u8; 4096];
    for kind in corpus::KINDS {
        for size in [32, 128, 1024, 4096] {
            for level in [1, 6, 9] {
                for msg in corpus::messages(kind, size, 3, 3) {
                    // Per message.
                    let mut z = zlib(level, 10, ZStrategy::Fixed);
                    let wire = zlib_put(&mut z, &msg, DeflateFlush::Finish);
                    let n = rx
                        .decompress(Compression::Deflate, &wire, &mut out)
                        .unwrap();
                    assert_eq!(&out[..n], &msg[..], "{kind} {size} L{level}");
                    // Against the dictionary.
                    let mut z = zlib(level, 10, ZStrategy::Fixed);
                    z.set_dictionary(&dict).unwrap();
                    let wire = zlib_put(&mut z, &msg, DeflateFlush::Finish);
                    let n = rx
                        .decompress(Compression::Dictionary(7), &wire, &mut out)
                        .unwrap();
                    assert_eq!(&out[..n], &msg[..], "dictionary {kind} {size} L{level}");
                }
            }
        }
    }
    assert_eq!(rx.stats().failed, 0);
}

/// zlib's sync-flushed stream, tail stripped, is a sequence of shared pieces; a new session is
/// a new zlib stream.
#[test]
fn zlib_sync_flushed_pieces_decode_as_the_shared_stream_across_sessions() {
    for (strategy, dynamic) in [(ZStrategy::Fixed, false), (ZStrategy::Default, true)] {
        let rx_cfg = CodecConfig {
            receive: Receive {
                dynamic,
                ..Receive::DEFAULT
            },
            ..CodecConfig::DEFAULT
        };
        let mut rx = codec(rx_cfg);
        let mut out = [0u8; 512];
        for session in 0..3 {
            rx.reset_rx();
            let mut z = zlib(6, 10, strategy);
            for msg in corpus::messages("log", 200, 60, session) {
                let piece = zlib_put(&mut z, &msg, DeflateFlush::SyncFlush);
                assert_eq!(piece[piece.len() - 4..], [0, 0, 0xFF, 0xFF]);
                let n = rx
                    .decompress(Compression::Shared, &piece[..piece.len() - 4], &mut out)
                    .unwrap();
                assert_eq!(&out[..n], &msg[..], "{strategy:?} session {session}");
            }
        }
        assert_eq!(rx.stats().failed, 0);
    }
}

#[test]
fn zlib_dynamic_blocks_decode_with_tables_and_are_refused_without() {
    let (mut refused, mut decoded) = (0, 0);
    let mut with = dynamic_inflater(15);
    let mut without = Inflater::new(15).unwrap();
    for kind in corpus::KINDS {
        for size in [32, 128, 1024, 4096] {
            for level in 0..=9 {
                for msg in corpus::messages(kind, size, 3, 3) {
                    let mut z = zlib(level, 15, ZStrategy::Default);
                    let wire = zlib_put(&mut z, &msg, DeflateFlush::Finish);
                    let mut out = vec![0u8; size];
                    let n = with.inflate(&wire, &mut out).unwrap();
                    assert_eq!(&out[..n], &msg[..], "{kind} {size} L{level}");
                    decoded += 1;
                    match without.inflate(&wire, &mut out) {
                        Ok(n) => assert_eq!(&out[..n], &msg[..]),
                        Err(e) => {
                            assert_eq!(e, DecompressError::DynamicBlock, "{kind} {size}");
                            refused += 1;
                        }
                    }
                }
            }
        }
    }
    // zlib picks fixed or stored blocks for the small ones, dynamic for most others.
    assert!(refused > decoded / 3, "{refused} of {decoded}");
    // Through the codec: the typed error, counted.
    let mut rx = codec(CodecConfig::DEFAULT);
    let msg = corpus::stream("csv", 2048, 1);
    let mut z = zlib(6, 10, ZStrategy::Default);
    let wire = zlib_put(&mut z, &msg[..2048], DeflateFlush::Finish);
    let mut out = vec![0u8; 4096];
    assert_eq!(
        rx.decompress(Compression::Deflate, &wire, &mut out),
        Err(DecompressError::DynamicBlock)
    );
    assert_eq!(
        (rx.stats().dynamic_block, rx.stats().failed),
        (1, 1),
        "{:?}",
        rx.stats()
    );
}

#[test]
fn zlib_streams_at_every_level_decode_with_the_default_window() {
    // flate2 (miniz_oxide, a 32 KiB window): small messages never reach beyond 1 KiB.
    let mut inf = dynamic_inflater(10);
    for kind in corpus::KINDS {
        for size in [32, 128, 1024] {
            for level in 0..=9 {
                for msg in corpus::messages(kind, size, 3, 3) {
                    let mut z = flate2::write::DeflateEncoder::new(
                        Vec::new(),
                        flate2::Compression::new(level),
                    );
                    std::io::Write::write_all(&mut z, &msg).unwrap();
                    let wire = z.finish().unwrap();
                    let mut out = vec![0u8; size];
                    let n = inf.inflate(&wire, &mut out).unwrap();
                    assert_eq!(&out[..n], &msg[..], "{kind} {size} L{level}");
                }
            }
        }
    }
}

// ------------------------------------------------------------------ windows and distances

#[test]
fn references_beyond_the_window_are_too_far() {
    // zlib's 32 KiB window: a 4 KiB message that repeats a 2 KiB block references 2 KiB back.
    let block = corpus::stream("binary", 2048, 9)[..2048].to_vec();
    let msg = [block.clone(), block].concat();
    for strategy in [ZStrategy::Fixed, ZStrategy::Default] {
        let mut z = zlib(9, 15, strategy);
        let wire = zlib_put(&mut z, &msg, DeflateFlush::Finish);
        let mut out = vec![0u8; 4096];
        assert_eq!(
            dynamic_inflater(10).inflate(&wire, &mut out),
            Err(DecompressError::TooFar)
        );
        // The same stream with a 32 KiB window announced.
        let n = dynamic_inflater(15).inflate(&wire, &mut out).unwrap();
        assert_eq!(out[..n], msg[..]);
    }
}

#[test]
fn a_match_exactly_one_window_back_decodes() {
    for bits in [8u8, 10] {
        let w = 1usize << bits;
        let block: Vec<u8> = (0..w as u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let msg = [block.clone(), block].concat();
        let mut mem = vec![0u8; Deflater::storage_size(bits)];
        let mut d = Deflater::new(bits, &mut mem).unwrap();
        let mut wire = vec![0u8; msg.len()];
        let n = d.compress(&msg, End::Final, &mut wire).unwrap();
        assert!(n < w * 3 / 2, "{n}");
        assert_eq!(flate2_inflate(&wire[..n]).unwrap(), msg);
        let mut out = vec![0u8; 2 * w];
        let m = Inflater::new(bits).unwrap().inflate(&wire[..n], &mut out);
        assert_eq!(m, Ok(2 * w));
        assert_eq!(out, msg);
        // One byte less of window: too far.
        if bits > 8 {
            let m = Inflater::new(bits - 1)
                .unwrap()
                .inflate(&wire[..n], &mut out);
            assert_eq!(m, Err(DecompressError::TooFar));
        }
    }
}

#[test]
fn the_sender_keeps_within_the_window_the_peer_announced() {
    // A 256-byte receiver: every mode, a corpus with repeats at every distance up to 1 KiB.
    let dict = corpus::dictionary("log");
    for mode in [Mode::PerMessage, Mode::Shared, Mode::Dictionary] {
        let rx = CodecConfig {
            receive: Receive {
                window_bits: 8,
                ..Receive::DEFAULT
            },
            ..cfg(Mode::Off, &dict)
        };
        let (mut tx, mut rx) = pair(cfg(mode, &dict), rx);
        assert_eq!(rx.rx_caps().window_bits, 8);
        let mut wire = vec![0u8; 2048];
        let mut out = vec![0u8; 2048];
        let mut compressed = 0;
        for msg in corpus::messages("log", 1500, 20, 4) {
            let (repr, n) = tx.compress(true, &msg, &mut wire);
            compressed += usize::from(n < msg.len());
            let m = rx.decompress(repr, &wire[..n], &mut out).unwrap();
            assert_eq!(out[..m], msg[..], "{mode:?}");
            // And zlib agrees (with 512 bytes, its smallest raw inflate window).
            if repr == Compression::Deflate {
                let z = zlib_inflate(9, &[], &wire[..n], InflateFlush::Finish);
                assert_eq!(z, msg);
            }
        }
        assert!(compressed >= 18, "{mode:?}: {compressed}");
    }
}

// ------------------------------------------------------------------ negotiation

#[test]
fn only_what_the_peer_announced_is_sent() {
    let dict = corpus::dictionary("json");
    let msg = &corpus::messages("json", 600, 1, 5)[0];
    let caps = |per_message, shared, window_bits, dict_id| RxCaps {
        per_message,
        shared,
        dynamic: false,
        window_bits,
        dict_id,
    };
    use Compression as C;
    // (configured mode, peer caps, reliable representation, best-effort representation,
    // messages sent in a weaker mode than configured)
    let cases = [
        (
            Mode::Shared,
            caps(true, true, 10, 7),
            C::Shared,
            C::Deflate,
            0,
        ),
        (
            Mode::Shared,
            caps(true, false, 10, 7),
            C::Deflate,
            C::Deflate,
            1,
        ),
        (
            Mode::Shared,
            caps(false, true, 10, 7),
            C::Shared,
            C::None,
            1,
        ),
        (Mode::Shared, caps(false, false, 10, 7), C::None, C::None, 2),
        (
            Mode::Dictionary,
            caps(true, true, 10, 7),
            C::Dictionary(7),
            C::Dictionary(7),
            0,
        ),
        (
            Mode::Dictionary,
            caps(true, true, 10, 8),
            C::Deflate,
            C::Deflate,
            2,
        ),
        (
            Mode::Dictionary,
            caps(false, false, 10, 0),
            C::None,
            C::None,
            2,
        ),
        (
            Mode::PerMessage,
            caps(true, true, 9, 7),
            C::Deflate,
            C::Deflate,
            0,
        ),
        (
            Mode::PerMessage,
            caps(false, true, 10, 7),
            C::None,
            C::None,
            2,
        ),
        (
            Mode::PerMessage,
            caps(true, true, 0, 7),
            C::None,
            C::None,
            2,
        ),
        (Mode::Off, caps(true, true, 10, 7), C::None, C::None, 0),
    ];
    for (mode, peer, reliable, best_effort, downgrades) in cases {
        let mut tx = codec(cfg(mode, &dict));
        let mut wire = vec![0u8; msg.len()];
        // Before any session everything goes out raw.
        assert_eq!(tx.compress(true, msg, &mut wire).0, C::None);
        let before = tx.stats().downgraded;
        tx.start_tx(peer);
        assert_eq!(
            tx.compress(true, msg, &mut wire).0,
            reliable,
            "{mode:?} {peer:?}"
        );
        assert_eq!(
            tx.compress(false, msg, &mut wire).0,
            best_effort,
            "{mode:?} {peer:?}"
        );
        assert_eq!(
            tx.stats().downgraded - before,
            downgrades,
            "{mode:?} {peer:?}"
        );
    }
}

#[test]
fn rx_caps_follow_the_configuration() {
    let dict = corpus::dictionary("json");
    let full = codec(CodecConfig {
        receive: Receive {
            dynamic: true,
            window_bits: 12,
            ..Receive::DEFAULT
        },
        ..cfg(Mode::Off, &dict)
    });
    assert_eq!(
        full.rx_caps(),
        RxCaps {
            per_message: true,
            shared: true,
            dynamic: true,
            window_bits: 12,
            dict_id: 7
        }
    );
    let none = codec(CodecConfig {
        receive: Receive::NONE,
        ..cfg(Mode::Shared, &dict)
    });
    assert_eq!(none.rx_caps(), RxCaps::NONE);
    let shared_only = codec(CodecConfig {
        receive: Receive {
            per_message: false,
            ..Receive::DEFAULT
        },
        ..cfg(Mode::Off, &dict)
    });
    assert_eq!(shared_only.rx_caps().dict_id, 0);
    assert!(shared_only.rx_caps().shared);
}

// ------------------------------------------------------------------ memory

#[test]
fn storage_size_is_exact_for_every_configuration() {
    let dict = corpus::dictionary("json");
    let mut checked = 0;
    for reliable in MODES {
        for unreliable in MODES {
            for (per_message, shared, dynamic) in [
                (false, false, false),
                (true, false, false),
                (false, true, false),
                (true, true, false),
                (true, true, true),
                (true, false, true),
            ] {
                for window_bits in [8, 10, 15] {
                    for send_window_bits in [8, 10] {
                        let c = CodecConfig {
                            reliable,
                            unreliable,
                            dictionary: Some(Dictionary {
                                id: 7,
                                bytes: &dict,
                            }),
                            receive: Receive {
                                per_message,
                                shared,
                                dynamic,
                                window_bits,
                            },
                            send_window_bits,
                        };
                        let size = Compressor::storage_size(&c);
                        let mut mem = vec![0u8; size];
                        assert!(Compressor::new(c, &mut mem).is_ok(), "{c:?}");
                        if size > 0 {
                            assert_eq!(
                                Compressor::new(c, &mut mem[..size - 1]).err(),
                                Some(StorageError::TooSmall {
                                    needed: size,
                                    given: size - 1
                                })
                            );
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 16 * 6 * 3 * 2);
}

#[test]
fn memory_per_configuration() {
    // The numbers README.md and the issue quote; each part only when used.
    let size = |reliable, unreliable, receive| {
        Compressor::storage_size(&CodecConfig {
            reliable,
            unreliable,
            receive,
            ..CodecConfig::DEFAULT
        })
    };
    // A compressor: its history (3 x 2^bits + 640) and its 516-byte work area (the parse's
    // nodes), which two compressors of one codec share.
    let deflater = Deflater::storage_size(10);
    assert_eq!(deflater, 3712 + 516);
    assert_eq!(Deflater::storage_size(8), 1408 + 516);
    assert_eq!(Window::storage_size(10), 1024);
    assert_eq!(DYNAMIC_TABLE_BYTES, 1012);
    let dynamic = Receive {
        dynamic: true,
        ..Receive::DEFAULT
    };
    let per_message_only = Receive {
        shared: false,
        ..Receive::DEFAULT
    };
    // Shared both ways, window 1 KiB, fixed codes: one deflater and one ring.
    assert_eq!(size(Mode::Shared, Mode::Off, Receive::DEFAULT), 4228 + 1024);
    assert_eq!(size(Mode::Shared, Mode::Off, dynamic), 4228 + 1024 + 1012);
    // Per-message both ways: one deflater, no ring.
    assert_eq!(
        size(Mode::PerMessage, Mode::PerMessage, per_message_only),
        4228
    );
    // Shared plus best-effort per-message: two deflaters, one work area.
    assert_eq!(
        size(Mode::Shared, Mode::PerMessage, Receive::DEFAULT),
        2 * 3712 + 516 + 1024
    );
    // Receive-only: nothing for per-message payloads; the ring for the shared stream.
    assert_eq!(size(Mode::Off, Mode::Off, per_message_only), 0);
    assert_eq!(size(Mode::Off, Mode::Off, Receive::DEFAULT), 1024);
    assert_eq!(size(Mode::Off, Mode::Off, dynamic), 1024 + 1012);
    // A 256-byte compressor window for the smallest parts.
    let small = Compressor::storage_size(&CodecConfig {
        reliable: Mode::Shared,
        send_window_bits: 8,
        receive: Receive {
            window_bits: 8,
            ..Receive::DEFAULT
        },
        ..CodecConfig::DEFAULT
    });
    assert_eq!(small, 1408 + 516 + 256);
}

#[test]
fn bad_window_bits_are_refused() {
    for (receive_bits, send_bits) in [(7, 10), (16, 10), (10, 7), (10, 11)] {
        let c = CodecConfig {
            reliable: Mode::Shared,
            send_window_bits: send_bits,
            receive: Receive {
                window_bits: receive_bits,
                ..Receive::DEFAULT
            },
            ..CodecConfig::DEFAULT
        };
        let mut mem = vec![0u8; 8192];
        let bad = if receive_bits != 10 {
            receive_bits
        } else {
            send_bits
        };
        assert_eq!(
            Compressor::new(c, &mut mem).err(),
            Some(StorageError::WindowBits(bad))
        );
    }
    assert!(Inflater::new(7).is_err() && Inflater::new(16).is_err());
    assert_eq!(
        Inflater::with_dynamic(10, &mut [0u8; DYNAMIC_TABLE_BYTES - 1]).err(),
        Some(StorageError::TooSmall {
            needed: DYNAMIC_TABLE_BYTES,
            given: DYNAMIC_TABLE_BYTES - 1
        })
    );
    assert!(Deflater::new(11, &mut [0u8; 8192]).is_err());
}

// ------------------------------------------------------------------ errors

#[test]
fn bombs_are_an_error_not_a_truncated_message() {
    let msg = vec![0u8; 4096];
    let mut mem = vec![0u8; Deflater::storage_size(10)];
    let mut d = Deflater::new(10, &mut mem).unwrap();
    let mut wire = vec![0u8; 4096];
    let n = d.compress(&msg, End::Final, &mut wire).unwrap();
    let mut out = vec![0u8; 4095];
    assert_eq!(
        Inflater::new(10).unwrap().inflate(&wire[..n], &mut out),
        Err(DecompressError::TooLarge)
    );
    let mut rx = codec(CodecConfig::DEFAULT);
    assert_eq!(
        rx.decompress(Compression::Deflate, &wire[..n], &mut out),
        Err(DecompressError::TooLarge)
    );
    // Exactly enough room is fine.
    let mut out = vec![0u8; 4096];
    assert_eq!(
        rx.decompress(Compression::Deflate, &wire[..n], &mut out),
        Ok(4096)
    );
    // A literal, a stored block and a raw payload one byte too long.
    let mut z = zlib(0, 10, ZStrategy::Default);
    let stored = zlib_put(&mut z, &msg[..100], DeflateFlush::Finish);
    assert_eq!(stored[0] & 0b110, 0, "a stored block");
    for (repr, payload) in [
        (Compression::Deflate, &wire[..n]),
        (Compression::Deflate, &stored[..]),
        (Compression::None, &msg[..100]),
        (Compression::SharedRaw, &msg[..100]),
    ] {
        let room = if payload.len() < 200 { 99 } else { 4095 };
        assert_eq!(
            rx.decompress(repr, payload, &mut out[..room]),
            Err(DecompressError::TooLarge),
            "{repr:?}"
        );
    }
    // A 65,535-byte stored block into a small buffer: refused before reading it.
    let mut huge = vec![0u8, 0xFF, 0xFF, 0, 0];
    huge.resize(100, 0);
    assert_eq!(
        Inflater::new(10).unwrap().inflate(&huge, &mut out[..64]),
        Err(DecompressError::TooLarge)
    );
    let s = rx.stats();
    assert_eq!((s.too_large, s.failed), (5, 5), "{s:?}");
}

/// Packs (value, bit count) fields into bytes, least significant bit first (deflate's order).
fn bits(fields: &[(u32, u32)]) -> Vec<u8> {
    let (mut acc, mut n, mut out) = (0u64, 0, Vec::new());
    for &(v, len) in fields {
        acc |= u64::from(v) << n;
        n += len;
        while n >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            n -= 8;
        }
    }
    if n > 0 {
        out.push(acc as u8);
    }
    out
}

/// A fixed-Huffman code (most significant bit first) as a bit field.
fn code(c: u32, len: u32) -> (u32, u32) {
    (c.reverse_bits() >> (32 - len), len)
}

#[test]
fn every_malformed_stream_is_a_typed_error() {
    let lit_a = code(0x30 + u32::from(b'a'), 8);
    let eob = code(0, 7);
    let cases: Vec<(&str, Vec<u8>, DecompressError)> = vec![
        ("empty", vec![], DecompressError::Malformed),
        (
            "block type 3",
            bits(&[(1, 1), (3, 2)]),
            DecompressError::Malformed,
        ),
        (
            "NLEN not the complement of LEN",
            vec![0x01, 0x01, 0x00, 0x00, 0x00, b'a'],
            DecompressError::Malformed,
        ),
        (
            "stored block cut short",
            vec![0x01, 0x05, 0x00, 0xFA, 0xFF, b'a'],
            DecompressError::Malformed,
        ),
        (
            "no final block",
            bits(&[(0, 1), (1, 2), lit_a, eob]),
            DecompressError::Malformed,
        ),
        (
            "literal/length symbol 286",
            bits(&[(1, 1), (1, 2), code(0xC6, 8)]),
            DecompressError::Malformed,
        ),
        (
            "distance symbol 30",
            bits(&[(1, 1), (1, 2), lit_a, code(1, 7), code(30, 5)]),
            DecompressError::Malformed,
        ),
        (
            "distance before the stream's start",
            bits(&[(1, 1), (1, 2), lit_a, code(1, 7), code(1, 5), eob]),
            DecompressError::Malformed,
        ),
        (
            "distance beyond the window",
            // Symbol 29: 24,577 + 13 extra bits.
            bits(&[(1, 1), (1, 2), lit_a, code(1, 7), code(29, 5), (0, 13), eob]),
            DecompressError::TooFar,
        ),
        (
            "trailing byte",
            [bits(&[(1, 1), (1, 2), lit_a, eob]), vec![0]].concat(),
            DecompressError::Malformed,
        ),
        (
            "dynamic block",
            bits(&[(1, 1), (2, 2)]),
            DecompressError::DynamicBlock,
        ),
    ];
    for (name, data, error) in &cases {
        let mut out = [0u8; 64];
        assert_eq!(
            Inflater::new(10).unwrap().inflate(data, &mut out),
            Err(*error),
            "{name}"
        );
    }
    // The valid stream the cases are built from.
    let mut out = [0u8; 8];
    let ok = bits(&[(1, 1), (1, 2), lit_a, eob]);
    assert_eq!(Inflater::new(10).unwrap().inflate(&ok, &mut out), Ok(1));
}

#[test]
fn every_malformed_dynamic_header_is_a_typed_error() {
    // Header fields: HLIT (5), HDIST (5), HCLEN (4), then 3-bit code-length-code lengths.
    let header = |hlit, hdist, hclen| vec![(1, 1), (2, 2), (hlit, 5), (hdist, 5), (hclen, 4)];
    // Code-length code: symbols 18, 0 and 1 with lengths 1, 2, 2 (ORDER starts 16, 17, 18, 0,
    // 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1), so HCLEN covers 18 entries.
    let cl_lengths = |f: &mut Vec<(u32, u32)>| {
        let mut l = [0u32; 18];
        l[2] = 1; // 18
        l[3] = 2; // 0
        l[17] = 2; // 1
        f.extend(l.iter().map(|&x| (x, 3)));
    };
    let cases: Vec<(&str, Vec<(u32, u32)>)> = vec![
        ("HLIT 30 (287 codes)", header(30, 0, 0)),
        ("HDIST 30 (31 codes)", header(0, 30, 0)),
        ("code-length code incomplete", {
            let mut f = header(0, 0, 0);
            f.extend([(1, 3), (0, 3), (0, 3), (0, 3)]);
            f
        }),
        ("repeat with nothing before", {
            // Lengths 1 for 16 and 17: complete; then symbol 16 first.
            let mut f = header(0, 0, 0);
            f.extend([(1, 3), (1, 3), (0, 3), (0, 3)]);
            f.push(code(0, 1)); // symbol 16
            f
        }),
        ("repeat past the end", {
            let mut f = header(0, 0, 14);
            cl_lengths(&mut f);
            // 18 zeros x 138, twice: 276 > 258 codes.
            for _ in 0..3 {
                f.push(code(0, 1));
                f.push((127, 7));
            }
            f
        }),
        ("no end-of-block code", {
            // 257 + 1 lengths: all zero except literal 0 and the distance code.
            let mut f = header(0, 0, 14);
            cl_lengths(&mut f);
            f.push(code(0b11, 2)); // length 1 for literal 0
            f.push(code(0, 1)); // 18: 138 zeros
            f.push((127, 7));
            f.push(code(0, 1)); // 18: 118 zeros
            f.push((107, 7));
            f.push(code(0b11, 2)); // length 1 for distance 0
            f
        }),
        ("over-subscribed literal code", {
            // Literals 0, 1, 2 all of length 1.
            let mut f = header(0, 0, 14);
            cl_lengths(&mut f);
            for _ in 0..3 {
                f.push(code(0b11, 2));
            }
            f.push(code(0, 1));
            f.push((127, 7)); // 138 zeros: 3..141
            f.push(code(0, 1));
            f.push((104, 7)); // 115 zeros: 141..256
            f.push(code(0b11, 2)); // 256: length 1
            f.push(code(0b11, 2)); // distance 0: length 1
            f
        }),
    ];
    for (name, fields) in cases {
        let data = bits(&fields);
        let mut out = [0u8; 64];
        assert_eq!(
            dynamic_inflater(10).inflate(&data, &mut out),
            Err(DecompressError::Malformed),
            "{name}"
        );
    }
}

#[test]
fn truncated_trailing_and_garbage_payloads_are_rejected() {
    let msg = corpus::stream("json", 512, 5);
    let mut mem = vec![0u8; Deflater::storage_size(10)];
    let mut d = Deflater::new(10, &mut mem).unwrap();
    let mut wire = vec![0u8; 512];
    let n = d.compress(&msg[..512], End::Final, &mut wire).unwrap();
    let mut out = vec![0u8; 4096];
    let mut inf = Inflater::new(10).unwrap();
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
    let mut rx = codec(cfg(Mode::Off, &msg));
    assert_eq!(
        rx.decompress(Compression::Shared, &wire[..n], &mut out),
        Err(DecompressError::Malformed)
    );
    // Nor is a piece without its sync flush, or an empty one.
    let mut tx = codec(cfg(Mode::Shared, &msg));
    tx.start_tx(rx.rx_caps());
    let (repr, m) = tx.compress(true, &msg[..512], &mut wire);
    assert_eq!(repr, Compression::Shared);
    for bad in [&wire[..m - 1], &[][..]] {
        assert_eq!(
            rx.decompress(Compression::Shared, bad, &mut out),
            Err(DecompressError::Malformed)
        );
    }
    // Garbage never panics and never writes past the bound.
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut dynamic_rx = codec(CodecConfig {
        receive: Receive {
            dynamic: true,
            ..Receive::DEFAULT
        },
        ..cfg(Mode::Off, &msg)
    });
    for _ in 0..20_000 {
        let len = (rng.next_u32() % 64) as usize;
        let junk: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
        for repr in [
            Compression::Deflate,
            Compression::Shared,
            Compression::Dictionary(7),
        ] {
            let mut out = [0xEEu8; 300];
            for c in [&mut rx, &mut dynamic_rx] {
                if let Ok(n) = c.decompress(repr, &junk, &mut out[..256]) {
                    assert!(n <= 256);
                }
            }
            assert!(out[256..].iter().all(|&b| b == 0xEE));
        }
    }
}

#[test]
fn dictionary_and_mode_mismatches_are_typed_errors() {
    let dict = corpus::dictionary("json");
    let msg = &corpus::messages("json", 96, 1, 11)[0];
    let (mut tx, _) = pair(cfg(Mode::Dictionary, &dict), cfg(Mode::Off, &dict));
    let mut wire = [0u8; 96];
    let (repr, n) = tx.compress(false, msg, &mut wire);
    assert_eq!(repr, Compression::Dictionary(7));
    let other = corpus::dictionary("log");
    let mut rx = codec(CodecConfig {
        dictionary: Some(Dictionary {
            id: 8,
            bytes: &other,
        }),
        ..CodecConfig::DEFAULT
    });
    let mut out = [0u8; 256];
    assert_eq!(
        rx.decompress(repr, &wire[..n], &mut out),
        Err(DecompressError::UnknownDictionary(7))
    );
    let mut rx = codec(cfg(Mode::Off, &dict));
    let m = rx.decompress(repr, &wire[..n], &mut out).unwrap();
    assert_eq!(&out[..m], &msg[..]);
    // Representations a configuration does not accept.
    let none = codec(CodecConfig {
        receive: Receive::NONE,
        ..cfg(Mode::Off, &dict)
    });
    let shared_only = codec(CodecConfig {
        receive: Receive {
            per_message: false,
            ..Receive::DEFAULT
        },
        ..cfg(Mode::Off, &dict)
    });
    let per_message_only = codec(CodecConfig {
        receive: Receive {
            shared: false,
            ..Receive::DEFAULT
        },
        ..cfg(Mode::Off, &dict)
    });
    for (mut c, refused) in [
        (
            none,
            &[
                Compression::Deflate,
                Compression::Dictionary(7),
                Compression::Shared,
                Compression::SharedRaw,
            ][..],
        ),
        (
            shared_only,
            &[Compression::Deflate, Compression::Dictionary(7)][..],
        ),
        (
            per_message_only,
            &[Compression::Shared, Compression::SharedRaw][..],
        ),
    ] {
        for &repr in refused {
            assert_eq!(
                c.decompress(repr, &wire[..n], &mut out),
                Err(DecompressError::Unsupported),
                "{repr:?}"
            );
        }
        assert_eq!(c.stats().unsupported as usize, refused.len());
        // Raw payloads are always taken.
        assert_eq!(
            c.decompress(Compression::None, msg, &mut out),
            Ok(msg.len())
        );
    }
}

// ------------------------------------------------------------------ ratio

#[test]
fn shared_and_dictionary_modes_meet_the_ratio_target() {
    // 64-128 B JSON telemetry: <= 50 % of the payload on the wire, stream framing, header and
    // CRC included (the RDATA header of a one-way stream the benchmark uses too).
    let dict = corpus::dictionary("json");
    let mut frame = vec![0u8; max_stream_frame_len(256)];
    for size in [64, 128] {
        for mode in [Mode::Shared, Mode::Dictionary] {
            let (mut tx, _) = pair(cfg(mode, &dict), cfg(Mode::Off, &dict));
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

// ------------------------------------------------------------------ PROTOCOL.md vectors

/// The `compress-vector` blocks of docs/PROTOCOL.md section 5.5 are what this crate sends
/// (a stranger implementing the spec reads them there).
#[test]
fn protocol_md_holds_the_compression_vectors() {
    // The crate's own PROTOCOL.md (a link to docs/PROTOCOL.md here; a copy in the package).
    let doc = include_str!("../PROTOCOL.md");
    let mut in_doc = String::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        if line == "```compress-vector" {
            in_doc.push_str("```compress-vector\n");
            for l in lines.by_ref() {
                in_doc.push_str(l);
                in_doc.push('\n');
                if l == "```" {
                    break;
                }
            }
        }
    }
    assert!(
        in_doc.matches("```compress-vector").count() == 6,
        "section 5.5 has 6 blocks"
    );
    assert_eq!(in_doc, vectors::blocks());
}

#[test]
fn the_protocol_vectors_decode_with_this_crate_and_with_zlib() {
    let all = vectors::vectors();
    let reprs: Vec<Compression> = all.iter().map(|v| v.repr).collect();
    assert_eq!(
        reprs,
        [
            Compression::Deflate,
            Compression::SharedRaw,
            Compression::Shared,
            Compression::Shared,
            Compression::Dictionary(vectors::DICT_ID),
        ]
    );
    assert!(all[0].plaintext.len() >= 60 && all[0].payload.len() < all[0].plaintext.len());
    let mut rx = codec(CodecConfig {
        dictionary: Some(Dictionary {
            id: vectors::DICT_ID,
            bytes: vectors::DICTIONARY,
        }),
        ..CodecConfig::DEFAULT
    });
    rx.reset_rx();
    // zlib reads the shared sequence as one stream: each piece with its 00 00 FF FF back, the
    // SHARED-alone message as the stored block it stands for.
    let mut stream = Vec::new();
    for v in &all {
        let mut out = [0u8; 256];
        let n = rx.decompress(v.repr, &v.payload, &mut out).unwrap();
        assert_eq!(out[..n], v.plaintext[..], "{}", v.name);
        match v.repr {
            Compression::Deflate => {
                let z = zlib_inflate(10, &[], &v.payload, InflateFlush::Finish);
                assert_eq!(z, v.plaintext, "{}", v.name);
            }
            Compression::Dictionary(_) => {
                let z = zlib_inflate(10, vectors::DICTIONARY, &v.payload, InflateFlush::Finish);
                assert_eq!(z, v.plaintext, "{}", v.name);
            }
            Compression::SharedRaw => stream.extend_from_slice(&stored_block(&v.payload)),
            Compression::Shared => {
                stream.extend_from_slice(&v.payload);
                stream.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
            }
            Compression::None => unreachable!(),
        }
    }
    let z = zlib_inflate(10, &[], &stream, InflateFlush::SyncFlush);
    assert_eq!(
        z,
        [&all[1].plaintext[..], &all[2].plaintext, &all[3].plaintext].concat()
    );
}
