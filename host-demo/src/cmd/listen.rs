//! `ferrule listen`: prints every message that arrives — as text, one line each (invalid
//! UTF-8 shown with replacement characters; control and format characters and backslashes
//! escaped, see [`out::text_line`], so a message cannot span lines or drive the terminal), or
//! with `--json` as
//! the JSON lines of [`crate::jsonl`] together with the link's events. `--count N` leaves
//! after N messages; `--timeout` (no default) gives up, status 6, when they did not all come
//! in time. Ctrl-C closes the session and ends it, status 130 (with `--json`, after the `down`
//! event the close produces).

use crate::cli::ListenArgs;
use crate::fail::Failure;
use crate::runner::{self, Event, Runner};
use crate::{jsonl, out};
use serde_json::json;
use std::io::{self, Write};
use std::time::{Duration, Instant};

/// Runs `listen`.
pub fn main(a: &ListenArgs) -> Result<(), Failure> {
    let spec = a.link.spec()?;
    let mut r: Runner = Runner::open(&spec)?;
    let start = Instant::now();
    let timeout = a.link.timeout.map(Duration::from_secs);
    let mut got = 0u64;
    loop {
        // Interrupted: the close's events are printed, then the run ends.
        let stopped = r.pump_deferring_interrupt()?;
        let mut stdout = io::stdout().lock();
        while let Some(e) = r.poll_event() {
            if let (false, Event::Undelivered { channel, reason }) = (a.link.json, &e) {
                eprintln!("ferrule: {}", runner::undelivered_text(*channel, reason));
            }
            if !a.link.json {
                continue;
            }
            let line = match e {
                Event::Up => jsonl::event("up", json!({})),
                Event::Down { reason, lost } => jsonl::event(
                    "down",
                    json!({"reason": reason, "unacked": lost.len(), "lost": lost}),
                ),
                Event::Connected(w) => jsonl::event("connected", json!({ "wire": w })),
                Event::Disconnected(why) => jsonl::event("disconnected", json!({ "reason": why })),
                Event::Undelivered { channel, reason } => jsonl::undelivered(channel, &reason),
                Event::Acked { .. } => continue,
            };
            writeln!(stdout, "{line}").map_err(|e| out::error(&e))?;
        }
        while let Some(m) = r.recv() {
            let line = if a.link.json {
                jsonl::message(m.channel, &m.data)
            } else {
                out::text_line(&m.data)
            };
            writeln!(stdout, "{line}").map_err(|e| out::error(&e))?;
            got += 1;
            if a.count == Some(got) {
                drop(stdout);
                r.close(Duration::from_secs(2))?;
                return stopped.map_or(Ok(()), Err);
            }
        }
        drop(stdout);
        if let Some(f) = stopped {
            return Err(f);
        }
        let mut max = Duration::from_secs(1);
        if let Some(t) = timeout {
            if start.elapsed() > t {
                return Err(runner::timeout(match a.count {
                    _ if !r.is_up() && got == 0 => {
                        format!("{} after {} s", r.no_answer(), t.as_secs())
                    }
                    Some(n) => format!("{got} of {n} messages after {} s", t.as_secs()),
                    None => format!("--timeout {} s reached", t.as_secs()),
                }));
            }
            max = max.min(t.saturating_sub(start.elapsed()));
        }
        r.wait(max)?;
    }
}
