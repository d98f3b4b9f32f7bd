//! CPU time of a stack, measured by replay: during the simulated run every call the
//! application makes into an endpoint is recorded with its arguments; afterwards the calls
//! are made again, in order, on a fresh endpoint built the same way, in a tight loop under
//! one clock reading. Both stacks are deterministic, so the replay does exactly the work of
//! the run, and the timer's own cost (over 100 ns a reading on some machines) stays out of
//! the figure.

use crate::driver::{Counters, Endpoint};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// One call into an endpoint.
pub enum Call {
    CanSend,
    Send(Vec<u8>, u64),
    Transmit(u64),
    Input(Vec<u8>, u64),
    Recv,
    NextTimer(u64),
    OnTime(u64),
}

/// An endpoint whose calls are recorded.
pub struct Recorded<E> {
    pub inner: E,
    pub calls: Vec<Call>,
}

impl<E> Recorded<E> {
    pub fn new(inner: E) -> Self {
        Self {
            inner,
            calls: Vec::new(),
        }
    }
}

impl<E: Endpoint> Endpoint for Recorded<E> {
    fn can_send(&mut self) -> bool {
        self.calls.push(Call::CanSend);
        self.inner.can_send()
    }
    fn send(&mut self, msg: &[u8], now: u64) -> bool {
        self.calls.push(Call::Send(msg.to_vec(), now));
        self.inner.send(msg, now)
    }
    fn transmit(&mut self, now: u64, out: &mut Vec<u8>) -> bool {
        self.calls.push(Call::Transmit(now));
        self.inner.transmit(now, out)
    }
    fn input(&mut self, frame: &[u8], now: u64) {
        self.calls.push(Call::Input(frame.to_vec(), now));
        self.inner.input(frame, now)
    }
    fn recv(&mut self, out: &mut [u8]) -> Option<usize> {
        self.calls.push(Call::Recv);
        self.inner.recv(out)
    }
    fn next_timer(&mut self, now: u64) -> Option<u64> {
        self.calls.push(Call::NextTimer(now));
        self.inner.next_timer(now)
    }
    fn on_time(&mut self, now: u64) {
        self.calls.push(Call::OnTime(now));
        self.inner.on_time(now)
    }
    fn frame_waiting(&self) -> bool {
        self.inner.frame_waiting()
    }
    fn budget_free(&self) -> bool {
        self.inner.budget_free()
    }
    fn observe_sent(&mut self, frame: &[u8]) {
        self.inner.observe_sent(frame)
    }
    fn observe_received(&mut self, frame: &[u8]) {
        self.inner.observe_received(frame)
    }
    fn counters(&self) -> Counters {
        self.inner.counters()
    }
}

/// Makes `calls` on `e`; the wall time it took.
fn replay_one<E: Endpoint>(calls: &[Call], mut e: E, size: usize) -> Duration {
    let mut out = Vec::with_capacity(4096);
    let mut rx = vec![0u8; size];
    let t = Instant::now();
    for c in calls {
        match c {
            Call::CanSend => {
                black_box(e.can_send());
            }
            Call::Send(msg, now) => {
                black_box(e.send(msg, *now));
            }
            Call::Transmit(now) => {
                black_box(e.transmit(*now, &mut out));
            }
            Call::Input(frame, now) => e.input(frame, *now),
            Call::Recv => {
                black_box(e.recv(&mut rx));
            }
            Call::NextTimer(now) => {
                black_box(e.next_timer(*now));
            }
            Call::OnTime(now) => e.on_time(*now),
        }
    }
    let d = t.elapsed();
    drop(e);
    d
}

/// Nanoseconds both endpoints of a recorded run take for their calls: the fastest of
/// `rounds` replays on endpoints from `make`.
pub fn cpu_ns<E: Endpoint>(
    recorded: &[Recorded<E>; 2],
    make: impl Fn(usize) -> E,
    size: usize,
    rounds: usize,
) -> u64 {
    (0..rounds)
        .map(|_| {
            (0..2)
                .map(|side| replay_one(&recorded[side].calls, make(side), size))
                .sum::<Duration>()
        })
        .min()
        .unwrap_or_default()
        .as_nanos() as u64
}
