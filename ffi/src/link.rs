//! The reliable link in C: sized by the caller, initialised in place in the caller's memory,
//! driven by the caller's I/O and clock.
//!
//! One block of memory holds a link: `ferrule_link_storage_size(&config)` bytes (or the
//! `FERRULE_LINK_STORAGE_SIZE(window, max_message)` macro, for a static array), aligned to 8.
//! `ferrule_link_init` carves it into the link's state, its send and receive slots and message
//! areas, and its frame buffer. The best-effort channel, compression, AEAD and FEC take memory
//! of their own (`ferrule_link_enable_*`), so firmware that never turns them on links none of
//! their code.

use crate::frame::ferrule_decoder_stats_t;
use crate::{bytes, bytes_mut, ferrule_status, guard, put};
use core::mem::{align_of, size_of};
use ferrule::link::{
    frame_buffer_len, max_frame_len, ChannelMap, CheckedSetup, Config, DownReason, Event, Link,
    LinkBuffers, LinkStats, MessageId, RecvError, RxSlot, SendError, Sent, Transport, TxSlot,
};

/// Largest message a C link can be configured for, in bytes.
pub const FERRULE_MAX_MESSAGE: usize = 4096;
/// Length of an AEAD key.
pub const FERRULE_KEY_LEN: usize = 32;
/// Alignment of every block of memory the library takes.
pub const FERRULE_MEMORY_ALIGN: usize = 8;

/// Checks a block of caller memory for a part that needs `needed` bytes: large enough
/// (`FERRULE_ERR_MEMORY_TOO_SMALL`), then aligned to `FERRULE_MEMORY_ALIGN`
/// (`FERRULE_ERR_MEMORY_ALIGNMENT`). The one check `init` and every `enable_` call make.
pub(crate) fn check_block(
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    needed: usize,
) -> Result<(), ferrule_status> {
    if mem_len < needed {
        return Err(ferrule_status::FERRULE_ERR_MEMORY_TOO_SMALL);
    }
    if (mem as usize).checked_rem(FERRULE_MEMORY_ALIGN) != Some(0) {
        return Err(ferrule_status::FERRULE_ERR_MEMORY_ALIGNMENT);
    }
    Ok(())
}

/// The services a link's memory blocks belong to (`ferrule_link_enable_*`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    BestEffort,
    Compression,
    Aead,
    Fec,
}

/// The block (start address, bytes) of each service installed on `l`, but `except`'s (the one
/// being replaced). Each C API call writes its service's object at the start of its block, so
/// an object's address is its block's.
fn service_blocks(l: &Link<'_>, except: Service) -> [Option<(usize, usize)>; 4] {
    let at = |p: *const u8| p as usize;
    let mut blocks = [None; 4];
    if except != Service::BestEffort {
        let area = l.best_effort_memory();
        blocks[0] = Some((at(area.as_ptr()), area.len())).filter(|b| b.1 > 0);
    }
    if except != Service::Compression {
        blocks[1] = l.codec().map(crate::compression::installed_block);
    }
    if except != Service::Aead {
        // The guard alone.
        blocks[2] = l.sealer_extent();
    }
    if except != Service::Fec {
        blocks[3] = l.repair().map(crate::fec::installed_block);
    }
    blocks
}

/// [`check_block`] for `service`'s memory (`ferrule_link_enable_*`), whose first `needed`
/// bytes must also lie outside the link's own block and the other services' blocks:
/// `FERRULE_ERR_INVALID_ARGUMENT` when they overlap one (the service would overwrite the link's
/// state and areas, or another service's). The block of the same service, which this call
/// replaces, may be reused. Out of line: one copy for every service.
#[inline(never)]
pub(crate) fn check_service_block(
    link: *const ferrule_link_t,
    l: &Link<'_>,
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    needed: usize,
    service: Service,
) -> Result<(), ferrule_status> {
    check_block(mem, mem_len, needed)?;
    let own = (link as usize, layout(l.window(), l.max_message()).total);
    let m = mem as usize;
    let overlaps = |(start, len): (usize, usize)| {
        m < start.saturating_add(len) && start < m.saturating_add(needed)
    };
    if overlaps(own)
        || service_blocks(l, service)
            .into_iter()
            .flatten()
            .any(overlaps)
    {
        return Err(ferrule_status::FERRULE_ERR_INVALID_ARGUMENT);
    }
    Ok(())
}

/// Opaque link handle, created in caller memory with `ferrule_link_init`.
///
/// Conventions of every `ferrule_link_` function: `now_ms` and deadlines are milliseconds on the
/// application's own clock (never going backwards, 64 bits so it never wraps, and below 2^63:
/// milliseconds since boot or since the Unix epoch are fine; a later time counts as 2^63, where
/// the link's clock stands still, its timers stop and `ferrule_link_poll_timeout` may keep
/// returning a passed deadline), the same clock for every call on a
/// link. A 32-bit millisecond tick must be extended by counting its wraps, not cast (README,
/// "Clock"). A link is used from one context at a time: no call may start while another on the
/// same link runs (so not from an interrupt that can preempt the main loop's calls). "Stack" is
/// the deepest the call went in tests/firmware/stack.c (painted, Cortex-M0 and Cortex-M4F,
/// every configuration it runs); the figures hold for the Rust toolchain and options of this
/// release.
pub struct ferrule_link_t {
    pub(crate) inner: Link<'static>,
}

/// `ferrule_link_config_t.transport`: byte stream (UART, TCP, pty) with COBS framing.
pub const FERRULE_TRANSPORT_STREAM: u8 = 0;
/// Datagrams (UDP): one frame per datagram.
pub const FERRULE_TRANSPORT_DATAGRAM: u8 = 1;

