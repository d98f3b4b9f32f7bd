//! One exported function per constructor (and per installer) of the Rust API, each building
//! its value into a `static` the way firmware does, for the stack measurement: the C harness
//! (`tests/firmware/stack_rust.c`) paints the stack, calls one, and finds how deep it went.
//! Sizes: the largest configuration of the C measurements (8 messages of 256 bytes, every
//! compression mode, dynamic blocks accepted, 32 KiB receive window).
//!
//! Each returns 1 on success, 0 on failure. Call them in the order of [`stack_all`]: the
//! installers use the link, codec and guard built before them.
#![allow(static_mut_refs)]

use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use ferrule::compress::{
    Codec, CodecConfig, Compressor, Deflater, Inflater, Mode, Receive, Window, DYNAMIC_TABLE_BYTES,
};
use ferrule::link::{frame_buffer_len, Config, Link, LinkStorage};
use ferrule::StreamDecoder;

const SW: usize = 8;
const SM: usize = 256;
type Big = LinkStorage<SW, SM, { frame_buffer_len(SM) }>;

/// Every mode sent, everything received, the largest windows.
const FULL: CodecConfig<'static> = CodecConfig {
    reliable: Mode::Shared,
    unreliable: Mode::PerMessage,
    receive: Receive {
        dynamic: true,
        window_bits: 15,
        ..Receive::DEFAULT
    },
    ..CodecConfig::DEFAULT
};

static mut STORAGE: Big = Big::new();
static mut LINK: MaybeUninit<Link<'static>> = MaybeUninit::uninit();
static mut CODEC_MEM: [u8; Compressor::storage_size(&FULL)] = [0; Compressor::storage_size(&FULL)];
static mut CODEC: MaybeUninit<Compressor<'static>> = MaybeUninit::uninit();
#[cfg(feature = "aead")]
static mut GUARD: MaybeUninit<ferrule::link::Guard> = MaybeUninit::uninit();
static mut DEFLATE_MEM: [u8; Deflater::storage_size(10)] = [0; Deflater::storage_size(10)];
static mut DEFLATER: MaybeUninit<Deflater<'static>> = MaybeUninit::uninit();
static mut TABLES: [u8; DYNAMIC_TABLE_BYTES] = [0; DYNAMIC_TABLE_BYTES];
static mut INFLATER: MaybeUninit<Inflater<'static>> = MaybeUninit::uninit();
static mut RING_MEM: [u8; Window::storage_size(15)] = [0; Window::storage_size(15)];
static mut WINDOW: MaybeUninit<Window<'static>> = MaybeUninit::uninit();
static mut DECODER: MaybeUninit<StreamDecoder<{ frame_buffer_len(SM) }>> = MaybeUninit::uninit();
static mut BUILT: u32 = 0;

/// `LinkStorage::new()` evaluated at run time into a `static` (firmware normally has it
/// evaluated at compile time: `static S: LinkStorage<..> = LinkStorage::new()`).
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn stack_link_storage_new() -> u32 {
    // SAFETY: single-threaded harness; nothing borrows STORAGE yet.
    unsafe { *addr_of_mut!(STORAGE) = Big::new() };
    1
}

/// A link over the static storage, built in its static the way firmware does:
/// `Link::check`, then `Link::init_in` (`Link::new` returns the link by value, for hosts).
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn stack_link_new() -> u32 {
    // SAFETY: single-threaded harness; STORAGE is lent to LINK only (for the program's life).
    let buffers = unsafe { (*addr_of_mut!(STORAGE)).buffers() };
    match Link::check(Config::default(), buffers) {
        Ok(setup) => {
            // SAFETY: as above.
            Link::init_in(unsafe { &mut *addr_of_mut!(LINK) }, setup, 0x5eed);
            mark(1)
        }
        Err(_) => 0,
    }
}

/// `Compressor::new` over static memory.
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn stack_compressor_new() -> u32 {
    // SAFETY: single-threaded harness; CODEC_MEM is lent to CODEC only.
    let mem = unsafe { &mut *addr_of_mut!(CODEC_MEM) };
    match Compressor::new(FULL, mem) {
        Ok(c) => {
            // SAFETY: as above.
            unsafe { (*addr_of_mut!(CODEC)).write(c) };
            mark(2)
        }
        Err(_) => 0,
    }
}

/// `Guard::new` (feature `aead`; 1 without it, so the harness's list stays the same).
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn stack_guard_new() -> u32 {
    #[cfg(feature = "aead")]
    {
        let key = core::hint::black_box([0x42u8; 32]);
        // SAFETY: single-threaded harness.
        unsafe { (*addr_of_mut!(GUARD)).write(ferrule::link::Guard::new(1, &key)) };
    }
    mark(4)
}

/// `Link::set_codec` with the static compressor.
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn stack_set_codec() -> u32 {
    if built() & 3 != 3 {
        return 0;
    }
    // SAFETY: both were initialised (checked); single-threaded harness.
    unsafe {
        let link = (*addr_of_mut!(LINK)).assume_init_mut();
        link.set_codec((*addr_of_mut!(CODEC)).assume_init_mut() as &mut dyn Codec);
    }
    1
}

