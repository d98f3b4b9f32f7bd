//! Framing helpers: one frame encoded (`encode_frame`), a byte stream decoded
//! (`StreamDecoder`), a datagram checked (`decode_datagram`). For tools that look at the wire
//! (sniffers, test fixtures, fault injection) without a link.

use crate::convert::{bytes_arg, channel_arg, framing_stats};
use crate::errors::{error, frame_error, Kind};
use ferrule::encode::{max_datagram_len, max_stream_frame_len};
use ferrule::frame::{max_body_len, MAX_PAYLOAD};
use ferrule::{Compression, Decoder, Feed, Header, StreamOptions};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// `b'...'`, as Python writes bytes.
pub fn bytes_repr(b: &[u8]) -> String {
    let mut s = String::from("b'");
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(char::from(c)),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('\'');
    s
}

/// A frame: its header fields and payload.
#[pyclass(module = "ferrule", frozen, get_all)]
pub struct Frame {
    /// `"DATA"`, `"RDATA"`, `"ACK"`, `"HELLO"`, `"HELLO_ACK"`, `"PING"`, `"CLOSE"` or
    /// `"PARITY"`.
    kind: &'static str,
    /// Channel (0..=255).
    channel: u8,
    /// The flags byte as on the wire.
    flags: u8,
    /// `"none"`, `"shared-raw"`, `"deflate"`, `"shared"` or `"dictionary"`.
    compression: &'static str,
    /// Preset dictionary id (with `compression == "dictionary"`).
    dict_id: Option<u8>,
    /// Session tag (0 when the frame carries neither a sequence number nor an ack).
    session: u8,
    /// Sequence number.
    seq: Option<u16>,
    /// Cumulative acknowledgement: the next sequence number expected.
    ack: Option<u16>,
    /// Receive window announced with the ack.
    window: Option<u8>,
    /// Selective-ack bitmap.
    sack: Option<u32>,
    /// Sender's timestamp (ms mod 2**16).
    ts: Option<u16>,
    /// Echoed timestamp and hold time (ms): `(ts, hold)`.
    echo: Option<(u16, u8)>,
    /// Position in the sender's FEC numbering.
    fec_seq: Option<u8>,
    /// AEAD: key id and frame counter, `(key_id, counter)`; the payload is then ciphertext
    /// and tag.
    aead: Option<(u8, u32)>,
    /// The payload (ciphertext for sealed frames, deflate for compressed ones).
    payload: Py<PyBytes>,
}

impl Frame {
    fn new(py: Python<'_>, h: &Header, payload: &[u8]) -> Self {
        let (compression, dict_id) = match h.compression {
            Compression::None => ("none", None),
            Compression::SharedRaw => ("shared-raw", None),
            Compression::Deflate => ("deflate", None),
            Compression::Shared => ("shared", None),
            Compression::Dictionary(id) => ("dictionary", Some(id)),
        };
        Self {
            kind: h.kind.name(),
            channel: h.channel,
            flags: h.flags(),
            compression,
            dict_id,
            session: h.session,
            seq: h.seq,
            ack: h.ack.map(|a| a.next),
            window: h.ack.map(|a| a.window),
            sack: h.ack.and_then(|a| a.sack),
            ts: h.ts,
            echo: h.echo.map(|e| (e.ts, e.hold)),
            fec_seq: h.fec_seq,
            aead: h.aead.map(|a| (a.key_id, a.counter)),
            payload: PyBytes::new(py, payload).unbind(),
        }
    }
}

#[pymethods]
impl Frame {
    fn __repr__(&self, py: Python<'_>) -> String {
        let p = self.payload.bind(py).as_bytes();
        let mut s = format!("Frame(kind='{}', channel={}", self.kind, self.channel);
        if let Some(q) = self.seq {
            s += &format!(", seq={q}");
        }
        if let Some(a) = self.ack {
            s += &format!(", ack={a}");
        }
        if self.compression != "none" {
            s += &format!(", compression='{}'", self.compression);
        }
        let shown = p.get(..32).unwrap_or(p);
        let more = if p.len() > 32 { "..." } else { "" };
        s + &format!(", payload={}{more} ({} bytes))", bytes_repr(shown), p.len())
    }
}

