//! The `ferrule` binary's demo, chat, firmware and decode as a user runs them: every transport
//! delivers everything, the JSON report parses with its documented fields, captures decode,
//! charts are written, chat works between two processes, and bad input of every kind ends in
//! one clear line and its documented status.

mod common;

#[cfg(unix)]
use common::null_modem;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const DEMO: &str = env!("CARGO_BIN_EXE_ferrule");

fn demo(args: &[&str]) -> Output {
    Command::new(DEMO)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the demo binary runs")
}

fn tmp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("ferrule-demo-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).to_string_lossy().into_owned()
}

/// Runs a short exchange and returns the parsed JSON report, checking exact delivery.
fn run_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json", "--messages", "600"];
    all.extend_from_slice(args);
    let out = demo(&all);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let r: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON object");
    assert_eq!(r["sent"], 900, "{args:?}");
    assert_eq!(r["delivered"], 900, "{args:?}");
    for zero in ["lost", "duplicated", "damaged_accepted"] {
        assert_eq!(r[zero], 0, "{args:?}: {zero}");
    }
    assert_eq!(r["apis"], serde_json::json!(["Rust", "C"]));
    r
}

#[test]
fn the_json_report_has_every_documented_field() {
    let r = run_json(&[]);
    for key in [
        "transport",
        "elapsed_s",
        "goodput_msgs_per_s",
        "goodput_bytes_per_s",
        "retransmissions",
        "crc_rejects",
        "wire_bytes",
        "payload_bytes",
        "link_downs",
        "aead",
        "auth_failed",
        "captured_frames",
    ] {
        assert!(r.get(key).is_some(), "missing {key}");
    }
    for p in ["p50", "p90", "p99", "max"] {
        assert!(r["latency_us"][p].is_u64(), "latency {p}");
    }
    assert!(r["latency_us"]["p50"].as_u64() <= r["latency_us"]["max"].as_u64());
    let ratio = r["compression"]["ratio"].as_f64().unwrap();
    assert!(ratio > 0.0 && ratio < 0.6, "telemetry compresses: {ratio}");
    assert_eq!(r["raw_udp"]["sent"], 600);
    // 5 % loss on raw UDP loses something; ferrule loses nothing.
    assert!(r["raw_udp"]["lost"].as_u64().unwrap() > 0);
}

#[test]
fn twenty_percent_loss_still_delivers_everything() {
    let r = run_json(&["--loss", "0.2", "--seed", "7"]);
    assert!(r["retransmissions"].as_u64().unwrap() > 100);
}

#[test]
fn the_stream_transports_deliver_everything() {
    for t in ["tcp", "pty"] {
        let r = run_json(&["--transport", t, "--window", "4", "--size", "200"]);
        assert_eq!(r["transport"], t);
        assert_eq!(r["payload_bytes"], 900 * 200);
    }
}

#[test]
fn sealed_and_uncompressed_runs_deliver_everything() {
    let r = run_json(&["--aead", "on", "--compression", "off"]);
    assert_eq!(r["aead"], true);
    assert_eq!(r["compression"]["bytes_in"], 0);
}

#[test]
fn forward_error_correction_rebuilds_lost_frames_on_both_apis() {
    // Endpoint A is the Rust API, B the C API: both send parity and both repair.
    let r = run_json(&["--fec", "4:2", "--loss", "0.1", "--seed", "3"]);
    let parity = r["fec"]["parity_sent"].as_u64().unwrap();
    let rebuilt = r["fec"]["recovered"].as_u64().unwrap();
    assert!(parity > 100, "parity frames sent: {parity}");
    assert!(
        rebuilt > 10,
        "10 % loss leaves frames to rebuild: {rebuilt}"
    );
    let plain = run_json(&["--loss", "0.1", "--seed", "3"]);
    assert_eq!(plain["fec"]["parity_sent"], 0);
}

#[cfg(unix)]
#[test]
fn serial_mode_runs_over_two_wired_devices() {
    let m = null_modem();
    let r = run_json(&[
        "--transport",
        "serial",
        "--device",
        &m.paths[0],
        "--peer-device",
        &m.paths[1],
        "--baud",
        "921600",
    ]);
    assert_eq!(r["transport"], "serial");
}

