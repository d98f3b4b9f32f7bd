//! The reliable link in C: created in caller memory, driven by the caller's I/O and clock.

use crate::frame::{ferrule_decoder_stats_t, place};
use crate::{bytes, bytes_mut, ferrule_status, guard, put};
use core::mem::{align_of, size_of};
use ferrule::compress::{CodecConfig, Compressor, Dictionary, Mode, MAX_DICTIONARY};
use ferrule::link::{frame_buffer_len, ChannelMap, Config, DownReason, Event, Link, RecvError};
use ferrule::link::{SendError, Transport};

/// Messages in flight each way (the window) of a C link.
pub const FERRULE_LINK_WINDOW: usize = 8;
/// Largest message of a C link, in bytes.
pub const FERRULE_LINK_MAX_MESSAGE: usize = 256;
/// Largest frame `ferrule_link_poll_transmit` produces (room for the AEAD tag included):
/// size its buffer with this.
pub const FERRULE_LINK_MAX_FRAME: usize = 299;
/// Length of an AEAD key (`ferrule_link_set_key`).
pub const FERRULE_KEY_LEN: usize = 32;
/// Bytes to reserve for a link (at least `ferrule_link_size()` on every supported target;
/// tested). Declare it as `static uint64_t mem[FERRULE_LINK_STORAGE_SIZE / 8];`.
pub const FERRULE_LINK_STORAGE_SIZE: usize = 28672;

type InnerLink = Link<
    FERRULE_LINK_WINDOW,
    FERRULE_LINK_MAX_MESSAGE,
    // 16 more for the AEAD tag, so sealed links keep 256-byte messages.
    { frame_buffer_len(FERRULE_LINK_MAX_MESSAGE) + 16 },
    Compressor<'static>,
>;

/// Opaque link handle, created in caller memory with `ferrule_link_init`.
pub struct ferrule_link_t {
    inner: InnerLink,
}

/// `ferrule_link_config_t.transport`: byte stream (UART, TCP, pty) with COBS framing.
pub const FERRULE_TRANSPORT_STREAM: u8 = 0;
/// Datagrams (UDP): one frame per datagram.
pub const FERRULE_TRANSPORT_DATAGRAM: u8 = 1;

/// Compression mode: off.
pub const FERRULE_MODE_OFF: u8 = 0;
/// Each message on its own.
pub const FERRULE_MODE_PER_MESSAGE: u8 = 1;
/// Shared window per session (reliable channels; best effort falls back to per-message).
pub const FERRULE_MODE_SHARED: u8 = 2;
/// Preset dictionary.
pub const FERRULE_MODE_DICTIONARY: u8 = 3;

/// Link configuration. Start from `ferrule_link_config_default()`. Times in milliseconds.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ferrule_link_config_t {
    /// `FERRULE_TRANSPORT_STREAM` or `FERRULE_TRANSPORT_DATAGRAM`.
    pub transport: u8,
    /// Emit a 0x00 before each stream frame (flushes line noise; one byte).
    pub leading_delimiter: bool,
    /// Compression of reliable messages (`FERRULE_MODE_*`).
    pub compression_reliable: u8,
    /// Compression of best-effort messages (`FERRULE_MODE_*`).
    pub compression_unreliable: u8,
    /// Bit `i` set: channel `i` (0..=31) is reliable and ordered; all other channels are best
    /// effort. Default: channel 0 only.
    pub reliable_channels: u32,
    /// Initial retransmission timeout.
    pub rto_initial_ms: u32,
    /// Lower bound of the retransmission timeout.
    pub rto_min_ms: u32,
    /// Upper bound of the retransmission timeout (and of backoff).
    pub rto_max_ms: u32,
    /// Delay before a stand-alone ack.
    pub ack_delay_ms: u32,
    /// Keepalive interval when idle (0: off).
    pub keepalive_ms: u32,
    /// Retransmissions of one message before the link reports failure.
    pub max_retransmits: u8,
    /// Preset dictionary id (1..=255; 0: no dictionary).
    pub dictionary_id: u8,
    /// Receive window: messages the peer may have in flight to this end, 1 to
    /// `FERRULE_LINK_WINDOW` (0: `FERRULE_LINK_WINDOW`, the default; larger values are capped).
    pub window: u8,
    /// Padding; ignored.
    pub reserved: u8,
    /// Preset dictionary bytes (up to 1024), or NULL. Must stay valid and unchanged for the
    /// lifetime of the link (typically a `const` array in flash).
    pub dictionary: *const u8,
    /// Length of `dictionary`.
    pub dictionary_len: usize,
}

