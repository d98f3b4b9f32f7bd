//! Size probes: what each firmware profile costs in flash and RAM, and the stack every
//! constructor takes.
//!
//! Every profile is one exported function that really exercises that part of the stack (so
//! the linker keeps what a firmware would keep, and running it under QEMU proves the code
//! works on the target). `scripts/test-firmware.sh` links each one, alone, into the same
//! minimal C image and subtracts an image that calls [`probe_none`]; [`probe_state_bytes`]
//! gives the RAM a firmware would reserve (statically) for the profile's state.
//!
//! Profiles: framing (encoder, streaming decoder, CRC); framing and link (4 x 128 B window);
//! the link receiving compressed messages (inflate); the heap-free compressor both ways;
//! everything (compression, both channels, datagrams and streams); the link with AEAD (the
//! handshake's HMAC and HKDF, and ChaCha20-Poly1305 on every frame).
//!
//! [`stack`] holds one function per constructor, for the stack measurement
//! (`tests/firmware/stack_rust.c`).
//!
//! With a feature `alone-<profile>` only that profile is exported (besides [`probe_none`] and
//! [`probe_state_bytes`]): the library is then compiled as a firmware that uses only that part
//! of ferrule would be.
#![cfg_attr(target_os = "none", no_std)]

pub mod stack;

use ferrule::compress::DYNAMIC_TABLE_BYTES;
use ferrule::compress::{Codec, CodecConfig, Compressor, Deflater, End, Inflater, Mode, Receive};
use ferrule::link::{frame_buffer_len, max_frame_len, Config, Link, LinkStorage, Transport};
use ferrule::{encode_stream, max_stream_frame_len, Feed, Header, StreamDecoder, StreamOptions};

/// Message size of the link profiles.
pub const M: usize = 128;
/// Window of the link profiles.
pub const W: usize = 4;
/// The link's memory, in one value.
type Storage = LinkStorage<W, M, { frame_buffer_len(M) }>;
/// `poll_transmit`'s buffer: the largest frame a link of `M`-byte messages sends.
const WIRE: usize = max_frame_len(M);
/// The compact link's `poll_transmit` buffer (`CompactLink::max_frame_len` on a stream: no AEAD
/// tag or parity frame to make room for).
const CWIRE: usize = max_stream_frame_len(M);

/// The baseline: nothing of ferrule.
#[no_mangle]
pub extern "C" fn probe_none(seed: u32) -> u32 {
    seed
}

/// Framing only: encode one frame of `seed`-derived bytes, decode it, return the payload
/// length (64) when it round-trips byte for byte, 0 otherwise.
#[cfg_attr(any(not(feature = "alone"), feature = "alone-framing"), no_mangle)]
pub extern "C" fn probe_framing(seed: u32) -> u32 {
    let mut payload = [0u8; 64];
    fill(&mut payload, seed);
    let mut wire = [0u8; max_stream_frame_len(64)];
    let Ok(n) = encode_stream(
        &Header::data(3),
        &payload,
        StreamOptions::default(),
        &mut wire,
    ) else {
        return 0;
    };
    let mut dec = StreamDecoder::<{ frame_buffer_len(64) }>::new();
    match dec.feed(core::hint::black_box(wire.get(..n).unwrap_or_default())) {
        Feed::Frame { frame, .. } if same(frame.payload, &payload) => payload.len() as u32,
        _ => 0,
    }
}

/// Framing + reliable link, no compression: two endpoints exchange `count` messages each way
/// over an in-memory stream; returns the number delivered.
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn probe_link(count: u32) -> u32 {
    let (mut sa, mut sb) = (Storage::new(), Storage::new());
    let (Ok(mut a), Ok(mut b)) = (
        Link::new(cfg(Transport::Stream), 1, sa.buffers()),
        Link::new(cfg(Transport::Stream), 2, sb.buffers()),
    ) else {
        return 0;
    };
    exchange(&mut a, &mut b, count, false)
}

/// The compact link's memory (`ferrule::compact`, the same 4 x 128 B).
type CompactMem = ferrule::compact::CompactStorage<{ ferrule::compact::memory_len(W, M) }>;

