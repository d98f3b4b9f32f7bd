//! FEC receiver driven by arbitrary operations: real groups from a `FecTx` delivered with
//! losses, duplicates and reordering, and (unless the input picks the clean mode) forged
//! bodies and parity payloads and resets. Invariants: no panic; a rebuilt body is never
//! longer than `max_body` or than the buffer; in the clean mode every rebuilt body is one
//! that was sent.
#![no_main]

use ferrule::fec::{max_parity_len, FecRx, FecTx};
use libfuzzer_sys::fuzz_target;
use std::collections::{HashSet, VecDeque};

#[derive(Clone)]
enum Frame {
    Data(u8, Vec<u8>),
    Parity(Vec<u8>),
}

/// Frames in flight at most.
const IN_FLIGHT: usize = 24;
/// A frame more than this many protected frames old is lost, as a link's frames have a
/// lifetime: 8-bit numbering cannot tell a frame 256 behind from a current one.
const LIFETIME: u32 = 64;

fuzz_target!(|data: &[u8]| {
    let mut input = data.iter().copied();
    let mut byte = move || input.next();
    let mut cfg = [0u8; 6];
    for c in &mut cfg {
        let Some(b) = byte() else { return };
        *c = b;
    }
    let k = 1 + usize::from(cfg[0]) % 32;
    let m = 1 + usize::from(cfg[1]) % 16;
    let max_body = usize::from(cfg[2]) % 80;
    let groups = (2 + usize::from(cfg[3]) % 3).min(128 / k);
    let clean = cfg[4] & 1 == 1;
    let k_tx = 1 + usize::from(cfg[5]) % k;
    let m_tx = 1 + usize::from(cfg[4] >> 1) % 16;

    let mut tx_mem = vec![0u8; FecTx::storage_size(m_tx, max_body)];
    let mut rx_mem = vec![0u8; FecRx::storage_size(k, m, max_body, groups)];
    let mut tx = FecTx::new(k_tx, m_tx, max_body, &mut tx_mem).unwrap();
    let mut rx = FecRx::new(k, m, max_body, groups, &mut rx_mem).unwrap();
    let mut sent: HashSet<Vec<u8>> = HashSet::new();
    // Frames in flight, with the number of protected frames sent when each was sent.
    let mut wire: VecDeque<(u32, Frame)> = VecDeque::new();
    let mut parity = vec![0u8; max_parity_len(max_body)];
    let mut out = vec![0u8; max_body + 8];
    let mut counter = 0u32;
    let mut now = 0u64;

    let deliver = |rx: &mut FecRx, f: &Frame| match f {
        Frame::Data(seq, body) => rx.on_protected(*seq, body),
        Frame::Parity(p) => {
            // Parity from the real sender can only be too old.
            if let Err(e) = rx.on_parity(p) {
                assert!(!clean || e == ferrule::fec::ParityError::Stale, "{e:?}");
            }
        }
    };

    while let Some(op) = byte() {
        let arg = byte().unwrap_or(0);
        match op % 10 {
            0 | 1 | 2 => {
                // Send a protected frame (a unique body), and parity if the group filled.
                counter += 1;
                let len = usize::from(arg) % (max_body + 1);
                let mut body: Vec<u8> = counter
                    .to_le_bytes()
                    .iter()
                    .copied()
                    .cycle()
                    .take(len)
                    .collect();
                for b in body.iter_mut().skip(4) {
                    *b = byte().unwrap_or(0);
                }
                now += u64::from(arg >> 4);
                let seq = tx.add(&body, now).unwrap();
                sent.insert(body.clone());
                wire.push_back((counter, Frame::Data(seq, body)));
            }
            3 => {
                tx.close_group();
            }
            4 | 5 => {
                if !wire.is_empty() {
                    let (_, f) = wire.remove(usize::from(arg) % wire.len()).unwrap();
                    deliver(&mut rx, &f);
                    if arg & 0x80 != 0 {
                        deliver(&mut rx, &f); // duplicate
                    }
                }
            }
            6 => {
                if !wire.is_empty() {
                    wire.remove(usize::from(arg) % wire.len()); // lost
                }
            }
            7 => {
                let size = usize::from(arg) % (max_body + 8);
                while let Some(n) = rx.next_recovered(&mut out[..size]) {
                    assert!(n <= max_body && n <= size);
                    if clean {
                        assert!(sent.contains(&out[..n]), "rebuilt a body never sent");
                    }
                }
            }
            8 if !clean => {
                let len = usize::from(arg) % (max_body + 4);
                let body: Vec<u8> = (0..len).map(|_| byte().unwrap_or(0)).collect();
                rx.on_protected(byte().unwrap_or(0), &body);
            }
            9 if !clean => {
                let len = usize::from(arg) % (max_body + 10);
                let p: Vec<u8> = (0..len).map(|_| byte().unwrap_or(0)).collect();
                let _ = rx.on_parity(&p);
            }
            _ => {
                // A new session on both ends.
                tx.reset();
                rx.reset();
                wire.clear();
            }
        }
        while tx.parity_pending() > 0 {
            match tx.next_parity(&mut parity) {
                Some(n) => wire.push_back((counter, Frame::Parity(parity[..n].to_vec()))),
                None => break,
            }
        }
        wire.retain(|(at, _)| counter - at <= LIFETIME);
        while wire.len() > IN_FLIGHT {
            let (_, f) = wire.pop_front().unwrap();
            deliver(&mut rx, &f);
        }
    }
    let size = out.len();
    while let Some(n) = rx.next_recovered(&mut out) {
        assert!(n <= max_body && n <= size);
        if clean {
            assert!(sent.contains(&out[..n]));
        }
    }
    if clean {
        assert_eq!(rx.stats().inconsistent, 0);
    }
});