/// Link configuration. Start from `ferrule_link_config_default()`. Times in milliseconds.
/// `window` and `max_message` size the link's memory; the rest is behaviour.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ferrule_link_config_t {
    /// `FERRULE_TRANSPORT_STREAM` (default) or `FERRULE_TRANSPORT_DATAGRAM`.
    pub transport: u8,
    /// Emit a 0x00 before each stream frame (flushes line noise; one byte). Default false.
    /// Hellos always start with one (a peer that reset mid-frame is not left waiting).
    pub leading_delimiter: bool,
    /// Messages in flight each way, 1 to 255: the number of send and receive slots.
    /// Default 4.
    pub window: u8,
    /// Receive window announced to the peer, 1 to `window` (0: `window`, the default).
    pub receive_window: u8,
    /// Largest message, 1 to 4096 bytes. Default 128.
    pub max_message: u16,
    /// Retransmissions of one message before the link reports failure (255: no limit; the
    /// session then ends only otherwise, e.g. by keepalive silence). Default 20.
    pub max_retransmits: u8,
    /// Bit `i` set: channel `i` (0 to 31) is reliable and ordered; every other channel is best
    /// effort once `ferrule_link_enable_best_effort` was called and the peer takes it
    /// (reliable otherwise). Default 1 (channel 0).
    pub reliable_channels: u32,
    /// Retransmission timeout before the first RTT sample. Default 1000.
    pub rto_initial_ms: u32,
    /// Lower bound of the retransmission timeout. Default 20.
    pub rto_min_ms: u32,
    /// Upper bound of the retransmission timeout and of every backoff. Default 4000.
    pub rto_max_ms: u32,
    /// Longest a stand-alone acknowledgement is delayed. Default 5.
    pub ack_delay_ms: u32,
    /// Keepalive interval when idle; the link is declared down after 8 intervals of silence
    /// (0: both off). Default 1000.
    pub keepalive_ms: u32,
    /// Acknowledgements of later transmissions that declare a message lost. Default 2.
    pub dupthresh: u8,
    /// Padding; must be 0 (`ferrule_link_init` refuses anything else).
    pub reserved: [u8; 3],
}

/// The default configuration: stream transport, no leading delimiter, 4 messages of up to 128 bytes
/// each way, receive window 0 (the same as `window`), channel 0 reliable (the others best effort
/// once `ferrule_link_enable_best_effort` was called, reliable until then), 20 retransmissions,
/// timers of `docs/PROTOCOL.md`: RTO 1000 ms before the first RTT sample, between 20 and 4000 ms;
/// acknowledgements delayed at most 5 ms; keepalive 1000 ms; loss declared after 2 later
/// acknowledgements.
/// Stack: 20 bytes. Reentrant: may be called from an interrupt.
#[no_mangle]
pub extern "C" fn ferrule_link_config_default() -> ferrule_link_config_t {
    let d = Config::default();
    ferrule_link_config_t {
        transport: FERRULE_TRANSPORT_STREAM,
        leading_delimiter: d.leading_delimiter,
        window: 4,
        receive_window: 0,
        max_message: 128,
        max_retransmits: d.max_retransmits,
        reliable_channels: 1,
        rto_initial_ms: d.rto_initial,
        rto_min_ms: d.rto_min,
        rto_max_ms: d.rto_max,
        ack_delay_ms: d.ack_delay,
        keepalive_ms: d.keepalive,
        dupthresh: d.dupthresh,
        reserved: [0; 3],
    }
}

/// Validates a C configuration.
fn convert(c: &ferrule_link_config_t) -> Result<Config, ferrule_status> {
    let bad = ferrule_status::FERRULE_ERR_INVALID_ARGUMENT;
    let transport = match c.transport {
        FERRULE_TRANSPORT_STREAM => Transport::Stream,
        FERRULE_TRANSPORT_DATAGRAM => Transport::Datagram,
        _ => return Err(bad),
    };
    if c.rto_min_ms == 0 || c.rto_min_ms > c.rto_max_ms || c.rto_initial_ms == 0 {
        return Err(bad);
    }
    if c.window == 0 || c.max_message == 0 || usize::from(c.max_message) > FERRULE_MAX_MESSAGE {
        return Err(bad);
    }
    // A receive window beyond the slots, or a reserved byte set (a field of a newer header
    // this library does not know), is refused rather than silently ignored.
    if c.dupthresh == 0 || c.receive_window > c.window || c.reserved != [0; 3] {
        return Err(bad);
    }
    let channels = ChannelMap::from_low_bits(c.reliable_channels);
    Ok(Config {
        transport,
        channels,
        rto_initial: c.rto_initial_ms,
        rto_min: c.rto_min_ms,
        rto_max: c.rto_max_ms,
        max_retransmits: c.max_retransmits,
        dupthresh: c.dupthresh,
        ack_delay: c.ack_delay_ms,
        keepalive: c.keepalive_ms,
        leading_delimiter: c.leading_delimiter,
        window: c.receive_window,
    })
}

/// Where each part of a link's block lives (byte offsets) and its total size.
struct Layout {
    tx_slots: usize,
    rx_slots: usize,
    tx_data: usize,
    rx_data: usize,
    /// Bytes of each message area.
    area: usize,
    frame: usize,
    frame_len: usize,
    total: usize,
}

const fn align_up(n: usize, a: usize) -> usize {
    n.div_ceil(a).saturating_mul(a)
}

