//! `ferrule firmware`: the host end of a link to firmware over a byte stream — QEMU's
//! emulated UART (`-serial tcp:HOST:PORT`, QEMU connecting to us; or `-serial pty` and
//! `--device /dev/pts/N`), a TCP-to-serial bridge (`--connect`), or a serial device wired to
//! real hardware (`--device /dev/ttyUSB0 --baud 115200`). Speaks the request/response protocol of `tests/firmware/uart_peer.c`:
//!
//! - request `i` (host to firmware): `[i: u32 LE] 'H' text(i)`;
//! - response `i`: `[i: u32 LE] 'F' reverse(text(i))`, or `'X'` when the firmware saw a request
//!   that was not `text(i)`;
//! - `text(i)`: the record `{"n":i,"t":21.d,"s":"ok"}` (`d = i % 10`) repeated and cut to
//!   `24 + (i * 37) % 160` bytes.
//!
//! Every request gets exactly one response. When the firmware restarts (link down with
//! `PeerRestarted`, or the connection drops), requests without a response are sent again in
//! the new session: the link reports what it discarded, so nothing is lost, and a response
//! that arrives twice fails the run. Prints `responses N` progress lines (for scripts that
//! restart the firmware mid-run) and a summary; exit status 0 only if all `count` responses
//! arrived intact, once each.

use crate::cli::FirmwareArgs;
use crate::fail::{Code, Failure};
use crate::out::Printer;
use crate::runner::{self, Event, LinkSpec, Runner, WireSpec};
use ferrule::compress::Mode;
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

/// Largest message of the firmware's link.
const M: usize = 256;

/// The wire the arguments name.
fn wire(a: &FirmwareArgs) -> Result<WireSpec, Failure> {
    match (&a.listen, &a.connect, &a.device) {
        (Some(l), None, None) => Ok(WireSpec::TcpListen(l.clone())),
        (None, Some(c), None) => Ok(WireSpec::Tcp(c.clone())),
        (None, None, Some(d)) => Ok(WireSpec::Device {
            path: d.clone(),
            baud: a.baud,
        }),
        _ => Err(Failure::usage(
            "firmware: give exactly one of --listen ADDR, --connect ADDR or --device PATH",
        )),
    }
}

/// The text part of request `i`.
pub fn text(i: u32) -> Vec<u8> {
    let rec = format!("{{\"n\":{i},\"t\":21.{},\"s\":\"ok\"}}", i % 10);
    let len = 24 + (i as usize * 37) % 160;
    rec.bytes().cycle().take(len).collect()
}

fn request(i: u32) -> Vec<u8> {
    let mut m = i.to_le_bytes().to_vec();
    m.push(b'H');
    m.extend(text(i));
    m
}

fn expected_response(i: u32) -> Vec<u8> {
    let mut m = i.to_le_bytes().to_vec();
    m.push(b'F');
    m.extend(text(i).into_iter().rev());
    m
}

/// What a run counted.
#[derive(Debug, Default)]
pub struct FirmwareReport {
    /// Requests handed to the link, resends included.
    pub requests_sent: u64,
    /// Requests sent again after a restart.
    pub resent: u64,
    /// Distinct responses received intact.
    pub responses: u32,
    /// Responses for a request that already had one.
    pub duplicates: u64,
    /// Responses that did not match, or the firmware's `X` verdicts.
    pub corrupted: u64,
    /// Sessions the link went through (1 without a restart).
    pub sessions: u32,
    /// Times the stream connection was (re)established.
    pub connections: u32,
    /// Whether Ctrl-C (or a termination signal) ended the run early.
    pub interrupted: bool,
}

/// Opens the link; a `--connect` address that refuses is tried again until the deadline
/// (the firmware's TCP bridge may still be starting). Ctrl-C ends the attempts, status 130.
fn open(spec: &LinkSpec, deadline: Instant) -> Result<Runner, Failure> {
    loop {
        match Runner::open(spec) {
            Err(_) if crate::interrupt::requested() => return Err(Failure::interrupted()),
            Err(f)
                if f.code == Code::Unreachable
                    && matches!(spec.wire, WireSpec::Tcp(_))
                    && Instant::now() < deadline
                    && !crate::interrupt::requested() =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            r => return r,
        }
    }
}

