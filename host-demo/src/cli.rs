//! The command line: one `clap` definition for every subcommand, and the options every
//! link-making subcommand shares ([`LinkArgs`]).

use crate::fail::Failure;
use crate::runner::{LinkSpec, WireSpec};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ferrule::compress::Mode;
use std::time::Duration;

/// ferrule's host tool: talk to ferrule devices from a shell or a script, capture what
/// Wireshark opens, and run the loopback demo (the default).
#[derive(Debug, Parser)]
#[command(
    name = "ferrule",
    version,
    args_conflicts_with_subcommands = true,
    after_help = "Exit status: 0 ok (also when stdout is closed early), 1 failed, 2 bad \
                  arguments (an output file that cannot be created too), 3 device or peer \
                  unreachable, 4 busy / address in use, 5 unreadable capture, 6 timeout \
                  (silent peer), 7 link down with messages unacknowledged, 130 interrupted \
                  (Ctrl-C, SIGTERM: the session is closed and the capture written first)."
)]
pub struct Cli {
    /// What to do (default: the demo).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the demo, when no subcommand is given.
    #[command(flatten)]
    pub demo: DemoArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Loopback demo: a Rust API and a C API endpoint through an impairment proxy (the
    /// default when no subcommand is given).
    Demo(DemoArgs),
    /// A link to one device whose messages go to and from stdin/stdout (or a local socket)
    /// as JSON lines.
    Bridge(BridgeArgs),
    /// Send messages (arguments or files) and wait until the peer acknowledged them all.
    Send(SendArgs),
    /// Print the messages that arrive.
    Listen(ListenArgs),
    /// Interactive messaging between two terminals: one line, one reliable message.
    Chat(ChatArgs),
    /// The host end of a link to the test firmware (tests/firmware/uart_peer.c).
    Firmware(FirmwareArgs),
    /// Print a capture (pcapng, or the earlier .fcap) frame by frame.
    Decode(DecodeArgs),
    /// List serial ports with their USB details.
    Ports(PortsArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Compression of reliable messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    /// No compression.
    Off,
    /// Each message deflated on its own.
    PerMessage,
    /// One deflate stream per session and direction (best ratio).
    Shared,
}

impl Compression {
    /// The codec mode.
    pub fn mode(self) -> Mode {
        match self {
            Compression::Off => Mode::Off,
            Compression::PerMessage => Mode::PerMessage,
            Compression::Shared => Mode::Shared,
        }
    }
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

/// The demo's wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoTransport {
    /// UDP datagrams on loopback.
    Udp,
    /// A TCP byte stream on loopback (COBS framed).
    Tcp,
    /// Pseudo-terminal pairs in raw mode, like a UART (Unix).
    Pty,
    /// Two serial devices wired to each other (--device, --peer-device).
    Serial,
}

/// Framing on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Framing {
    /// COBS frames with 0x00 delimiters (serial lines, TCP; also possible over UDP).
    Stream,
    /// One frame per datagram (UDP).
    Datagram,
}

fn probability(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("must be a probability between 0 and 1, got {v:?}")),
    }
}

/// Options of the demo.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Wire between the two endpoints.
    #[arg(long, value_enum, default_value_t = DemoTransport::Udp)]
    pub transport: DemoTransport,
    /// Device of endpoint A (--transport serial).
    #[arg(long, value_name = "PATH")]
    pub device: Option<String>,
    /// Device of endpoint B, wired to --device (--transport serial).
    #[arg(long, value_name = "PATH")]
    pub peer_device: Option<String>,
    /// Line rate of the serial devices.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub baud: Option<u32>,
    /// Messages from A to B (B sends half as many back).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub messages: u64,
    /// Message size in bytes (default: the natural telemetry record, about 90 bytes).
    #[arg(long, value_parser = clap::value_parser!(u64).range(crate::demo::MIN_SIZE as u64..=crate::driver::M as u64))]
    pub size: Option<u64>,
    /// Probability that the proxy drops a frame.
    #[arg(long, default_value_t = 0.05, value_parser = probability)]
    pub loss: f64,
    /// Probability that the proxy flips a bit in a byte.
    #[arg(long, default_value_t = 0.001, value_parser = probability)]
    pub corrupt: f64,
    /// Probability that the proxy duplicates a frame.
    #[arg(long, default_value_t = 0.01, value_parser = probability)]
    pub dup: f64,
    /// Probability that the proxy delays a frame behind later ones.
    #[arg(long, default_value_t = 0.02, value_parser = probability)]
    pub reorder: f64,
    /// Delay the proxy adds to every frame, microseconds.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    pub delay_us: u64,
    /// Seed of the proxy's randomness and the links' boot seeds.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Compression of the reliable messages.
    #[arg(long, value_enum, default_value_t = Compression::Shared)]
    pub compression: Compression,
    /// Window (messages in flight each way) of each endpoint (default: 32 for the Rust
    /// endpoint, 8 for the C endpoint, as on a small MCU).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=crate::driver::RUST_WINDOW as i64))]
    pub window: Option<u8>,
    /// Authenticated encryption with the demo's key.
    #[arg(long, value_enum, default_value_t = OnOff::Off)]
    pub aead: OnOff,
    /// Forward error correction on both endpoints: K data and M parity frames per group.
    #[arg(long, value_name = "K:M", value_parser = parse_fec)]
    pub fec: Option<(u8, u8)>,
    /// Record endpoint A's frames in this pcapng file.
    #[arg(long, value_name = "FILE")]
    pub capture: Option<String>,
    /// Write latency charts to this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Where a link goes: exactly one of a serial device, UDP, or TCP.
