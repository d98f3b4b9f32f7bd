//! The wires the demo runs over: UDP sockets, TCP streams, pseudo-terminal pairs and serial
//! devices, behind one non-blocking [`Io`] type; plus the setup of each loopback topology.

use nix::fcntl::{Flock, FlockArg};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, BaudRate, SetArg};
use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

/// Which wire a run uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// UDP datagrams on loopback: one frame per datagram.
    Udp,
    /// A TCP byte stream on loopback, COBS framed like a serial line.
    Tcp,
    /// Pseudo-terminal pairs in raw mode, like a UART.
    Pty,
    /// Two serial devices wired to each other (null modem), at `baud`.
    Serial {
        /// The device of endpoint A.
        device: String,
        /// The device of endpoint B.
        peer_device: String,
        /// Line rate.
        baud: u32,
    },
}

impl Kind {
    /// Whether frames travel COBS-stuffed in a byte stream.
    pub fn is_stream(&self) -> bool {
        !matches!(self, Kind::Udp)
    }

    /// Short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Udp => "udp",
            Kind::Tcp => "tcp",
            Kind::Pty => "pty",
            Kind::Serial { .. } => "serial",
        }
    }
}

/// A byte stream the demo can poll: TCP, a pty or a serial device.
pub trait Stream: Read + Write + AsFd + Send {}

impl Stream for TcpStream {}
impl Stream for File {}

/// A serial device held with an exclusive advisory lock (as `picocom`, `tio` and friends do).
pub struct Serial(Flock<File>);

impl Read for Serial {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}
impl Write for Serial {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
impl AsFd for Serial {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
impl Stream for Serial {}

/// One end of a wire, non-blocking. Stream writes that would block are kept and retried by
/// [`Io::flush`], so a slow reader never stalls the single-threaded demo loop.
pub enum Io {
    /// A UDP socket and where its datagrams go.
    Datagram {
        /// The socket.
        sock: UdpSocket,
        /// Destination of sends.
        peer: SocketAddr,
    },
    /// A byte stream and the bytes not yet written to it.
    Stream {
        /// The stream.
        s: Box<dyn Stream>,
        /// Pending output.
        out: Vec<u8>,
    },
}

/// Most output a stream end holds before `send` reports the wire as stuck.
const STREAM_BACKLOG: usize = 1 << 20;

impl Io {
    /// A stream end.
    pub fn stream(s: Box<dyn Stream>) -> Self {
        Io::Stream { s, out: Vec::new() }
    }

    /// Whether this end carries a byte stream.
    pub fn is_stream(&self) -> bool {
        matches!(self, Io::Stream { .. })
    }

