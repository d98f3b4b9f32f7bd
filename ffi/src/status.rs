//! The status codes every entry point returns.

/// Result of every `ferrule_` call. Values are explicit and never reused; new ones are only
/// ever added. `FERRULE_OK` is 0; informational outcomes are below 100; errors from 100.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ferrule_status {
    /// Success.
    FERRULE_OK = 0,
    /// Nothing to return now (no frame, no message, no event, no timer).
    FERRULE_EMPTY = 1,
    /// A NULL pointer where one is required.
    FERRULE_ERR_NULL = 100,
    /// An output buffer is too small; nothing was consumed or taken off a queue (a message
    /// stays queued). `ferrule_encode` may have written part of its buffer, which holds no
    /// frame then.
    FERRULE_ERR_BUFFER_TOO_SMALL = 101,
    /// The caller-provided memory is smaller than the size query says.
    FERRULE_ERR_MEMORY_TOO_SMALL = 102,
    /// The caller-provided memory is not aligned to the alignment query.
    FERRULE_ERR_MEMORY_ALIGNMENT = 103,
    /// An argument is out of range (unknown transport, mode or field value, a length above
    /// `PTRDIFF_MAX`, service memory overlapping the link's own or another service's).
    FERRULE_ERR_INVALID_ARGUMENT = 104,
    /// A payload or message exceeds the protocol or configured maximum.
    FERRULE_ERR_TOO_LARGE = 105,
    /// The send window (or the best-effort slot) is full: try again later; nothing was lost.
    FERRULE_ERR_FULL = 106,
    /// No session is up yet.
    FERRULE_ERR_NOT_CONNECTED = 107,
    /// A key is not exactly 32 bytes.
    FERRULE_ERR_BAD_KEY_LENGTH = 108,
    /// The library was built without this feature (e.g. `aead`).
    FERRULE_ERR_UNSUPPORTED = 109,
    /// A frame had invalid byte stuffing (usually a lost or corrupted byte).
    FERRULE_ERR_MALFORMED = 120,
    /// A frame was shorter than header + CRC.
    FERRULE_ERR_TOO_SHORT = 121,
    /// A frame exceeded the decoder's buffer and was discarded whole.
    FERRULE_ERR_OVERSIZE = 122,
    /// CRC mismatch (line noise).
    FERRULE_ERR_BAD_CRC = 123,
    /// A protocol version this library does not speak.
    FERRULE_ERR_BAD_VERSION = 124,
    /// An unknown frame type.
    FERRULE_ERR_UNKNOWN_KIND = 125,
    /// Reserved or contradictory header flags.
    FERRULE_ERR_BAD_FLAGS = 126,
    /// The header is longer than the frame.
    FERRULE_ERR_TRUNCATED_HEADER = 127,
    /// A received message did not decompress; it was dropped and counted.
    FERRULE_ERR_DECOMPRESS = 130,
    /// A Rust panic was caught at the boundary (a bug: please report it). Host builds only: a
    /// firmware library (`panic-handler` feature, the release bundles) cannot unwind, and parks
    /// the core in a loop instead (a watchdog resets it).
    FERRULE_ERR_PANIC = 199,
}

/// Every status, for tests.
pub(crate) const ALL: &[ferrule_status] = {
    use ferrule_status::*;
    &[
        FERRULE_OK,
        FERRULE_EMPTY,
        FERRULE_ERR_NULL,
        FERRULE_ERR_BUFFER_TOO_SMALL,
        FERRULE_ERR_MEMORY_TOO_SMALL,
        FERRULE_ERR_MEMORY_ALIGNMENT,
        FERRULE_ERR_INVALID_ARGUMENT,
        FERRULE_ERR_TOO_LARGE,
        FERRULE_ERR_FULL,
        FERRULE_ERR_NOT_CONNECTED,
        FERRULE_ERR_BAD_KEY_LENGTH,
        FERRULE_ERR_UNSUPPORTED,
        FERRULE_ERR_MALFORMED,
        FERRULE_ERR_TOO_SHORT,
        FERRULE_ERR_OVERSIZE,
        FERRULE_ERR_BAD_CRC,
        FERRULE_ERR_BAD_VERSION,
        FERRULE_ERR_UNKNOWN_KIND,
        FERRULE_ERR_BAD_FLAGS,
        FERRULE_ERR_TRUNCATED_HEADER,
        FERRULE_ERR_DECOMPRESS,
        FERRULE_ERR_PANIC,
    ]
};

