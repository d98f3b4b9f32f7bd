//! Arbitrary messages through the heap-free compressor in every mode, window and peer
//! configuration, across message boundaries and window slides: the payload is never longer
//! than the message, only representations the peer announced are produced, and the peer's
//! codec (configured as announced) gives back exactly the message.
#![no_main]

use ferrule::compress::{Codec, CodecConfig, Compressor, Dictionary, Mode, Receive};
use ferrule::Compression;
use libfuzzer_sys::fuzz_target;

const DICT: &[u8] =
    b"{\"seq\":1,\"temp\":21.5,\"rh\":40.2,\"status\":\"ok\"}\n{\"seq\":2,\"temp\":21.6}";
const MODES: [Mode; 4] = [Mode::Off, Mode::PerMessage, Mode::Shared, Mode::Dictionary];

fuzz_target!(|data: &[u8]| {
    let Some((&[a, b], data)) = data.split_first_chunk::<2>() else {
        return;
    };
    let tx_cfg = CodecConfig {
        reliable: MODES[usize::from(a % 4)],
        unreliable: MODES[usize::from(a / 4 % 4)],
        dictionary: Some(Dictionary { id: 3, bytes: DICT }),
        send_window_bits: 8 + a / 16 % 3,
        ..CodecConfig::DEFAULT
    };
    let rx_cfg = CodecConfig {
        dictionary: Some(Dictionary {
            id: if b & 1 != 0 { 3 } else { 4 },
            bytes: DICT,
        }),
        receive: Receive {
            per_message: b & 2 != 0,
            shared: b & 4 != 0,
            dynamic: false,
            window_bits: 8 + (b >> 3) % 8,
        },
        ..CodecConfig::DEFAULT
    };
    let mut tx_mem = vec![0u8; Compressor::storage_size(&tx_cfg)];
    let mut rx_mem = vec![0u8; Compressor::storage_size(&rx_cfg)];
    let mut tx = Compressor::new(tx_cfg, &mut tx_mem).unwrap();
    let mut rx = Compressor::new(rx_cfg, &mut rx_mem).unwrap();
    let peer = rx.rx_caps();
    tx.start_tx(peer);
    rx.reset_rx();
    let mut wire = [0u8; 4096];
    let mut out = [0u8; 4096];
    // 0xA5 separates messages; the first byte of each picks the channel.
    for msg in data.split(|&b| b == 0xA5) {
        let reliable = msg.first().is_some_and(|&b| b & 1 != 0);
        let (repr, n) = tx.compress(reliable, msg, &mut wire);
        assert!(n <= msg.len());
        let announced = match repr {
            Compression::None => true,
            Compression::Deflate => peer.per_message,
            Compression::Shared | Compression::SharedRaw => peer.shared && reliable,
            Compression::Dictionary(id) => id == peer.dict_id,
        };
        assert!(announced, "{repr:?} not announced: {peer:?}");
        let m = rx.decompress(repr, &wire[..n], &mut out).unwrap();
        assert_eq!(&out[..m], msg);
    }
});
