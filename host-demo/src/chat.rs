//! `ferrule-demo chat`: instant messaging between two terminals over UDP or a serial device.
//! Each line typed is one reliable message; when the peer acknowledges it the chat prints the
//! round-trip time. Lines the link could not confirm before a session ended are sent again in
//! the next one. End input (Ctrl-D) to leave once everything typed was acknowledged.
//!
//! ```text
//! terminal 1: ferrule-demo chat --udp 127.0.0.1:7001 --peer 127.0.0.1:7002
//! terminal 2: ferrule-demo chat --udp 127.0.0.1:7002 --peer 127.0.0.1:7001
//! or:         ferrule-demo chat --device /dev/ttyUSB0 --baud 115200
//! ```

use crate::driver::{Driver, LinkEvent, RustLink, Setup, M, MAX_FRAME, RUST_WINDOW};
use crate::options::{number, on_off};
use crate::transport::{self, Io};
use ferrule::compress::Mode;
use std::collections::VecDeque;
use std::io::{self, BufRead, Write};
use std::net::ToSocketAddrs;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: ferrule-demo chat (--udp LOCAL_ADDR --peer PEER_ADDR | --device PATH \
     [--baud N]) [--timeout SECONDS] [--aead on|off]\n  Type a line and press Enter to send it; \
     Ctrl-D leaves once everything sent was acknowledged.";

/// Where the chat talks.
#[derive(Debug, PartialEq, Eq)]
enum Wire {
    Udp { local: String, peer: String },
    Serial { device: String, baud: u32 },
}

/// Options of the chat.
#[derive(Debug)]
pub struct ChatOptions {
    wire: Wire,
    timeout: Duration,
    aead: bool,
}

fn parse(args: &[String]) -> Result<ChatOptions, String> {
    let (mut udp, mut peer, mut device, mut baud) = (None, None, None, None);
    let mut timeout = Duration::from_secs(60);
    let mut aead = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--udp" => udp = Some(val(a)?),
            "--peer" => peer = Some(val(a)?),
            "--device" => device = Some(val(a)?),
            "--baud" => baud = Some(number(&val(a)?, a, 1, 4_000_000u32)?),
            "--timeout" => timeout = Duration::from_secs(number(&val(a)?, a, 1, 86_400u64)?),
            "--aead" => aead = on_off(&val(a)?, a)?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown chat argument {other:?} (try chat --help)")),
        }
    }
    let wire =
        match (udp, peer, device) {
            (Some(local), Some(peer), None) if baud.is_none() => Wire::Udp { local, peer },
            (None, None, Some(device)) => {
                let baud = baud.unwrap_or(115_200);
                transport::baud_rate(baud).map_err(|e| e.to_string())?;
                Wire::Serial { device, baud }
            }
            _ => return Err(
                "chat: give --udp LOCAL_ADDR with --peer PEER_ADDR, or --device PATH (try chat \
                 --help)"
                    .into(),
            ),
        };
    Ok(ChatOptions {
        wire,
        timeout,
        aead,
    })
}

fn open(o: &ChatOptions) -> io::Result<(Io, bool, String)> {
    Ok(match &o.wire {
        Wire::Udp { local, peer } => {
            let addr = peer
                .to_socket_addrs()
                .map_err(|e| transport::context(e, &format!("bad --peer {peer}")))?
                .next()
                .ok_or_else(|| io::Error::other(format!("--peer {peer} names no address")))?;
            let sock = transport::udp_socket(local)?;
            (
                Io::Datagram { sock, peer: addr },
                false,
                format!("udp {addr}"),
            )
        }
        Wire::Serial { device, baud } => (
            Io::stream(Box::new(transport::open_serial(device, *baud)?)),
            true,
            format!("{device} at {baud} baud"),
        ),
    })
}

/// Lines read from stdin by a helper thread; the channel closes at end of input.
fn stdin_lines() -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A typed line on its way.
struct Line {
    id: u64,
    text: String,
    sent_at: Option<Instant>,
}