/// Runs the firmware mode, printing progress to `out` (a closed stdout does not stop the
/// run); `Ok` only when every response arrived once, intact.
pub fn run(a: &FirmwareArgs, out: &mut Printer) -> Result<FirmwareReport, Failure> {
    let start = Instant::now();
    let timeout = Duration::from_secs(a.timeout);
    let mut spec = LinkSpec::new(wire(a)?);
    spec.compression = Mode::Shared;
    spec.rto_initial = 200;
    spec.keepalive = 500;
    spec.max_message = M;
    spec.capture = a.capture.clone();
    let mut link = open(&spec, start + timeout)?;
    let mut r = FirmwareReport::default();
    let mut to_send: BTreeSet<u32> = (0..a.count).collect();
    let mut in_flight: BTreeSet<u32> = BTreeSet::new();
    let mut answered: HashSet<u32> = HashSet::new();
    let mut last_progress = 0;
    while r.responses < a.count {
        if start.elapsed() > timeout {
            return Err(runner::timeout(format!(
                "firmware: timed out after {} s with {}/{} responses (is the firmware running?)",
                a.timeout, r.responses, a.count
            )));
        }
        match link.pump() {
            Err(f) if f.code == Code::Interrupted => {
                r.interrupted = true;
                break;
            }
            p => p?,
        };
        while let Some(e) = link.poll_event() {
            match e {
                Event::Connected(_) => r.connections += 1,
                Event::Disconnected(why) => {
                    out.line(format_args!("connection lost: {why}; waiting for it"))
                }
                Event::Up => {
                    r.sessions += 1;
                    out.line(format_args!("link up (session {})", r.sessions));
                }
                Event::Down { reason, lost } => {
                    // Whatever was sent and not answered goes again in the next session.
                    r.resent += in_flight.len() as u64;
                    out.line(format_args!(
                        "link down: {reason} ({} unacknowledged discarded, {} requests to send \
                         again)",
                        lost.len(),
                        in_flight.len()
                    ));
                    to_send.append(&mut in_flight);
                }
                Event::Undelivered { channel, reason } => {
                    out.line(runner::undelivered_text(channel, &reason));
                }
                Event::Acked { .. } => {}
            }
        }
        while let Some(m) = link.recv() {
            let m = &m.data;
            let i = m
                .get(..4)
                .map_or(u32::MAX, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            if m != expected_response(i).as_slice() {
                r.corrupted += 1;
                continue;
            }
            if !in_flight.remove(&i) || !answered.insert(i) {
                r.duplicates += 1;
                continue;
            }
            r.responses += 1;
        }
        // Requests: lowest index first, while the window has room.
        while link.is_up() {
            let Some(&i) = to_send.first() else { break };
            if link.send(0, &request(i)).is_err() {
                break;
            }
            to_send.remove(&i);
            in_flight.insert(i);
            r.requests_sent += 1;
        }
        if r.responses / 100 > last_progress {
            last_progress = r.responses / 100;
            out.line(format_args!("responses {}", r.responses));
        }
        link.wait(Duration::from_millis(100))?;
    }
    Ok(r)
}

/// Runs `firmware`: a summary line; status 1 on duplicates or corruption, 130 when
/// interrupted (after the summary of what was done). A closed stdout stops the printing, not
/// the run: the status is the run's.
pub fn main(a: &FirmwareArgs) -> Result<(), Failure> {
    let mut out = Printer::default();
    let job = report(a, &mut out);
    out.finish(job)
}

fn report(a: &FirmwareArgs, out: &mut Printer) -> Result<(), Failure> {
    let r = run(a, out)?;
    out.line(format_args!(
        "result: {}/{} responses, {} requests sent ({} again after restarts), {} duplicates, \
         {} corrupted, {} sessions, {} connections",
        r.responses,
        a.count,
        r.requests_sent,
        r.resent,
        r.duplicates,
        r.corrupted,
        r.sessions,
        r.connections
    ));
    if r.interrupted {
        return Err(Failure::interrupted());
    }
    if r.duplicates > 0 || r.corrupted > 0 {
        return Err(Failure::new(
            Code::Failed,
            "firmware: duplicated or corrupted responses",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_matches_the_firmware_definition() {
        assert_eq!(text(0).len(), 24);
        assert_eq!(&text(0)[..24], br#"{"n":0,"t":21.0,"s":"ok""#);
        assert_eq!(text(3).len(), 24 + 111);
        assert_eq!(expected_response(1)[4], b'F');
        assert_eq!(*expected_response(1).last().unwrap(), b'{');
    }
}
