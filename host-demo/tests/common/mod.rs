//! Helpers shared by the integration tests: the binary, temporary files, processes read line
//! by line with bounded waits, free ports, and (on Unix) a null-modem pair of pseudo-terminals.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ferrule");

/// A path in this test run's temporary directory.
pub fn tmp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("ferrule-tool-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).to_string_lossy().into_owned()
}

/// A loopback UDP address nobody uses right now.
pub fn free_udp() -> String {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().to_string()
}

/// A loopback TCP address nobody listens on right now.
pub fn free_tcp() -> String {
    let s = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().to_string()
}

/// A running `ferrule` whose stdout and stderr are read line by line on helper threads.
pub struct Proc {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    out: mpsc::Receiver<String>,
    err: mpsc::Receiver<String>,
    /// Lines of stdout seen while looking for something else.
    pub seen: Vec<String>,
}

fn lines(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

impl Proc {
    /// Starts `ferrule ARGS` with piped stdin, stdout and stderr.
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let stdin = child.stdin.take();
        let out = lines(child.stdout.take().unwrap());
        let err = lines(child.stderr.take().unwrap());
        Self {
            child,
            stdin,
            out,
            err,
            seen: Vec::new(),
        }
    }

    /// Writes one line to its stdin.
    pub fn write_line(&mut self, line: &str) {
        let s = self.stdin.as_mut().expect("stdin open");
        writeln!(s, "{line}").unwrap();
    }

    /// Writes raw bytes to its stdin.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        let s = self.stdin.as_mut().expect("stdin open");
        s.write_all(bytes).unwrap();
        s.flush().unwrap();
    }

    /// Sends it SIGINT, as Ctrl-C in its terminal does.
    #[cfg(unix)]
    pub fn interrupt(&self) {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT).unwrap();
    }

    /// Waits (bounded) until its Ctrl-C handler is installed (`SigCgt` in
    /// `/proc/PID/status` has SIGINT), so a SIGINT sent next is handled, not fatal.
    #[cfg(target_os = "linux")]
    pub fn wait_for_handler(&self) {
        let status = format!("/proc/{}/status", self.child.id());
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&status).unwrap_or_default();
            let caught = text
                .lines()
                .find_map(|l| l.strip_prefix("SigCgt:"))
                .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
                .unwrap_or(0);
            if caught & (1 << (2 - 1)) != 0 {
                return; // SIGINT is signal 2
            }
            assert!(Instant::now() < end, "no Ctrl-C handler in time");
            std::thread::yield_now();
        }
    }

    /// Waits at most `limit` for it to exit: its status, `None` when it is still running.
    pub fn exits_within(&mut self, limit: Duration) -> Option<Option<i32>> {
        let end = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s.code());
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10)); // polling, not synchronisation
        }
    }

    /// The next stdout line, waiting at most `limit`.
    pub fn next_line(&mut self, limit: Duration) -> Option<String> {
        self.out.recv_timeout(limit).ok()
    }

    /// Waits (bounded) for a stdout line containing `needle`.
    pub fn expect(&mut self, needle: &str) -> String {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.out.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(l) => self.seen.push(l),
                Err(_) => panic!(
                    "no {needle:?} in time; saw {:?}; stderr {:?}",
                    self.seen,
                    self.stderr_now()
                ),
            }
        }
    }

    /// Waits (bounded) for a stderr line containing `needle`.
    pub fn expect_err(&mut self, needle: &str) -> String {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.err.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(_) => {}
                Err(_) => panic!("no {needle:?} on stderr in time"),
            }
        }
    }

    /// The stderr lines written so far.
    pub fn stderr_now(&self) -> Vec<String> {
        self.err.try_iter().collect()
    }

    /// Closes stdin and waits (bounded) for the exit status; the remaining stdout lines.
    pub fn finish(mut self) -> (Option<i32>, Vec<String>) {
        drop(self.stdin.take());
        let end = Instant::now() + Duration::from_secs(60);
        let mut rest = Vec::new();
        // stdout ends when the process exits.
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.out.recv_timeout(left) {
                Ok(l) => rest.push(l),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("the process did not exit; stderr {:?}", self.stderr_now());
                }
            }
        }
        (self.child.wait().unwrap().code(), rest)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two pseudo-terminals whose masters this process wires together: a null-modem cable
/// between two "serial devices" opened by path.
#[cfg(unix)]
pub struct NullModem {
    pub paths: [String; 2],
    _slaves: Vec<std::os::fd::OwnedFd>,
}

#[cfg(unix)]
pub fn null_modem() -> NullModem {
    let a = nix::pty::openpty(None, None).unwrap();
    let b = nix::pty::openpty(None, None).unwrap();
    let paths = [
        nix::unistd::ttyname(&a.slave).unwrap(),
        nix::unistd::ttyname(&b.slave).unwrap(),
    ]
    .map(|p| p.to_string_lossy().into_owned());
    // Raw mode on both slaves before anyone opens them: no echo, no line editing.
    for s in [&a.slave, &b.slave] {
        let mut t = nix::sys::termios::tcgetattr(s).unwrap();
        nix::sys::termios::cfmakeraw(&mut t);
        nix::sys::termios::tcsetattr(s, nix::sys::termios::SetArg::TCSANOW, &t).unwrap();
    }
    let (ma, mb) = (std::fs::File::from(a.master), std::fs::File::from(b.master));
    for (mut from, mut to) in [(ma.try_clone().unwrap(), mb.try_clone().unwrap()), (mb, ma)] {
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
    }
    NullModem {
        paths,
        _slaves: vec![a.slave, b.slave],
    }
}

/// Deterministic xorshift64* for seeded test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Whether `tshark` runs here.
pub fn tshark() -> bool {
    Command::new("tshark")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The dissector, from the repository root.
pub fn dissector() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tools/wireshark/ferrule.lua"
    )
    .to_string()
}

/// `tshark -r FILE -T fields -e ...` with the dissector: one row of fields per packet.
pub fn tshark_fields(file: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec![
        "-n".to_string(),
        "-X".into(),
        format!("lua_script:{}", dissector()),
        "-r".into(),
        file.into(),
        "-T".into(),
        "fields".into(),
        "-E".into(),
        "separator=|".into(),
    ];
    for f in fields {
        args.push("-e".into());
        args.push(f.to_string());
    }
    let out = Command::new("tshark")
        .args(&args)
        .output()
        .expect("tshark runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tshark failed: {err}");
    assert!(
        !err.contains("Lua: Error"),
        "the dissector failed to load: {err}"
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}
