//! Size probes: what each firmware profile costs in flash and RAM.
//!
//! Every profile is one exported function that really exercises that part of the stack (so
//! the linker keeps what a firmware would keep, and running it under QEMU proves the code
//! works on the target). `scripts/test-firmware.sh` links each one, alone, into the same
//! minimal C image and subtracts an image that calls [`probe_none`]; [`probe_state_bytes`]
//! gives the RAM a firmware would reserve (statically) for the profile's state.
//!
//! Profiles: framing (encoder, streaming decoder, CRC); framing and link (4 x 128 B window);
//! the link receiving compressed messages (inflate); the heap-free compressor both ways;
//! everything (compression, both channels, datagrams and streams).
#![cfg_attr(target_os = "none", no_std)]

use ferrule::compress::{Codec, CodecConfig, Compressor, Deflater, End, InflateOnly, Inflater};
use ferrule::compress::{Mode, NoCodec};
use ferrule::link::{frame_buffer_len, Config, Link, Transport};
use ferrule::{encode_stream, max_stream_frame_len, Feed, Header, StreamDecoder, StreamOptions};

/// Message size of the link profiles.
pub const M: usize = 128;
/// Window of the link profiles.
pub const W: usize = 4;
const F: usize = frame_buffer_len(M);
const FRAME: usize = max_stream_frame_len(M);

type Plain = Link<W, M, F, NoCodec>;
type Receiving = Link<W, M, F, InflateOnly<'static>>;
type Packed = Link<W, M, F, Compressor<'static>>;
/// Room for the AEAD tag, so sealed messages keep `M` bytes.
#[cfg(feature = "aead")]
type Sealed = Link<W, M, { F + 16 }, NoCodec>;
/// Output buffer for every profile's frames (the sealed ones are the largest).
const WIRE: usize = FRAME + 32;

/// The baseline: nothing of ferrule.
#[no_mangle]
pub extern "C" fn probe_none(seed: u32) -> u32 {
    seed
}

/// Framing only: encode one frame of `seed`-derived bytes, decode it, return the payload
/// length (64) when it round-trips byte for byte, 0 otherwise.
#[no_mangle]
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
#[no_mangle]
pub extern "C" fn probe_link(count: u32) -> u32 {
    let mut a = plain(1);
    let mut b = plain(2);
    exchange(&mut a, &mut b, count)
}

/// One endpoint of `probe_link` (a function, so the image holds one copy of its setup).
#[inline(never)]
fn plain(seed: u32) -> Plain {
    Plain::new(cfg(), seed)
}

/// Framing + link + inflate: the firmware receives compressed messages and sends raw ones.
#[no_mangle]
pub extern "C" fn probe_inflate(count: u32) -> u32 {
    // The peer (a host, here simulated by a full codec) compresses; only `b`'s side is the
    // firmware's, but both are linked in: report the difference from `probe_compressor`.
    let mut a = Packed::with_codec(cfg(), 1, Compressor::new(shared()));
    let mut b = Receiving::with_codec(cfg(), 2, InflateOnly::new(None));
    exchange(&mut a, &mut b, count)
}

/// Framing + link + the heap-free compressor on both sides (shared-window stream).
#[no_mangle]
pub extern "C" fn probe_compressor(count: u32) -> u32 {
    let mut a = Packed::with_codec(cfg(), 1, Compressor::new(shared()));
    let mut b = Packed::with_codec(cfg(), 2, Compressor::new(shared()));
    exchange(&mut a, &mut b, count)
}

/// Everything: compression in every mode, best-effort channel, stream and datagram framing.
#[no_mangle]
pub extern "C" fn probe_everything(count: u32) -> u32 {
    let codec = CodecConfig {
        reliable: Mode::Shared,
        unreliable: Mode::PerMessage,
        dictionary: None,
    };
    let mut delivered = 0;
    for transport in [Transport::Stream, Transport::Datagram] {
        let cfg = Config { transport, ..cfg() };
        let mut a = Packed::with_codec(cfg, 1, Compressor::new(codec));
        let mut b = Packed::with_codec(cfg, 2, Compressor::new(codec));
        delivered += exchange_over(&mut a, &mut b, count, transport == Transport::Datagram);
    }
    delivered + probe_framing(count)
}

