//! A deterministic network simulator for two links: virtual clock, seeded impairments.
//! Shared by the soak test and the link benchmark.
#![allow(dead_code)]

use ferrule::compress::{CodecConfig, Compressor, Dictionary, Mode};
use ferrule::link::{Config, Event, Link, LinkBuffers, RxSlot, Sent, Transport, TxSlot};
use std::collections::VecDeque;

pub const W: usize = 8;
pub const M: usize = 256;
/// The simulator's links live for the whole test: their memory is leaked, as a firmware's
/// `static` would be.
pub type SimLink = Link<'static>;

/// The pre-shared key of the sealed profiles.
pub const KEY: [u8; 32] = *b"ferrule simulator key, 32 bytes!";

/// The preset dictionary of the compressed profiles.
pub static DICTIONARY: &[u8] = b"{\"seq\":0,\"temp\":21.50,\"rh\":40.1,\"status\":\"ok\"}{\"seq\":1,\"temp\":21.75,\"rh\":40.2,\"status\":\"ok\"}";

/// `'static` buffers for a link of `w` messages of `m` bytes (leaked, like a `static`).
pub fn leaked_buffers(w: usize, m: usize, best_effort: bool) -> LinkBuffers<'static> {
    fn leak<T: Clone>(v: T, n: usize) -> &'static mut [T] {
        Box::leak(vec![v; n].into_boxed_slice())
    }
    LinkBuffers {
        tx_slots: leak(TxSlot::EMPTY, w).into(),
        rx_slots: leak(RxSlot::EMPTY, w).into(),
        tx_data: leak(0u8, w * m).into(),
        rx_data: leak(0u8, w * m).into(),
        frame: leak(0u8, ferrule::link::frame_buffer_len(m)).into(),
        best_effort: leak(0u8, if best_effort { 2 * m } else { 0 }).into(),
    }
}

/// A link of the simulator's size, with the profile's codec and key.
pub fn new_link(
    cfg: Config,
    seed: u64,
    compress: bool,
    aead: bool,
    fec: Option<ferrule::link::FecConfig>,
) -> SimLink {
    let mut link = Link::new(cfg, seed, leaked_buffers(W, M, true)).unwrap();
    if compress {
        let codec = CodecConfig {
            reliable: Mode::Shared,
            unreliable: Mode::Dictionary,
            dictionary: Some(Dictionary {
                id: 3,
                bytes: DICTIONARY,
            }),
            ..CodecConfig::DEFAULT
        };
        let mem = Box::leak(vec![0u8; Compressor::storage_size(&codec)].into_boxed_slice());
        let codec = Box::leak(Box::new(Compressor::new(codec, mem).unwrap()));
        link.set_codec(codec as &mut dyn ferrule::compress::Codec);
    }
    if let Some(f) = fec {
        let mem = Box::leak(vec![0u8; ferrule::link::Fec::storage_size(&f, M)].into_boxed_slice());
        let fec = Box::leak(Box::new(ferrule::link::Fec::new(f, M, mem).unwrap()));
        link.enable_fec(fec as &mut dyn ferrule::link::Repair);
    }
    if aead {
        #[cfg(feature = "aead")]
        {
            let guard = Box::leak(Box::new(ferrule::link::Guard::new(1, &KEY)));
            link.enable_aead(guard as &mut dyn ferrule::link::Sealer);
        }
        #[cfg(not(feature = "aead"))]
        panic!("sealed profiles need feature aead");
    }
    link
}

/// xorshift64* — small, fast, deterministic.
#[derive(Clone)]
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
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// Impairments of one direction.
#[derive(Clone, Copy, Debug, Default)]
pub struct Impair {
    /// Independent loss probability per frame.
    pub loss: f64,
    /// Gilbert-Elliott burst loss: (P good->bad, P bad->good, loss in bad state).
    pub burst: Option<(f64, f64, f64)>,
    /// Long outages: with this probability per frame a burst starts that loses the next
    /// `min..=max` frames of this direction (uniform length); it ends after 2 s at the latest
    /// (a line outage is an event in time: a link that only probes during it sends a frame
    /// every few hundred ms), and the frame after an outage gets through (outages are separate
    /// events; back to back they would be one longer than the peer-silence timeout, which a
    /// link must report): (probability, min, max).
    pub outage: Option<(f64, u64, u64)>,
    /// Probability per byte of one flipped bit.
    pub bitflip: f64,
    /// Probability a frame is delivered twice.
    pub dup: f64,
    /// Probability a frame gets extra delay (reordering; datagram transport only).
    pub reorder: f64,
    /// Base one-way delay (ms).
    pub delay: u64,
    /// Uniform jitter added to the delay (ms); on streams it never reorders.
    pub jitter: u64,
    /// Probability a frame is cut short.
    pub truncate: f64,
    /// Probability random garbage bytes are injected before a frame.
    pub garbage: f64,
    /// Line rate in bytes per second (0: unlimited). Frames queue behind each other on the
    /// line, and a frame that is lost still took its time on it, like a UART.
    pub rate: u64,
}

