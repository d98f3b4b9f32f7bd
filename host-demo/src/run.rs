//! The default run: endpoint A (Rust API) and endpoint B (C API) exchange telemetry over the
//! chosen wire through the impairment proxy; then the same workload over raw UDP.

use crate::capture::Capture;
use crate::driver::{CLink, Driver, EndStats, LinkEvent, RustLink, Setup, M, MAX_FRAME};
use crate::options::Options;
use crate::proxy::{Lane, ProxyStats};
use crate::transport::{self, udp_socket, Io, Kind};
use crate::workload::{telemetry, Tally};
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

/// The demo's pre-shared key (`--aead on`). A real deployment provisions its own.
pub const DEMO_KEY: [u8; 32] = *b"ferrule demo key: not a secret!!";
/// Direction tags of the two endpoints' messages.
const DIR_A: u8 = 0xA;
const DIR_B: u8 = 0xB;

/// One endpoint: a link behind either API, its end of the wire, and its workload.
pub struct Endpoint {
    pub link: Box<dyn Driver>,
    pub io: Io,
    dir: u8,
    size: Option<usize>,
    next: u64,
    quota: u64,
    pub sent: u64,
    pub downs: u32,
    pub capture: Option<Capture>,
}

impl Endpoint {
    fn new(link: Box<dyn Driver>, io: Io, dir: u8, quota: u64, size: Option<usize>) -> Self {
        Self {
            link,
            io,
            dir,
            size,
            next: 0,
            quota,
            sent: 0,
            downs: 0,
            capture: None,
        }
    }

    /// One round: input, deliveries (checked into `rx`), new messages, timers, output.
    fn step(&mut self, start: Instant, rx: &mut Tally, peer_dir: u8) -> io::Result<bool> {
        let now_us = start.elapsed().as_micros() as u64;
        let now = now_us / 1000;
        let mut buf = [0u8; 4096];
        let mut busy = self.io.flush()?;
        while let Some(n) = self.io.recv(&mut buf)? {
            busy = true;
            if let Some(c) = &mut self.capture {
                c.received(now_us, &buf[..n])?;
            }
            self.link.input(&buf[..n], now);
        }
        let mut msg = [0u8; M];
        while let Some((len, reliable)) = self.link.recv(&mut msg) {
            busy = true;
            rx.accept(&msg[..len], peer_dir, self.size, now_us, reliable);
        }
        while self.link.is_up() && self.next < self.quota {
            let m = telemetry(self.next, self.dir, now_us, self.size);
            if !self.link.send(&m, now) {
                break;
            }
            busy = true;
            self.next += 1;
            self.sent += 1;
        }
        self.link.handle_timeout(now);
        let mut frame = [0u8; MAX_FRAME];
        while let Some(n) = self.link.poll_transmit(now, &mut frame)? {
            busy = true;
            if let Some(c) = &mut self.capture {
                c.sent(now_us, &frame[..n])?;
            }
            self.io.send(&frame[..n])?;
        }
        while let Some(e) = self.link.poll_event() {
            if let LinkEvent::Down { .. } = e {
                self.downs += 1;
            }
        }
        Ok(busy)
    }
}