/// Framing + the size-first compact link (`ferrule::compact`), the "framing + link" profile
/// with it in place of the full link: two endpoints exchange `count` messages each way over an
/// in-memory stream; returns the number delivered.
#[cfg_attr(any(not(feature = "alone"), feature = "alone-compact"), no_mangle)]
pub extern "C" fn probe_compact(count: u32) -> u32 {
    use ferrule::compact::{CompactConfig, CompactLink};
    let (mut sa, mut sb) = (CompactMem::new(), CompactMem::new());
    let cfg = CompactConfig {
        rto_initial: 50,
        ..CompactConfig::DEFAULT
    };
    let (Ok(mut a), Ok(mut b)) = (
        CompactLink::new(cfg, 1, sa.memory()),
        CompactLink::new(cfg, 2, sb.memory()),
    ) else {
        return 0;
    };
    compact::exchange(&mut a, &mut b, count)
}

/// `exchange` and its helpers for the compact link.
mod compact {
    use super::{head, message, same, CWIRE, M};
    use ferrule::compact::CompactLink;

    #[inline(never)]
    pub fn exchange(a: &mut CompactLink<'_>, b: &mut CompactLink<'_>, count: u32) -> u32 {
        let (mut sent_a, mut sent_b, mut got_a, mut got_b) = (0u32, 0u32, 0u32, 0u32);
        let mut wire = [0u8; CWIRE];
        for now in 0..20_000u64 {
            sent_a += offer(a, sent_a, count, 0xA, now);
            sent_b += offer(b, sent_b, count, 0xB, now);
            carry(a, b, &mut wire, now);
            carry(b, a, &mut wire, now);
            let (Some(ga), Some(gb)) = (drain(a, got_a, 0xB), drain(b, got_b, 0xA)) else {
                return 0;
            };
            (got_a, got_b) = (ga, gb);
            a.handle_timeout(now);
            b.handle_timeout(now);
            if got_a == count && got_b == count {
                break;
            }
        }
        got_a + got_b
    }

    #[inline(never)]
    fn offer(link: &mut CompactLink<'_>, sent: u32, count: u32, dir: u8, now: u64) -> u32 {
        let mut msg = [0u8; M];
        let n = message(sent, dir, &mut msg);
        u32::from(sent < count && link.is_up() && link.send(0, head(&msg, n), now).is_ok())
    }

    #[inline(never)]
    fn carry(
        from: &mut CompactLink<'_>,
        to: &mut CompactLink<'_>,
        wire: &mut [u8; CWIRE],
        now: u64,
    ) {
        while let Ok(Some(n)) = from.poll_transmit(now, wire) {
            to.handle_input(head(wire, n), now);
        }
    }

    #[inline(never)]
    fn drain(link: &mut CompactLink<'_>, mut got: u32, dir: u8) -> Option<u32> {
        let mut msg = [0u8; M];
        let mut expect = [0u8; M];
        while let Ok(Some(r)) = link.recv(&mut msg) {
            let n = message(got, dir, &mut expect);
            if !same(head(&msg, r.len), head(&expect, n)) {
                return None;
            }
            got += 1;
        }
        Some(got)
    }
}

/// What the firmware of `probe_inflate` decompresses (and sends raw).
const RECEIVE_ONLY: CodecConfig<'static> = CodecConfig::DEFAULT;
/// Shared stream both ways, 1 KiB windows.
const SHARED: CodecConfig<'static> = CodecConfig {
    reliable: Mode::Shared,
    ..CodecConfig::DEFAULT
};
/// Every mode: shared reliable, per-message best effort, dynamic blocks accepted.
const EVERYTHING: CodecConfig<'static> = CodecConfig {
    reliable: Mode::Shared,
    unreliable: Mode::PerMessage,
    receive: Receive {
        dynamic: true,
        ..Receive::DEFAULT
    },
    ..CodecConfig::DEFAULT
};