/// The default configuration: stream transport, channel 0 reliable, no compression.
#[no_mangle]
pub extern "C" fn ferrule_link_config_default() -> ferrule_link_config_t {
    let d = Config::default();
    ferrule_link_config_t {
        transport: FERRULE_TRANSPORT_STREAM,
        leading_delimiter: d.leading_delimiter,
        compression_reliable: FERRULE_MODE_OFF,
        compression_unreliable: FERRULE_MODE_OFF,
        reliable_channels: 1,
        rto_initial_ms: d.rto_initial,
        rto_min_ms: d.rto_min,
        rto_max_ms: d.rto_max,
        ack_delay_ms: d.ack_delay,
        keepalive_ms: d.keepalive,
        max_retransmits: d.max_retransmits,
        dictionary_id: 0,
        window: 0,
        reserved: 0,
        dictionary: core::ptr::null(),
        dictionary_len: 0,
    }
}

fn mode(m: u8) -> Option<Mode> {
    Some(match m {
        FERRULE_MODE_OFF => Mode::Off,
        FERRULE_MODE_PER_MESSAGE => Mode::PerMessage,
        FERRULE_MODE_SHARED => Mode::Shared,
        FERRULE_MODE_DICTIONARY => Mode::Dictionary,
        _ => return None,
    })
}

/// Validates a C configuration.
fn convert(c: &ferrule_link_config_t) -> Result<(Config, CodecConfig<'static>), ferrule_status> {
    let bad = ferrule_status::FERRULE_ERR_INVALID_ARGUMENT;
    let transport = match c.transport {
        FERRULE_TRANSPORT_STREAM => Transport::Stream,
        FERRULE_TRANSPORT_DATAGRAM => Transport::Datagram,
        _ => return Err(bad),
    };
    if c.rto_min_ms == 0 || c.rto_min_ms > c.rto_max_ms || c.rto_initial_ms == 0 {
        return Err(bad);
    }
    let mut channels = ChannelMap::none();
    for ch in 0..32u8 {
        if c.reliable_channels & (1u32 << ch) != 0 {
            channels = channels.with_reliable(ch);
        }
    }
    let dictionary = match (c.dictionary_id, bytes(c.dictionary, c.dictionary_len)) {
        (0, _) => None,
        (_, None) => return Err(ferrule_status::FERRULE_ERR_NULL),
        (_, Some(d)) if d.is_empty() || d.len() > MAX_DICTIONARY => return Err(bad),
        // The caller keeps the dictionary alive and unchanged for the link's lifetime (see
        // `ferrule_link_config_t.dictionary`); that is what 'static stands for here.
        (id, Some(d)) => Some(Dictionary {
            id,
            bytes: extend(d),
        }),
    };
    let (reliable, unreliable) = (
        mode(c.compression_reliable).ok_or(bad)?,
        mode(c.compression_unreliable).ok_or(bad)?,
    );
    if dictionary.is_none() && (reliable == Mode::Dictionary || unreliable == Mode::Dictionary) {
        return Err(bad);
    }
    let cfg = Config {
        transport,
        channels,
        rto_initial: c.rto_initial_ms,
        rto_min: c.rto_min_ms,
        rto_max: c.rto_max_ms,
        max_retransmits: c.max_retransmits,
        ack_delay: c.ack_delay_ms,
        keepalive: c.keepalive_ms,
        leading_delimiter: c.leading_delimiter,
        window: c.window,
        ..Config::default()
    };
    Ok((
        cfg,
        CodecConfig {
            reliable,
            unreliable,
            dictionary,
        },
    ))
}

