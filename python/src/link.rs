//! `ferrule.Link`: the sans-IO reliable link, for Python programs that own their loop.

use crate::convert::{bytes_arg, channel_arg, codec_stats, link_stats};
use crate::errors::{error, error_with, Kind};
use crate::owned::{BuildError, OwnedLink};
use ferrule::compress::{CodecConfig, Mode};
use ferrule::link::{
    ChannelMap, Config, DownReason, Event as LinkEvent, MessageId, RecvError, SendError, Sent,
    SetupError, Transport,
};
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::PyBytes;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Inputs at least this long are worked on with the GIL released (other Python threads run
/// meanwhile); shorter ones take less time than releasing and taking the GIL again.
const DETACH_AT: usize = 1024;

/// A message the link delivered.
#[pyclass(module = "ferrule", frozen, get_all)]
pub struct Message {
    /// Channel it arrived on (0..=255).
    channel: u8,
    /// Its bytes.
    data: Py<PyBytes>,
    /// Whether it came over the reliable, ordered service (False: best effort).
    reliable: bool,
}

#[pymethods]
impl Message {
    fn __repr__(&self, py: Python<'_>) -> String {
        let data = self.data.bind(py).as_bytes();
        let shown = if data.len() > 32 { &data[..32] } else { data };
        let more = if data.len() > 32 { "..." } else { "" };
        format!(
            "Message(channel={}, data={}{} ({} bytes), reliable={})",
            self.channel,
            crate::framing::bytes_repr(shown),
            more,
            data.len(),
            if self.reliable { "True" } else { "False" }
        )
    }
}

/// A lifecycle event: a session came up, or ended.
#[pyclass(module = "ferrule", frozen, get_all)]
pub struct Event {
    /// `"up"` or `"down"`.
    kind: &'static str,
    /// Why the session ended (`"peer restarted"`, `"retry limit"`, `"peer silent"`,
    /// `"peer closed"`, `"local close"`, `"decompress failed"`, `"nonce exhausted"`); None for
    /// `"up"`.
    reason: Option<&'static str>,
    /// Id of the first reliable message the session discarded (None for `"up"`).
    first: Option<u32>,
    /// How many reliable messages, from `first` on, were discarded unacknowledged: the peer
    /// may or may not have them.
    unacked: u16,
}

#[pymethods]
impl Event {
    fn __repr__(&self) -> String {
        match (self.reason, self.first) {
            (Some(r), Some(f)) => format!(
                "Event(kind='down', reason='{r}', first={f}, unacked={})",
                self.unacked
            ),
            _ => format!("Event(kind='{}')", self.kind),
        }
    }
}

impl Event {
    fn from_link(e: LinkEvent) -> Self {
        match e {
            LinkEvent::Up => Self {
                kind: "up",
                reason: None,
                first: None,
                unacked: 0,
            },
            LinkEvent::Down {
                reason,
                unacked,
                first,
            } => Self {
                kind: "down",
                reason: Some(DownReason::name(reason)),
                first: Some(first.0),
                unacked,
            },
        }
    }
}

/// Everything behind the lock: the link and its work buffers.
struct State {
    owned: OwnedLink,
    /// `poll_transmit`'s buffer: the link's largest frame.
    frame: Vec<u8>,
    /// `recv`'s buffer: the link's largest message.
    message: Vec<u8>,
    /// The last time the caller gave (ms).
    now: u64,
    /// A receive error met while draining messages, raised by the next receive call.
    deferred: Option<Undecodable>,
}

impl State {
    fn feed(&mut self, data: &[u8], now: u64, stream: bool) {
        self.now = now;
        let link = self.owned.link_mut();
        if stream {
            link.handle_input(data, now)
        } else {
            link.handle_datagram(data, now)
        }
    }

    /// The next frame, copied out.
    fn transmit(&mut self, now: u64) -> Option<Vec<u8>> {
        self.now = now;
        let Self { owned, frame, .. } = self;
        match owned.link_mut().poll_transmit(now, frame) {
            Ok(Some(n)) => frame.get(..n).map(<[u8]>::to_vec),
            // The buffer holds the largest frame: nothing else can fail.
            Ok(None) | Err(_) => None,
        }
    }

    /// The next message, copied out; `Err` for one that did not decompress (dropped).
    fn receive(&mut self) -> Result<Option<Delivered>, Undecodable> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        let Self { owned, message, .. } = self;
        match owned.link_mut().recv(message) {
            Ok(Some(r)) => Ok(message
                .get(..r.len)
                .map(|m| (r.channel, m.to_vec(), r.reliable))),
            Ok(None) => Ok(None),
            Err(RecvError::Decompress { channel, error, .. }) => Err((channel, error.to_string())),
            // The buffer holds the largest message: cannot happen; report it, do not hide it.
            Err(e @ RecvError::BufferTooSmall { .. }) => Err((0, e.to_string())),
        }
    }
}

