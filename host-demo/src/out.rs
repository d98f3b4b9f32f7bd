//! Stdout, line by line: a closed stdout (`ferrule ... | head -1`, `EPIPE`) ends the
//! printing quietly ([`Failure::stdout_closed`], status 0) instead of panicking as `println!`
//! does; any other write error (`> /dev/full`: no space left) is an I/O failure, status 1.
//!
//! Commands whose job is more than printing (`send` delivers, `firmware` and the demo check
//! what arrived) keep going when stdout fails, through [`Printer`], and report the stdout
//! failure only when the job itself succeeded.

use crate::fail::Failure;
use std::io::{self, ErrorKind, Write};

/// The failure a stdout write error is: quiet when the reader went away (`BrokenPipe`), an
/// I/O failure (status 1) otherwise.
pub fn error(e: &io::Error) -> Failure {
    if e.kind() == ErrorKind::BrokenPipe {
        Failure::stdout_closed()
    } else {
        Failure::io(e, "stdout")
    }
}

/// Writes `text` and a newline to stdout.
pub fn line(text: impl std::fmt::Display) -> Result<(), Failure> {
    writeln!(io::stdout().lock(), "{text}").map_err(|e| error(&e))
}

/// Writes `text` as it is (several lines at once) to stdout.
pub fn text(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| error(&e))
}

/// Stdout for a command whose job goes on when stdout fails: lines are written until the
/// first error, which is kept for [`Printer::finish`]; after it nothing more is printed.
#[derive(Debug, Default)]
pub struct Printer {
    failed: Option<Failure>,
}

impl Printer {
    /// A printer whose stdout was closed already (tests).
    #[cfg(test)]
    pub fn closed() -> Self {
        Self {
            failed: Some(Failure::stdout_closed()),
        }
    }

    /// Writes `text` and a newline, unless an earlier write failed.
    pub fn line(&mut self, text: impl std::fmt::Display) {
        if self.failed.is_none() {
            self.failed = line(text).err();
        }
    }

    /// Writes `text` as it is, unless an earlier write failed.
    pub fn text(&mut self, text: &str) {
        if self.failed.is_none() {
            self.failed = self::text(text).err();
        }
    }

    /// The command's result: the job's own failure first; then the stdout failure, if any
    /// (quiet when stdout was closed).
    pub fn finish(self, job: Result<(), Failure>) -> Result<(), Failure> {
        job?;
        self.failed.map_or(Ok(()), Err)
    }
}

/// A message as one line of text: invalid UTF-8 as replacement characters; control
/// characters and Unicode format characters (bidirectional overrides, zero-width ones, ...)
/// escaped (`\n`, `\r`, `\t`, `\u{1b}`, `\u{202e}`, ...) and so backslashes too (`\\`).
/// Nothing a peer sends can span lines, drive the terminal or reorder what it shows.
pub fn text_line(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len());
    for c in String::from_utf8_lossy(data).chars() {
        if c == '\\' || c.is_control() || is_format(c) {
            s.extend(c.escape_default());
        } else {
            s.push(c);
        }
    }
    s
}

/// Whether `c` is a Unicode format character (general category Cf, Unicode 15.1).
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
}

/// `println!` that returns [`Failure::stdout_closed`] when stdout is closed (and an I/O
/// failure when it fails otherwise).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fail::Code;

    #[test]
    fn only_a_broken_pipe_is_quiet() {
        assert!(error(&ErrorKind::BrokenPipe.into()).is_quiet());
        let full = error(&io::Error::from_raw_os_error(28)); // ENOSPC on Linux
        assert!(!full.is_quiet());
        assert_eq!(full.code, Code::Failed);
        assert!(full.msg.starts_with("stdout: "), "{}", full.msg);
    }

    #[test]
    fn a_printer_reports_the_job_first() {
        let closed = Printer::closed;
        let job = Err(Failure::new(Code::LinkDown, "down"));
        assert_eq!(closed().finish(job).unwrap_err().code, Code::LinkDown);
        assert!(closed().finish(Ok(())).unwrap_err().is_quiet());
        assert!(Printer::default().finish(Ok(())).is_ok());
    }

    #[test]
    fn text_lines_escape_what_would_drive_the_terminal() {
        assert_eq!(text_line(b"plain text"), "plain text");
        assert_eq!(text_line(b"a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(text_line(b"\x1b[2J\\"), "\\u{1b}[2J\\\\");
        assert_eq!(
            text_line("w\u{f6}rld \u{85}".as_bytes()),
            "w\u{f6}rld \\u{85}"
        );
        assert_eq!(text_line(b"\xff"), "\u{fffd}");
        // Format characters: a bidi override, zero-width ones, a byte order mark.
        assert_eq!(
            text_line("a\u{202e}b\u{200b}c\u{2066}d\u{feff}".as_bytes()),
            "a\\u{202e}b\\u{200b}c\\u{2066}d\\u{feff}"
        );
        assert_eq!(text_line("\u{e9}\u{4e2d}".as_bytes()), "\u{e9}\u{4e2d}");
    }
}
