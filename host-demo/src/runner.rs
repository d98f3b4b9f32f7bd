//! The shared link runner: one link, its wire, its capture and its timers, behind
//! `send` / `recv` / `poll_event`. Every subcommand drives its links through a [`Runner`];
//! this module and `driver.rs` are the only places that know the link API.
//!
//! A runner is driven in turns:
//!
//! 1. [`Runner::pump`] feeds what the wire delivered into the link, runs its timers, puts its
//!    frames on the wire (and in the capture), and queues events and messages;
//! 2. the caller takes [`Runner::poll_event`], [`Runner::recv`], [`Runner::take_app`] and
//!    sends with [`Runner::send`];
//! 3. [`Runner::wait`] blocks until the wire or the caller's own inputs (a [`Waker`]) have
//!    something, or the link's next timer is due — returning at once if step 2 left work.
//!
//! Acknowledgement: the link confirms reliable messages in the order they were sent (its
//! send window advances over them), so the runner numbers every reliable message it hands
//! the link and reports [`Event::Acked`] as the window passes it. When a session ends, the
//! messages it could not confirm are named in [`Event::Down`].

use crate::capture::Capture;
use crate::driver::{
    Delivery, Driver, LinkEvent, Refused, RustLink, Setup, StatsLine, MAX_FRAME, MAX_MESSAGE,
};
use crate::fail::{Code, Failure};
use crate::interrupt;
use crate::transport::{self, Deliver, Endpoint, Wire};
use ferrule::compress::Mode;
use std::collections::VecDeque;
use std::io;
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A reliable message's number: 1 for the first the runner sent, +1 for each after.
pub type MsgId = u64;

/// Where a link goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireSpec {
    /// A serial device.
    Device {
        /// Its path (`/dev/ttyUSB0`, `COM3`).
        path: String,
        /// Line rate.
        baud: u32,
    },
    /// UDP datagrams between `local` and `peer`.
    Udp {
        /// Address to bind.
        local: String,
        /// Address to send to.
        peer: String,
    },
    /// A TCP connection this end makes (reconnected when it drops).
    Tcp(String),
    /// A TCP connection this end accepts (the next one is accepted when it drops).
    TcpListen(String),
}

impl WireSpec {
    /// Whether this wire is a byte stream by nature.
    pub fn is_stream(&self) -> bool {
        !matches!(self, WireSpec::Udp { .. })
    }

    /// A short description.
    pub fn name(&self) -> String {
        match self {
            WireSpec::Device { path, baud } => format!("{path} at {baud} baud"),
            WireSpec::Udp { peer, .. } => format!("udp {peer}"),
            WireSpec::Tcp(a) => format!("tcp {a}"),
            WireSpec::TcpListen(a) => format!("tcp listening on {a}"),
        }
    }
}

/// Everything needed to make a link.
#[derive(Debug, Clone)]
pub struct LinkSpec {
    /// The wire.
    pub wire: WireSpec,
    /// Stream (COBS) framing; `false`: one frame per datagram (UDP only).
    pub stream: bool,
    /// Compression of reliable messages.
    pub compression: Mode,
    /// AEAD pre-shared key and its id.
    pub key: Option<([u8; 32], u8)>,
    /// Window: messages in flight each way (0: 32).
    pub window: u8,
    /// Largest message this end sends and accepts.
    pub max_message: usize,
    /// pcapng file to record every frame into.
    pub capture: Option<String>,
    /// Channels sent best effort; all others are reliable.
    pub best_effort: Vec<u8>,
    /// Seed of the link's handshake nonces (must never repeat under the same key).
    pub seed: u64,
    /// Initial retransmission timeout, ms.
    pub rto_initial: u32,
    /// Keepalive interval, ms.
    pub keepalive: u32,
    /// Forward error correction: data and parity frames per group.
    pub fec: Option<(u8, u8)>,
}

impl LinkSpec {
    /// A spec for `wire` with the tool's defaults.
    pub fn new(wire: WireSpec) -> Self {
        Self {
            stream: wire.is_stream(),
            wire,
            compression: Mode::Shared,
            key: None,
            window: 0,
            max_message: MAX_MESSAGE,
            capture: None,
            best_effort: Vec::new(),
            seed: fresh_seed(),
            rto_initial: 500,
            keepalive: 1000,
            fec: None,
        }
    }
}

