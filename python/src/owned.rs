//! A link that owns all of its memory, codec memory included: what a Python object can hold.
//!
//! `ferrule::link::Link<'a>` borrows its compression codec, and the codec
//! (`ferrule::compress::Compressor<'a>`) borrows a block of bytes. A `#[pyclass]` cannot carry a
//! lifetime, so [`OwnedLink`] owns that block itself, lends it to the codec as `'static`, and
//! frees it only after the link (and with it the codec) is gone. This module is the only place
//! in the crate with `unsafe` code, and that ownership is all it is for.

use ferrule::compress::{Codec, CodecConfig, Compressor};
use ferrule::link::{Config, Guard, Link, LinkBuffers, Sealer, SetupError};
use std::ptr::NonNull;

/// Why a link could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// The link refused its configuration or buffers.
    Setup(SetupError),
    /// The codec refused its configuration.
    Codec(ferrule::compress::StorageError),
}

/// A heap block lent to the codec for the whole life of the link. Owned through a raw pointer
/// (not a `Box`), so that holding it asserts nothing about the borrow the codec has of it.
struct CodecMemory {
    block: NonNull<[u8]>,
}

impl CodecMemory {
    /// A zeroed block of `len` bytes, and the codec's borrow of it.
    ///
    /// The borrow is `'static` only in name: it is valid until this value is dropped. Private
    /// to this module; [`OwnedLink`] drops the only holder of the borrow first.
    fn new(len: usize) -> (Self, &'static mut [u8]) {
        let block = NonNull::from(Box::leak(vec![0u8; len].into_boxed_slice()));
        // SAFETY: `block` comes from a leaked `Box`: non-null, aligned, initialised, and
        // reachable through nothing else. The one `&mut` made here is the only access to the
        // block until `Drop` frees it, and `OwnedLink` (the only caller) keeps this value until
        // after the link holding that `&mut` has been dropped.
        let borrow: &'static mut [u8] = unsafe { &mut *block.as_ptr() };
        (Self { block }, borrow)
    }
}

impl Drop for CodecMemory {
    fn drop(&mut self) {
        // SAFETY: `block` was leaked from a `Box` in `new` and is freed only here, once.
        // The codec that borrowed it has been dropped already: `OwnedLink` declares its `link`
        // field before its `_memory` field, and fields drop in declaration order.
        drop(unsafe { Box::from_raw(self.block.as_ptr()) });
    }
}

/// A link with its buffers, codec, codec memory and sealer, all owned.
pub struct OwnedLink {
    /// The link. Declared first: dropped before `_memory`, which its codec borrows.
    link: Link<'static>,
    /// The codec's memory. Declared last: dropped after `link`.
    _memory: CodecMemory,
}

// SAFETY: `Link<'static>` is not `Send` only because it holds its codec and sealer as trait
// objects (`dyn Codec`, `dyn Sealer`) without a `Send` bound. The only objects this type ever
// installs are a `Compressor<'static>` and a `Guard`, both `Send` (checked at compile time
// below); every other part of a link is owned plain data (slices of integers and `Copy`
// structs). `CodecMemory` is a block owned exclusively by this value and borrowed only by the
// codec inside `link`. Moving an `OwnedLink` to another thread moves all of it together, and
// nothing in it is shared with anything outside it.
unsafe impl Send for OwnedLink {}

/// The installed objects are `Send`: the argument above holds only while this compiles.
const _: () = {
    const fn send<T: Send>() {}
    send::<Compressor<'static>>();
    send::<Guard>();
    send::<LinkBuffers<'static>>();
};

impl OwnedLink {
    /// A link over heap buffers for `window` messages of up to `max_message` bytes (with the
    /// best-effort mailboxes), compressing as `codec` says, sealing with `key` (and its id)
    /// when given. `seed` makes the handshake nonces.
    pub fn new(
        cfg: Config,
        window: usize,
        max_message: usize,
        seed: u64,
        codec: CodecConfig<'static>,
        key: Option<(u8, [u8; 32])>,
    ) -> Result<Self, BuildError> {
        // Checked before allocating: `window * max_message` bytes of an out-of-range request
        // could abort the interpreter (or overflow) before `Link::new` refuses them.
        if !(1..=255).contains(&window) {
            return Err(BuildError::Setup(SetupError::Window));
        }
        if !(1..=ferrule::frame::MAX_PAYLOAD).contains(&max_message) {
            return Err(BuildError::Setup(SetupError::MessageArea));
        }
        let buffers = LinkBuffers::alloc(window, max_message, true);
        let mut link = Link::new(cfg, seed, buffers).map_err(BuildError::Setup)?;
        let (memory, borrow) = CodecMemory::new(Compressor::storage_size(&codec));
        let compressor = Compressor::new(codec, borrow).map_err(BuildError::Codec)?;
        link.set_codec(Box::new(compressor) as Box<dyn Codec>);
        if let Some((id, key)) = key {
            link.enable_aead(Box::new(Guard::new(id, &key)) as Box<dyn Sealer>);
        }
        Ok(Self {
            link,
            _memory: memory,
        })
    }

    /// The link.
    pub fn link(&self) -> &Link<'static> {
        &self.link
    }

    /// The link, to drive it.
    pub fn link_mut(&mut self) -> &mut Link<'static> {
        &mut self.link
    }
}
