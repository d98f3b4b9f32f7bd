//! The compact link's test harness: one trait over the full `Link` and `CompactLink`, a seeded
//! lossy wire (drops, single-bit corruption, duplication, reordering), and a driver that
//! checks each side's messages arrive exactly once, in order, byte for byte.
#![allow(dead_code)]

use ferrule::compact::{memory_len, CompactConfig, CompactLink, CompactStats};
use ferrule::link::{
    frame_buffer_len, Config, Event, Link, LinkBuffers, LinkStats, RxSlot, Transport, TxSlot,
};

pub const W: usize = 4;
pub const M: usize = 128;

/// xorshift64*: the seeded PRNG of every test here.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// True with probability `permille / 1000`.
    pub fn chance(&mut self, permille: u64) -> bool {
        self.below(1000) < permille
    }
}

fn leak<T: Clone>(v: T, n: usize) -> &'static mut [T] {
    Box::leak(vec![v; n].into_boxed_slice())
}

/// Either implementation, as the driver sees it.
pub trait Endpoint {
    fn input(&mut self, bytes: &[u8], now: u64);
    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<usize>;
    fn deadline(&self) -> Option<u64>;
    fn timeout(&mut self, now: u64);
    /// The message id, or None when refused.
    fn send(&mut self, channel: u8, msg: &[u8], now: u64) -> Option<u32>;
    fn receive(&mut self, out: &mut [u8]) -> Option<(u8, usize)>;
    fn event(&mut self) -> Option<Event>;
    fn up(&self) -> bool;
    fn close_now(&mut self, now: u64);
    /// (retransmissions, frames dropped as stale_session)
    fn counts(&self) -> (u32, u32);
    /// Frames dropped as sealed under a key this side does not have.
    fn unknown_key(&self) -> u32;
    /// The codec's counters, if one is installed.
    fn codec_stats(&self) -> Option<ferrule::compress::CodecStats> {
        None
    }
}

/// A shared-window codec (the C size probe's profile 3: shared stream both ways on the
/// reliable service, 1 KiB windows, fixed Huffman), in leaked memory.
pub fn shared_codec() -> &'static mut dyn ferrule::compress::Codec {
    use ferrule::compress::{CodecConfig, Compressor, Mode};
    let c = CodecConfig {
        reliable: Mode::Shared,
        unreliable: Mode::Off,
        ..CodecConfig::DEFAULT
    };
    let mem = leak(0u8, Compressor::storage_size(&c));
    Box::leak(Box::new(Compressor::new(c, mem).unwrap()))
}

pub struct Full {
    pub l: Link<'static>,
    pub stream: bool,
}

pub struct Compact {
    pub l: CompactLink<'static>,
    pub stream: bool,
}

pub fn full(transport: Transport, seed: u64) -> Full {
    full_with(transport, seed, W, M)
}

/// A full link of `w` messages of up to `m` bytes.
pub fn full_with(transport: Transport, seed: u64, w: usize, m: usize) -> Full {
    // Channels 0..31 reliable (the messages here use 0..4): against another full link too,
    // everything goes as RDATA.
    let cfg = Config {
        transport,
        channels: ferrule::link::ChannelMap::from_low_bits(u32::MAX),
        ..Config::default()
    };
    let buffers = LinkBuffers {
        tx_slots: leak(TxSlot::EMPTY, w).into(),
        rx_slots: leak(RxSlot::EMPTY, w).into(),
        tx_data: leak(0u8, w * m).into(),
        rx_data: leak(0u8, w * m).into(),
        frame: leak(0u8, frame_buffer_len(m)).into(),
        best_effort: leak(0u8, 2 * m).into(),
    };
    Full {
        l: Link::new(cfg, seed, buffers).unwrap(),
        stream: transport == Transport::Stream,
    }
}

pub fn compact_cfg(transport: Transport) -> CompactConfig {
    CompactConfig {
        transport,
        window: W as u8,
        max_message: M as u16,
        ..CompactConfig::DEFAULT
    }
}

pub fn compact_with(cfg: CompactConfig, seed: u64) -> Compact {
    let mem = leak(0u8, memory_len(cfg.window.into(), cfg.max_message.into()));
    Compact {
        l: CompactLink::new(cfg, seed, mem).unwrap(),
        stream: cfg.transport == Transport::Stream,
    }
}

pub fn compact(transport: Transport, seed: u64) -> Compact {
    compact_with(compact_cfg(transport), seed)
}