/// A seed that never repeats in practice: 64 bits from the operating system's random source
/// (the keys `std` draws for its hash maps), mixed with the clock.
pub fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(t.as_nanos());
    h.write_u32(std::process::id());
    h.finish()
}

/// What happened on a runner's link or wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The wire is there (opened, connected or accepted).
    Connected(String),
    /// The wire went away; the runner waits for it to come back.
    Disconnected(String),
    /// A session is up: messages can be sent.
    Up,
    /// The session ended; `lost` are the reliable messages it could not confirm (the peer
    /// may or may not have them).
    Down {
        /// Why, in words.
        reason: String,
        /// The unconfirmed messages, oldest first.
        lost: Vec<MsgId>,
    },
    /// A message arrived but could not be delivered (it failed to decompress); the link
    /// counted it (`decompress_failed`).
    Undelivered {
        /// Channel it arrived on.
        channel: u8,
        /// Why, in words.
        reason: String,
    },
    /// The peer acknowledged message `id`, `rtt` after it was handed to the link.
    Acked {
        /// The message.
        id: MsgId,
        /// Time from `send` to the acknowledgement.
        rtt: Duration,
    },
}

/// [`Event::Undelivered`] in words: "a message on channel 2 was dropped: it failed to ...".
pub fn undelivered_text(channel: u8, reason: &str) -> String {
    format!("a message on channel {channel} was dropped: {reason}")
}

/// A delivered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Channel it arrived on.
    pub channel: u8,
    /// Its bytes.
    pub data: Vec<u8>,
    /// Whether it came over the reliable, ordered service.
    pub reliable: bool,
}

enum Input<X> {
    Wire(u64, io::Result<Vec<u8>>),
    Accepted(TcpStream),
    App(X),
    /// A signal asked the tool to stop ([`crate::interrupt`]): ends a [`Runner::wait`].
    Interrupt,
}

/// Hands the runner's owner inputs of its own (stdin lines, socket clients) from other
/// threads; each one ends a [`Runner::wait`].
pub struct Waker<X>(Sender<Input<X>>);

impl<X> Clone for Waker<X> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<X: Send + 'static> Waker<X> {
    /// Queues `x` for [`Runner::take_app`]; false once the runner is gone.
    pub fn wake(&self, x: X) -> bool {
        self.0.send(Input::App(x)).is_ok()
    }
}

/// How a lost wire comes back.
enum Reopen {
    /// It does not: losing it ends the run.
    Never,
    /// Opened again by spec, attempted at `next`.
    Spec(WireSpec, Option<Instant>),
    /// A listener thread hands over the next connection.
    Listener,
}

/// Longest an interrupted runner waits for its CLOSE to go out.
pub const CLOSE_ON_INTERRUPT: Duration = Duration::from_millis(500);

/// Time between attempts to reopen a lost device or connection.
const REOPEN_EVERY: Duration = Duration::from_millis(50);

/// One link, its wire, capture and timers. See the [module docs](self).
pub struct Runner<X: Send + 'static = ()> {
    link: Box<dyn Driver>,
    wire: Option<Wire>,
    generation: u64,
    reopen: Reopen,
    tx: Sender<Input<X>>,
    rx: Receiver<Input<X>>,
    capture: Option<Capture>,
    start: Instant,
    events: VecDeque<Event>,
    delivered: VecDeque<Message>,
    app: VecDeque<X>,
    /// Reliable messages not yet acknowledged: the runner's number, when sent, the link's id.
    in_flight: VecDeque<(MsgId, Instant, u32)>,
    next_id: MsgId,
    best_effort: Vec<u8>,
    max_message: usize,
    dirty: bool,
    msg: Vec<u8>,
    frame: Vec<u8>,
    /// What the wire is, in words.
    pub name: String,
    /// Wakes [`Self::wait`] when a signal arrives.
    _signal: interrupt::Registration,
}

