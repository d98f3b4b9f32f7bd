//! A broken shared compressed stream (`docs/PROTOCOL.md` 5.2): the receiver reports the
//! message that fails, counts it, and ends the session the stream belongs to (CLOSE,
//! `DecompressFailed`); the next session's stream starts afresh. A piece of an earlier
//! session, read by the application only after a new session came up, ends nothing.

mod common;

use common::link::{buffers, drain, events, pump, received, with_crc};
use ferrule::compress::{Codec, CodecConfig, Compressor, Mode};
use ferrule::link::{Config, DownReason, Event, Link, RecvError, Transport};
use ferrule::{encode_datagram, Compression, Frame, FrameKind};

const M: usize = 128;
const TELEMETRY: &[u8] = br#"{"sensor":"imu-3","accel":[0.01,0.01,9.81],"gyro":[0.00,0.00,0.00]}"#;

fn node(seed: u64) -> Link<'static> {
    let cfg = Config {
        transport: Transport::Datagram,
        keepalive: 0,
        ..Config::default()
    };
    let mut l = Link::new(cfg, seed, buffers(4, M)).unwrap();
    let c = CodecConfig {
        reliable: Mode::Shared,
        unreliable: Mode::Off,
        ..CodecConfig::DEFAULT
    };
    let mem = vec![0u8; Compressor::storage_size(&c)].leak();
    let codec = Box::leak(Box::new(Compressor::new(c, mem).unwrap()));
    l.set_codec(codec as &mut dyn Codec);
    l
}

/// Two links up (seeds 1 and 2), one shared-stream message from A delivered to B.
fn up_after_one_message() -> (Link<'static>, Link<'static>) {
    let (mut a, mut b) = (node(1), node(2));
    pump(&mut a, &mut b, 0);
    a.send(0, TELEMETRY, 10).unwrap();
    pump(&mut a, &mut b, 10);
    assert_eq!(received(&mut b), vec![TELEMETRY.to_vec()]);
    (a, b)
}

/// A sends a message; its RDATA frame reaches B as a piece of the shared stream that cannot
/// inflate (a block of the reserved type 3), CRC recomputed: what a peer with a broken
/// deflater sends. B takes and acknowledges it (the frame itself is valid).
fn send_broken_piece(a: &mut Link<'static>, b: &mut Link<'static>, now: u64) {
    a.send(0, b"a placeholder the forger replaces", now)
        .unwrap();
    for f in drain(a, now) {
        let frame = Frame::from_body(&f).unwrap();
        if frame.header.kind != FrameKind::Rdata {
            b.handle_datagram(&f, now);
            continue;
        }
        let mut body = f[..frame.header.len()].to_vec();
        body[1] |= 0x03; // COMPRESSED | SHARED
        body.extend_from_slice(&[0xFF, 0xFF]);
        b.handle_datagram(&with_crc(&body), now);
    }
}

fn recv_error(l: &mut Link<'_>) -> Option<RecvError> {
    let mut out = [0u8; M];
    l.recv(&mut out).err()
}

#[test]
fn a_broken_shared_piece_ends_its_session_and_the_next_one_starts_afresh() {
    let (mut a, mut b) = up_after_one_message();
    events(&mut b);
    send_broken_piece(&mut a, &mut b, 20);
    assert!(matches!(
        recv_error(&mut b),
        Some(RecvError::Decompress {
            channel: 0,
            reliable: true,
            ..
        })
    ));
    assert_eq!(b.stats().decompress_failed, 1);
    for now in 21..40 {
        pump(&mut a, &mut b, now);
    }
    let seen = events(&mut b);
    assert!(
        seen.iter().any(|e| matches!(
            e,
            Event::Down {
                reason: DownReason::DecompressFailed,
                ..
            }
        )),
        "{seen:?}"
    );
    assert_eq!(seen.last(), Some(&Event::Up), "{seen:?}");
    // The new session's stream inflates from a fresh start.
    a.send(0, TELEMETRY, 40).unwrap();
    pump(&mut a, &mut b, 40);
    assert_eq!(received(&mut b), vec![TELEMETRY.to_vec()]);
    assert_eq!(b.stats().decompress_failed, 1);
}

#[test]
fn a_broken_piece_of_an_earlier_session_leaves_the_current_one_alone() {
    let (mut a, mut b) = up_after_one_message();
    // B holds a broken piece its application has not read yet when A restarts.
    send_broken_piece(&mut a, &mut b, 20);
    let mut a2 = node(3);
    pump(&mut a2, &mut b, 30);
    assert!(a2.is_up() && b.is_up());
    let downs = b.stats().link_downs;
    events(&mut b);
    // The application reads the old piece now: it fails, counted; the session goes on.
    assert!(matches!(
        recv_error(&mut b),
        Some(RecvError::Decompress {
            channel: 0,
            reliable: true,
            ..
        })
    ));
    assert_eq!(b.stats().decompress_failed, 1);
    for now in 31..40 {
        pump(&mut a2, &mut b, now);
    }
    assert_eq!(events(&mut b), vec![], "the current session must not end");
    assert_eq!(b.stats().link_downs, downs);
    a2.send(0, TELEMETRY, 40).unwrap();
    pump(&mut a2, &mut b, 40);
    assert_eq!(received(&mut b), vec![TELEMETRY.to_vec()]);
    assert!(a2.is_up() && b.is_up());
}

/// 4.4: `SHARED` is never valid on `DATA`, even to a side that announced the shared stream:
/// such a frame is dropped and counted `not_negotiated`, and the session goes on.
#[test]
fn a_data_frame_marked_shared_is_not_negotiated() {
    let (mut a, mut b) = up_after_one_message();
    a.send(0, b"reading", 20).unwrap();
    let frames = drain(&mut a, 20);
    let rdata = frames
        .iter()
        .find(|f| Frame::from_body(f).unwrap().header.kind == FrameKind::Rdata)
        .unwrap();
    let frame = Frame::from_body(rdata).unwrap();
    let mut h = frame.header;
    h.kind = FrameKind::Data;
    h.compression = Compression::SharedRaw;
    let mut out = [0u8; 256];
    let n = encode_datagram(&h, b"reading", &mut out).unwrap();
    let before = b.stats().not_negotiated;
    b.handle_datagram(&out[..n], 20);
    assert!(received(&mut b).is_empty());
    assert_eq!(b.stats().not_negotiated, before + 1);
    // The session is intact: the real frame still arrives.
    b.handle_datagram(rdata, 20);
    assert_eq!(received(&mut b), vec![b"reading".to_vec()]);
    assert!(b.is_up());
}
