//! `ferrule bridge`: a link to one device whose messages go to and from stdin/stdout as JSON
//! lines (the format is in [`crate::jsonl`]), or to clients of a local socket
//! (`--local-tcp`, `--local-udp`; stdout then gets one line, `{"event":"serving",...}`, once
//! the socket is bound).
//!
//! Messages read before the session is up wait for it; stdin is read no further ahead than
//! [`AHEAD`] lines, so a large input streams through at the link's pace. A malformed line is
//! reported on stderr with its line number and skipped; the link keeps running. At the end of
//! stdin the bridge leaves once every message it sent was acknowledged (status 0), closing
//! the session. No session within `--timeout` (default 60 s) ends it with status 6. Ctrl-C
//! (or SIGTERM) closes the session and ends it with status 130, after the `down` event that
//! lists the messages the close left unacknowledged. Lines are read as bytes: one
//! that is not UTF-8 is reported and skipped like any malformed line.

use crate::cli::BridgeArgs;
use crate::driver::Refused;
use crate::fail::Failure;
use crate::jsonl::{self, Outgoing};
use crate::runner::{self, Event, MsgId, Runner, Waker};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Most input lines read ahead of the link.
pub const AHEAD: usize = 256;

/// Where an input line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Stdin,
    Tcp(u64),
    Udp(SocketAddr),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Stdin => write!(f, "stdin"),
            Source::Tcp(n) => write!(f, "tcp client {n}"),
            Source::Udp(a) => write!(f, "udp {a}"),
        }
    }
}

/// What the input threads hand the bridge.
enum Input {
    Line { src: Source, n: u64, text: String },
    End,
}

/// Lines read and not yet handed to the link: readers wait while [`AHEAD`] are.
#[derive(Default)]
struct Credits {
    used: Mutex<usize>,
    freed: Condvar,
}

impl Credits {
    fn take(&self) {
        let mut u = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *u >= AHEAD {
            u = self.freed.wait(u).unwrap_or_else(|e| e.into_inner());
        }
        *u += 1;
    }
    fn give(&self) {
        let mut u = self.used.lock().unwrap_or_else(|e| e.into_inner());
        *u = u.saturating_sub(1);
        self.freed.notify_one();
    }
}

/// Reads lines from `r` into the bridge. A line that is not UTF-8 is reported and skipped;
/// a read error ends the input as its end does.
fn read_lines(mut r: impl BufRead, src: Source, wake: Waker<Input>, credits: Arc<Credits>) {
    let mut buf = Vec::new();
    for n in 1.. {
        if !crate::lines::read(&mut r, &mut buf) {
            break;
        }
        let Some(text) = utf8_line(&buf, &src, n) else {
            continue;
        };
        credits.take();
        if !wake.wake(Input::Line { src, n, text }) {
            return;
        }
    }
    if src == Source::Stdin {
        wake.wake(Input::End);
    }
}

/// Line `n` of `src` without its line ending, or `None` (reported on stderr) when it is
/// not UTF-8.
fn utf8_line(bytes: &[u8], src: &Source, n: u64) -> Option<String> {
    match std::str::from_utf8(crate::lines::without_ending(bytes)) {
        Ok(t) => Some(t.to_string()),
        Err(e) => {
            eprintln!("ferrule: {src} line {n}: not UTF-8 ({e}); line skipped");
            None
        }
    }
}

/// Where output lines go.
enum Sink {
    Stdout,
    Local {
        tcp: Arc<Mutex<Vec<TcpStream>>>,
        udp: Option<(UdpSocket, Vec<SocketAddr>)>,
    },
}

impl Sink {
    /// Writes one line; fails when stdout does (quietly when it was closed).
    fn put(&mut self, line: &str) -> Result<(), Failure> {
        match self {
            Sink::Stdout => crate::out::line(line),
            Sink::Local { tcp, udp } => {
                if let Ok(mut clients) = tcp.lock() {
                    clients.retain_mut(|c| writeln!(c, "{line}").is_ok());
                }
                if let Some((sock, peers)) = udp {
                    for p in peers.iter() {
                        let _ = sock.send_to(line.as_bytes(), p);
                    }
                }
                Ok(())
            }
        }
    }
}

