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
    use ferrule::compress::{Compressor, Deflater, InflateOnly};
    let (deflater, full, inflate) = (
        Deflater::STATE_BYTES,
        Compressor::STATE_BYTES,
        InflateOnly::STATE_BYTES,
    );
    println!("Deflater: {deflater} B, Compressor: {full} B, InflateOnly: {inflate} B");
    // The heap-free compressor's budget: 4 KiB.
    assert!(deflater <= 4096, "{deflater}");
    assert_eq!(
        (deflater, full, inflate),
        (3846, 20344, 12640),
        "update README.md 'Memory' if this changes"
    );
}