/// The layout of a link of `window` messages of `max_message` bytes: state, send slots,
/// receive slots, send and receive message areas, frame buffer. The inputs are bounded
/// (window <= 255, message <= 4096), so nothing saturates.
#[inline(always)]
const fn layout(window: usize, max_message: usize) -> Layout {
    let area = window.saturating_mul(max_message);
    let tx_slots = align_up(size_of::<ferrule_link_t>(), align_of::<TxSlot>());
    let rx_slots = align_up(
        tx_slots.saturating_add(window.saturating_mul(size_of::<TxSlot>())),
        align_of::<RxSlot>(),
    );
    let tx_data = rx_slots.saturating_add(window.saturating_mul(size_of::<RxSlot>()));
    let rx_data = tx_data.saturating_add(area);
    let frame = rx_data.saturating_add(area);
    let end = frame.saturating_add(frame_buffer_len(max_message));
    Layout {
        tx_slots,
        rx_slots,
        tx_data,
        rx_data,
        area,
        frame,
        frame_len: frame_buffer_len(max_message),
        total: align_up(end, FERRULE_MEMORY_ALIGN),
    }
}

/// Bytes of the link state, on targets with 32-bit pointers (Cortex-M, RISC-V 32): the
/// `FERRULE_LINK_STORAGE_SIZE` macro uses it. Checked against the library on every target the
/// tests build for.
pub const FERRULE_LINK_STATE_SIZE_32: usize = 848;
/// The same on targets with 64-bit pointers (hosts).
pub const FERRULE_LINK_STATE_SIZE_64: usize = 1024;
#[cfg(target_pointer_width = "32")]
const _: () = assert!(size_of::<ferrule_link_t>() == FERRULE_LINK_STATE_SIZE_32);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<ferrule_link_t>() == FERRULE_LINK_STATE_SIZE_64);

/// Bytes of bookkeeping per window slot (one send and one receive slot), any target.
pub const FERRULE_LINK_SLOT_SIZE: usize = 26;
/// Bytes the frame buffer takes beyond the largest message, any target.
pub const FERRULE_LINK_FRAME_OVERHEAD: usize = 98;
const _: () = assert!(FERRULE_LINK_SLOT_SIZE == size_of::<TxSlot>() + size_of::<RxSlot>());
const _: () = assert!(FERRULE_LINK_FRAME_OVERHEAD == frame_buffer_len(0));
const _: () = assert!(frame_buffer_len(1) == FERRULE_LINK_FRAME_OVERHEAD + 1);

/// Bytes of memory a link with this configuration needs (a multiple of 8), or 0 when the
/// configuration is invalid. Exact; the `FERRULE_LINK_STORAGE_SIZE(window, max_message)` macro
/// gives the same number at compile time. On 32-bit targets: 2208 bytes for the default
/// 4 x 128; 5512 for 8 x 256.
/// Stack: 144 bytes on Cortex-M0, 136 on Cortex-M4F. Reentrant: may be called from an interrupt.
///
/// # Safety
/// `config` points to a configuration, or is NULL (then the result is 0).
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_storage_size(config: *const ferrule_link_config_t) -> usize {
    if config.is_null() {
        return 0;
    }
    // SAFETY: checked non-NULL; the caller passes a valid configuration.
    let c = unsafe { &*config };
    match convert(c) {
        Ok(_) => layout(c.window.into(), c.max_message.into()).total,
        Err(_) => 0,
    }
}

/// Bytes `ferrule_link_poll_transmit`'s buffer needs for a link whose messages are up to
/// `max_message` bytes (the largest frame it sends, on either transport): 229 for 128, 358 for
/// 256.
/// Stack: 56 bytes. Reentrant: may be called from an interrupt.
#[no_mangle]
pub extern "C" fn ferrule_link_max_frame_len(max_message: u16) -> usize {
    max_frame_len(max_message.into())
}

/// Creates a link in `mem` (`mem_len` bytes, aligned to 8, at least
/// `ferrule_link_storage_size(config)`) and writes its handle to `*out`. The memory must stay
/// valid and untouched until the caller stops using the handle; no cleanup call is needed.
/// Calling it again on the same memory starts a new link (the best-effort channel,
/// compression, AEAD and FEC must then be enabled again); what the old link held is dropped
/// without a report (no DOWN event, no counter: the old state is overwritten, not read), so
/// close a live link first (`ferrule_link_close`, transmit the CLOSE, poll its DOWN).
///
/// `seed` makes the handshake nonces (`docs/PROTOCOL.md` 4.1.3): it must never repeat for links
/// that hold the same AEAD key, and should differ on every boot in any case. With a hardware
/// random number generator, pass 64 random bits. On a part without one, keep a boot counter in
/// flash or EEPROM, increment it and write it back before calling this, and pass
/// `(device_number << 32) | boot_counter` (device numbers unique among the devices sharing a
/// key). Two links in one device need different seeds. The link starts its handshake at once.
///
/// Returns `FERRULE_OK`; `FERRULE_ERR_NULL` (`mem`, `config` or `out` NULL);
/// `FERRULE_ERR_INVALID_ARGUMENT` (configuration: transport, window 0, receive_window above
/// window, max_message 0 or above `FERRULE_MAX_MESSAGE`, timers, dupthresh 0, a reserved byte
/// not 0); `FERRULE_ERR_MEMORY_TOO_SMALL`;
/// `FERRULE_ERR_MEMORY_ALIGNMENT`. `*out` is written only on success.
/// Stack: 692 bytes on Cortex-M0, 636 on Cortex-M4F (the link is written in place in
/// `mem`; nothing of its size is built on the stack). Not from an interrupt.
///
/// # Safety
/// `mem` must point to `mem_len` writable bytes; `config` to a configuration; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_init(
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    config: *const ferrule_link_config_t,
    seed: u64,
    out: *mut *mut ferrule_link_t,
) -> ferrule_status {
    guard(|| {
        if config.is_null() || mem.is_null() || out.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        // SAFETY: checked non-NULL; the caller passes a valid configuration and `mem_len`
        // writable bytes at `mem`.
        let setup = match unsafe { prepare(mem, mem_len, &*config) } {
            Ok(setup) => setup,
            Err(s) => return s,
        };
        let p = mem.cast::<ferrule_link_t>();
        // SAFETY: the block starts with room for a ferrule_link_t (layout), 8-aligned
        // (checked by `prepare`; its alignment is at most 8, tested), and the areas in
        // `setup` lie after it (layout), so the slot is not aliased. `ferrule_link_t` is a
        // wrapper around the link, which `init_in` builds in place through a raw pointer to
        // the field (no reference to the uninitialised wrapper is made).
        let slot = unsafe {
            &mut *core::ptr::addr_of_mut!((*p).inner)
                .cast::<core::mem::MaybeUninit<Link<'static>>>()
        };
        Link::init_in_bare(slot, setup, seed);
        put(out, p);
        ferrule_status::FERRULE_OK
    })
}

