//! `ferrule._ferrule`: the extension module under the `ferrule` Python package.
//!
//! - [`link`]: `Link`, the sans-IO reliable link (`ferrule::link::Link`), with `Message` and
//!   `Event`;
//! - [`framing`]: `encode_frame`, `decode_datagram`, `StreamDecoder` and `Frame`;
//! - [`owned`]: a link that owns its codec's memory (the crate's only `unsafe` code);
//! - [`errors`], [`convert`]: exceptions and conversions shared by the others.
//!
//! The Python side (`ferrule/*.py`) adds the exceptions, the statistics dataclasses and the
//! ready-made connections (serial, UDP, asyncio) on top.

pub mod convert;
pub mod errors;
pub mod framing;
pub mod link;
pub mod owned;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _ferrule(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<link::Link>()?;
    m.add_class::<link::Message>()?;
    m.add_class::<link::Event>()?;
    m.add_class::<framing::Frame>()?;
    m.add_class::<framing::StreamDecoder>()?;
    m.add_function(wrap_pyfunction!(framing::encode_frame, m)?)?;
    m.add_function(wrap_pyfunction!(framing::decode_datagram, m)?)?;
    m.add("MAX_PAYLOAD", ferrule::frame::MAX_PAYLOAD)?;
    m.add("PROTOCOL_VERSION", ferrule::frame::VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