#[derive(Debug, Clone, Args)]
pub struct WireArgs {
    /// Serial device (/dev/ttyUSB0, COM3, a pty).
    #[arg(long, value_name = "PATH")]
    pub device: Option<String>,
    /// Line rate of --device (any rate the driver accepts) [default: 115200].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub baud: Option<u32>,
    /// Local UDP address to bind (with --peer).
    #[arg(long, value_name = "LOCAL", value_parser = socket_addr)]
    pub udp: Option<String>,
    /// UDP address of the peer (with --udp); only its datagrams are taken.
    #[arg(long, value_name = "ADDR", value_parser = peer_addr)]
    pub peer: Option<String>,
    /// Connect to this TCP address (reconnects when it drops).
    #[arg(long, value_name = "ADDR", value_parser = peer_addr)]
    pub tcp: Option<String>,
    /// Accept a TCP connection on this address (and the next one when it drops).
    #[arg(long, value_name = "ADDR")]
    pub tcp_listen: Option<String>,
}

impl WireArgs {
    /// The wire these options name.
    pub fn spec(&self) -> Result<WireSpec, Failure> {
        let wires = [
            self.device.is_some(),
            self.udp.is_some() || self.peer.is_some(),
            self.tcp.is_some(),
            self.tcp_listen.is_some(),
        ];
        if wires.iter().filter(|&&w| w).count() != 1 {
            return Err(Failure::usage(
                "give exactly one wire: --device PATH, --udp LOCAL --peer ADDR, --tcp ADDR or \
                 --tcp-listen ADDR",
            ));
        }
        if self.baud.is_some() && self.device.is_none() {
            return Err(Failure::usage("--baud goes with --device"));
        }
        Ok(
            match (
                &self.device,
                &self.udp,
                &self.peer,
                &self.tcp,
                &self.tcp_listen,
            ) {
                (Some(path), ..) => WireSpec::Device {
                    path: path.clone(),
                    baud: self.baud.unwrap_or(115_200),
                },
                (_, Some(local), Some(peer), ..) => WireSpec::Udp {
                    local: local.clone(),
                    peer: peer.clone(),
                },
                (_, None, Some(_), ..) | (_, Some(_), None, ..) => {
                    return Err(Failure::usage("--udp LOCAL and --peer ADDR go together"))
                }
                (.., Some(a), _) => WireSpec::Tcp(a.clone()),
                (.., Some(a)) => WireSpec::TcpListen(a.clone()),
                _ => return Err(Failure::usage("no wire given")),
            },
        )
    }
}

/// The options of every subcommand that makes a link.
#[derive(Debug, Clone, Args)]
pub struct LinkArgs {
    #[command(flatten)]
    pub wire: WireArgs,
    /// Framing (default: stream on devices and TCP, datagram on UDP).
    #[arg(long, value_enum)]
    pub transport: Option<Framing>,
    /// Compression of reliable messages (both ends may differ).
    #[arg(long, value_enum, default_value_t = Compression::Shared)]
    pub compression: Compression,
    /// Pre-shared key for authenticated encryption: 64 hex digits, or 32 raw bytes.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<String>,
    /// The id that names the key on the wire.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub key_id: u8,
    /// Receive window in messages, 1 to 64 (the link's slots) [default: 32].
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=crate::driver::RUST_WINDOW as i64))]
    pub window: Option<u8>,
    /// Largest message this end sends and accepts, in bytes (sends are also capped at what the
    /// peer accepts).
    #[arg(long, default_value_t = crate::driver::MAX_MESSAGE as u64, value_parser = clap::value_parser!(u64).range(1..=crate::driver::MAX_MESSAGE as u64))]
    pub max_message: u64,
    /// Record every frame in this pcapng file (open it with Wireshark and
    /// tools/wireshark/ferrule.lua).
    #[arg(long, value_name = "FILE")]
    pub capture: Option<String>,
    /// Channels sent best effort (comma-separated) when the peer takes best effort too (it
    /// gives --best-effort as well); otherwise, and for all other channels, reliable.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub best_effort: Vec<u8>,
    /// Give up after this many seconds without a session (or, for send, without every
    /// acknowledgement) [default: send 30, bridge and chat 60, listen none].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: Option<u64>,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Seed of the link's handshake nonces (default: 64 bits from the system's random
    /// source). Must never repeat under the same key.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Forward error correction: K data frames and M parity frames per group (K 1..=32,
    /// M 1..=16), e.g. `8:2`. Used in each direction the peer also repairs.
    #[arg(long, value_name = "K:M", value_parser = parse_fec)]
    pub fec: Option<(u8, u8)>,
}

