//! An in-process impairment proxy for datagrams and byte streams: loss, corruption,
//! duplication, reordering, delay.

use crate::transport::{Deliver, Endpoint, Wire};
use std::collections::VecDeque;
use std::io;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Impairment settings (probabilities per datagram, except `corrupt` per byte).
#[derive(Clone, Copy, Debug)]
pub struct Impairments {
    pub loss: f64,
    pub corrupt: f64,
    pub dup: f64,
    pub reorder: f64,
    pub delay: Duration,
}

/// Deterministic xorshift64*.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next() >> 11) as f64 / ((1u64 << 53) as f64)) < p
    }
}

/// Counters of what the proxy did.
#[derive(Default, Clone, Copy, Debug)]
pub struct ProxyStats {
    pub forwarded: u64,
    pub dropped: u64,
    pub corrupted: u64,
    pub duplicated: u64,
    pub reordered: u64,
}

impl ProxyStats {
    /// Adds another lane's counts.
    pub fn add(&mut self, o: &ProxyStats) {
        self.forwarded += o.forwarded;
        self.dropped += o.dropped;
        self.corrupted += o.corrupted;
        self.duplicated += o.duplicated;
        self.reordered += o.reordered;
    }
}

/// One direction: frames arriving on `input` leave on `output`, impaired. On a stream, the
/// proxy cuts the bytes into frames at each `0x00` delimiter so that loss, duplication and
/// reordering hit whole frames, as they do datagrams; corruption hits any byte, delimiters
/// included, as line noise does.
pub struct Lane {
    input: Receiver<io::Result<Vec<u8>>>,
    output: Wire,
    partial: Vec<u8>,
    queue: VecDeque<(Instant, Vec<u8>)>,
    rng: Rng,
    imp: Impairments,
    pub stats: ProxyStats,
}

/// The proxy between two wire ends: `to_a` faces endpoint A, `to_b` endpoint B. Returns the
/// lanes A to B and B to A.
pub fn lanes(to_a: Endpoint, to_b: Endpoint, imp: Impairments, seed: u64) -> io::Result<Vec<Lane>> {
    let (from_a, a_in) = inbox();
    let (from_b, b_in) = inbox();
    let wire_a = Wire::start(to_a, from_a)?;
    let wire_b = Wire::start(to_b, from_b)?;
    Ok(vec![
        Lane::new(a_in, wire_b, imp, seed),
        Lane::new(b_in, wire_a, imp, seed ^ 0xBA),
    ])
}

/// A [`Deliver`] into a channel of its own.
pub fn inbox() -> (Deliver, Receiver<io::Result<Vec<u8>>>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let d: Deliver = Arc::new(move |r| tx.lock().map(|t| t.send(r).is_ok()).unwrap_or(false));
    (d, rx)
}

impl Lane {
    /// A lane reading what `input` delivers and writing to `output`.
    pub fn new(
        input: Receiver<io::Result<Vec<u8>>>,
        output: Wire,
        imp: Impairments,
        seed: u64,
    ) -> Self {
        Self {
            input,
            output,
            partial: Vec::new(),
            queue: VecDeque::new(),
            rng: Rng(seed | 1),
            imp,
            stats: ProxyStats::default(),
        }
    }

    /// Moves whatever is ready; returns whether anything happened.
    pub fn pump(&mut self, now: Instant) -> io::Result<bool> {
        let mut busy = false;
        while let Ok(got) = self.input.try_recv() {
            let bytes = got?;
            busy = true;
            if self.output.is_stream() {
                self.partial.extend_from_slice(&bytes);
                while let Some(end) = self.partial.iter().position(|&b| b == 0) {
                    let frame: Vec<u8> = self.partial.drain(..=end).collect();
                    self.admit(now, frame);
                }
            } else {
                self.admit(now, bytes);
            }
        }
        while let Some(i) = self.queue.iter().position(|(t, _)| *t <= now) {
            if let Some((_, d)) = self.queue.remove(i) {
                busy = true;
                self.stats.forwarded += 1;
                self.output.send(&d)?;
            }
        }
        Ok(busy)
    }

    fn admit(&mut self, now: Instant, mut d: Vec<u8>) {
        if self.rng.chance(self.imp.loss) {
            self.stats.dropped += 1;
            return;
        }
        let mut hit = false;
        for b in d.iter_mut() {
            if self.rng.chance(self.imp.corrupt) {
                *b ^= 1 << (self.rng.next() % 8);
                hit = true;
            }
        }
        self.stats.corrupted += u64::from(hit);
        let mut at = now + self.imp.delay;
        if self.rng.chance(self.imp.reorder) {
            at += Duration::from_micros(200 + self.rng.next() % 2000);
            self.stats.reordered += 1;
        }
        if self.rng.chance(self.imp.dup) {
            self.stats.duplicated += 1;
            self.queue
                .push_back((at + Duration::from_micros(50), d.clone()));
        }
        self.queue.push_back((at, d));
    }

    /// Frames still held, and stream bytes not yet written.
    pub fn pending(&self) -> usize {
        self.queue.len() + self.output.backlog()
    }
}