/// A scenario.
#[derive(Clone, Debug)]
pub struct Profile {
    pub name: &'static str,
    pub transport: Transport,
    pub a_to_b: Impair,
    pub b_to_a: Impair,
    /// The receiver (B) stops reading at this time for this long (ms).
    pub stall: Option<(u64, u64)>,
    /// B is wiped and restarted with a new seed at this time (ms).
    pub reboot_at: Option<u64>,
    /// Messages A sends to B.
    pub messages: u64,
    /// Messages B sends to A.
    pub replies: u64,
    /// Every `unreliable_every`-th message slot is best effort instead.
    pub unreliable_every: u64,
    /// Shared-window compression on the reliable channel, dictionary on best effort.
    pub compress: bool,
    /// Every frame sealed (feature `aead`).
    pub aead: bool,
    /// Forward error correction on both sides.
    pub fec: Option<ferrule::link::FecConfig>,
    /// Retransmissions of one message before the link gives up (`Config::max_retransmits`).
    pub max_retransmits: u8,
    pub seed: u64,
}

struct Pipe {
    rng: Rng,
    imp: Impair,
    ge_bad: bool,
    /// Frames still to lose in the current outage, and when it ends at the latest.
    outage_left: u64,
    outage_until: u64,
    queue: VecDeque<(u64, Vec<u8>)>,
    last_at: u64,
    /// When the line finishes sending what it has (microseconds), with a finite rate.
    line_free_us: u64,
    pub max_queue: usize,
}

impl Pipe {
    fn new(imp: Impair, seed: u64) -> Self {
        Self {
            rng: Rng(seed | 1),
            imp,
            ge_bad: false,
            outage_left: 0,
            outage_until: 0,
            queue: VecDeque::new(),
            last_at: 0,
            line_free_us: 0,
            max_queue: 0,
        }
    }

    fn push(&mut self, now: u64, frame: &[u8], stream: bool) {
        let imp = self.imp;
        // The time the frame's last byte leaves the sender (ms).
        let mut sent = now;
        if let Some(us) = (frame.len() as u64 * 1_000_000).checked_div(imp.rate) {
            let start = self.line_free_us.max(now * 1000);
            self.line_free_us = start + us;
            sent = self.line_free_us.div_ceil(1000);
        }
        if self.outage_left > 0 && now < self.outage_until {
            self.outage_left -= 1;
            return;
        }
        let after_outage = self.outage_left > 0 || self.outage_until > 0;
        self.outage_left = 0;
        self.outage_until = 0;
        if let Some((p, min, max)) = imp.outage.filter(|_| !after_outage) {
            if self.rng.chance(p) {
                self.outage_left = min + self.rng.below(max - min + 1) - 1;
                self.outage_until = now + 2_000;
                return;
            }
        }
        if let Some((gb, bg, bad_loss)) = imp.burst {
            self.ge_bad = if self.ge_bad {
                !self.rng.chance(bg)
            } else {
                self.rng.chance(gb)
            };
            if self.ge_bad && self.rng.chance(bad_loss) {
                return;
            }
        }
        if self.rng.chance(imp.loss) {
            return;
        }
        let mut f = frame.to_vec();
        for b in f.iter_mut() {
            if self.rng.chance(imp.bitflip) {
                *b ^= 1 << self.rng.below(8);
            }
        }
        if self.rng.chance(imp.truncate) && f.len() > 1 {
            let keep = 1 + self.rng.below(f.len() as u64 - 1) as usize;
            f.truncate(keep);
        }
        if self.rng.chance(imp.garbage) {
            let n = 1 + self.rng.below(24) as usize;
            let mut g: Vec<u8> = (0..n).map(|_| self.rng.next() as u8).collect();
            g.extend(f);
            f = g;
        }
        let mut at = sent + imp.delay + self.rng.below(imp.jitter + 1);
        if stream {
            at = at.max(self.last_at); // a serial line never reorders
        } else if self.rng.chance(imp.reorder) {
            at += 1 + self.rng.below(10);
        }
        self.last_at = at;
        if self.rng.chance(imp.dup) {
            self.queue.push_back((at + self.rng.below(3), f.clone()));
        }
        self.queue.push_back((at, f));
        self.max_queue = self.max_queue.max(self.queue.len());
    }

