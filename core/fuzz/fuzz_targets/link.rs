//! Two links driven by arbitrary operations: sends, deliveries, drops, corruption,
//! duplication, injected garbage, clock jumps, reads; with and without AEAD (where forged,
//! CRC-valid junk is injected too) and forward error correction; with the best-effort channel
//! on both sides, or on one side only, and turned on (or moved) while traffic runs.
//! Invariants: no panic; every reliable message delivered at most once, in order,
//! byte-identical; best-effort messages never duplicated or corrupted.
#![no_main]

use ferrule::compress::{CodecConfig, Compressor, Mode};
use ferrule::link::{Config, Fec, Guard, Link, LinkBuffers};
use libfuzzer_sys::fuzz_target;

#[path = "endpoint.rs"]
mod endpoint;
use endpoint::{Mem, FEC};
use std::collections::{HashSet, VecDeque};

const M: usize = 64;
/// How long a frame can stay in flight, like a datagram's maximum segment lifetime.
const MAX_LIFETIME_MS: u64 = 2_000;
type L<'m> = Link<'m>;

const CODEC: CodecConfig<'static> = CodecConfig {
    reliable: Mode::Shared,
    unreliable: Mode::PerMessage,
    ..CodecConfig::DEFAULT
};
/// A link of 4 messages of up to `M` bytes each way with shared compression, sealed, with FEC
/// and with the best-effort channel as asked.
fn link(
    cfg: Config,
    seed: u64,
    sealed: bool,
    fec: bool,
    best_effort: bool,
    mem: &mut Mem,
) -> L<'_> {
    let mut l = Link::new(cfg, seed, LinkBuffers::alloc(4, M, best_effort)).unwrap();
    let codec = Compressor::new(CODEC, &mut mem.codec).unwrap();
    l.set_codec(Box::new(codec) as Box<dyn ferrule::compress::Codec>);
    if sealed {
        l.enable_aead(Box::new(Guard::new(1, &[7; 32])) as Box<dyn ferrule::link::Sealer>);
    }
    if fec {
        let f = Fec::new(FEC, M, &mut mem.fec).unwrap();
        l.enable_fec(Box::new(f) as Box<dyn ferrule::link::Repair>);
    }
    l
}

fn message(idx: u32, dir: u8) -> Vec<u8> {
    let mut m = idx.to_le_bytes().to_vec();
    m.push(dir);
    let len = 5 + (idx as usize * 7) % (M - 5);
    while m.len() < len {
        m.extend_from_slice(b"temp=21.5;");
    }
    m.truncate(len);
    m
}

struct End<'m> {
    link: L<'m>,
    dir: u8,
    next: u32,
    last_reliable: Option<u32>,
    unreliable: HashSet<u32>,
    /// Frames in flight with the time they were sent.
    wire: VecDeque<(u64, Vec<u8>)>,
}