/// Closed, or never built.
struct Closed;

/// A delivered message, copied out of the link: channel, bytes, reliable.
type Delivered = (u8, Vec<u8>, bool);
/// A message that did not decompress: its channel and why.
type Undecodable = (u8, String);

/// The sans-IO reliable link (`ferrule::link::Link`): it never touches a socket, a serial
/// port or a clock. Feed it what arrives (`feed`), send what `poll_transmit` returns, call
/// `handle_timeout` at `poll_timeout`, and pass the time in milliseconds (any monotonic
/// clock) to every call. Thread-safe: every call takes the link's lock; calls on large
/// inputs release the GIL while the link works.
///
/// `Link(transport="stream", *, window=32, ...)` starts its handshake at once: drain
/// `poll_transmit` and send what it gives. Arguments (all but `transport` keyword-only):
///
/// - `transport`: `"stream"` (COBS frames in a byte stream: UART, pty, TCP) or
///   `"datagram"` (one frame per datagram: UDP).
/// - `window`: messages in flight each way, 1..=255.
/// - `max_message`: largest message in bytes, 1..=4096 (each side sends at most what the
///   other accepts).
/// - `compression`: `"off"`, `"per-message"` or `"shared"` (one deflate stream per
///   session on reliable channels). Whatever the peer sends compressed is accepted either
///   way.
/// - `key`: 32-byte pre-shared key: every frame is then sealed (ChaCha20-Poly1305) and
///   the handshake authenticated; `key_id` names it on the wire.
/// - `seed`: 64-bit value the handshake nonces are made from; default: 8 bytes from
///   `os.urandom`. Under a key it must NEVER repeat on any device holding that key
///   (`docs/PROTOCOL.md` 4.1.3): leave the default unless you have a reason.
/// - `best_effort`: channels sent best effort (any iterable of channel numbers; their
///   messages are unacknowledged, `send` returns None); every other channel is reliable and
///   ordered.
/// - timers (ms): `rto_initial`, `rto_min`, `rto_max`, `ack_delay`, `keepalive` (0: no
///   keepalive, no liveness check); `max_retransmits`, `dupthresh`; `receive_window`
///   (0: `window`); `leading_delimiter` (stream: a `0x00` before every frame).
#[pyclass(module = "ferrule", frozen)]
pub struct Link {
    state: Mutex<Option<State>>,
    stream: bool,
    window: usize,
    max_message: usize,
}

impl Link {
    fn lock(&self, py: Python<'_>) -> MutexGuard<'_, Option<State>> {
        self.state
            .lock_py_attached(py)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the open link (GIL held).
    fn with<T>(&self, py: Python<'_>, f: impl FnOnce(&mut State) -> T) -> PyResult<T> {
        self.lock(py).as_mut().map(f).ok_or_else(|| closed(py))
    }

    /// Runs `f` on the open link with the GIL released.
    fn detached<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut State) -> T + Send,
    ) -> PyResult<T> {
        let r = py.detach(|| {
            let mut g = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            g.as_mut().map(f).ok_or(Closed)
        });
        r.map_err(|Closed| closed(py))
    }
}

