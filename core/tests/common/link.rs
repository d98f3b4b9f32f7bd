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

/// Every event `l` has queued, oldest first.
pub fn events(l: &mut Link<'_>) -> Vec<ferrule::link::Event> {
    core::iter::from_fn(|| l.poll_event()).collect()
}

/// Runs the handshake over datagrams at time 0; both sides must come up.
pub fn handshake(a: &mut Link<'_>, b: &mut Link<'_>) {
    pump(a, b, 0);
    assert!(a.is_up() && b.is_up(), "handshake failed");
}

/// A datagram link of `w` messages of `m` bytes sealed with pre-shared key `key` (id `id`).
#[cfg(feature = "aead")]
pub fn sealed(cfg: Config, seed: u64, id: u8, key: &[u8; 32], w: usize, m: usize) -> Link<'static> {
    let mut l = link(cfg, seed, w, m);
    let guard = Box::leak(Box::new(ferrule::link::Guard::new(id, key)));
    l.enable_aead(guard as &mut dyn ferrule::link::Sealer);
    l
}

/// Every message `l` has to deliver.
pub fn received(l: &mut Link<'_>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; l.max_message()];
    while let Ok(Some(r)) = l.recv(&mut buf) {
        out.push(buf[..r.len].to_vec());
    }
    out
}

/// Every reason a received frame can be dropped, summed (framing rejects included).
pub fn rejects(s: &ferrule::link::LinkStats) -> u32 {
    s.framing.rejected()
        + s.stale_session
        + s.untagged
        + s.not_negotiated
        + s.reflected
        + s.unexpected
        + s.auth_failed
        + s.unknown_key
        + s.replayed
        + s.too_old
        + s.unauthenticated
        + s.bad_ack
}

/// A body with its CRC-32C appended (what a forger on the line sends).
pub fn with_crc(body: &[u8]) -> Vec<u8> {
    let mut v = body.to_vec();
    v.extend_from_slice(&ferrule::crc::crc32c(body).to_le_bytes());
    v
}

/// The frame's header, decoded from either framing.
pub fn header(f: &[u8], stream: bool) -> ferrule::Header {
    if stream {
        let mut body = vec![0u8; f.len()];
        let n = ferrule::cobs::decode(&f[..f.len() - 1], &mut body).unwrap();
        ferrule::Frame::from_body(&body[..n]).unwrap().header
    } else {
        ferrule::Frame::from_body(f).unwrap().header
    }
}

/// A frame from the line into `l`, by its framing.
pub fn feed(l: &mut Link<'_>, f: &[u8], now: u64, stream: bool) {
    if stream {
        l.handle_input(f, now)
    } else {
        l.handle_datagram(f, now)
    }
}

/// Runs the handshake over either framing (every frame delivered, milliseconds 0 to 3); both
/// sides must come up.
pub fn handshake_over(a: &mut Link<'_>, b: &mut Link<'_>, stream: bool) {
    for now in 0..4 {
        for f in drain(a, now) {
            feed(b, &f, now, stream);
        }
        for f in drain(b, now) {
            feed(a, &f, now, stream);
        }
    }
    assert!(a.is_up() && b.is_up(), "handshake failed");
}
