//! The compact link in C (`ferrule::compact`): a size-first, go-back-N link that speaks the
//! same wire format as `ferrule_link_*` and interoperates with it. Every channel is reliable
//! and ordered; compression with `ferrule_compact_enable_compression`; no best effort, AEAD or
//! FEC.
//!
//! One block of memory holds it: `ferrule_compact_storage_size(window, max_message)` bytes,
//! aligned to 8. `ferrule_compact_init` writes the link's state at its start and gives it the
//! rest for its slots and frame buffer. Events and received-message metadata use the
//! `ferrule_link_*` types (`ferrule_event_t`, `ferrule_received_t`).

use crate::compression::{ferrule_compression_config_t, install};
use crate::link::{
    check_block, ferrule_event_t, ferrule_received_t, FERRULE_DOWN_DECOMPRESS_FAILED,
    FERRULE_DOWN_LOCAL_CLOSE, FERRULE_DOWN_PEER_CLOSED, FERRULE_DOWN_PEER_RESTARTED,
    FERRULE_DOWN_PEER_SILENT, FERRULE_DOWN_RETRY_LIMIT, FERRULE_EVENT_DOWN, FERRULE_EVENT_UP,
    FERRULE_TRANSPORT_DATAGRAM, FERRULE_TRANSPORT_STREAM,
};
use crate::{bytes, bytes_mut, ferrule_status, guard, put};
use core::mem::size_of;
use ferrule::compact::{memory_len, CompactConfig, CompactLink, CompactStats};
use ferrule::compress::Codec;
use ferrule::link::{DownReason, Event, RecvError, SendError, Transport};

/// Opaque compact link handle, created in caller memory with `ferrule_compact_init`. Same
/// conventions as `ferrule_link_t` (clock in milliseconds, one context at a time).
pub struct ferrule_compact_t {
    inner: CompactLink<'static>,
}

/// Compact link configuration. Start from `ferrule_compact_config_default()`. Times in
/// milliseconds. `window` and `max_message` size the memory.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ferrule_compact_config_t {
    /// `FERRULE_TRANSPORT_STREAM` (default) or `FERRULE_TRANSPORT_DATAGRAM`.
    pub transport: u8,
    /// Emit a 0x00 before each stream frame. Default false (hellos always get one).
    pub leading_delimiter: bool,
    /// Messages in flight each way, 1 to 255. Default 4.
    pub window: u8,
    /// Retransmission rounds without progress: each of the first `max_retransmits` timer
    /// expiries in a row sends the oldest unacknowledged message again; the next expiry
    /// (number `max_retransmits + 1`) ends the session (`FERRULE_DOWN_RETRY_LIMIT`). An expiry
    /// while the peer's window is closed sends a PING probe instead and does not count. 255:
    /// no limit. Default 20.
    pub max_retransmits: u8,
    /// Largest message, 1 to 4096 bytes. Default 128.
    pub max_message: u16,
    /// Padding; must be 0.
    pub reserved: u16,
    /// Retransmission timeout before the first RTT sample. Default 1000.
    pub rto_initial_ms: u32,
    /// Lower bound of the retransmission timeout. Default 20.
    pub rto_min_ms: u32,
    /// Upper bound of the retransmission timeout and of every backoff. Default 4000.
    pub rto_max_ms: u32,
    /// Longest a stand-alone acknowledgement is delayed. Default 5.
    pub ack_delay_ms: u32,
    /// Keepalive interval when idle; down after 8 intervals of silence (0: off). Default 1000.
    pub keepalive_ms: u32,
}

/// The default configuration: stream, 4 messages of up to 128 bytes each way, 20
/// retransmissions, RTO 1000 ms at first and 20 to 4000 ms, acks delayed at most 5 ms,
/// keepalive 1000 ms. Reentrant.
/// Stack: 20 bytes on Cortex-M0 and 16 on Cortex-M4F. May be called from an interrupt (it
/// touches no state).
#[no_mangle]
pub extern "C" fn ferrule_compact_config_default() -> ferrule_compact_config_t {
    let d = CompactConfig::DEFAULT;
    ferrule_compact_config_t {
        transport: FERRULE_TRANSPORT_STREAM,
        leading_delimiter: d.leading_delimiter,
        window: d.window,
        max_retransmits: d.max_retransmits,
        max_message: d.max_message,
        reserved: 0,
        rto_initial_ms: d.rto_initial,
        rto_min_ms: d.rto_min,
        rto_max_ms: d.rto_max,
        ack_delay_ms: d.ack_delay,
        keepalive_ms: d.keepalive,
    }
}

/// Bytes of the handle at the start of the block, rounded up to 8.
const STATE: usize = size_of::<ferrule_compact_t>().next_multiple_of(8);