    /// One datagram or a chunk of stream bytes; `None` when nothing is waiting.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let r = match self {
            Io::Datagram { sock, .. } => sock.recv(buf),
            Io::Stream { s, .. } => match s.read(buf) {
                Ok(0) => return Err(io::Error::new(ErrorKind::UnexpectedEof, "peer hung up")),
                r => r,
            },
        };
        match r {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                Ok(None)
            }
            // A datagram that an earlier send provoked an ICMP error for: not ours to report.
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends one datagram, or queues stream bytes and writes what the stream takes.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Io::Datagram { sock, peer } => match sock.send_to(bytes, *peer) {
                Ok(_) => Ok(()),
                // A full socket buffer is loss, which the link recovers from.
                Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(()),
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => Ok(()),
                Err(e) => Err(e),
            },
            Io::Stream { out, .. } => {
                if out.len() + bytes.len() > STREAM_BACKLOG {
                    return Err(io::Error::new(
                        ErrorKind::TimedOut,
                        "the stream stopped taking data (nobody reading the other end?)",
                    ));
                }
                out.extend_from_slice(bytes);
                self.flush().map(|_| ())
            }
        }
    }

    /// Writes pending stream bytes; returns whether any went out.
    pub fn flush(&mut self) -> io::Result<bool> {
        let Io::Stream { s, out } = self else {
            return Ok(false);
        };
        let mut wrote = 0;
        while wrote < out.len() {
            match s.write(&out[wrote..]) {
                Ok(0) => break,
                Ok(n) => wrote += n,
                Err(e)
                    if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted =>
                {
                    break
                }
                Err(e) => return Err(e),
            }
        }
        out.drain(..wrote);
        Ok(wrote > 0)
    }

    /// Bytes written by `send` but not yet taken by the stream.
    pub fn backlog(&self) -> usize {
        match self {
            Io::Datagram { .. } => 0,
            Io::Stream { out, .. } => out.len(),
        }
    }

    /// Waits up to `timeout` for input.
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<()> {
        let fd = match self {
            Io::Datagram { sock, .. } => sock.as_fd(),
            Io::Stream { s, .. } => s.as_fd(),
        };
        let ms = PollTimeout::try_from(timeout.as_millis().min(10_000) as i32)
            .unwrap_or(PollTimeout::ZERO);
        match poll(&mut [PollFd::new(fd, PollFlags::POLLIN)], ms) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A non-blocking UDP socket on `addr` (`127.0.0.1:0` for any free loopback port).
pub fn udp_socket(addr: &str) -> io::Result<UdpSocket> {
    let s = UdpSocket::bind(addr).map_err(|e| context(e, &format!("cannot bind UDP {addr}")))?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Adds what was being done to an error, keeping its kind.
pub fn context(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// A connected pair of loopback TCP streams, both non-blocking with Nagle off.
pub fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let a = TcpStream::connect(l.local_addr()?)?;
    let (b, _) = l.accept()?;
    for s in [&a, &b] {
        s.set_nonblocking(true)?;
        s.set_nodelay(true)?;
    }
    Ok((a, b))
}

/// A pseudo-terminal pair in raw mode: `(master, slave)`, both non-blocking. The slave is
/// opened by path, as a program opens a UART.
pub fn pty_pair() -> io::Result<(File, File)> {
    let p = nix::pty::openpty(None, None)?;
    let path = nix::unistd::ttyname(&p.slave)?;
    let master = File::from(p.master);
    set_nonblocking(&master)?;
    let slave = open_tty(&path.to_string_lossy(), None)?;
    // The pty's own slave fd is dropped; the opened path keeps the slave side alive.
    drop(p.slave);
    Ok((master, slave))
}

fn set_nonblocking(f: &File) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_truncate(fcntl(f, FcntlArg::F_GETFL)?);
    fcntl(f, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// Opens a tty by path, non-blocking, in raw mode (8N1, no echo, no line editing, no flow
/// control), at `baud` if given.
pub fn open_tty(path: &str, baud: Option<u32>) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| context(e, &format!("cannot open {path}")))?;
    let mut t = termios::tcgetattr(&f).map_err(|e| {
        io::Error::new(
            ErrorKind::InvalidInput,
            format!("{path} is not a serial device: {e}"),
        )
    })?;
    termios::cfmakeraw(&mut t);
    t.control_flags |= termios::ControlFlags::CLOCAL | termios::ControlFlags::CREAD;
    t.control_flags &= !termios::ControlFlags::CRTSCTS;
    if let Some(b) = baud {
        termios::cfsetspeed(&mut t, baud_rate(b)?)?;
    }
    termios::tcsetattr(&f, SetArg::TCSANOW, &t)?;
    Ok(f)
}

/// Opens a serial device exclusively: a second program on the same device is refused.
pub fn open_serial(path: &str, baud: u32) -> io::Result<Serial> {
    let f = open_tty(path, Some(baud))?;
    Flock::lock(f, FlockArg::LockExclusiveNonblock)
        .map(Serial)
        .map_err(|(_, e)| {
            io::Error::new(
                ErrorKind::AddrInUse,
                format!("{path} is busy (another program holds it): {e}"),
            )
        })
}

/// The termios speed for `baud`.
pub fn baud_rate(baud: u32) -> io::Result<BaudRate> {
    Ok(match baud {
        1200 => BaudRate::B1200,
        2400 => BaudRate::B2400,
        4800 => BaudRate::B4800,
        9600 => BaudRate::B9600,
        19200 => BaudRate::B19200,
        38400 => BaudRate::B38400,
        57600 => BaudRate::B57600,
        115200 => BaudRate::B115200,
        230400 => BaudRate::B230400,
        460800 => BaudRate::B460800,
        500000 => BaudRate::B500000,
        921600 => BaudRate::B921600,
        1000000 => BaudRate::B1000000,
        1500000 => BaudRate::B1500000,
        2000000 => BaudRate::B2000000,
        3000000 => BaudRate::B3000000,
        4000000 => BaudRate::B4000000,
        _ => {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!("unsupported baud rate {baud} (use a standard rate such as 115200)"),
            ))
        }
    })
}