impl<X: Send + 'static> Runner<X> {
    /// A runner of `link` over an opened endpoint; losing the wire ends the run.
    pub fn with_endpoint(
        link: Box<dyn Driver>,
        ep: Endpoint,
        capture: Option<Capture>,
        name: &str,
    ) -> io::Result<Self> {
        let mut r = Self::bare(link, capture, Reopen::Never, name);
        r.attach(ep)?;
        Ok(r)
    }

    fn bare(link: Box<dyn Driver>, capture: Option<Capture>, reopen: Reopen, name: &str) -> Self {
        let (tx, rx) = mpsc::channel();
        let to_wake = tx.clone();
        let signal = interrupt::on_signal(move || {
            let _ = to_wake.send(Input::Interrupt);
        });
        Self {
            link,
            wire: None,
            generation: 0,
            reopen,
            tx,
            rx,
            capture,
            start: Instant::now(),
            events: VecDeque::new(),
            delivered: VecDeque::new(),
            app: VecDeque::new(),
            in_flight: VecDeque::new(),
            next_id: 1,
            best_effort: Vec::new(),
            max_message: MAX_MESSAGE,
            dirty: false,
            msg: vec![0; MAX_MESSAGE],
            frame: vec![0; MAX_FRAME],
            name: name.to_string(),
            _signal: signal,
        }
    }

    /// Opens the wire and makes the link `spec` describes (a Rust API link). A device that
    /// is missing or busy, an address in use or a refused connection fails here, with its
    /// exit status; a listening wire waits for its connection in the event loop.
    pub fn open(spec: &LinkSpec) -> Result<Self, Failure> {
        if spec.stream != spec.wire.is_stream() && spec.wire.is_stream() {
            return Err(Failure::usage(
                "--transport datagram needs a datagram wire (--udp)",
            ));
        }
        let link = RustLink::new(&Setup {
            stream: spec.stream,
            compression: spec.compression,
            window: if spec.window == 0 { 32 } else { spec.window },
            max_message: spec.max_message.clamp(1, MAX_MESSAGE),
            seed: spec.seed,
            key: spec.key.map(|k| k.0),
            key_id: spec.key.map_or(1, |k| k.1),
            rto_initial: spec.rto_initial,
            keepalive: spec.keepalive,
            best_effort: spec.best_effort.clone(),
            fec: spec.fec,
        })
        .map_err(|e| Failure::io(&e, "link"))?;
        let capture = match &spec.capture {
            Some(p) => Some(
                Capture::create(p, spec.stream).map_err(|e| Failure::output("--capture", p, &e))?,
            ),
            None => None,
        };
        let reopen = match &spec.wire {
            WireSpec::Udp { .. } => Reopen::Never,
            WireSpec::TcpListen(_) => Reopen::Listener,
            w => Reopen::Spec(w.clone(), None),
        };
        let mut r = Self::bare(Box::new(link), capture, reopen, &spec.wire.name());
        r.best_effort = spec.best_effort.clone();
        r.max_message = spec.max_message.min(MAX_MESSAGE);
        match &spec.wire {
            WireSpec::TcpListen(addr) => {
                let l = transport::tcp_listen(addr).map_err(|e| Failure::io(&e, ""))?;
                let tx = r.tx.clone();
                std::thread::spawn(move || {
                    for s in l.incoming().flatten() {
                        if tx.send(Input::Accepted(s)).is_err() {
                            return;
                        }
                    }
                });
            }
            w => {
                let ep = open_endpoint(w).map_err(|e| match interrupt::requested() {
                    true => Failure::interrupted(),
                    false => Failure::io(&e, ""),
                })?;
                r.attach(ep).map_err(|e| Failure::io(&e, "wire"))?;
            }
        }
        Ok(r)
    }

    fn attach(&mut self, ep: Endpoint) -> io::Result<()> {
        self.generation += 1;
        let (g, tx) = (self.generation, Arc::new(Mutex::new(self.tx.clone())));
        let deliver: Deliver = Arc::new(move |r| {
            tx.lock()
                .map(|t| t.send(Input::Wire(g, r)).is_ok())
                .unwrap_or(false)
        });
        // An accepted connection is named by who connected, not by the listening address.
        let name = match &ep {
            Endpoint::Tcp(s) if matches!(self.reopen, Reopen::Listener) => match s.peer_addr() {
                Ok(from) => format!("tcp connection from {from}"),
                Err(_) => self.name.clone(),
            },
            _ => self.name.clone(),
        };
        self.wire = Some(Wire::start(ep, deliver)?);
        self.events.push_back(Event::Connected(name));
        Ok(())
    }

    /// A handle that queues inputs of the caller's own for [`Self::take_app`].
    pub fn waker(&self) -> Waker<X> {
        Waker(self.tx.clone())
    }

    /// Milliseconds since the runner started (the link's clock).
    pub fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn input(&mut self, i: Input<X>) -> Result<(), Failure> {
        match i {
            Input::Wire(g, _) if g != self.generation => {}
            Input::Wire(_, Ok(bytes)) => {
                if let Some(c) = &mut self.capture {
                    c.received(&bytes)?;
                }
                let now = self.now_ms();
                self.link.input(&bytes, now);
            }
            Input::Wire(_, Err(e)) => {
                self.wire = None;
                match &mut self.reopen {
                    Reopen::Never => return Err(Failure::io(&e, &self.name)),
                    Reopen::Spec(_, next) => *next = Some(Instant::now() + REOPEN_EVERY),
                    Reopen::Listener => {}
                }
                self.events.push_back(Event::Disconnected(e.to_string()));
            }
            Input::Accepted(s) => {
                self.wire = None;
                self.attach(Endpoint::Tcp(s))?;
            }
            Input::App(x) => self.app.push_back(x),
            Input::Interrupt => {}
        }
        Ok(())
    }

    fn try_reopen(&mut self) {
        let spec = match &self.reopen {
            Reopen::Spec(spec, Some(at)) if Instant::now() >= *at => spec.clone(),
            _ => return,
        };
        let next = match open_endpoint(&spec).and_then(|ep| self.attach(ep)) {
            Ok(()) => None,
            Err(_) => Some(Instant::now() + REOPEN_EVERY),
        };
        self.reopen = Reopen::Spec(spec, next);
    }

    /// Feeds what arrived into the link, runs its timers, transmits, and queues events and
    /// messages. Never blocks; returns whether anything happened.
    ///
    /// Once a signal asked the tool to stop ([`crate::interrupt`]), closes the session (a
    /// CLOSE goes out, drained for at most [`CLOSE_ON_INTERRUPT`]), writes the capture out and
    /// fails with status 130.
    pub fn pump(&mut self) -> Result<bool, Failure> {
        if interrupt::requested() {
            return Err(self.stop());
        }
        let mut busy = std::mem::take(&mut self.dirty);
        while let Ok(i) = self.rx.try_recv() {
            busy = true;
            self.input(i)?;
        }
        self.try_reopen();
        let now = self.now_ms();
        self.link.handle_timeout(now);
        while let Some(d) = self.link.recv(&mut self.msg) {
            busy = true;
            match d {
                Delivery::Message(d) => self.delivered.push_back(Message {
                    channel: d.channel,
                    data: self.msg[..d.len].to_vec(),
                    reliable: d.reliable,
                }),
                Delivery::Dropped { channel, reason } => self
                    .events
                    .push_back(Event::Undelivered { channel, reason }),
            }
        }
        if let Some(w) = &self.wire {
            while let Some(n) = self
                .link
                .poll_transmit(now, &mut self.frame)
                .map_err(|e| Failure::io(&e, "link"))?
            {
                busy = true;
                if let Some(c) = &mut self.capture {
                    c.sent(&self.frame[..n])?;
                }
                if let Err(e) = w.send(&self.frame[..n]) {
                    return Err(Failure::io(&e, &self.name));
                }
            }
        }
        busy |= self.link_events();
        Ok(busy)
    }

    /// Queues the link's events and the acknowledgements it made; whether there were any.
    fn link_events(&mut self) -> bool {
        let mut busy = false;
        while let Some(e) = self.link.poll_event() {
            busy = true;
            match e {
                LinkEvent::Up => self.events.push_back(Event::Up),
                LinkEvent::Down { reason, first } => {
                    // Everything before `first` was acknowledged; the rest is lost.
                    self.acked(first);
                    let lost = self.in_flight.drain(..).map(|(id, _, _)| id).collect();
                    self.events.push_back(Event::Down { reason, lost });
                }
            }
        }
        busy | self.acked(self.link.acked_before())
    }

    /// [`Self::pump`] for a command that prints what the stop produced (the `down` event
    /// naming the messages the close left unconfirmed) before it ends: the interruption comes
    /// back as `Ok(Some(failure))`, to be returned once the queued events are printed.
    pub fn pump_deferring_interrupt(&mut self) -> Result<Option<Failure>, Failure> {
        match self.pump() {
            Err(f) if f.code == Code::Interrupted => Ok(Some(f)),
            p => p.map(|_| None),
        }
    }

    /// Reports every message whose link id comes before `before` as acknowledged.
    fn acked(&mut self, before: u32) -> bool {
        let mut any = false;
        while let Some(&(id, at, link_id)) = self.in_flight.front() {
            if (before.wrapping_sub(link_id) as i32) <= 0 {
                break;
            }
            self.in_flight.pop_front();
            self.events.push_back(Event::Acked {
                id,
                rtt: at.elapsed(),
            });
            any = true;
        }
        any
    }

    /// Blocks until the wire or a [`Waker`] delivers something, the link's next timer is
    /// due, or `max` passed; at once if events, messages or inputs are waiting or something
    /// was sent since the last [`Self::pump`].
    pub fn wait(&mut self, max: Duration) -> Result<(), Failure> {
        if interrupt::requested()
            || self.dirty
            || !self.events.is_empty()
            || !self.delivered.is_empty()
            || !self.app.is_empty()
        {
            return Ok(());
        }
        let now = Instant::now();
        let mut until = now + max;
        if self.wire.is_some() {
            if let Some(t) = self.link.poll_timeout() {
                until = until.min(self.start + Duration::from_millis(t));
            }
        }
        if let Reopen::Spec(_, Some(at)) = &self.reopen {
            until = until.min(*at);
        }
        match self.rx.recv_timeout(until.saturating_duration_since(now)) {
            Ok(i) => self.input(i),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => Ok(()),
        }
    }

    /// Hands `data` to the link on `channel`: its number if the channel is reliable and this
    /// link reports acknowledgements, `None` otherwise.
    pub fn send(&mut self, channel: u8, data: &[u8]) -> Result<Option<MsgId>, Refused> {
        if data.len() > self.max_message {
            return Err(Refused::TooLarge);
        }
        let now = self.now_ms();
        let sent = self.link.send(channel, data, now)?;
        self.dirty = true;
        let Some(link_id) = sent else {
            return Ok(None);
        };
        let id = self.next_id;
        self.next_id += 1;
        self.in_flight.push_back((id, Instant::now(), link_id));
        Ok(Some(id))
    }

    /// The largest message [`Self::send`] takes (the peer may announce less).
    pub fn max_message(&self) -> usize {
        self.max_message
    }

    /// The largest message the link takes now: at most the peer's announced limit once a
    /// session is up (when the link's API tells; otherwise [`Self::max_message`]).
    pub fn send_limit(&self) -> usize {
        self.link
            .send_limit()
            .map_or(self.max_message, |l| l.min(self.max_message))
    }

    /// The next delivered message.
    pub fn recv(&mut self) -> Option<Message> {
        self.delivered.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next input a [`Waker`] queued.
    pub fn take_app(&mut self) -> Option<X> {
        self.app.pop_front()
    }

    /// Whether a session is up.
    pub fn is_up(&self) -> bool {
        self.link.is_up()
    }

    /// Reliable messages handed to the link and not yet acknowledged.
    pub fn unacked(&self) -> usize {
        self.in_flight.len()
    }

    /// The link's counters, as the demo reports them.
    pub fn end_stats(&self) -> crate::driver::EndStats {
        self.link.stats()
    }

    /// What to say when no session came up: the peer is silent, or (when its frames arrive
    /// but fail the key checks) the two ends do not share the key. Datagrams that came from
    /// other addresses than the peer's (dropped) are mentioned: a `--peer` that is wrong.
    pub fn no_answer(&self) -> String {
        let rejected = self.end_stats().key_rejects;
        let mut s = if rejected > 0 {
            format!(
                "no session with the peer over {}: {rejected} of its frames failed the key \
                 check (is --key-file / --key-id the same on both ends?)",
                self.name
            )
        } else {
            format!("no answer from the peer over {}", self.name)
        };
        let foreign = self.stats_line().foreign_datagrams;
        if foreign > 0 {
            s += &format!(" ({foreign} datagrams came from addresses other than --peer)");
        }
        s
    }

    /// The link's counters, as `--stats` prints them, with the datagrams dropped because they
    /// came from another address than the peer's.
    pub fn stats_line(&self) -> StatsLine {
        StatsLine {
            foreign_datagrams: self.wire.as_ref().map_or(0, Wire::foreign_datagrams),
            ..self.link.stats_line()
        }
    }

    /// The end of a run a signal interrupted: the session closed (the events it produced,
    /// such as [`Event::Down`] with the messages it leaves unconfirmed, queued for
    /// [`Self::poll_event`]), the capture written.
    fn stop(&mut self) -> Failure {
        let _ = self.close(CLOSE_ON_INTERRUPT); // best effort: the wire may be gone
        self.link_events();
        // Written out now; finished (and counted) when the runner is done.
        match self.capture.as_mut().map_or(Ok(()), Capture::flush) {
            Ok(()) => Failure::interrupted(),
            Err(e) => Failure::new(
                Code::Interrupted,
                format!("interrupted; the capture is incomplete: {e}"),
            ),
        }
    }

    /// "Rust" or "C".
    pub fn api(&self) -> &'static str {
        self.link.api()
    }

    /// Ends the session, if one is up: a CLOSE goes out, and (at most `limit` later) the wire
    /// has written everything.
    pub fn close(&mut self, limit: Duration) -> Result<(), Failure> {
        let now = self.now_ms();
        if !self.link.is_up() {
            return Ok(()); // no session: nothing to close, and no handshake to start
        }
        self.link.close(now);
        if let Some(w) = &self.wire {
            while let Some(n) = self
                .link
                .poll_transmit(now, &mut self.frame)
                .map_err(|e| Failure::io(&e, "link"))?
            {
                if let Some(c) = &mut self.capture {
                    c.sent(&self.frame[..n])?;
                }
                w.send(&self.frame[..n])?;
                if !self.link.is_up() {
                    break; // the CLOSE is out; the link would start a new handshake next
                }
            }
        }
        self.drain(limit);
        Ok(())
    }

    /// Waits (at most `limit`) until the wire wrote everything queued.
    pub fn drain(&self, limit: Duration) {
        if let Some(w) = &self.wire {
            w.drain(limit);
        }
    }

    /// Finishes the capture; the number of frames it holds.
    pub fn finish_capture(&mut self) -> io::Result<Option<u64>> {
        self.capture.take().map(Capture::finish).transpose()
    }
}

