//! `ferrule-demo firmware`: the host end of a link to firmware over a byte stream — QEMU's
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

use crate::transport::{self, Io};
use ferrule::compress::{CodecConfig, Compressor, Mode};
use ferrule::link::{frame_buffer_len, Config, Event, Link, Transport};
use std::collections::{BTreeSet, HashSet};
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const M: usize = 256;
type FwLink = Link<8, M, { frame_buffer_len(M) }, Compressor<'static>>;

/// Options of the firmware mode.
pub struct FirmwareOptions {
    listen: Option<String>,
    connect: Option<String>,
    device: Option<String>,
    baud: u32,
    count: u32,
    timeout: Duration,
}

/// Parses `firmware` arguments.
pub fn parse(args: &[String]) -> Result<FirmwareOptions, String> {
    let mut o = FirmwareOptions {
        listen: None,
        connect: None,
        device: None,
        baud: 115_200,
        count: 1000,
        timeout: Duration::from_secs(120),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--listen" => o.listen = Some(val("--listen")?),
            "--connect" => o.connect = Some(val("--connect")?),
            "--device" => o.device = Some(val("--device")?),
            "--baud" => {
                o.baud = crate::options::number(&val("--baud")?, "--baud", 1, 4_000_000u32)?;
                transport::baud_rate(o.baud).map_err(|e| e.to_string())?;
            }
            "--count" => {
                o.count = val("--count")?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--count needs a positive whole number")?
            }
            "--timeout" => {
                let s: u64 = val("--timeout")?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--timeout needs a positive number of seconds")?;
                o.timeout = Duration::from_secs(s);
            }
            "-h" | "--help" => {
                return Err(
                    "usage: ferrule-demo firmware (--listen ADDR | --connect ADDR | --device PATH \
                            [--baud N]) [--count N] [--timeout SECONDS]"
                        .into(),
                )
            }
            other => return Err(format!("unknown firmware argument {other:?} (try --help)")),
        }
    }
    let wires = [o.listen.is_some(), o.connect.is_some(), o.device.is_some()];
    if wires.iter().filter(|&&w| w).count() != 1 {
        return Err(
            "firmware: give exactly one of --listen ADDR, --connect ADDR or --device PATH".into(),
        );
    }
    Ok(o)
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
}

/// Runs the firmware mode; `Ok` only when every response arrived once, intact.
pub fn run(o: &FirmwareOptions) -> Result<FirmwareReport, String> {
    let start = Instant::now();
    let cfg = Config {
        transport: Transport::Stream,
        rto_initial: 200,
        keepalive: 500,
        ..Config::default()
    };
    let codec = CodecConfig {
        reliable: Mode::Shared,
        ..CodecConfig::default()
    };
    let seed = std::process::id() ^ (start.elapsed().as_nanos() as u32) ^ 0xF1F1_0000;
    let mut link = FwLink::with_codec(cfg, seed, Compressor::new(codec));
    let listener = match &o.listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .map_err(|e| format!("firmware: cannot listen on {addr}: {e}"))?,
        ),
        None => None,
    };
    let mut r = FirmwareReport::default();
    let mut to_send: BTreeSet<u32> = (0..o.count).collect();
    let mut in_flight: BTreeSet<u32> = BTreeSet::new();
    let mut answered: HashSet<u32> = HashSet::new();
    let mut conn: Option<Io> = None;
    let mut buf = vec![0u8; FwLink::MAX_FRAME];
    let mut rx = [0u8; 4096];
    let mut msg = [0u8; M];
    let mut last_progress = 0;
    while r.responses < o.count {
        if start.elapsed() > o.timeout {
            return Err(format!(
                "firmware: timed out after {} s with {}/{} responses (is the firmware running?)",
                o.timeout.as_secs(),
                r.responses,
                o.count
            ));
        }
        let now = start.elapsed().as_millis() as u64;
        let Some(c) = conn.as_mut() else {
            conn = Some(open(o, listener.as_ref(), r.connections > 0, start)?);
            r.connections += 1;
            continue;
        };
        // Requests: lowest index first, while the window has room.
        while link.is_up() {
            let Some(&i) = to_send.first() else { break };
            if link.send(0, &request(i), now).is_err() {
                break;
            }
            to_send.remove(&i);
            in_flight.insert(i);
            r.requests_sent += 1;
        }
        let mut broken = false;
        while let Ok(Some(n)) = link.poll_transmit(now, &mut buf) {
            if c.send(&buf[..n]).is_err() {
                broken = true;
                break;
            }
        }
        let wait = link
            .poll_timeout()
            .map_or(20, |t| t.saturating_sub(now).clamp(1, 20));
        let _ = c.flush();
        if c.wait_readable(Duration::from_millis(wait)).is_err() {
            broken = true;
        }
        loop {
            match c.recv(&mut rx) {
                Ok(Some(n)) => link.handle_input(&rx[..n], start.elapsed().as_millis() as u64),
                Ok(None) => break,
                // EOF on a socket, EIO on a pty whose QEMU exited: the firmware went away.
                Err(_) => {
                    broken = true;
                    break;
                }
            }
        }
        if broken {
            // The firmware went away (QEMU stopped): wait for it to come back. The link keeps
            // its state; the restarted firmware's handshake tells it what happened.
            conn = None;
        }
        link.handle_timeout(start.elapsed().as_millis() as u64);
        while let Ok(Some(got)) = link.recv(&mut msg) {
            let m = &msg[..got.len];
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
        while let Some(e) = link.poll_event() {
            match e {
                Event::Up => {
                    r.sessions += 1;
                    println!("link up (session {})", r.sessions);
                }
                Event::Down { reason, unacked } => {
                    // Whatever was sent and not answered goes again in the next session.
                    r.resent += in_flight.len() as u64;
                    println!(
                        "link down: {reason:?} ({unacked} unacknowledged discarded, {} requests \
                         to send again)",
                        in_flight.len()
                    );
                    to_send.append(&mut in_flight);
                }
            }
        }
        if r.responses / 100 > last_progress {
            last_progress = r.responses / 100;
            println!("responses {}", r.responses);
        }
    }
    Ok(r)
}