impl Endpoint for Full {
    fn input(&mut self, bytes: &[u8], now: u64) {
        if self.stream {
            self.l.handle_input(bytes, now)
        } else {
            self.l.handle_datagram(bytes, now)
        }
    }
    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<usize> {
        self.l.poll_transmit(now, buf).unwrap()
    }
    fn deadline(&self) -> Option<u64> {
        self.l.poll_timeout()
    }
    fn timeout(&mut self, now: u64) {
        self.l.handle_timeout(now)
    }
    fn send(&mut self, channel: u8, msg: &[u8], now: u64) -> Option<u32> {
        match self.l.send(channel, msg, now) {
            Ok(ferrule::link::Sent::Reliable(id)) => Some(id.0),
            Ok(other) => panic!("not reliable: {other:?}"),
            Err(_) => None,
        }
    }
    fn receive(&mut self, out: &mut [u8]) -> Option<(u8, usize)> {
        self.l.recv(out).unwrap().map(|r| {
            assert!(r.reliable);
            (r.channel, r.len)
        })
    }
    fn event(&mut self) -> Option<Event> {
        self.l.poll_event()
    }
    fn up(&self) -> bool {
        self.l.is_up()
    }
    fn close_now(&mut self, now: u64) {
        self.l.close(now)
    }
    fn counts(&self) -> (u32, u32) {
        let s: LinkStats = self.l.stats();
        (s.retransmissions, s.stale_session)
    }
    fn unknown_key(&self) -> u32 {
        self.l.stats().unknown_key
    }
    fn codec_stats(&self) -> Option<ferrule::compress::CodecStats> {
        self.l.codec().map(|c| c.stats())
    }
}

impl Endpoint for Compact {
    fn input(&mut self, bytes: &[u8], now: u64) {
        if self.stream {
            self.l.handle_input(bytes, now)
        } else {
            self.l.handle_datagram(bytes, now)
        }
    }
    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<usize> {
        self.l.poll_transmit(now, buf).unwrap()
    }
    fn deadline(&self) -> Option<u64> {
        self.l.poll_timeout()
    }
    fn timeout(&mut self, now: u64) {
        self.l.handle_timeout(now)
    }
    fn send(&mut self, channel: u8, msg: &[u8], now: u64) -> Option<u32> {
        self.l.send(channel, msg, now).ok().map(|id| id.0)
    }
    fn receive(&mut self, out: &mut [u8]) -> Option<(u8, usize)> {
        self.l.recv(out).unwrap().map(|r| (r.channel, r.len))
    }
    fn event(&mut self) -> Option<Event> {
        self.l.poll_event()
    }
    fn up(&self) -> bool {
        self.l.is_up()
    }
    fn close_now(&mut self, now: u64) {
        self.l.close(now)
    }
    fn counts(&self) -> (u32, u32) {
        let s: CompactStats = self.l.stats();
        (s.retransmissions, s.stale_session)
    }
    fn unknown_key(&self) -> u32 {
        self.l.stats().unknown_key
    }
    fn codec_stats(&self) -> Option<ferrule::compress::CodecStats> {
        self.l.codec().map(|c| c.stats())
    }
}

/// The wire's faults, per frame, in permille.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    pub drop: u64,
    pub corrupt: u64,
    pub duplicate: u64,
    pub reorder: u64,
}

pub const CLEAN: Faults = Faults {
    drop: 0,
    corrupt: 0,
    duplicate: 0,
    reorder: 0,
};

pub const MODERATE: Faults = Faults {
    drop: 50,
    corrupt: 20,
    duplicate: 20,
    reorder: 50,
};

/// Frames in flight one way: (arrival time, bytes).
#[derive(Default)]
pub struct Wire {
    pub frames: Vec<(u64, Vec<u8>)>,
    pub dropped: u32,
    pub corrupted: u32,
    pub duplicated: u32,
    pub reordered: u32,
    pub carried: u32,
}

pub const LATENCY: u64 = 3;

impl Wire {
    pub fn put(&mut self, rng: &mut Rng, f: Faults, bytes: &[u8], now: u64) {
        self.carried += 1;
        if rng.chance(f.drop) {
            self.dropped += 1;
            return;
        }
        let mut b = bytes.to_vec();
        if rng.chance(f.corrupt) && !b.is_empty() {
            let i = rng.below(b.len() as u64) as usize;
            b[i] ^= 1 << rng.below(8);
            self.corrupted += 1;
        }
        let mut at = now + LATENCY;
        if rng.chance(f.reorder) {
            at += 1 + rng.below(8);
            self.reordered += 1;
        }
        if rng.chance(f.duplicate) {
            self.duplicated += 1;
            self.frames.push((at + rng.below(5), b.clone()));
        }
        self.frames.push((at, b));
    }

    /// Frames due at `now`, in arrival order (stable for equal times).
    pub fn due(&mut self, now: u64) -> Vec<Vec<u8>> {
        let mut due: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut keep = Vec::new();
        for (t, b) in self.frames.drain(..) {
            if t <= now {
                due.push((t, b));
            } else {
                keep.push((t, b));
            }
        }
        self.frames = keep;
        due.sort_by_key(|(t, _)| *t);
        due.into_iter().map(|(_, b)| b).collect()
    }
}