/// Runs a chat; returns the exit status.
fn run(o: &ChatOptions, out: &mut impl Write) -> io::Result<u8> {
    let (mut wire, stream, name) = open(o)?;
    let seed = std::process::id() ^ (Instant::now().elapsed().as_nanos() as u32) ^ 0xC4A7_0000;
    let mut link = RustLink::new(&Setup {
        stream,
        compression: Mode::Shared,
        window: 0,
        seed,
        key: o.aead.then_some(crate::run::DEMO_KEY),
        rto_initial: 500,
        keepalive: 1000,
    })?;
    writeln!(out, "* chat over {name}; waiting for the peer ...")?;
    let lines = stdin_lines();
    let start = Instant::now();
    let mut waiting_since = Some(start);
    let (mut pending, mut in_flight) = (VecDeque::<Line>::new(), VecDeque::<Line>::new());
    let (mut next_id, mut input_open) = (1u64, true);
    let mut buf = [0u8; 4096];
    let mut frame = [0u8; MAX_FRAME];
    let mut msg = [0u8; M];
    loop {
        let now = start.elapsed().as_millis() as u64;
        while let Some(n) = wire.recv(&mut buf)? {
            link.input(&buf[..n], now);
        }
        // Sessions first: lines a failed session did not confirm go out again.
        while let Some(e) = link.poll_event() {
            match e {
                LinkEvent::Up => {
                    waiting_since = None;
                    writeln!(out, "* connected (session up)")?;
                }
                LinkEvent::Down { reason, unacked } => {
                    let lost = usize::from(unacked).min(in_flight.len());
                    let again = in_flight.split_off(in_flight.len() - lost);
                    let before = in_flight.len();
                    confirm(&mut in_flight, before, out)?;
                    if lost > 0 {
                        writeln!(
                            out,
                            "* link down: {reason}; {lost} line(s) not confirmed, will resend"
                        )?;
                    } else {
                        writeln!(out, "* link down: {reason}")?;
                    }
                    for mut l in again.into_iter().rev() {
                        l.sent_at = None;
                        pending.push_front(l);
                    }
                    waiting_since = Some(Instant::now());
                }
            }
        }
        while let Some((len, _)) = link.recv(&mut msg) {
            writeln!(out, "peer: {}", String::from_utf8_lossy(&msg[..len]))?;
        }
        // Everything the window no longer holds was acknowledged, oldest first.
        let held = RUST_WINDOW - link.send_capacity();
        let acked = in_flight.len().saturating_sub(held);
        confirm(&mut in_flight, acked, out)?;
        loop {
            match lines.try_recv() {
                Ok(text) if text.len() > M => writeln!(
                    out,
                    "* line too long ({} bytes, at most {M}); not sent",
                    text.len()
                )?,
                Ok(text) => {
                    pending.push_back(Line {
                        id: next_id,
                        text,
                        sent_at: None,
                    });
                    next_id += 1;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    input_open = false;
                    break;
                }
            }
        }
        while link.is_up() {
            let Some(mut l) = pending.pop_front() else {
                break;
            };
            if !link.send(l.text.as_bytes(), now) {
                pending.push_front(l);
                break;
            }
            l.sent_at = Some(Instant::now());
            in_flight.push_back(l);
        }
        if !input_open && pending.is_empty() && in_flight.is_empty() {
            // The session ends when its CLOSE is out; the link would then start a new
            // handshake, which a leaving chat does not want, so sending stops there.
            link.close(now);
            while link.is_up() {
                let Some(n) = link.poll_transmit(now, &mut frame)? else {
                    break;
                };
                wire.send(&frame[..n])?;
            }
            wire.flush()?;
            writeln!(out, "* bye")?;
            return Ok(0);
        }
        if let Some(since) = waiting_since {
            if since.elapsed() > o.timeout {
                writeln!(out, "* no answer from the peer")?;
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "chat: no answer from the peer over {name} after {} s",
                        o.timeout.as_secs()
                    ),
                ));
            }
        }
        link.handle_timeout(now);
        while let Some(n) = link.poll_transmit(now, &mut frame)? {
            wire.send(&frame[..n])?;
        }
        out.flush()?;
        let wait = link
            .poll_timeout()
            .map_or(20, |t| t.saturating_sub(now).clamp(1, 20));
        wire.wait_readable(Duration::from_millis(wait))?;
    }
}

/// Reports the oldest `n` lines in flight as delivered.
fn confirm(in_flight: &mut VecDeque<Line>, n: usize, out: &mut impl Write) -> io::Result<()> {
    for l in in_flight.drain(..n) {
        let rtt = l
            .sent_at
            .map_or(0.0, |t| t.elapsed().as_secs_f64() * 1000.0);
        writeln!(
            out,
            "* [{}] delivered, acknowledged after {rtt:.1} ms: {}",
            l.id, l.text
        )?;
    }
    Ok(())
}

/// Entry point of `ferrule-demo chat ...`; returns the exit status.
pub fn main(args: &[String]) -> u8 {
    let o = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ferrule-demo: {e}");
            return 2;
        }
    };
    match run(&o, &mut io::stdout().lock()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ferrule-demo: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<ChatOptions, String> {
        parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn wires_are_parsed_and_mixtures_refused() {
        let o = p(&["--udp", "127.0.0.1:1", "--peer", "127.0.0.1:2"]).unwrap();
        assert!(matches!(o.wire, Wire::Udp { .. }));
        let o = p(&["--device", "/dev/null", "--baud", "9600"]).unwrap();
        assert_eq!(
            o.wire,
            Wire::Serial {
                device: "/dev/null".into(),
                baud: 9600
            }
        );
        for bad in [
            &[][..],
            &["--udp", "127.0.0.1:1"],
            &["--udp", "a", "--peer", "b", "--device", "c"],
            &["--device", "c", "--baud", "1234"],
            &["--udp", "a", "--peer", "b", "--baud", "9600"],
            &["--bogus"],
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
    }
}