/// Bytes of the compact link's state at the start of its block, on targets with 32-bit
/// pointers (Cortex-M, RISC-V 32): the `FERRULE_COMPACT_STORAGE_SIZE` macro uses it. Checked
/// against the library on every target the tests build for.
pub const FERRULE_COMPACT_STATE_SIZE_32: usize = 536;
/// The same on targets with 64-bit pointers (hosts).
pub const FERRULE_COMPACT_STATE_SIZE_64: usize = 576;
#[cfg(target_pointer_width = "32")]
const _: () = assert!(STATE == FERRULE_COMPACT_STATE_SIZE_32);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(STATE == FERRULE_COMPACT_STATE_SIZE_64);
/// Bytes of bookkeeping in front of each message slot (2 × window slots), any target.
pub const FERRULE_COMPACT_SLOT_HEAD: usize = 4;
/// The frame buffer holds at least this many payload bytes (a keyed hello, counted
/// `unknown_key` rather than `oversize`), any target.
pub const FERRULE_COMPACT_FRAME_MIN_PAYLOAD: usize = 56;
/// Bytes the frame buffer takes beyond its payload (largest header and CRC), any target.
pub const FERRULE_COMPACT_FRAME_OVERHEAD: usize = 30;
const _: () = {
    let (f, p) = (
        FERRULE_COMPACT_FRAME_OVERHEAD,
        FERRULE_COMPACT_FRAME_MIN_PAYLOAD,
    );
    assert!(ferrule::compact::frame_len(p) == p + f);
    assert!(ferrule::compact::frame_len(p + 1) == p + 1 + f);
    assert!(memory_len(1, 1) == 2 * (FERRULE_COMPACT_SLOT_HEAD + 1) + p + f);
};

/// Bytes of memory for a compact link of `window` messages of up to `max_message` bytes each
/// way, a multiple of 8 (the block must be aligned to 8): the state, then the slots and the
/// frame buffer. 0 for an invalid size (`window` 0, `max_message` 0 or above 4096). Exact;
/// the `FERRULE_COMPACT_STORAGE_SIZE(window, max_message)` macro gives the same number at
/// compile time (for valid sizes): 1,752 bytes for 4 × 128 on 32-bit targets. Reentrant.
/// Stack: 16 bytes on Cortex-M0 and 8 on Cortex-M4F. May be called from an interrupt (it
/// touches no state).
#[no_mangle]
pub extern "C" fn ferrule_compact_storage_size(window: u8, max_message: u16) -> usize {
    if window == 0 || max_message == 0 || usize::from(max_message) > 4096 {
        return 0;
    }
    STATE
        .saturating_add(memory_len(window.into(), max_message.into()))
        .next_multiple_of(8)
}

// The macro's formula is the library's: the same number for a few sizes (evaluated at
// compile time: an overflow or a mismatch stops the build).
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
const _: () = {
    let sizes = [
        (1, 1),
        (1, 56),
        (1, 57),
        (4, 128),
        (8, 256),
        (255, 4096),
        (3, 7),
    ];
    let mut i = 0;
    while i < sizes.len() {
        let (w, m) = sizes[i];
        let frame = if m > FERRULE_COMPACT_FRAME_MIN_PAYLOAD {
            m
        } else {
            FERRULE_COMPACT_FRAME_MIN_PAYLOAD
        };
        let size = (STATE
            + 2 * w * (FERRULE_COMPACT_SLOT_HEAD + m)
            + frame
            + FERRULE_COMPACT_FRAME_OVERHEAD)
            .div_ceil(8)
            * 8;
        assert!(size == (STATE + memory_len(w, m)).next_multiple_of(8));
        i += 1;
    }
};

/// Bytes `ferrule_compact_poll_transmit` needs in its output buffer for a stream link of
/// messages up to `max_message` bytes (a datagram needs fewer): 161 for 128. A `max_message`
/// below 40 counts as 40 (a hello's record), one above 4096 as 4096. Reentrant.
/// Stack: 56 bytes on Cortex-M0 and 8 on Cortex-M4F. May be called from an interrupt (it
/// touches no state).
#[no_mangle]
pub extern "C" fn ferrule_compact_max_frame_len(max_message: u16) -> usize {
    ferrule::max_stream_frame_len(usize::from(max_message).clamp(40, 4096))
}