fn extend(d: &[u8]) -> &'static [u8] {
    // SAFETY: the configuration contract requires the dictionary to outlive the link, which
    // is the only holder of this reference.
    unsafe { core::slice::from_raw_parts(d.as_ptr(), d.len()) }
}

/// Bytes of memory a link needs (at most `FERRULE_LINK_STORAGE_SIZE`).
#[no_mangle]
pub extern "C" fn ferrule_link_size() -> usize {
    size_of::<ferrule_link_t>()
}

/// Alignment the link memory needs (at most 8).
#[no_mangle]
pub extern "C" fn ferrule_link_align() -> usize {
    align_of::<ferrule_link_t>()
}

/// Creates a link in `mem` and writes its handle to `*out`. `seed` must differ on every boot
/// (a hardware random number, or a boot counter kept in non-volatile memory): the peer
/// recognises a restart by it. The link starts its handshake at once. The memory must stay
/// valid until the caller stops using the handle; no cleanup call is needed.
///
/// # Safety
/// `mem` must point to `mem_len` writable bytes; `config` to a configuration; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_init(
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    config: *const ferrule_link_config_t,
    seed: u32,
    out: *mut *mut ferrule_link_t,
) -> ferrule_status {
    guard(|| {
        if config.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        let p = match place::<ferrule_link_t>(mem, mem_len, out) {
            Ok(p) => p,
            Err(s) => return s,
        };
        // SAFETY: checked non-NULL; the caller passes a valid configuration.
        let (cfg, codec) = match convert(unsafe { &*config }) {
            Ok(c) => c,
            Err(s) => return s,
        };
        let inner = InnerLink::with_codec(cfg, seed, Compressor::new(codec));
        // SAFETY: `place` checked size, alignment and non-NULL for a ferrule_link_t.
        unsafe { p.write(ferrule_link_t { inner }) };
        put(out, p);
        ferrule_status::FERRULE_OK
    })
}

/// Runs `f` on the link behind a handle.
fn with_link(
    link: *mut ferrule_link_t,
    f: impl FnOnce(&mut InnerLink) -> ferrule_status,
) -> ferrule_status {
    guard(|| {
        if link.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        // SAFETY: a handle from ferrule_link_init, used from one context at a time.
        f(unsafe { &mut (*link).inner })
    })
}

/// Queues `len` bytes of `msg` on `channel`. `FERRULE_ERR_FULL`: the window is full, try
/// again after the link made progress; the message was not taken.
///
/// # Safety
/// `link` from `ferrule_link_init`; `msg` points to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_send(
    link: *mut ferrule_link_t,
    channel: u8,
    msg: *const u8,
    len: usize,
    now_ms: u64,
) -> ferrule_status {
    with_link(link, |l| {
        let Some(msg) = bytes(msg, len) else {
            return ferrule_status::FERRULE_ERR_NULL;
        };
        match l.send(channel, msg, now_ms) {
            Ok(()) => ferrule_status::FERRULE_OK,
            Err(SendError::Full) => ferrule_status::FERRULE_ERR_FULL,
            Err(SendError::TooLarge) => ferrule_status::FERRULE_ERR_TOO_LARGE,
            Err(SendError::NotConnected) => ferrule_status::FERRULE_ERR_NOT_CONNECTED,
        }
    })
}

/// A delivered message's metadata.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ferrule_received_t {
    /// Bytes written to the output buffer.
    pub len: usize,
    /// Channel it arrived on.
    pub channel: u8,
    /// Whether it came over the reliable, ordered service.
    pub reliable: bool,
}

