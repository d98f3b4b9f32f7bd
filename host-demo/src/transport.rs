//! The wires the tool talks over — UDP sockets, TCP streams, serial devices (through the
//! `serialport` crate, any baud rate) and, on Unix, pseudo-terminals — behind one [`Wire`].
//!
//! A wire reads on its own thread and hands every datagram or stream chunk to a [`Deliver`]
//! callback (the runner's channel), so the caller waits on one channel for the wire, its
//! timers and its other inputs, on every platform, without polling. Stream writes go through
//! a writer thread, so a slow reader never stalls the caller; [`Wire::send`] refuses once a
//! megabyte is waiting (nobody reading the other end).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a reader blocks before it checks whether its wire was dropped.
const READ_SLICE: Duration = Duration::from_millis(100);
/// Most output a stream end holds before `send` reports the wire as stuck.
const STREAM_BACKLOG: usize = 1 << 20;

/// Where a reader thread puts what it read; returns false when nobody listens any more.
pub type Deliver = Arc<dyn Fn(io::Result<Vec<u8>>) -> bool + Send + Sync>;

/// An opened end of a wire, before its threads start.
pub enum Endpoint {
    /// A UDP socket and where its datagrams go.
    Udp {
        /// The socket.
        sock: UdpSocket,
        /// Destination of sends.
        peer: SocketAddr,
    },
    /// A connected TCP stream.
    Tcp(TcpStream),
    /// A serial device (and, on Unix, the advisory lock that keeps other programs off it).
    Serial(SerialPort),
    /// A terminal device opened as a file (a pty end).
    #[cfg(unix)]
    Tty(std::fs::File),
}

/// A serial device held open, exclusively.
pub struct SerialPort {
    port: Box<dyn serialport::SerialPort>,
}

/// One end of a wire, read by its own thread.
pub struct Wire {
    out: Out,
    stop: Arc<AtomicBool>,
    tcp: Option<TcpStream>,
    /// Datagrams dropped because they came from another address than the peer's.
    foreign: Arc<AtomicU64>,
}

enum Out {
    Datagram {
        sock: UdpSocket,
        peer: SocketAddr,
    },
    Stream {
        tx: Sender<Vec<u8>>,
        backlog: Arc<Backlog>,
    },
}

/// Bytes handed to a stream's writer thread and not yet written.
#[derive(Default)]
struct Backlog {
    bytes: Mutex<usize>,
    drained: Condvar,
}

impl Backlog {
    fn add(&self, n: usize) -> usize {
        let mut b = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        *b += n;
        *b
    }
    fn sub(&self, n: usize) {
        let mut b = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        *b = b.saturating_sub(n);
        self.drained.notify_all();
    }
    fn get(&self) -> usize {
        *self.bytes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether a UDP socket error is the ICMP "port unreachable" an earlier send provoked
/// (`ConnectionRefused` on Unix, `ConnectionReset` — WSAECONNRESET — on Windows): the peer is
/// not there yet, which the link's retries deal with.
fn unreachable_echo(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
    )
}

/// Whether `from` is `peer` (an IPv4 peer may show as IPv4-mapped on a dual-stack socket).
fn same_addr(from: SocketAddr, peer: SocketAddr) -> bool {
    let canonical = |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
    canonical(from) == canonical(peer)
}

fn quiet(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

/// Reads until the wire is dropped or fails; every read goes to `deliver`.
fn reader(mut r: impl FnMut(&mut [u8]) -> io::Result<usize>, stop: &AtomicBool, deliver: &Deliver) {
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::Relaxed) {
        match r(&mut buf) {
            Ok(0) => {
                deliver(Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "peer hung up",
                )));
                return;
            }
            Ok(n) => {
                if !deliver(Ok(buf[..n].to_vec())) {
                    return;
                }
            }
            Err(e) if quiet(&e) => {}
            Err(e) => {
                if !stop.load(Ordering::Relaxed) {
                    deliver(Err(e));
                }
                return;
            }
        }
    }
}