fn closed(py: Python<'_>) -> PyErr {
    error(py, Kind::LinkClosed, "the link is closed")
}

fn message(py: Python<'_>, (channel, data, reliable): Delivered) -> Message {
    Message {
        channel,
        data: PyBytes::new(py, &data).unbind(),
        reliable,
    }
}

fn decompress_error(py: Python<'_>, (channel, reason): Undecodable) -> PyErr {
    let msg = format!("a message on channel {channel} did not decompress ({reason}); dropped");
    let ch = channel.into_pyobject(py).map(|c| c.into_any());
    let why = reason.into_pyobject(py).map(|r| r.into_any());
    match (ch, why) {
        (Ok(ch), Ok(why)) => error_with(
            py,
            Kind::Decompress,
            &msg,
            &[("channel", ch), ("reason", why)],
        ),
        _ => error(py, Kind::Decompress, &msg),
    }
}

fn mode(name: &str) -> Option<(Mode, Mode)> {
    Some(match name {
        "off" => (Mode::Off, Mode::Off),
        "per-message" => (Mode::PerMessage, Mode::PerMessage),
        "shared" => (Mode::Shared, Mode::PerMessage),
        _ => return None,
    })
}

fn setup_message(e: SetupError, window: usize, max_message: usize) -> String {
    match e {
        SetupError::Window => format!("window must be 1..=255 messages, not {window}"),
        SetupError::MessageArea => {
            format!("max_message must be 1..=4096 bytes, not {max_message}")
        }
        other => other.to_string(),
    }
}

