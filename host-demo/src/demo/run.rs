//! The default run: endpoint A (Rust API) and endpoint B (C API) exchange telemetry over the
//! chosen wire through the impairment proxy; then the same workload over raw UDP.

use super::proxy::{self, Lane, ProxyStats};
use super::workload::{telemetry, Tally};
use super::{Kind, Options};
use crate::capture::Capture;
use crate::driver::{CLink, Driver, EndStats, RustLink, Setup};
use crate::fail::{Code, Failure};
use crate::runner::{Event, Runner};
use crate::transport::{self, udp_socket, Endpoint};
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

/// The demo's pre-shared key (`--aead on`). A real deployment provisions its own.
pub const DEMO_KEY: [u8; 32] = *b"ferrule demo key: not a secret!!";
/// Direction tags of the two endpoints' messages.
const DIR_A: u8 = 0xA;
const DIR_B: u8 = 0xB;

/// One endpoint: a link behind either API with its wire (a runner), and its workload.
pub struct Peer {
    pub runner: Runner,
    dir: u8,
    size: Option<usize>,
    next: u64,
    quota: u64,
    pub sent: u64,
    pub downs: u32,
}

impl Peer {
    fn new(runner: Runner, dir: u8, quota: u64, size: Option<usize>) -> Self {
        Self {
            runner,
            dir,
            size,
            next: 0,
            quota,
            sent: 0,
            downs: 0,
        }
    }

    /// One round: input, timers, output (the runner); deliveries (checked into `rx`), new
    /// messages.
    fn step(&mut self, start: Instant, rx: &mut Tally, peer_dir: u8) -> Result<bool, Failure> {
        let mut busy = self.runner.pump()?;
        let now_us = start.elapsed().as_micros() as u64;
        while let Some(m) = self.runner.recv() {
            busy = true;
            rx.accept(&m.data, peer_dir, self.size, now_us, m.reliable);
        }
        while self.runner.is_up() && self.next < self.quota {
            let m = telemetry(self.next, self.dir, now_us, self.size);
            if self.runner.send(0, &m).is_err() {
                break;
            }
            busy = true;
            self.next += 1;
            self.sent += 1;
        }
        while let Some(e) = self.runner.poll_event() {
            if let Event::Down { .. } = e {
                self.downs += 1;
            }
        }
        Ok(busy)
    }
}

/// The two ends of the chosen wire and the proxy lanes between them (none on real serial
/// ports, where the line itself is the impairment).
fn wire(o: &Options) -> io::Result<(Endpoint, Endpoint, Vec<Lane>)> {
    Ok(match &o.transport {
        Kind::Udp => {
            let (sa, sb) = (udp_socket("127.0.0.1:0")?, udp_socket("127.0.0.1:0")?);
            let (pa, pb) = (udp_socket("127.0.0.1:0")?, udp_socket("127.0.0.1:0")?);
            let (a_addr, b_addr) = (sa.local_addr()?, sb.local_addr()?);
            let (pa_addr, pb_addr) = (pa.local_addr()?, pb.local_addr()?);
            // A sends to proxy socket pa, which forwards from pb to B; and back the same way.
            let l = proxy::lanes(
                Endpoint::Udp {
                    sock: pa,
                    peer: a_addr,
                },
                Endpoint::Udp {
                    sock: pb,
                    peer: b_addr,
                },
                o.imp,
                o.seed,
            )?;
            (
                Endpoint::Udp {
                    sock: sa,
                    peer: pa_addr,
                },
                Endpoint::Udp {
                    sock: sb,
                    peer: pb_addr,
                },
                l,
            )
        }
        Kind::Tcp => {
            let (a, pa) = transport::tcp_pair()?;
            let (pb, b) = transport::tcp_pair()?;
            let l = proxy::lanes(Endpoint::Tcp(pa), Endpoint::Tcp(pb), o.imp, o.seed)?;
            (Endpoint::Tcp(a), Endpoint::Tcp(b), l)
        }
        #[cfg(unix)]
        Kind::Pty => {
            // Each endpoint opens a pty slave like a UART; the proxy holds both masters.
            let (ma, a) = transport::pty_pair()?;
            let (mb, b) = transport::pty_pair()?;
            let l = proxy::lanes(Endpoint::Tty(ma), Endpoint::Tty(mb), o.imp, o.seed)?;
            (Endpoint::Tty(a), Endpoint::Tty(b), l)
        }
        #[cfg(not(unix))]
        Kind::Pty => return Err(io::Error::other("pty needs a Unix system")),
        Kind::Serial {
            device,
            peer_device,
            baud,
        } => {
            let open = |path: &String| {
                let (path, baud) = (path.clone(), *baud);
                crate::interrupt::interruptible(move || transport::open_serial(&path, baud))
            };
            (
                Endpoint::Serial(open(device)?),
                Endpoint::Serial(open(peer_device)?),
                Vec::new(),
            )
        }
    })
}