/// Creates a compact link in `mem` (`mem_len` bytes, aligned to 8, at least
/// `ferrule_compact_storage_size`) and writes its handle to `*out` (only on `FERRULE_OK`;
/// `*out` is left as it was otherwise). The memory must stay valid and untouched until the
/// caller stops using the handle; no cleanup call is needed. Calling it again on the same
/// memory starts a new link (compression must then be enabled again); what the old link held
/// is dropped without a report on this side (no DOWN event: the old state is overwritten, not
/// read; the peer reports its own DOWN, "peer restarted"), so close a live link first
/// (`ferrule_compact_close`, transmit the CLOSE, poll its DOWN).
///
/// `seed` makes the handshake nonces (`docs/PROTOCOL.md` 4.1.3) and should differ on every
/// boot and device: 64 bits from a hardware random number generator, or
/// `(device_number << 32) | boot_counter` with the counter kept in flash or EEPROM and
/// written back before this call. Two links in one device need different seeds: with the same
/// seed neither ever comes up, and only their `reflected` counters grow. The link starts its
/// handshake at once.
///
/// Returns `FERRULE_OK`; `FERRULE_ERR_NULL` (`mem`, `config` or `out` NULL);
/// `FERRULE_ERR_MEMORY_TOO_SMALL`; `FERRULE_ERR_MEMORY_ALIGNMENT`;
/// `FERRULE_ERR_INVALID_ARGUMENT` (configuration: transport not 0 or 1, window 0,
/// max_message 0 or above `FERRULE_MAX_MESSAGE`, rto_initial_ms or rto_min_ms 0, rto_min_ms
/// above rto_max_ms, a reserved byte not 0).
/// Stack: 252 bytes on Cortex-M0 and 216 on Cortex-M4F (the link is written in place, never
/// built on the stack). Not from an interrupt.
///
/// # Safety
/// `mem` points to `mem_len` writable bytes that stay the link's until it is no longer used;
/// `config` readable; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_init(
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    config: *const ferrule_compact_config_t,
    seed: u64,
    out: *mut *mut ferrule_compact_t,
) -> ferrule_status {
    guard(|| {
        if config.is_null() || mem.is_null() || out.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        // SAFETY: checked non-NULL; the caller passes a readable configuration.
        let c = unsafe { *config };
        let transport = match c.transport {
            FERRULE_TRANSPORT_STREAM => Transport::Stream,
            FERRULE_TRANSPORT_DATAGRAM => Transport::Datagram,
            _ => return ferrule_status::FERRULE_ERR_INVALID_ARGUMENT,
        };
        let needed = ferrule_compact_storage_size(c.window, c.max_message);
        if needed == 0 || c.reserved != 0 {
            return ferrule_status::FERRULE_ERR_INVALID_ARGUMENT;
        }
        if let Err(s) = check_block(mem, mem_len, needed) {
            return s;
        }
        let cfg = CompactConfig {
            transport,
            window: c.window,
            max_message: c.max_message,
            rto_initial: c.rto_initial_ms,
            rto_min: c.rto_min_ms,
            rto_max: c.rto_max_ms,
            max_retransmits: c.max_retransmits,
            ack_delay: c.ack_delay_ms,
            keepalive: c.keepalive_ms,
            leading_delimiter: c.leading_delimiter,
        };
        let base = mem.cast::<u8>();
        // SAFETY: the block holds `needed` = STATE + memory_len bytes (checked above); the area
        // after the state lies inside it and does not overlap the state; the caller keeps the
        // memory for the link's lifetime ('static stands for that).
        let area = unsafe {
            let p = base.add(STATE);
            let len = needed.saturating_sub(STATE);
            p.write_bytes(0, len);
            core::slice::from_raw_parts_mut(p, len)
        };
        let link = match CompactLink::new(cfg, seed, area) {
            Ok(l) => l,
            Err(_) => return ferrule_status::FERRULE_ERR_INVALID_ARGUMENT,
        };
        let p = mem.cast::<ferrule_compact_t>();
        // SAFETY: the block starts with STATE >= size_of::<ferrule_compact_t>() bytes, aligned
        // to 8 (checked; the handle's alignment is at most 8, asserted below), not aliased by
        // the area given to the link.
        unsafe { p.write(ferrule_compact_t { inner: link }) };
        put(out, p);
        ferrule_status::FERRULE_OK
    })
}

const _: () = assert!(core::mem::align_of::<ferrule_compact_t>() <= 8);

/// Runs `f` on the link behind `link`, or returns `FERRULE_ERR_NULL`.
fn with_link(
    link: *mut ferrule_compact_t,
    f: impl FnOnce(&mut CompactLink<'static>) -> ferrule_status,
) -> ferrule_status {
    guard(|| {
        if link.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        // SAFETY: a handle from ferrule_compact_init, used from one context at a time (the
        // documented contract).
        f(unsafe { &mut (*link).inner })
    })
}

/// Queues `len` bytes of `msg` on `channel` (every channel is reliable) and writes its
/// message id to `*id` (when not NULL; written only on `FERRULE_OK`). `msg` may be NULL when
/// `len` is 0 (an empty message). Returns `FERRULE_OK`, `FERRULE_ERR_FULL` (as many messages
/// unacknowledged as the window allows: this side's window or the peer's, which closes while
/// its application does not call recv; the session stays up, the link probes the closed window
/// with PINGs, which do not count toward `max_retransmits`: send again later),
/// `FERRULE_ERR_TOO_LARGE` (`len` above this side's `max_message` or above the peer's,
/// see `ferrule_compact_peer_max_message`), `FERRULE_ERR_NOT_CONNECTED` or `FERRULE_ERR_NULL`
/// (`link` NULL, or `msg` NULL with `len` > 0).
/// Stack: 148 bytes on Cortex-M0 and 100 on Cortex-M4F without compression; 536 and 452 when it
/// compresses. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init`; `msg` points to `len` bytes; `id` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_send(
    link: *mut ferrule_compact_t,
    channel: u8,
    msg: *const u8,
    len: usize,
    now_ms: u64,
    id: *mut u32,
) -> ferrule_status {
    with_link(link, |l| {
        let msg = match bytes(msg, len, ferrule_status::FERRULE_ERR_TOO_LARGE) {
            Ok(msg) => msg,
            Err(e) => return e,
        };
        match l.send(channel, msg, now_ms) {
            Ok(n) => {
                put(id, n.0);
                ferrule_status::FERRULE_OK
            }
            Err(SendError::Full) => ferrule_status::FERRULE_ERR_FULL,
            Err(SendError::TooLarge) => ferrule_status::FERRULE_ERR_TOO_LARGE,
            Err(SendError::NotConnected) => ferrule_status::FERRULE_ERR_NOT_CONNECTED,
        }
    })
}