/// Takes the next delivered message into `out` (`cap` bytes; `FERRULE_LINK_MAX_MESSAGE` always
/// suffices) and fills `*received`. `FERRULE_EMPTY`: nothing waiting.
/// `FERRULE_ERR_BUFFER_TOO_SMALL`: the message stays queued. `FERRULE_ERR_DECOMPRESS`: one
/// message was dropped (counted); call again for the next.
///
/// # Safety
/// `link` from `ferrule_link_init`; `out` points to `cap` writable bytes; `received` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_recv(
    link: *mut ferrule_link_t,
    out: *mut u8,
    cap: usize,
    received: *mut ferrule_received_t,
) -> ferrule_status {
    with_link(link, |l| {
        let Some(out) = bytes_mut(out, cap) else {
            return ferrule_status::FERRULE_ERR_NULL;
        };
        if received.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        match l.recv(out) {
            Ok(Some(r)) => {
                put(
                    received,
                    ferrule_received_t {
                        len: r.len,
                        channel: r.channel,
                        reliable: r.reliable,
                    },
                );
                ferrule_status::FERRULE_OK
            }
            Ok(None) => ferrule_status::FERRULE_EMPTY,
            Err(RecvError::BufferTooSmall { .. }) => ferrule_status::FERRULE_ERR_BUFFER_TOO_SMALL,
            Err(RecvError::Decompress { .. }) => ferrule_status::FERRULE_ERR_DECOMPRESS,
        }
    })
}

/// Feeds bytes received from a stream transport (any chunking).
///
/// # Safety
/// `link` from `ferrule_link_init`; `bytes` points to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_handle_input(
    link: *mut ferrule_link_t,
    input: *const u8,
    len: usize,
    now_ms: u64,
) -> ferrule_status {
    with_link(link, |l| {
        let Some(input) = bytes(input, len) else {
            return ferrule_status::FERRULE_ERR_NULL;
        };
        l.handle_input(input, now_ms);
        ferrule_status::FERRULE_OK
    })
}

/// Feeds one datagram received from a datagram transport.
///
/// # Safety
/// `link` from `ferrule_link_init`; `datagram` points to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_handle_datagram(
    link: *mut ferrule_link_t,
    datagram: *const u8,
    len: usize,
    now_ms: u64,
) -> ferrule_status {
    with_link(link, |l| {
        let Some(d) = bytes(datagram, len) else {
            return ferrule_status::FERRULE_ERR_NULL;
        };
        l.handle_datagram(d, now_ms);
        ferrule_status::FERRULE_OK
    })
}

/// Writes the next frame to send into `out` (`cap` >= `FERRULE_LINK_MAX_FRAME`) and its length
/// to `*out_len`. `FERRULE_EMPTY`: nothing to send now. Call until it returns `FERRULE_EMPTY`.
///
/// # Safety
/// `link` from `ferrule_link_init`; `out` points to `cap` writable bytes; `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_poll_transmit(
    link: *mut ferrule_link_t,
    now_ms: u64,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> ferrule_status {
    with_link(link, |l| {
        let Some(out) = bytes_mut(out, cap) else {
            return ferrule_status::FERRULE_ERR_NULL;
        };
        if out_len.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        if out.len() < InnerLink::MAX_FRAME {
            return ferrule_status::FERRULE_ERR_BUFFER_TOO_SMALL;
        }
        match l.poll_transmit(now_ms, out) {
            Ok(Some(n)) => {
                put(out_len, n);
                ferrule_status::FERRULE_OK
            }
            Ok(None) => ferrule_status::FERRULE_EMPTY,
            Err(e) => e.into(),
        }
    })
}

/// Writes to `*deadline_ms` the absolute time by which `ferrule_link_handle_timeout` (or
/// `ferrule_link_poll_transmit`) must be called again. `FERRULE_EMPTY`: no timer pending.
///
/// # Safety
/// `link` from `ferrule_link_init`; `deadline_ms` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_poll_timeout(
    link: *mut ferrule_link_t,
    deadline_ms: *mut u64,
) -> ferrule_status {
    with_link(link, |l| {
        if deadline_ms.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        match l.poll_timeout() {
            Some(t) => {
                put(deadline_ms, t);
                ferrule_status::FERRULE_OK
            }
            None => ferrule_status::FERRULE_EMPTY,
        }
    })
}

