//! `ferrule send`: sends the messages given as arguments (text) and `--file`s (one message
//! each), waits until the peer acknowledged every one, closes the session and exits 0.
//! Status 6 when they are not all acknowledged within `--timeout` (default 30 s), 7 when the
//! session ends with some unacknowledged. With `--json`, prints the `acked` events.
//!
//! A message the peer refuses (larger than the `max_message` it announced) ends the run: the
//! messages before it are delivered and acknowledged, the session is closed, and the error
//! (status 1) names the refused message; the ones after it are not sent.

use crate::cli::SendArgs;
use crate::driver::Refused;
use crate::fail::{Code, Failure};
use crate::jsonl;
use crate::out::Printer;
use crate::runner::{self, Event, Runner};
use serde_json::json;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Runs `send`. A closed stdout stops the printing, not the sending: the status is the
/// run's.
pub fn main(a: &SendArgs) -> Result<(), Failure> {
    let mut printer = Printer::default();
    let job = send_all(a, &mut printer);
    printer.finish(job)
}

/// Sends every message and waits for the acknowledgements, printing to `printer`.
fn send_all(a: &SendArgs, printer: &mut Printer) -> Result<(), Failure> {
    let spec = a.link.spec()?;
    let timeout = a.link.timeout_or(30);
    let mut msgs: VecDeque<Vec<u8>> = a.messages.iter().map(|m| m.as_bytes().to_vec()).collect();
    for f in &a.file {
        let data = std::fs::read(f)
            .map_err(|e| Failure::usage(format!("--file {f}: cannot read it: {e}")))?;
        msgs.push_back(data);
    }
    if msgs.is_empty() {
        return Err(Failure::usage(
            "nothing to send: give messages or --file PATH",
        ));
    }
    if let Some(m) = msgs.iter().find(|m| m.len() > spec.max_message) {
        return Err(Failure::usage(format!(
            "a message of {} bytes is larger than --max-message {}",
            m.len(),
            spec.max_message
        )));
    }
    let total = msgs.len();
    let mut r: Runner = Runner::open(&spec)?;
    let start = Instant::now();
    let (mut acked, mut handed) = (0, 0);
    // A message the peer refuses: its number and size, and the peer's limit.
    let mut refused: Option<(usize, usize, usize)> = None;
    loop {
        if let Err(f) = r.pump() {
            return Err(match f.code {
                Code::Interrupted => Failure::new(
                    f.code,
                    format!("interrupted with {acked} of {total} messages acknowledged"),
                ),
                _ => f,
            });
        }
        while let Some(e) = r.poll_event() {
            match e {
                Event::Acked { id, rtt } => {
                    acked += 1;
                    if a.link.json {
                        let rtt_ms = crate::jsonl::millis(rtt);
                        printer.line(jsonl::event("acked", json!({"msg": id, "rtt_ms": rtt_ms})));
                    }
                }
                Event::Down { reason, lost } if !lost.is_empty() => {
                    return Err(Failure::new(
                        Code::LinkDown,
                        format!(
                            "link down ({reason}) with {} of {total} messages unacknowledged",
                            total - acked
                        ),
                    ));
                }
                _ => {}
            }
        }
        while r.is_up() && refused.is_none() {
            let Some(m) = msgs.front() else { break };
            match r.send(a.channel, m) {
                Ok(None) => acked += 1, // best effort: nothing to wait for
                Ok(Some(_)) => {}
                Err(Refused::NotNow) => break,
                // The ones before it still go through; nothing after it is sent.
                Err(Refused::TooLarge) => {
                    refused = Some((handed + 1, m.len(), r.send_limit()));
                    break;
                }
            }
            handed += 1;
            msgs.pop_front();
        }
        if acked == handed && (msgs.is_empty() || refused.is_some()) {
            r.close(Duration::from_secs(2))?;
            if let Some((n, len, limit)) = refused {
                return Err(Failure::new(
                    Code::Failed,
                    format!(
                        "the peer refuses message {n} of {total} ({len} bytes; it takes at most \
                         {limit}): {acked} message(s) before it acknowledged, the rest not sent"
                    ),
                ));
            }
            if !a.link.json {
                printer.line(format_args!("{total} message(s) acknowledged"));
            }
            return Ok(());
        }
        if start.elapsed() > timeout {
            let why = if r.is_up() {
                format!("only {acked} of {total} messages acknowledged")
            } else {
                r.no_answer()
            };
            return Err(runner::timeout(format!(
                "{why} after {} s",
                timeout.as_secs()
            )));
        }
        r.wait(timeout.saturating_sub(start.elapsed()))?;
    }
}