/// Writes what `send` queued, in order, until the wire is dropped.
fn writer(
    mut w: Box<dyn Write + Send>,
    rx: mpsc::Receiver<Vec<u8>>,
    backlog: Arc<Backlog>,
    stop: Arc<AtomicBool>,
    deliver: Deliver,
) {
    for chunk in rx {
        let mut at = 0;
        while at < chunk.len() {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match w.write(&chunk[at..]) {
                Ok(0) => {
                    deliver(Err(io::Error::new(ErrorKind::WriteZero, "wire closed")));
                    return;
                }
                Ok(n) => at += n,
                Err(e) if quiet(&e) => {}
                Err(e) => {
                    deliver(Err(e));
                    return;
                }
            }
        }
        let _ = w.flush();
        backlog.sub(chunk.len());
    }
}

impl Wire {
    /// Starts the threads of `ep`; what arrives goes to `deliver`.
    pub fn start(ep: Endpoint, deliver: Deliver) -> io::Result<Wire> {
        let stop = Arc::new(AtomicBool::new(false));
        let foreign = Arc::new(AtomicU64::new(0));
        let st = stop.clone();
        let d = deliver.clone();
        let spawn_reader = |f: Box<dyn FnOnce() + Send>| {
            thread::Builder::new()
                .name("wire-reader".into())
                .spawn(f)
                .map(|_| ())
        };
        let (w, tcp): (Box<dyn Write + Send>, _) = match ep {
            Endpoint::Udp { sock, peer } => {
                let r = sock.try_clone()?;
                r.set_read_timeout(Some(READ_SLICE))?;
                let count = foreign.clone();
                spawn_reader(Box::new(move || {
                    let recv = |b: &mut [u8]| match r.recv_from(b) {
                        // An ICMP error an earlier send provoked: not ours to report.
                        Err(e) if unreachable_echo(&e) => Err(ErrorKind::Interrupted.into()),
                        Err(e) => Err(e),
                        // Only the peer's datagrams are the link's; others are counted.
                        Ok((_, from)) if !same_addr(from, peer) => {
                            count.fetch_add(1, Ordering::Relaxed);
                            Err(ErrorKind::Interrupted.into())
                        }
                        // An empty datagram is not an end of file.
                        Ok((0, _)) => Err(ErrorKind::Interrupted.into()),
                        Ok((n, _)) => Ok(n),
                    };
                    reader(recv, &st, &d)
                }))?;
                return Ok(Wire {
                    out: Out::Datagram { sock, peer },
                    stop,
                    tcp: None,
                    foreign,
                });
            }
            Endpoint::Tcp(s) => {
                s.set_nodelay(true)?;
                let mut r = s.try_clone()?;
                spawn_reader(Box::new(move || reader(|b| r.read(b), &st, &d)))?;
                (Box::new(s.try_clone()?), Some(s))
            }
            Endpoint::Serial(p) => {
                let mut r = p.port.try_clone().map_err(io::Error::from)?;
                spawn_reader(Box::new(move || reader(|b| r.read(b), &st, &d)))?;
                (Box::new(SerialWriter(p)), None)
            }
            #[cfg(unix)]
            Endpoint::Tty(f) => {
                let mut r = f.try_clone()?;
                spawn_reader(Box::new(move || {
                    reader(
                        |b| {
                            unix::wait_readable(&r, READ_SLICE)?;
                            r.read(b)
                        },
                        &st,
                        &d,
                    )
                }))?;
                (Box::new(f), None)
            }
        };
        let (tx, rx) = mpsc::channel();
        let backlog = Arc::new(Backlog::default());
        let (b, st) = (backlog.clone(), stop.clone());
        thread::Builder::new()
            .name("wire-writer".into())
            .spawn(move || writer(w, rx, b, st, deliver))?;
        Ok(Wire {
            out: Out::Stream { tx, backlog },
            stop,
            tcp,
            foreign,
        })
    }

    /// Whether this end carries a byte stream.
    pub fn is_stream(&self) -> bool {
        matches!(self.out, Out::Stream { .. })
    }

