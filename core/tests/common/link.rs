//! Links for tests: leaked (`'static`) buffers, as a firmware's `static` would be, and the
//! pumps that move frames between two links.
#![allow(dead_code)]

use ferrule::link::{frame_buffer_len, Config, Link, LinkBuffers, RxSlot, TxSlot};

fn leak<T: Clone>(v: T, n: usize) -> &'static mut [T] {
    Box::leak(vec![v; n].into_boxed_slice())
}

/// Buffers for `w` messages of `m` bytes each way (with best-effort mailboxes).
pub fn buffers(w: usize, m: usize) -> LinkBuffers<'static> {
    LinkBuffers {
        tx_slots: leak(TxSlot::EMPTY, w).into(),
        rx_slots: leak(RxSlot::EMPTY, w).into(),
        tx_data: leak(0u8, w * m).into(),
        rx_data: leak(0u8, w * m).into(),
        frame: leak(0u8, frame_buffer_len(m)).into(),
        best_effort: leak(0u8, 2 * m).into(),
    }
}

/// A link of `w` messages of `m` bytes.
pub fn link(cfg: Config, seed: u64, w: usize, m: usize) -> Link<'static> {
    Link::new(cfg, seed, buffers(w, m)).unwrap()
}

/// Frames `from` has to send at `now`.
pub fn drain(from: &mut Link<'_>, now: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; from.max_frame_len()];
    while let Ok(Some(n)) = from.poll_transmit(now, &mut buf) {
        out.push(buf[..n].to_vec());
    }
    out
}

/// Moves datagrams both ways at `now` until neither side has anything to send.
pub fn pump(a: &mut Link<'_>, b: &mut Link<'_>, now: u64) {
    for _ in 0..16 {
        let ab = drain(a, now);
        let ba = drain(b, now);
        if ab.is_empty() && ba.is_empty() {
            return;
        }
        for d in ab {
            b.handle_datagram(&d, now);
        }
        for d in ba {
            a.handle_datagram(&d, now);
        }
    }
}

/// Runs the handshake over datagrams at time 0; both sides must come up.
pub fn handshake(a: &mut Link<'_>, b: &mut Link<'_>) {
    pump(a, b, 0);
    assert!(a.is_up() && b.is_up(), "handshake failed");
}
