//! Forward error correction through the link (`docs/PROTOCOL.md` section 7): negotiated in
//! the handshake, lost frames rebuilt without a round trip and checked like any frame, with
//! and without AEAD, on both framings.

mod common;

use common::link::{buffers, drain, feed, handshake_over, header, received};
use ferrule::fec::Parity;
use ferrule::link::{Config, Fec, FecConfig, Link, Repair, Transport};
use ferrule::{Frame, FrameKind};

const M: usize = 64;

fn cfg(transport: Transport) -> Config {
    Config {
        transport,
        keepalive: 0,
        ..Config::default()
    }
}

fn node(
    seed: u64,
    transport: Transport,
    fec: Option<FecConfig>,
    key: Option<[u8; 32]>,
) -> Link<'static> {
    let mut l = Link::new(cfg(transport), seed, buffers(8, M)).unwrap();
    if let Some(f) = fec {
        let mem = Box::leak(vec![0u8; Fec::storage_size(&f, M)].into_boxed_slice());
        let fec = Box::leak(Box::new(Fec::new(f, M, mem).unwrap()));
        l.enable_fec(fec as &mut dyn Repair);
    }
    if let Some(k) = key {
        #[cfg(feature = "aead")]
        {
            let guard = Box::leak(Box::new(ferrule::link::Guard::new(1, &k)));
            l.enable_aead(guard as &mut dyn ferrule::link::Sealer);
        }
        #[cfg(not(feature = "aead"))]
        let _ = k;
    }
    l
}

/// Two links (seeds 1 and 2) with the given FEC and key, after their handshake.
fn up(
    transport: Transport,
    fec_a: Option<FecConfig>,
    fec_b: Option<FecConfig>,
    key: Option<[u8; 32]>,
) -> (Link<'static>, Link<'static>) {
    let stream = transport == Transport::Stream;
    let (mut a, mut b) = (
        node(1, transport, fec_a, key),
        node(2, transport, fec_b, key),
    );
    handshake_over(&mut a, &mut b, stream);
    (a, b)
}

/// Runs a handshake, then A sends `count` messages of 40 bytes in one burst; `lose(i, frame)`
/// decides which of A's frames after the handshake never reach B. B's frames all arrive.
/// Returns A, B and what B delivered.
fn run(
    transport: Transport,
    fec_a: Option<FecConfig>,
    fec_b: Option<FecConfig>,
    key: Option<[u8; 32]>,
    count: u8,
    lose: impl Fn(usize, &ferrule::Header) -> bool,
) -> (Link<'static>, Link<'static>, Vec<Vec<u8>>) {
    let stream = transport == Transport::Stream;
    let (mut a, mut b) = up(transport, fec_a, fec_b, key);
    let mut sent = 0;
    let mut got = Vec::new();
    let mut i = 0;
    for now in 10..400u64 {
        while sent < count && a.send(0, &[sent; 40], now).is_ok() {
            sent += 1;
        }
        for f in drain(&mut a, now) {
            if !lose(i, &header(&f, stream)) {
                feed(&mut b, &f, now, stream);
            }
            i += 1;
        }
        for f in drain(&mut b, now) {
            feed(&mut a, &f, now, stream);
        }
        got.extend(received(&mut b));
    }
    (a, b, got)
}

fn each(count: u8) -> Vec<Vec<u8>> {
    (0..count).map(|i| vec![i; 40]).collect()
}

#[test]
fn lost_frames_are_rebuilt_without_retransmission() {
    for transport in [Transport::Datagram, Transport::Stream] {
        // Groups of 4 with 2 parity frames: lose two data frames of the first group.
        let f = Some(FecConfig {
            k: 4,
            m: 2,
            ..FecConfig::DEFAULT
        });
        let lose = |_: usize, h: &ferrule::Header| {
            h.kind == FrameKind::Rdata && matches!(h.fec_seq, Some(1) | Some(2))
        };
        let (a, b, got) = run(transport, f, f, None, 4, lose);
        assert_eq!(got, each(4), "{transport:?}");
        let (sa, sb) = (a.stats(), b.stats());
        assert_eq!(sb.fec_recovered, 2, "{transport:?}");
        assert_eq!(
            sa.retransmissions, 0,
            "{transport:?}: repaired by FEC, not ARQ"
        );
        assert_eq!(sa.parity_sent, 2);
    }
}

