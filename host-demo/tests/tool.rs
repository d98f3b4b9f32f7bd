//! The host tool's scripting side as a user runs it: `bridge` between two processes over UDP
//! and a null-modem pty pair (10,000 binary messages on several channels, exact delivery),
//! `send` / `listen`, malformed JSON input, help and version, and bridge to the QEMU firmware.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{free_udp, tmp, Proc, Rng, BIN};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

#[test]
fn help_and_version_go_to_stdout_with_status_0() {
    for args in [
        &["--help"][..],
        &["--version"],
        &["bridge", "--help"],
        &["send", "--help"],
        &["completions", "bash"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}: {:?}", out.stderr);
        let needle = match args[0] {
            "--version" => "ferrule 0.2.0",
            "bridge" => "--local-udp",
            "send" => "--file",
            "completions" => "_ferrule",
            _ => "Exit status",
        };
        assert!(text.contains(needle), "{args:?}: {text}");
    }
}

/// The messages one bridge sends: `count` binary payloads spread over `channels`, each
/// starting with its channel and its index on that channel.
fn workload(seed: u64, count: usize, channels: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut rng = Rng(seed);
    let mut per: BTreeMap<u8, u32> = BTreeMap::new();
    (0..count)
        .map(|i| {
            let ch = channels[i % channels.len()];
            let n = per.entry(ch).or_default();
            let mut m = vec![ch];
            m.extend(n.to_le_bytes());
            *n += 1;
            let len = (rng.next() % 300) as usize;
            m.extend(rng.bytes(len));
            (ch, m)
        })
        .collect()
}

fn lines_of(msgs: &[(u8, Vec<u8>)]) -> String {
    let mut s = String::new();
    for (ch, m) in msgs {
        s += &format!("{{\"channel\":{ch},\"data\":\"{}\"}}\n", B64.encode(m));
    }
    s
}

/// What a bridge printed, sorted out: messages per channel in arrival order, and events.
#[derive(Default)]
struct Seen {
    per_channel: BTreeMap<u8, Vec<Vec<u8>>>,
    messages: usize,
    acked: usize,
    events: Vec<String>,
}

impl Seen {
    fn take(&mut self, line: &str) {
        let v = json(line);
        if let Some(ch) = v.get("channel") {
            let data = B64.decode(v["data"].as_str().unwrap()).unwrap();
            self.per_channel
                .entry(ch.as_u64().unwrap() as u8)
                .or_default()
                .push(data);
            self.messages += 1;
        } else if v["event"] == "acked" {
            self.acked += 1;
        } else {
            self.events.push(line.to_string());
        }
    }
}

fn by_channel(msgs: &[(u8, Vec<u8>)]) -> BTreeMap<u8, Vec<Vec<u8>>> {
    let mut m: BTreeMap<u8, Vec<Vec<u8>>> = BTreeMap::new();
    for (ch, d) in msgs {
        m.entry(*ch).or_default().push(d.clone());
    }
    m
}

/// Two bridges: A sends `a_count` messages, B sends `b_count` back, at the same time; both
/// must deliver exactly (order per channel, nothing lost or doubled, byte-exact), report every
/// acknowledgement, and leave with status 0 when their input ends.
fn bridge_pair(a_args: &[&str], b_args: &[&str], a_count: usize, b_count: usize) {
    let channels = [0u8, 1, 7, 42, 255];
    let to_b = workload(1, a_count, &channels);
    let to_a = workload(2, b_count, &channels[1..3]);
    let mut a = Proc::start(&[&["bridge"], a_args].concat());
    let mut b = Proc::start(&[&["bridge"], b_args].concat());
    // Each input is written by a thread (the bridge reads at the link's pace); the pipes are
    // handed back open, so neither bridge leaves before the other has everything.
    let writer = |p: &mut Proc, text: String| {
        let mut stdin = p.stdin.take().unwrap();
        std::thread::spawn(move || {
            stdin.write_all(text.as_bytes()).unwrap();
            stdin
        })
    };
    let wa = writer(&mut a, lines_of(&to_b));
    let wb = writer(&mut b, lines_of(&to_a));
    let (mut sa, mut sb) = (Seen::default(), Seen::default());
    let mut last = std::time::Instant::now();
    while sb.messages < a_count || sa.messages < b_count || sa.acked < a_count || sb.acked < b_count
    {
        // Whichever side has output, each waited on briefly in turn; no progress for WAIT
        // fails the test.
        for (p, s) in [(&mut a, &mut sa), (&mut b, &mut sb)] {
            while let Some(l) = p.next_line(Duration::from_millis(5)) {
                s.take(&l);
                last = std::time::Instant::now();
            }
        }
        assert!(
            last.elapsed() < WAIT,
            "stalled: B got {}/{a_count}, A got {}/{b_count}, acked {}/{}; events A {:?} B {:?}",
            sb.messages,
            sa.messages,
            sa.acked,
            sb.acked,
            sa.events,
            sb.events
        );
    }
    assert_eq!(sb.per_channel, by_channel(&to_b), "A to B not exact");
    assert_eq!(sa.per_channel, by_channel(&to_a), "B to A not exact");
    assert!(
        sa.events.iter().any(|e| e.contains("\"up\"")),
        "{:?}",
        sa.events
    );
    a.stdin = Some(wa.join().unwrap());
    b.stdin = Some(wb.join().unwrap());
    let (code_a, rest_a) = a.finish();
    assert_eq!(code_a, Some(0), "{rest_a:?}");
    let (code_b, rest_b) = b.finish();
    assert_eq!(code_b, Some(0), "{rest_b:?}");
}

