//! Arbitrary messages through the heap-free compressor in every mode, across message
//! boundaries and window slides: the payload is never longer than the message, and the
//! receiving codec gives back exactly the message.
#![no_main]

use ferrule::compress::{Codec, CodecConfig, Compressor, Dictionary, Mode};
use libfuzzer_sys::fuzz_target;

const DICT: &[u8] =
    b"{\"seq\":1,\"temp\":21.5,\"rh\":40.2,\"status\":\"ok\"}\n{\"seq\":2,\"temp\":21.6}";

fuzz_target!(|data: &[u8]| {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    let mode = [Mode::PerMessage, Mode::Shared, Mode::Dictionary][usize::from(sel % 3)];
    let cfg = CodecConfig {
        reliable: mode,
        unreliable: mode,
        dictionary: Some(Dictionary { id: 3, bytes: DICT }),
    };
    let (mut tx, mut rx) = (Compressor::new(cfg), Compressor::new(cfg));
    let mut wire = [0u8; 4096];
    let mut out = [0u8; 4096];
    // 0xA5 separates messages; a repeated input byte makes long matches likely.
    for msg in data.split(|&b| b == 0xA5) {
        let (repr, n) = tx.compress(true, msg, &mut wire);
        assert!(n <= msg.len());
        let m = rx.decompress(repr, &wire[..n], &mut out).unwrap();
        assert_eq!(&out[..m], msg);
    }
});