/// A `HOST:PORT` (a missing host or a port outside 0..=65535 is a usage error, status 2; the
/// host is resolved when the wire opens).
fn socket_addr(s: &str) -> Result<String, String> {
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(s.to_string()),
        _ => Err("expected HOST:PORT with a port 0..=65535, e.g. 127.0.0.1:9000".to_string()),
    }
}

/// A `HOST:PORT` to send to: as [`socket_addr`], and port 0 (which names no peer) refused.
fn peer_addr(s: &str) -> Result<String, String> {
    let s = socket_addr(s)?;
    match s.rsplit_once(':').map(|(_, port)| port.parse::<u16>()) {
        Some(Ok(0)) => Err("port 0 names no peer: give the port the peer listens on".into()),
        _ => Ok(s),
    }
}

/// `K:M` of `--fec`.
fn parse_fec(s: &str) -> Result<(u8, u8), String> {
    let (k, m) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?}: expected K:M, e.g. 8:2"))?;
    let k: u8 = k
        .trim()
        .parse()
        .map_err(|_| format!("{k:?}: K is a number 1..=32"))?;
    let m: u8 = m
        .trim()
        .parse()
        .map_err(|_| format!("{m:?}: M is a number 1..=16"))?;
    if !(1..=32).contains(&k) || !(1..=16).contains(&m) {
        return Err(format!("{s}: K is 1..=32 and M 1..=16"));
    }
    Ok((k, m))
}

impl LinkArgs {
    /// The link these options describe.
    pub fn spec(&self) -> Result<LinkSpec, Failure> {
        let wire = self.wire.spec()?;
        let mut s = LinkSpec::new(wire);
        if let Some(f) = self.transport {
            if f == Framing::Datagram && s.wire.is_stream() {
                return Err(Failure::usage(
                    "--transport datagram needs a datagram wire (--udp)",
                ));
            }
            s.stream = f == Framing::Stream;
        }
        s.compression = self.compression.mode();
        if let Some(path) = &self.key_file {
            s.key = Some((read_key(path)?, self.key_id));
        }
        s.window = self.window.unwrap_or(0);
        s.max_message = self.max_message as usize;
        s.capture = self.capture.clone();
        s.best_effort = self.best_effort.clone();
        if let Some(seed) = self.seed {
            s.seed = seed;
        }
        s.fec = self.fec;
        Ok(s)
    }

    /// `--timeout`, or `default` seconds.
    pub fn timeout_or(&self, default: u64) -> Duration {
        Duration::from_secs(self.timeout.unwrap_or(default))
    }
}

/// Reads a 256-bit key: 64 hex digits (whitespace around them ignored) or 32 raw bytes.
pub fn read_key(path: &str) -> Result<[u8; 32], Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::usage(format!("--key-file {path}: cannot read it: {e}")))?;
    parse_key(&bytes).ok_or_else(|| {
        Failure::usage(format!(
            "--key-file {path}: expected 64 hex digits or 32 raw bytes, got {} bytes",
            bytes.len()
        ))
    })
}

