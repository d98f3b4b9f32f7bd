//! ferrule's [`Link`] as a benchmark endpoint.

use crate::driver::{Counters, Endpoint, Scenario};
use ferrule::link::{Config, DownReason, Event, Fec, Link, LinkStats, Repair, Sent, Transport};
use std::sync::OnceLock;

/// `--set name=value` overrides of the configuration, for tuning runs.
static OVERRIDES: OnceLock<Vec<(String, u32)>> = OnceLock::new();

/// The names `--set` takes.
pub const TUNABLE: [&str; 7] = [
    "rto_initial",
    "rto_min",
    "rto_max",
    "max_retransmits",
    "dupthresh",
    "ack_delay",
    "keepalive",
];

/// Installs `--set` overrides (once, before any run).
pub fn set_overrides(o: Vec<(String, u32)>) {
    OVERRIDES.set(o).expect("overrides set once");
}

/// The overrides in force, as `name=value` pairs.
pub fn overrides() -> &'static [(String, u32)] {
    OVERRIDES.get().map_or(&[], |v| v.as_slice())
}

/// The link configuration of the benchmark (the simulator's: RTO from 100 ms, at least
/// 10 ms, at most 2 s; acks delayed at most 2 ms; keepalive 500 ms; dupthresh 2), with
/// `--set` overrides.
pub fn config(stream: bool) -> Config {
    let mut c = Config {
        transport: if stream {
            Transport::Stream
        } else {
            Transport::Datagram
        },
        rto_initial: 100,
        rto_min: 10,
        rto_max: 2000,
        ack_delay: 2,
        keepalive: 500,
        dupthresh: 2,
        ..Config::default()
    };
    for (name, v) in overrides() {
        let v = *v;
        match name.as_str() {
            "rto_initial" => c.rto_initial = v,
            "rto_min" => c.rto_min = v,
            "rto_max" => c.rto_max = v,
            "max_retransmits" => c.max_retransmits = v as u8,
            "dupthresh" => c.dupthresh = v as u8,
            "ack_delay" => c.ack_delay = v,
            "keepalive" => c.keepalive = v,
            _ => unreachable!("checked when parsed"),
        }
    }
    c
}

pub struct FerruleEnd {
    link: Link<'static>,
    stream: bool,
    /// `poll_transmit`'s buffer, of the largest frame.
    buf: Vec<u8>,
    /// Sessions that ended: when (ms), why, and how many messages were discarded.
    pub downs: Vec<(u64, DownReason, u16)>,
}

impl FerruleEnd {
    /// Endpoint `side` (0 or 1) of scenario `sc`: window and largest message as the
    /// scenario's, no best-effort mailboxes, the scenario's FEC (memory leaked, like a
    /// firmware's `static`).
    pub fn new(sc: &Scenario, side: u64) -> Self {
        let stream = sc.medium.stream();
        let buffers = crate::sim::leaked_buffers(sc.window, sc.size, false);
        let mut link = Link::new(config(stream), sc.seed ^ (0xA + side), buffers).unwrap();
        if let Some(f) = sc.fec {
            let mem = vec![0u8; Fec::storage_size(&f, sc.size)].leak();
            let fec = Box::leak(Box::new(Fec::new(f, sc.size, mem).unwrap()));
            link.enable_fec(fec as &mut dyn Repair);
        }
        Self {
            buf: vec![0; link.max_frame_len()],
            link,
            stream,
            downs: Vec::new(),
        }
    }

    /// Takes the link's events (a `Down` is recorded).
    fn events(&mut self, now: u64) {
        while let Some(e) = self.link.poll_event() {
            if let Event::Down {
                reason, unacked, ..
            } = e
            {
                self.downs.push((now, reason, unacked));
            }
        }
    }

    pub fn stats(&self) -> LinkStats {
        self.link.stats()
    }
}

impl Endpoint for FerruleEnd {
    fn budget_free(&self) -> bool {
        self.link.is_up() && self.link.send_capacity() > 0
    }

    fn send(&mut self, msg: &[u8], now: u64) -> bool {
        matches!(self.link.send(0, msg, now), Ok(Sent::Reliable(_)))
    }

    fn transmit(&mut self, now: u64, out: &mut Vec<u8>) -> bool {
        match self.link.poll_transmit(now, &mut self.buf) {
            Ok(Some(n)) => {
                out.clear();
                out.extend_from_slice(&self.buf[..n]);
                true
            }
            _ => false,
        }
    }

    fn input(&mut self, frame: &[u8], now: u64) {
        if self.stream {
            self.link.handle_input(frame, now);
        } else {
            self.link.handle_datagram(frame, now);
        }
        self.events(now);
    }

    fn recv(&mut self, out: &mut [u8]) -> Option<usize> {
        match self.link.recv(out) {
            Ok(Some(r)) => Some(r.len),
            _ => None,
        }
    }

    fn next_timer(&mut self, _now: u64) -> Option<u64> {
        self.link.poll_timeout()
    }

    fn on_time(&mut self, now: u64) {
        self.link.handle_timeout(now);
        self.events(now);
    }

    fn counters(&self) -> Counters {
        let s = self.link.stats();
        Counters {
            data_frames: u64::from(s.rdata_frames_sent),
            retransmissions: u64::from(s.retransmissions),
            duplicates_received: u64::from(s.duplicates),
            downs: self.downs.len() as u64,
        }
    }
}
