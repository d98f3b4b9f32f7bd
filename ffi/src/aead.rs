//! Authenticated encryption for a C link (`ferrule_link_enable_aead`), in memory of its own so
//! firmware that never turns it on links none of its code.

use crate::link::{check_service_block, ferrule_link_t, with_link, Service, FERRULE_KEY_LEN};
use crate::{bytes, ferrule_status};

/// Bytes of memory `ferrule_link_enable_aead` needs when the library has AEAD, any target: the
/// same number as `ferrule_aead_storage_size()`, usable where a constant is needed (checked
/// against the library on every target the tests build for).
pub const FERRULE_AEAD_STORAGE_SIZE: usize = 392;

/// Bytes of memory `ferrule_link_enable_aead` needs (a multiple of 8, `FERRULE_AEAD_STORAGE_SIZE`:
/// 392); 0 when the library was built without AEAD.
/// Stack: 8 bytes. Reentrant: may be called from an interrupt.
#[no_mangle]
pub extern "C" fn ferrule_aead_storage_size() -> usize {
    imp::SIZE
}

/// Turns on authenticated encryption for `link` (`docs/PROTOCOL.md` section 6) with the
/// 32-byte pre-shared `key`, named `key_id` on the wire, keeping its state in `mem`
/// (`ferrule_aead_storage_size()` bytes, aligned to 8, valid and untouched as long as the link
/// is used). From now on every frame is sealed and unsealed ones are dropped; each session gets
/// its own keys from a handshake that both sides make fresh, so no recorded frame is ever
/// accepted again. Call it right after `ferrule_link_init` (a session already up ends,
/// `FERRULE_DOWN_LOCAL_CLOSE`). The seed given to `ferrule_link_init` must then never repeat on
/// any device holding the key (see there). The key is copied; the caller may erase its buffer
/// afterwards.
///
/// Returns `FERRULE_OK`; `FERRULE_ERR_NULL` (`link`, `mem` or `key` NULL);
/// `FERRULE_ERR_BAD_KEY_LENGTH` (`key_len` is not 32); `FERRULE_ERR_UNSUPPORTED` (library built
/// without AEAD); `FERRULE_ERR_MEMORY_TOO_SMALL`; `FERRULE_ERR_MEMORY_ALIGNMENT`;
/// `FERRULE_ERR_INVALID_ARGUMENT` (`mem` overlaps the link's own memory or another service's block). On an error nothing
/// changes.
/// Stack: 468 bytes on Cortex-M0, 448 on Cortex-M4F (with a session up, which it ends). Not
/// from an interrupt (nor while another call on the same link may be running).
///
/// # Safety
/// `link` from `ferrule_link_init`; `mem` points to `mem_len` writable bytes that are not used
/// for anything else; `key` points to `key_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_enable_aead(
    link: *mut ferrule_link_t,
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    key_id: u8,
    key: *const u8,
    key_len: usize,
) -> ferrule_status {
    with_link(link, |l| {
        if mem.is_null() || key.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        let key = match bytes(key, key_len, ferrule_status::FERRULE_ERR_BAD_KEY_LENGTH) {
            Ok(key) => key,
            Err(e) => return e,
        };
        let Ok(key) = <&[u8; FERRULE_KEY_LEN]>::try_from(key) else {
            return ferrule_status::FERRULE_ERR_BAD_KEY_LENGTH;
        };
        if imp::SIZE == 0 {
            return ferrule_status::FERRULE_ERR_UNSUPPORTED;
        }
        if let Err(s) = check_service_block(link, l, mem, mem_len, imp::SIZE, Service::Aead) {
            return s;
        }
        imp::enable(l, mem, key_id, key)
    })
}

/// Rekeys a link with AEAD on: seals with the new 32-byte `key`, named `key_id`, from now on
/// and still opens frames under the previous one; the session continues. Rekey both sides;
/// frames that reach a side before it has the new key are dropped (counted in `unknown_key`) and
/// retransmitted, so rekeying both within the retry budget loses nothing on reliable channels.
///
/// Returns `FERRULE_OK`, `FERRULE_ERR_NULL`, `FERRULE_ERR_BAD_KEY_LENGTH` (`key_len` is not 32),
/// `FERRULE_ERR_UNSUPPORTED` (AEAD not enabled on this link, or not built in).
/// Stack: 824 bytes on Cortex-M0, 784 on Cortex-M4F (it derives the session keys
/// again: HKDF-SHA256). Not from an interrupt.
///
/// # Safety
/// `link` from `ferrule_link_init`; `key` points to `key_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferrule_link_set_key(
    link: *mut ferrule_link_t,
    key_id: u8,
    key: *const u8,
    key_len: usize,
) -> ferrule_status {
    with_link(link, |l| {
        if key.is_null() {
            return ferrule_status::FERRULE_ERR_NULL;
        }
        let key = match bytes(key, key_len, ferrule_status::FERRULE_ERR_BAD_KEY_LENGTH) {
            Ok(key) => key,
            Err(e) => return e,
        };
        let Ok(key) = <&[u8; FERRULE_KEY_LEN]>::try_from(key) else {
            return ferrule_status::FERRULE_ERR_BAD_KEY_LENGTH;
        };
        if l.set_key(key_id, key) {
            ferrule_status::FERRULE_OK
        } else {
            ferrule_status::FERRULE_ERR_UNSUPPORTED
        }
    })
}

#[cfg(feature = "aead")]
mod imp {
    use crate::ferrule_status;
    use crate::link::FERRULE_MEMORY_ALIGN;
    use ferrule::link::{Guard, Link, Sealer};

    /// The guard's size, aligned.
    pub(super) const SIZE: usize =
        core::mem::size_of::<Guard>().div_ceil(FERRULE_MEMORY_ALIGN) * FERRULE_MEMORY_ALIGN;
    const _: () = assert!(core::mem::align_of::<Guard>() <= FERRULE_MEMORY_ALIGN);
    const _: () = assert!(SIZE == super::FERRULE_AEAD_STORAGE_SIZE);

    pub fn enable(
        l: &mut Link<'static>,
        mem: *mut core::ffi::c_void,
        key_id: u8,
        key: &[u8; 32],
    ) -> ferrule_status {
        let p = mem.cast::<Guard>();
        // SAFETY: the caller checked that `mem` is non-NULL, 8-aligned (Guard needs at most
        // 8) and holds SIZE >= size_of::<Guard>() bytes used for nothing else, valid as long
        // as the link ('static stands for that).
        let guard: &'static mut Guard = unsafe {
            p.write(Guard::new(key_id, key));
            &mut *p
        };
        l.enable_aead(guard as &mut dyn Sealer);
        ferrule_status::FERRULE_OK
    }
}

#[cfg(not(feature = "aead"))]
mod imp {
    use crate::ferrule_status;
    use ferrule::link::Link;

    pub(super) const SIZE: usize = 0;

    pub fn enable(
        _: &mut Link<'static>,
        _: *mut core::ffi::c_void,
        _: u8,
        _: &[u8; 32],
    ) -> ferrule_status {
        ferrule_status::FERRULE_ERR_UNSUPPORTED
    }
}