    /// Whether the sender may hand the line another frame now: always without a rate limit;
    /// with one, once the frame on the line is (about) done, like a UART driver that asks the
    /// link for the next frame from its transmit-complete interrupt. The link then picks what
    /// goes next at the last moment (a retransmission does not wait behind queued frames).
    fn ready(&self, now: u64) -> bool {
        self.imp.rate == 0 || self.line_free_us < (now + 1) * 1000
    }

    fn pop_due(&mut self, now: u64) -> Option<Vec<u8>> {
        let i = self.queue.iter().position(|(t, _)| *t <= now)?;
        self.queue.remove(i).map(|(_, f)| f)
    }
}

/// One direction of [`run`]'s network, for drivers other than [`run`] (the link benchmark):
/// the same line (rate, a driver that takes the next frame at transmit-complete, delay,
/// jitter, no reordering on streams), with the loss of each frame decided by the caller.
pub struct Line {
    pipe: Pipe,
    stream: bool,
}

impl Line {
    /// A line with `imp`'s rate, delay, jitter and reordering; its other impairments (loss,
    /// bursts, corruption, duplication) are not applied: [`Line::send`] says which frames are
    /// lost.
    pub fn new(imp: Impair, seed: u64, stream: bool) -> Self {
        let imp = Impair {
            rate: imp.rate,
            delay: imp.delay,
            jitter: imp.jitter,
            reorder: imp.reorder,
            ..Impair::default()
        };
        Self {
            pipe: Pipe::new(imp, seed),
            stream,
        }
    }

    /// Whether the line takes another frame now (see `Pipe::ready`).
    pub fn ready(&self, now: u64) -> bool {
        self.pipe.ready(now)
    }

    /// The first millisecond, `now` or later, at which [`Line::ready`] holds.
    pub fn ready_at(&self, now: u64) -> u64 {
        if self.pipe.ready(now) {
            now
        } else {
            self.pipe.line_free_us / 1000
        }
    }

    /// Puts `frame` on the line at `now`. A `lost` frame takes its time on the line (and, on
    /// a stream, holds back what follows it as a frame on the wire would) but never arrives.
    pub fn send(&mut self, now: u64, frame: &[u8], lost: bool) {
        self.pipe.push(now, frame, self.stream);
        if lost {
            self.pipe.queue.pop_back();
        }
    }

    /// The next frame that has arrived by `now`.
    pub fn receive(&mut self, now: u64) -> Option<Vec<u8>> {
        self.pipe.pop_due(now)
    }

    /// When the earliest frame on the way arrives.
    pub fn next_arrival(&self) -> Option<u64> {
        self.pipe.queue.iter().map(|&(t, _)| t).min()
    }
}

/// Message content: index, then bytes derived from it (telemetry-like text for odd indices,
/// random bytes for even ones); length varies with the index.
pub fn message(index: u64, dir: u8) -> Vec<u8> {
    let len = 9 + (index.wrapping_mul(2_654_435_761) % (M as u64 - 9)) as usize;
    let mut m = Vec::with_capacity(len);
    m.extend(index.to_le_bytes());
    m.push(dir);
    if index % 2 == 1 {
        let mut k = 0u64;
        while m.len() < len {
            let rec = format!(
                "{{\"seq\":{},\"temp\":21.{:02},\"rh\":40.{},\"status\":\"ok\"}}",
                index + k,
                (index * 7 + k) % 100,
                (index + k) % 10
            );
            m.extend_from_slice(rec.as_bytes());
            k += 1;
        }
        m.truncate(len);
        return m;
    }
    let mut x = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while m.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        m.push(x as u8);
    }
    m
}

