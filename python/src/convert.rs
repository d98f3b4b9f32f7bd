//! Conversions between Python values and the Rust types: bytes-like arguments, channels, and
//! the counters as the dataclasses of `ferrule/_stats.py`.

use ferrule::compress::CodecStats;
use ferrule::link::LinkStats;
use ferrule::DecoderStats;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView, PyModule};
use std::borrow::Cow;

/// `ferrule._stats`, imported once.
static STATS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The bytes of a bytes-like argument: `bytes` are borrowed (they cannot change, so they may
/// be read with the GIL released), `bytearray` and `memoryview` are copied. Anything else (a
/// `str`, an `int`, a list) is a `TypeError` naming the argument.
pub fn bytes_arg<'a>(obj: &'a Bound<'_, PyAny>, name: &str) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Cow::Owned(b.to_vec()));
    }
    if obj.cast::<PyMemoryView>().is_ok() {
        let copy = obj.call_method0("tobytes")?;
        let b = copy.cast::<PyBytes>()?;
        return Ok(Cow::Owned(b.as_bytes().to_vec()));
    }
    let type_name = obj.get_type().name()?;
    Err(PyTypeError::new_err(format!(
        "{name} must be bytes, bytearray or memoryview, not {type_name}"
    )))
}

/// A channel number, 0..=255.
pub fn channel_arg(channel: i64) -> PyResult<u8> {
    u8::try_from(channel)
        .map_err(|_| PyValueError::new_err(format!("channel must be 0..=255, not {channel}")))
}

/// An instance of dataclass `class` of `ferrule._stats` with `fields`.
fn dataclass<'py>(
    py: Python<'py>,
    class: &str,
    fields: &[(&str, Bound<'py, PyAny>)],
) -> PyResult<Bound<'py, PyAny>> {
    let module = STATS.get_or_try_init(py, || py.import("ferrule._stats").map(Bound::unbind))?;
    let kwargs = PyDict::new(py);
    for (k, v) in fields {
        kwargs.set_item(k, v)?;
    }
    module.bind(py).getattr(class)?.call((), Some(&kwargs))
}

/// `(name, value)` pairs of integer fields, as Python objects.
macro_rules! fields {
    ($py:expr; $($name:ident),* $(,)?) => {
        vec![$((stringify!($name), $name.into_pyobject($py)?.into_any())),*]
    };
}

/// `ferrule.FramingStats` of a decoder's counters.
pub fn framing_stats<'py>(py: Python<'py>, s: &DecoderStats) -> PyResult<Bound<'py, PyAny>> {
    // Every field named: a counter added to `DecoderStats` fails the build until it is here.
    let DecoderStats {
        bytes_in,
        frames_ok,
        malformed,
        too_short,
        oversize,
        bad_crc,
        bad_version,
        unknown_kind,
        bad_flags,
        truncated_header,
    } = *s;
    let f = fields!(py; bytes_in, frames_ok, malformed, too_short, oversize, bad_crc,
        bad_version, unknown_kind, bad_flags, truncated_header);
    dataclass(py, "FramingStats", &f)
}

/// `ferrule.LinkStats` of a link's counters.
pub fn link_stats<'py>(py: Python<'py>, s: &LinkStats) -> PyResult<Bound<'py, PyAny>> {
    // Every field named: a counter added to `LinkStats` fails the build until it is here.
    let LinkStats {
        rtt_min,
        srtt,
        rttvar,
        rto,
        frames_sent,
        bytes_sent,
        frames_received,
        sent_reliable,
        sent_unreliable,
        delivered_reliable,
        delivered_unreliable,
        rdata_frames_sent,
        data_frames_sent,
        retransmissions,
        fast_retransmits,
        spurious_retransmissions,
        timeouts,
        acks_sent,
        keepalives_sent,
        probes_sent,
        hellos_sent,
        hellos_answered,
        hello_duplicates,
        duplicates,
        out_of_order,
        out_of_window,
        send_full,
        window_stalls,
        stale_session,
        untagged,
        not_negotiated,
        reflected,
        unexpected,
        bad_ack,
        too_large,
        decompress_failed,
        unreliable_overwritten,
        sessions,
        link_downs,
        discarded_on_reset,
        events_dropped,
        auth_failed,
        replayed,
        too_old,
        unknown_key,
        unauthenticated,
        parity_sent,
        parity_dropped,
        parity_unneeded,
        fec_recovered,
        fec_unrecoverable,
        parity_rejected,
        framing,
    } = *s;
    let mut f = fields!(py; rtt_min, srtt, rttvar, rto, frames_sent, bytes_sent,
        frames_received, sent_reliable, sent_unreliable, delivered_reliable,
        delivered_unreliable, rdata_frames_sent, data_frames_sent, retransmissions,
        fast_retransmits, spurious_retransmissions, timeouts, acks_sent, keepalives_sent,
        probes_sent, hellos_sent, hellos_answered, hello_duplicates, duplicates, out_of_order,
        out_of_window, send_full, window_stalls, stale_session, untagged, not_negotiated,
        reflected, unexpected, bad_ack, too_large, decompress_failed, unreliable_overwritten,
        sessions, link_downs, discarded_on_reset, events_dropped, auth_failed, replayed,
        too_old, unknown_key, unauthenticated, parity_sent, parity_dropped, parity_unneeded,
        fec_recovered, fec_unrecoverable, parity_rejected);
    f.push(("framing", framing_stats(py, &framing)?));
    dataclass(py, "LinkStats", &f)
}

/// `ferrule.CodecStats` of a link's compression counters.
pub fn codec_stats<'py>(py: Python<'py>, s: &CodecStats) -> PyResult<Bound<'py, PyAny>> {
    // Every field named: a counter added to `CodecStats` fails the build until it is here.
    let CodecStats {
        compressed,
        not_smaller,
        downgraded,
        bytes_in,
        bytes_out,
        inflated,
        failed,
        malformed,
        too_large,
        too_far,
        dynamic_block,
        unknown_dictionary,
        unsupported,
    } = *s;
    let f = fields!(py; compressed, not_smaller, downgraded, bytes_in, bytes_out, inflated,
        failed, malformed, too_large, too_far, dynamic_block, unknown_dictionary, unsupported);
    dataclass(py, "CodecStats", &f)
}