/// Framing + link + inflate: the firmware (`b`) receives compressed messages and sends raw
/// ones; its peer (`a`, the host's part) compresses. Both are linked in: report the
/// difference from `probe_compressor`.
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn probe_inflate(count: u32) -> u32 {
    let mut ma = [0u8; Compressor::storage_size(&SHARED)];
    let mut mb = [0u8; Compressor::storage_size(&RECEIVE_ONLY)];
    let (Ok(ca), Ok(cb)) = (
        Compressor::new(SHARED, &mut ma),
        Compressor::new(RECEIVE_ONLY, &mut mb),
    ) else {
        return 0;
    };
    with_codecs(ca, cb, count, Transport::Stream)
}

/// Framing + link + the heap-free compressor on both sides (shared-window stream).
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn probe_compressor(count: u32) -> u32 {
    let mut ma = [0u8; Compressor::storage_size(&SHARED)];
    let mut mb = [0u8; Compressor::storage_size(&SHARED)];
    let (Ok(ca), Ok(cb)) = (
        Compressor::new(SHARED, &mut ma),
        Compressor::new(SHARED, &mut mb),
    ) else {
        return 0;
    };
    with_codecs(ca, cb, count, Transport::Stream)
}

/// Everything but AEAD: compression in every mode, best-effort channel, stream and datagram
/// framing.
#[cfg_attr(any(not(feature = "alone"), feature = "alone-everything"), no_mangle)]
pub extern "C" fn probe_everything(count: u32) -> u32 {
    let mut delivered = 0;
    for transport in [Transport::Stream, Transport::Datagram] {
        let mut ma = [0u8; Compressor::storage_size(&EVERYTHING)];
        let mut mb = [0u8; Compressor::storage_size(&EVERYTHING)];
        let (Ok(ca), Ok(cb)) = (
            Compressor::new(EVERYTHING, &mut ma),
            Compressor::new(EVERYTHING, &mut mb),
        ) else {
            return 0;
        };
        delivered += with_codecs(ca, cb, count, transport);
    }
    delivered + probe_framing(count)
}

/// Two links with codecs `ca` and `cb` exchanging `count` messages each way.
#[inline(never)]
fn with_codecs(
    mut ca: Compressor<'_>,
    mut cb: Compressor<'_>,
    count: u32,
    transport: Transport,
) -> u32 {
    let (mut sa, mut sb) = (Storage::new(), Storage::new());
    let (Ok(mut a), Ok(mut b)) = (
        Link::new(cfg(transport), 1, sa.buffers()),
        Link::new(cfg(transport), 2, sb.buffers()),
    ) else {
        return 0;
    };
    a.set_codec(&mut ca as &mut dyn Codec);
    b.set_codec(&mut cb as &mut dyn Codec);
    exchange(&mut a, &mut b, count, transport == Transport::Datagram)
}

/// Framing + link + AEAD (feature `aead`): both endpoints make the authenticated handshake
/// (HMAC-SHA256 hellos, HKDF-SHA256 session keys) and seal every frame.
#[cfg(feature = "aead")]
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn probe_aead(count: u32) -> u32 {
    use ferrule::link::{Guard, Sealer};
    let key = [0x42; 32];
    let (mut ga, mut gb) = (Guard::new(1, &key), Guard::new(1, &key));
    let (mut sa, mut sb) = (Storage::new(), Storage::new());
    let (Ok(mut a), Ok(mut b)) = (
        Link::new(cfg(Transport::Stream), 1, sa.buffers()),
        Link::new(cfg(Transport::Stream), 2, sb.buffers()),
    ) else {
        return 0;
    };
    a.enable_aead(&mut ga as &mut dyn Sealer);
    b.enable_aead(&mut gb as &mut dyn Sealer);
    exchange(&mut a, &mut b, count, false)
}

/// The record the codec probes work on, four times over: 148 bytes.
const REC: &[u8] = b"{\"temp\":21.5,\"rh\":40.1,\"status\":\"ok\"}";

/// `REC` four times, as raw deflate from zlib (level 9): what a host sends.
const REC4_DEFLATED: [u8; 42] = [
    0xab, 0x56, 0x2a, 0x49, 0xcd, 0x2d, 0x50, 0xb2, 0x32, 0x32, 0xd4, 0x33, 0xd5, 0x51, 0x2a, 0xca,
    0x50, 0xb2, 0x32, 0x31, 0xd0, 0x33, 0xd4, 0x51, 0x2a, 0x2e, 0x49, 0x2c, 0x29, 0x2d, 0x56, 0xb2,
    0x52, 0xca, 0xcf, 0x56, 0xaa, 0xad, 0xa6, 0xaf, 0x22, 0x00,
];

