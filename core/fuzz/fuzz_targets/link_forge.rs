//! Two links (unsealed, or sealed) where the network is hostile but CRC-correct: frames in
//! flight are mutated (header fields, acks, SACK bits, sequence numbers, hello records, PARITY
//! payloads, compressed payloads) and their CRC fixed up, or bodies are made up entirely by
//! the input (valid CRC), so they get past framing into the link's frame handling (session,
//! hello, ack/SACK, receive/deliver with compression, best-effort, FEC). With and without
//! compression, FEC, best effort, keepalives, AEAD; datagram or stream.
//! Invariants: no panic; poll_timeout after handle_timeout + draining poll_transmit is never
//! in the past (the firmware would spin); recv never reports more than the buffer.
#![no_main]

use ferrule::compress::{CodecConfig, Compressor, Mode, Receive};
use ferrule::crc::Crc32c;
use ferrule::link::{Config, Fec, Guard, Link, LinkBuffers};
use libfuzzer_sys::fuzz_target;

#[path = "endpoint.rs"]
mod endpoint;
use endpoint::{Mem, FEC};
use std::collections::VecDeque;

const M: usize = 64;

const CODEC: CodecConfig<'static> = CodecConfig {
    reliable: Mode::Shared,
    unreliable: Mode::PerMessage,
    receive: Receive {
        per_message: true,
        shared: true,
        dynamic: true,
        window_bits: 10,
    },
    ..CodecConfig::DEFAULT
};
fn link(
    cfg: Config,
    seed: u64,
    (codec, fec, be, sealed): (bool, bool, bool, bool),
    mem: &mut Mem,
) -> Link<'_> {
    let mut l = Link::new(cfg, seed, LinkBuffers::alloc(4, M, be)).unwrap();
    if sealed {
        l.enable_aead(Box::new(Guard::new(1, &[7; 32])) as Box<dyn ferrule::link::Sealer>);
    }
    if codec {
        let c = Compressor::new(CODEC, &mut mem.codec).unwrap();
        l.set_codec(Box::new(c) as Box<dyn ferrule::compress::Codec>);
    }
    if fec {
        let f = Fec::new(FEC, M, &mut mem.fec).unwrap();
        l.enable_fec(Box::new(f) as Box<dyn ferrule::link::Repair>);
    }
    l
}

/// A stream frame or datagram back to its body (header, payload, CRC).
fn body_of(stream: bool, wire: &[u8]) -> Option<Vec<u8>> {
    if !stream {
        return Some(wire.to_vec());
    }
    let inner: Vec<u8> = wire.iter().copied().skip_while(|&b| b == 0).collect();
    let end = inner.iter().position(|&b| b == 0)?;
    let mut out = vec![0u8; end + 8];
    let n = ferrule::cobs::decode(&inner[..end], &mut out).ok()?;
    out.truncate(n);
    Some(out)
}

/// Replaces the last 4 bytes of `body` with the CRC-32C of the rest.
fn fix_crc(body: &mut Vec<u8>) {
    if body.len() < 4 {
        body.resize(4, 0);
    }
    let n = body.len() - 4;
    let mut c = Crc32c::new();
    c.update(&body[..n]);
    body[n..].copy_from_slice(&c.finish().to_le_bytes());
}

