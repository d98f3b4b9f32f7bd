//! One benchmark run: two endpoints of one stack over a [`Channel`], applications that keep
//! the in-flight budget full, and everything measured on the way.

use crate::channel::{Channel, Loss};
use crate::sim::Impair;
use ferrule::link::FecConfig;

/// The physical link of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Medium {
    /// UART at 115200 baud (11,520 B/s), stream framing, 2 ms latency + 0..1 ms jitter.
    Uart,
    /// Datagrams, 3 ms each way + 0..1 ms jitter (6 ms RTT), unlimited rate.
    Datagram,
    /// Datagrams, 100 ms each way + 0..1 ms jitter (200 ms RTT: a radio modem, a satellite
    /// hop), unlimited rate.
    LongDatagram,
}

impl Medium {
    /// Rate, delay and jitter of each direction.
    pub fn impair(self) -> Impair {
        match self {
            Medium::Uart => Impair {
                rate: 11_520,
                delay: 2,
                jitter: 1,
                ..Impair::default()
            },
            Medium::Datagram => Impair {
                delay: 3,
                jitter: 1,
                ..Impair::default()
            },
            Medium::LongDatagram => Impair {
                delay: 100,
                jitter: 1,
                ..Impair::default()
            },
        }
    }

    /// Whether frames travel as a byte stream.
    pub fn stream(self) -> bool {
        self == Medium::Uart
    }

    /// Name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Medium::Uart => "UART 115200",
            Medium::Datagram => "datagrams 6 ms RTT",
            Medium::LongDatagram => "datagrams 200 ms RTT",
        }
    }

    /// Short name for JSON.
    pub fn key(self) -> &'static str {
        match self {
            Medium::Uart => "uart115200",
            Medium::Datagram => "datagram6ms",
            Medium::LongDatagram => "datagram200ms",
        }
    }
}

/// What is measured in one run.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    pub medium: Medium,
    /// In-flight budget: messages each way.
    pub window: usize,
    /// Every message has exactly this many bytes.
    pub size: usize,
    /// Both endpoints send `messages`; otherwise only endpoint 0 does.
    pub bidirectional: bool,
    pub loss: Loss,
    /// Messages per sending endpoint.
    pub messages: u64,
    /// The application reads every frame that arrived in a millisecond before it lets the
    /// stack transmit (otherwise it lets the stack answer each frame before reading the
    /// next). KCP flushes after every input either way.
    pub batched: bool,
    /// The channel's seed of the first run; run `k` uses `seed + k · RUN_STRIDE`.
    pub seed: u64,
    /// Runs pooled per row, each with its own channel seed (`--runs`).
    pub runs: u64,
    /// ferrule's forward error correction, both ends (KCP ignores it).
    pub fec: Option<FecConfig>,
}

/// One side of a stack under test. The first seven methods are the application's calls
/// into the stack (recorded and replayed for CPU time, see `replay`); the rest are the
/// driver's bookkeeping and are not timed.
pub trait Endpoint {
    /// Whether the application may hand over another message now (connected, and fewer than
    /// `window` messages unacknowledged).
    fn can_send(&mut self) -> bool {
        self.budget_free()
    }
    /// Hands over a message; whether it was accepted.
    fn send(&mut self, msg: &[u8], now: u64) -> bool;
    /// The next frame for the line, into `out`.
    fn transmit(&mut self, now: u64, out: &mut Vec<u8>) -> bool;
    /// A frame from the line.
    fn input(&mut self, frame: &[u8], now: u64);
    /// The next delivered message, into `out`: its length.
    fn recv(&mut self, out: &mut [u8]) -> Option<usize>;
    /// When `on_time` is due next (absolute ms; `now` when a frame is ready to go).
    fn next_timer(&mut self, now: u64) -> Option<u64>;
    /// Runs the stack's timers.
    fn on_time(&mut self, now: u64);
    /// Whether the stack holds a frame ready for the line (without a call into it).
    fn frame_waiting(&self) -> bool {
        false
    }
    /// What `can_send` answers, for the driver's own bookkeeping (not recorded).
    fn budget_free(&self) -> bool;
    /// Sees a frame this side put on the line (for counting; not timed).
    fn observe_sent(&mut self, _frame: &[u8]) {}
    /// Sees a frame that arrived for this side (for counting; not timed).
    fn observe_received(&mut self, _frame: &[u8]) {}
    /// Data frames sent, retransmissions among them, and received data frames whose
    /// message this side already had (spurious retransmissions of the peer).
    fn counters(&self) -> Counters;
}

