//! Arbitrary payloads in every compressed representation: decompression never panics, never
//! writes past the output bound, and a success is reproducible from a fresh state.
#![no_main]

use ferrule::compress::{Codec, CodecConfig, Compressor, Dictionary};
use ferrule::Compression;
use libfuzzer_sys::fuzz_target;

const DICT: &[u8] = b"{\"seq\":1,\"temp\":21.5,\"rh\":40.2,\"status\":\"ok\"}";

fuzz_target!(|data: &[u8]| {
    let cfg = CodecConfig {
        dictionary: Some(Dictionary { id: 9, bytes: DICT }),
        ..CodecConfig::default()
    };
    let mut codec = Compressor::new(cfg);
    let mut out = [0u8; 512];
    // Split the input into pieces; the first byte of each picks the representation.
    for piece in data.split(|&b| b == 0xA5) {
        let Some((&sel, payload)) = piece.split_first() else {
            continue;
        };
        let repr = match sel % 5 {
            0 => Compression::Deflate,
            1 => Compression::Shared,
            2 => Compression::SharedRaw,
            3 => Compression::Dictionary(9),
            _ => Compression::Dictionary(sel),
        };
        let limit = usize::from(sel) % out.len() + 1;
        if let Ok(n) = codec.decompress(repr, payload, &mut out[..limit]) {
            assert!(n <= limit);
            if repr == Compression::Deflate {
                let mut again = [0u8; 512];
                let m = Compressor::new(cfg)
                    .decompress(repr, payload, &mut again[..limit])
                    .unwrap();
                assert_eq!(&out[..n], &again[..m]);
            }
        }
    }
});
