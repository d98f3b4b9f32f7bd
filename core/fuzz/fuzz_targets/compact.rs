//! The compact link (`ferrule::compact`) against the full `Link`, driven by arbitrary
//! operations: sends, deliveries, drops, corruption, duplication, injected garbage, clock
//! jumps, reads, closes, over a stream or datagrams. Invariants: no panic; every message
//! delivered at most once, in order, byte-identical (each side numbers its messages across
//! sessions, so a receiver only ever sees increasing numbers). The first byte also says
//! whether each side has a shared-window codec (`set_codec`): compressed frames then cross the
//! same faults, and a message that does not decompress is only reported, never delivered.
#![no_main]

use ferrule::compact::{memory_len, CompactConfig, CompactLink};
use ferrule::compress::{Codec, CodecConfig, Compressor, Mode};
use ferrule::link::{Config, Link, LinkBuffers, RecvError, Transport};
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;

const W: usize = 4;
const M: usize = 64;

fn message(idx: u32, dir: u8) -> Vec<u8> {
    let mut m = idx.to_le_bytes().to_vec();
    m.push(dir);
    let len = 5 + (idx as usize * 7) % (M - 5);
    while m.len() < len {
        m.push((m.len() as u8) ^ dir);
    }
    m
}

/// Checks a delivered message: from the other direction, a later number than the last one,
/// byte-identical.
fn check(got: &[u8], dir: u8, last: &mut Option<u32>) {
    assert!(got.len() >= 5);
    let idx = u32::from_le_bytes(got[..4].try_into().unwrap());
    assert_eq!(got, &message(idx, dir)[..]);
    if let Some(l) = *last {
        assert!(idx > l, "{idx} after {l}");
    }
    *last = Some(idx);
}

fuzz_target!(|data: &[u8]| {
    let stream = data.first().is_some_and(|b| b & 1 == 1);
    let transport = if stream {
        Transport::Stream
    } else {
        Transport::Datagram
    };
    let cfg = Config {
        transport,
        rto_initial: 100,
        rto_min: 10,
        rto_max: 400,
        keepalive: 200,
        ..Config::default()
    };
    let ccfg = CompactConfig {
        transport,
        window: W as u8,
        max_message: M as u16,
        rto_initial: 100,
        rto_min: 10,
        rto_max: 400,
        keepalive: 200,
        ..CompactConfig::DEFAULT
    };
    let zcfg = CodecConfig {
        reliable: Mode::Shared,
        ..CodecConfig::DEFAULT
    };
    let (mut zmem_c, mut zmem_f) = (
        vec![0u8; Compressor::storage_size(&zcfg)],
        vec![0u8; Compressor::storage_size(&zcfg)],
    );
    let mut zc = Compressor::new(zcfg, &mut zmem_c).unwrap();
    let mut zf = Compressor::new(zcfg, &mut zmem_f).unwrap();
    let mut mem = vec![0u8; memory_len(W, M)];
    let mut c = CompactLink::new(ccfg, 1, &mut mem).unwrap();
    let mut f = Link::new(cfg, 2, LinkBuffers::alloc(W, M, false)).unwrap();
    if data.first().is_some_and(|b| b & 2 != 0) {
        c.set_codec(&mut zc as &mut dyn Codec);
    }
    if data.first().is_some_and(|b| b & 4 != 0) {
        f.set_codec(&mut zf as &mut dyn Codec);
    }
    // Wires: to the full link, to the compact one.
    let mut wires: [VecDeque<Vec<u8>>; 2] = [VecDeque::new(), VecDeque::new()];
    let mut next = [0u32; 2];
    let mut last: [Option<u32>; 2] = [None, None];
    let mut now = 0u64;
    let mut buf = vec![0u8; 512];
    let mut out = vec![0u8; M];
    let feed_c = |c: &mut CompactLink<'_>, b: &[u8], now| {
        if stream {
            c.handle_input(b, now)
        } else {
            c.handle_datagram(b, now)
        }
    };
    let feed_f = |f: &mut Link<'_>, b: &[u8], now| {
        if stream {
            f.handle_input(b, now)
        } else {
            f.handle_datagram(b, now)
        }
    };
    for op in data.iter().skip(1) {
        let arg = op >> 4;
        match op & 0x0F {
            0 => {
                if c.send(0, &message(next[0], 0), now).is_ok() {
                    next[0] += 1;
                }
            }
            1 => {
                if f.send(0, &message(next[1], 1), now).is_ok() {
                    next[1] += 1;
                }
            }
            2 => {
                if let Some(b) = wires[0].pop_front() {
                    feed_f(&mut f, &b, now);
                }
            }
            3 => {
                if let Some(b) = wires[1].pop_front() {
                    feed_c(&mut c, &b, now);
                }
            }
            4 => {
                wires[usize::from(arg & 1)].pop_front();
            }
            5 => {
                let w = &mut wires[usize::from(arg & 1)];
                if let Some(b) = w.front_mut() {
                    if !b.is_empty() {
                        let i = usize::from(arg) % b.len();
                        b[i] ^= 1 << (arg & 7);
                    }
                }
            }
            6 => {
                let w = &mut wires[usize::from(arg & 1)];
                if let Some(b) = w.front().cloned() {
                    w.push_back(b);
                }
            }
            7 => {
                let w = &mut wires[usize::from(arg & 1)];
                if w.len() > 1 {
                    w.swap(0, 1);
                }
            }
            8 => {
                let junk: Vec<u8> = data
                    .iter()
                    .rev()
                    .take(usize::from(arg) * 4)
                    .copied()
                    .collect();
                feed_c(&mut c, &junk, now);
            }
            9 => now += u64::from(arg) * 17,
            10 => {
                loop {
                    match c.recv(&mut out) {
                        Ok(Some(r)) => check(&out[..r.len], 1, &mut last[0]),
                        Ok(None) => break,
                        // Reported and dropped (a forged payload); the next one follows.
                        Err(RecvError::Decompress { .. }) => {}
                        Err(e) => panic!("{e:?}"),
                    }
                }
                loop {
                    match f.recv(&mut out) {
                        Ok(Some(r)) => check(&out[..r.len], 0, &mut last[1]),
                        Ok(None) => break,
                        Err(RecvError::Decompress { .. }) => {}
                        Err(e) => panic!("{e:?}"),
                    }
                }
            }
            11 => {
                if arg & 1 == 0 {
                    c.close(now);
                } else {
                    f.close(now);
                }
            }
            _ => {
                c.handle_timeout(now);
                f.handle_timeout(now);
                while let Ok(Some(n)) = c.poll_transmit(now, &mut buf) {
                    wires[0].push_back(buf[..n].to_vec());
                }
                while let Ok(Some(n)) = f.poll_transmit(now, &mut buf) {
                    wires[1].push_back(buf[..n].to_vec());
                }
                while c.poll_event().is_some() {}
                while f.poll_event().is_some() {}
                let _ = c.poll_timeout();
                now += 1;
            }
        }
    }
});