/// Runs the link's timers (retransmission, delayed ack, keepalive, handshake).
///
/// # Safety
/// `link` from `ferrule_link_init`.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_handle_timeout(
    link: *mut ferrule_link_t,
    now_ms: u64,
) -> ferrule_status {
    with_link(link, |l| {
        l.handle_timeout(now_ms);
        ferrule_status::FERRULE_OK
    })
}

/// `ferrule_event_t.kind`: a session is up.
pub const FERRULE_EVENT_UP: u8 = 1;
/// The session ended; `reason` and `unacked` say why and what was discarded.
pub const FERRULE_EVENT_DOWN: u8 = 2;

/// `ferrule_event_t.reason`: the peer restarted (new epoch).
pub const FERRULE_DOWN_PEER_RESTARTED: u8 = 1;
/// A message exceeded `max_retransmits`.
pub const FERRULE_DOWN_RETRY_LIMIT: u8 = 2;
/// Nothing heard for eight keepalive intervals.
pub const FERRULE_DOWN_PEER_SILENT: u8 = 3;
/// The peer closed the session.
pub const FERRULE_DOWN_PEER_CLOSED: u8 = 4;
/// `ferrule_link_close` was called.
pub const FERRULE_DOWN_LOCAL_CLOSE: u8 = 5;
/// The peer's shared compressed stream broke.
pub const FERRULE_DOWN_DECOMPRESS_FAILED: u8 = 6;
/// AEAD: 2^32 - 1 frames sealed under one nonce prefix; a new session takes a new one.
pub const FERRULE_DOWN_NONCE_EXHAUSTED: u8 = 7;

/// A link lifecycle event.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ferrule_event_t {
    /// `FERRULE_EVENT_UP` or `FERRULE_EVENT_DOWN`.
    pub kind: u8,
    /// For DOWN: `FERRULE_DOWN_*`.
    pub reason: u8,
    /// For DOWN: reliable messages accepted by send but not confirmed, now discarded.
    pub unacked: u16,
}

/// Takes the next event into `*event`. `FERRULE_EMPTY`: none.
///
/// # Safety
/// `link` from `ferrule_link_init`; `event` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_poll_event(
    link: *mut ferrule_link_t,
    event: *mut ferrule_event_t,
) -> ferrule_status {
    with_link(link, |l| {
        if event.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        let e = match l.poll_event() {
            None => return ferrule_status::FERRULE_EMPTY,
            Some(Event::Up) => ferrule_event_t {
                kind: FERRULE_EVENT_UP,
                ..Default::default()
            },
            Some(Event::Down { reason, unacked }) => ferrule_event_t {
                kind: FERRULE_EVENT_DOWN,
                reason: match reason {
                    DownReason::PeerRestarted => FERRULE_DOWN_PEER_RESTARTED,
                    DownReason::RetryLimit => FERRULE_DOWN_RETRY_LIMIT,
                    DownReason::PeerSilent => FERRULE_DOWN_PEER_SILENT,
                    DownReason::PeerClosed => FERRULE_DOWN_PEER_CLOSED,
                    DownReason::LocalClose => FERRULE_DOWN_LOCAL_CLOSE,
                    DownReason::DecompressFailed => FERRULE_DOWN_DECOMPRESS_FAILED,
                    DownReason::NonceExhausted => FERRULE_DOWN_NONCE_EXHAUSTED,
                },
                unacked,
            },
        };
        put(event, e);
        ferrule_status::FERRULE_OK
    })
}