/// What an endpoint counts about its own traffic.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    /// Frames carrying a message, first transmissions and retransmissions.
    pub data_frames: u64,
    /// Retransmitted messages.
    pub retransmissions: u64,
    /// Data frames received whose message had arrived before.
    pub duplicates_received: u64,
    /// Sessions that went down (ferrule), or a dead link flagged (KCP: some segment was
    /// sent 20 times; KCP carries on).
    pub downs: u64,
}

/// The result of one run.
#[derive(Clone, Debug, Default)]
pub struct Measurement {
    /// Messages delivered (both directions).
    pub delivered: u64,
    /// Messages delivered wrong: out of order, twice, or with other bytes.
    pub misdelivered: u64,
    /// Messages never delivered though later ones were (ferrule: discarded when a session
    /// ended, and reported in `Event::Down`).
    pub skipped: u64,
    /// Whether every message arrived before the deadline.
    pub complete: bool,
    /// From the first message accepted to the last delivered, or to when an incomplete run was
    /// given up (virtual ms).
    pub duration_ms: u64,
    /// Send accepted -> delivered, per message (virtual ms), sorted.
    pub latencies: Vec<u32>,
    /// Everything put on the wire, both directions, lost frames included.
    pub wire_bytes: u64,
    pub frames: u64,
    pub frames_lost: u64,
    /// Sum of both endpoints' counters.
    pub counters: Counters,
    /// Wall time of the stack's calls (ns), from a replay (see `replay`).
    pub cpu_ns: u64,
    /// Virtual ms a sender had messages waiting, its budget full, and its line idle
    /// (summed over the sending endpoints): line time lost to recovery on a rate-limited line.
    pub blocked_idle_ms: u64,
    /// Virtual ms a sender had messages waiting and its budget full while its peer delivered
    /// nothing (summed over the sending endpoints): the window stuck behind a loss.
    pub blocked_dry_ms: u64,
}

/// Distance between the channel seeds of a row's runs.
pub const RUN_STRIDE: u64 = 100_003;

impl Scenario {
    /// This scenario's run `k`: its own channel seed, one run.
    pub fn run_k(&self, k: u64) -> Scenario {
        Scenario {
            seed: self.seed + k * RUN_STRIDE,
            runs: 1,
            ..*self
        }
    }
}

impl Measurement {
    /// Pools `other` (another run of the same row) into this one: counts, durations and wire
    /// bytes add up, latencies are appended (unsorted: [`Measurement::pooled`] sorts once),
    /// and the row is complete only if every run was.
    fn absorb(&mut self, other: Measurement) {
        self.delivered += other.delivered;
        self.misdelivered += other.misdelivered;
        self.skipped += other.skipped;
        self.complete &= other.complete;
        self.duration_ms += other.duration_ms;
        self.latencies.extend(other.latencies);
        self.wire_bytes += other.wire_bytes;
        self.frames += other.frames;
        self.frames_lost += other.frames_lost;
        self.counters.data_frames += other.counters.data_frames;
        self.counters.retransmissions += other.counters.retransmissions;
        self.counters.duplicates_received += other.counters.duplicates_received;
        self.counters.downs += other.counters.downs;
        self.cpu_ns += other.cpu_ns;
        self.blocked_idle_ms += other.blocked_idle_ms;
        self.blocked_dry_ms += other.blocked_dry_ms;
    }

    /// Runs pooled: `runs` of them, from `one(k)` for run `k`.
    pub fn pooled(runs: u64, mut one: impl FnMut(u64) -> Measurement) -> Measurement {
        let mut m = one(0);
        for k in 1..runs {
            m.absorb(one(k));
        }
        m.latencies.sort_unstable();
        m
    }

    /// Delivered messages per virtual second.
    pub fn goodput(&self) -> f64 {
        self.delivered as f64 * 1000.0 / self.duration_ms.max(1) as f64
    }

    /// A latency percentile (ms).
    pub fn percentile(&self, q: f64) -> u32 {
        if self.latencies.is_empty() {
            return 0;
        }
        let i = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[i]
    }

    /// The fraction of frames the channel dropped.
    pub fn loss_measured(&self) -> f64 {
        self.frames_lost as f64 / self.frames.max(1) as f64
    }
}

/// Message `index` from endpoint `from`: the index, the sender, then bytes derived from both.
pub fn message(index: u64, from: u8, out: &mut [u8]) {
    out[..8].copy_from_slice(&index.to_le_bytes());
    out[8] = from;
    let mut x = (index ^ (u64::from(from) << 56)).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for b in out[9..].iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
}

/// Longest virtual time a run may take before it is reported incomplete.
const DEADLINE_MS: u64 = 100_000_000;
/// A run that delivers nothing for this long (virtual ms) is reported incomplete.
pub const NO_PROGRESS_MS: u64 = 600_000;