fuzz_target!(|data: &[u8]| {
    let stream = data.first().is_some_and(|b| b & 1 == 1);
    let sealed = data.first().is_some_and(|b| b & 2 == 2);
    let fec = data.first().is_some_and(|b| b & 4 == 4);
    // Side B starts without the best-effort channel (op 12 may turn it on later).
    let b_best_effort = !data.first().is_some_and(|b| b & 8 == 8);
    let cfg = endpoint::config(stream, 100);
    let (mut mem_a, mut mem_b) = (Mem::new(&CODEC, M), Mem::new(&CODEC, M));
    let mut ends = [
        End {
            link: link(cfg, 1, sealed, fec, true, &mut mem_a),
            dir: 0xA,
            next: 0,
            last_reliable: None,
            unreliable: HashSet::new(),
            wire: VecDeque::new(),
        },
        End {
            link: link(cfg, 2, sealed, fec, b_best_effort, &mut mem_b),
            dir: 0xB,
            next: 0,
            last_reliable: None,
            unreliable: HashSet::new(),
            wire: VecDeque::new(),
        },
    ];
    let mut now: u64 = 0;
    let mut buf = vec![0u8; ends[0].link.max_frame_len()];
    let mut rx = [0u8; M];
    let mut ops = data.iter().skip(1);
    while let Some(&op) = ops.next() {
        let s = usize::from(op >> 7);
        let o = 1 - s;
        match op & 0x0F {
            0 | 1 => {
                let e = &mut ends[s];
                let ch = if op & 0x10 != 0 { 1 } else { 0 };
                if e.link.send(ch, &message(e.next, e.dir), now).is_ok() {
                    e.next += 1;
                }
            }
            2..=5 => {
                // Transmit everything due, then deliver the oldest frame in flight.
                while let Ok(Some(n)) = ends[s].link.poll_transmit(now, &mut buf) {
                    if ends[s].wire.len() < 64 {
                        ends[s].wire.push_back((now, buf[..n].to_vec()));
                    }
                }
                // A network does not keep a datagram forever (IP TTL): older ones are gone.
                while ends[s]
                    .wire
                    .front()
                    .is_some_and(|(t, _)| now - t > MAX_LIFETIME_MS)
                {
                    ends[s].wire.pop_front();
                }
                if let Some((sent, mut f)) = ends[s].wire.pop_front() {
                    match op & 0x0F {
                        3 => continue, // dropped
                        4 => {
                            let at = usize::from(*ops.next().unwrap_or(&0)) % f.len();
                            f[at] ^= 1 << (op >> 4 & 7);
                        }
                        5 => ends[s].wire.push_back((sent, f.clone())), // duplicated later
                        _ => {}
                    }
                    if stream {
                        ends[o].link.handle_input(&f, now);
                    } else {
                        ends[o].link.handle_datagram(&f, now);
                    }
                }
            }
            6 => {
                let n = usize::from(*ops.next().unwrap_or(&0)) % 16;
                let junk: Vec<u8> = ops.by_ref().take(n).copied().collect();
                // Line noise, not forgery: the fuzzer can solve a CRC comparison, so junk that
                // happens to hold a valid frame is not injected (CRC is not authentication;
                // that is the `aead` feature's job).
                let forged = if stream {
                    let mut d = ferrule::StreamDecoder::<256>::new();
                    let mut rest = &junk[..];
                    let mut found = false;
                    loop {
                        match d.feed(rest) {
                            ferrule::Feed::Consumed => break,
                            ferrule::Feed::Frame { .. } => {
                                found = true;
                                break;
                            }
                            ferrule::Feed::Rejected { rest: r, .. } => rest = r,
                        }
                    }
                    found
                } else {
                    ferrule::decode_datagram(&junk).is_ok()
                };
                if forged && !sealed {
                    continue;
                }
                if stream {
                    ends[o].link.handle_input(&junk, now);
                } else {
                    ends[o].link.handle_datagram(&junk, now);
                }
            }
            7 => now += u64::from(*ops.next().unwrap_or(&1)) * 10,
            8 => now += 1 + u64::from(op >> 4) * 1000,
            9 => ends[s].link.handle_timeout(now),
            10 => while ends[s].link.poll_event().is_some() {},
            12 => {
                // The channel turned on, or moved to new memory: the session restarts.
                let area = vec![0u8; 2 * M];
                ends[s].link.enable_best_effort(area).unwrap();
            }
            _ => {
                let other = ends[o].dir;
                let e = &mut ends[s];
                while let Ok(Some(r)) = e.link.recv(&mut rx) {
                    let m = &rx[..r.len];
                    let idx = u32::from_le_bytes(m[..4].try_into().unwrap());
                    assert_eq!(m, message(idx, other).as_slice(), "corrupted delivery");
                    if r.reliable {
                        assert!(
                            e.last_reliable.is_none_or(|l| idx > l),
                            "reliable {idx} out of order or duplicated"
                        );
                        e.last_reliable = Some(idx);
                    } else {
                        assert!(e.unreliable.insert(idx), "best-effort duplicate {idx}");
                    }
                }
            }
        }
        if let Some(t) = ends[s].link.poll_timeout() {
            if t <= now {
                ends[s].link.handle_timeout(now);
            }
        }
    }
});
