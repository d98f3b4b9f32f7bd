//! `cargo run --release -p ferrule-demo`: two ferrule endpoints over real UDP loopback sockets,
//! through an in-process impairment proxy, with a telemetry workload both ways; then the same
//! workload over raw UDP through the same proxy, for comparison.

mod firmware;
mod proxy;

use ferrule::compress::{CodecConfig, CodecStats, Compressor, Mode};
use ferrule::link::{frame_buffer_len, Config, Event, Link, Transport};
use proxy::{loopback_socket, Impairments, Lane, Rng};
use std::io::{self, Write};
use std::net::UdpSocket;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const W: usize = 32;
const M: usize = 256;
/// Room for the AEAD tag, so sealed runs keep `M`-byte messages.
type DemoLink = Link<W, M, { frame_buffer_len(M) + 16 }, Compressor<'static>>;
/// The demo's pre-shared key (`--aead on`). A real deployment provisions its own.
const DEMO_KEY: [u8; 32] = *b"ferrule demo key: not a secret!!";
const RUN_LIMIT: Duration = Duration::from_secs(60);

struct Options {
    messages: u64,
    imp: Impairments,
    seed: u64,
    json: bool,
    compression: Mode,
    aead: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        messages: 20_000,
        imp: Impairments {
            loss: 0.05,
            corrupt: 0.001,
            dup: 0.01,
            reorder: 0.02,
            delay: Duration::from_micros(200),
        },
        seed: 1,
        json: false,
        compression: Mode::Shared,
        aead: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let prob = |v: String, name: &str| -> Result<f64, String> {
            match v.parse::<f64>() {
                Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
                _ => Err(format!(
                    "{name} must be a probability between 0 and 1, got {v:?}"
                )),
            }
        };
        match a.as_str() {
            "--messages" => {
                o.messages = val("--messages")?
                    .parse()
                    .map_err(|_| "--messages needs a whole number".to_string())?
            }
            "--loss" => o.imp.loss = prob(val("--loss")?, "--loss")?,
            "--corrupt" => o.imp.corrupt = prob(val("--corrupt")?, "--corrupt")?,
            "--dup" => o.imp.dup = prob(val("--dup")?, "--dup")?,
            "--reorder" => o.imp.reorder = prob(val("--reorder")?, "--reorder")?,
            "--seed" => {
                o.seed = val("--seed")?
                    .parse()
                    .map_err(|_| "--seed needs a number".to_string())?
            }
            "--json" => o.json = true,
            "--compression" => {
                o.compression = match val("--compression")?.as_str() {
                    "off" => Mode::Off,
                    "per-message" => Mode::PerMessage,
                    "shared" => Mode::Shared,
                    v => {
                        return Err(format!(
                            "--compression must be off, per-message or shared, got {v:?}"
                        ))
                    }
                }
            }
            "--aead" => {
                o.aead = match val("--aead")?.as_str() {
                    "on" => true,
                    "off" => false,
                    v => return Err(format!("--aead must be on or off, got {v:?}")),
                }
            }
            "-h" | "--help" => {
                return Err(
                    "usage: ferrule-demo [--messages N] [--loss P] [--corrupt P] [--dup P] \
                            [--reorder P] [--seed N] [--compression off|per-message|shared] \
                            [--aead on|off] [--json]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if o.messages == 0 {
        return Err("--messages must be at least 1".into());
    }
    Ok(o)
}

/// Telemetry message `index` from `dir`: index, send time, then a JSON line.
fn telemetry(index: u64, dir: u8, sent_us: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(120);
    m.extend(index.to_le_bytes());
    m.extend(sent_us.to_le_bytes());
    m.extend(body(index, dir));
    m
}

fn body(index: u64, dir: u8) -> Vec<u8> {
    let r = Rng(index.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1).next();
    format!(
        "{{\"dev\":\"node-{dir:02x}\",\"seq\":{index},\"temp\":{}.{:02},\"hum\":{}.{},\"v\":3.{:03}}}",
        20 + r % 5,
        (r >> 8) % 100,
        40 + (r >> 16) % 20,
        (r >> 24) % 10,
        (r >> 32) % 1000
    )
    .into_bytes()
}

#[derive(Default)]
struct Tally {
    sent: u64,
    delivered: u64,
    duplicated: u64,
    damaged: u64,
    last_index: Option<u64>,
    latencies_us: Vec<u64>,
    payload_bytes: u64,
}

impl Tally {
    fn accept(&mut self, msg: &[u8], dir: u8, now_us: u64, ordered: bool) {
        if msg.len() < 16 {
            self.damaged += 1;
            return;
        }
        let index = u64::from_le_bytes(msg[..8].try_into().unwrap_or_default());
        let sent = u64::from_le_bytes(msg[8..16].try_into().unwrap_or_default());
        if msg[16..] != body(index, dir)[..] {
            self.damaged += 1;
            return;
        }
        if ordered && self.last_index.is_some_and(|l| index <= l) {
            self.duplicated += 1;
            return;
        }
        self.last_index = Some(index);
        self.delivered += 1;
        self.payload_bytes += msg.len() as u64;
        self.latencies_us.push(now_us.saturating_sub(sent));
    }
}

struct Endpoint {
    link: DemoLink,
    sock: UdpSocket,
    peer: std::net::SocketAddr,
    dir: u8,
    next: u64,
    quota: u64,
    tally: Tally,
    downs: u32,
}

impl Endpoint {
    fn new(
        link: DemoLink,
        sock: UdpSocket,
        peer: std::net::SocketAddr,
        dir: u8,
        quota: u64,
    ) -> Self {
        Self {
            link,
            sock,
            peer,
            dir,
            next: 0,
            quota,
            tally: Tally::default(),
            downs: 0,
        }
    }

    fn step(&mut self, start: Instant, rx: &mut Tally, peer_dir: u8) -> io::Result<bool> {
        let now_us = start.elapsed().as_micros() as u64;
        let now = now_us / 1000;
        let mut busy = false;
        let mut buf = [0u8; 2048];
        loop {
            match self.sock.recv(&mut buf) {
                Ok(n) => {
                    busy = true;
                    self.link.handle_datagram(&buf[..n], now);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e),
            }
        }
        let mut msg = [0u8; M];
        while let Ok(Some(r)) = self.link.recv(&mut msg) {
            busy = true;
            rx.accept(&msg[..r.len], peer_dir, now_us, r.reliable);
        }
        while self.link.is_up() && self.next < self.quota {
            let m = telemetry(self.next, self.dir, now_us);
            if self.link.send(0, &m, now).is_err() {
                break;
            }
            busy = true;
            self.next += 1;
            self.tally.sent += 1;
        }
        self.link.handle_timeout(now);
        while let Some(n) = self
            .link
            .poll_transmit(now, &mut buf)
            .map_err(|e| io::Error::other(e.to_string()))?
        {
            busy = true;
            self.sock.send_to(&buf[..n], self.peer)?;
        }
        while let Some(e) = self.link.poll_event() {
            if let Event::Down { .. } = e {
                self.downs += 1;
            }
        }
        Ok(busy)
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
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

struct Report {
    codec: [CodecStats; 2],
    aead: bool,
    a_to_b: Tally,
    b_to_a: Tally,
    elapsed: Duration,
    stats_a: ferrule::link::LinkStats,
    stats_b: ferrule::link::LinkStats,
    downs: u32,
    proxy: [proxy::ProxyStats; 2],
    raw: Tally,
    raw_sent: u64,
}

fn run_ferrule(o: &Options) -> io::Result<Report> {
    let (sa, sb, pa, pb) = (
        loopback_socket()?,
        loopback_socket()?,
        loopback_socket()?,
        loopback_socket()?,
    );
    let cfg = Config {
        transport: Transport::Datagram,
        rto_initial: 200,
        rto_min: 5,
        rto_max: 1000,
        ack_delay: 1,
        keepalive: 1000,
        ..Config::default()
    };
    let mut lane_ab = Lane::new(
        pa.try_clone()?,
        pb.try_clone()?,
        sb.local_addr()?,
        o.imp,
        o.seed,
    );
    let mut lane_ba = Lane::new(pb, pa.try_clone()?, sa.local_addr()?, o.imp, o.seed ^ 0xBA);
    let link = |seed: u32| -> io::Result<DemoLink> {
        let codec = CodecConfig {
            reliable: o.compression,
            unreliable: Mode::PerMessage,
            dictionary: None,
        };
        let mut l = DemoLink::with_codec(cfg, seed, Compressor::new(codec));
        if o.aead {
            l.set_key(1, &DEMO_KEY, 0)
                .map_err(|e| io::Error::other(e.to_string()))?;
        }
        Ok(l)
    };
    let mut a = Endpoint::new(
        link((o.seed as u32) ^ 0xA11CE)?,
        sa,
        pa.local_addr()?,
        0xA,
        o.messages,
    );
    // B talks to the proxy socket that lane AB sends from (and lane BA listens on).
    let mut b = Endpoint::new(
        link((o.seed as u32) ^ 0xB0B)?,
        sb,
        lane_ab.outbound_addr()?,
        0xB,
        o.messages / 2,
    );
    let (mut ab, mut ba) = (Tally::default(), Tally::default());
    let start = Instant::now();
    let mut last_progress = Instant::now();
    let total = a.quota + b.quota;
    loop {
        let now = Instant::now();
        let mut busy = a.step(start, &mut ba, 0xB)?;
        busy |= b.step(start, &mut ab, 0xA)?;
        busy |= lane_ab.pump(now)?;
        busy |= lane_ba.pump(now)?;
        let done = ab.delivered + ba.delivered;
        if !o.json && last_progress.elapsed() > Duration::from_millis(100) {
            progress(done, total);
            last_progress = Instant::now();
        }
        if done >= total {
            break;
        }
        if start.elapsed() > RUN_LIMIT {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("only {done} of {total} messages delivered after {RUN_LIMIT:?}"),
            ));
        }
        if !busy {
            std::thread::sleep(Duration::from_micros(20));
        }
    }
    if !o.json {
        progress(total, total);
        eprintln!();
    }
    let elapsed = start.elapsed();
    Ok(Report {
        codec: [a.link.codec().stats(), b.link.codec().stats()],
        aead: o.aead,
        elapsed,
        stats_a: a.link.stats(),
        stats_b: b.link.stats(),
        downs: a.downs + b.downs,
        proxy: [lane_ab.stats, lane_ba.stats],
        a_to_b: Tally {
            sent: a.tally.sent,
            ..ab
        },
        b_to_a: Tally {
            sent: b.tally.sent,
            ..ba
        },
        raw: Tally::default(),
        raw_sent: 0,
    })
}

/// The same workload as raw UDP datagrams (no framing, no CRC, no retransmission).
fn run_raw(o: &Options, count: u64) -> io::Result<(Tally, u64)> {
    let (sa, sb, pa, pb) = (
        loopback_socket()?,
        loopback_socket()?,
        loopback_socket()?,
        loopback_socket()?,
    );
    let mut lane = Lane::new(
        pa.try_clone()?,
        pb,
        sb.local_addr()?,
        o.imp,
        o.seed ^ 0x5A5A,
    );
    let start = Instant::now();
    let mut tally = Tally::default();
    let mut buf = [0u8; 2048];
    for i in 0..count {
        let now_us = start.elapsed().as_micros() as u64;
        sa.send_to(&telemetry(i, 0xA, now_us), pa.local_addr()?)?;
        // Pace like the link does, so the kernel buffers never overflow.
        lane.pump(Instant::now())?;
        drain_raw(&sb, &mut buf, &mut tally, start)?;
    }
    let settle = Instant::now();
    while lane.pending() > 0 || settle.elapsed() < Duration::from_millis(50) {
        lane.pump(Instant::now())?;
        drain_raw(&sb, &mut buf, &mut tally, start)?;
        std::thread::sleep(Duration::from_micros(50));
    }
    Ok((tally, count))
}

fn drain_raw(s: &UdpSocket, buf: &mut [u8], t: &mut Tally, start: Instant) -> io::Result<()> {
    loop {
        match s.recv(buf) {
            Ok(n) => t.accept(&buf[..n], 0xA, start.elapsed().as_micros() as u64, false),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("firmware") {
        return ExitCode::from(firmware::main(&args[1..]));
    }
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ferrule-demo: {e}");
            return ExitCode::from(2);
        }
    };
    if !o.json {
        eprintln!(
            "ferrule demo: {} + {} telemetry messages over UDP loopback through a proxy \
             ({:.1}% loss, {:.2}% corrupted bytes, {:.1}% duplicated, {:.1}% reordered)",
            o.messages,
            o.messages / 2,
            o.imp.loss * 100.0,
            o.imp.corrupt * 100.0,
            o.imp.dup * 100.0,
            o.imp.reorder * 100.0
        );
    }
    let mut report = match run_ferrule(&o) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("\nferrule-demo: {e}");
            return ExitCode::from(1);
        }
    };
    match run_raw(&o, o.messages) {
        Ok((raw, sent)) => {
            report.raw = raw;
            report.raw_sent = sent;
        }
        Err(e) => {
            eprintln!("ferrule-demo: raw UDP baseline failed: {e}");
            return ExitCode::from(1);
        }
    }
    print_report(&report, o.json);
    let lost =
        report.a_to_b.sent - report.a_to_b.delivered + report.b_to_a.sent - report.b_to_a.delivered;
    if lost
        + report.a_to_b.duplicated
        + report.b_to_a.duplicated
        + report.a_to_b.damaged
        + report.b_to_a.damaged
        > 0
    {
        eprintln!("ferrule-demo: FAILED: reliable delivery was not exact");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn print_report(r: &Report, json: bool) {
    let mut lat: Vec<u64> = r
        .a_to_b
        .latencies_us
        .iter()
        .chain(&r.b_to_a.latencies_us)
        .copied()
        .collect();
    lat.sort_unstable();
    let delivered = r.a_to_b.delivered + r.b_to_a.delivered;
    let sent = r.a_to_b.sent + r.b_to_a.sent;
    let payload: u64 = r.a_to_b.payload_bytes + r.b_to_a.payload_bytes;
    let wire = r.stats_a.bytes_sent + r.stats_b.bytes_sent;
    let secs = r.elapsed.as_secs_f64();
    let retx = r.stats_a.retransmissions + r.stats_b.retransmissions;
    let crc = r.stats_a.framing.bad_crc + r.stats_b.framing.bad_crc;
    let lost = sent - delivered;
    let dup = r.a_to_b.duplicated + r.b_to_a.duplicated;
    let damaged = r.a_to_b.damaged + r.b_to_a.damaged;
    let raw_lost = r.raw_sent - r.raw.delivered;
    let (zin, zout) = (
        r.codec[0].bytes_in + r.codec[1].bytes_in,
        r.codec[0].bytes_out + r.codec[1].bytes_out,
    );
    let ratio = zout as f64 / zin.max(1) as f64;
    let auth_failed = r.stats_a.auth_failed + r.stats_b.auth_failed;
    if json {
        println!(
            "{{\"sent\":{sent},\"delivered\":{delivered},\"lost\":{lost},\"duplicated\":{dup},\
             \"damaged_accepted\":{damaged},\"elapsed_s\":{secs:.3},\"goodput_msgs_per_s\":{:.0},\
             \"goodput_bytes_per_s\":{:.0},\"latency_us\":{{\"p50\":{},\"p90\":{},\"p99\":{},\"max\":{}}},\
             \"retransmissions\":{retx},\"crc_rejects\":{crc},\"wire_bytes\":{wire},\"payload_bytes\":{payload},\
             \"link_downs\":{},\"compression\":{{\"bytes_in\":{zin},\"bytes_out\":{zout},\"ratio\":{ratio:.3}}},\
             \"aead\":{},\"auth_failed\":{auth_failed},\"raw_udp\":{{\"sent\":{},\"delivered\":{},\"lost\":{raw_lost},\"damaged_accepted\":{}}}}}",
            delivered as f64 / secs,
            payload as f64 / secs,
            percentile(&lat, 0.5),
            percentile(&lat, 0.9),
            percentile(&lat, 0.99),
            lat.last().copied().unwrap_or(0),
            r.downs,
            r.aead,
            r.raw_sent,
            r.raw.delivered,
            r.raw.damaged,
        );
        return;
    }
    println!();
    println!("                         ferrule (reliable)     raw UDP (same proxy)");
    println!("  messages sent          {sent:>18}     {:>20}", r.raw_sent);
    println!(
        "  delivered              {delivered:>18}     {:>20}",
        r.raw.delivered
    );
    println!("  lost                   {lost:>18}     {raw_lost:>20}");
    println!(
        "  duplicated             {dup:>18}     {:>20}",
        "(not detected)"
    );
    println!(
        "  damaged but accepted   {damaged:>18}     {:>20}",
        r.raw.damaged
    );
    println!();
    println!("  run time               {secs:.2} s");
    println!(
        "  goodput                {:.0} msg/s, {:.1} KB/s of payload",
        delivered as f64 / secs,
        payload as f64 / secs / 1000.0
    );
    println!(
        "  latency (send->deliver) p50 {} us  p90 {} us  p99 {} us  max {} us",
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(0)
    );
    println!(
        "  retransmissions        {retx} ({:.1}% of messages)",
        retx as f64 * 100.0 / sent.max(1) as f64
    );
    println!("  CRC rejects            {crc} (corrupted datagrams caught)");
    if zin > 0 {
        println!(
            "  compression            {:.1}% of message bytes on the wire ({zin} -> {zout} B)",
            ratio * 100.0
        );
    }
    if r.aead {
        println!(
            "  AEAD                   on (ChaCha20-Poly1305); {auth_failed} forgeries rejected"
        );
    }
    println!(
        "  wire bytes / payload   {:.3} (headers, CRC, acks, retransmissions)",
        wire as f64 / payload.max(1) as f64
    );
    println!(
        "  proxy                  dropped {} corrupted {} duplicated {} reordered {}",
        r.proxy[0].dropped + r.proxy[1].dropped,
        r.proxy[0].corrupted + r.proxy[1].corrupted,
        r.proxy[0].duplicated + r.proxy[1].duplicated,
        r.proxy[0].reordered + r.proxy[1].reordered
    );
    println!("  link failures          {}", r.downs);
    histogram(&lat);
}

fn histogram(lat: &[u64]) {
    if lat.is_empty() {
        return;
    }
    println!("\n  latency histogram");
    let edges = [
        100u64,
        200,
        500,
        1_000,
        2_000,
        5_000,
        10_000,
        20_000,
        50_000,
        u64::MAX,
    ];
    let mut counts = [0u64; 10];
    for &l in lat {
        let i = edges.iter().position(|&e| l < e).unwrap_or(9);
        counts[i] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1);
    let mut lo = 0;
    for (i, &c) in counts.iter().enumerate() {
        let label = if edges[i] == u64::MAX {
            format!(">= {lo} us")
        } else {
            format!("< {} us", edges[i])
        };
        println!(
            "  {label:>12} {:<50} {c}",
            "#".repeat((c * 50 / max) as usize)
        );
        lo = edges[i];
    }
}