/// Checks the configuration and memory of `ferrule_link_init` and lays the link's areas out
/// in `mem` (apart from its own frame, so none of this is on the stack while the link is
/// written).
///
/// # Safety
/// `mem` points to `mem_len` writable bytes the caller gives the link.
#[inline(never)]
unsafe fn prepare(
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    c: &ferrule_link_config_t,
) -> Result<CheckedSetup<'static>, ferrule_status> {
    let cfg = convert(c)?;
    let (w, m) = (usize::from(c.window), usize::from(c.max_message));
    let l = layout(w, m);
    check_block(mem, mem_len, l.total)?;
    let base = mem.cast::<u8>();
    // SAFETY: every region lies inside the caller's `mem_len` bytes (`layout` sums them
    // to `total`, checked above), regions do not overlap, and each is aligned for its
    // type (the block is 8-aligned and `layout` aligns each offset). The slices live as
    // long as the handle (the caller keeps the memory; 'static stands for that). Slots
    // are written with valid values before the slices are made.
    let buffers = unsafe {
        let tx_slots = base.add(l.tx_slots).cast::<TxSlot>();
        let rx_slots = base.add(l.rx_slots).cast::<RxSlot>();
        for i in 0..w {
            tx_slots.add(i).write(TxSlot::EMPTY);
            rx_slots.add(i).write(RxSlot::EMPTY);
        }
        let area = |at: usize, len: usize| -> &'static mut [u8] {
            let p = base.add(at);
            p.write_bytes(0, len);
            core::slice::from_raw_parts_mut(p, len)
        };
        LinkBuffers {
            tx_slots: core::slice::from_raw_parts_mut(tx_slots, w).into(),
            rx_slots: core::slice::from_raw_parts_mut(rx_slots, w).into(),
            tx_data: area(l.tx_data, l.area).into(),
            rx_data: area(l.rx_data, l.area).into(),
            frame: area(l.frame, l.frame_len).into(),
            best_effort: (&mut [][..]).into(),
        }
    };
    Link::check(cfg, buffers).map_err(|_| ferrule_status::FERRULE_ERR_INVALID_ARGUMENT)
}

/// Bytes of memory `ferrule_link_enable_best_effort` needs for a link whose messages are up
/// to `max_message` bytes: one message waiting each way, rounded up to a multiple of 8 (the
/// `FERRULE_BEST_EFFORT_STORAGE_SIZE` macro gives the same at compile time): 256 for 128.
/// Stack: 8 bytes. Reentrant: may be called from an interrupt.
#[no_mangle]
pub extern "C" fn ferrule_best_effort_storage_size(max_message: u16) -> usize {
    align_up(
        usize::from(max_message).saturating_mul(2),
        FERRULE_MEMORY_ALIGN,
    )
}

/// Turns on the best-effort channel for `link` with its two mailboxes in `mem`
/// (`ferrule_best_effort_storage_size(max_message)` bytes, aligned to 8, valid and untouched as
/// long as the link is used): messages sent on channels `reliable_channels` does not mark then
/// go as unacknowledged `DATA` frames when the peer takes them (one waits each way; a newer one
/// received replaces the older, counted). Without it every channel is reliable and firmware
/// links none of this channel's receive side. Call it right after `ferrule_link_init` (a
/// session already up ends, `FERRULE_DOWN_LOCAL_CLOSE`; called again, the channel moves to the
/// new memory and messages waiting in the old are dropped and counted).
///
/// Returns `FERRULE_OK`; `FERRULE_ERR_NULL` (`link` or `mem` NULL);
/// `FERRULE_ERR_MEMORY_TOO_SMALL`; `FERRULE_ERR_MEMORY_ALIGNMENT`; `FERRULE_ERR_INVALID_ARGUMENT`
/// (`mem` overlaps the link's own memory or another service's block). On an error nothing
/// changes.
/// Stack: 276 bytes on Cortex-M0, 264 on Cortex-M4F (with a session up, which it ends). Not from
/// an interrupt.
///
/// # Safety
/// `link` from `ferrule_link_init`; `mem` points to `mem_len` writable bytes used for nothing
/// else.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_enable_best_effort(
    link: *mut ferrule_link_t,
    mem: *mut core::ffi::c_void,
    mem_len: usize,
) -> ferrule_status {
    with_link(link, |l| {
        if mem.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        let needed = l.max_message().saturating_mul(2);
        if let Err(s) = check_service_block(link, l, mem, mem_len, needed, Service::BestEffort) {
            return s;
        }
        // SAFETY: checked non-NULL and at least `needed` bytes; the caller gives the memory to
        // the link for as long as it is used ('static stands for that) and uses it for nothing
        // else. Zeroed before the slice is made.
        let area = unsafe {
            let p = mem.cast::<u8>();
            p.write_bytes(0, needed);
            core::slice::from_raw_parts_mut(p, needed)
        };
        match l.enable_best_effort(area) {
            Ok(()) => ferrule_status::FERRULE_OK,
            Err(_) => ferrule_status::FERRULE_ERR_INVALID_ARGUMENT,
        }
    })
}

