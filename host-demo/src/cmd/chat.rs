//! `ferrule chat`: instant messaging between two terminals over any wire. Each line typed is
//! one reliable message (on `--channel`); when the peer acknowledges it the chat prints the
//! round-trip time. Lines the link could not confirm before a session ended are sent again
//! in the next one. End input (Ctrl-D) to leave once everything typed was acknowledged;
//! Ctrl-C leaves at once, closing the session (status 130). A line goes as its bytes, UTF-8
//! or not; lines are shown as `listen` shows them (control and format characters escaped, see
//! [`crate::out::text_line`]), so a peer cannot clear the screen or forge a status line.
//!
//! ```text
//! terminal 1: ferrule chat --udp 127.0.0.1:7001 --peer 127.0.0.1:7002
//! terminal 2: ferrule chat --udp 127.0.0.1:7002 --peer 127.0.0.1:7001
//! or:         ferrule chat --device /dev/ttyUSB0 --baud 115200
//! ```

use crate::cli::{ChatArgs, OnOff};
use crate::driver::Refused;
use crate::fail::Failure;
use crate::runner::{self, Event, MsgId, Runner, Waker};
use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::time::{Duration, Instant};

/// What the stdin thread hands the chat.
enum Typed {
    Line(Vec<u8>),
    End,
}

/// Hands every line of stdin (its bytes, without the line ending) to the chat.
fn read_stdin(w: Waker<Typed>) {
    let (mut input, mut line) = (io::stdin().lock(), Vec::new());
    while crate::lines::read(&mut input, &mut line) {
        if !w.wake(Typed::Line(std::mem::take(&mut line))) {
            return;
        }
    }
    w.wake(Typed::End);
}

/// A typed line on its way.
struct Line {
    n: u64,
    text: Vec<u8>,
}

impl Line {
    /// The line as the chat shows it (escaped as the peer's lines are).
    fn shown(&self) -> String {
        crate::out::text_line(&self.text)
    }
}

/// Runs a chat.
pub fn main(a: &ChatArgs) -> Result<(), Failure> {
    let mut spec = a.link.spec()?;
    if a.aead == OnOff::On && spec.key.is_none() {
        spec.key = Some((crate::demo::DEMO_KEY, a.link.key_id));
    }
    let timeout = a.link.timeout_or(60);
    let mut r: Runner<Typed> = Runner::open(&spec)?;
    let mut out = io::stdout().lock();
    let w = |out: &mut io::StdoutLock, s: String| -> Result<(), Failure> {
        writeln!(out, "{s}").map_err(|e| crate::out::error(&e))
    };
    w(
        &mut out,
        format!("* chat over {}; waiting for the peer ...", r.name),
    )?;
    let waker = r.waker();
    std::thread::spawn(move || read_stdin(waker));
    let mut waiting_since = Some(Instant::now());
    let mut pending = VecDeque::<Line>::new();
    let mut in_flight: HashMap<MsgId, Line> = HashMap::new();
    let (mut next, mut input_open) = (1u64, true);
    loop {
        r.pump()?;
        while let Some(e) = r.poll_event() {
            match e {
                Event::Up => {
                    waiting_since = None;
                    w(&mut out, "* connected (session up)".into())?;
                }
                Event::Acked { id, rtt } => {
                    if let Some(l) = in_flight.remove(&id) {
                        let ms = rtt.as_secs_f64() * 1000.0;
                        w(
                            &mut out,
                            format!(
                                "* [{}] delivered, acknowledged after {ms:.1} ms: {}",
                                l.n,
                                l.shown()
                            ),
                        )?;
                    }
                }
                Event::Down { reason, lost } => {
                    // Lines a failed session did not confirm go out again, in their order.
                    let again: Vec<Line> =
                        lost.iter().filter_map(|id| in_flight.remove(id)).collect();
                    if again.is_empty() {
                        w(&mut out, format!("* link down: {reason}"))?;
                    } else {
                        w(
                            &mut out,
                            format!(
                                "* link down: {reason}; {} line(s) not confirmed, will resend",
                                again.len()
                            ),
                        )?;
                    }
                    for l in again.into_iter().rev() {
                        pending.push_front(l);
                    }
                    waiting_since = Some(Instant::now());
                }
                Event::Undelivered { channel, reason } => {
                    w(
                        &mut out,
                        format!("* {}", runner::undelivered_text(channel, &reason)),
                    )?;
                }
                Event::Connected(_) | Event::Disconnected(_) => {}
            }
        }
        while let Some(m) = r.recv() {
            let who = if m.channel == 0 {
                "peer".to_string()
            } else {
                format!("peer[{}]", m.channel)
            };
            // Escaped: the peer's bytes cannot drive the terminal or forge a line.
            w(
                &mut out,
                format!("{who}: {}", crate::out::text_line(&m.data)),
            )?;
        }
        while let Some(t) = r.take_app() {
            match t {
                Typed::End => input_open = false,
                Typed::Line(text) => {
                    pending.push_back(Line { n: next, text });
                    next += 1;
                }
            }
        }
        while r.is_up() {
            let Some(l) = pending.front() else { break };
            match r.send(a.channel, &l.text) {
                Err(Refused::NotNow) => break,
                Err(Refused::TooLarge) => {
                    w(
                        &mut out,
                        format!("* line too long ({} bytes); not sent", l.text.len()),
                    )?;
                    pending.pop_front();
                }
                Ok(id) => {
                    let l = pending.pop_front().unwrap_or(Line {
                        n: 0,
                        text: Vec::new(),
                    });
                    match id {
                        Some(id) => {
                            in_flight.insert(id, l);
                        }
                        None => w(
                            &mut out,
                            format!("* [{}] sent best effort: {}", l.n, l.shown()),
                        )?,
                    }
                }
            }
        }
        if !input_open && pending.is_empty() && in_flight.is_empty() {
            r.close(Duration::from_secs(2))?;
            w(&mut out, "* bye".into())?;
            return Ok(());
        }
        if let Some(since) = waiting_since {
            if since.elapsed() > timeout {
                w(&mut out, "* no answer from the peer".into())?;
                return Err(runner::timeout(format!(
                    "chat: {} after {} s",
                    r.no_answer(),
                    timeout.as_secs()
                )));
            }
        }
        out.flush().map_err(|e| crate::out::error(&e))?;
        r.wait(Duration::from_millis(500))?;
    }
}
