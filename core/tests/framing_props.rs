//! Property tests of the framing layer.

use ferrule::{
    cobs, encode_stream, max_stream_frame_len, Feed, FrameError, Header, StreamDecoder,
    StreamOptions,
};
use proptest::prelude::*;

const CAP: usize = 600;

fn encode(channel: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; max_stream_frame_len(payload.len())];
    let n = encode_stream(
        &Header::data(channel),
        payload,
        StreamOptions::default(),
        &mut out,
    )
    .unwrap();
    out.truncate(n);
    out
}

/// Feeds `input` in the given chunk sizes; returns the (channel, payload) of every frame.
fn decode_chunked(
    dec: &mut StreamDecoder<CAP>,
    input: &[u8],
    chunks: &[usize],
) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < input.len() {
        let size = chunks
            .get(i % chunks.len().max(1))
            .copied()
            .unwrap_or(1)
            .max(1);
        i += 1;
        let mut chunk = &input[at..input.len().min(at + size)];
        at += chunk.len();
        loop {
            match dec.feed(chunk) {
                Feed::Consumed => break,
                Feed::Frame { frame, rest } => {
                    frames.push((frame.header.channel, frame.payload.to_vec()));
                    chunk = rest;
                }
                Feed::Rejected { rest, .. } => chunk = rest,
            }
        }
    }
    frames
}

/// Payloads of three kinds: random, zero-heavy, and zero-free text-like.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..560),
        prop::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..560),
        prop::collection::vec(1u8..=255, 0..560),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5EED_F0E1),
        ..ProptestConfig::default()
    })]

    #[test]
    fn round_trip_under_any_chunking(
        frames in prop::collection::vec((any::<u8>(), payload()), 1..6),
        chunks in prop::collection::vec(1usize..300, 1..8),
    ) {
        let mut wire = Vec::new();
        for (ch, p) in &frames {
            wire.extend(encode(*ch, p));
        }
        let mut dec = StreamDecoder::<CAP>::new();
        let got = decode_chunked(&mut dec, &wire, &chunks);
        prop_assert_eq!(got, frames.clone());
        prop_assert_eq!(dec.stats().rejected(), 0);
        prop_assert_eq!(dec.stats().bytes_in, wire.len() as u64);
    }

    /// Garbage between frames and garbage written into frames: every intact frame comes out,
    /// no damaged one does, and every damaged one is counted.
    #[test]
    fn garbage_never_hides_intact_frames_nor_passes_damaged_ones(
        frames in prop::collection::vec((any::<u8>(), payload()), 1..6),
        junk in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 6),
        damage in prop::collection::vec(any::<bool>(), 6),
        damage_at in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 6),
        chunks in prop::collection::vec(1usize..200, 1..5),
    ) {
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for (i, (ch, p)) in frames.iter().enumerate() {
            // Junk ends with a delimiter so it cannot merge into the next frame's first block.
            wire.extend(&junk[i]);
            wire.push(0);
            let mut f = encode(*ch, p);
            if damage[i] {
                // Flip a byte inside the COBS body (never the delimiter).
                let (idx, x) = damage_at[i];
                let pos = idx.index(f.len() - 1);
                f[pos] ^= x;
            } else {
                expected.push((*ch, p.clone()));
            }
            wire.extend(f);
        }
        let mut dec = StreamDecoder::<CAP>::new();
        let got = decode_chunked(&mut dec, &wire, &chunks);
        // A damaged frame could be accepted only by a CRC collision (2^-32), or if junk
        // happened to be a valid frame: neither occurs for these seeds, so demand exactness.
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn cobs_matches_the_cobs_crate(data in payload()) {
        let mut ours = vec![0u8; cobs::max_encoded_len(data.len())];
        let n = cobs::encode(&data, &mut ours).unwrap();
        let theirs = ::cobs::encode_vec(&data);
        prop_assert_eq!(&ours[..n], &theirs[..]);
        let mut back = vec![0u8; data.len()];
        let m = cobs::decode(&theirs, &mut back).unwrap();
        prop_assert_eq!(&back[..m], &data[..]);
    }

    #[test]
    fn decoder_never_panics_on_arbitrary_bytes(
        input in prop::collection::vec(any::<u8>(), 0..2000),
        chunks in prop::collection::vec(1usize..64, 1..4),
    ) {
        let mut dec = StreamDecoder::<64>::new();
        let _ = decode_chunked_small(&mut dec, &input, &chunks);
        prop_assert_eq!(dec.stats().bytes_in, input.len() as u64);
    }
}