fn deliver(l: &mut Link<'_>, stream: bool, body: &[u8], now: u64) {
    if stream {
        let mut out = vec![0u8; ferrule::cobs::max_encoded_len(body.len()) + 2];
        let n = ferrule::cobs::encode(body, &mut out[1..]).unwrap();
        out[0] = 0;
        out[n + 1] = 0;
        l.handle_input(&out[..n + 2], now);
    } else {
        l.handle_datagram(body, now);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&c, rest)) = data.split_first() else {
        return;
    };
    let stream = c & 1 != 0;
    let fec = c & 2 != 0;
    let codec = c & 4 != 0;
    let b_be = c & 8 == 0;
    let keepalive = if c & 16 != 0 { 0 } else { 100 };
    // Sealed (AEAD): forged frames then exercise opening, replay and hello MAC checks.
    let sealed = c & 32 != 0;
    let cfg = endpoint::config(stream, keepalive);
    let mut mems: Vec<Mem> = (0..2).map(|_| Mem::new(&CODEC, M)).collect();
    let (ma, mb) = mems.split_at_mut(1);
    let mut links = [
        link(cfg, 1, (codec, fec, true, sealed), &mut ma[0]),
        link(cfg, 2, (codec, fec, b_be, sealed), &mut mb[0]),
    ];
    let mut wires: [VecDeque<Vec<u8>>; 2] = [VecDeque::new(), VecDeque::new()];
    let mut now: u64 = 0;
    let mut buf = vec![0u8; links[0].max_frame_len()];
    let mut rx = [0u8; M];
    let mut next = [0u32; 2];
    let mut ops = rest.iter().copied();
    // Counters never go back.
    let mut last: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    let arg = |ops: &mut std::iter::Copied<std::slice::Iter<'_, u8>>| ops.next().unwrap_or(0);
    while let Some(op) = ops.next() {
        let s = usize::from(op >> 7);
        let o = 1 - s;
        // Whatever is due goes on the wire.
        let mut guard = 0;
        while let Ok(Some(n)) = links[s].poll_transmit(now, &mut buf) {
            if let Some(b) = body_of(stream, &buf[..n]) {
                if wires[s].len() < 32 {
                    wires[s].push_back(b);
                }
            }
            guard += 1;
            assert!(guard < 1000, "poll_transmit never ends");
        }
        match op & 0x0F {
            0 | 1 => {
                let ch = if op & 0x10 != 0 { 1 } else { 0 };
                let mut msg = next[s].to_le_bytes().to_vec();
                let len = 4 + usize::from(arg(&mut ops)) % (M - 4);
                while msg.len() < len {
                    msg.extend_from_slice(b"temp=21.5;");
                }
                msg.truncate(len);
                if links[s].send(ch, &msg, now).is_ok() {
                    next[s] += 1;
                }
            }
            2 => {
                if let Some(b) = wires[s].pop_front() {
                    deliver(&mut links[o], stream, &b, now);
                }
            }
            3 => {
                wires[s].pop_front();
            }
            4 | 5 => {
                // Forge: mutate the oldest frame's body in 1..=4 places, fix its CRC.
                if let Some(mut b) = wires[s].pop_front() {
                    let k = 1 + arg(&mut ops) % 4;
                    for _ in 0..k {
                        let pos = usize::from(arg(&mut ops));
                        let v = arg(&mut ops);
                        let n = b.len().saturating_sub(4).max(1);
                        match op >> 4 & 3 {
                            0 => b[pos % n] ^= v,
                            1 => b[pos % n] = v,
                            2 => {
                                // Truncate or extend the payload.
                                let l = (pos % (n + 8)).max(1);
                                b.resize(l + 4, v);
                            }
                            _ => b[pos % n.min(12)] ^= v, // header bytes
                        }
                    }
                    fix_crc(&mut b);
                    deliver(&mut links[o], stream, &b, now);
                    if op & 0x40 != 0 {
                        wires[s].push_back(b); // and again later
                    }
                }
            }
            6 => {
                // A body made up by the input, valid CRC.
                let n = usize::from(arg(&mut ops)) % 96;
                let mut b: Vec<u8> = ops.by_ref().take(n).collect();
                b.extend_from_slice(&[0; 4]);
                fix_crc(&mut b);
                deliver(&mut links[o], stream, &b, now);
            }
            7 => now += u64::from(arg(&mut ops)) * 10,
            8 => now += 1 + u64::from(op >> 4) * 1000,
            9 => {
                // Reorder: the oldest frame goes to the back.
                if let Some(b) = wires[s].pop_front() {
                    wires[s].push_back(b);
                }
            }
            10 => while links[s].poll_event().is_some() {},
            11 => {
                let _ = links[s].enable_best_effort(vec![0u8; 2 * M]);
            }
            12 => links[s].close(now),
            13 => {
                // Duplicate the oldest frame.
                if let Some(b) = wires[s].front().cloned() {
                    deliver(&mut links[o], stream, &b, now);
                }
            }
            _ => {
                let mut guard = 0;
                loop {
                    match links[s].recv(&mut rx) {
                        Ok(Some(r)) => assert!(r.len <= rx.len()),
                        Ok(None) => break,
                        Err(_) => {}
                    }
                    guard += 1;
                    assert!(guard < 1000, "recv never ends");
                }
            }
        }
        for side in 0..2 {
            let (st, f) = (links[side].stats(), links[side].fec_stats());
            let nums = vec![
                st.frames_received as u64,
                st.sessions as u64,
                st.link_downs as u64,
                st.hello_duplicates as u64,
                st.bad_ack as u64,
                st.decompress_failed as u64,
                st.delivered_reliable as u64,
                st.delivered_unreliable as u64,
                st.events_dropped as u64,
                st.stale_session as u64,
                st.auth_failed as u64,
                st.replayed as u64,
                st.parity_rejected as u64,
                st.fec_recovered as u64,
                st.fec_unrecoverable as u64,
                st.parity_sent as u64,
                f.parity_rejected as u64,
                f.recovered as u64,
                f.unrecoverable as u64,
                st.framing.frames_ok as u64,
            ];
            for (i, (a, b)) in last[side].iter().zip(&nums).enumerate() {
                assert!(b >= a, "counter {i} went back: {a} -> {b}: {st:?} {f:?}");
            }
            last[side] = nums;
        }
        // The firmware loop: timers, then transmit until nothing is left; the next deadline
        // must not be in the past.
        for side in 0..2 {
            let l = &mut links[side];
            l.handle_timeout(now);
            // After one round nothing is due at `now` (a deadline of `now` with nothing to
            // send would make a firmware loop spin).
            {
                let mut guard = 0;
                while let Ok(Some(n)) = l.poll_transmit(now, &mut buf) {
                    if let Some(b) = body_of(stream, &buf[..n]) {
                        if wires[side].len() < 32 {
                            wires[side].push_back(b);
                        }
                    }
                    guard += 1;
                    assert!(guard < 1000, "poll_transmit never ends");
                }
                if let Some(t) = l.poll_timeout() {
                    assert!(
                        t > now,
                        "deadline {t} not after now {now} with nothing to send"
                    );
                }
            }
        }
    }
});