/// Opens the wire to the firmware: waits for its connection (or connects to it) until the
/// run's deadline, or opens the serial device. A device that is missing or busy on the first
/// attempt is an error at once; after a disconnect it is waited for, like a socket.
fn open(
    o: &FirmwareOptions,
    listener: Option<&TcpListener>,
    reopening: bool,
    start: Instant,
) -> Result<Io, String> {
    loop {
        if start.elapsed() > o.timeout {
            return Err("firmware: timed out waiting for the firmware's connection".into());
        }
        let attempt = match (listener, &o.connect, &o.device) {
            (Some(l), _, _) => {
                l.set_nonblocking(true).map_err(|e| e.to_string())?;
                l.accept().map(|(s, _)| s).and_then(tcp)
            }
            (None, Some(addr), _) => TcpStream::connect(addr).and_then(tcp),
            (None, None, Some(path)) => match transport::open_serial(path, o.baud) {
                Ok(s) => Ok(Io::stream(Box::new(s))),
                Err(e) if !reopening => return Err(format!("firmware: {e}")),
                Err(e) => Err(std::io::Error::new(ErrorKind::WouldBlock, e)),
            },
            (None, None, None) => return Err("firmware: no address given".into()),
        };
        match attempt {
            Ok(io) => return Ok(io),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::ConnectionRefused
                ) =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(format!("firmware: connection failed: {e}")),
        }
    }
}

fn tcp(s: TcpStream) -> std::io::Result<Io> {
    s.set_nonblocking(true)?;
    s.set_nodelay(true)?;
    Ok(Io::stream(Box::new(s)))
}

/// Entry point of `ferrule-demo firmware ...`; returns the exit status.
pub fn main(args: &[String]) -> u8 {
    let o = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ferrule-demo: {e}");
            return 2;
        }
    };
    match run(&o) {
        Ok(r) => {
            println!(
                "result: {}/{} responses, {} requests sent ({} again after restarts), {} \
                 duplicates, {} corrupted, {} sessions, {} connections",
                r.responses,
                o.count,
                r.requests_sent,
                r.resent,
                r.duplicates,
                r.corrupted,
                r.sessions,
                r.connections
            );
            u8::from(r.duplicates > 0 || r.corrupted > 0)
        }
        Err(e) => {
            eprintln!("ferrule-demo: {e}");
            1
        }
    }
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

    #[test]
    fn arguments_are_checked() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(parse(&s(&[])).is_err());
        assert!(parse(&s(&["--listen", "a", "--connect", "b"])).is_err());
        assert!(parse(&s(&["--listen", "127.0.0.1:0", "--count", "0"])).is_err());
        assert!(parse(&s(&["--bogus"])).is_err());
        assert!(parse(&s(&["--listen", "127.0.0.1:0", "--count", "5"])).is_ok());
        assert!(parse(&s(&["--device", "/dev/ttyUSB0", "--baud", "921600"])).is_ok());
        assert!(parse(&s(&["--device", "/dev/ttyUSB0", "--baud", "1000"])).is_err());
        assert!(parse(&s(&["--device", "a", "--connect", "b"])).is_err());
    }
}