/// Writes to `*id` the id below which every message was acknowledged by the peer or reported
/// discarded (`FERRULE_EVENT_DOWN`); `*id` is written only on `FERRULE_OK`. Returns
/// `FERRULE_OK` or `FERRULE_ERR_NULL`.
/// Stack: 8 bytes on Cortex-M0 and 8 on Cortex-M4F. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init`; `id` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_acked_before(
    link: *mut ferrule_compact_t,
    id: *mut u32,
) -> ferrule_status {
    with_link(link, |l| {
        if id.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        put(id, l.acked_before().0);
        ferrule_status::FERRULE_OK
    })
}

/// Writes to `*out` the largest message the peer of the current session takes (from its
/// hello), or 0 when no session is up; `ferrule_compact_send` returns `FERRULE_ERR_TOO_LARGE`
/// above it or above this side's `max_message`. Returns `FERRULE_OK` or `FERRULE_ERR_NULL`
/// (`*out` written only on `FERRULE_OK`).
/// Stack: 8 bytes on Cortex-M0 and 8 on Cortex-M4F. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init`; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_peer_max_message(
    link: *mut ferrule_compact_t,
    out: *mut usize,
) -> ferrule_status {
    with_link(link, |l| {
        if out.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        put(out, l.peer_max_message());
        ferrule_status::FERRULE_OK
    })
}

/// Free send slots right now (0 for a NULL handle).
/// Stack: 8 bytes on Cortex-M0 and 8 on Cortex-M4F. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init` or NULL.
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_send_capacity(link: *const ferrule_compact_t) -> usize {
    if link.is_null() {
        return 0;
    }
    // SAFETY: a handle from ferrule_compact_init (checked non-NULL), used from one context at
    // a time.
    unsafe { (*link).inner.send_capacity() }
}

/// Takes the next message into `out` (`cap` bytes; `max_message` always suffices) and fills
/// `*received` (written only on `FERRULE_OK` and `FERRULE_ERR_DECOMPRESS`). Returns
/// `FERRULE_OK`; `FERRULE_EMPTY`; `FERRULE_ERR_BUFFER_TOO_SMALL` (the message stays queued;
/// with compression enabled every message needs `max_message` bytes);
/// `FERRULE_ERR_DECOMPRESS` (compression enabled only: one message was dropped and counted;
/// `*received` names its channel with `len` 0; call again for the next; if it was part of the
/// shared stream the session ends with `FERRULE_DOWN_DECOMPRESS_FAILED`); `FERRULE_ERR_NULL`
/// (`link` or `received` NULL, or `out` NULL with `cap` > 0). Never
/// `FERRULE_ERR_INVALID_ARGUMENT`. `received->reliable` is always true (every channel of a
/// compact link is reliable).
/// Stack: 132 bytes on Cortex-M0 and 100 on Cortex-M4F without compression; 612 and 520 when it
/// decompresses. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init`; `out` points to `cap` writable bytes; `received`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_recv(
    link: *mut ferrule_compact_t,
    out: *mut u8,
    cap: usize,
    received: *mut ferrule_received_t,
) -> ferrule_status {
    with_link(link, |l| {
        let Some(out) = bytes_mut(out, cap, l.max_message()) else {
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
                        reliable: true,
                    },
                );
                ferrule_status::FERRULE_OK
            }
            Ok(None) => ferrule_status::FERRULE_EMPTY,
            Err(RecvError::BufferTooSmall { .. }) => ferrule_status::FERRULE_ERR_BUFFER_TOO_SMALL,
            Err(RecvError::Decompress { channel, .. }) => {
                put(
                    received,
                    ferrule_received_t {
                        len: 0,
                        channel,
                        reliable: true,
                    },
                );
                ferrule_status::FERRULE_ERR_DECOMPRESS
            }
        }
    })
}