    /// Sends one datagram, or queues stream bytes for the writer thread.
    pub fn send(&self, bytes: &[u8]) -> io::Result<()> {
        match &self.out {
            Out::Datagram { sock, peer } => match sock.send_to(bytes, *peer) {
                Ok(_) => Ok(()),
                // A full socket buffer is loss, which the link recovers from.
                Err(e) if quiet(&e) || unreachable_echo(&e) => Ok(()),
                Err(e) => Err(e),
            },
            Out::Stream { tx, backlog } => {
                if backlog.add(bytes.len()) > STREAM_BACKLOG {
                    backlog.sub(bytes.len());
                    return Err(io::Error::new(
                        ErrorKind::TimedOut,
                        "the stream stopped taking data (nobody reading the other end?)",
                    ));
                }
                tx.send(bytes.to_vec())
                    .map_err(|_| io::Error::new(ErrorKind::BrokenPipe, "wire closed"))
            }
        }
    }

    /// Datagrams dropped because they came from another address than the peer's.
    pub fn foreign_datagrams(&self) -> u64 {
        self.foreign.load(Ordering::Relaxed)
    }

    /// Stream bytes queued and not yet written.
    pub fn backlog(&self) -> usize {
        match &self.out {
            Out::Datagram { .. } => 0,
            Out::Stream { backlog, .. } => backlog.get(),
        }
    }

