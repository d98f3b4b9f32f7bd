//! Stdout, line by line: a closed stdout (`ferrule ... | head -1`) ends the command quietly
//! ([`Failure::stdout_closed`], status 0) instead of panicking as `println!` does.

use crate::fail::Failure;
use std::io::{self, Write};

/// Writes `text` and a newline to stdout.
pub fn line(text: impl std::fmt::Display) -> Result<(), Failure> {
    writeln!(io::stdout().lock(), "{text}").map_err(|_| Failure::stdout_closed())
}

/// Writes `text` as it is (several lines at once) to stdout.
pub fn text(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|_| Failure::stdout_closed())
}

/// `println!` that returns [`Failure::stdout_closed`] when stdout is closed.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