/// Runs `f` on the link behind a handle.
pub(crate) fn with_link(
    link: *mut ferrule_link_t,
    f: impl FnOnce(&mut Link<'static>) -> ferrule_status,
) -> ferrule_status {
    guard(|| {
        if link.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        // SAFETY: a handle from ferrule_link_init, used from one context at a time (the
        // documented contract); the reference covers the state only, not the areas it owns.
        f(unsafe { &mut (*link).inner })
    })
}

/// Queues `len` bytes of `msg` on `channel` and writes its message id to `*id` (when `id` is
/// not NULL; best-effort messages have none and leave it unchanged). `len` may be 0: the peer
/// receives an empty message (`msg` may then be NULL). Ids count reliable
/// messages from 0 over the link's lifetime (across sessions); `ferrule_link_acked_before` and
/// `ferrule_event_t.first_id` refer to them. `now_ms`: the application's clock in milliseconds
/// (never going backwards, below 2^63), the same clock for every call on the link.
///
/// Returns `FERRULE_OK`; `FERRULE_ERR_FULL` (the send window, or the best-effort mailbox, is
/// full: try again after the link made progress; the message was not taken);
/// `FERRULE_ERR_TOO_LARGE` (above this side's or the peer's largest message);
/// `FERRULE_ERR_NOT_CONNECTED` (no session up, or `ferrule_link_close` was called: wait for
/// `FERRULE_EVENT_UP`); `FERRULE_ERR_NULL`. Compresses the message if compression is on.
/// Stack: 196 bytes on Cortex-M0 and 124 on Cortex-M4F without compression; 520 and 420
/// when it compresses. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_link_init`; `msg` points to `len` bytes; `id` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_send(
    link: *mut ferrule_link_t,
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
            Ok(Sent::Reliable(MessageId(n))) => {
                put(id, n);
                ferrule_status::FERRULE_OK
            }
            Ok(Sent::BestEffort) => ferrule_status::FERRULE_OK,
            Err(SendError::Full) => ferrule_status::FERRULE_ERR_FULL,
            Err(SendError::TooLarge) => ferrule_status::FERRULE_ERR_TOO_LARGE,
            Err(SendError::NotConnected) => ferrule_status::FERRULE_ERR_NOT_CONNECTED,
        }
    })
}

/// Writes to `*id` the id below which every reliable message has been acknowledged by the
/// peer or reported discarded (`FERRULE_EVENT_DOWN`): a message with id `n` is confirmed
/// delivered once this exceeds `n` (serial arithmetic: `(int32_t)(acked - n) > 0`) and it was
/// not in a DOWN event's range. Returns `FERRULE_OK` or `FERRULE_ERR_NULL`.
/// Stack: 8 bytes. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_link_init`; `id` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_acked_before(
    link: *mut ferrule_link_t,
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

/// Takes the next delivered message into `out` (`cap` bytes; the configured `max_message`
/// always suffices) and fills `*received`. Returns `FERRULE_OK`; `FERRULE_EMPTY` (nothing
/// waiting); `FERRULE_ERR_BUFFER_TOO_SMALL` (the message stays queued; a compressed message
/// needs `max_message` bytes); `FERRULE_ERR_DECOMPRESS` (one message was dropped and counted;
/// `*received` names its channel and service, with `len` 0; call again for the next; if it
/// was part of the shared stream the session ends with `FERRULE_DOWN_DECOMPRESS_FAILED`);
/// `FERRULE_ERR_NULL`. Decompresses if the message is
/// compressed.
/// Stack: 180 bytes on Cortex-M0 and 132 on Cortex-M4F without compression; 556 and 472
/// when it decompresses. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_link_init`; `out` points to `cap` writable bytes (to the link's
/// `max_message` bytes when `cap` is larger); `received` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_recv(
    link: *mut ferrule_link_t,
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
                        reliable: r.reliable,
                    },
                );
                ferrule_status::FERRULE_OK
            }
            Ok(None) => ferrule_status::FERRULE_EMPTY,
            Err(RecvError::BufferTooSmall { .. }) => ferrule_status::FERRULE_ERR_BUFFER_TOO_SMALL,
            Err(RecvError::Decompress {
                channel, reliable, ..
            }) => {
                put(
                    received,
                    ferrule_received_t {
                        len: 0,
                        channel,
                        reliable,
                    },
                );
                ferrule_status::FERRULE_ERR_DECOMPRESS
            }
        }
    })
}

/// Feeds bytes received from a stream transport, in any chunking (one byte or a whole DMA
/// block). `now_ms`: the application's clock (see `ferrule_link_send`). Returns `FERRULE_OK`,
/// `FERRULE_ERR_NULL`, or `FERRULE_ERR_INVALID_ARGUMENT` for a `len` above `PTRDIFF_MAX` (no
/// buffer is that long; nothing is read); bad input is counted (`ferrule_link_stats`), never an
/// error. Poll events afterwards. After a UART overrun, framing or parity error (bytes were
/// lost), feed one 0x00 byte: a partial frame ends there, rejected and counted, instead of
/// taking the next frame down with it; with nothing pending a 0x00 is idle fill.
/// Stack: 792 bytes on Cortex-M0 and 656 on Cortex-M4F without AEAD; with AEAD (a hello's
/// HMAC, then the session keys' HKDF once the frame's processing has returned) at most 960
/// on Cortex-M0 and 904 on Cortex-M4F. Not from an interrupt: push received bytes into a ring
/// buffer in the interrupt, and feed them from the main loop.
///
/// # Safety
/// `link` from `ferrule_link_init`; `input` points to `len` bytes (may be NULL when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_handle_input(
    link: *mut ferrule_link_t,
    input: *const u8,
    len: usize,
    now_ms: u64,
) -> ferrule_status {
    with_link(link, |l| {
        let input = match bytes(input, len, ferrule_status::FERRULE_ERR_INVALID_ARGUMENT) {
            Ok(input) => input,
            Err(e) => return e,
        };
        l.handle_input(input, now_ms);
        ferrule_status::FERRULE_OK
    })
}