/// What a run measured.
pub struct Report {
    pub transport: &'static str,
    pub apis: [&'static str; 2],
    pub aead: bool,
    pub a_to_b: Tally,
    pub b_to_a: Tally,
    pub elapsed: Duration,
    pub stats: [EndStats; 2],
    pub downs: u32,
    pub proxy: ProxyStats,
    pub captured: Option<u64>,
    pub raw: Tally,
}

impl Report {
    /// (send time, latency) of every delivered message, both directions, in microseconds.
    pub fn samples(&self) -> impl Iterator<Item = &(u64, u64)> {
        self.a_to_b.samples.iter().chain(&self.b_to_a.samples)
    }
}

fn progress(done: u64, total: u64) {
    let width = 40;
    let filled = (done * width / total.max(1)) as usize;
    eprint!(
        "\r  [{}{}] {:>3}%  {done}/{total} messages",
        "#".repeat(filled),
        ".".repeat(width as usize - filled),
        done * 100 / total.max(1)
    );
    let _ = io::stderr().flush();
}

/// Longest the handshake may take before the peer counts as not answering.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// Runs the ferrule part of the demo.
pub fn run_ferrule(o: &Options) -> Result<Report, Failure> {
    let capture = match &o.capture {
        Some(path) => Some(
            Capture::create(path, o.transport.is_stream())
                .map_err(|e| Failure::output("--capture", path, &e))?,
        ),
        None => None,
    };
    let (io_a, io_b, mut lanes) = wire(o).map_err(|e| Failure::io(&e, ""))?;
    if !o.json {
        let imp = if matches!(o.transport, Kind::Serial { .. }) {
            "no proxy: the serial line itself".to_string()
        } else {
            format!(
                "through a proxy: {:.1}% loss, {:.2}% corrupted bytes, {:.1}% duplicated, \
                 {:.1}% reordered",
                o.imp.loss * 100.0,
                o.imp.corrupt * 100.0,
                o.imp.dup * 100.0,
                o.imp.reorder * 100.0
            )
        };
        eprintln!(
            "ferrule demo: {} + {} telemetry messages over {} ({imp})",
            o.messages,
            o.messages / 2,
            o.transport.name(),
        );
    }
    let setup = |seed: u64, window: u8| Setup {
        stream: o.transport.is_stream(),
        compression: o.compression,
        window: if o.window == 0 { window } else { o.window },
        max_message: crate::driver::M,
        seed,
        key: o.aead.then_some(DEMO_KEY),
        key_id: 1,
        rto_initial: 200,
        keepalive: 1000,
        best_effort: Vec::new(),
        fec: o.fec,
    };
    let link = |d: io::Result<Box<dyn Driver>>| d.map_err(|e| Failure::io(&e, "link"));
    let ra = Runner::with_endpoint(
        link(RustLink::new(&setup(o.seed ^ 0xA11CE, 32)).map(|l| Box::new(l) as _))?,
        io_a,
        capture,
        "A",
    )?;
    let rb = Runner::with_endpoint(
        link(CLink::new(&setup(o.seed ^ 0xB0B, 8)).map(|l| Box::new(l) as _))?,
        io_b,
        None,
        "B",
    )?;
    let mut a = Peer::new(ra, DIR_A, o.messages, o.size);
    let mut b = Peer::new(rb, DIR_B, o.messages / 2, o.size);
    let (mut ab, mut ba) = (Tally::default(), Tally::default());
    let start = Instant::now();
    let r = exchange(o, &mut a, &mut b, &mut lanes, &mut ab, &mut ba);
    if !o.json && io::stderr().is_terminal() {
        eprintln!(); // ends the progress line
    }
    let elapsed = match r {
        // Interrupted: the report tells what was done so far.
        Err(f) if f.code == Code::Interrupted => start.elapsed(),
        r => r?,
    };
    let captured = a.runner.finish_capture()?;
    let mut proxy = ProxyStats::default();
    for l in &lanes {
        proxy.add(&l.stats);
    }
    Ok(Report {
        transport: o.transport.name(),
        apis: [a.runner.api(), b.runner.api()],
        aead: o.aead,
        elapsed,
        stats: [a.runner.end_stats(), b.runner.end_stats()],
        downs: a.downs + b.downs,
        proxy,
        captured,
        a_to_b: Tally { sent: a.sent, ..ab },
        b_to_a: Tally { sent: b.sent, ..ba },
        raw: Tally::default(),
    })
}

/// Runs both endpoints and the proxy until every message arrived; returns the run time.
fn exchange(
    o: &Options,
    a: &mut Peer,
    b: &mut Peer,
    lanes: &mut [Lane],
    ab: &mut Tally,
    ba: &mut Tally,
) -> Result<Duration, Failure> {
    let start = Instant::now();
    let mut last_progress = start;
    // A live bar on a terminal; logs (CI) get the report only.
    let show = !o.json && io::stderr().is_terminal();
    let total = a.quota + b.quota;
    loop {
        let now = Instant::now();
        let mut busy = a.step(start, ba, DIR_B)?;
        busy |= b.step(start, ab, DIR_A)?;
        for l in lanes.iter_mut() {
            busy |= l.pump(now)?;
        }
        let done = ab.delivered + ba.delivered;
        if show && last_progress.elapsed() > Duration::from_millis(100) {
            progress(done, total);
            last_progress = Instant::now();
        }
        if done >= total {
            break;
        }
        if !(a.runner.is_up() && b.runner.is_up())
            && a.sent == 0
            && start.elapsed() > HANDSHAKE_LIMIT
        {
            return Err(Failure::new(
                Code::Timeout,
                format!(
                    "no session after {} s: the peer never answered",
                    HANDSHAKE_LIMIT.as_secs()
                ),
            ));
        }
        if start.elapsed() > o.timeout {
            return Err(Failure::new(
                Code::Timeout,
                format!(
                    "only {done} of {total} messages delivered after {} s (--timeout)",
                    o.timeout.as_secs()
                ),
            ));
        }
        if !busy {
            std::thread::sleep(Duration::from_micros(20));
        }
    }
    if show {
        progress(total, total);
    }
    Ok(start.elapsed())
}

/// The same A-to-B workload as raw UDP datagrams through the same proxy: no framing, no CRC,
/// no retransmission.
pub fn run_raw(o: &Options) -> io::Result<Tally> {
    let (sa, sb) = (udp_socket("127.0.0.1:0")?, udp_socket("127.0.0.1:0")?);
    let (pa, pb) = (udp_socket("127.0.0.1:0")?, udp_socket("127.0.0.1:0")?);
    let pa_addr = pa.local_addr()?;
    // The proxy's input is read here, in step with the sender, as the link paces itself.
    pa.set_nonblocking(true)?;
    let (to_lane, a_in) = std::sync::mpsc::channel();
    let (unused, _) = proxy::inbox();
    let to_b = crate::transport::Wire::start(
        Endpoint::Udp {
            sock: pb,
            peer: sb.local_addr()?,
        },
        unused,
    )?;
    let mut lane = Lane::new(a_in, to_b, o.imp, o.seed ^ 0x5A5A);
    sb.set_nonblocking(true)?;
    let start = Instant::now();
    let mut tally = Tally::default();
    let mut buf = [0u8; 2048];
    let forward = || -> io::Result<()> {
        let mut d = [0u8; 2048];
        loop {
            match pa.recv(&mut d) {
                Ok(n) => {
                    let _ = to_lane.send(Ok(d[..n].to_vec()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    };
    let mut drain = |t: &mut Tally| -> io::Result<()> {
        loop {
            match sb.recv(&mut buf) {
                Ok(n) => t.accept(
                    &buf[..n],
                    DIR_A,
                    o.size,
                    start.elapsed().as_micros() as u64,
                    false,
                ),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    };
    for i in 0..o.messages {
        if crate::interrupt::requested() {
            break;
        }
        let now_us = start.elapsed().as_micros() as u64;
        sa.send_to(&telemetry(i, DIR_A, now_us, o.size), pa_addr)?;
        tally.sent += 1;
        // Pace like the link does, so the kernel buffers never overflow.
        forward()?;
        lane.pump(Instant::now())?;
        drain(&mut tally)?;
    }
    let settle = Instant::now();
    while (lane.pending() > 0 || settle.elapsed() < Duration::from_millis(50))
        && !crate::interrupt::requested()
    {
        forward()?;
        lane.pump(Instant::now())?;
        drain(&mut tally)?;
        std::thread::sleep(Duration::from_micros(50));
    }
    Ok(tally)
}