/// Tells on stdout where the local socket is (the only line stdout gets in that mode).
fn serving(kind: &str, addr: &SocketAddr) -> Result<(), Failure> {
    let local = format!("{kind} {addr}");
    crate::out::line(jsonl::event("serving", json!({ "local": local })))
}

/// Starts the input threads; returns the output sink.
fn inputs(a: &BridgeArgs, wake: &Waker<Input>, credits: &Arc<Credits>) -> Result<Sink, Failure> {
    if let Some(addr) = &a.local_tcp {
        let l = TcpListener::bind(addr)
            .map_err(|e| Failure::io(&e, &format!("cannot listen on {addr}")))?;
        serving("tcp", &l.local_addr()?)?;
        let clients = Arc::new(Mutex::new(Vec::new()));
        let (c, w, cr) = (clients.clone(), wake.clone(), credits.clone());
        std::thread::spawn(move || {
            for (id, s) in l.incoming().flatten().enumerate() {
                let Ok(reader) = s.try_clone() else { continue };
                if let Ok(mut v) = c.lock() {
                    v.push(s);
                }
                let (w, cr) = (w.clone(), cr.clone());
                let src = Source::Tcp(id as u64 + 1);
                std::thread::spawn(move || read_lines(BufReader::new(reader), src, w, cr));
            }
        });
        return Ok(Sink::Local {
            tcp: clients,
            udp: None,
        });
    }
    if let Some(addr) = &a.local_udp {
        let sock = UdpSocket::bind(addr)
            .map_err(|e| Failure::io(&e, &format!("cannot bind UDP {addr}")))?;
        serving("udp", &sock.local_addr()?)?;
        let r = sock.try_clone()?;
        let w = wake.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            let mut n = 0;
            while let Ok((len, from)) = r.recv_from(&mut buf) {
                let src = Source::Udp(from);
                for line in buf[..len].split_inclusive(|&b| b == b'\n') {
                    n += 1;
                    let Some(text) = utf8_line(line, &src, n) else {
                        continue;
                    };
                    if !w.wake(Input::Line { src, n, text }) {
                        return;
                    }
                }
            }
        });
        return Ok(Sink::Local {
            tcp: Arc::new(Mutex::new(Vec::new())),
            udp: Some((sock, Vec::new())),
        });
    }
    let (w, cr) = (wake.clone(), credits.clone());
    std::thread::spawn(move || read_lines(io::stdin().lock(), Source::Stdin, w, cr));
    Ok(Sink::Stdout)
}

/// A message waiting for the link.
struct Pending {
    out: Outgoing,
    /// Its number among the messages read (1, 2, ...).
    n: u64,
    src: Source,
    line: u64,
    /// Whether it holds a credit of a line reader.
    credit: bool,
}

/// Reports an input line whose message the link does not take.
fn too_large(src: &Source, line: u64, len: usize) {
    eprintln!(
        "ferrule: {src} line {line}: message of {len} bytes is larger than the link takes; skipped"
    );
}