#[test]
fn bridge_to_bridge_over_udp_delivers_ten_thousand_binary_messages_exactly() {
    let (pa, pb) = (free_udp(), free_udp());
    bridge_pair(
        &["--udp", &pa, "--peer", &pb],
        &["--udp", &pb, "--peer", &pa, "--compression", "per-message"],
        10_000,
        1_000,
    );
}

#[cfg(unix)]
#[test]
fn bridge_to_bridge_over_a_pty_pair_delivers_ten_thousand_binary_messages_exactly() {
    let m = common::null_modem();
    bridge_pair(
        &["--device", &m.paths[0], "--baud", "921600"],
        &["--device", &m.paths[1], "--baud", "921600", "--window", "8"],
        10_000,
        1_000,
    );
}

#[test]
fn malformed_lines_are_reported_by_number_and_the_link_keeps_running() {
    let (pa, pb) = (free_udp(), free_udp());
    let mut b = Proc::start(&["bridge", "--udp", &pb, "--peer", &pa]);
    let mut a = Proc::start(&["bridge", "--udp", &pa, "--peer", &pb]);
    a.write_line(r#"{"channel":2,"text":"first"}"#);
    a.write_line(r#"{"channel":"#);
    a.write_line(r#"{"data":"not base64!"}"#);
    a.write_line("");
    a.write_line(r#"{"text":"x","channel":1,"colour":"red"}"#);
    a.write_line(r#"{"channel":2,"text":"second","id":{"k":7}}"#);
    assert!(a
        .expect_err("stdin line 2: invalid JSON")
        .starts_with("ferrule: "));
    a.expect_err("stdin line 3: \"data\" is not base64");
    a.expect_err("stdin line 5: invalid JSON: unknown field `colour`");
    let first = json(&b.expect("\"channel\""));
    assert_eq!(first["text"], "first");
    let second = json(&b.expect("\"channel\""));
    assert_eq!(
        (second["channel"].as_u64(), second["text"].as_str()),
        (Some(2), Some("second"))
    );
    // The acknowledgement of the second message carries its id and input number.
    a.expect("\"msg\":1");
    let ack = json(&a.expect("\"msg\":2"));
    assert_eq!(ack["id"]["k"], 7);
    assert!(ack["rtt_ms"].as_f64().unwrap() >= 0.0);
    let (code, _) = a.finish();
    assert_eq!(code, Some(0));
    b.expect("peer closed the link");
    assert_eq!(b.finish().0, Some(0));
}

#[test]
fn send_waits_for_every_acknowledgement_and_listen_prints_what_arrives() {
    let (pl, ps) = (free_udp(), free_udp());
    let file = tmp("binary.bin");
    let payload: Vec<u8> = (0..=255u8).rev().collect();
    std::fs::write(&file, &payload).unwrap();
    let mut listen = Proc::start(&[
        "listen",
        "--udp",
        &pl,
        "--peer",
        &ps,
        "--count",
        "3",
        "--json",
        "--timeout",
        "30",
    ]);
    let out = Command::new(BIN)
        .args([
            "send",
            "--udp",
            &ps,
            "--peer",
            &pl,
            "--channel",
            "4",
            "hello",
            "wörld",
            "--file",
            &file,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "3 message(s) acknowledged"
    );
    let mut got = Vec::new();
    while got.len() < 3 {
        let v = json(&listen.expect("\"channel\""));
        assert_eq!(v["channel"], 4);
        got.push(B64.decode(v["data"].as_str().unwrap()).unwrap());
    }
    assert_eq!(
        got,
        vec![b"hello".to_vec(), "wörld".as_bytes().to_vec(), payload]
    );
    assert_eq!(listen.finish().0, Some(0));

    // Text mode, one line per message; the sender's JSON lists the acknowledgements.
    let (pl, ps) = (free_udp(), free_udp());
    let mut listen = Proc::start(&["listen", "--udp", &pl, "--peer", &ps, "--count", "1"]);
    let out = Command::new(BIN)
        .args(["send", "--udp", &ps, "--peer", &pl, "--json", "plain text"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let acked = json(String::from_utf8_lossy(&out.stdout).trim());
    assert_eq!(
        (acked["event"].as_str(), acked["msg"].as_u64()),
        (Some("acked"), Some(1))
    );
    assert_eq!(listen.expect("plain"), "plain text");
    assert_eq!(listen.finish().0, Some(0));
}

#[test]
fn send_to_a_silent_peer_times_out_with_status_6() {
    let quiet = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer = quiet.local_addr().unwrap().to_string();
    let out = Command::new(BIN)
        .args([
            "send",
            "--udp",
            "127.0.0.1:0",
            "--peer",
            &peer,
            "--timeout",
            "1",
            "x",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("ferrule: no answer from the peer"), "{err}");
}

#[test]
fn bridge_serves_local_tcp_and_udp_clients() {
    use std::io::{BufRead, BufReader};
    let (pa, pb) = (free_udp(), free_udp());
    let local = common::free_tcp();
    let mut a = Proc::start(&["bridge", "--udp", &pa, "--peer", &pb, "--local-tcp", &local]);
    a.expect("\"serving\"");
    let client = std::net::TcpStream::connect(&local).unwrap();
    client.set_read_timeout(Some(WAIT)).unwrap();
    let mut b = Proc::start(&["bridge", "--udp", &pb, "--peer", &pa]);
    writeln!(&client, r#"{{"channel":3,"text":"from a client"}}"#).unwrap();
    let got = json(&b.expect("\"channel\""));
    assert_eq!(
        (got["channel"].as_u64(), got["text"].as_str()),
        (Some(3), Some("from a client"))
    );
    b.write_line(r#"{"channel":5,"text":"to the client"}"#);
    let mut lines = BufReader::new(client.try_clone().unwrap()).lines();
    let back = loop {
        let v = json(&lines.next().unwrap().unwrap());
        if v.get("channel").is_some() {
            break v;
        }
    };
    assert_eq!(back["text"], "to the client");

    // The same over a local UDP socket: one JSON line per datagram.
    let local_udp = free_udp();
    let (pc, pd) = (free_udp(), free_udp());
    let mut c = Proc::start(&[
        "bridge",
        "--udp",
        &pc,
        "--peer",
        &pd,
        "--local-udp",
        &local_udp,
    ]);
    c.expect("\"serving\"");
    let mut d = Proc::start(&["bridge", "--udp", &pd, "--peer", &pc]);
    let app = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    app.set_read_timeout(Some(WAIT)).unwrap();
    app.send_to(br#"{"text":"datagram"}"#, &local_udp).unwrap();
    assert_eq!(json(&d.expect("\"channel\""))["text"], "datagram");
    d.write_line(r#"{"text":"reply"}"#);
    let mut buf = [0u8; 2048];
    let reply = loop {
        let n = app.recv(&mut buf).unwrap();
        let v = json(std::str::from_utf8(&buf[..n]).unwrap());
        if v.get("channel").is_some() {
            break v;
        }
    };
    assert_eq!(reply["text"], "reply");
    drop((a, b, c, d));
}

/// Ends keyed differently never make a session; the sender's timeout says why (the peer's
/// frames arrived but failed the key check) instead of calling the peer silent.
#[test]
fn a_key_mismatch_is_named_when_no_session_comes_up() {
    let (ka, kb) = (tmp("key-a.hex"), tmp("key-b.hex"));
    std::fs::write(&ka, "11".repeat(32)).unwrap();
    std::fs::write(&kb, "22".repeat(32)).unwrap();
    let (pa, pb) = (free_udp(), free_udp());
    let mut listener = Command::new(BIN)
        .args(["listen", "--udp", &pb, "--peer", &pa, "--key-file", &kb])
        .args(["--timeout", "20"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = Command::new(BIN)
        .args(["send", "--udp", &pa, "--peer", &pb, "--key-file", &ka])
        .args(["--timeout", "2", "x"])
        .output()
        .unwrap();
    listener.kill().unwrap();
    listener.wait().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("failed the key check"), "{err}");
}

#[test]
fn an_oversize_line_is_refused_before_any_session() {
    // The peer address answers nothing: no session comes up while the line is read.
    let (pa, pb) = (free_udp(), free_udp());
    let mut a = Proc::start(&["bridge", "--udp", &pa, "--peer", &pb, "--max-message", "16"]);
    a.write_line(r#"{"text":"seventeen bytes.."}"#);
    a.expect_err("stdin line 1: message of 17 bytes is larger than the link takes; skipped");
    let _ = a.child.kill();
}

/// A peer of `ferrule listen` over UDP, driven from the test: the library's own link on a
/// socket, pumped with bounded waits.
struct UdpPeer {
    link: ferrule::link::Link<'static>,
    sock: std::net::UdpSocket,
    to: String,
    start: std::time::Instant,
}

impl UdpPeer {
    fn new(to: &str) -> Self {
        use ferrule::link::{Config, Link, LinkBuffers, Transport};
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let cfg = Config {
            transport: Transport::Datagram,
            ..Config::default()
        };
        let link = Link::new(cfg, 77, LinkBuffers::alloc(4, 256, false)).unwrap();
        let start = std::time::Instant::now();
        let to = to.to_string();
        Self {
            link,
            sock,
            to,
            start,
        }
    }
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }
    /// What the link sends now, unsent.
    fn frames(&mut self) -> Vec<Vec<u8>> {
        let (now, mut out, mut buf) = (self.now(), Vec::new(), [0u8; 512]);
        while let Ok(Some(n)) = self.link.poll_transmit(now, &mut buf) {
            out.push(buf[..n].to_vec());
        }
        out
    }
    /// Sends what is due, takes what arrives (one bounded wait), runs the timers.
    fn pump(&mut self) {
        for f in self.frames() {
            self.sock.send_to(&f, &self.to).unwrap();
        }
        let mut buf = [0u8; 2048];
        if let Ok(n) = self.sock.recv(&mut buf) {
            self.link.handle_datagram(&buf[..n], self.now());
        }
        self.link.handle_timeout(self.now());
    }
}

/// PROTOCOL.md 5.2: a message that fails to decompress is counted and reported, not lost
/// silently: `listen --json` prints an `undelivered` event, and the next message arrives.
#[test]
fn a_message_that_fails_to_decompress_is_reported_and_the_link_goes_on() {
    use ferrule::{encode_datagram, Compression, Frame, FrameKind};
    let pl = free_udp();
    let mut peer = UdpPeer::new(&pl);
    let ps = peer.sock.local_addr().unwrap().to_string();
    let mut listen = Proc::start(&[
        "listen",
        "--udp",
        &pl,
        "--peer",
        &ps,
        "--json",
        "--count",
        "1",
        "--timeout",
        "30",
    ]);
    let deadline = std::time::Instant::now() + WAIT;
    while !peer.link.is_up() {
        assert!(
            std::time::Instant::now() < deadline,
            "no session with the tool"
        );
        peer.pump();
    }
    // A message whose RDATA frame claims a deflate payload of the reserved block type 3.
    peer.link.send(0, b"placeholder", peer.now()).unwrap();
    for f in peer.frames() {
        let frame = Frame::from_body(&f).unwrap();
        let mut h = frame.header;
        if h.kind == FrameKind::Rdata {
            h.compression = Compression::Deflate;
            let mut out = [0u8; 64];
            let n = encode_datagram(&h, &[0xFF, 0xFF], &mut out).unwrap();
            peer.sock.send_to(&out[..n], &pl).unwrap();
        } else {
            peer.sock.send_to(&f, &pl).unwrap();
        }
    }
    let v = json(&listen.expect("undelivered"));
    assert_eq!(v["channel"], 0);
    assert!(v["reason"].as_str().unwrap().contains("decompress"), "{v}");
    // The session goes on: the next message is delivered.
    peer.link.send(0, b"after", peer.now()).unwrap();
    let mut got = None;
    while got.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the next message did not arrive"
        );
        peer.pump();
        // Events of the same round (the session's `up`) may come before or after the message.
        got = listen
            .next_line(Duration::from_millis(1))
            .filter(|l| l.contains("\"data\""));
    }
    let v = json(&got.unwrap());
    assert_eq!(B64.decode(v["data"].as_str().unwrap()).unwrap(), b"after");
    assert_eq!(listen.finish().0, Some(0));
}

/// Ctrl-C ends `listen` cleanly: its peer hears CLOSE at once (not "peer silent" seconds
/// later), the capture holds every frame up to the CLOSE, and the status is 130. A `down`
/// event of `listen --json` lists the lost messages as `bridge` does. A capture cut short
/// decodes up to the cut, then fails with status 5.
#[cfg(unix)]
#[test]
fn ctrl_c_closes_the_session_and_keeps_the_capture() {
    let (pl, ps) = (free_udp(), free_udp());
    let cap = tmp("interrupted.pcapng");
    let listen_args = [
        "listen",
        "--udp",
        &pl,
        "--peer",
        &ps,
        "--json",
        "--capture",
        &cap,
    ];
    let mut listen = Proc::start(&listen_args);
    let out = Command::new(BIN)
        .args(["send", "--udp", &ps, "--peer", &pl, "a", "b", "c"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let down = json(&listen.expect("\"down\""));
    assert_eq!(down["reason"], "peer closed the link");
    assert_eq!(down["lost"], serde_json::json!([]));

    // A second session, interrupted on the listening side.
    let mut peer = Proc::start(&["bridge", "--udp", &ps, "--peer", &pl]);
    peer.write_line(r#"{"text":"before ctrl-c"}"#);
    listen.expect("before ctrl-c");
    peer.expect("\"acked\"");
    listen.interrupt();
    let down = json(&peer.expect("\"down\""));
    assert_eq!(down["reason"], "peer closed the link", "{down}");
    let (code, rest) = listen.finish();
    assert_eq!(code, Some(130));
    // listen's own close is reported too, before it ends.
    let down = rest.iter().find(|l| l.contains("\"down\""));
    let down = json(down.unwrap_or_else(|| panic!("no down event in {rest:?}")));
    assert_eq!(down["reason"], "closed locally", "{down}");

    let decode = |path: &str| Command::new(BIN).args(["decode", path]).output().unwrap();
    let out = decode(&cap);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let closes = text
        .lines()
        .filter(|l| l.contains(" -> ") && l.contains("CLOSE"));
    assert_eq!(
        closes.count(),
        1,
        "the CLOSE listen sent is captured:\n{text}"
    );
    let records = text.lines().filter(|l| l.contains(" B  ")).count();

    let cut = tmp("interrupted-cut.pcapng");
    let mut bytes = std::fs::read(&cap).unwrap();
    bytes.truncate(bytes.len() - 5);
    std::fs::write(&cut, bytes).unwrap();
    let out = decode(&cut);
    assert_eq!(out.status.code(), Some(5));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.contains(" B  ")).count(),
        records - 1
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad pcapng block"), "{err}");
}

/// A line that is not UTF-8 is reported by number and skipped; the lines after it go on.
#[test]
fn a_line_that_is_not_utf8_is_reported_and_skipped() {
    let (pa, pb) = (free_udp(), free_udp());
    let mut listen = Proc::start(&["listen", "--udp", &pb, "--peer", &pa, "--json"]);
    let mut a = Proc::start(&["bridge", "--udp", &pa, "--peer", &pb]);
    a.write_line(r#"{"channel":0,"text":"ok1"}"#);
    a.write_bytes(b"\xff\xfe\x00\x01binary\n");
    a.write_line(r#"{"channel":0,"text":"after"}"#);
    a.expect_err("stdin line 2: not UTF-8");
    assert_eq!(json(&listen.expect("\"channel\""))["text"], "ok1");
    assert_eq!(json(&listen.expect("\"channel\""))["text"], "after");
    assert_eq!(a.finish().0, Some(0));
}

/// A message larger than the peer takes: the ones before it are delivered and acknowledged,
/// the session is closed, and the error names the refused message.
#[test]
fn send_delivers_what_precedes_a_refused_message_then_fails() {
    let (pl, ps) = (free_udp(), free_udp());
    let listen_args = [
        "listen",
        "--udp",
        &pl,
        "--peer",
        &ps,
        "--json",
        "--max-message",
        "50",
    ];
    let mut listen = Proc::start(&listen_args);
    let big = "y".repeat(100);
    let out = Command::new(BIN)
        .args(["send", "--udp", &ps, "--peer", &pl, "small", &big, "after"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    for needle in [
        "message 2 of 3",
        "100 bytes",
        "at most 50",
        "1 message(s) before it",
    ] {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert_eq!(json(&listen.expect("\"channel\""))["text"], "small");
    let down = json(&listen.expect("\"down\""));
    assert_eq!(down["reason"], "peer closed the link");
}

/// Datagrams from another address than `--peer` are dropped and counted as such, not as
/// line damage.
#[test]
fn datagrams_from_strangers_are_counted_not_taken() {
    let (pa, pb) = (free_udp(), free_udp());
    let mut a = Proc::start(&["bridge", "--udp", &pa, "--peer", &pb, "--stats", "1"]);
    let mut b = Proc::start(&["bridge", "--udp", &pb, "--peer", &pa]);
    a.expect("\"up\"");
    b.expect("\"up\"");
    let stranger = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for junk in [&b"junk"[..], b"\x00\x01\x02", b"more junk"] {
        stranger.send_to(junk, &pa).unwrap();
    }
    let deadline = std::time::Instant::now() + WAIT;
    let stats = loop {
        let v = json(&a.expect("\"stats\""));
        if v["foreign_datagrams"] == 3 {
            break v;
        }
        assert!(std::time::Instant::now() < deadline, "not counted: {v}");
    };
    assert_eq!(stats["crc_rejects"], 0, "{stats}");
    // The line names every reason a frame or message is dropped or refused.
    for counter in [
        "crc_rejects",
        "auth_failed",
        "duplicates",
        "out_of_window",
        "too_large",
        "stale_session",
        "not_negotiated",
        "bad_ack",
        "decompress_failed",
        "replayed",
        "too_old",
        "untagged",
        "reflected",
        "unexpected",
        "hello_duplicates",
        "unknown_key",
        "unauthenticated",
        "events_dropped",
        "parity_rejected",
        "fec_unrecoverable",
        "foreign_datagrams",
    ] {
        assert!(stats[counter].is_u64(), "no {counter} in {stats}");
    }
    drop(b);
}

/// Only a closed stdout is quiet: any other write error (`> /dev/full`: no space left) is an
/// I/O failure, status 1, named on stderr.
#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_fails_with_status_1() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let out = Command::new(BIN)
        .args(["completions", "bash"])
        .stdout(full())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("ferrule: stdout: No space left"), "{err}");
}

/// A closed stdout stops `send`'s printing, not its job: every message is delivered and
/// acknowledged and the session closed, status 0.
#[test]
fn a_closed_stdout_does_not_stop_send() {
    let (pl, ps) = (free_udp(), free_udp());
    let mut listen = Proc::start(&["listen", "--udp", &pl, "--peer", &ps, "--json"]);
    let mut send = Command::new(BIN)
        .args([
            "send", "--udp", &ps, "--peer", &pl, "--json", "--window", "1", "a", "b", "c",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(send.stdout.take()); // as `| head -0` does
    let out = send.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for text in ["a", "b", "c"] {
        assert_eq!(json(&listen.expect("\"channel\""))["text"], text);
    }
    let down = json(&listen.expect("\"down\""));
    assert_eq!(down["reason"], "peer closed the link", "{down}");
}

/// Ctrl-C ends a TCP connect that hangs (the listener's backlog is full, so its SYNs go
/// unanswered): status 130 at once, not after the kernel gives up minutes later.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_ends_a_connect_that_hangs() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    // Listening again sets the backlog: 0, so one queued connection fills it.
    nix::sys::socket::listen(&l, nix::sys::socket::Backlog::new(0).unwrap()).unwrap();
    let mut queued = Vec::new();
    while let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
        queued.push(s);
        assert!(queued.len() < 16, "the backlog never fills");
    }
    let port = format!(":{:04X} ", addr.port());
    let addr = addr.to_string();
    let mut listen = Proc::start(&["listen", "--json", "--tcp", &addr]);
    // Its connect is under way once a socket to the port is in SYN_SENT (state 02).
    let end = std::time::Instant::now() + WAIT;
    while !std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && format!("{} ", f[2]).ends_with(&port) && f[3] == "02"
        })
    {
        assert!(std::time::Instant::now() < end, "no connect under way");
        std::thread::yield_now();
    }
    listen.wait_for_handler();
    listen.interrupt();
    let code = listen.exits_within(Duration::from_secs(5));
    assert_eq!(code, Some(Some(130)), "{:?}", listen.stderr_now());
    assert_eq!(listen.stderr_now(), ["ferrule: interrupted"]);
}

/// Ctrl-C during `firmware --connect`'s attempts at a refusing address: status 130, not 3.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_ends_firmware_connect_attempts() {
    let refusing = common::free_tcp();
    let mut fw = Proc::start(&["firmware", "--connect", &refusing, "--timeout", "60"]);
    fw.wait_for_handler();
    fw.interrupt();
    let code = fw.exits_within(Duration::from_secs(10));
    assert_eq!(code, Some(Some(130)), "{:?}", fw.stderr_now());
    assert_eq!(fw.stderr_now(), ["ferrule: interrupted"]);
}

/// An interrupted bridge prints the `down` event its close produces, listing the message the
/// peer never acknowledged, then ends with status 130.
#[cfg(unix)]
#[test]
fn an_interrupted_bridge_lists_what_was_not_acknowledged() {
    use ferrule::{Frame, FrameKind};
    let pb = free_udp();
    let mut peer = UdpPeer::new(&pb);
    let ps = peer.sock.local_addr().unwrap().to_string();
    let mut bridge = Proc::start(&["bridge", "--udp", &pb, "--peer", &ps]);
    let deadline = std::time::Instant::now() + WAIT;
    // Both ends up: the peer pumped until the bridge says so.
    while !bridge
        .next_line(Duration::from_millis(1))
        .is_some_and(|l| l.contains("\"up\""))
    {
        assert!(std::time::Instant::now() < deadline, "no session");
        peer.pump();
    }
    bridge.write_line(r#"{"text":"never acknowledged"}"#);
    // The peer reads the message off the wire and never answers it.
    let mut buf = [0u8; 2048];
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the message never came"
        );
        let Ok(n) = peer.sock.recv(&mut buf) else {
            continue;
        };
        if Frame::from_body(&buf[..n]).is_ok_and(|f| f.header.kind == FrameKind::Rdata) {
            break;
        }
    }
    bridge.interrupt();
    let down = json(&bridge.expect("\"down\""));
    assert_eq!(down["lost"], serde_json::json!([1]), "{down}");
    assert_eq!(down["unacked"], 1, "{down}");
    let (code, _) = bridge.finish();
    assert_eq!(code, Some(130));
}

/// decode counts from the frames, not from the printed text: a message "HELLO world" is a
/// sealed frame opened like any other.
#[test]
fn decode_counts_frames_whatever_their_payload_says() {
    let key = tmp("hello.key");
    std::fs::write(&key, "42".repeat(32)).unwrap();
    let cap = tmp("hello.pcapng");
    let (pl, ps) = (free_udp(), free_udp());
    let link = ["--key-file", &key, "--compression", "off"];
    let mut args = vec!["listen", "--udp", &pl, "--peer", &ps, "--count", "2"];
    args.extend(link);
    let mut listen = Proc::start(&args);
    let mut send = vec!["send", "--udp", &ps, "--peer", &pl, "--capture", &cap];
    send.extend(link);
    send.extend(["HELLO world", "crc ok sealed key 1 (opened)"]);
    let out = Command::new(BIN).args(&send).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(listen.expect("HELLO"), "HELLO world");
    let out = Command::new(BIN)
        .args(["decode", &cap, "--key", &"42".repeat(32)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("(opened) | HELLO world"), "{text}");
    let opened = text
        .lines()
        .filter(|l| l.contains("crc ok   (opened)"))
        .count();
    let sealed = text
        .lines()
        .filter(|l| l.contains(" sealed key ") && l.contains(" crc ok "))
        .filter(|l| !l.contains(" HELLO     ") && !l.contains(" HELLO_ACK "))
        .count();
    assert!(sealed >= 2 && opened == sealed, "{text}");
    assert!(
        text.contains(&format!("; {sealed} of {sealed} sealed frames opened")),
        "{text}"
    );
}