/// What one endpoint's application saw.
#[derive(Default, Debug)]
pub struct AppLog {
    /// Reliable message indices received, in delivery order.
    pub reliable: Vec<u64>,
    /// Best-effort indices received.
    pub unreliable: Vec<u64>,
    /// Reliable indices this side sent, in send order.
    pub sent: Vec<u64>,
    /// Reliable indices reported discarded by `Event::Down`.
    pub discarded: Vec<u64>,
    pub corrupted: u64,
    pub ups: u32,
    pub downs: u32,
}

pub struct Outcome {
    pub a: AppLog,
    pub b: AppLog,
    pub end_ms: u64,
    pub stats_a: ferrule::link::LinkStats,
    pub codec_a: ferrule::compress::CodecStats,
    pub codec_b: ferrule::compress::CodecStats,
    pub stats_b: ferrule::link::LinkStats,
    pub max_net_queue: usize,
    /// Reliable A->B messages lost inside B's crash (acknowledged, not yet read).
    pub lost_in_crash: u64,
    /// Delivery latency of A->B reliable messages (ms): send to receive.
    pub latencies: Vec<u64>,
}

struct Side {
    link: SimLink,
    log: AppLog,
    next_index: u64,
    dir: u8,
    quota: u64,
    /// Indices accepted by `send` and not yet known delivered-or-discarded, in order, with
    /// their message ids.
    pending: VecDeque<(u64, ferrule::link::MessageId)>,
    sent_at: std::collections::HashMap<u64, u64>,
}

