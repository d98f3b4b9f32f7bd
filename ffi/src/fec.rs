//! Forward error correction for a C link (`ferrule_link_enable_fec`), in memory of its own so
//! firmware that never turns it on links none of its code.

use crate::ferrule_status;
use crate::link::{check_service_block, ferrule_link_t, with_link, Service, FERRULE_MEMORY_ALIGN};
use core::mem::{align_of, size_of};
use ferrule::link::{Fec, FecConfig, Repair};

/// How a link uses forward error correction. Start from `ferrule_fec_config_default()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ferrule_fec_config_t {
    /// Data frames per group, 1 to 32: the group this side sends and the largest it repairs.
    /// Default 8.
    pub k: u8,
    /// Parity frames per group, 1 to 16. Default 2.
    pub m: u8,
    /// Groups the receiver keeps at once, 2 or more, with `groups * k <= 128`. Default 2.
    pub groups: u8,
    /// Protect what this side sends (it always repairs what it receives). Default true.
    pub send: bool,
}

/// The default FEC configuration: groups of 8 data frames and 2 parity frames, 2 groups kept,
/// both directions.
/// Stack: 8 bytes. Reentrant: may be called from an interrupt.
#[no_mangle]
pub extern "C" fn ferrule_fec_config_default() -> ferrule_fec_config_t {
    let d = FecConfig::DEFAULT;
    ferrule_fec_config_t {
        k: d.k,
        m: d.m,
        groups: d.groups,
        send: d.send,
    }
}

/// The configuration, if `k`, `m` and `groups` are in range.
fn fec_config(c: &ferrule_fec_config_t) -> Option<FecConfig> {
    let cfg = FecConfig {
        k: c.k,
        m: c.m,
        groups: c.groups,
        send: c.send,
    };
    cfg.is_valid().then_some(cfg)
}

/// Where the FEC object ends and its memory begins in a block.
const FEC_AREA: usize =
    size_of::<Fec<'static>>().div_ceil(FERRULE_MEMORY_ALIGN) * FERRULE_MEMORY_ALIGN;
const _: () = assert!(align_of::<Fec<'static>>() <= FERRULE_MEMORY_ALIGN);

/// The block of an installed FEC (`ferrule_link_enable_fec` writes it at the start of its
/// block, the arena after `FEC_AREA`): start address and bytes. Through its own vtable, so
/// firmware without FEC links none of it.
pub(crate) fn installed_block(fec: &dyn Repair) -> (usize, usize) {
    let start = core::ptr::from_ref(fec).cast::<u8>() as usize;
    (start, FEC_AREA.saturating_add(fec.memory_len()))
}

fn block_size(cfg: &FecConfig, max_message: usize) -> usize {
    FEC_AREA
        .saturating_add(Fec::storage_size(cfg, max_message))
        .div_ceil(FERRULE_MEMORY_ALIGN)
        .saturating_mul(FERRULE_MEMORY_ALIGN)
}

/// Bytes of memory `ferrule_link_enable_fec` needs for this configuration on a link of
/// messages of up to `max_message` bytes (aligned to 8): the sender's `m` parity
/// accumulators and the receiver's `groups` groups of bodies and parity. 0 when `config` is
/// NULL or invalid (what `ferrule_link_enable_fec` refuses: k, m or groups out of range).
/// Stack: 60 bytes on Cortex-M0, 24 on Cortex-M4F. Reentrant: may be called from an interrupt.
///
/// # Safety
/// `config` points to a configuration, or is NULL.
#[no_mangle]
pub unsafe extern "C" fn ferrule_fec_storage_size(
    config: *const ferrule_fec_config_t,
    max_message: u16,
) -> usize {
    if config.is_null() {
        return 0;
    }
    // SAFETY: checked non-NULL; the caller passes a valid configuration.
    fec_config(unsafe { &*config }).map_or(0, |cfg| block_size(&cfg, max_message.into()))
}

/// Turns on forward error correction for `link` (`docs/PROTOCOL.md` section 7) with its state
/// in `mem` (`ferrule_fec_storage_size(config, max_message)` bytes for the link's
/// `max_message`, aligned to 8, valid as long as the link and used for nothing else). This
/// side then announces the groups it repairs and protects what it sends as far as the peer
/// repairs it. Call it right after `ferrule_link_init` (a session already up ends,
/// `FERRULE_DOWN_LOCAL_CLOSE`). Stack: 676 bytes on Cortex-M0, 640 on Cortex-M4F.
///
/// Returns `FERRULE_OK`, `FERRULE_ERR_NULL`, `FERRULE_ERR_INVALID_ARGUMENT` (k, m or groups
/// out of range, or `mem` overlapping the link's own memory or another service's block), `FERRULE_ERR_MEMORY_TOO_SMALL`,
/// `FERRULE_ERR_MEMORY_ALIGNMENT`. Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_link_init`; `mem` points to `mem_len` writable bytes used for nothing
/// else; `config` to a configuration.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_enable_fec(
    link: *mut ferrule_link_t,
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    config: *const ferrule_fec_config_t,
) -> ferrule_status {
    with_link(link, |l| {
        if mem.is_null() || config.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        // Checked before the size: an out-of-range configuration may also ask for more memory.
        // SAFETY: checked non-NULL; the caller passes a valid configuration.
        let Some(cfg) = fec_config(unsafe { &*config }) else {
            return ferrule_status::FERRULE_ERR_INVALID_ARGUMENT;
        };
        let needed = block_size(&cfg, l.max_message());
        if let Err(s) = check_service_block(link, l, mem, mem_len, needed, Service::Fec) {
            return s;
        }
        let base = mem.cast::<u8>();
        // SAFETY: `mem` holds `needed` bytes (checked) used for nothing else, valid as long as
        // the link ('static stands for that); the arena starts after the FEC object's area.
        let arena: &'static mut [u8] = unsafe {
            core::slice::from_raw_parts_mut(base.add(FEC_AREA), needed.saturating_sub(FEC_AREA))
        };
        let fec = match Fec::new(cfg, l.max_message(), arena) {
            Ok(f) => f,
            Err(_) => return ferrule_status::FERRULE_ERR_INVALID_ARGUMENT,
        };
        let p = base.cast::<Fec<'static>>();
        // SAFETY: the block starts with FEC_AREA >= size_of::<Fec>() bytes, 8-aligned (checked;
        // the object needs at most 8).
        let fec: &'static mut Fec<'static> = unsafe {
            p.write(fec);
            &mut *p
        };
        l.enable_fec(fec as &mut dyn Repair);
        ferrule_status::FERRULE_OK
    })
}
