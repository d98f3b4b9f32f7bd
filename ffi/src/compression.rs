//! Compression for a C link (`ferrule_link_enable_compression`), in memory of its own sized by
//! what the configuration uses, so firmware that never turns it on links none of its code.

use crate::link::{check_service_block, ferrule_link_t, with_link, Service, FERRULE_MEMORY_ALIGN};
use crate::{bytes, ferrule_status};
use core::mem::{align_of, size_of};
use ferrule::compress::{Codec, CodecConfig, Compressor, Dictionary, Mode, Receive};

/// Compression mode: off.
pub const FERRULE_MODE_OFF: u8 = 0;
/// Each message on its own.
pub const FERRULE_MODE_PER_MESSAGE: u8 = 1;
/// Shared window per session (reliable channels; best effort falls back to per-message).
pub const FERRULE_MODE_SHARED: u8 = 2;
/// Preset dictionary.
pub const FERRULE_MODE_DICTIONARY: u8 = 3;

/// `ferrule_compression_config_t.receive` bit: take per-message (and dictionary) payloads.
pub const FERRULE_RECEIVE_PER_MESSAGE: u8 = 1;
/// Take the peer's shared stream (a history ring of 2^`receive_window_bits` bytes).
pub const FERRULE_RECEIVE_SHARED: u8 = 2;
/// Take dynamic-Huffman blocks (about 1 KiB of tables); without it only stored and
/// fixed-Huffman blocks, which is all ferrule's own compressor and zlib's `Z_FIXED` emit.
pub const FERRULE_RECEIVE_DYNAMIC: u8 = 4;

/// What a link compresses and decompresses. Start from `ferrule_compression_config_default()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ferrule_compression_config_t {
    /// How reliable messages are sent (`FERRULE_MODE_*`). Default off.
    pub reliable: u8,
    /// How best-effort messages are sent (`FERRULE_MODE_*`; shared means per-message).
    /// Default off.
    pub unreliable: u8,
    /// What this side takes from the peer (`FERRULE_RECEIVE_*` bits). Default per-message and
    /// shared.
    pub receive: u8,
    /// log2 of the longest back-reference taken (and of the shared history ring), 8 to 15.
    /// Default 10 (1 KiB).
    pub receive_window_bits: u8,
    /// log2 of this side's compressor window, 8 to 10 (a compressor's state is 3 x 2^bits +
    /// 640 bytes, and a 516-byte work area). Default 10.
    pub send_window_bits: u8,
    /// Preset dictionary id (1 to 255; 0: no dictionary). Default 0.
    pub dictionary_id: u8,
    /// Padding; must be 0 (refused otherwise).
    pub reserved: [u8; 2],
    /// Preset dictionary bytes (the last 1024 are used), or NULL. Must stay valid and
    /// unchanged for the lifetime of the link (typically a `const` array in flash).
    pub dictionary: *const u8,
    /// Length of `dictionary`.
    pub dictionary_len: usize,
}

/// The default compression configuration: sends everything raw; takes per-message and shared
/// payloads with fixed Huffman codes over a 1 KiB window (a 1 KiB history ring); 1 KiB
/// compressor windows if sending is turned on; no dictionary.
/// Stack: 28 bytes. Reentrant: may be called from an interrupt.
#[no_mangle]
pub extern "C" fn ferrule_compression_config_default() -> ferrule_compression_config_t {
    let d = CodecConfig::DEFAULT;
    ferrule_compression_config_t {
        reliable: FERRULE_MODE_OFF,
        unreliable: FERRULE_MODE_OFF,
        receive: FERRULE_RECEIVE_PER_MESSAGE | FERRULE_RECEIVE_SHARED,
        receive_window_bits: d.receive.window_bits,
        send_window_bits: d.send_window_bits,
        dictionary_id: 0,
        reserved: [0; 2],
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

/// Validates a C compression configuration.
fn codec_config(c: &ferrule_compression_config_t) -> Result<CodecConfig<'static>, ferrule_status> {
    let bad = ferrule_status::FERRULE_ERR_INVALID_ARGUMENT;
    let known = FERRULE_RECEIVE_PER_MESSAGE | FERRULE_RECEIVE_SHARED | FERRULE_RECEIVE_DYNAMIC;
    // Unknown receive bits or a reserved byte set (a newer header's field) are refused.
    if c.receive & !known != 0 || c.reserved != [0; 2] {
        return Err(bad);
    }
    let dictionary = match (c.dictionary_id, bytes(c.dictionary, c.dictionary_len, bad)) {
        (0, _) => None,
        (_, Err(e)) => return Err(e),
        (_, Ok([])) => return Err(bad),
        // The caller keeps the dictionary alive and unchanged for the link's lifetime (see
        // `ferrule_compression_config_t.dictionary`); that is what 'static stands for here.
        (id, Ok(d)) => Some(Dictionary {
            id,
            bytes: extend(d),
        }),
    };
    let (reliable, unreliable) = (mode(c.reliable).ok_or(bad)?, mode(c.unreliable).ok_or(bad)?);
    if dictionary.is_none() && (reliable == Mode::Dictionary || unreliable == Mode::Dictionary) {
        return Err(bad);
    }
    let cfg = CodecConfig {
        reliable,
        unreliable,
        dictionary,
        receive: Receive {
            per_message: c.receive & FERRULE_RECEIVE_PER_MESSAGE != 0,
            shared: c.receive & FERRULE_RECEIVE_SHARED != 0,
            dynamic: c.receive & FERRULE_RECEIVE_DYNAMIC != 0,
            window_bits: c.receive_window_bits,
        },
        send_window_bits: c.send_window_bits,
    };
    match Compressor::validate(&cfg) {
        Ok(()) => Ok(cfg),
        Err(_) => Err(bad),
    }
}

fn extend(d: &[u8]) -> &'static [u8] {
    // SAFETY: the configuration contract requires the dictionary to outlive the link, which
    // is the only holder of this reference.
    unsafe { core::slice::from_raw_parts(d.as_ptr(), d.len()) }
}

