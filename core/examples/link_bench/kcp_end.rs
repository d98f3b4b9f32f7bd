//! KCP (the `kcp` crate, a Rust port of skywind3000/kcp) as a benchmark endpoint, set up at
//! its best:
//! - `nodelay(true, 10, 2, true)`: no-delay RTO, a 10 ms internal interval, fast resend after
//!   2 acks that skip a segment, no congestion window;
//! - minimum RTO 10 ms (`rx_minrto`);
//! - `flush` right after every `input` and `send` (acks and new data leave at once, not at
//!   the next 10 ms tick);
//! - the same in-flight budget as ferrule's window: `snd_wnd` = W, so at most W sequence
//!   numbers are in flight, and the application hands over a message only while
//!   `wait_snd()` (segments unacknowledged or queued) is below W — the usual KCP flow
//!   control; a message accepted while the window waits on a lost segment waits in KCP's
//!   send queue, and that wait counts in its latency. `rcv_wnd` = W is asked for; the crate
//!   raises any receive window below 128 to 128, which only widens what the receiver
//!   would buffer;
//! - mtu = 24 + message size: one message per segment, at most one data segment per
//!   datagram (acks share datagrams among themselves).
//!
//! KCP has no checksum and needs datagrams. On the simulated UART every KCP datagram goes
//! out as a frame of the same form as ferrule's: COBS(datagram ‖ CRC-32C) and a `0x00`
//! delimiter, so it pays the same byte cost a COBS+CRC frame of its segment would, and
//! that framing's encode/decode time is counted as KCP's CPU time.
//!
//! Datagrams KCP emits wait in a FIFO until the line takes them (the UART driver's queue; on
//! the unlimited-rate datagram path it is always empty).

use crate::driver::{Counters, Endpoint, Scenario};
use kcp::Kcp;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Write;
use std::rc::Rc;

/// The conversation id both ends use.
const CONV: u32 = 0x5EED_CAFE;
/// KCP's segment header.
const HEADER: usize = kcp::KCP_OVERHEAD;
/// KCP's data command.
const CMD_PUSH: u8 = 81;

/// Where KCP's output goes: one entry per datagram.
#[derive(Clone, Default)]
struct Outbox(Rc<RefCell<VecDeque<Vec<u8>>>>);

impl Write for Outbox {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().push_back(buf.to_vec());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A KCP control block set up as the module docs say.
fn configured<O: Write>(window: usize, size: usize, out: O) -> Kcp<O> {
    let mut k = Kcp::new(CONV, out);
    k.set_nodelay(true, 10, 2, true);
    k.set_rx_minrto(10);
    k.set_wndsize(window as u16, window as u16);
    k.set_mtu(HEADER + size).expect("mtu");
    k
}

/// The sequence numbers of the data segments in a datagram.
fn pushed(datagram: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        while at + HEADER <= datagram.len() {
            let h = &datagram[at..at + HEADER];
            let cmd = h[4];
            let sn = u32::from_le_bytes(h[12..16].try_into().unwrap());
            let len = u32::from_le_bytes(h[20..24].try_into().unwrap()) as usize;
            at += HEADER + len;
            if cmd == CMD_PUSH {
                return Some(sn);
            }
        }
        None
    })
}

/// Marks `sn` seen; whether it had been.
fn seen_before(seen: &mut Vec<bool>, sn: u32) -> bool {
    let i = sn as usize;
    if i >= seen.len() {
        seen.resize(i + 1, false);
    }
    std::mem::replace(&mut seen[i], true)
}

pub struct KcpEnd {
    kcp: Kcp<Outbox>,
    outbox: Outbox,
    window: usize,
    stream: bool,
    /// Decoded datagram (stream framing).
    scratch: Vec<u8>,
    sent: Vec<bool>,
    received: Vec<bool>,
    counters: Counters,
}

impl KcpEnd {
    pub fn new(sc: &Scenario, _side: u64) -> Self {
        let outbox = Outbox::default();
        let mut kcp = configured(sc.window, sc.size, outbox.clone());
        kcp.update(0).expect("update");
        Self {
            kcp,
            outbox,
            window: sc.window,
            stream: sc.medium.stream(),
            scratch: vec![0; HEADER * 64 + sc.size + 16],
            sent: Vec::new(),
            received: Vec::new(),
            counters: Counters::default(),
        }
    }