fn config(transport: Transport) -> Config {
    Config {
        transport,
        rto_initial: 100,
        rto_min: 10,
        rto_max: 2000,
        ack_delay: 2,
        keepalive: 500,
        dupthresh: std::env::var("DT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2),
        ..Config::default()
    }
}

fn read_all(side: &mut Side, other: &mut Side, now: u64, rx: &mut [u8], lat: &mut Vec<u64>) {
    while let Ok(Some(r)) = side.link.recv(rx) {
        let m = &rx[..r.len];
        let idx = u64::from_le_bytes(m[..8].try_into().unwrap());
        if m != message(idx, other.dir).as_slice() {
            side.log.corrupted += 1;
        }
        if r.reliable {
            side.log.reliable.push(idx);
            if let Some(t) = other.sent_at.remove(&idx) {
                if other.dir == 0xA {
                    lat.push(now - t);
                }
            }
            // Everything up to idx is known delivered on the sender's books.
            while other.pending.front().is_some_and(|&(x, _)| x <= idx) {
                other.pending.pop_front();
            }
        } else {
            side.log.unreliable.push(idx);
        }
    }
}

pub fn run(p: &Profile) -> Outcome {
    let stream = p.transport == Transport::Stream;
    let cfg = Config {
        max_retransmits: p.max_retransmits,
        ..config(p.transport)
    };
    let mut a = Side {
        link: new_link(cfg, p.seed ^ 0xA, p.compress, p.aead, p.fec),
        log: AppLog::default(),
        next_index: 0,
        dir: 0xA,
        quota: p.messages,
        pending: VecDeque::new(),
        sent_at: Default::default(),
    };
    let mut b = Side {
        link: new_link(cfg, p.seed ^ 0xB, p.compress, p.aead, p.fec),
        log: AppLog::default(),
        next_index: 0,
        dir: 0xB,
        quota: p.replies,
        pending: VecDeque::new(),
        sent_at: Default::default(),
    };
    let mut ab = Pipe::new(p.a_to_b, p.seed.wrapping_mul(3));
    let mut ba = Pipe::new(p.b_to_a, p.seed.wrapping_mul(5));
    let mut now: u64 = 0;
    let mut buf = vec![0u8; a.link.max_frame_len()];
    let mut rx = vec![0u8; M];
    let mut latencies = Vec::new();
    let mut rebooted = false;
    let deadline = 20_000_000; // virtual ms; far beyond any profile's need
    loop {
        // Reboot B: wipe its state, new seed.
        if let Some(t) = p.reboot_at {
            if !rebooted && now >= t {
                rebooted = true;
                let seed = (p.seed ^ 0xB).wrapping_add(0x5151_0000_0000);
                b.link = new_link(cfg, seed, p.compress, p.aead, p.fec);
                b.pending.clear();
            }
        }
        for (side, pipe) in [(&mut a, &mut ab), (&mut b, &mut ba)] {
            // Application sends.
            while side.link.is_up() && side.next_index < side.quota {
                let idx = side.next_index;
                let msg = message(idx, side.dir);
                let channel = if p.unreliable_every > 0 && idx % p.unreliable_every == 0 {
                    1
                } else {
                    0
                };
                match side.link.send(channel, &msg, now) {
                    Ok(Sent::Reliable(id)) => {
                        side.next_index += 1;
                        side.log.sent.push(idx);
                        side.pending.push_back((idx, id));
                        side.sent_at.insert(idx, now);
                    }
                    Ok(Sent::BestEffort) => side.next_index += 1,
                    Err(_) => break,
                }
            }
            while pipe.ready(now) {
                let Ok(Some(n)) = side.link.poll_transmit(now, &mut buf) else {
                    break;
                };
                pipe.push(now, &buf[..n], stream);
            }
            while let Some(e) = side.link.poll_event() {
                match e {
                    Event::Up => side.log.ups += 1,
                    Event::Down { unacked, first, .. } => {
                        side.log.downs += 1;
                        // The discarded messages are exactly the ids first..first+unacked;
                        // everything before them was delivered.
                        let gone = |id: ferrule::link::MessageId| {
                            !id.before(first) && id.before(first.plus(u32::from(unacked)))
                        };
                        for &(idx, id) in &side.pending {
                            if gone(id) {
                                side.log.discarded.push(idx);
                            }
                        }
                        side.pending.clear();
                    }
                }
            }
        }
        // Deliver due frames.
        while let Some(f) = ab.pop_due(now) {
            if stream {
                b.link.handle_input(&f, now)
            } else {
                b.link.handle_datagram(&f, now)
            }
        }
        while let Some(f) = ba.pop_due(now) {
            if stream {
                a.link.handle_input(&f, now)
            } else {
                a.link.handle_datagram(&f, now)
            }
        }
        // Applications read (B may be stalled).
        let b_stalled = p.stall.is_some_and(|(t, len)| now >= t && now < t + len);
        read_all(&mut a, &mut b, now, &mut rx, &mut latencies);
        if !b_stalled {
            read_all(&mut b, &mut a, now, &mut rx, &mut latencies);
        }
        for side in [&mut a, &mut b] {
            side.link.handle_timeout(now);
        }
        let done = a.next_index >= a.quota
            && b.next_index >= b.quota
            && a.link.send_capacity() == W
            && b.link.send_capacity() == W
            && ab.queue.is_empty()
            && ba.queue.is_empty()
            && p.reboot_at.is_none_or(|t| now > t);
        if done || now > deadline {
            break;
        }
        // Jump to the next interesting time.
        let mut next = now + 1;
        // The applications still have messages for free window slots: no time to skip.
        let app_ready = [&a, &b]
            .iter()
            .any(|s| s.link.is_up() && s.next_index < s.quota && s.link.send_capacity() > 0);
        let idle = ab.queue.is_empty() && ba.queue.is_empty() && !app_ready;
        if idle {
            let t = [a.link.poll_timeout(), b.link.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now + 1);
            next = next.max(t.min(now + 50));
        }
        now = next;
    }
    let mut lost_in_crash = 0;
    if rebooted {
        // A->B messages acknowledged by B's old incarnation but not yet read when it crashed.
        let delivered: std::collections::HashSet<u64> = b.log.reliable.iter().copied().collect();
        let discarded: std::collections::HashSet<u64> = a.log.discarded.iter().copied().collect();
        lost_in_crash = a
            .log
            .sent
            .iter()
            .filter(|i| !delivered.contains(i) && !discarded.contains(i))
            .count() as u64;
    }
    Outcome {
        max_net_queue: ab.max_queue.max(ba.max_queue),
        stats_a: a.link.stats(),
        codec_a: a.link.codec().map(|c| c.stats()).unwrap_or_default(),
        codec_b: b.link.codec().map(|c| c.stats()).unwrap_or_default(),
        stats_b: b.link.stats(),
        a: a.log,
        b: b.log,
        end_ms: now,
        lost_in_crash,
        latencies,
    }
}
