//! Arbitrary payloads in every compressed representation, under every receive configuration
//! (window 2^8..2^15, dynamic blocks on or off, per-message and/or shared accepted): decoding
//! never panics, never writes past the output bound, refuses what the configuration does not
//! accept with the typed error, and a per-message success is reproducible from a fresh state.
#![no_main]

use ferrule::compress::{
    Codec, CodecConfig, Compressor, DecompressError, Dictionary, Inflater, Receive,
    DYNAMIC_TABLE_BYTES,
};
use ferrule::Compression;
use libfuzzer_sys::fuzz_target;

const DICT: &[u8] = b"{\"seq\":1,\"temp\":21.5,\"rh\":40.2,\"status\":\"ok\"}";

fn config(sel: u8) -> CodecConfig<'static> {
    CodecConfig {
        dictionary: Some(Dictionary { id: 9, bytes: DICT }),
        receive: Receive {
            per_message: sel & 1 != 0,
            shared: sel & 2 != 0,
            dynamic: sel & 4 != 0,
            window_bits: 8 + (sel >> 3) % 8,
        },
        ..CodecConfig::DEFAULT
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    let cfg = config(sel);
    let mut mem = vec![0u8; Compressor::storage_size(&cfg)];
    let mut codec = Compressor::new(cfg, &mut mem).unwrap();
    codec.reset_rx();
    let mut out = [0u8; 600];
    // Split the input into pieces; the first byte of each picks the representation and bound.
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
        let limit = usize::from(sel) * 2 % 512 + 1;
        out[limit..].fill(0xEE);
        let r = codec.decompress(repr, payload, &mut out[..limit]);
        assert!(
            out[limit..].iter().all(|&b| b == 0xEE),
            "wrote past the bound"
        );
        let accepted = match repr {
            Compression::Shared | Compression::SharedRaw => cfg.receive.shared,
            _ => cfg.receive.per_message,
        };
        match r {
            Ok(n) => {
                assert!(accepted && n <= limit);
                if repr == Compression::Deflate {
                    let mut again = [0u8; 600];
                    let mut fresh_mem = vec![0u8; Compressor::storage_size(&cfg)];
                    let m = Compressor::new(cfg, &mut fresh_mem)
                        .unwrap()
                        .decompress(repr, payload, &mut again[..limit])
                        .unwrap();
                    assert_eq!(&out[..n], &again[..m]);
                }
            }
            Err(DecompressError::Unsupported) => assert!(!accepted),
            Err(DecompressError::DynamicBlock) => assert!(!cfg.receive.dynamic),
            Err(DecompressError::UnknownDictionary(id)) => assert_ne!(id, 9),
            Err(_) => assert!(accepted),
        }
    }
    // The bare inflater with dynamic tables over the whole input.
    let mut tables = [0u8; DYNAMIC_TABLE_BYTES];
    let mut inflater = Inflater::with_dynamic(8 + sel % 8, &mut tables).unwrap();
    let mut big = [0u8; 4096];
    if let Ok(n) = inflater.inflate(data, &mut big) {
        assert!(n <= big.len());
    }
});