/// Runs the bridge.
pub fn main(a: &BridgeArgs) -> Result<(), Failure> {
    let spec = a.link.spec()?;
    let timeout = a.link.timeout_or(60);
    let mut r: Runner<Input> = Runner::open(&spec)?;
    let credits = Arc::new(Credits::default());
    let mut sink = inputs(a, &r.waker(), &credits)?;
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let mut ids: HashMap<MsgId, (u64, Option<serde_json::Value>)> = HashMap::new();
    let (mut read, mut input_done) = (0u64, false);
    let mut waiting_since = Some(Instant::now());
    let every = a.stats.map(Duration::from_secs);
    let mut next_stats = every.map(|e| Instant::now() + e);
    loop {
        // Interrupted: the close's events (`down`, with the messages it leaves unconfirmed)
        // are printed, then the run ends.
        let stopped = r.pump_deferring_interrupt()?;
        let mut lines = Vec::new();
        while let Some(e) = r.poll_event() {
            lines.push(match e {
                Event::Connected(w) => jsonl::event("connected", json!({ "wire": w })),
                Event::Disconnected(why) => jsonl::event("disconnected", json!({ "reason": why })),
                Event::Up => {
                    waiting_since = None;
                    jsonl::event("up", json!({}))
                }
                Event::Down { reason, lost } => {
                    waiting_since = Some(Instant::now());
                    let lost: Vec<u64> = lost
                        .iter()
                        .filter_map(|id| ids.remove(id).map(|(n, _)| n))
                        .collect();
                    jsonl::event(
                        "down",
                        json!({ "reason": reason, "unacked": lost.len(), "lost": lost }),
                    )
                }
                Event::Undelivered { channel, reason } => jsonl::undelivered(channel, &reason),
                Event::Acked { id, rtt } => {
                    let (n, user) = ids.remove(&id).unwrap_or((0, None));
                    let mut v = json!({ "msg": n, "rtt_ms": crate::jsonl::millis(rtt) });
                    if let Some(u) = user {
                        v["id"] = u;
                    }
                    jsonl::event("acked", v)
                }
            });
        }
        while let Some(m) = r.recv() {
            lines.push(jsonl::message(m.channel, &m.data));
        }
        for l in &lines {
            sink.put(l)?; // stdout closed: nobody to deliver to
        }
        if let Some(f) = stopped {
            return Err(f);
        }
        while let Some(x) = r.take_app() {
            match x {
                Input::End => input_done = true,
                Input::Line { src, n, text } => {
                    let credit = matches!(src, Source::Stdin | Source::Tcp(_));
                    if let (
                        Source::Udp(from),
                        Sink::Local {
                            udp: Some((_, peers)),
                            ..
                        },
                    ) = (src, &mut sink)
                    {
                        if !peers.contains(&from) {
                            peers.push(from);
                        }
                    }
                    if text.trim().is_empty() {
                        if credit {
                            credits.give();
                        }
                        continue;
                    }
                    match jsonl::parse(&text) {
                        // Refused at once, session or not; one the peer announced too small
                        // for is refused when it is sent.
                        Ok(out) if out.data.len() > r.max_message() => {
                            too_large(&src, n, out.data.len());
                            if credit {
                                credits.give();
                            }
                        }
                        Ok(out) => {
                            read += 1;
                            pending.push_back(Pending {
                                out,
                                n: read,
                                src,
                                line: n,
                                credit,
                            });
                        }
                        Err(e) => {
                            eprintln!("ferrule: {src} line {n}: {e}; line skipped");
                            if credit {
                                credits.give();
                            }
                        }
                    }
                }
            }
        }
        while r.is_up() {
            let Some(p) = pending.front() else { break };
            match r.send(p.out.channel, &p.out.data) {
                Err(Refused::NotNow) => break,
                Err(Refused::TooLarge) => too_large(&p.src, p.line, p.out.data.len()),
                Ok(Some(id)) => {
                    ids.insert(id, (p.n, p.out.id.clone()));
                }
                Ok(None) => {}
            }
            if p.credit {
                credits.give();
            }
            pending.pop_front();
        }
        if let (Some(at), Some(e)) = (next_stats, every) {
            if Instant::now() >= at {
                let mut v = serde_json::to_value(r.stats_line()).unwrap_or_default();
                v["unacked"] = r.unacked().into();
                v["pending"] = pending.len().into();
                sink.put(&jsonl::event("stats", v))?;
                next_stats = Some(at + e);
            }
        }
        if input_done && pending.is_empty() && r.unacked() == 0 {
            r.close(Duration::from_secs(2))?;
            return Ok(());
        }
        if let Some(since) = waiting_since {
            if since.elapsed() > timeout {
                return Err(runner::timeout(format!(
                    "{} after {} s",
                    r.no_answer(),
                    timeout.as_secs()
                )));
            }
        }
        let mut max = Duration::from_millis(500);
        if let Some(at) = next_stats {
            max = max.min(at.saturating_duration_since(Instant::now()));
        }
        r.wait(max)?;
    }
}