/// Feeds bytes received from a stream transport, in any chunking. Returns `FERRULE_OK`,
/// `FERRULE_ERR_NULL` or `FERRULE_ERR_INVALID_ARGUMENT` (`len` above `PTRDIFF_MAX`); bad
/// input is counted, never an error. After a UART overrun, framing or parity error (bytes were
/// lost), feed one 0x00 byte: a partial frame ends there, rejected and counted, instead of
/// taking the next frame down with it; with nothing pending a 0x00 is idle fill.
/// Stack: 656 bytes on Cortex-M0 and 616 on Cortex-M4F. Not from an interrupt: push received
/// bytes into a ring buffer in the interrupt, and feed them from the main loop.
///
/// # Safety
/// `link` from `ferrule_compact_init`; `input` points to `len` bytes (NULL when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_handle_input(
    link: *mut ferrule_compact_t,
    input: *const u8,
    len: usize,
    now_ms: u64,
) -> ferrule_status {
    with_link(link, |l| {
        match bytes(input, len, ferrule_status::FERRULE_ERR_INVALID_ARGUMENT) {
            Ok(input) => l.handle_input(input, now_ms),
            Err(e) => return e,
        }
        ferrule_status::FERRULE_OK
    })
}

/// Feeds one datagram. `datagram` may be NULL when `len` is 0 (an empty datagram, counted as
/// a framing reject). Returns as `ferrule_compact_handle_input`.
/// Stack: 512 bytes on Cortex-M0 and 472 on Cortex-M4F. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init`; `datagram` points to `len` bytes (NULL when `len` is
/// 0).
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_handle_datagram(
    link: *mut ferrule_compact_t,
    datagram: *const u8,
    len: usize,
    now_ms: u64,
) -> ferrule_status {
    with_link(link, |l| {
        match bytes(datagram, len, ferrule_status::FERRULE_ERR_INVALID_ARGUMENT) {
            Ok(d) => l.handle_datagram(d, now_ms),
            Err(e) => return e,
        }
        ferrule_status::FERRULE_OK
    })
}

/// Writes the next frame into `out` (`cap` >= `ferrule_compact_max_frame_len(max_message)`)
/// and its length to `*out_len` (written only on `FERRULE_OK`). Call until `FERRULE_EMPTY`.
/// Returns `FERRULE_OK`,
/// `FERRULE_EMPTY`, `FERRULE_ERR_BUFFER_TOO_SMALL` (nothing taken) or `FERRULE_ERR_NULL`.
/// Stack: 520 bytes on Cortex-M0 and 436 on Cortex-M4F. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init`; `out` points to `cap` writable bytes; `out_len`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_poll_transmit(
    link: *mut ferrule_compact_t,
    now_ms: u64,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> ferrule_status {
    with_link(link, |l| {
        let need = l.max_frame_len();
        let Some(out) = bytes_mut(out, cap, need) else {
            return ferrule_status::FERRULE_ERR_NULL;
        };
        if out_len.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        if out.len() < need {
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

/// Writes to `*deadline_ms` (only on `FERRULE_OK`) when `ferrule_compact_handle_timeout` is
/// due next: at or before the last `now_ms` when something can be sent at once (a hello
/// before the link is up, an acknowledgement), else in the future. After
/// `ferrule_compact_handle_timeout(now)` and `ferrule_compact_poll_transmit` until
/// `FERRULE_EMPTY`, the deadline is later than `now`, up or not: a main loop that runs the
/// timers when the deadline has come does not spin. Returns `FERRULE_OK`, `FERRULE_EMPTY`
/// (no timer) or `FERRULE_ERR_NULL`.
/// Stack: 72 bytes on Cortex-M0 and 40 on Cortex-M4F. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init`; `deadline_ms` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_poll_timeout(
    link: *mut ferrule_compact_t,
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

/// Runs the timers at `now_ms`. Returns `FERRULE_OK` or `FERRULE_ERR_NULL`.
/// Stack: 124 bytes on Cortex-M0 and 56 on Cortex-M4F. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init`.
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_handle_timeout(
    link: *mut ferrule_compact_t,
    now_ms: u64,
) -> ferrule_status {
    with_link(link, |l| {
        l.handle_timeout(now_ms);
        ferrule_status::FERRULE_OK
    })
}

/// Takes the next event into `*event` (kinds and reasons as `ferrule_link_poll_event`), oldest
/// first. Four events are kept; when the application does not poll, room is made (counted in
/// `events_dropped`) by this rule, the same as `ferrule_link_poll_event`'s: the oldest UP goes
/// first; else the oldest DOWN that discarded nothing; else the two oldest DOWNs become one
/// naming every message from the first's `first_id` to the end of the second's (any
/// acknowledged in between are named too), with the later reason; only if that range would
/// exceed 65,535 ids is the oldest DOWN dropped. Events keep their order, and the last one
/// always agrees with `ferrule_compact_is_up`. `*event` is written only on `FERRULE_OK`.
/// Returns `FERRULE_OK`, `FERRULE_EMPTY` or `FERRULE_ERR_NULL`.
/// Stack: 32 bytes on Cortex-M0 and 32 on Cortex-M4F. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init`; `event` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_poll_event(
    link: *mut ferrule_compact_t,
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
            Some(Event::Down {
                reason,
                unacked,
                first,
            }) => ferrule_event_t {
                kind: FERRULE_EVENT_DOWN,
                reason: match reason {
                    DownReason::PeerRestarted => FERRULE_DOWN_PEER_RESTARTED,
                    DownReason::RetryLimit => FERRULE_DOWN_RETRY_LIMIT,
                    DownReason::PeerSilent => FERRULE_DOWN_PEER_SILENT,
                    DownReason::PeerClosed => FERRULE_DOWN_PEER_CLOSED,
                    DownReason::DecompressFailed => FERRULE_DOWN_DECOMPRESS_FAILED,
                    _ => FERRULE_DOWN_LOCAL_CLOSE,
                },
                unacked,
                first_id: first.0,
            },
        };
        put(event, e);
        ferrule_status::FERRULE_OK
    })
}