fn rec4_matches(out: &[u8]) -> bool {
    out.len() == 4 * REC.len() && out.chunks(REC.len()).all(|c| c == REC)
}

/// Inflate alone, as firmware that only receives compressed data links it: inflates a
/// zlib-made stream (stored and fixed blocks need no memory; dynamic blocks take
/// `DYNAMIC_TABLE_BYTES` of tables) and returns its length (148) when it is exact.
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn probe_inflate_alone(_: u32) -> u32 {
    let mut tables = [0u8; DYNAMIC_TABLE_BYTES];
    let Ok(mut inflater) = Inflater::with_dynamic(10, &mut tables) else {
        return 0;
    };
    let mut out = [0u8; 256];
    match inflater.inflate(core::hint::black_box(&REC4_DEFLATED), &mut out) {
        Ok(n) if rec4_matches(head(&out, n)) => n as u32,
        _ => 0,
    }
}

/// The heap-free compressor alone: compresses 148 bytes of telemetry; returns 1 when the
/// output is a smaller, complete raw-deflate stream.
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn probe_deflate_alone(_: u32) -> u32 {
    let mut msg = [0u8; 148];
    for (i, b) in msg.iter_mut().enumerate() {
        *b = REC[i % REC.len()];
    }
    let mut mem = [0u8; Deflater::storage_size(10)];
    let Ok(mut deflater) = Deflater::new(10, &mut mem) else {
        return 0;
    };
    let mut out = [0u8; 148];
    match deflater.compress(core::hint::black_box(&msg), End::Final, &mut out) {
        Ok(n) => u32::from(n > 0 && n < msg.len()),
        Err(_) => 0,
    }
}

/// Bytes of state one endpoint of `profile` keeps (0 none, 1 framing, 2 link, 3 inflate,
/// 4 compressor, 5 everything, 6 link + AEAD, 7 inflate alone, 8 deflate alone), for a
/// `static` in the firmware: the link's memory ([`Link::memory`], which includes the `Link`
/// value), the codec and its memory, the guard, and `poll_transmit`'s buffer.
#[no_mangle]
pub extern "C" fn probe_state_bytes(profile: u32) -> u32 {
    use core::mem::size_of;
    let link = Link::memory(W, M, cfg!(feature = "best-effort")) + WIRE;
    let codec =
        |c: &CodecConfig<'_>| size_of::<Compressor<'static>>() + Compressor::storage_size(c);
    let n = match profile {
        1 => size_of::<StreamDecoder<{ frame_buffer_len(64) }>>() + max_stream_frame_len(64),
        2 => link,
        3 => link + codec(&RECEIVE_ONLY),
        4 => link + codec(&SHARED),
        5 => link + codec(&EVERYTHING),
        #[cfg(feature = "aead")]
        6 => link + size_of::<ferrule::link::Guard>(),
        7 => size_of::<Inflater<'static>>() + DYNAMIC_TABLE_BYTES,
        8 => size_of::<Deflater<'static>>() + Deflater::storage_size(10),
        9 => size_of::<ferrule::compact::CompactLink<'static>>() + size_of::<CompactMem>() + CWIRE,
        _ => 0,
    };
    n as u32
}

fn cfg(transport: Transport) -> Config {
    Config {
        transport,
        rto_initial: 50,
        ..Config::default()
    }
}