/// Where the codec object ends and its memory begins in a compression block.
const CODEC_AREA: usize =
    size_of::<Compressor<'static>>().div_ceil(FERRULE_MEMORY_ALIGN) * FERRULE_MEMORY_ALIGN;
const _: () = assert!(align_of::<Compressor<'static>>() <= FERRULE_MEMORY_ALIGN);

/// Bytes of a compression block before its buffers, on targets with 32-bit pointers: the
/// `FERRULE_COMPRESSION_STORAGE_SIZE` macro uses it. Checked against the library on every
/// target the tests build for.
pub const FERRULE_COMPRESSION_STATE_SIZE_32: usize = 248;
/// The same on targets with 64-bit pointers (hosts).
pub const FERRULE_COMPRESSION_STATE_SIZE_64: usize = 392;
#[cfg(target_pointer_width = "32")]
const _: () = assert!(CODEC_AREA == FERRULE_COMPRESSION_STATE_SIZE_32);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(CODEC_AREA == FERRULE_COMPRESSION_STATE_SIZE_64);
/// Bytes each compressor takes beyond three times its window (`3 << send_window_bits`).
pub const FERRULE_COMPRESSOR_FIXED_SIZE: usize = 640;
/// Bytes of the work area the compressors share (present when any compressor is).
pub const FERRULE_COMPRESSION_WORK_SIZE: usize = 516;
/// Bytes of the dynamic-Huffman tables (`FERRULE_RECEIVE_DYNAMIC`).
pub const FERRULE_COMPRESSION_DYNAMIC_SIZE: usize = 1012;
const _: () = assert!(FERRULE_COMPRESSION_DYNAMIC_SIZE == ferrule::compress::DYNAMIC_TABLE_BYTES);
const _: () = assert!(
    ferrule::compress::Deflater::storage_size(9)
        == 3 * 512 + FERRULE_COMPRESSOR_FIXED_SIZE + FERRULE_COMPRESSION_WORK_SIZE
);

/// The block size of a valid configuration.
/// The block of an installed codec (`ferrule_link_enable_compression` writes it at the start
/// of its block, the arena after `CODEC_AREA`): start address and bytes. Through the codec's
/// own vtable, so firmware without compression links none of it.
pub(crate) fn installed_block(codec: &dyn Codec) -> (usize, usize) {
    let start = core::ptr::from_ref(codec).cast::<u8>() as usize;
    (start, CODEC_AREA.saturating_add(codec.memory_len()))
}

fn block_size(cfg: &CodecConfig<'_>) -> usize {
    CODEC_AREA
        .saturating_add(Compressor::storage_size(cfg))
        .div_ceil(FERRULE_MEMORY_ALIGN)
        .saturating_mul(FERRULE_MEMORY_ALIGN)
}

/// Bytes of memory `ferrule_link_enable_compression` needs for `config` (a multiple of 8), or 0
/// when the configuration is invalid. Only what the configuration uses is counted: a compressor
/// per kind of mode sent (3 x 2^send_window_bits + 640 bytes each, and a 516-byte work area
/// they share), the shared history ring (2^receive_window_bits bytes) and the dynamic-Huffman
/// tables (1012 bytes) only when taken. On 32-bit targets: the default (receive only) 1.3 KiB;
/// shared stream both ways with 1 KiB windows 5504 bytes, with 512-byte windows 3456.
/// Stack: 204 bytes on Cortex-M0, 176 on Cortex-M4F. Reentrant: may be called from an
/// interrupt.
///
/// # Safety
/// `config` points to a configuration, or is NULL (then the result is 0).
#[no_mangle]
pub unsafe extern "C" fn ferrule_compression_storage_size(
    config: *const ferrule_compression_config_t,
) -> usize {
    if config.is_null() {
        return 0;
    }
    // SAFETY: checked non-NULL; the caller passes a valid configuration.
    match codec_config(unsafe { &*config }) {
        Ok(cfg) => block_size(&cfg),
        Err(_) => 0,
    }
}

/// Turns on compression for `link` (`docs/PROTOCOL.md` section 5) with its state in `mem`
/// (`ferrule_compression_storage_size(config)` bytes, aligned to 8, valid and untouched as long
/// as the link is used). This side then announces what it decompresses, and compresses what it
/// sends only as far as the peer announced it takes it. Call it right after `ferrule_link_init`
/// (a session already up ends, `FERRULE_DOWN_LOCAL_CLOSE`). The state is built in place.
///
/// Returns `FERRULE_OK`; `FERRULE_ERR_NULL` (`link`, `mem` or `config` NULL, or a dictionary id
/// with a NULL dictionary and a `dictionary_len` above 0); `FERRULE_ERR_INVALID_ARGUMENT` (a
/// mode, receive bit or window size out of range, a dictionary mode without a dictionary, a
/// dictionary id with an empty dictionary, a reserved byte not 0, `mem` overlapping the link's
/// own memory or another service's block);
/// `FERRULE_ERR_MEMORY_TOO_SMALL`;
/// `FERRULE_ERR_MEMORY_ALIGNMENT`. On an error nothing changes.
/// Stack: 456 bytes on Cortex-M0, 448 on Cortex-M4F. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_link_init`; `mem` points to `mem_len` writable bytes used for nothing
/// else; `config` to a configuration (its dictionary kept alive by the caller).
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_enable_compression(
    link: *mut ferrule_link_t,
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    config: *const ferrule_compression_config_t,
) -> ferrule_status {
    with_link(link, |l| {
        // SAFETY: the caller's contract for `mem` and `config`; `check_service_block` checks
        // the block's size, alignment and overlaps.
        let checked =
            |needed| check_service_block(link, l, mem, mem_len, needed, Service::Compression);
        match unsafe { install(mem, config, checked) } {
            Ok(codec) => {
                l.set_codec(codec as &mut dyn Codec);
                ferrule_status::FERRULE_OK
            }
            Err(s) => s,
        }
    })
}

/// The steps both links' enable calls share (`ferrule_link_enable_compression`,
/// `ferrule_compact_enable_compression`): `FERRULE_ERR_NULL` for a NULL `mem` or `config`, the
/// configuration checked, then `check` given the block's size (`block_size`) to accept `mem`,
/// then the codec built in place.
///
/// # Safety
/// `config`, when not NULL, points to a configuration; `mem`, once `check` accepted it, to that
/// many writable bytes aligned to 8, for the codec alone as long as it is used.
// Inlined into each enable call, as `build` is: the codec is then built in the caller's block.
#[inline(always)]
pub(crate) unsafe fn install(
    mem: *mut core::ffi::c_void,
    config: *const ferrule_compression_config_t,
    check: impl FnOnce(usize) -> Result<(), ferrule_status>,
) -> Result<&'static mut Compressor<'static>, ferrule_status> {
    if mem.is_null() || config.is_null() {
        return Err(ferrule_status::FERRULE_ERR_NULL);
    }
    // SAFETY: checked non-NULL; the caller passes a valid configuration.
    let cfg = codec_config(unsafe { &*config })?;
    let needed = block_size(&cfg);
    check(needed)?;
    // SAFETY: `check` accepted `mem` for `needed` bytes; the caller keeps it for the codec.
    unsafe { build(mem, needed, cfg) }
}

/// Builds the codec of `cfg` in the block at `mem`: the object at its start, its arena after
/// `CODEC_AREA`.
///
/// # Safety
/// `mem` points to `needed` (`block_size(&cfg)`) writable bytes, aligned to 8, used for
/// nothing else as long as the codec is ('static stands for that).
// Inlined into each enable call (a firmware links one of the two): as a function of its own
// it kept the codec's construction in a frame of its own, 160 B more stack on Cortex-M0.
#[inline(always)]
unsafe fn build(
    mem: *mut core::ffi::c_void,
    needed: usize,
    cfg: CodecConfig<'static>,
) -> Result<&'static mut Compressor<'static>, ferrule_status> {
    let base = mem.cast::<u8>();
    // SAFETY: `mem` holds `needed` bytes (the caller's contract) used for nothing else, valid
    // as long as the codec; the arena starts after the codec object's area, so the two do not
    // overlap.
    let arena: &'static mut [u8] = unsafe {
        core::slice::from_raw_parts_mut(base.add(CODEC_AREA), needed.saturating_sub(CODEC_AREA))
    };
    let p = base.cast::<Compressor<'static>>();
    // Written straight into the block: no second copy of the codec on the stack.
    match Compressor::new(cfg, arena) {
        // SAFETY: the block starts with CODEC_AREA >= size_of::<Compressor>() bytes, 8-aligned
        // (the caller's contract; the codec needs at most 8).
        Ok(c) => unsafe { p.write(c) },
        Err(_) => return Err(ferrule_status::FERRULE_ERR_INVALID_ARGUMENT),
    }
    // SAFETY: initialised just above; only the link refers to it from now on.
    Ok(unsafe { &mut *p })
}
