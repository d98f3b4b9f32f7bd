//! `ferrule listen`: prints every message that arrives — as text, one line each (invalid
//! UTF-8 shown with replacement characters; control characters and backslashes escaped, see
//! [`text_line`], so a message cannot span lines or drive the terminal), or with `--json` as
//! the JSON lines of [`crate::jsonl`] together with the link's events. `--count N` leaves
//! after N messages; `--timeout` (no default) gives up, status 6, when they did not all come
//! in time. Ctrl-C closes the session and ends it, status 130.

use crate::cli::ListenArgs;
use crate::fail::Failure;
use crate::jsonl;
use crate::runner::{self, Event, Runner};
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
        r.pump()?;
        let mut out = io::stdout().lock();
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
                Event::Undelivered { channel, reason } => jsonl::event(
                    "undelivered",
                    json!({ "channel": channel, "reason": reason }),
                ),
                Event::Acked { .. } => continue,
            };
            if writeln!(out, "{line}").is_err() {
                return Ok(());
            }
        }
        while let Some(m) = r.recv() {
            let line = if a.link.json {
                jsonl::message(m.channel, &m.data)
            } else {
                text_line(&m.data)
            };
            if writeln!(out, "{line}").is_err() {
                return Ok(()); // stdout closed
            }
            got += 1;
            if a.count == Some(got) {
                drop(out);
                r.close(Duration::from_secs(2))?;
                return Ok(());
            }
        }
        drop(out);
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

/// A message as one line of text: invalid UTF-8 as replacement characters, control
/// characters escaped (`\n`, `\r`, `\t`, `\u{1b}`, ...) and so backslashes too (`\\`).
pub fn text_line(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len());
    for c in String::from_utf8_lossy(data).chars() {
        if c == '\\' || c.is_control() {
            s.extend(c.escape_default());
        } else {
            s.push(c);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_escape_what_would_drive_the_terminal() {
        assert_eq!(text_line(b"plain text"), "plain text");
        assert_eq!(text_line(b"a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(text_line(b"\x1b[2J\\"), "\\u{1b}[2J\\\\");
        assert_eq!(
            text_line("w\u{f6}rld \u{85}".as_bytes()),
            "w\u{f6}rld \\u{85}"
        );
        assert_eq!(text_line(b"\xff"), "\u{fffd}");
    }
}