/// `Link::enable_aead` with the static guard (feature `aead`).
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn stack_enable_aead() -> u32 {
    #[cfg(feature = "aead")]
    {
        if built() & 5 != 5 {
            return 0;
        }
        // SAFETY: both were initialised (checked); single-threaded harness.
        unsafe {
            let link = (*addr_of_mut!(LINK)).assume_init_mut();
            link.enable_aead(
                (*addr_of_mut!(GUARD)).assume_init_mut() as &mut dyn ferrule::link::Sealer
            );
        }
    }
    1
}

/// `Deflater::new` (1 KiB window) over static memory.
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn stack_deflater_new() -> u32 {
    // SAFETY: single-threaded harness; DEFLATE_MEM is lent to DEFLATER only.
    let mem = unsafe { &mut *addr_of_mut!(DEFLATE_MEM) };
    match Deflater::new(10, mem) {
        Ok(d) => {
            // SAFETY: as above.
            unsafe { (*addr_of_mut!(DEFLATER)).write(d) };
            1
        }
        Err(_) => 0,
    }
}

/// `Inflater::with_dynamic` (32 KiB window) over static tables.
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn stack_inflater_new() -> u32 {
    // SAFETY: single-threaded harness; TABLES is lent to INFLATER only.
    let tables = unsafe { &mut *addr_of_mut!(TABLES) };
    match Inflater::with_dynamic(15, tables) {
        Ok(i) => {
            // SAFETY: as above.
            unsafe { (*addr_of_mut!(INFLATER)).write(i) };
            1
        }
        Err(_) => 0,
    }
}

/// `Window::new` (a 32 KiB shared-stream history) over static memory.
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn stack_window_new() -> u32 {
    // SAFETY: single-threaded harness; RING_MEM is lent to WINDOW only.
    let mem = unsafe { &mut *addr_of_mut!(RING_MEM) };
    match Window::new(15, mem) {
        Ok(w) => {
            // SAFETY: as above.
            unsafe { (*addr_of_mut!(WINDOW)).write(w) };
            1
        }
        Err(_) => 0,
    }
}

/// `StreamDecoder::new` (a 256-byte-message link's frame buffer inside) into a static.
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn stack_decoder_new() -> u32 {
    // SAFETY: single-threaded harness.
    unsafe { (*addr_of_mut!(DECODER)).write(StreamDecoder::new()) };
    1
}

fn mark(bit: u32) -> u32 {
    // SAFETY: single-threaded harness.
    unsafe { *addr_of_mut!(BUILT) |= bit };
    1
}

fn built() -> u32 {
    // SAFETY: single-threaded harness.
    unsafe { *addr_of_mut!(BUILT) }
}

/// How many functions [`stack_all`] calls.
pub const ALL: u32 = 10;

/// Every function above, in order; returns how many succeeded.
pub fn stack_all() -> u32 {
    stack_link_storage_new()
        + stack_link_new()
        + stack_compressor_new()
        + stack_guard_new()
        + stack_set_codec()
        + stack_enable_aead()
        + stack_deflater_new()
        + stack_inflater_new()
        + stack_window_new()
        + stack_decoder_new()
}

// ------------------------------------------------------------------------------------------
// The compact link (`ferrule::compact`): its constructors, for the same measurement, at the
// size of the largest compact configuration of tests/firmware/stack_compact.c (16 messages of
// 1024 bytes). A block of its own (with its own list, `stack_compact_all`) so it merges apart
// from the size probes of lib.rs.

use ferrule::compact::{memory_len, CompactConfig, CompactLink, CompactStorage};

const CW: usize = 16;
const CM: usize = 1024;
type CompactBig = CompactStorage<{ memory_len(CW, CM) }>;

static mut COMPACT_STORAGE: CompactBig = CompactBig::new();
static mut COMPACT_LINK: MaybeUninit<CompactLink<'static>> = MaybeUninit::uninit();

/// `CompactStorage::new()` evaluated at run time into a `static` (firmware normally has it
/// evaluated at compile time: `static S: CompactStorage<..> = CompactStorage::new()`).
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn stack_compact_storage_new() -> u32 {
    // SAFETY: single-threaded harness; nothing borrows COMPACT_STORAGE yet.
    unsafe { *addr_of_mut!(COMPACT_STORAGE) = CompactBig::new() };
    1
}

/// `CompactLink::new` over the static storage, written into its static the way firmware does.
#[cfg_attr(not(feature = "alone"), no_mangle)]
pub extern "C" fn stack_compact_link_new() -> u32 {
    let cfg = CompactConfig {
        window: CW as u8,
        max_message: CM as u16,
        ..CompactConfig::DEFAULT
    };
    // SAFETY: single-threaded harness; COMPACT_STORAGE is lent to COMPACT_LINK only (for the
    // program's life).
    let mem = unsafe { (*addr_of_mut!(COMPACT_STORAGE)).memory() };
    match CompactLink::new(core::hint::black_box(cfg), 0x5eed, mem) {
        Ok(link) => {
            // SAFETY: as above.
            unsafe { (*addr_of_mut!(COMPACT_LINK)).write(link) };
            1
        }
        Err(_) => 0,
    }
}

/// How many functions [`stack_compact_all`] calls.
pub const COMPACT_ALL: u32 = 2;

/// The compact link's functions above, in order; returns how many succeeded.
pub fn stack_compact_all() -> u32 {
    stack_compact_storage_new() + stack_compact_link_new()
}

#[cfg(test)]
mod compact_tests {
    #[test]
    fn every_compact_constructor_builds() {
        assert_eq!(super::stack_compact_all(), super::COMPACT_ALL);
    }
}