/// Feeds one datagram received from a datagram transport. `now_ms`: the application's clock.
/// Returns `FERRULE_OK`, `FERRULE_ERR_NULL`, or `FERRULE_ERR_INVALID_ARGUMENT` for a `len` above
/// `PTRDIFF_MAX` (nothing is read); bad input is counted, never an error. Poll events afterwards.
/// Stack: at most 976 bytes on Cortex-M0 and 872 on Cortex-M4F with compression, AEAD
/// and FEC (a hello's HMAC and HKDF, and FEC's repair, each run after the frame's processing
/// has returned). Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_link_init`; `datagram` points to `len` bytes (may be NULL when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_handle_datagram(
    link: *mut ferrule_link_t,
    datagram: *const u8,
    len: usize,
    now_ms: u64,
) -> ferrule_status {
    with_link(link, |l| {
        let d = match bytes(datagram, len, ferrule_status::FERRULE_ERR_INVALID_ARGUMENT) {
            Ok(d) => d,
            Err(e) => return e,
        };
        l.handle_datagram(d, now_ms);
        ferrule_status::FERRULE_OK
    })
}

/// Writes the next frame to send into `out` (`cap` >= `ferrule_link_max_frame_len(max_message)`)
/// and its length to `*out_len`; hand it to the transport as it is (a stream frame carries its
/// delimiters). Call it until it returns `FERRULE_EMPTY`, after every call that fed input, ran
/// timers or sent. Returns `FERRULE_OK`, `FERRULE_EMPTY` (nothing to send now),
/// `FERRULE_ERR_BUFFER_TOO_SMALL` (nothing was taken), `FERRULE_ERR_NULL`. Seals the frame if
/// AEAD is on.
/// Stack: 768 bytes on Cortex-M0 and 576 on Cortex-M4F without AEAD; with AEAD (a hello's
/// HMAC) at most 968 on Cortex-M0 and 888 on Cortex-M4F. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_link_init`; `out` points to `cap` writable bytes (to
/// `ferrule_link_max_frame_len(max_message)` bytes when `cap` is larger); `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_poll_transmit(
    link: *mut ferrule_link_t,
    now_ms: u64,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> ferrule_status {
    with_link(link, |l| {
        let Some(out) = bytes_mut(out, cap, l.max_frame_len()) else {
            return ferrule_status::FERRULE_ERR_NULL;
        };
        if out_len.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        if out.len() < l.max_frame_len() {
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

/// Writes to `*deadline_ms` the time (on the application's clock, in milliseconds) by which
/// `ferrule_link_handle_timeout` must be called again; at or before the last `now_ms` when
/// something can be sent at once. While no session is up it is the next hello's due time,
/// which may lie before the last `now_ms` (0 right after `ferrule_link_init`: the first hello
/// is due). Returns `FERRULE_OK`, `FERRULE_EMPTY` (no timer pending) or
/// `FERRULE_ERR_NULL`. A firmware may sleep until this deadline or the next interrupt.
/// Stack: 280 bytes on Cortex-M0, 232 on Cortex-M4F. Not from an interrupt.
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

/// Runs the link's timers (retransmission, delayed acknowledgement, keepalive, handshake) at
/// `now_ms`. Calling it early, or more often than needed, is harmless. Returns `FERRULE_OK` or
/// `FERRULE_ERR_NULL`. Poll events and transmit afterwards.
/// Stack: 184 bytes on Cortex-M0 and 144 on Cortex-M4F; with FEC 332 and 220. Not from an
/// interrupt.
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
/// The session ended; `reason`, `unacked` and `first_id` say why and what was discarded.
pub const FERRULE_EVENT_DOWN: u8 = 2;

/// `ferrule_event_t.reason`: the peer completed a new handshake (it rebooted or restarted).
pub const FERRULE_DOWN_PEER_RESTARTED: u8 = 1;
/// A message exceeded `max_retransmits`.
pub const FERRULE_DOWN_RETRY_LIMIT: u8 = 2;
/// Nothing heard for eight keepalive intervals.
pub const FERRULE_DOWN_PEER_SILENT: u8 = 3;
/// The peer closed the session.
pub const FERRULE_DOWN_PEER_CLOSED: u8 = 4;
/// `ferrule_link_close` was called, or the best-effort channel, compression, AEAD or FEC was
/// turned on while a session was up.
pub const FERRULE_DOWN_LOCAL_CLOSE: u8 = 5;
/// The peer's shared compressed stream broke.
pub const FERRULE_DOWN_DECOMPRESS_FAILED: u8 = 6;
/// AEAD: 2^32 - 1 frames sealed in one session; a new session takes new keys.
pub const FERRULE_DOWN_NONCE_EXHAUSTED: u8 = 7;

/// A link lifecycle event.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ferrule_event_t {
    /// `FERRULE_EVENT_UP` or `FERRULE_EVENT_DOWN`.
    pub kind: u8,
    /// For DOWN: `FERRULE_DOWN_*`.
    pub reason: u8,
    /// For DOWN: reliable messages accepted by send but not confirmed, now discarded (the peer
    /// may have received some of them: their acknowledgement was lost with the session). When
    /// the event queue overflowed, one DOWN may stand for several sessions' (see
    /// `ferrule_link_poll_event`): then the range also names messages confirmed in between,
    /// and `unacked` may exceed the window.
    pub unacked: u16,
    /// For DOWN: the id of the first of them (they are `first_id .. first_id + unacked - 1`).
    pub first_id: u32,
}

/// Takes the next event into `*event`. Returns `FERRULE_OK`, `FERRULE_EMPTY` (none) or
/// `FERRULE_ERR_NULL`. Poll events after every call that feeds input, runs timers or
/// transmits, and after `ferrule_link_enable_*`: up to four are kept; beyond that the oldest
/// UP is dropped, else the oldest DOWN that discarded nothing, else the two oldest DOWNs
/// become one naming every message from the first's `first_id` to the end of the second's
/// (messages confirmed in between are named too: resending is at-least-once anyway); each
/// counted in `events_dropped`. A DOWN is dropped only when that range exceeds 65,535 ids.
/// Stack: 28 bytes on Cortex-M0, 24 on Cortex-M4F. Not from an interrupt.
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
                    DownReason::LocalClose => FERRULE_DOWN_LOCAL_CLOSE,
                    DownReason::DecompressFailed => FERRULE_DOWN_DECOMPRESS_FAILED,
                    DownReason::NonceExhausted => FERRULE_DOWN_NONCE_EXHAUSTED,
                },
                unacked,
                first_id: first.0,
            },
        };
        put(event, e);
        ferrule_status::FERRULE_OK
    })
}