#[test]
fn more_losses_than_parity_fall_back_to_retransmission() {
    let f = Some(FecConfig {
        k: 4,
        m: 1,
        ..FecConfig::DEFAULT
    });
    let lose = |_: usize, h: &ferrule::Header| {
        h.kind == FrameKind::Rdata && matches!(h.fec_seq, Some(0) | Some(3))
    };
    let (a, b, got) = run(Transport::Datagram, f, f, None, 4, lose);
    assert_eq!(got, each(4));
    assert!(a.stats().retransmissions >= 2, "{:?}", a.stats());
    assert_eq!(b.stats().fec_recovered, 0, "{:?}", b.stats());
}

/// Parity that disagrees with the data it claims to protect (its symbols forged, the frame's
/// CRC made to match, as a peer with a broken encoder sends): the group is given up, nothing
/// wrong is delivered, the refusal is counted in `parity_rejected`, and ARQ repairs the loss.
#[test]
fn parity_that_disagrees_with_the_data_is_refused_and_counted() {
    let f = Some(FecConfig {
        k: 4,
        m: 2,
        ..FecConfig::DEFAULT
    });
    let (mut a, mut b) = up(Transport::Datagram, f, f, None);
    let mut got = Vec::new();
    for now in 10..400u64 {
        if now < 14 {
            a.send(0, &[now as u8; 40], now).unwrap();
        }
        for fr in drain(&mut a, now) {
            let frame = Frame::from_body(&fr).unwrap();
            match (frame.header.kind, frame.header.fec_seq) {
                (FrameKind::Rdata, Some(1)) => {} // lost
                (FrameKind::Parity, _) => {
                    // Keep the parity header (first, n, index, m); forge the symbol.
                    let mut body = fr[..fr.len() - 4].to_vec();
                    let start = frame.header.len() + 4;
                    for (i, x) in body.iter_mut().enumerate().skip(start) {
                        *x = (i * 37) as u8;
                    }
                    b.handle_datagram(&common::link::with_crc(&body), now);
                }
                _ => b.handle_datagram(&fr, now),
            }
        }
        for fr in drain(&mut b, now) {
            a.handle_datagram(&fr, now);
        }
        got.extend(received(&mut b));
    }
    assert_eq!(got, (10..14u8).map(|i| vec![i; 40]).collect::<Vec<_>>());
    let s = b.stats();
    assert_eq!(s.fec_recovered, 0, "{s:?}");
    assert!(s.parity_rejected >= 1, "{s:?}");
    assert!(a.stats().retransmissions >= 1);
}

#[cfg(feature = "aead")]
#[test]
fn sealed_frames_are_rebuilt_and_authenticated() {
    let f = Some(FecConfig {
        k: 4,
        m: 2,
        ..FecConfig::DEFAULT
    });
    let lose = |_: usize, h: &ferrule::Header| {
        h.kind == FrameKind::Rdata && matches!(h.fec_seq, Some(0) | Some(3))
    };
    let (a, b, got) = run(Transport::Datagram, f, f, Some([9; 32]), 4, lose);
    assert_eq!(got, each(4));
    let sb = b.stats();
    assert_eq!(sb.fec_recovered, 2);
    assert_eq!(sb.auth_failed, 0);
    assert_eq!(a.stats().retransmissions, 0);
}

/// 4.6: the sender protects only when the peer repairs, and never with a larger group or
/// more parity than the peer announced.
#[test]
fn the_group_shape_is_negotiated() {
    // B takes no FEC: A sends neither FEC numbers nor parity.
    let (a, b, got) = run(
        Transport::Datagram,
        Some(FecConfig::DEFAULT),
        None,
        None,
        6,
        |_, h| {
            assert!(h.fec_seq.is_none() && h.kind != FrameKind::Parity, "{h:?}");
            false
        },
    );
    assert_eq!(got, each(6));
    assert_eq!(a.stats().parity_sent, 0);
    assert_eq!(b.stats().not_negotiated, 0);
}