/// A run that failed keeps the frames it captured; one that failed before capturing any (the
/// wire never opened) leaves the capture's path as it was.
impl<X: Send + 'static> Drop for Runner<X> {
    fn drop(&mut self) {
        if let Some(c) = self.capture.take().filter(|c| c.records > 0) {
            let _ = c.finish();
        }
    }
}

/// Opens `w`. A connect or device open that blocks ends when a signal arrives
/// ([`interrupt::interruptible`], `ErrorKind::Interrupted`).
fn open_endpoint(w: &WireSpec) -> io::Result<Endpoint> {
    match w.clone() {
        WireSpec::Device { path, baud } => interrupt::interruptible(move || {
            transport::open_serial(&path, baud).map(Endpoint::Serial)
        }),
        WireSpec::Udp { local, peer } => transport::udp(&local, &peer),
        WireSpec::Tcp(addr) => interrupt::interruptible(move || transport::tcp_connect(&addr)),
        WireSpec::TcpListen(_) => Err(io::Error::other("a listening wire is opened by its thread")),
    }
}

/// Status of a runner loop that ends on its own terms.
pub fn timeout(what: String) -> Failure {
    Failure::new(Code::Timeout, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accepted_connection_is_named_by_who_connected() {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = free.local_addr().unwrap().to_string();
        drop(free);
        // The runner listens once `open` returns, so connecting right after cannot race it.
        let spec = LinkSpec::new(WireSpec::TcpListen(addr.clone()));
        let mut r: Runner = Runner::open(&spec).unwrap();
        let client = std::net::TcpStream::connect(&addr).unwrap();
        let from = client.local_addr().unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        let event = loop {
            r.wait(Duration::from_millis(200)).unwrap();
            if let Some(e) = r.poll_event() {
                break e;
            }
            assert!(Instant::now() < end, "no event for the accepted connection");
        };
        assert_eq!(
            event,
            Event::Connected(format!("tcp connection from {from}"))
        );
    }
}