/// The NUL-terminated description of a status value.
pub(crate) fn describe(status: u32) -> &'static [u8] {
    use ferrule_status::*;
    let s = ALL.iter().find(|s| **s as u32 == status);
    match s {
        Some(FERRULE_OK) => b"ok\0",
        Some(FERRULE_EMPTY) => b"nothing available now\0",
        Some(FERRULE_ERR_NULL) => b"NULL pointer argument\0",
        Some(FERRULE_ERR_BUFFER_TOO_SMALL) => b"output buffer too small\0",
        Some(FERRULE_ERR_MEMORY_TOO_SMALL) => b"provided memory too small\0",
        Some(FERRULE_ERR_MEMORY_ALIGNMENT) => b"provided memory misaligned\0",
        Some(FERRULE_ERR_INVALID_ARGUMENT) => b"invalid argument\0",
        Some(FERRULE_ERR_TOO_LARGE) => b"payload or message too large\0",
        Some(FERRULE_ERR_FULL) => b"send window full, try again later\0",
        Some(FERRULE_ERR_NOT_CONNECTED) => b"no session up\0",
        Some(FERRULE_ERR_BAD_KEY_LENGTH) => b"key must be 32 bytes\0",
        Some(FERRULE_ERR_UNSUPPORTED) => b"not supported by this build\0",
        Some(FERRULE_ERR_MALFORMED) => b"malformed frame (byte stuffing)\0",
        Some(FERRULE_ERR_TOO_SHORT) => b"frame too short\0",
        Some(FERRULE_ERR_OVERSIZE) => b"frame larger than the buffer\0",
        Some(FERRULE_ERR_BAD_CRC) => b"CRC mismatch\0",
        Some(FERRULE_ERR_BAD_VERSION) => b"unsupported protocol version\0",
        Some(FERRULE_ERR_UNKNOWN_KIND) => b"unknown frame type\0",
        Some(FERRULE_ERR_BAD_FLAGS) => b"invalid header flags\0",
        Some(FERRULE_ERR_TRUNCATED_HEADER) => b"truncated header\0",
        Some(FERRULE_ERR_DECOMPRESS) => b"message failed to decompress\0",
        Some(FERRULE_ERR_PANIC) => b"internal panic caught\0",
        None => b"unknown status\0",
    }
}

impl From<ferrule::FrameError> for ferrule_status {
    fn from(e: ferrule::FrameError) -> Self {
        use ferrule::FrameError as E;
        match e {
            E::Malformed => Self::FERRULE_ERR_MALFORMED,
            E::TooShort => Self::FERRULE_ERR_TOO_SHORT,
            E::Oversize => Self::FERRULE_ERR_OVERSIZE,
            E::BadCrc => Self::FERRULE_ERR_BAD_CRC,
            E::UnsupportedVersion(_) => Self::FERRULE_ERR_BAD_VERSION,
            E::UnknownKind(_) => Self::FERRULE_ERR_UNKNOWN_KIND,
            E::BadFlags(_) => Self::FERRULE_ERR_BAD_FLAGS,
            E::TruncatedHeader => Self::FERRULE_ERR_TRUNCATED_HEADER,
        }
    }
}

impl From<ferrule::EncodeError> for ferrule_status {
    fn from(e: ferrule::EncodeError) -> Self {
        match e {
            ferrule::EncodeError::BufferTooSmall => Self::FERRULE_ERR_BUFFER_TOO_SMALL,
            ferrule::EncodeError::PayloadTooLarge => Self::FERRULE_ERR_TOO_LARGE,
        }
    }
}