/// Turns on authenticated encryption (ChaCha20-Poly1305) with the 32-byte pre-shared `key`,
/// named `key_id` on the wire, or rekeys (docs/PROTOCOL.md section 6).
///
/// - First call: every frame is sealed from now on and unsealed ones are dropped. Call it right
///   after `ferrule_link_init`. The `seed` given to `ferrule_link_init` is then the boot id in
///   every nonce and must NEVER repeat under the same key, and the two ends of a link must
///   use different ones: a boot counter in non-volatile memory, incremented and written back
///   before init, with a device number in its top byte; or 32 bits from a hardware RNG.
/// - Later calls, with a new id: rekey without dropping the session. This side seals with the
///   new key at once and still accepts the previous one; do the same on the peer.
///
/// The key is copied; the caller may erase its buffer afterwards. Errors:
/// `FERRULE_ERR_BAD_KEY_LENGTH` unless `key_len` is 32; `FERRULE_ERR_UNSUPPORTED` when the
/// library was built without the `aead` feature.
///
/// # Safety
/// `link` from `ferrule_link_init`; `key` points to `key_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_set_key(
    link: *mut ferrule_link_t,
    key_id: u8,
    key: *const u8,
    key_len: usize,
    now_ms: u64,
) -> ferrule_status {
    with_link(link, |l| {
        if key.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        let Some(key) = bytes(key, key_len) else {
            return ferrule_status::FERRULE_ERR_NULL;
        };
        let Ok(key) = <&[u8; FERRULE_KEY_LEN]>::try_from(key) else {
            return ferrule_status::FERRULE_ERR_BAD_KEY_LENGTH;
        };
        set_key(l, key_id, key, now_ms)
    })
}

#[cfg(feature = "aead")]
fn set_key(l: &mut InnerLink, id: u8, key: &[u8; 32], now: u64) -> ferrule_status {
    match l.set_key(id, key, now) {
        Ok(()) => ferrule_status::FERRULE_OK,
        Err(_) => ferrule_status::FERRULE_ERR_INVALID_ARGUMENT,
    }
}

#[cfg(not(feature = "aead"))]
fn set_key(_: &mut InnerLink, _: u8, _: &[u8; 32], _: u64) -> ferrule_status {
    ferrule_status::FERRULE_ERR_UNSUPPORTED
}

/// Whether a session is up (false for a NULL handle).
///
/// # Safety
/// `link` from `ferrule_link_init` or NULL.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_is_up(link: *const ferrule_link_t) -> bool {
    // SAFETY: a handle from ferrule_link_init, or NULL (checked).
    !link.is_null() && unsafe { (*link).inner.is_up() }
}

/// Ends the session (sends CLOSE) and starts a new handshake.
///
/// # Safety
/// `link` from `ferrule_link_init`.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_close(
    link: *mut ferrule_link_t,
    now_ms: u64,
) -> ferrule_status {
    with_link(link, |l| {
        l.close(now_ms);
        ferrule_status::FERRULE_OK
    })
}

/// Writes to `*max_len` the largest message that fits, worst case, in a frame of `frame_len`
/// bytes on this link's transport (e.g. a UDP payload limit or a DMA buffer). Compression
/// never expands a message, so this holds in every mode.
///
/// # Safety
/// `link` from `ferrule_link_init`; `max_len` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_max_message_for_frame(
    link: *mut ferrule_link_t,
    frame_len: usize,
    max_len: *mut usize,
) -> ferrule_status {
    with_link(link, |l| {
        if max_len.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        put(max_len, l.max_message_for_frame(frame_len));
        ferrule_status::FERRULE_OK
    })
}

