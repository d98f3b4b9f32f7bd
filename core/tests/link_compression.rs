//! Compression through the link: the frame-size API, and what a receiver does with a payload
//! it cannot decompress (counted, reported, and a broken shared stream restarts the session).

use ferrule::compress::{Codec, CodecConfig, Compressor, DecompressError, Mode, NoCodec};
use ferrule::link::{frame_buffer_len, Config, DownReason, Event, Link, RecvError, Transport};
use ferrule::{max_datagram_len, max_stream_frame_len};

const M: usize = 256;
type Plain = Link<4, M, { frame_buffer_len(M) }, NoCodec>;
type Packed = Link<4, M, { frame_buffer_len(M) }, Compressor<'static>>;

/// A codec over leaked memory of the size its configuration needs.
fn codec(c: CodecConfig<'static>) -> Compressor<'static> {
    Compressor::new(c, vec![0u8; Compressor::storage_size(&c)].leak()).unwrap()
}

fn cfg() -> Config {
    Config {
        transport: Transport::Datagram,
        ..Config::default()
    }
}

fn pump(a: &mut Packed, b: &mut Plain, now: u64) {
    let mut buf = [0u8; Packed::MAX_FRAME];
    for _ in 0..8 {
        while let Ok(Some(n)) = a.poll_transmit(now, &mut buf) {
            b.handle_datagram(&buf[..n], now);
        }
        while let Ok(Some(n)) = b.poll_transmit(now, &mut buf) {
            a.handle_datagram(&buf[..n], now);
        }
    }
}

#[test]
fn max_message_for_frame_is_worst_case_and_capped() {
    let a = Packed::with_codec(cfg(), 1, codec(CodecConfig::default()));
    for mtu in [0, 10, 23, 24, 100, 279, 280, 1500] {
        let m = a.max_message_for_frame(mtu);
        assert!(m <= M);
        if m > 0 {
            assert!(max_datagram_len(m) <= mtu);
        }
        if m < M {
            assert!(max_datagram_len(m + 1) > mtu, "mtu {mtu}: {m}");
        }
    }
    let s = Plain::new(Config::default(), 1);
    assert_eq!(s.max_message_for_frame(64), 38);
    assert!(max_stream_frame_len(38) <= 64 && max_stream_frame_len(39) > 64);
}

#[test]
fn an_undecodable_shared_stream_is_reported_and_restarts_the_session() {
    let shared = CodecConfig {
        reliable: Mode::Shared,
        ..CodecConfig::default()
    };
    let mut a = Packed::with_codec(cfg(), 1, codec(shared));
    let mut b = Plain::new(cfg(), 2);
    pump(&mut a, &mut b, 0);
    assert!(a.is_up() && b.is_up());
    assert_eq!(b.poll_event(), Some(Event::Up));
    let msg = br#"{"temp":21.5,"temp":21.5,"temp":21.5,"temp":21.5}"#;
    a.send(0, msg, 1).unwrap();
    pump(&mut a, &mut b, 1);
    let mut out = [0u8; M];
    // A short buffer is refused before anything is consumed.
    assert_eq!(
        b.recv(&mut out[..10]),
        Err(RecvError::BufferTooSmall { needed: M })
    );
    assert_eq!(
        b.recv(&mut out),
        Err(RecvError::Decompress {
            channel: 0,
            error: DecompressError::Unsupported
        })
    );
    assert_eq!(b.stats().decompress_failed, 1);
    assert_eq!(
        b.poll_event(),
        Some(Event::Down {
            reason: DownReason::DecompressFailed,
            unacked: 0
        })
    );
    // Both ends come back on a new session.
    pump(&mut a, &mut b, 2_000);
    assert!(a.is_up() && b.is_up());
    assert!(b.stats().sessions >= 2);
}

#[test]
fn a_receive_only_codec_takes_every_mode_and_sends_raw() {
    use ferrule::compress::Dictionary;
    type Receiver = Link<4, M, { frame_buffer_len(M) }, Compressor<'static>>;
    static DICT: &[u8] = br#"{"temp":21.5,"rh":40.1,"status":"ok"}"#;
    let dictionary = Some(Dictionary { id: 7, bytes: DICT });
    for (reliable, unreliable) in [
        (Mode::Shared, Mode::PerMessage),
        (Mode::PerMessage, Mode::Dictionary),
        (Mode::Dictionary, Mode::Off),
    ] {
        let config = CodecConfig {
            reliable,
            unreliable,
            dictionary,
            ..CodecConfig::DEFAULT
        };
        let mut a = Packed::with_codec(cfg(), 1, codec(config));
        // Receive-only: every mode off.
        let inflate_only = CodecConfig {
            dictionary,
            ..CodecConfig::DEFAULT
        };
        let mut b = Receiver::with_codec(cfg(), 2, codec(inflate_only));
        let mut buf = [0u8; Packed::MAX_FRAME];
        let mut out = [0u8; M];
        let mut wire_a = 0;
        for i in 0..40u32 {
            let msg = format!(r#"{{"temp":21.{i},"rh":40.1,"status":"ok","n":{i}}}"#);
            let ch = u8::from(i % 3 == 0);
            let now = u64::from(i);
            // Both ends exchange until quiet, then the receiver reads everything.
            let _ = a.send(ch, msg.as_bytes(), now);
            let _ = b.send(0, msg.as_bytes(), now);
            for _ in 0..4 {
                while let Ok(Some(n)) = a.poll_transmit(now, &mut buf) {
                    wire_a += n;
                    b.handle_datagram(&buf[..n], now);
                }
                while let Ok(Some(n)) = b.poll_transmit(now, &mut buf) {
                    a.handle_datagram(&buf[..n], now);
                }
            }
            while let Some(r) = b.recv(&mut out).unwrap() {
                assert_eq!(&out[..r.len], msg.as_bytes(), "{reliable:?}/{unreliable:?}");
            }
            while let Some(r) = a.recv(&mut out).unwrap() {
                assert_eq!(&out[..r.len], msg.as_bytes());
            }
        }
        let s = b.codec().stats();
        assert_eq!(s.failed, 0);
        // Every message the sender compressed was inflated, and there were some.
        assert_eq!(
            s.inflated,
            a.codec().stats().compressed,
            "{reliable:?}: {s:?}"
        );
        assert!(s.inflated > 0, "{reliable:?}: {s:?}");
        assert_eq!(s.compressed, 0, "the inflate-only side sends raw");
        assert!(wire_a > 0);
    }
    // It keeps only the shared stream's 1 KiB ring.
    assert_eq!(Compressor::storage_size(&CodecConfig::DEFAULT), 1024);
}
