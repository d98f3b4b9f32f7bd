//! RAM of typical link configurations: README quotes these numbers (for this host; the
//! firmware size report prints the Cortex-M0 and M4F ones).

use ferrule::link::{frame_buffer_len, Link, RxSlot, TxSlot};
use std::mem::size_of;

#[test]
fn link_ram_is_what_the_docs_say() {
    let be = cfg!(feature = "best-effort");
    let small = Link::memory(4, 128, be);
    let medium = Link::memory(8, 256, be);
    let state = size_of::<Link<'static>>();
    println!(
        "Link: {state} B of state; TxSlot {} B, RxSlot {} B; W4 x M128: {small} B, W8 x M256: {medium} B",
        size_of::<TxSlot>(),
        size_of::<RxSlot>()
    );
    // Memory is the state plus what grows with the window and the message size.
    assert_eq!(
        small,
        state
            + 4 * (size_of::<TxSlot>() + size_of::<RxSlot>())
            + 2 * 4 * 128
            + frame_buffer_len(128)
            + if be { 256 } else { 0 }
    );
    assert!(medium > small);
    // Per slot: the message bytes each way and a few bytes of bookkeeping.
    assert!(size_of::<TxSlot>() <= 24 && size_of::<RxSlot>() <= 8);
}