/// Turns on compression for the compact link `link` (`docs/PROTOCOL.md` section 5), exactly
/// as `ferrule_link_enable_compression` does for a full link: the same configuration
/// (`ferrule_compression_config_t`), the same memory (`ferrule_compression_storage_size(config)`
/// bytes, aligned to 8, valid and untouched as long as the link is used; the codec is built in
/// place). This side then announces what it decompresses and compresses what it sends as far
/// as the peer takes it (at `ferrule_compact_send`, into the send slot); received messages are
/// decompressed at `ferrule_compact_recv`, whose buffer must then hold `max_message` bytes.
/// Call it right after `ferrule_compact_init` (a session already up ends,
/// `FERRULE_DOWN_LOCAL_CLOSE`, and the next hello takes a fresh nonce). Calling it again
/// replaces the codec (the same block may be given again).
///
/// Returns `FERRULE_OK`; `FERRULE_ERR_NULL` (`link`, `mem` or `config` NULL, or a dictionary id
/// with a NULL dictionary and a `dictionary_len` above 0); `FERRULE_ERR_INVALID_ARGUMENT` (a
/// mode, receive bit or window size out of range, a dictionary mode without a dictionary, a
/// dictionary id with an empty dictionary, a reserved byte not 0, `mem` overlapping the link's
/// own block); `FERRULE_ERR_MEMORY_TOO_SMALL`; `FERRULE_ERR_MEMORY_ALIGNMENT`. On an error
/// nothing changes.
/// Stack: 428 bytes on Cortex-M0 and 384 on Cortex-M4F (the codec is written in place). Not
/// from an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init`; `mem` points to `mem_len` writable bytes used for
/// nothing else; `config` to a configuration (its dictionary kept alive by the caller).
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_enable_compression(
    link: *mut ferrule_compact_t,
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    config: *const ferrule_compression_config_t,
) -> ferrule_status {
    with_link(link, |l| {
        // Size and alignment, and not inside the link's own block.
        let checked = |needed| {
            check_block(mem, mem_len, needed)?;
            let own = ferrule_compact_storage_size(l.window() as u8, l.max_message() as u16);
            let (m, start) = (mem as usize, link as usize);
            if m < start.saturating_add(own) && start < m.saturating_add(needed) {
                return Err(ferrule_status::FERRULE_ERR_INVALID_ARGUMENT);
            }
            Ok(())
        };
        // SAFETY: the caller's contract for `mem` and `config`; `checked` checks the block.
        match unsafe { install(mem, config, checked) } {
            Ok(codec) => {
                l.set_codec(codec as &mut dyn Codec);
                ferrule_status::FERRULE_OK
            }
            Err(s) => s,
        }
    })
}

/// Whether a session is up (false for a NULL handle).
/// Stack: 8 bytes on Cortex-M0 and 8 on Cortex-M4F. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init` or NULL.
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_is_up(link: *const ferrule_compact_t) -> bool {
    // SAFETY: a handle from ferrule_compact_init or NULL (checked).
    !link.is_null() && unsafe { (*link).inner.is_up() }
}

/// Ends the session. From this call on, `ferrule_compact_send` returns
/// `FERRULE_ERR_NOT_CONNECTED`; the next `ferrule_compact_poll_transmit` sends CLOSE, ends the
/// session (until then `ferrule_compact_is_up` returns true), queues `FERRULE_EVENT_DOWN`
/// (`FERRULE_DOWN_LOCAL_CLOSE`) with the unconfirmed messages, and starts a new handshake (a
/// peer still there is up again a round trip later). Without a session it does nothing.
/// Returns `FERRULE_OK` or `FERRULE_ERR_NULL`.
/// Stack: 16 bytes on Cortex-M0 and 8 on Cortex-M4F. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init`.
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_close(
    link: *mut ferrule_compact_t,
    now_ms: u64,
) -> ferrule_status {
    with_link(link, |l| {
        l.close(now_ms);
        ferrule_status::FERRULE_OK
    })
}

