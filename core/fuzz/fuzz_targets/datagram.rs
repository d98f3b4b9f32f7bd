//! Arbitrary datagrams: parse never panics; accepted ones re-encode to the same bytes.
#![no_main]

use ferrule::{decode_datagram, encode_datagram, max_datagram_len};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = decode_datagram(data) {
        let mut out = vec![0u8; max_datagram_len(frame.payload.len())];
        let n = encode_datagram(&frame.header, frame.payload, &mut out).unwrap();
        assert_eq!(&out[..n], data);
    }
});
