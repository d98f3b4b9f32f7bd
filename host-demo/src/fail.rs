//! How the tool fails: one line on stderr and a documented exit status.
//!
//! | status | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the run failed: delivery was not exact, the firmware reported errors, I/O failed mid-run |
//! | 2 | bad arguments or usage |
//! | 3 | the device or peer cannot be reached: no such device, not a serial device, connection refused |
//! | 4 | busy: the device is held by another program, or the address is in use |
//! | 5 | the capture file cannot be read: missing, not a capture, truncated |
//! | 6 | timeout: the peer never answered, or messages were not acknowledged within `--timeout` |
//! | 7 | the link went down with messages not acknowledged (`send`) |
//! | 130 | interrupted (Ctrl-C, SIGINT, SIGTERM): the session was closed and the capture written |
//!
//! Output files (`--capture`, `--plot`) that cannot be created are bad arguments (2), checked
//! before the run; a run that fails leaves the old files as they were. A closed stdout
//! (`ferrule ... | head -1`) ends the printing quietly, status 0 (commands with a job beyond
//! printing finish it and report its status); any other stdout error is status 1. A failure
//! after Ctrl-C (a connect cut short) is reported as the interruption, 130.

use std::fmt;
use std::io::{self, ErrorKind};

/// Exit statuses (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    /// The run failed.
    Failed = 1,
    /// Bad arguments.
    Usage = 2,
    /// Device or peer unreachable.
    Unreachable = 3,
    /// Device busy or address in use.
    Busy = 4,
    /// Unreadable capture.
    Capture = 5,
    /// The peer never answered in time.
    Timeout = 6,
    /// The link went down with messages unacknowledged.
    LinkDown = 7,
    /// Interrupted by Ctrl-C, SIGINT or SIGTERM (the shells' 128 + SIGINT).
    Interrupted = 130,
}

/// An error to report: one line, one status.
#[derive(Debug)]
pub struct Failure {
    /// Exit status.
    pub code: Code,
    /// The line printed after `ferrule: `.
    pub msg: String,
    /// Stdout was closed: the command ends quietly, status 0.
    quiet: bool,
}

impl Failure {
    /// A failure with status `code`.
    pub fn new(code: Code, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
            quiet: false,
        }
    }

    /// Stdout is closed (its reader went away): nothing more to say, nobody to say it to.
    pub fn stdout_closed() -> Self {
        Self {
            quiet: true,
            ..Self::new(Code::Failed, "stdout closed")
        }
    }

    /// Whether this ends the command quietly with status 0 (see [`Self::stdout_closed`]).
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Ctrl-C or a termination signal (status 130).
    pub fn interrupted() -> Self {
        Self::new(Code::Interrupted, "interrupted")
    }

    /// An output file (`--capture`, `--plot`) that cannot be created: a bad argument.
    pub fn output(option: &str, path: &str, e: &io::Error) -> Self {
        Self::usage(format!("{option} {path}: cannot create it: {e}"))
    }

    /// Bad arguments (status 2).
    pub fn usage(msg: impl Into<String>) -> Self {
        Self::new(Code::Usage, msg)
    }

    /// An I/O error with what was being done, classified by its kind.
    pub fn io(e: &io::Error, what: &str) -> Self {
        let code = match e.kind() {
            ErrorKind::NotFound | ErrorKind::ConnectionRefused | ErrorKind::InvalidInput => {
                Code::Unreachable
            }
            ErrorKind::AddrInUse | ErrorKind::ResourceBusy => Code::Busy,
            // An address this machine does not have (binding to another host's address).
            ErrorKind::AddrNotAvailable => Code::Usage,
            ErrorKind::TimedOut => Code::Timeout,
            _ => Code::Failed,
        };
        let msg = if what.is_empty() {
            e.to_string()
        } else {
            format!("{what}: {e}")
        };
        Self::new(code, msg)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the message holds.
        f.write_str(&self.msg.replace('\n', " "))
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Self::io(&e, "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_their_status() {
        let f = |k| Failure::io(&io::Error::new(k, "x"), "opening").code;
        assert_eq!(f(ErrorKind::NotFound), Code::Unreachable);
        assert_eq!(f(ErrorKind::AddrInUse), Code::Busy);
        assert_eq!(f(ErrorKind::TimedOut), Code::Timeout);
        assert_eq!(f(ErrorKind::BrokenPipe), Code::Failed);
        let e = Failure::io(&io::Error::other("a\nb"), "w");
        assert_eq!(e.to_string(), "w: a b");
    }
}
