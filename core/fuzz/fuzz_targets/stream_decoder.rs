//! Arbitrary bytes, in arbitrary chunks, into the stream decoder. Invariants: no panic; every
//! frame it yields re-encodes to a body whose CRC is valid and whose payload is the same; the
//! byte counter equals the bytes fed.
#![no_main]

use ferrule::{encode_datagram, max_datagram_len, Feed, StreamDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let step = usize::from(step % 64) + 1;
    let mut dec = StreamDecoder::<300>::new();
    let mut frames = 0u32;
    for chunk in input.chunks(step) {
        let mut c = chunk;
        loop {
            match dec.feed(c) {
                Feed::Consumed => break,
                Feed::Frame { frame, rest } => {
                    frames += 1;
                    let mut body = [0u8; max_datagram_len(300)];
                    let n = encode_datagram(&frame.header, frame.payload, &mut body).unwrap();
                    let again = ferrule::decode_datagram(&body[..n]).unwrap();
                    assert_eq!(again, frame);
                    c = rest;
                }
                Feed::Rejected { rest, .. } => c = rest,
            }
        }
    }
    assert_eq!(dec.stats().frames_ok, frames);
    assert_eq!(dec.stats().bytes_in, input.len() as u64);
});