/// Link counters (see the Rust `LinkStats` for the full set).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ferrule_link_stats_t {
    /// Smallest RTT sample (ms).
    pub rtt_min_ms: u32,
    /// Smoothed RTT (ms).
    pub srtt_ms: u32,
    /// RTT variance (ms).
    pub rttvar_ms: u32,
    /// Current retransmission timeout (ms).
    pub rto_ms: u32,
    /// Bytes handed to the transport.
    pub bytes_sent: u64,
    /// Frames handed to the transport.
    pub frames_sent: u32,
    /// Valid frames received.
    pub frames_received: u32,
    /// Reliable messages accepted by send.
    pub sent_reliable: u32,
    /// Best-effort messages accepted by send.
    pub sent_unreliable: u32,
    /// Reliable messages delivered.
    pub delivered_reliable: u32,
    /// Best-effort messages delivered.
    pub delivered_unreliable: u32,
    /// Retransmitted frames.
    pub retransmissions: u32,
    /// Retransmissions triggered by selective acks.
    pub fast_retransmits: u32,
    /// Retransmission timer expiries.
    pub timeouts: u32,
    /// Duplicates dropped.
    pub duplicates: u32,
    /// Out-of-order arrivals (buffered).
    pub out_of_order: u32,
    /// Times send refused a message (window full).
    pub send_full: u32,
    /// Times the peer's window blocked transmission.
    pub window_stalls: u32,
    /// Frames for another session (dropped).
    pub stale_session: u32,
    /// Messages that failed to decompress (dropped).
    pub decompress_failed: u32,
    /// Sessions started.
    pub sessions: u32,
    /// Sessions ended.
    pub link_downs: u32,
    /// Messages discarded when sessions ended.
    pub discarded_on_reset: u32,
    /// Messages sent compressed.
    pub compressed: u32,
    /// AEAD: frames that failed authentication (tampered, forged, or another key).
    pub auth_failed: u32,
    /// AEAD: replayed frames.
    pub replayed: u32,
    /// AEAD: frames older than the replay window.
    pub too_old: u32,
    /// AEAD: frames under a key id this side does not have.
    pub unknown_key: u32,
    /// AEAD: unsealed frames on a sealed link.
    pub unauthenticated: u32,
    /// Message bytes before compression (compression enabled).
    pub compress_bytes_in: u64,
    /// Payload bytes after compression.
    pub compress_bytes_out: u64,
    /// Framing rejects by reason.
    pub framing: ferrule_decoder_stats_t,
}

/// Copies the link's counters into `*out`.
///
/// # Safety
/// `link` from `ferrule_link_init`; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_stats(
    link: *mut ferrule_link_t,
    out: *mut ferrule_link_stats_t,
) -> ferrule_status {
    with_link(link, |l| {
        if out.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        let s = l.stats();
        let c = l.codec().stats();
        put(
            out,
            ferrule_link_stats_t {
                rtt_min_ms: s.rtt_min,
                srtt_ms: s.srtt,
                rttvar_ms: s.rttvar,
                rto_ms: s.rto,
                bytes_sent: s.bytes_sent,
                frames_sent: s.frames_sent,
                frames_received: s.frames_received,
                sent_reliable: s.sent_reliable,
                sent_unreliable: s.sent_unreliable,
                delivered_reliable: s.delivered_reliable,
                delivered_unreliable: s.delivered_unreliable,
                retransmissions: s.retransmissions,
                fast_retransmits: s.fast_retransmits,
                timeouts: s.timeouts,
                duplicates: s.duplicates,
                out_of_order: s.out_of_order,
                send_full: s.send_full,
                window_stalls: s.window_stalls,
                stale_session: s.stale_session,
                decompress_failed: s.decompress_failed,
                sessions: s.sessions,
                link_downs: s.link_downs,
                discarded_on_reset: s.discarded_on_reset,
                compressed: c.compressed as u32,
                auth_failed: s.auth_failed,
                replayed: s.replayed,
                too_old: s.too_old,
                unknown_key: s.unknown_key,
                unauthenticated: s.unauthenticated,
                compress_bytes_in: c.bytes_in,
                compress_bytes_out: c.bytes_out,
                framing: (&s.framing).into(),
            },
        );
        ferrule_status::FERRULE_OK
    })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;

    #[test]
    fn storage_constants_hold() {
        assert!(ferrule_link_size() <= FERRULE_LINK_STORAGE_SIZE);
        assert!(ferrule_link_align() <= 8);
        assert_eq!(FERRULE_LINK_MAX_FRAME, InnerLink::MAX_FRAME);
    }
}