fn parse_key(bytes: &[u8]) -> Option<[u8; 32]> {
    let text = std::str::from_utf8(bytes).ok().map(str::trim);
    if let Some(t) = text.filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())) {
        let mut k = [0u8; 32];
        for (i, k) in k.iter_mut().enumerate() {
            *k = u8::from_str_radix(t.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        return Some(k);
    }
    bytes.try_into().ok()
}

/// Options of `bridge`.
#[derive(Debug, Clone, Args)]
pub struct BridgeArgs {
    #[command(flatten)]
    pub link: LinkArgs,
    /// Serve the JSON lines on this local UDP address (one line per datagram; replies go to
    /// every address that sent one) instead of stdin/stdout.
    #[arg(long, value_name = "ADDR", conflicts_with = "local_tcp")]
    pub local_udp: Option<String>,
    /// Serve the JSON lines to TCP clients of this local address instead of stdin/stdout.
    #[arg(long, value_name = "ADDR")]
    pub local_tcp: Option<String>,
    /// Print a stats line every this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub stats: Option<u64>,
}

/// Options of `send`.
#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub link: LinkArgs,
    /// Channel to send on.
    #[arg(long, default_value_t = 0)]
    pub channel: u8,
    /// A file whose whole content is one message (repeatable; sent after the arguments).
    #[arg(long, value_name = "PATH")]
    pub file: Vec<String>,
    /// Messages to send, one per argument (UTF-8 text).
    pub messages: Vec<String>,
}

/// Options of `listen`.
#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    #[command(flatten)]
    pub link: LinkArgs,
    /// Leave after this many messages.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
}

/// Options of `chat`.
#[derive(Debug, Clone, Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub link: LinkArgs,
    /// Channel the typed lines go on.
    #[arg(long, default_value_t = 0)]
    pub channel: u8,
    /// Authenticated encryption with the demo's key (--key-file for a real one).
    #[arg(long, value_enum, default_value_t = OnOff::Off)]
    pub aead: OnOff,
}

/// Options of `firmware`.
#[derive(Debug, Clone, Args)]
pub struct FirmwareArgs {
    /// Accept the firmware's TCP connection here (QEMU's -serial tcp:ADDR).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Connect to this TCP address (a TCP-to-serial bridge).
    #[arg(long, value_name = "ADDR")]
    pub connect: Option<String>,
    /// Serial device wired to the firmware (or QEMU's -serial pty).
    #[arg(long, value_name = "PATH")]
    pub device: Option<String>,
    /// Line rate of --device.
    #[arg(long, default_value_t = 115_200, value_parser = clap::value_parser!(u32).range(1..))]
    pub baud: u32,
    /// Requests to send.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// Record every frame in this pcapng file.
    #[arg(long, value_name = "FILE")]
    pub capture: Option<String>,
}

/// Options of `decode`.
#[derive(Debug, Clone, Args)]
pub struct DecodeArgs {
    /// The capture (pcapng written by --capture, or an earlier .fcap).
    pub file: String,
    /// Open sealed frames with this pre-shared key (64 hex digits): the session keys are
    /// derived from the handshakes in the capture.
    #[arg(long, value_name = "HEX", value_parser = parse_key_arg)]
    pub key: Option<[u8; 32]>,
    /// Open sealed frames with the key in this file (64 hex digits or 32 raw bytes).
    #[arg(long, value_name = "PATH", conflicts_with = "key")]
    pub key_file: Option<String>,
}

fn parse_key_arg(s: &str) -> Result<[u8; 32], String> {
    parse_key(s.as_bytes()).ok_or_else(|| "expected 64 hex digits".to_string())
}

/// Options of `ports`.
#[derive(Debug, Clone, Args)]
pub struct PortsArgs {
    /// One JSON object per port.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn keys_are_hex_or_raw() {
        let hex = "00".repeat(31) + "ff\n";
        assert_eq!(parse_key(hex.as_bytes()).unwrap()[31], 0xff);
        assert_eq!(parse_key(&[7u8; 32]).unwrap(), [7u8; 32]);
        assert!(parse_key(b"abc").is_none());
        assert!(parse_key("zz".repeat(32).as_bytes()).is_none());
    }

    fn wire(args: &[&str]) -> Result<WireSpec, Failure> {
        let mut v = vec!["ferrule", "listen"];
        v.extend_from_slice(args);
        match Cli::try_parse_from(v).unwrap().command {
            Some(Command::Listen(l)) => l.link.wire.spec(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn exactly_one_wire() {
        assert!(matches!(
            wire(&["--device", "/dev/x", "--baud", "1234"]),
            Ok(WireSpec::Device { baud: 1234, .. })
        ));
        assert!(matches!(
            wire(&["--udp", "a:1", "--peer", "b:2"]),
            Ok(WireSpec::Udp { .. })
        ));
        assert!(matches!(
            wire(&["--tcp-listen", "a:1"]),
            Ok(WireSpec::TcpListen(_))
        ));
        for bad in [
            &[][..],
            &["--udp", "a:1"],
            &["--device", "x", "--tcp", "a:1"],
            &["--tcp", "a:1", "--baud", "9600"],
        ] {
            assert!(wire(bad).is_err(), "{bad:?}");
        }
    }
}
