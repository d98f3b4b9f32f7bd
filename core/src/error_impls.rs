//! `Display` and `core::error::Error` for the public error types whose modules do not
//! implement them themselves, and `embedded_io::Error` for [`IoError`](crate::io::IoError).
//!
//! Every public error type of the crate is `Debug + Display + core::error::Error`, and
//! `defmt::Format` with feature `defmt` (the `derive` sits on each type).

use core::fmt;

use crate::cobs::{BufferTooSmall, DecodeError};
use crate::compress::NotSmaller;
use crate::link::OpenError;

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("output buffer too small")
    }
}

impl core::error::Error for BufferTooSmall {}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ZeroByte => "COBS input holds a zero byte",
            Self::Truncated => "COBS block runs past the end of the input",
            Self::Empty => "COBS input is empty",
            Self::BufferTooSmall => "output buffer too small for the decoded bytes",
        })
    }
}

impl core::error::Error for DecodeError {}

impl fmt::Display for NotSmaller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("compressed form not smaller than the message: send it raw")
    }
}

impl core::error::Error for NotSmaller {}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownKey => "sealed with an unknown key id",
            Self::Replayed => "frame counter already accepted (replay)",
            Self::TooOld => "frame counter behind the replay window",
            Self::AuthFailed => "authentication tag does not verify",
            Self::NoSession => "no keys for that session",
        })
    }
}

impl core::error::Error for OpenError {}

#[cfg(feature = "aead")]
impl fmt::Display for crate::aead::Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Replayed => "frame counter already accepted (replay)",
            Self::TooOld => "frame counter behind the replay window",
        })
    }
}

#[cfg(feature = "aead")]
impl core::error::Error for crate::aead::Replay {}

#[cfg(feature = "embedded-io")]
mod io {
    use crate::io::IoError;
    use core::fmt;

    impl<E: fmt::Display> fmt::Display for IoError<E> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::Io(e) => write!(f, "transport error: {e}"),
                Self::Encode(e) => write!(f, "frame not encoded: {e}"),
                Self::Eof => f.write_str("transport reached end of file"),
            }
        }
    }

    impl<E: core::error::Error + 'static> core::error::Error for IoError<E> {
        fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
            match self {
                Self::Io(e) => Some(e),
                Self::Encode(e) => Some(e),
                Self::Eof => None,
            }
        }
    }

    /// The transport's own kind; a frame that cannot be encoded is `InvalidInput`; end of
    /// file is `BrokenPipe` (`embedded_io` has no end-of-file kind).
    impl<E: embedded_io::Error + 'static> embedded_io::Error for IoError<E> {
        fn kind(&self) -> embedded_io::ErrorKind {
            match self {
                Self::Io(e) => e.kind(),
                Self::Encode(_) => embedded_io::ErrorKind::InvalidInput,
                Self::Eof => embedded_io::ErrorKind::BrokenPipe,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    fn is_error<E: core::error::Error>(_: &E) {}

    #[test]
    fn every_error_displays_a_message() {
        for e in [
            DecodeError::ZeroByte,
            DecodeError::Truncated,
            DecodeError::Empty,
            DecodeError::BufferTooSmall,
        ] {
            is_error(&e);
            assert!(!e.to_string().is_empty());
        }
        is_error(&BufferTooSmall);
        is_error(&NotSmaller);
        for e in [
            OpenError::UnknownKey,
            OpenError::Replayed,
            OpenError::TooOld,
            OpenError::AuthFailed,
            OpenError::NoSession,
        ] {
            is_error(&e);
            assert!(!e.to_string().is_empty());
        }
    }

    #[cfg(feature = "embedded-io")]
    #[test]
    fn io_error_keeps_the_transport_kind() {
        use crate::io::IoError;
        use embedded_io::{Error, ErrorKind};
        let e: IoError<ErrorKind> = IoError::Io(ErrorKind::TimedOut);
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        assert_eq!(
            IoError::<ErrorKind>::Encode(crate::EncodeError::BufferTooSmall).kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(IoError::<ErrorKind>::Eof.kind(), ErrorKind::BrokenPipe);
        assert!(e.to_string().contains("transport error"));
        assert!(core::error::Error::source(&e).is_some());
    }
}