/// Runs `sc` with endpoints `ends` (0 and 1). CPU time is not measured here (see
/// `replay`).
pub fn run<E: Endpoint>(sc: &Scenario, ends: &mut [E; 2]) -> Measurement {
    let mut ch = Channel::new(sc.medium.impair(), sc.medium.stream(), sc.loss, sc.seed);
    let quota = [sc.messages, if sc.bidirectional { sc.messages } else { 0 }];
    let mut next_send = [0u64; 2];
    let mut next_recv = [0u64; 2]; // next index expected from the peer
    let mut sent_at: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    let mut m = Measurement::default();
    let mut msg = vec![0u8; sc.size];
    let mut expect = vec![0u8; sc.size];
    let mut rx = vec![0u8; sc.size];
    let mut frame = Vec::new();
    let mut first_accept: Option<u64> = None;
    let mut last_delivery = 0;
    let mut now = 0u64;
    loop {
        // Frames that arrived. Each is read at once by the application (the messages it
        // completes are delivered) and answered before the next frame is read (what it makes
        // the stack send goes to the line), as KCP's flush after input does; with `batched`,
        // the answers wait until all of this millisecond's frames were read.
        let mut delivered_now = [false; 2];
        for to in 0..2 {
            while let Some(f) = ch.receive(to, now) {
                let end = &mut ends[to];
                end.observe_received(&f);
                end.input(&f, now);
                let from = 1 - to;
                while let Some(n) = ends[to].recv(&mut rx) {
                    let idx = u64::from_le_bytes(rx[..8].try_into().unwrap());
                    message(idx, from as u8, &mut expect);
                    if n != sc.size || idx < next_recv[to] || rx[..n] != expect[..] {
                        m.misdelivered += 1;
                        continue;
                    }
                    m.skipped += idx - next_recv[to];
                    m.latencies.push((now - sent_at[from][idx as usize]) as u32);
                    next_recv[to] = idx + 1;
                    m.delivered += 1;
                    last_delivery = now;
                    delivered_now[to] = true;
                }
                let end = &mut ends[to];
                while !sc.batched && ch.ready(to, now) && end.transmit(now, &mut frame) {
                    end.observe_sent(&frame);
                    ch.send(to, now, &frame);
                }
            }
        }
        // Timers.
        for end in ends.iter_mut() {
            if end.next_timer(now).is_some_and(|t| t <= now) {
                end.on_time(now);
            }
        }
        // Applications send.
        for (from, end) in ends.iter_mut().enumerate() {
            while next_send[from] < quota[from] && end.can_send() {
                message(next_send[from], from as u8, &mut msg);
                if !end.send(&msg, now) {
                    break;
                }
                sent_at[from].push(now);
                next_send[from] += 1;
                first_accept.get_or_insert(now);
            }
        }
        // Lines take frames.
        for (from, end) in ends.iter_mut().enumerate() {
            while ch.ready(from, now) && end.transmit(now, &mut frame) {
                end.observe_sent(&frame);
                ch.send(from, now, &frame);
            }
        }
        let done = next_recv[1] >= quota[0] && next_recv[0] >= quota[1];
        let given_up = now > last_delivery.max(first_accept.unwrap_or(0)) + NO_PROGRESS_MS;
        if done || given_up || now > DEADLINE_MS {
            m.complete = done;
            break;
        }
        // The next moment anything can happen.
        let mut next = ch.next_arrival().unwrap_or(u64::MAX);
        for (from, end) in ends.iter_mut().enumerate() {
            let timer = end.next_timer(now).unwrap_or(u64::MAX);
            let mut t = timer;
            if timer <= now || end.frame_waiting() {
                // Something is ready to go: when the line takes it.
                t = t.min(ch.ready_at(from, now).max(now + 1));
            }
            next = next.min(t);
        }
        let next = next.max(now + 1);
        for (from, end) in ends.iter().enumerate() {
            let waiting = next_send[from] < quota[from];
            if first_accept.is_some() && waiting && !end.budget_free() {
                let span = next.min(DEADLINE_MS) - now;
                if ch.ready(from, now) {
                    m.blocked_idle_ms += span;
                }
                m.blocked_dry_ms += span - u64::from(delivered_now[1 - from]);
            }
        }
        now = next;
    }
    // An incomplete run counts until it was given up.
    let end = if m.complete { last_delivery } else { now };
    m.duration_ms = end.saturating_sub(first_accept.unwrap_or(0));
    m.latencies.sort_unstable();
    for c in &ch.carried {
        m.wire_bytes += c.bytes;
        m.frames += c.frames;
        m.frames_lost += c.lost;
    }
    for e in ends.iter() {
        let c = e.counters();
        m.counters.data_frames += c.data_frames;
        m.counters.retransmissions += c.retransmissions;
        m.counters.duplicates_received += c.duplicates_received;
        m.counters.downs += c.downs;
    }
    m
}
