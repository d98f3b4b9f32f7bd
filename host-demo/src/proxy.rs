//! An in-process UDP impairment proxy: loss, corruption, duplication, reordering, delay.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, UdpSocket};
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

/// One direction: datagrams arriving on `inbound` go to `dest` from `outbound`.
pub struct Lane {
    inbound: UdpSocket,
    outbound: UdpSocket,
    dest: SocketAddr,
    queue: VecDeque<(Instant, Vec<u8>)>,
    rng: Rng,
    imp: Impairments,
    pub stats: ProxyStats,
}

impl Lane {
    pub fn new(
        inbound: UdpSocket,
        outbound: UdpSocket,
        dest: SocketAddr,
        imp: Impairments,
        seed: u64,
    ) -> Self {
        Self {
            inbound,
            outbound,
            dest,
            queue: VecDeque::new(),
            rng: Rng(seed | 1),
            imp,
            stats: ProxyStats::default(),
        }
    }

    /// Moves whatever is ready; returns whether anything happened.
    pub fn pump(&mut self, now: Instant) -> io::Result<bool> {
        let mut busy = false;
        let mut buf = [0u8; 9000];
        loop {
            match self.inbound.recv(&mut buf) {
                Ok(n) => {
                    busy = true;
                    self.admit(now, &buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e),
            }
        }
        while let Some(i) = self.queue.iter().position(|(t, _)| *t <= now) {
            if let Some((_, d)) = self.queue.remove(i) {
                busy = true;
                self.stats.forwarded += 1;
                match self.outbound.send_to(&d, self.dest) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.stats.dropped += 1,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(busy)
    }

    fn admit(&mut self, now: Instant, d: &[u8]) {
        if self.rng.chance(self.imp.loss) {
            self.stats.dropped += 1;
            return;
        }
        let mut d = d.to_vec();
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

    /// Address of the socket this lane forwards from.
    pub fn outbound_addr(&self) -> io::Result<SocketAddr> {
        self.outbound.local_addr()
    }

    /// Datagrams still held.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

/// A non-blocking socket bound to an ephemeral loopback port.
pub fn loopback_socket() -> io::Result<UdpSocket> {
    let s = UdpSocket::bind("127.0.0.1:0")?;
    s.set_nonblocking(true)?;
    Ok(s)
}