/// A compact link's counters (the names of PROTOCOL.md section 3).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ferrule_compact_stats_t {
    /// Smoothed RTT (ms; 0 before the first sample).
    pub srtt_ms: u32,
    /// Current retransmission timeout before backoff (ms).
    pub rto_ms: u32,
    /// Frames handed to the transport.
    pub frames_sent: u32,
    /// Valid frames received.
    pub frames_received: u32,
    /// Messages accepted by send.
    pub sent_reliable: u32,
    /// Messages delivered.
    pub delivered_reliable: u32,
    /// RDATA frames sent again.
    pub retransmissions: u32,
    /// Retransmission timer expiries.
    pub timeouts: u32,
    /// Stand-alone ACK frames sent.
    pub acks_sent: u32,
    /// PINGs sent.
    pub pings_sent: u32,
    /// HELLO and HELLO_ACK frames sent.
    pub hellos_sent: u32,
    /// HELLOs answered with a new pending handshake.
    pub hellos_answered: u32,
    /// Hellos of a handshake already answered or completed.
    pub hello_duplicates: u32,
    /// RDATA already delivered (dropped).
    pub duplicates: u32,
    /// RDATA ahead of a gap (dropped: go-back-N).
    pub out_of_order: u32,
    /// RDATA beyond the window (dropped).
    pub out_of_window: u32,
    /// Times send refused a message (window full).
    pub send_full: u32,
    /// Frames of another session or before any session, and HELLO_ACKs answering a nonce
    /// other than this side's current one (dropped).
    pub stale_session: u32,
    /// Link frames without a session tag (dropped).
    pub untagged: u32,
    /// Frames in a form this side does not announce (dropped).
    pub not_negotiated: u32,
    /// Hellos carrying this side's own nonce (dropped).
    pub reflected: u32,
    /// Hellos with a malformed record (dropped).
    pub unexpected: u32,
    /// Acks for sequence numbers never sent (ignored).
    pub bad_ack: u32,
    /// Messages larger than this link's largest (dropped).
    pub too_large: u32,
    /// Sealed (AEAD) frames: this link has no keys (dropped).
    pub unknown_key: u32,
    /// Sessions started.
    pub sessions: u32,
    /// Sessions ended.
    pub link_downs: u32,
    /// Messages discarded when sessions ended.
    pub discarded_on_reset: u32,
    /// Events dropped or merged because the application did not poll them.
    pub events_dropped: u32,
    /// Received messages that failed to decompress (dropped, reported by
    /// `ferrule_compact_recv` as `FERRULE_ERR_DECOMPRESS`).
    pub decompress_failed: u32,
    /// Framing rejects by reason.
    pub framing: crate::frame::ferrule_decoder_stats_t,
    /// Messages sent compressed (0 without `ferrule_compact_enable_compression`).
    pub compressed: u32,
    /// Message bytes given to compression.
    pub compress_bytes_in: u64,
    /// Payload bytes after compression.
    pub compress_bytes_out: u64,
}

// `ferrule_compact_stats_t` begins with the layout of `CompactStats` (both `repr(C)`, same
// fields in the same order), the compression counters after it: checked on the size and on
// the first and last fields' offsets.
const _: () = {
    use core::mem::offset_of;
    assert!(size_of::<CompactStats>() <= offset_of!(ferrule_compact_stats_t, compressed));
    assert!(offset_of!(ferrule_compact_stats_t, srtt_ms) == offset_of!(CompactStats, srtt));
    assert!(
        offset_of!(ferrule_compact_stats_t, events_dropped)
            == offset_of!(CompactStats, events_dropped)
    );
    assert!(offset_of!(ferrule_compact_stats_t, framing) == offset_of!(CompactStats, framing));
};