#[test]
fn a_capture_decodes_frame_by_frame() {
    for transport in ["udp", "tcp"] {
        let cap = tmp(&format!("run-{transport}.pcapng"));
        let r = run_json(&["--transport", transport, "--capture", &cap]);
        let frames = r["captured_frames"].as_u64().unwrap();
        assert!(frames > 600, "{frames}");
        let out = demo(&["decode", &cap]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].contains(&format!("{frames} records")),
            "{}",
            lines[0]
        );
        // Header line, column titles, one line per record, summary.
        assert_eq!(lines.len() as u64, frames + 3);
        for needle in [
            "HELLO ",
            "HELLO_ACK",
            "RDATA",
            "crc ok",
            "-> ",
            "<- ",
            "seq ",
            "ack ",
        ] {
            assert!(text.contains(needle), "{transport}: no {needle:?}");
        }
        // The proxy corrupts bytes: what A received includes frames that fail their CRC.
        assert!(text.contains("crc BAD") || text.contains("rejected") || text.contains("COBS"));
    }
}

/// README gives the demo key: with it `decode --key` derives each session's keys from the
/// handshakes in the capture and opens every sealed frame that arrived intact; without it, or
/// with another key, nothing opens.
#[test]
fn decode_opens_sealed_frames_with_the_demo_key() {
    const DEMO_KEY_HEX: &str = "66657272756c652064656d6f206b65793a206e6f742061207365637265742121";
    let cap = tmp("sealed.pcapng");
    run_json(&[
        "--aead",
        "on",
        "--loss",
        "0",
        "--corrupt",
        "0",
        "--capture",
        &cap,
    ]);
    let opened = |args: &[&str]| {
        let mut all = vec!["decode", cap.as_str()];
        all.extend_from_slice(args);
        let out = demo(&all);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let sealed = text
            .lines()
            .filter(|l| l.contains("sealed key") && !l.contains("HELLO"))
            .count();
        let opened = text.lines().filter(|l| l.contains("(opened)")).count();
        (sealed, opened, text)
    };
    let (sealed, n, text) = opened(&["--key", DEMO_KEY_HEX]);
    assert!(sealed > 600, "{sealed}");
    assert_eq!(n, sealed, "{text}");
    assert!(
        text.contains(&format!("; {sealed} of {sealed} sealed frames opened")),
        "the summary counts the frames opened"
    );
    assert!(
        text.contains("(opened) | (deflate"),
        "message payloads are shown opened"
    );
    assert_eq!(opened(&[]).1, 0);
    let wrong = "00".repeat(32);
    let (_, n, text) = opened(&["--key", &wrong]);
    assert_eq!(n, 0);
    assert!(
        text.contains(&format!("; 0 of {sealed} sealed frames opened")),
        "{text}"
    );
    // A key that opens nothing is said to be wrong (and still status 0); the right one is not.
    let warning = |key: &str| {
        let out = demo(&["decode", &cap, "--key", key]);
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = warning(&wrong);
    assert!(
        err.starts_with("ferrule: warning: the key opened none of the"),
        "{err}"
    );
    assert_eq!(warning(DEMO_KEY_HEX), "");
}

#[test]
fn decode_refuses_what_is_not_a_whole_capture() {
    let junk = tmp("junk.fcap");
    std::fs::write(&junk, b"definitely not a capture").unwrap();
    let out = demo(&["decode", &junk]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a ferrule capture"));
    let cut = tmp("cut.fcap");
    let mut bytes = b"FERRCAP1\0\0\0\0\0\0\0\0".to_vec();
    bytes.extend([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 50, 0, 1, 2]);
    std::fs::write(&cut, bytes).unwrap();
    let out = demo(&["decode", &cut]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated record"));
    assert_eq!(
        demo(&["decode", "/nonexistent/x.fcap"]).status.code(),
        Some(5)
    );
    assert_eq!(demo(&["decode"]).status.code(), Some(2));
}

/// An output file that cannot be created is a bad argument, found before the run.
#[test]
fn an_unwritable_plot_fails_before_the_run() {
    let out = demo(&["--messages", "100", "--plot", "/nonexistent/dir/p.svg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no report before the failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "ferrule: --plot /nonexistent/dir/p.svg: cannot create it: No such file or directory (os error 2)");
}

/// A run that fails before it captured anything leaves the `--plot` and `--capture` files
/// that were there as they were, and no temporary files.
#[test]
fn a_failed_run_keeps_the_previous_outputs() {
    let dir = std::path::PathBuf::from(tmp("keep"));
    std::fs::create_dir_all(&dir).unwrap();
    let (plot, cap) = (dir.join("p.svg"), dir.join("c.pcapng"));
    let (plot, cap) = (plot.to_str().unwrap(), cap.to_str().unwrap());
    std::fs::write(plot, "old chart").unwrap();
    std::fs::write(cap, "old capture").unwrap();
    for args in [
        &[
            "--transport",
            "serial",
            "--device",
            "/nonexistent0",
            "--peer-device",
            "/nonexistent1",
            "--plot",
            plot,
            "--capture",
            cap,
        ][..],
        &["listen", "--device", "/nonexistent0", "--capture", cap],
        &["send", "--tcp", &common::free_tcp(), "--capture", cap, "x"],
    ] {
        let out = demo(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert_eq!(std::fs::read_to_string(plot).unwrap(), "old chart");
        assert_eq!(std::fs::read_to_string(cap).unwrap(), "old capture");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2, "{args:?}");
    }
    // A run that succeeds replaces them.
    let out = demo(&["--messages", "100", "--plot", plot, "--capture", cap]);
    assert!(out.status.success());
    assert!(std::fs::read_to_string(plot).unwrap().starts_with("<svg"));
    assert!(demo(&["decode", cap]).status.success());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
}

/// Runs `ferrule ARGS`, reads `keep` lines of its stdout and closes it, as `| head` does.
fn with_stdout_closed(args: &[&str], keep: usize) -> Output {
    let mut child = Command::new(DEMO)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..keep {
        lines.next().unwrap().unwrap();
    }
    drop(lines);
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    for (args, keep) in [
        (&["--messages", "300"][..], 1),
        (&["--messages", "500", "--json"], 0),
        (&["ports"], 0),
        (&["completions", "bash"], 0),
    ] {
        let out = with_stdout_closed(args, keep);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}

#[test]
fn plot_writes_both_charts() {
    let svg = tmp("latency.svg");
    run_json(&["--plot", &svg]);
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
    assert!(s.contains("latency over the run") && s.contains("latency histogram"));
    assert_eq!(s.matches("<circle").count(), 900);
}

/// One clear line on stderr, no panic, the given status.
fn fails_cleanly(args: &[&str], code: i32, needle: &str) {
    let out = demo(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    let line = err.trim();
    assert!(!line.contains('\n'), "{args:?}: more than one line: {err}");
    assert!(line.starts_with("ferrule: "), "{args:?}: {err}");
    assert!(line.contains(needle), "{args:?}: {err} lacks {needle:?}");
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_arguments_fail_with_one_line() {
    for (args, needle) in [
        (&["--loss", "7"][..], "--loss"),
        (&["--aead", "maybe"], "--aead"),
        (&["--compression", "zip"], "--compression"),
        (&["--messages"], "--messages"),
        (&["--window", "0"], "--window"),
        (&["--fec", "8"], "K:M"),
        (&["--fec", "33:2"], "1..=32"),
        (&["--fec", "8:0"], "1..=16"),
        (&["--transport", "serial"], "--device"),
        (&["--device", "x"], "--transport serial"),
        (&["--what"], "unexpected argument"),
        (&["chat"], "exactly one wire"),
        (
            &[
                "chat",
                "--udp",
                "127.0.0.1:1",
                "--peer",
                "127.0.0.1:2",
                "--baud",
                "9600",
            ],
            "--baud",
        ),
        (
            &[
                "send",
                "--udp",
                "127.0.0.1:99999",
                "--peer",
                "127.0.0.1:9",
                "x",
            ],
            "--udp",
        ),
        (
            &["send", "--udp", "127.0.0.1:0", "--peer", "nohost", "x"],
            "--peer",
        ),
        (&["firmware"], "exactly one"),
        (
            &["send", "--udp", "127.0.0.1:0", "--peer", "127.0.0.1:0", "x"],
            "port 0 names no peer",
        ),
        (&["--capture", "/nonexistent/dir/c.pcapng"], "--capture"),
        (
            &[
                "listen",
                "--udp",
                "127.0.0.1:0",
                "--peer",
                "127.0.0.1:9",
                "--capture",
                "/nonexistent/dir/c.pcapng",
            ],
            "--capture /nonexistent/dir/c.pcapng: cannot create it",
        ),
        (
            &[
                "firmware",
                "--listen",
                "127.0.0.1:0",
                "--capture",
                "/nonexistent/dir/c.pcapng",
            ],
            "--capture",
        ),
        (&["completions"], "<SHELL>"),
        (&["bridge", "--udp", "127.0.0.1:0"], "--peer"),
        (
            &["bridge", "--tcp", "127.0.0.1:1", "--transport", "datagram"],
            "--transport datagram",
        ),
        (
            &["send", "--udp", "127.0.0.1:0", "--peer", "127.0.0.1:9"],
            "nothing to send",
        ),
        (
            &[
                "send",
                "--udp",
                "127.0.0.1:0",
                "--peer",
                "127.0.0.1:9",
                "--key-file",
                "/nonexistent/key",
                "x",
            ],
            "--key-file",
        ),
    ] {
        fails_cleanly(args, 2, needle);
    }
}

#[test]
fn a_missing_device_fails_with_one_line() {
    let args = [
        "--transport",
        "serial",
        "--device",
        "/dev/ferrule-no-such-port",
        "--peer-device",
        "/dev/ferrule-no-such-port-2",
    ];
    fails_cleanly(&args, 3, "/dev/ferrule-no-such-port");
    fails_cleanly(
        &["chat", "--device", "/dev/ferrule-no-such-port"],
        3,
        "cannot open",
    );
    fails_cleanly(
        &["firmware", "--device", "/dev/ferrule-no-such-port"],
        3,
        "cannot open",
    );
    // Not a tty at all.
    #[cfg(unix)]
    fails_cleanly(&["chat", "--device", "/dev/null"], 3, "not a serial device");
    // Nobody listening.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap().to_string();
    drop(free);
    fails_cleanly(&["listen", "--tcp", &addr], 3, "cannot connect");
}

#[test]
fn a_busy_port_fails_with_one_line() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    fails_cleanly(
        &["chat", "--udp", &addr, "--peer", "127.0.0.1:9"],
        4,
        "in use",
    );
    // A serial device another program holds.
    #[cfg(unix)]
    {
        let m = null_modem();
        let held = std::fs::File::open(&m.paths[0]).unwrap();
        let _lock = nix::fcntl::Flock::lock(held, nix::fcntl::FlockArg::LockExclusiveNonblock)
            .map_err(|(_, e)| e)
            .unwrap();
        fails_cleanly(&["chat", "--device", &m.paths[0]], 4, "busy");
    }
}

#[test]
fn a_silent_peer_times_out_with_one_line() {
    // Nobody listens on the peer port: the chat gives up after --timeout.
    let quiet = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer = quiet.local_addr().unwrap().to_string();
    let mut chat = Command::new(DEMO)
        .args([
            "chat",
            "--udp",
            "127.0.0.1:0",
            "--peer",
            &peer,
            "--timeout",
            "1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Input stays open (the user is still typing) and a line waits to be sent.
    let mut typing = chat.stdin.take().unwrap();
    writeln!(typing, "anyone there?").unwrap();
    let status = chat.wait().unwrap();
    let mut err = String::new();
    chat.stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(6), "{err}");
    assert!(err.contains("no answer from the peer"), "{err}");
    drop(typing);
    // The firmware mode against a socket that accepts and then never speaks.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let _keep = std::thread::spawn(move || l.accept());
    fails_cleanly(
        &[
            "firmware",
            "--connect",
            &addr,
            "--count",
            "3",
            "--timeout",
            "1",
        ],
        6,
        "timed out",
    );
}

/// A chat process with its stdout read line by line on a helper thread.
struct ChatProc {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl ChatProc {
    fn start(local: &str, peer: &str) -> Self {
        let mut child = Command::new(DEMO)
            .args(["chat", "--udp", local, "--peer", peer, "--timeout", "30"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn say(&mut self, text: &str) {
        self.say_bytes(text.as_bytes());
    }

    /// Types one line of raw bytes.
    fn say_bytes(&mut self, line: &[u8]) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(line).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits (bounded) for a line containing `needle`.
    fn expect(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(l) if l.contains(needle) => return l,
                Ok(l) => self.seen.push(l),
                Err(_) => panic!("no {needle:?} in time; saw {:?}", self.seen),
            }
        }
    }

    fn finish(mut self) -> i32 {
        drop(self.child.stdin.take()); // end of input: leave
        self.expect("bye");
        self.child.wait().unwrap().code().unwrap_or(-1)
    }
}

fn free_udp_port() -> String {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().to_string()
}

#[test]
fn chat_delivers_lines_both_ways_and_reports_acknowledgements() {
    let (pa, pb) = (free_udp_port(), free_udp_port());
    let mut a = ChatProc::start(&pa, &pb);
    let mut b = ChatProc::start(&pb, &pa);
    a.expect("connected");
    b.expect("connected");
    a.say("hello from A");
    b.expect("peer: hello from A");
    let ack = a.expect("[1] delivered");
    assert!(ack.contains("acknowledged after") && ack.contains(" ms: hello from A"));
    b.say("hi from B");
    b.say("and again");
    a.expect("peer: hi from B");
    a.expect("peer: and again");
    b.expect("[2] delivered");
    // A line that is not UTF-8 goes as its bytes, and the next one follows.
    a.say_bytes(b"caf\xe9 \xff");
    a.say("still here");
    b.expect("peer: caf\u{fffd} \u{fffd}");
    b.expect("peer: still here");
    // The peer's bytes cannot drive the terminal: escapes and format characters (a bidi
    // override) are shown escaped, as `listen` shows them.
    a.say_bytes("clear\x1b[2J \u{202e}txt.exe".as_bytes());
    b.expect("peer: clear\\u{1b}[2J \\u{202e}txt.exe");
    assert_eq!(a.finish(), 0);
    b.expect("link down: peer closed the link");
    assert_eq!(b.finish(), 0);
}