fn decode_chunked_small(dec: &mut StreamDecoder<64>, input: &[u8], chunks: &[usize]) -> usize {
    let mut n = 0;
    for chunk in input.chunks(chunks[0]) {
        let mut c = chunk;
        loop {
            match dec.feed(c) {
                Feed::Consumed => break,
                Feed::Frame { rest, .. } | Feed::Rejected { rest, .. } => {
                    n += 1;
                    c = rest
                }
            }
        }
    }
    n
}

#[test]
fn oversize_then_valid_frame_in_one_byte_chunks() {
    let big = encode(1, &[9u8; 700]);
    let small = encode(2, b"fits");
    let wire = [big, small].concat();
    let mut dec = StreamDecoder::<CAP>::new();
    let got = decode_chunked(&mut dec, &wire, &[1]);
    assert_eq!(got, vec![(2, b"fits".to_vec())]);
    assert_eq!(dec.stats().oversize, 1);
}

#[test]
fn truncated_frame_is_rejected_and_next_one_survives() {
    let a = encode(1, b"first frame, cut short");
    let b = encode(2, b"second");
    let mut wire = a[..a.len() / 2].to_vec();
    wire.push(0); // the line went quiet, a later delimiter arrives
    wire.extend(&b);
    let mut dec = StreamDecoder::<CAP>::new();
    let got = decode_chunked(&mut dec, &wire, &[3]);
    assert_eq!(got, vec![(2, b"second".to_vec())]);
    assert_eq!(dec.stats().rejected(), 1);
}

#[test]
fn reject_reasons_each_have_their_counter() {
    let mut dec = StreamDecoder::<CAP>::new();
    let mut feed_body = |body: &[u8]| -> FrameError {
        let mut wire = vec![0u8; cobs::max_encoded_len(body.len()) + 1];
        let n = cobs::encode(body, &mut wire).unwrap();
        wire[n] = 0;
        match dec.feed(&wire[..=n]) {
            Feed::Rejected { error, .. } => error,
            other => panic!("{other:?}"),
        }
    };
    let with_crc = |mut b: Vec<u8>| {
        let c = ferrule::crc::crc32c(&b);
        b.extend(c.to_le_bytes());
        b
    };
    assert_eq!(feed_body(&[0x20, 0, 0, 1, 2, 3, 4]), FrameError::BadCrc);
    assert_eq!(
        feed_body(&with_crc(vec![0x10, 0, 0])),
        FrameError::UnsupportedVersion(1)
    );
    assert_eq!(
        feed_body(&with_crc(vec![0x2E, 0, 0])),
        FrameError::UnknownKind(14)
    );
    // An extension byte that announces nothing.
    assert_eq!(
        feed_body(&with_crc(vec![0x20, 0x88, 0, 1, 0, 0, 0])),
        FrameError::BadFlags(0x88)
    );
    assert_eq!(
        feed_body(&with_crc(vec![0x20, 0x08, 0])),
        FrameError::TruncatedHeader
    );
    assert_eq!(feed_body(&[0x20, 0, 0]), FrameError::TooShort);
    let s = *dec.stats();
    assert_eq!(
        (
            s.bad_crc,
            s.bad_version,
            s.unknown_kind,
            s.bad_flags,
            s.truncated_header,
            s.too_short
        ),
        (1, 1, 1, 1, 1, 1)
    );
    // Malformed COBS: a block code that runs past the delimiter.
    assert!(matches!(
        dec.feed(&[0x09, 1, 2, 0]),
        Feed::Rejected {
            error: FrameError::Malformed,
            ..
        }
    ));
    assert_eq!(dec.stats().malformed, 1);
}