/// The two ends of the chosen wire and the proxy lanes between them (none on real serial
/// ports, where the line itself is the impairment).
fn wire(o: &Options) -> io::Result<(Io, Io, Vec<Lane>)> {
    let lanes = |a_out: Io, b_in: Io, b_out: Io, a_in: Io| {
        vec![
            Lane::new(a_out, b_in, o.imp, o.seed),
            Lane::new(b_out, a_in, o.imp, o.seed ^ 0xBA),
        ]
    };
    Ok(match &o.transport {
        Kind::Udp => {
            let (sa, sb) = (udp_socket("127.0.0.1:0")?, udp_socket("127.0.0.1:0")?);
            let (pa, pb) = (udp_socket("127.0.0.1:0")?, udp_socket("127.0.0.1:0")?);
            let (a_addr, b_addr) = (sa.local_addr()?, sb.local_addr()?);
            let (pa_addr, pb_addr) = (pa.local_addr()?, pb.local_addr()?);
            let udp = |sock, peer| Io::Datagram { sock, peer };
            // A sends to proxy socket pa, which forwards from pb to B; and back the same way.
            let l = lanes(
                udp(pa.try_clone()?, a_addr),
                udp(pb.try_clone()?, b_addr),
                udp(pb, b_addr),
                udp(pa, a_addr),
            );
            (udp(sa, pa_addr), udp(sb, pb_addr), l)
        }
        Kind::Tcp => {
            let (a, pa) = transport::tcp_pair()?;
            let (pb, b) = transport::tcp_pair()?;
            let l = lanes(
                Io::stream(Box::new(pa.try_clone()?)),
                Io::stream(Box::new(pb.try_clone()?)),
                Io::stream(Box::new(pb)),
                Io::stream(Box::new(pa)),
            );
            (Io::stream(Box::new(a)), Io::stream(Box::new(b)), l)
        }
        Kind::Pty => {
            // Each endpoint opens a pty slave like a UART; the proxy holds both masters.
            let (ma, a) = transport::pty_pair()?;
            let (mb, b) = transport::pty_pair()?;
            let l = lanes(
                Io::stream(Box::new(ma.try_clone()?)),
                Io::stream(Box::new(mb.try_clone()?)),
                Io::stream(Box::new(mb)),
                Io::stream(Box::new(ma)),
            );
            (Io::stream(Box::new(a)), Io::stream(Box::new(b)), l)
        }
        Kind::Serial {
            device,
            peer_device,
            baud,
        } => (
            Io::stream(Box::new(transport::open_serial(device, *baud)?)),
            Io::stream(Box::new(transport::open_serial(peer_device, *baud)?)),
            Vec::new(),
        ),
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
pub fn run_ferrule(o: &Options) -> io::Result<Report> {
    let (io_a, io_b, mut lanes) = wire(o)?;
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
    let setup = |seed: u32| Setup {
        stream: o.transport.is_stream(),
        compression: o.compression,
        window: o.window,
        seed,
        key: o.aead.then_some(DEMO_KEY),
        rto_initial: 200,
        keepalive: 1000,
    };
    let mut a = Endpoint::new(
        Box::new(RustLink::new(&setup((o.seed as u32) ^ 0xA11CE))?),
        io_a,
        DIR_A,
        o.messages,
        o.size,
    );
    let mut b = Endpoint::new(
        Box::new(CLink::new(&setup((o.seed as u32) ^ 0xB0B))?),
        io_b,
        DIR_B,
        o.messages / 2,
        o.size,
    );
    if let Some(path) = &o.capture {
        a.capture = Some(Capture::create(path, o.transport.is_stream())?);
    }
    let (mut ab, mut ba) = (Tally::default(), Tally::default());
    let r = exchange(o, &mut a, &mut b, &mut lanes, &mut ab, &mut ba);
    if !o.json && io::stderr().is_terminal() {
        eprintln!(); // ends the progress line
    }
    let elapsed = r?;
    let captured = a.capture.take().map(Capture::finish).transpose()?;
    let mut proxy = ProxyStats::default();
    for l in &lanes {
        proxy.add(&l.stats);
    }
    Ok(Report {
        transport: o.transport.name(),
        apis: [a.link.api(), b.link.api()],
        aead: o.aead,
        elapsed,
        stats: [a.link.stats(), b.link.stats()],
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
    a: &mut Endpoint,
    b: &mut Endpoint,
    lanes: &mut [Lane],
    ab: &mut Tally,
    ba: &mut Tally,
) -> io::Result<Duration> {
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
        if !(a.link.is_up() && b.link.is_up()) && a.sent == 0 && start.elapsed() > HANDSHAKE_LIMIT {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no session after {} s: the peer never answered",
                    HANDSHAKE_LIMIT.as_secs()
                ),
            ));
        }
        if start.elapsed() > o.timeout {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
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
    let mut lane = Lane::new(
        Io::Datagram {
            sock: pa,
            peer: sa.local_addr()?,
        },
        Io::Datagram {
            sock: pb,
            peer: sb.local_addr()?,
        },
        o.imp,
        o.seed ^ 0x5A5A,
    );
    let mut b = Io::Datagram {
        sock: sb,
        peer: pa_addr,
    };
    let start = Instant::now();
    let mut tally = Tally::default();
    let mut buf = [0u8; 2048];
    let mut drain = |b: &mut Io, t: &mut Tally| -> io::Result<()> {
        while let Some(n) = b.recv(&mut buf)? {
            t.accept(
                &buf[..n],
                DIR_A,
                o.size,
                start.elapsed().as_micros() as u64,
                false,
            );
        }
        Ok(())
    };
    for i in 0..o.messages {
        let now_us = start.elapsed().as_micros() as u64;
        sa.send_to(&telemetry(i, DIR_A, now_us, o.size), pa_addr)?;
        tally.sent += 1;
        // Pace like the link does, so the kernel buffers never overflow.
        lane.pump(Instant::now())?;
        drain(&mut b, &mut tally)?;
    }
    let settle = Instant::now();
    while lane.pending() > 0 || settle.elapsed() < Duration::from_millis(50) {
        lane.pump(Instant::now())?;
        drain(&mut b, &mut tally)?;
        std::thread::sleep(Duration::from_micros(50));
    }
    Ok(tally)
}