    /// The datagram inside a frame off the line (stream framing: COBS and CRC-32C checked
    /// and removed), in `scratch`; its length.
    fn unframe(&mut self, frame: &[u8]) -> Option<usize> {
        if !self.stream {
            self.scratch.clear();
            self.scratch.extend_from_slice(frame);
            return Some(frame.len());
        }
        self.scratch.resize(frame.len(), 0);
        let body = frame.strip_suffix(&[0])?;
        let n = ferrule::cobs::decode(body, &mut self.scratch).ok()?;
        let (dg, crc) = self.scratch[..n].split_at(n.checked_sub(4)?);
        (ferrule::crc::crc32c(dg).to_le_bytes() == crc).then_some(n - 4)
    }
}

impl Endpoint for KcpEnd {
    fn budget_free(&self) -> bool {
        self.kcp.wait_snd() < self.window
    }

    fn send(&mut self, msg: &[u8], now: u64) -> bool {
        let ok = self.kcp.update(now as u32).is_ok() && self.kcp.send(msg).is_ok();
        ok && self.kcp.flush().is_ok()
    }

    fn transmit(&mut self, _now: u64, out: &mut Vec<u8>) -> bool {
        let Some(dg) = self.outbox.0.borrow_mut().pop_front() else {
            return false;
        };
        if self.stream {
            let mut body = dg;
            body.extend_from_slice(&ferrule::crc::crc32c(&body).to_le_bytes());
            out.resize(ferrule::cobs::max_encoded_len(body.len()) + 1, 0);
            let n = ferrule::cobs::encode(&body, out).expect("cobs");
            out.truncate(n);
            out.push(0);
        } else {
            out.clear();
            out.extend_from_slice(&dg);
        }
        true
    }

    fn input(&mut self, frame: &[u8], now: u64) {
        let Some(n) = self.unframe(frame) else {
            return;
        };
        let _ = self.kcp.update(now as u32);
        let _ = self.kcp.input(&self.scratch[..n]);
        let _ = self.kcp.flush();
    }

    fn recv(&mut self, out: &mut [u8]) -> Option<usize> {
        self.kcp.recv(out).ok()
    }

    fn next_timer(&mut self, now: u64) -> Option<u64> {
        Some(now + u64::from(self.kcp.check(now as u32)))
    }

    fn on_time(&mut self, now: u64) {
        let _ = self.kcp.update(now as u32);
    }

    fn frame_waiting(&self) -> bool {
        !self.outbox.0.borrow().is_empty()
    }

    fn observe_sent(&mut self, frame: &[u8]) {
        let Some(n) = self.unframe(frame) else {
            return;
        };
        for sn in pushed(&self.scratch[..n]) {
            self.counters.data_frames += 1;
            if seen_before(&mut self.sent, sn) {
                self.counters.retransmissions += 1;
            }
        }
    }

    fn observe_received(&mut self, frame: &[u8]) {
        let Some(n) = self.unframe(frame) else {
            return;
        };
        for sn in pushed(&self.scratch[..n]) {
            if seen_before(&mut self.received, sn) {
                self.counters.duplicates_received += 1;
            }
        }
    }

    fn counters(&self) -> Counters {
        Counters {
            // KCP never ends a session: it flags a dead link (a segment sent 20 times).
            downs: u64::from(self.kcp.is_dead_link()),
            ..self.counters
        }
    }
}

/// Output that goes nowhere (for the memory measurement).
struct Discard;

impl Write for Discard {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Heap bytes (as `live` counts them) of one KCP endpoint in steady state with both windows
/// full: the control block itself (boxed, so it is counted), `window` messages of `size`
/// bytes sent and unacknowledged, and `window - 1` messages received behind a lost one.
pub fn heap_with_full_window(window: usize, size: usize, live: impl Fn() -> usize) -> usize {
    let mut msg = vec![0u8; size];
    // The peer's datagrams, made before counting starts.
    let peer_out = Outbox::default();
    let mut peer = configured(window, size, peer_out.clone());
    peer.update(0).expect("update");
    for i in 0..window as u64 {
        crate::driver::message(i, 1, &mut msg);
        peer.send(&msg).expect("send");
    }
    peer.flush().expect("flush");
    let datagrams: Vec<Vec<u8>> = peer_out.0.borrow_mut().drain(..).collect();
    assert_eq!(datagrams.len(), window, "one message per datagram");

    let base = live();
    let mut k = Box::new(configured(window, size, Discard));
    k.update(0).expect("update");
    for d in &datagrams[1..] {
        k.input(d).expect("input");
    }
    k.flush().expect("flush");
    for i in 0..window as u64 {
        crate::driver::message(i, 0, &mut msg);
        k.send(&msg).expect("send");
    }
    k.flush().expect("flush");
    assert_eq!(k.wait_snd(), window);
    let heap = live() - base;
    drop(k);
    heap
}