/// Whether a session is up (false for a NULL handle).
/// Stack: 8 bytes. Not while another call on the same link may be running.
///
/// # Safety
/// `link` from `ferrule_link_init` or NULL.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_is_up(link: *const ferrule_link_t) -> bool {
    // SAFETY: a handle from ferrule_link_init, or NULL (checked).
    !link.is_null() && unsafe { (*link).inner.is_up() }
}

/// Ends the session. From this call on, `ferrule_link_send` returns `FERRULE_ERR_NOT_CONNECTED`;
/// the next `ferrule_link_poll_transmit` sends CLOSE, ends the session (until then
/// `ferrule_link_is_up` returns true), queues `FERRULE_EVENT_DOWN` (`FERRULE_DOWN_LOCAL_CLOSE`)
/// with the unconfirmed messages, and starts a new handshake. Without a session it does nothing.
/// Returns `FERRULE_OK` or `FERRULE_ERR_NULL`.
/// Stack: 32 bytes on Cortex-M0, 24 on Cortex-M4F. Not from an interrupt.
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
/// bytes on this link's transport (e.g. a UDP payload limit or a DMA buffer), capped at this
/// side's largest message and the peer's. Compression never expands a message, so this holds
/// in every mode. Returns `FERRULE_OK` or `FERRULE_ERR_NULL`.
/// Stack: 76 bytes. Not from an interrupt.
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

/// Link counters, from `ferrule_link_init` on (across sessions); each field says what it
/// counts.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ferrule_link_stats_t {
    /// Smallest RTT sample (ms).
    pub rtt_min_ms: u32,
    /// Smoothed RTT (ms).
    pub srtt_ms: u32,
    /// RTT variance (ms).
    pub rttvar_ms: u32,
    /// Current base retransmission (probe) timeout (ms).
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
    /// RDATA frames sent, first transmissions and retransmissions.
    pub rdata_frames_sent: u32,
    /// DATA frames sent.
    pub data_frames_sent: u32,
    /// Retransmitted frames.
    pub retransmissions: u32,
    /// Messages declared lost by evidence rather than a timeout.
    pub fast_retransmits: u32,
    /// Retransmissions acknowledged sooner than any round trip (an earlier copy had arrived):
    /// a lower bound of the unneeded ones.
    pub spurious_retransmissions: u32,
    /// Retransmission timer expiries.
    pub timeouts: u32,
    /// Stand-alone ACK frames sent.
    pub acks_sent: u32,
    /// Keepalive PINGs sent.
    pub keepalives_sent: u32,
    /// PINGs sent as probes: zero-window probes, and on a stream the asks before a retransmission
    /// (PROTOCOL.md 4.3.2).
    pub probes_sent: u32,
    /// HELLOs sent.
    pub hellos_sent: u32,
    /// Handshakes answered, and repeated hellos.
    pub hellos_answered: u32,
    /// Hellos that repeated a handshake already answered or completed.
    pub hello_duplicates: u32,
    /// Duplicates dropped.
    pub duplicates: u32,
    /// Out-of-order arrivals (buffered).
    pub out_of_order: u32,
    /// Reliable messages outside the receive window (dropped; the sender retransmits).
    pub out_of_window: u32,
    /// Times send refused a message (window full).
    pub send_full: u32,
    /// Times the peer's window blocked transmission.
    pub window_stalls: u32,
    /// Frames for another session (dropped).
    pub stale_session: u32,
    /// Frames of a link that carry no session tag (DATA without SEQ; dropped).
    pub untagged: u32,
    /// Frames in a form this side did not announce (dropped).
    pub not_negotiated: u32,
    /// Hellos carrying this side's own nonce (a reflection, or a peer with the same seed; dropped).
    pub reflected: u32,
    /// Frames valid on the wire but not in this state (e.g. a HELLO with a bad record).
    pub unexpected: u32,
    /// Acks for sequence numbers never sent (dropped).
    pub bad_ack: u32,
    /// Payloads larger than this link's message size (dropped).
    pub too_large: u32,
    /// Messages that failed to decompress (dropped).
    pub decompress_failed: u32,
    /// Best-effort messages replaced by a newer one before the application took them.
    pub unreliable_overwritten: u32,
    /// Sessions started.
    pub sessions: u32,
    /// Sessions ended.
    pub link_downs: u32,
    /// Messages discarded when sessions ended.
    pub discarded_on_reset: u32,
    /// Events dropped because the application did not poll them (the oldest UP first; a DOWN
    /// only when no UP is queued).
    pub events_dropped: u32,
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
    /// FEC: PARITY frames sent.
    pub parity_sent: u32,
    /// FEC: PARITY frames of a closed group left unsent (another protected frame went first).
    pub parity_dropped: u32,
    /// FEC: PARITY frames of a closed group left unsent because the peer had acknowledged enough of
    /// the group that it could not need them.
    pub parity_unneeded: u32,
    /// FEC: frames rebuilt from parity.
    pub fec_recovered: u32,
    /// FEC: groups that lost more than their parity repairs (retransmission repaired them).
    pub fec_unrecoverable: u32,
    /// FEC: PARITY payloads refused, and groups given up because their parity disagrees with
    /// their data.
    pub parity_rejected: u32,
    /// Framing rejects by reason.
    pub framing: ferrule_decoder_stats_t,
    /// Messages sent compressed.
    pub compressed: u32,
    /// Message bytes given to compression.
    pub compress_bytes_in: u64,
    /// Payload bytes after compression.
    pub compress_bytes_out: u64,
}

