//! The test vectors in `docs/PROTOCOL.md` against the encoder and decoder.

mod common;

use ferrule::{
    decode_datagram, encode_datagram, encode_stream, max_datagram_len, max_stream_frame_len, Feed,
    StreamDecoder, StreamOptions,
};

const PROTOCOL: &str = include_str!("../PROTOCOL.md");

#[test]
fn protocol_md_vectors_encode_and_decode() {
    let vectors = common::read_vectors(PROTOCOL);
    assert!(
        vectors.len() >= 10,
        "PROTOCOL.md has {} vectors",
        vectors.len()
    );
    for v in &vectors {
        let mut body = vec![0u8; max_datagram_len(v.payload.len())];
        let n = encode_datagram(&v.header, &v.payload, &mut body).unwrap();
        assert_eq!(&body[..n], &v.body[..], "{}: datagram body", v.name);

        let mut stream = vec![0u8; max_stream_frame_len(v.payload.len())];
        let opts = StreamOptions {
            leading_delimiter: v.leading_delimiter,
        };
        let n = encode_stream(&v.header, &v.payload, opts, &mut stream).unwrap();
        assert_eq!(&stream[..n], &v.stream[..], "{}: stream bytes", v.name);

        let frame = decode_datagram(&v.body).unwrap();
        assert_eq!(
            (frame.header, frame.payload),
            (v.header, &v.payload[..]),
            "{}",
            v.name
        );

        let mut dec = StreamDecoder::<{ 4096 + 32 }>::new();
        match dec.feed(&v.stream) {
            Feed::Frame { frame, rest } => {
                assert_eq!(frame.header, v.header, "{}", v.name);
                assert_eq!(frame.payload, &v.payload[..], "{}", v.name);
                assert!(rest.is_empty());
            }
            other => panic!("{}: {other:?}", v.name),
        }
    }
}

#[test]
fn vectors_cover_the_required_cases() {
    let vectors = common::read_vectors(PROTOCOL);
    let has = |pred: &dyn Fn(&common::Vector) -> bool| vectors.iter().any(pred);
    assert!(has(&|v| v.payload.is_empty()));
    assert!(has(
        &|v| v.payload.len() >= 16 && v.payload.iter().all(|&b| b == 0)
    ));
    assert!(has(&|v| v.payload.len() == ferrule::frame::MAX_PAYLOAD));
    // Zero-free runs of 253, 254 and 255 bytes in the encoded body (COBS block edges).
    for run in [253usize, 254, 255] {
        assert!(
            has(&|v| longest_zero_free_run(&v.body) == run),
            "no vector with a zero-free run of {run}"
        );
    }
}

fn longest_zero_free_run(b: &[u8]) -> usize {
    b.split(|&x| x == 0).map(<[u8]>::len).max().unwrap_or(0)
}