/// The `i`th message of side `side` in its `epoch` (a new one per session the sender saw
/// start): 6..=M bytes, on channel `i % 5`; bytes 0..6 say side, index and epoch.
pub fn message(side: u8, epoch: u8, i: u32) -> (u8, Vec<u8>) {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15
        ^ (u64::from(side) << 40)
        ^ (u64::from(epoch) << 48)
        ^ u64::from(i));
    r.next();
    let len = 6 + r.below(M as u64 - 5) as usize;
    let mut v: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
    v[0] = side;
    v[1..5].copy_from_slice(&i.to_le_bytes());
    v[5] = epoch;
    ((i % 5) as u8, v)
}

/// Like [`message`], but compressible: after the 6 header bytes, words of a small
/// vocabulary with numbers, as telemetry looks (same length and channel rule).
pub fn text_message(side: u8, epoch: u8, i: u32) -> (u8, Vec<u8>) {
    const WORDS: [&[u8]; 8] = [
        b"temperature=",
        b"humidity=",
        b" status=ok ",
        b"pressure=",
        b" sensor#",
        b"voltage=",
        b";",
        b" error=none ",
    ];
    let (ch, mut v) = message(side, epoch, i);
    let mut r = Rng(u64::from(i) ^ (u64::from(side) << 32) ^ 0x5151);
    let mut text = Vec::new();
    while text.len() < v.len() - 6 {
        text.extend_from_slice(WORDS[r.below(8) as usize]);
        text.push(b'0' + r.below(10) as u8);
    }
    let n = v.len();
    v[6..].copy_from_slice(&text[..n - 6]);
    (ch, v)
}

/// What a run saw.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub sent: [u32; 2],
    pub delivered: [u32; 2],
    pub downs: [u32; 2],
    pub ups: [u32; 2],
    pub retransmissions: [u32; 2],
    pub stale: [u32; 2],
    pub dropped: u32,
    pub corrupted: u32,
    pub duplicated: u32,
    pub reordered: u32,
    pub frames: u32,
    pub end: u64,
}

/// Two endpoints, the wires between them, and what each side sent and received.
pub struct Sim {
    pub eps: [Box<dyn Endpoint>; 2],
    pub wires: [Wire; 2],
    pub rng: Rng,
    pub faults: Faults,
    /// Per side: the epoch it sends in, and the next index to send.
    pub tx_epoch: [u8; 2],
    pub next_send: [u32; 2],
    /// Per side: the epoch of the peer's messages it receives, and the next index expected.
    pub rx_epoch: [u8; 2],
    pub next_recv: [u32; 2],
    pub ups: [u32; 2],
    pub downs: [u32; 2],
    pub down_events: Vec<(usize, ferrule::link::Event)>,
    /// Stop sending after this many messages per epoch.
    pub n: u32,
    pub now: u64,
    /// Side `i` sends only while this is true.
    pub sending: [bool; 2],
    /// Side `i` transmits nothing before this time (so that the other side's HELLO reaches
    /// it first: it answers, a true responder).
    pub hold: [u64; 2],
    /// Each side's sending epoch when the run began or the last restart happened: a run is
    /// done only with messages of a later one.
    pub fresh: [u8; 2],
    /// Side `i` is fed stream input in pieces of 1 to 8 bytes (a UART's interrupts), not
    /// whole frames.
    pub chunked: [bool; 2],
    /// The last 16 frames each side put on the wire (before faults).
    pub sent_log: [std::collections::VecDeque<Vec<u8>>; 2],
    /// Messages are [`text_message`]s (compressible), not [`message`]s.
    pub text: bool,
}

impl Sim {
    pub fn new(
        a: Box<dyn Endpoint>,
        b: Box<dyn Endpoint>,
        n: u32,
        faults: Faults,
        seed: u64,
    ) -> Self {
        Sim {
            eps: [a, b],
            wires: [Wire::default(), Wire::default()],
            rng: Rng(seed | 1),
            faults,
            tx_epoch: [0; 2],
            next_send: [0; 2],
            rx_epoch: [0; 2],
            next_recv: [0; 2],
            ups: [0; 2],
            downs: [0; 2],
            down_events: Vec::new(),
            n,
            now: 0,
            sending: [true; 2],
            hold: [0; 2],
            fresh: [0; 2],
            sent_log: Default::default(),
            chunked: [false; 2],
            text: false,
        }
    }

    /// Replaces side `side` with `ep` (a restart: power lost, state gone).
    pub fn restart(&mut self, side: usize, ep: Box<dyn Endpoint>) {
        self.eps[side] = ep;
        self.fresh = self.tx_epoch;
    }