fn fill(buf: &mut [u8], seed: u32) {
    let mut x = seed | 1;
    for b in buf {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
}

/// Message `i` of direction `dir`: a pattern of period 16 (so compression has work to do)
/// keyed by both, and a length that varies with `i`.
#[inline(never)]
fn message(i: u32, dir: u8, out: &mut [u8; M]) -> usize {
    let len = 8 + (i as usize * 37) % (M - 8);
    let tag = (i as u8).wrapping_mul(16).wrapping_add(dir);
    for (k, b) in out.iter_mut().enumerate().take(len) {
        *b = tag ^ (k as u8 & 15);
    }
    len
}

/// `a == b` as a byte loop: the framing probe then links no `memcmp` of its own.
fn same(a: &[u8], b: &[u8]) -> bool {
    (0..a.len().max(b.len())).all(|i| a.get(i) == b.get(i))
}

/// The first `n` bytes of `buf` (all of it if shorter), without a panic path: the probes
/// measure ferrule, not the harness's bounds-check panics.
fn head(buf: &[u8], n: usize) -> &[u8] {
    buf.get(..n).unwrap_or(buf)
}

/// Runs both endpoints on a virtual clock until each has delivered `count` messages from the
/// other (or time runs out); returns the total delivered intact and in order.
#[inline(never)]
fn exchange(a: &mut Link<'_>, b: &mut Link<'_>, count: u32, datagrams: bool) -> u32 {
    let (mut sent_a, mut sent_b, mut got_a, mut got_b) = (0u32, 0u32, 0u32, 0u32);
    let mut wire = [0u8; WIRE];
    for now in 0..20_000u64 {
        sent_a += offer(a, sent_a, count, 0xA, now);
        sent_b += offer(b, sent_b, count, 0xB, now);
        carry(a, b, &mut wire, datagrams, now);
        carry(b, a, &mut wire, datagrams, now);
        let (Some(ga), Some(gb)) = (drain(a, got_a, 0xB), drain(b, got_b, 0xA)) else {
            return 0;
        };
        (got_a, got_b) = (ga, gb);
        a.handle_timeout(now);
        b.handle_timeout(now);
        if got_a == count && got_b == count {
            break;
        }
    }
    got_a + got_b
}

/// Offers message `sent` (of direction `dir`) to `link` unless `count` were sent; returns 1
/// when it was accepted.
#[inline(never)]
fn offer(link: &mut Link<'_>, sent: u32, count: u32, dir: u8, now: u64) -> u32 {
    let mut msg = [0u8; M];
    let n = message(sent, dir, &mut msg);
    u32::from(sent < count && link.is_up() && link.send(0, head(&msg, n), now).is_ok())
}

/// Moves every frame `from` has to send into `to`.
#[inline(never)]
fn carry(from: &mut Link<'_>, to: &mut Link<'_>, wire: &mut [u8; WIRE], datagrams: bool, now: u64) {
    while let Ok(Some(n)) = from.poll_transmit(now, wire) {
        if datagrams {
            to.handle_datagram(head(wire, n), now);
        } else {
            to.handle_input(head(wire, n), now);
        }
    }
}

/// Receives every message `link` has, checking each against the next expected message of
/// direction `dir`; returns the new count of messages received, `None` on a mismatch.
#[inline(never)]
fn drain(link: &mut Link<'_>, mut got: u32, dir: u8) -> Option<u32> {
    let mut msg = [0u8; M];
    let mut expect = [0u8; M];
    while let Ok(Some(r)) = link.recv(&mut msg) {
        let n = message(got, dir, &mut expect);
        if !same(head(&msg, r.len), head(&expect, n)) {
            return None;
        }
        got += 1;
    }
    Some(got)
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_works() {
        assert_eq!(probe_none(7), 7);
        assert_eq!(probe_framing(7), 64);
        assert_eq!(probe_link(50), 100);
        assert_eq!(probe_compact(50), 100);
        assert_eq!(probe_inflate(50), 100);
        assert_eq!(probe_compressor(50), 100);
        assert_eq!(probe_everything(50), 264);
        assert_eq!(probe_inflate_alone(0), 148);
        assert_eq!(probe_deflate_alone(0), 1);
        for p in [1, 2, 3, 4, 5, 7, 8] {
            assert!(probe_state_bytes(p) > 0);
        }
        assert!(probe_state_bytes(2) < probe_state_bytes(3));
        assert!(probe_state_bytes(3) < probe_state_bytes(4));
    }

    #[cfg(feature = "aead")]
    #[test]
    fn sealed_profile_works() {
        assert_eq!(probe_aead(50), 100);
        assert!(probe_state_bytes(6) > probe_state_bytes(2));
    }

    #[test]
    fn every_constructor_builds() {
        assert_eq!(stack::stack_all(), stack::ALL);
    }
}
