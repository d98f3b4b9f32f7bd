//! Raising the package's exceptions (defined in Python, `ferrule/_errors.py`) from Rust.

use ferrule::FrameError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};

/// `ferrule._errors`, imported once.
static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The exception classes the extension raises (names in `ferrule._errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `ConfigError`.
    Config,
    /// `SendWindowFull`.
    SendWindowFull,
    /// `NotConnected`.
    NotConnected,
    /// `MessageTooLarge`.
    MessageTooLarge,
    /// `DecompressError`.
    Decompress,
    /// `FrameError`.
    Frame,
    /// `LinkClosed`.
    LinkClosed,
    /// `FerruleError` itself.
    Other,
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Self::Config => "ConfigError",
            Self::SendWindowFull => "SendWindowFull",
            Self::NotConnected => "NotConnected",
            Self::MessageTooLarge => "MessageTooLarge",
            Self::Decompress => "DecompressError",
            Self::Frame => "FrameError",
            Self::LinkClosed => "LinkClosed",
            Self::Other => "FerruleError",
        }
    }
}

/// An exception of `kind` with `message`, and `details` as its attributes.
pub fn error_with(
    py: Python<'_>,
    kind: Kind,
    message: &str,
    details: &[(&str, Bound<'_, PyAny>)],
) -> PyErr {
    let made = || -> PyResult<PyErr> {
        let module =
            ERRORS.get_or_try_init(py, || py.import("ferrule._errors").map(Bound::unbind))?;
        let class = module.bind(py).getattr(kind.class_name())?;
        let kwargs = PyDict::new(py);
        for (k, v) in details {
            kwargs.set_item(k, v)?;
        }
        Ok(PyErr::from_value(class.call((message,), Some(&kwargs))?))
    };
    // If even that fails (the package's Python files are missing), raise what went wrong.
    made().unwrap_or_else(|e| e)
}

/// An exception of `kind` with `message`.
pub fn error(py: Python<'_>, kind: Kind, message: &str) -> PyErr {
    error_with(py, kind, message, &[])
}

/// The C status name of a framing reject (`FERRULE_ERR_BAD_CRC`, ...).
pub fn frame_status(e: FrameError) -> &'static str {
    match e {
        FrameError::Malformed => "FERRULE_ERR_MALFORMED",
        FrameError::TooShort => "FERRULE_ERR_TOO_SHORT",
        FrameError::Oversize => "FERRULE_ERR_OVERSIZE",
        FrameError::BadCrc => "FERRULE_ERR_BAD_CRC",
        FrameError::UnsupportedVersion(_) => "FERRULE_ERR_BAD_VERSION",
        FrameError::UnknownKind(_) => "FERRULE_ERR_UNKNOWN_KIND",
        FrameError::BadFlags(_) => "FERRULE_ERR_BAD_FLAGS",
        FrameError::TruncatedHeader => "FERRULE_ERR_TRUNCATED_HEADER",
    }
}

/// `FrameError` for a rejected frame, its `status` naming the reason.
pub fn frame_error(py: Python<'_>, e: FrameError) -> PyErr {
    let status = pyo3::types::PyString::new(py, frame_status(e)).into_any();
    error_with(py, Kind::Frame, &e.to_string(), &[("status", status)])
}