    /// One millisecond.
    pub fn step(&mut self) {
        let now = self.now;
        let mut buf = vec![0u8; 1024];
        let mut out = vec![0u8; M];
        for side in 0..2 {
            let other = 1 - side;
            for f in self.wires[other].due(now) {
                if self.chunked[side] {
                    let mut rest = &f[..];
                    while !rest.is_empty() {
                        let n = (1 + self.rng.below(8) as usize).min(rest.len());
                        self.eps[side].input(&rest[..n], now);
                        rest = &rest[n..];
                    }
                } else {
                    self.eps[side].input(&f, now);
                }
            }
            if self.eps[side].deadline().is_some_and(|t| t <= now) {
                self.eps[side].timeout(now);
            }
            while let Some(e) = self.eps[side].event() {
                match e {
                    Event::Up => {
                        self.ups[side] += 1;
                        // A new session: a new epoch of messages.
                        self.tx_epoch[side] = self.tx_epoch[side].wrapping_add(1);
                        self.next_send[side] = 0;
                    }
                    Event::Down { .. } => {
                        self.downs[side] += 1;
                        self.down_events.push((side, e));
                    }
                }
            }
            while self.sending[side] && self.next_send[side] < self.n && self.eps[side].up() {
                let make = if self.text { text_message } else { message };
                let (ch, m) = make(side as u8, self.tx_epoch[side], self.next_send[side]);
                match self.eps[side].send(ch, &m, now) {
                    Some(_) => self.next_send[side] += 1,
                    None => break,
                }
            }
            while let Some((ch, len)) = self.eps[side].receive(&mut out) {
                let got = &out[..len];
                assert!(len >= 6, "side {side}: short message {got:?}");
                let i = u32::from_le_bytes(got[1..5].try_into().unwrap());
                let epoch = got[5];
                if epoch != self.rx_epoch[side] {
                    // The first message of a later session.
                    assert!(
                        epoch.wrapping_sub(self.rx_epoch[side]) < 128 && i == 0,
                        "side {side}: epoch {epoch} message {i} after epoch {} message {} at {now}",
                        self.rx_epoch[side],
                        self.next_recv[side]
                    );
                    self.rx_epoch[side] = epoch;
                    self.next_recv[side] = 0;
                }
                let make = if self.text { text_message } else { message };
                let (ech, em) = make(other as u8, epoch, self.next_recv[side]);
                assert_eq!(
                    (ch, got),
                    (ech, &em[..]),
                    "side {side} epoch {epoch} message {} at {now}",
                    self.next_recv[side]
                );
                self.next_recv[side] += 1;
            }
            while now >= self.hold[side] {
                let Some(k) = self.eps[side].transmit(now, &mut buf) else {
                    break;
                };
                let faults = self.faults;
                let log = &mut self.sent_log[side];
                if log.len() == 16 {
                    log.pop_front();
                }
                log.push_back(buf[..k].to_vec());
                self.wires[side].put(&mut self.rng, faults, &buf[..k], now);
            }
        }
        self.now += 1;
    }

    /// Steps until each side received `n` messages of the other's current epoch, or `limit`.
    pub fn run_until_delivered(&mut self, n: u32, limit: u64) -> bool {
        while self.now < limit {
            self.step();
            let done = (0..2).all(|s| {
                self.next_recv[s] >= n
                    && self.rx_epoch[s] == self.tx_epoch[1 - s]
                    && self.tx_epoch[1 - s] != self.fresh[1 - s]
            });
            if done {
                return true;
            }
        }
        false
    }

    pub fn report(&self) -> Report {
        let mut rep = Report::default();
        for side in 0..2 {
            rep.sent[side] = self.next_send[side];
            rep.delivered[side] = self.next_recv[side];
            rep.ups[side] = self.ups[side];
            rep.downs[side] = self.downs[side];
            let (r, s) = self.eps[side].counts();
            rep.retransmissions[side] = r;
            rep.stale[side] = s;
        }
        for w in &self.wires {
            rep.dropped += w.dropped;
            rep.corrupted += w.corrupted;
            rep.duplicated += w.duplicated;
            rep.reordered += w.reordered;
            rep.frames += w.carried;
        }
        rep.end = self.now;
        rep
    }
}

/// Drives `a` and `b` (side 0 and 1) until each delivered `n` messages of the other, or
/// `limit` ms passed; every message checked byte for byte, exactly once, in order.
pub fn run(
    a: Box<dyn Endpoint>,
    b: Box<dyn Endpoint>,
    n: u32,
    faults: Faults,
    seed: u64,
    limit: u64,
) -> Report {
    let mut sim = Sim::new(a, b, n, faults, seed);
    sim.run_until_delivered(n, limit);
    sim.report()
}