/// Framing + link + AEAD (feature `aead`): both endpoints seal every frame.
#[cfg(feature = "aead")]
#[no_mangle]
pub extern "C" fn probe_aead(count: u32) -> u32 {
    let mut a = Sealed::new(cfg(), 1);
    let mut b = Sealed::new(cfg(), 2);
    let key = [0x42; 32];
    if a.set_key(1, &key, 0).is_err() || b.set_key(1, &key, 0).is_err() {
        return 0;
    }
    exchange(&mut a, &mut b, count)
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

/// Inflate alone (`miniz_oxide`, no heap), as firmware that only receives compressed data
/// links it: inflates a zlib-made stream and returns its length (148) when it is exact.
#[no_mangle]
pub extern "C" fn probe_inflate_alone(_: u32) -> u32 {
    let mut inflater = Inflater::new();
    let mut out = [0u8; 256];
    match inflater.inflate(core::hint::black_box(&REC4_DEFLATED), &mut out) {
        Ok(n) if rec4_matches(&out[..n]) => n as u32,
        _ => 0,
    }
}

/// The heap-free compressor alone: compresses 148 bytes of telemetry; returns 1 when the
/// output is a smaller, complete raw-deflate stream.
#[no_mangle]
pub extern "C" fn probe_deflate_alone(_: u32) -> u32 {
    let mut msg = [0u8; 148];
    for (i, b) in msg.iter_mut().enumerate() {
        *b = REC[i % REC.len()];
    }
    let mut deflater = Deflater::new();
    let mut out = [0u8; 148];
    match deflater.compress(core::hint::black_box(&msg), End::Final, &mut out) {
        Ok(n) => u32::from(n > 0 && n < msg.len()),
        Err(_) => 0,
    }
}

/// Bytes of state one endpoint of `profile` keeps (0 none, 1 framing, 2 link, 3 inflate,
/// 4 compressor, 5 everything, 6 link + AEAD, 7 inflate alone, 8 deflate alone), for a
/// `static` in the firmware.
#[no_mangle]
pub extern "C" fn probe_state_bytes(profile: u32) -> u32 {
    let n = match profile {
        1 => core::mem::size_of::<StreamDecoder<F>>() + FRAME,
        2 => core::mem::size_of::<Plain>() + FRAME,
        3 => core::mem::size_of::<Receiving>() + FRAME,
        4 | 5 => core::mem::size_of::<Packed>() + FRAME,
        #[cfg(feature = "aead")]
        6 => core::mem::size_of::<Sealed>() + Sealed::MAX_FRAME,
        7 => core::mem::size_of::<Inflater>(),
        8 => core::mem::size_of::<Deflater>(),
        _ => 0,
    };
    n as u32
}

fn cfg() -> Config {
    Config {
        transport: Transport::Stream,
        rto_initial: 50,
        ..Config::default()
    }
}

fn shared() -> CodecConfig<'static> {
    CodecConfig {
        reliable: Mode::Shared,
        unreliable: Mode::PerMessage,
        dictionary: None,
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

/// Runs both endpoints over a stream on a virtual clock until each has delivered `count`
/// messages from the other (or time runs out); returns the total delivered intact and in order.
fn exchange<const W: usize, const F: usize, CA: Codec, CB: Codec>(
    a: &mut Link<W, M, F, CA>,
    b: &mut Link<W, M, F, CB>,
    count: u32,
) -> u32 {
    exchange_over(a, b, count, false)
}

fn exchange_over<const W: usize, const F: usize, CA: Codec, CB: Codec>(
    a: &mut Link<W, M, F, CA>,
    b: &mut Link<W, M, F, CB>,
    count: u32,
    datagrams: bool,
) -> u32 {
    // Each step is one function per pair of endpoint types, called for both directions: the
    // image then holds one copy of the harness, as a firmware holds one endpoint.
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
fn offer<const W: usize, const F: usize, C: Codec>(
    link: &mut Link<W, M, F, C>,
    sent: u32,
    count: u32,
    dir: u8,
    now: u64,
) -> u32 {
    let mut msg = [0u8; M];
    let n = message(sent, dir, &mut msg);
    u32::from(sent < count && link.send(0, head(&msg, n), now).is_ok())
}

/// Moves every frame `from` has to send into `to`.
#[inline(never)]
fn carry<const W: usize, const F: usize, CA: Codec, CB: Codec>(
    from: &mut Link<W, M, F, CA>,
    to: &mut Link<W, M, F, CB>,
    wire: &mut [u8; WIRE],
    datagrams: bool,
    now: u64,
) {
    while let Ok(Some(n)) = from.poll_transmit(now, wire) {
        if datagrams {
            to.handle_datagram(head(wire, n), now);
        } else {
            to.handle_input(head(wire, n), now);
        }
    }
}

/// Receives every message `link` has, checking each against the next expected
/// message of direction `dir`; returns the new count of messages received, `None` on a mismatch.
#[inline(never)]
fn drain<const W: usize, const F: usize, C: Codec>(
    link: &mut Link<W, M, F, C>,
    mut got: u32,
    dir: u8,
) -> Option<u32> {
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
        assert_eq!(probe_inflate(50), 100);
        assert_eq!(probe_compressor(50), 100);
        assert_eq!(probe_everything(50), 264);
        assert_eq!(probe_inflate_alone(0), 148);
        assert_eq!(probe_deflate_alone(0), 1);
        for p in [1, 2, 3, 4, 5, 7, 8] {
            assert!(probe_state_bytes(p) > 0);
        }
        assert!(probe_state_bytes(2) < probe_state_bytes(3));
    }

    #[cfg(feature = "aead")]
    #[test]
    fn sealed_profile_works() {
        assert_eq!(probe_aead(50), 100);
        assert!(probe_state_bytes(6) > probe_state_bytes(2));
    }
}