/// What the negotiated shape looks like on the wire: PARITY payloads of groups of 2 with
/// m = 1.
#[test]
fn parity_frames_carry_the_negotiated_shape() {
    let small = FecConfig {
        k: 2,
        m: 1,
        ..FecConfig::DEFAULT
    };
    let (mut a, mut b) = (
        node(1, Transport::Datagram, Some(FecConfig::DEFAULT), None),
        node(2, Transport::Datagram, Some(small), None),
    );
    for now in 0..4 {
        for f in drain(&mut a, now) {
            b.handle_datagram(&f, now);
        }
        for f in drain(&mut b, now) {
            a.handle_datagram(&f, now);
        }
    }
    for i in 0..4u8 {
        a.send(0, &[i; 10], 10).unwrap();
    }
    let mut shapes = Vec::new();
    for f in drain(&mut a, 10) {
        let frame = Frame::from_body(&f).unwrap();
        if frame.header.kind == FrameKind::Parity {
            let p = Parity::parse(frame.payload).unwrap();
            shapes.push((p.first, p.n, p.index, p.m));
        }
    }
    assert_eq!(shapes, [(0, 2, 0, 1), (2, 2, 0, 1)]);
}

/// Like `run`, but A's line takes one frame per millisecond (a serial line), so B's
/// acknowledgements of a group's first frames are back before the group's parity goes out.
fn run_serial(
    transport: Transport,
    fec: FecConfig,
    count: u8,
    lose: impl Fn(&ferrule::Header) -> bool,
) -> (Link<'static>, Link<'static>, Vec<Vec<u8>>) {
    let stream = transport == Transport::Stream;
    let (mut a, mut b) = up(transport, Some(fec), Some(fec), None);
    let mut sent = 0;
    let mut got = Vec::new();
    let mut buf = vec![0u8; a.max_frame_len()];
    for now in 10..600u64 {
        while sent < count && a.send(0, &[sent; 40], now).is_ok() {
            sent += 1;
        }
        if let Ok(Some(n)) = a.poll_transmit(now, &mut buf) {
            if !lose(&header(&buf[..n], stream)) {
                feed(&mut b, &buf[..n], now, stream);
            }
        }
        for f in drain(&mut b, now) {
            feed(&mut a, &f, now, stream);
        }
        got.extend(received(&mut b));
    }
    (a, b, got)
}

#[test]
fn parity_the_peer_cannot_need_is_left_out() {
    let f = FecConfig {
        k: 4,
        m: 2,
        ..FecConfig::DEFAULT
    };
    for transport in [Transport::Datagram, Transport::Stream] {
        // Lossless: the peer acknowledges each frame at once, so by the time a group's
        // parity would go it has acknowledged the group (4 groups, 2 parity frames each,
        // every one accounted for).
        let (a, b, got) = run_serial(transport, f, 16, |_| false);
        assert_eq!(got, each(16), "{transport:?}");
        let s = a.stats();
        assert_eq!(s.parity_sent + s.parity_unneeded, 8, "{transport:?}: {s:?}");
        assert!(s.parity_unneeded >= 4, "{transport:?}: {s:?}");
        assert_eq!(
            s.retransmissions + b.stats().fec_recovered,
            0,
            "{transport:?}"
        );
        // The last two frames of the first group lost: they are unacknowledged when the
        // parity goes, so both parity frames go and rebuild them without a retransmission.
        let lose = |h: &ferrule::Header| {
            h.kind == FrameKind::Rdata && matches!(h.fec_seq, Some(2) | Some(3))
        };
        let (a, b, got) = run_serial(transport, f, 16, lose);
        assert_eq!(got, each(16), "{transport:?}");
        assert_eq!(b.stats().fec_recovered, 2, "{transport:?}");
        assert_eq!(a.stats().retransmissions, 0, "{transport:?}");
    }
}

/// `FecConfig::is_valid` says exactly which configurations `Fec::new` takes (given enough
/// memory), so a size query can refuse the others up front.
#[test]
fn is_valid_agrees_with_the_constructor() {
    let mut accepted = 0;
    for k in 0..=40u8 {
        for m in 0..=20u8 {
            for groups in 0..=10u8 {
                let f = FecConfig {
                    k,
                    m,
                    groups,
                    send: true,
                };
                let mut mem = vec![0u8; Fec::storage_size(&f, M)];
                let built = Fec::new(f, M, &mut mem).is_ok();
                assert_eq!(f.is_valid(), built, "{f:?}");
                accepted += usize::from(built);
            }
        }
    }
    assert!(accepted > 1000, "{accepted}");
}
