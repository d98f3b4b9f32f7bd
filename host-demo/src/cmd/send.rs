//! `ferrule send`: sends the messages given as arguments (text) and `--file`s (one message
//! each), waits until the peer acknowledged every one, closes the session and exits 0.
//! Status 6 when they are not all acknowledged within `--timeout` (default 30 s), 7 when the
//! session ends with some unacknowledged. With `--json`, prints the `acked` events.

use crate::cli::SendArgs;
use crate::driver::Refused;
use crate::fail::{Code, Failure};
use crate::jsonl;
use crate::runner::{self, Event, Runner};
use serde_json::json;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Runs `send`.
pub fn main(a: &SendArgs) -> Result<(), Failure> {
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
    let mut acked = 0;
    loop {
        r.pump()?;
        while let Some(e) = r.poll_event() {
            match e {
                Event::Acked { id, rtt } => {
                    acked += 1;
                    if a.link.json {
                        let rtt_ms = crate::jsonl::millis(rtt);
                        println!(
                            "{}",
                            jsonl::event("acked", json!({"msg": id, "rtt_ms": rtt_ms}))
                        );
                    }
                }
                Event::Down { reason, lost } if !lost.is_empty() => {
                    return Err(Failure::new(
                        Code::LinkDown,
                        format!(
                            "link down ({reason}) with {} of {total} messages unacknowledged",
                            lost.len() + msgs.len()
                        ),
                    ));
                }
                _ => {}
            }
        }
        while r.is_up() {
            let Some(m) = msgs.front() else { break };
            match r.send(a.channel, m) {
                Ok(None) => acked += 1, // best effort: nothing to wait for
                Ok(Some(_)) => {}
                Err(Refused::NotNow) => break,
                Err(Refused::TooLarge) => {
                    return Err(Failure::new(
                        Code::Failed,
                        format!(
                            "the peer refuses a message of {} bytes (too large)",
                            m.len()
                        ),
                    ))
                }
            }
            msgs.pop_front();
        }
        if acked == total {
            r.close(Duration::from_secs(2))?;
            if !a.link.json {
                println!("{total} message(s) acknowledged");
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