/// One DATA frame carrying `data` on `channel`: COBS-stuffed and `0x00`-terminated for a
/// byte stream (`stream=True`), or a raw datagram. This is the link's best-effort frame
/// without a session: a link drops it (counted `untagged`); use it to talk to framing-only
/// peers and to build test input. Raises `MessageTooLarge` above 4096 bytes.
#[pyfunction]
#[pyo3(signature = (channel, data, stream = true, leading_delimiter = false))]
pub fn encode_frame<'py>(
    py: Python<'py>,
    channel: i64,
    data: &Bound<'py, PyAny>,
    stream: bool,
    leading_delimiter: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let channel = channel_arg(channel)?;
    let payload = bytes_arg(data, "data")?;
    if payload.len() > MAX_PAYLOAD {
        return Err(error(
            py,
            Kind::MessageTooLarge,
            &format!(
                "payload of {} bytes is larger than a frame holds ({MAX_PAYLOAD})",
                payload.len()
            ),
        ));
    }
    let header = Header::data(channel);
    let mut out =
        vec![0u8; max_stream_frame_len(payload.len()).max(max_datagram_len(payload.len()))];
    let n = if stream {
        ferrule::encode_stream(
            &header,
            &payload,
            StreamOptions { leading_delimiter },
            &mut out,
        )
    } else {
        ferrule::encode_datagram(&header, &payload, &mut out)
    }
    .map_err(|e| error(py, Kind::Other, &e.to_string()))?;
    Ok(PyBytes::new(py, out.get(..n).unwrap_or_default()))
}

/// Checks one datagram (CRC, version, header) and returns its `Frame`. Raises `FrameError`
/// (its `status` names the reason) for a datagram that is not a valid frame.
#[pyfunction]
pub fn decode_datagram(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Frame> {
    let bytes = bytes_arg(data, "data")?;
    match ferrule::decode_datagram(&bytes) {
        Ok(f) => Ok(Frame::new(py, &f.header, f.payload)),
        Err(e) => Err(frame_error(py, e)),
    }
}

/// A streaming decoder for a byte stream (UART, pty, TCP): feed it chunks of any size; it
/// returns every complete, CRC-checked frame. Garbage, bad CRCs, truncated and oversize
/// frames are skipped up to the next `0x00` and counted in `stats` (a `FramingStats`).
#[pyclass(module = "ferrule")]
pub struct StreamDecoder {
    decoder: Decoder<Vec<u8>>,
    max_payload: usize,
}

#[pymethods]
impl StreamDecoder {
    /// A decoder for frames with payloads of up to `max_payload` bytes (1..=4096). Its buffer
    /// holds that payload with the largest header, so frames with shorter headers may carry a
    /// few bytes more; larger frames are dropped whole (`stats.oversize`).
    #[new]
    #[pyo3(signature = (max_payload = MAX_PAYLOAD))]
    fn new(py: Python<'_>, max_payload: usize) -> PyResult<Self> {
        if max_payload == 0 || max_payload > MAX_PAYLOAD {
            return Err(error(
                py,
                Kind::Config,
                &format!("max_payload must be 1..={MAX_PAYLOAD}, not {max_payload}"),
            ));
        }
        Ok(Self {
            decoder: Decoder::with_buffer(vec![0u8; max_body_len(max_payload)]),
            max_payload,
        })
    }

    /// Absorbs `data` and returns the frames that ended in it, in order (a list, possibly
    /// empty). A frame cut across chunks comes out with the chunk that completes it.
    fn feed(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Vec<Frame>> {
        let bytes = bytes_arg(data, "data")?;
        let mut input: &[u8] = &bytes;
        let mut frames = Vec::new();
        loop {
            match self.decoder.feed(input) {
                Feed::Consumed => return Ok(frames),
                Feed::Rejected { rest, .. } => input = rest,
                Feed::Frame { frame, rest } => {
                    frames.push(Frame::new(py, &frame.header, frame.payload));
                    input = rest;
                }
            }
        }
    }

    /// Drops a partial frame (after a line break or a framing error) and starts afresh.
    fn reset(&mut self) {
        self.decoder.reset();
    }

    /// The largest payload accepted.
    #[getter]
    fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Frames accepted and rejected, by reason: a `ferrule.FramingStats` snapshot.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        framing_stats(py, self.decoder.stats())
    }
}