#[pymethods]
impl Link {
    /// A link (the arguments are documented on the class).
    #[new]
    #[pyo3(signature = (
        transport = "stream", *, window = 32, max_message = 4096, compression = "off",
        key = None, key_id = 1, seed = None, best_effort = None, rto_initial = 1000,
        rto_min = 20, rto_max = 4000, max_retransmits = 20, dupthresh = 2, ack_delay = 5,
        keepalive = 1000, receive_window = 0, leading_delimiter = false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        transport: &str,
        window: usize,
        max_message: usize,
        compression: &str,
        key: Option<&Bound<'_, PyAny>>,
        key_id: u8,
        seed: Option<u64>,
        best_effort: Option<&Bound<'_, PyAny>>,
        rto_initial: u32,
        rto_min: u32,
        rto_max: u32,
        max_retransmits: u8,
        dupthresh: u8,
        ack_delay: u32,
        keepalive: u32,
        receive_window: u8,
        leading_delimiter: bool,
    ) -> PyResult<Self> {
        let config_error = |m: String| error(py, Kind::Config, &m);
        let transport = match transport {
            "stream" => Transport::Stream,
            "datagram" => Transport::Datagram,
            other => {
                return Err(config_error(format!(
                    "transport must be \"stream\" or \"datagram\", not {other:?}"
                )))
            }
        };
        let (reliable_mode, best_effort_mode) = mode(compression).ok_or_else(|| {
            config_error(format!(
                "compression must be \"off\", \"per-message\" or \"shared\", not {compression:?}"
            ))
        })?;
        let key = match key {
            None => None,
            Some(k) => {
                let bytes = bytes_arg(k, "key")?;
                let key: [u8; 32] = bytes.as_ref().try_into().map_err(|_| {
                    let status = pyo3::types::PyString::new(py, "FERRULE_ERR_BAD_KEY_LENGTH");
                    error_with(
                        py,
                        Kind::Config,
                        &format!("key must be exactly 32 bytes, not {}", bytes.len()),
                        &[("status", status.into_any())],
                    )
                })?;
                Some((key_id, key))
            }
        };
        let mut unreliable = [false; 256];
        // Any iterable of channel numbers (a list, a set, a range, a generator).
        if let Some(channels) = best_effort {
            for c in channels.try_iter()? {
                unreliable[usize::from(channel_arg(c?.extract::<i64>()?)?)] = true;
            }
        }
        let channels = (0..=255u8)
            .filter(|c| !unreliable[usize::from(*c)])
            .fold(ChannelMap::none(), ChannelMap::with_reliable);
        let seed = match seed {
            Some(s) => s,
            None => {
                let b = py.import("os")?.call_method1("urandom", (8,))?;
                let b = b.cast::<PyBytes>()?.as_bytes();
                let mut le = [0u8; 8];
                le.copy_from_slice(b.get(..8).unwrap_or(&[0; 8]));
                u64::from_le_bytes(le)
            }
        };
        let cfg = Config {
            transport,
            channels,
            rto_initial,
            rto_min,
            rto_max,
            max_retransmits,
            dupthresh,
            ack_delay,
            keepalive,
            leading_delimiter,
            window: receive_window,
        };
        let codec = CodecConfig {
            reliable: reliable_mode,
            unreliable: best_effort_mode,
            ..CodecConfig::DEFAULT
        };
        let owned = OwnedLink::new(cfg, window, max_message, seed, codec, key).map_err(|e| {
            config_error(match e {
                BuildError::Setup(e) => setup_message(e, window, max_message),
                BuildError::Codec(e) => format!("compression: {e:?}"),
            })
        })?;
        let frame = vec![0u8; owned.link().max_frame_len()];
        let message = vec![0u8; max_message];
        Ok(Self {
            state: Mutex::new(Some(State {
                owned,
                frame,
                message,
                now: 0,
                deferred: None,
            })),
            stream: transport == Transport::Stream,
            window,
            max_message,
        })
    }

    /// Feeds what arrived: a chunk of the byte stream (any size; frames may span chunks), or
    /// one whole datagram. Bad input is counted in `stats`, never raised.
    fn feed(&self, py: Python<'_>, data: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        let bytes = bytes_arg(data, "data")?;
        let stream = self.stream;
        if bytes.len() >= DETACH_AT {
            self.detached(py, |s| s.feed(&bytes, now_ms, stream))
        } else {
            self.with(py, |s| s.feed(&bytes, now_ms, stream))
        }
    }

    /// The next frame to put on the wire (bytes), or None when there is nothing to send now.
    /// Call it until it returns None after every other call.
    fn poll_transmit<'py>(
        &self,
        py: Python<'py>,
        now_ms: u64,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let frame = self.with(py, |s| s.transmit(now_ms))?;
        Ok(frame.map(|f| PyBytes::new(py, &f)))
    }

    /// Every frame to put on the wire now, in order (`poll_transmit` until None, with the GIL
    /// released meanwhile).
    fn transmit_all<'py>(
        &self,
        py: Python<'py>,
        now_ms: u64,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let frames = self.detached(py, |s| {
            let mut v = Vec::new();
            while let Some(f) = s.transmit(now_ms) {
                v.push(f);
            }
            v
        })?;
        Ok(frames.iter().map(|f| PyBytes::new(py, f)).collect())
    }

    /// When (ms, on the caller's clock) `handle_timeout` must be called next; None when no
    /// timer runs. Equal to the last time given when something can be sent at once.
    fn poll_timeout(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        self.with(py, |s| s.owned.link().poll_timeout())
    }

    /// Runs the timers due at `now_ms` (retransmissions, acknowledgements, keepalives,
    /// handshake); then drain `poll_transmit`.
    fn handle_timeout(&self, py: Python<'_>, now_ms: u64) -> PyResult<()> {
        self.with(py, |s| {
            s.now = now_ms;
            s.owned.link_mut().handle_timeout(now_ms)
        })
    }

    /// Queues `data` on `channel`. Returns the message id (an int, consecutive, wrapping at
    /// 2**32) on a reliable channel; None on a best-effort one. `now_ms` defaults to the last
    /// time given. Raises `NotConnected` (no session yet), `SendWindowFull` (try again after
    /// acknowledgements) or `MessageTooLarge`; the message is then not queued.
    #[pyo3(signature = (channel, data, now_ms = None))]
    fn send(
        &self,
        py: Python<'_>,
        channel: i64,
        data: &Bound<'_, PyAny>,
        now_ms: Option<u64>,
    ) -> PyResult<Option<u32>> {
        let channel = channel_arg(channel)?;
        let bytes = bytes_arg(data, "data")?;
        let work = |s: &mut State| {
            let now = now_ms.unwrap_or(s.now);
            s.now = now;
            s.owned.link_mut().send(channel, &bytes, now)
        };
        let sent = if bytes.len() >= DETACH_AT {
            self.detached(py, work)?
        } else {
            self.with(py, work)?
        };
        match sent {
            Ok(Sent::Reliable(MessageId(id))) => Ok(Some(id)),
            Ok(Sent::BestEffort) => Ok(None),
            Err(SendError::Full) => Err(error(
                py,
                Kind::SendWindowFull,
                &format!(
                    "send window full ({} messages in flight): try again after acknowledgements",
                    self.window
                ),
            )),
            Err(SendError::NotConnected) => Err(error(
                py,
                Kind::NotConnected,
                "no session is up: wait for the \"up\" event",
            )),
            Err(SendError::TooLarge) => Err(error(
                py,
                Kind::MessageTooLarge,
                &format!(
                    "message of {} bytes is larger than this link's largest message ({}) or \
                     the peer's",
                    bytes.len(),
                    self.max_message
                ),
            )),
        }
    }

    /// The next delivered message, or None. Raises `DecompressError` for a message that did
    /// not decompress (it is dropped and counted; call again for the next).
    fn recv(&self, py: Python<'_>) -> PyResult<Option<Message>> {
        match self.with(py, State::receive)? {
            Ok(m) => Ok(m.map(|m| message(py, m))),
            Err(e) => Err(decompress_error(py, e)),
        }
    }

    /// Every delivered message waiting, in order (`recv` until None, with the GIL released
    /// meanwhile). A message that did not decompress ends the list; `DecompressError` is
    /// raised by the next call then.
    fn messages(&self, py: Python<'_>) -> PyResult<Vec<Message>> {
        let (got, err) = self.detached(py, |s| {
            let mut got = Vec::new();
            loop {
                match s.receive() {
                    Ok(Some(m)) => got.push(m),
                    Ok(None) => return (got, None),
                    Err(e) if got.is_empty() => return (got, Some(e)),
                    Err(e) => {
                        s.deferred = Some(e);
                        return (got, None);
                    }
                }
            }
        })?;
        match err {
            Some(e) => Err(decompress_error(py, e)),
            None => Ok(got.into_iter().map(|m| message(py, m)).collect()),
        }
    }

    /// The next lifecycle event (`Event`), or None.
    fn poll_event(&self, py: Python<'_>) -> PyResult<Option<Event>> {
        self.with(py, |s| {
            s.owned.link_mut().poll_event().map(Event::from_link)
        })
    }

    /// Every event waiting, oldest first.
    fn events(&self, py: Python<'_>) -> PyResult<Vec<Event>> {
        self.with(py, |s| {
            std::iter::from_fn(|| s.owned.link_mut().poll_event())
                .map(Event::from_link)
                .collect()
        })
    }

    /// Every reliable message whose id is below this one (in wrapping order) has been
    /// acknowledged by the peer, or reported discarded in a `"down"` event.
    #[getter]
    fn acked_before(&self, py: Python<'_>) -> PyResult<u32> {
        self.with(py, |s| s.owned.link().acked_before().0)
    }

    /// Whether a session is up.
    #[getter]
    fn is_up(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |s| s.owned.link().is_up())
    }

    /// Free reliable send slots right now.
    #[getter]
    fn send_capacity(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |s| s.owned.link().send_capacity())
    }

    /// Messages in flight each way, at most.
    #[getter]
    fn window(&self) -> usize {
        self.window
    }

    /// The largest message this link sends and receives.
    #[getter]
    fn max_message(&self) -> usize {
        self.max_message
    }

    /// Bytes of the largest frame this link sends.
    #[getter]
    fn max_frame_len(&self) -> usize {
        ferrule::link::max_frame_len(self.max_message)
    }

    /// `"stream"` or `"datagram"`.
    #[getter]
    fn transport(&self) -> &'static str {
        if self.stream {
            "stream"
        } else {
            "datagram"
        }
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        self.lock(py).is_none()
    }

    /// The largest message that fits, in the worst case, in a frame of `frame_len` bytes on
    /// this transport (a UDP payload limit, a radio MTU); capped at this link's and, once a
    /// session is up, the peer's largest message.
    fn max_message_for_frame(&self, py: Python<'_>, frame_len: usize) -> PyResult<usize> {
        self.with(py, |s| s.owned.link().max_message_for_frame(frame_len))
    }

    /// Counters and RTT estimates: a `ferrule.LinkStats` snapshot.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.with(py, |s| s.owned.link().stats())?;
        link_stats(py, &s)
    }

    /// Compression counters: a `ferrule.CodecStats` snapshot.
    #[getter]
    fn codec_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.with(py, |s| {
            s.owned
                .link()
                .codec()
                .map(|c| c.stats())
                .unwrap_or_default()
        })?;
        codec_stats(py, &s)
    }

    /// Rekeys a link created with a key: seals with `key` (32 bytes), named `key_id`, from
    /// now on, and still opens frames sealed under the previous key. Rekey both sides.
    fn rekey(&self, py: Python<'_>, key: &Bound<'_, PyAny>, key_id: u8) -> PyResult<()> {
        let bytes = bytes_arg(key, "key")?;
        let key: [u8; 32] = bytes.as_ref().try_into().map_err(|_| {
            error(
                py,
                Kind::Config,
                &format!("key must be exactly 32 bytes, not {}", bytes.len()),
            )
        })?;
        if self.with(py, |s| s.owned.link_mut().set_key(key_id, &key))? {
            Ok(())
        } else {
            Err(error(
                py,
                Kind::Config,
                "this link was created without a key: nothing to rekey",
            ))
        }
    }

    /// Closes the link: ends the session (the peer is told with a CLOSE frame) and frees the
    /// link. Returns the frames still to put on the wire (the CLOSE); every later call but
    /// `close` raises `LinkClosed`. Closing twice returns no frames.
    #[pyo3(signature = (now_ms = None))]
    fn close<'py>(
        &self,
        py: Python<'py>,
        now_ms: Option<u64>,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let Some(mut s) = self.lock(py).take() else {
            return Ok(Vec::new());
        };
        let now = now_ms.unwrap_or(s.now);
        let mut frames = Vec::new();
        if s.owned.link().is_up() {
            s.owned.link_mut().close(now);
            // The session ends once its CLOSE is out; a few frames queued before it may go
            // first. Bounded: a window's worth of messages and the CLOSE.
            for _ in 0..=self.window + 1 {
                if !s.owned.link().is_up() {
                    break;
                }
                match s.transmit(now) {
                    Some(f) => frames.push(f),
                    None => break,
                }
            }
        }
        drop(s);
        Ok(frames.iter().map(|f| PyBytes::new(py, f)).collect())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let state = match self.lock(py).as_ref() {
            None => "closed",
            Some(s) if s.owned.link().is_up() => "up",
            Some(_) => "handshaking",
        };
        format!(
            "<ferrule.Link {} window={} max_message={} {}>",
            self.transport(),
            self.window,
            self.max_message,
            state
        )
    }
}