    /// Waits (at most `limit`) until every queued stream byte was written.
    pub fn drain(&self, limit: Duration) {
        let Out::Stream { backlog, .. } = &self.out else {
            return;
        };
        let end = Instant::now() + limit;
        let mut b = backlog.bytes.lock().unwrap_or_else(|e| e.into_inner());
        while *b > 0 {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            b = match backlog.drained.wait_timeout(b, left) {
                Ok((b, _)) => b,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(s) = &self.tcp {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

struct SerialWriter(SerialPort);

impl Write for SerialWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.port.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        // The driver's own buffer drains on its own; a flush that times out is not an error.
        match self.0.port.flush() {
            Err(e) if quiet(&e) => Ok(()),
            r => r,
        }
    }
}

/// Adds what was being done to an error, keeping its kind.
pub fn context(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// The first address `addr` names.
pub fn resolve(addr: &str) -> io::Result<SocketAddr> {
    addr.to_socket_addrs()
        .map_err(|e| {
            io::Error::new(
                ErrorKind::InvalidInput,
                format!("bad address {addr:?}: {e}"),
            )
        })?
        .next()
        .ok_or_else(|| io::Error::new(ErrorKind::InvalidInput, format!("{addr} names no address")))
}

/// A UDP socket on `addr` (`127.0.0.1:0` for any free loopback port).
pub fn udp_socket(addr: &str) -> io::Result<UdpSocket> {
    UdpSocket::bind(addr).map_err(|e| context(e, &format!("cannot bind UDP {addr}")))
}

/// A UDP endpoint on `local` sending to `peer`.
pub fn udp(local: &str, peer: &str) -> io::Result<Endpoint> {
    let peer = resolve(peer)?;
    Ok(Endpoint::Udp {
        sock: udp_socket(local)?,
        peer,
    })
}

/// A TCP connection to `addr`.
pub fn tcp_connect(addr: &str) -> io::Result<Endpoint> {
    let a = resolve(addr)?;
    TcpStream::connect(a)
        .map(Endpoint::Tcp)
        .map_err(|e| context(e, &format!("cannot connect to {addr}")))
}

/// A listening TCP socket on `addr`.
pub fn tcp_listen(addr: &str) -> io::Result<TcpListener> {
    TcpListener::bind(addr).map_err(|e| context(e, &format!("cannot listen on {addr}")))
}

/// A connected pair of loopback TCP streams.
pub fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let a = TcpStream::connect(l.local_addr()?)?;
    let (b, _) = l.accept()?;
    Ok((a, b))
}

/// Opens a serial device exclusively, raw 8N1 without flow control, at any `baud` the driver
/// accepts. A second program on the same device is refused (`AddrInUse`), as is a path that
/// is not a serial device (`InvalidInput`) or does not exist (`NotFound`).
///
/// `serialport` holds the device with `TIOCEXCL` and the advisory `flock` that serial tools
/// (`picocom`, `tio`, ...) agree on, so a device another program holds is refused even for
/// root, whom `TIOCEXCL` alone does not stop.
pub fn open_serial(path: &str, baud: u32) -> io::Result<SerialPort> {
    #[cfg(unix)]
    unix::check_tty(path)?;
    let port = serialport::new(path, baud)
        .timeout(READ_SLICE)
        .flow_control(serialport::FlowControl::None)
        .open()
        .map_err(|e| serial_error(path, e))?;
    Ok(SerialPort { port })
}

fn serial_error(path: &str, e: serialport::Error) -> io::Error {
    if e.description.contains("lock") {
        return io::Error::new(
            ErrorKind::AddrInUse,
            format!(
                "{path} is busy (another program holds it): {}",
                e.description
            ),
        );
    }
    let kind = match e.kind {
        serialport::ErrorKind::NoDevice => ErrorKind::NotFound,
        serialport::ErrorKind::InvalidInput => ErrorKind::InvalidInput,
        serialport::ErrorKind::Io(k) => k,
        serialport::ErrorKind::Unknown => ErrorKind::Other,
    };
    io::Error::new(kind, format!("cannot open {path}: {}", e.description))
}

/// What `ports` prints for one serial port.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PortInfo {
    /// Device path (`/dev/ttyUSB0`, `COM3`).
    pub path: String,
    /// `usb`, `pci`, `bluetooth` or `unknown`.
    pub kind: &'static str,
    /// USB vendor id.
    pub vid: Option<u16>,
    /// USB product id.
    pub pid: Option<u16>,
    /// USB serial number.
    pub serial_number: Option<String>,
    /// USB manufacturer string.
    pub manufacturer: Option<String>,
    /// USB product string.
    pub product: Option<String>,
}

/// The serial ports the system knows.
pub fn ports() -> io::Result<Vec<PortInfo>> {
    use serialport::SerialPortType as T;
    let list = serialport::available_ports().map_err(io::Error::from)?;
    Ok(list
        .into_iter()
        .map(|p| {
            let mut i = PortInfo {
                path: p.port_name,
                kind: "unknown",
                vid: None,
                pid: None,
                serial_number: None,
                manufacturer: None,
                product: None,
            };
            match p.port_type {
                T::UsbPort(u) => {
                    i.kind = "usb";
                    i.vid = Some(u.vid);
                    i.pid = Some(u.pid);
                    i.serial_number = u.serial_number;
                    i.manufacturer = u.manufacturer;
                    i.product = u.product;
                }
                T::PciPort => i.kind = "pci",
                T::BluetoothPort => i.kind = "bluetooth",
                T::Unknown => {}
            }
            i
        })
        .collect())
}

#[cfg(unix)]
pub use unix::pty_pair;

#[cfg(unix)]
mod unix {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::termios::{self, SetArg};
    use std::fs::{File, OpenOptions};
    use std::io::{self, ErrorKind};
    use std::os::fd::AsFd;
    use std::os::unix::fs::OpenOptionsExt;
    use std::time::Duration;

    /// Waits up to `t` for input on `f`; `TimedOut` when none came.
    pub fn wait_readable(f: &File, t: Duration) -> io::Result<()> {
        let ms = PollTimeout::try_from(t.as_millis() as i32).unwrap_or(PollTimeout::ZERO);
        match poll(&mut [PollFd::new(f.as_fd(), PollFlags::POLLIN)], ms) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => Err(ErrorKind::TimedOut.into()),
            Ok(_) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens `path` as a terminal would be: never as the controlling terminal; `nonblock`
    /// also keeps a modem line without carrier from blocking the open.
    fn open_path(path: &str, nonblock: bool) -> io::Result<File> {
        let flags = if nonblock { nix::libc::O_NONBLOCK } else { 0 };
        OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_NOCTTY | flags)
            .open(path)
            .map_err(|e| super::context(e, &format!("cannot open {path}")))
    }

    /// Fails with a clear message when `path` is missing or is not a terminal device.
    pub fn check_tty(path: &str) -> io::Result<()> {
        let f = open_path(path, true)?;
        if !nix::unistd::isatty(&f).unwrap_or(false) {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!("{path} is not a serial device"),
            ));
        }
        Ok(())
    }

    /// Opens a tty by path in raw mode (8N1, no echo, no line editing, no flow control).
    pub fn open_raw_tty(path: &str) -> io::Result<File> {
        let f = open_path(path, false)?;
        let mut t = termios::tcgetattr(&f)?;
        termios::cfmakeraw(&mut t);
        t.control_flags |= termios::ControlFlags::CLOCAL | termios::ControlFlags::CREAD;
        t.control_flags &= !termios::ControlFlags::CRTSCTS;
        termios::tcsetattr(&f, SetArg::TCSANOW, &t)?;
        Ok(f)
    }