/// Copies the link's counters into `*out`. Returns `FERRULE_OK` or `FERRULE_ERR_NULL`.
/// Stack: 260 bytes on Cortex-M0 and 252 on Cortex-M4F; 268 and 260 with compression. Not from
/// an interrupt.
///
/// # Safety
/// `link` from `ferrule_compact_init`; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_compact_stats(
    link: *mut ferrule_compact_t,
    out: *mut ferrule_compact_stats_t,
) -> ferrule_status {
    with_link(link, |l| {
        if out.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        let z = l.codec().map(|c| c.stats()).unwrap_or_default();
        // SAFETY: `out` is non-NULL, aligned and writable (the caller's contract), and
        // `ferrule_compact_stats_t` begins with the layout of `CompactStats` (checked above;
        // every field is a plain integer, so any value of one is a valid value of the other).
        unsafe {
            out.cast::<CompactStats>().write(l.stats());
            (*out).compressed = z.compressed as u32;
            (*out).compress_bytes_in = z.bytes_in;
            (*out).compress_bytes_out = z.bytes_out;
        }
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
    use core::ptr::{null, null_mut};

    fn block(cfg: &ferrule_compact_config_t) -> Vec<u64> {
        vec![0u64; ferrule_compact_storage_size(cfg.window, cfg.max_message) / 8 + 2]
    }

    #[test]
    fn init_checks_its_arguments() {
        let mut cfg = ferrule_compact_config_default();
        let mut mem = block(&cfg);
        let mut h = null_mut();
        let p = mem.as_mut_ptr().cast();
        let len = mem.len() * 8;
        // SAFETY: every pointer is NULL or valid for the call.
        unsafe {
            assert_eq!(
                ferrule_compact_init(null_mut(), len, &cfg, 1, &mut h),
                ferrule_status::FERRULE_ERR_NULL
            );
            assert_eq!(
                ferrule_compact_init(p, len, null(), 1, &mut h),
                ferrule_status::FERRULE_ERR_NULL
            );
            assert_eq!(
                ferrule_compact_init(p, 100, &cfg, 1, &mut h),
                ferrule_status::FERRULE_ERR_MEMORY_TOO_SMALL
            );
            assert_eq!(
                ferrule_compact_init(p.cast::<u8>().add(4).cast(), len - 4, &cfg, 1, &mut h),
                ferrule_status::FERRULE_ERR_MEMORY_ALIGNMENT
            );
            cfg.transport = 9;
            assert_eq!(
                ferrule_compact_init(p, len, &cfg, 1, &mut h),
                ferrule_status::FERRULE_ERR_INVALID_ARGUMENT
            );
            cfg.transport = FERRULE_TRANSPORT_STREAM;
            cfg.rto_min_ms = 0;
            assert_eq!(
                ferrule_compact_init(p, len, &cfg, 1, &mut h),
                ferrule_status::FERRULE_ERR_INVALID_ARGUMENT
            );
            cfg.rto_min_ms = 20;
            assert_eq!(
                ferrule_compact_init(p, len, &cfg, 1, &mut h),
                ferrule_status::FERRULE_OK
            );
            assert!(!h.is_null());
            let mut st = ferrule_compact_stats_t::default();
            assert_eq!(
                ferrule_compact_stats(null_mut(), &mut st),
                ferrule_status::FERRULE_ERR_NULL
            );
            assert_eq!(
                ferrule_compact_stats(h, &mut st),
                ferrule_status::FERRULE_OK
            );
            assert_eq!(st.rto_ms, 1000);
            assert!(!ferrule_compact_is_up(null()));
            assert!(!ferrule_compact_is_up(h));
        }
    }

    /// Two handles over datagrams: up, 20 messages each way, counters.
    #[test]
    fn two_handles_talk() {
        let mut cfg = ferrule_compact_config_default();
        cfg.transport = FERRULE_TRANSPORT_DATAGRAM;
        let (mut ma, mut mb) = (block(&cfg), block(&cfg));
        let (mut a, mut b) = (null_mut(), null_mut());
        let mut frame = vec![0u8; ferrule_compact_max_frame_len(cfg.max_message)];
        let mut msg = [0u8; 128];
        let mut got = [0usize; 2];
        let mut sent = [0u32; 2];
        // SAFETY: handles from ferrule_compact_init, buffers valid for their lengths.
        unsafe {
            assert_eq!(
                ferrule_compact_init(ma.as_mut_ptr().cast(), ma.len() * 8, &cfg, 1, &mut a),
                ferrule_status::FERRULE_OK
            );
            assert_eq!(
                ferrule_compact_init(mb.as_mut_ptr().cast(), mb.len() * 8, &cfg, 2, &mut b),
                ferrule_status::FERRULE_OK
            );
            for now in 0..2000u64 {
                for (k, (from, to)) in [(a, b), (b, a)].into_iter().enumerate() {
                    if ferrule_compact_is_up(from) && sent[k] < 20 {
                        let m = [k as u8; 10];
                        let mut id = 0;
                        if ferrule_compact_send(from, 1, m.as_ptr(), m.len(), now, &mut id)
                            == ferrule_status::FERRULE_OK
                        {
                            assert_eq!(id, sent[k]);
                            sent[k] += 1;
                        }
                    }
                    let mut n = 0;
                    while ferrule_compact_poll_transmit(
                        from,
                        now,
                        frame.as_mut_ptr(),
                        frame.len(),
                        &mut n,
                    ) == ferrule_status::FERRULE_OK
                    {
                        ferrule_compact_handle_datagram(to, frame.as_ptr(), n, now);
                    }
                    let mut r = ferrule_received_t::default();
                    while ferrule_compact_recv(to, msg.as_mut_ptr(), msg.len(), &mut r)
                        == ferrule_status::FERRULE_OK
                    {
                        assert_eq!((r.len, r.channel, msg[0]), (10, 1, k as u8));
                        got[k] += 1;
                    }
                    let mut t = 0;
                    if ferrule_compact_poll_timeout(from, &mut t) == ferrule_status::FERRULE_OK
                        && t <= now
                    {
                        ferrule_compact_handle_timeout(from, now);
                    }
                }
            }
            assert_eq!(got, [20, 20]);
            let mut ev = ferrule_event_t::default();
            assert_eq!(
                ferrule_compact_poll_event(a, &mut ev),
                ferrule_status::FERRULE_OK
            );
            assert_eq!(ev.kind, FERRULE_EVENT_UP);
            let mut st = ferrule_compact_stats_t::default();
            ferrule_compact_stats(a, &mut st);
            assert_eq!(
                (st.sent_reliable, st.delivered_reliable, st.sessions),
                (20, 20, 1)
            );
            assert_eq!(
                ferrule_compact_poll_transmit(a, 0, frame.as_mut_ptr(), 10, &mut 0),
                ferrule_status::FERRULE_ERR_BUFFER_TOO_SMALL
            );
        }
    }
}
