//! RAM of typical link configurations: `docs` and README quote these numbers.

use ferrule::link::{frame_buffer_len, Link};
use std::mem::size_of;

type Small = Link<4, 128, { frame_buffer_len(128) }>;
type Medium = Link<8, 256, { frame_buffer_len(256) }>;

/// Fixed part (state, counters, decoder bookkeeping) plus, per window slot, one send slot
/// (message + 24 B) and one receive slot (message + 4 B), plus best-effort send and receive
/// mailboxes and the stream decoder's buffer.
const fn bound(w: usize, m: usize) -> usize {
    1024 + w * (m + 32) + w * (m + 4) + 2 * (m + 4) + frame_buffer_len(m)
}

#[test]
fn link_ram_is_what_the_docs_say() {
    let small = size_of::<Small>();
    let medium = size_of::<Medium>();
    println!("Link<4, 128>: {small} B, Link<8, 256>: {medium} B");
    assert!(small <= bound(4, 128), "{small}");
    assert!(medium <= bound(8, 256), "{medium}");
    // Memory grows with the window and message size only: linear in W and M.
    assert!(medium > small);
    // Feature `aead` adds two keys, the nonce state and the replay window (112 B).
    let aead = if cfg!(feature = "aead") { 112 } else { 0 };
    // Feature `best-effort` (default) adds the two mailboxes (M + 6 B each) and 12 B of
    // sequence state: 280 B at M = 128.
    let best_effort = |m: usize| {
        if cfg!(feature = "best-effort") {
            2 * (m + 6) + 12
        } else {
            0
        }
    };
    assert_eq!(
        small,
        1864 + best_effort(128) + aead,
        "update README.md 'Memory' if this changes"
    );
    assert_eq!(
        medium,
        5168 + best_effort(256) + aead,
        "update README.md 'Memory' if this changes"
    );
}

#[test]
fn codec_ram_is_what_the_docs_say() {
    use ferrule::compress::{CodecConfig, Compressor, Deflater, Mode, Receive};
    let shared_both_ways = Compressor::storage_size(&CodecConfig {
        reliable: Mode::Shared,
        ..CodecConfig::DEFAULT
    });
    let receive_only = Compressor::storage_size(&CodecConfig::DEFAULT);
    let per_message_receive_only = Compressor::storage_size(&CodecConfig {
        receive: Receive {
            shared: false,
            ..Receive::DEFAULT
        },
        ..CodecConfig::DEFAULT
    });
    let deflater = Deflater::storage_size(10);
    println!(
        "Deflater: {deflater} B, shared both ways: {shared_both_ways} B, receive-only: \
         {receive_only} B ({per_message_receive_only} B without the shared stream)"
    );
    assert_eq!(
        (
            deflater,
            shared_both_ways,
            receive_only,
            per_message_receive_only
        ),
        (3712, 4736, 1024, 0),
        "update README.md 'Memory' if this changes"
    );
}