    /// A pseudo-terminal pair in raw mode: `(master, slave)`. The slave is opened by path, as
    /// a program opens a UART.
    pub fn pty_pair() -> io::Result<(File, File)> {
        let p = nix::pty::openpty(None, None)?;
        let path = nix::unistd::ttyname(&p.slave)?;
        let slave = open_raw_tty(&path.to_string_lossy())?;
        // The pty's own slave fd is dropped; the opened path keeps the slave side alive.
        drop(p.slave);
        Ok((File::from(p.master), slave))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel_deliver() -> (Deliver, mpsc::Receiver<io::Result<Vec<u8>>>) {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let d: Deliver = Arc::new(move |r| tx.lock().map(|t| t.send(r).is_ok()).unwrap_or(false));
        (d, rx)
    }

    #[test]
    fn udp_and_tcp_wires_carry_bytes_both_ways() {
        let (a, b) = (
            udp_socket("127.0.0.1:0").unwrap(),
            udp_socket("127.0.0.1:0").unwrap(),
        );
        let (pa, pb) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let (da, ra) = channel_deliver();
        let (db, rb) = channel_deliver();
        let wa = Wire::start(Endpoint::Udp { sock: a, peer: pb }, da).unwrap();
        let wb = Wire::start(Endpoint::Udp { sock: b, peer: pa }, db).unwrap();
        wa.send(b"to b").unwrap();
        wb.send(b"to a").unwrap();
        let t = Duration::from_secs(10);
        assert_eq!(rb.recv_timeout(t).unwrap().unwrap(), b"to b");
        assert_eq!(ra.recv_timeout(t).unwrap().unwrap(), b"to a");

        let (x, y) = tcp_pair().unwrap();
        let (dx, _rx) = channel_deliver();
        let (dy, ry) = channel_deliver();
        let wx = Wire::start(Endpoint::Tcp(x), dx).unwrap();
        let wy = Wire::start(Endpoint::Tcp(y), dy).unwrap();
        wx.send(b"stream").unwrap();
        wx.drain(t);
        assert_eq!(wx.backlog(), 0);
        let mut got = Vec::new();
        while got.len() < 6 {
            got.extend(ry.recv_timeout(t).unwrap().unwrap());
        }
        assert_eq!(got, b"stream");
        drop(wx);
        // The peer sees the hang-up.
        let e = loop {
            if let Err(e) = ry.recv_timeout(t).unwrap() {
                break e;
            }
        };
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
        drop(wy);
    }

    #[test]
    fn udp_takes_only_the_peers_datagrams() {
        let (a, b) = (
            udp_socket("127.0.0.1:0").unwrap(),
            udp_socket("127.0.0.1:0").unwrap(),
        );
        let (pa, pb) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let (da, ra) = channel_deliver();
        let wa = Wire::start(Endpoint::Udp { sock: a, peer: pb }, da).unwrap();
        let stranger = udp_socket("127.0.0.1:0").unwrap();
        stranger.send_to(b"not the peer", pa).unwrap();
        b.send_to(b"the peer", pa).unwrap();
        let t = Duration::from_secs(10);
        assert_eq!(ra.recv_timeout(t).unwrap().unwrap(), b"the peer");
        // The datagrams come from two sockets, so their order is not promised (on loopback
        // the stranger's, sent first, is usually read first): wait until it was counted.
        let end = Instant::now() + t;
        while wa.foreign_datagrams() == 0 && Instant::now() < end {
            std::thread::yield_now();
        }
        assert_eq!(wa.foreign_datagrams(), 1);
    }

    #[test]
    fn port_unreachable_echoes_are_not_errors_on_any_platform() {
        for k in [ErrorKind::ConnectionRefused, ErrorKind::ConnectionReset] {
            assert!(unreachable_echo(&k.into()), "{k:?}");
        }
        assert!(!unreachable_echo(&ErrorKind::PermissionDenied.into()));
        let v4: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:9".parse().unwrap();
        assert!(same_addr(mapped, v4) && !same_addr("127.0.0.1:8".parse().unwrap(), v4));
    }
}