/// Copies the link's counters into `*out`. Returns `FERRULE_OK` or `FERRULE_ERR_NULL`.
/// Stack: 420 bytes on Cortex-M0, 380 on Cortex-M4F. Not from an interrupt.
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
        let c = l.codec().map(|c| c.stats()).unwrap_or_default();
        // SAFETY: `out` is non-NULL, aligned and writable (the caller's contract).
        // `ferrule_link_stats_t` begins with exactly the layout of `LinkStats`: both are
        // `repr(C)` and every field's offset is checked below. That prefix is first written
        // whole with a valid `LinkStats` (all zero), so the reference made to it next points
        // to an initialised value; the statistics are then written into it field by field,
        // with no copy of the struct on the stack.
        unsafe {
            let prefix = out.cast::<LinkStats>();
            prefix.write(LinkStats::new());
            l.write_stats(&mut *prefix);
            (*out).compressed = c.compressed as u32;
            (*out).compress_bytes_in = c.bytes_in;
            (*out).compress_bytes_out = c.bytes_out;
        }
        ferrule_status::FERRULE_OK
    })
}

/// Checks at compile time that `ferrule_link_stats_t` begins with the layout of `LinkStats`
/// (C name = Rust name): every field at the same offset, the framing counters of one size,
/// and the compression counters after the last of them.
macro_rules! same_layout {
    ($($c:ident = $r:ident,)*) => {
        $(const _: () = assert!(
            core::mem::offset_of!(ferrule_link_stats_t, $c) == core::mem::offset_of!(LinkStats, $r)
        );)*
    };
}
same_layout! {
    rtt_min_ms = rtt_min,
    srtt_ms = srtt,
    rttvar_ms = rttvar,
    rto_ms = rto,
    bytes_sent = bytes_sent,
    frames_sent = frames_sent,
    frames_received = frames_received,
    sent_reliable = sent_reliable,
    sent_unreliable = sent_unreliable,
    delivered_reliable = delivered_reliable,
    delivered_unreliable = delivered_unreliable,
    rdata_frames_sent = rdata_frames_sent,
    data_frames_sent = data_frames_sent,
    retransmissions = retransmissions,
    fast_retransmits = fast_retransmits,
    spurious_retransmissions = spurious_retransmissions,
    timeouts = timeouts,
    acks_sent = acks_sent,
    keepalives_sent = keepalives_sent,
    probes_sent = probes_sent,
    hellos_sent = hellos_sent,
    hellos_answered = hellos_answered,
    hello_duplicates = hello_duplicates,
    duplicates = duplicates,
    out_of_order = out_of_order,
    out_of_window = out_of_window,
    send_full = send_full,
    window_stalls = window_stalls,
    stale_session = stale_session,
    untagged = untagged,
    not_negotiated = not_negotiated,
    reflected = reflected,
    unexpected = unexpected,
    bad_ack = bad_ack,
    too_large = too_large,
    decompress_failed = decompress_failed,
    unreliable_overwritten = unreliable_overwritten,
    sessions = sessions,
    link_downs = link_downs,
    discarded_on_reset = discarded_on_reset,
    events_dropped = events_dropped,
    auth_failed = auth_failed,
    replayed = replayed,
    too_old = too_old,
    unknown_key = unknown_key,
    unauthenticated = unauthenticated,
    parity_sent = parity_sent,
    parity_dropped = parity_dropped,
    parity_unneeded = parity_unneeded,
    fec_recovered = fec_recovered,
    fec_unrecoverable = fec_unrecoverable,
    parity_rejected = parity_rejected,
    framing = framing,
}
const _: () = assert!(size_of::<ferrule_decoder_stats_t>() == size_of::<ferrule::DecoderStats>());
const _: () = assert!(
    core::mem::offset_of!(LinkStats, framing) + size_of::<ferrule::DecoderStats>()
        == size_of::<LinkStats>()
);
const _: () =
    assert!(size_of::<LinkStats>() <= core::mem::offset_of!(ferrule_link_stats_t, compressed));
const _: () = assert!(align_of::<ferrule_link_stats_t>() >= align_of::<LinkStats>());

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;

    #[test]
    fn storage_constants_hold_on_this_target() {
        let state = if cfg!(target_pointer_width = "64") {
            FERRULE_LINK_STATE_SIZE_64
        } else {
            FERRULE_LINK_STATE_SIZE_32
        };
        assert_eq!(size_of::<ferrule_link_t>(), state);
        assert!(align_of::<ferrule_link_t>() <= FERRULE_MEMORY_ALIGN);
        // The macro's formula is the layout's.
        for (w, m) in [(4usize, 128usize), (8, 256), (1, 1), (255, 4096)] {
            let formula = align_up(
                state + w * FERRULE_LINK_SLOT_SIZE + 2 * w * m + FERRULE_LINK_FRAME_OVERHEAD + m,
                FERRULE_MEMORY_ALIGN,
            );
            assert_eq!(layout(w, m).total, formula, "{w} x {m}");
            // The best-effort block's formula (the macro's) covers its two mailboxes.
            let be = ferrule_best_effort_storage_size(m as u16);
            assert_eq!(be, align_up(2 * m, FERRULE_MEMORY_ALIGN));
        }
    }
}
