//! Where a link keeps its messages: caller-provided memory, sized at run time.
//!
//! A [`Link`](super::Link) works in [`LinkBuffers`]: the send and receive slots (one per
//! message of the window each way), their message bytes, the buffer one received frame is
//! decoded and opened in, and optionally the two best-effort mailboxes. The sizes are the
//! link's configuration: the window is the number of slots, the largest message is the
//! message area divided by the window.
//!
//! - Firmware: [`LinkStorage`] holds all of it in one `static` (`const fn new`, so it is
//!   placed in `.bss` and never built on the stack).
//! - C: `ferrule_link_storage_size()` and `ferrule_link_init()` carve the same buffers out of
//!   one caller-provided block.
//! - Hosts (feature `alloc`): pass `Vec`s; `LinkBuffers::alloc` makes them.

use crate::frame::{Compression, CRC_LEN, MAX_HEADER_LEN};
use managed::ManagedSlice;

/// Bytes of the AEAD tag, reserved in the frame buffer whether or not AEAD is used, so a
/// link can turn it on without new memory.
pub(crate) const TAG_ROOM: usize = 16;
/// The hello record with its MAC (section 4.1 of `PROTOCOL.md`).
const HELLO_ROOM: usize = super::hello::Hello::SEALED_LEN;
/// Bytes a PARITY payload adds in front of the longest body it covers: `first`, `n`,
/// `index`, `m` and the symbol's length field.
const PARITY_ROOM: usize = 6;

/// The largest body of a data frame carrying a message of `m` bytes (every header field,
/// the AEAD tag, the CRC).
pub const fn data_body_len(m: usize) -> usize {
    MAX_HEADER_LEN + m + TAG_ROOM + CRC_LEN
}

/// The frame buffer a link with messages of `m` bytes needs: the largest frame it can
/// receive, which is a PARITY frame over data frames of `m`-byte messages, or a sealed hello.
pub const fn frame_buffer_len(m: usize) -> usize {
    let parity = MAX_HEADER_LEN + PARITY_ROOM + data_body_len(m) + TAG_ROOM + CRC_LEN;
    let hello = MAX_HEADER_LEN + HELLO_ROOM + CRC_LEN;
    if parity > hello {
        parity
    } else {
        hello
    }
}

/// The largest frame a link with messages of `m` bytes sends, on either transport (a
/// leading delimiter, COBS, the trailing delimiter): size `poll_transmit`'s buffer with it.
pub const fn max_frame_len(m: usize) -> usize {
    2 + crate::cobs::max_encoded_len(frame_buffer_len(m))
}

/// One reliable message awaiting acknowledgement, and what loss recovery knows of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxSlot {
    pub(crate) len: u16,
    pub(crate) channel: u8,
    pub(crate) compression: Compression,
    /// Transmissions so far (0: queued, never sent).
    pub(crate) tx_count: u8,
    /// Declared lost (by evidence or timeout): due for retransmission.
    pub(crate) lost: bool,
    /// Selectively acknowledged.
    pub(crate) sacked: bool,
    /// The latest transmission carried a timestamp (its echo identifies it).
    pub(crate) stamped: bool,
    /// Consecutive timeouts of this message (its timer grows by half with each).
    pub(crate) backoff: u8,
    /// Acknowledged transmissions sent after this one's latest (packet-threshold evidence).
    pub(crate) skips: u8,
    /// Datagrams: the second copy of this retransmission is due (see `recovery`); a copy
    /// is not counted in `tx_count`, nor against `max_retransmits`.
    pub(crate) copy_due: bool,
    /// Time of the latest transmission (ms, low 32 bits; ages use wrapping arithmetic).
    pub(crate) sent_at: u32,
    /// Order of the latest transmission among everything this side sent.
    pub(crate) tx_id: u32,
}

impl TxSlot {
    /// An empty slot.
    pub const EMPTY: Self = Self {
        len: 0,
        channel: 0,
        compression: Compression::None,
        tx_count: 0,
        lost: false,
        sacked: false,
        stamped: false,
        backoff: 0,
        skips: 0,
        copy_due: false,
        sent_at: 0,
        tx_id: 0,
    };
}

impl Default for TxSlot {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// One received message waiting for the application (or a reorder slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxSlot {
    pub(crate) len: u16,
    pub(crate) channel: u8,
    pub(crate) compression: Compression,
    pub(crate) filled: bool,
}

impl RxSlot {
    /// An empty slot.
    pub const EMPTY: Self = Self {
        len: 0,
        channel: 0,
        compression: Compression::None,
        filled: false,
    };
}

impl Default for RxSlot {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// The memory of one link. Every slice is either borrowed (`&mut`) or, with feature
/// `alloc`, owned (`Vec`).
pub struct LinkBuffers<'a> {
    /// One send slot per message of the window (1..=255 slots).
    pub tx_slots: ManagedSlice<'a, TxSlot>,
    /// One receive slot per message of the window: as many as `tx_slots`.
    pub rx_slots: ManagedSlice<'a, RxSlot>,
    /// Message bytes of the send slots: window × largest message.
    pub tx_data: ManagedSlice<'a, u8>,
    /// Message bytes of the receive slots: window × largest message.
    pub rx_data: ManagedSlice<'a, u8>,
    /// The buffer a received frame is decoded and opened in: at least
    /// [`frame_buffer_len`]`(largest message)` bytes.
    pub frame: ManagedSlice<'a, u8>,
    /// The best-effort mailboxes (one message out, one in): 2 × largest message, or empty
    /// for a link without the best-effort service (every channel is then reliable).
    pub best_effort: ManagedSlice<'a, u8>,
}

/// Why [`Link::new`](super::Link::new) refused its buffers or configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SetupError {
    /// No slots, more than 255, or different numbers of send and receive slots.
    Window,
    /// The message areas are not `window × max_message` bytes with `max_message` 1..=4096.
    MessageArea,
    /// The frame buffer is shorter than [`frame_buffer_len`] of the largest message.
    FrameBuffer,
    /// The best-effort area is neither empty nor 2 × the largest message.
    BestEffort,
    /// A timer setting is out of range: `rto_initial` or `rto_min` is 0, or `rto_min` >
    /// `rto_max`.
    Timers,
}

/// A configuration and buffers that [`Link::check`](super::Link::check) accepted, ready for
/// [`Link::from_checked`](super::Link::from_checked).
pub struct CheckedSetup<'a> {
    pub(super) cfg: super::Config,
    pub(super) buffers: LinkBuffers<'a>,
    pub(super) window: u8,
    pub(super) max_message: u16,
}

impl<'a> CheckedSetup<'a> {
    /// Takes the best-effort area out of the setup (leaving none).
    pub(super) fn take_best_effort(&mut self) -> ManagedSlice<'a, u8> {
        core::mem::replace(
            &mut self.buffers.best_effort,
            ManagedSlice::Borrowed(&mut []),
        )
    }
}

impl core::fmt::Debug for CheckedSetup<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CheckedSetup")
            .field("window", &self.window)
            .field("max_message", &self.max_message)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Display for SetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Window => "the window must be 1..=255 slots, the same each way",
            Self::MessageArea => "message areas must be window x max_message (1..=4096) bytes",
            Self::FrameBuffer => "frame buffer shorter than frame_buffer_len(max_message)",
            Self::BestEffort => "best-effort area must be empty or 2 x max_message bytes",
            Self::Timers => "rto_initial and rto_min must be non-zero, rto_min <= rto_max",
        })
    }
}

impl core::error::Error for SetupError {}

impl LinkBuffers<'_> {
    /// Window (slots each way) and largest message these buffers hold, after checking that
    /// they fit together.
    pub fn dimensions(&self) -> Result<(usize, usize), SetupError> {
        let w = self.tx_slots.len();
        if w == 0 || w > 255 || self.rx_slots.len() != w {
            return Err(SetupError::Window);
        }
        let m = self.tx_data.len() / w;
        if m == 0
            || m > crate::frame::MAX_PAYLOAD
            || self.tx_data.len() != w * m
            || self.rx_data.len() != w * m
        {
            return Err(SetupError::MessageArea);
        }
        if self.frame.len() < frame_buffer_len(m) {
            return Err(SetupError::FrameBuffer);
        }
        if !self.best_effort.is_empty() && self.best_effort.len() != 2 * m {
            return Err(SetupError::BestEffort);
        }
        Ok((w, m))
    }

    /// Heap buffers for `window` messages of `max_message` bytes each way, with the
    /// best-effort mailboxes when `best_effort`.
    #[cfg(feature = "alloc")]
    pub fn alloc(window: usize, max_message: usize, best_effort: bool) -> LinkBuffers<'static> {
        use alloc::vec;
        LinkBuffers {
            tx_slots: vec![TxSlot::EMPTY; window].into(),
            rx_slots: vec![RxSlot::EMPTY; window].into(),
            tx_data: vec![0; window * max_message].into(),
            rx_data: vec![0; window * max_message].into(),
            frame: vec![0; frame_buffer_len(max_message)].into(),
            best_effort: vec![0; if best_effort { 2 * max_message } else { 0 }].into(),
        }
    }
}

/// All the memory of a link with a window of `W` messages of up to `M` bytes and a frame
/// buffer of `F` bytes (`F` = [`frame_buffer_len`]`(M)`), in one value. Make it a `static`
/// (or a `StaticCell`) and lend it to [`Link::new`](super::Link::new) with
/// [`LinkStorage::buffers`]:
///
/// ```
/// use ferrule::link::{frame_buffer_len, Config, Link, LinkStorage};
///
/// type Storage = LinkStorage<4, 128, { frame_buffer_len(128) }>;
/// let mut storage = Storage::new();
/// let link = Link::new(Config::default(), 0x1234_5678_9abc_def0, storage.buffers()).unwrap();
/// assert_eq!(link.window(), 4);
/// assert_eq!(link.max_message(), 128);
/// ```
pub struct LinkStorage<const W: usize, const M: usize, const F: usize> {
    tx_slots: [TxSlot; W],
    rx_slots: [RxSlot; W],
    tx_data: [[u8; M]; W],
    rx_data: [[u8; M]; W],
    frame: [u8; F],
    #[cfg(feature = "best-effort")]
    best_effort: [[u8; M]; 2],
}

impl<const W: usize, const M: usize, const F: usize> LinkStorage<W, M, F> {
    const CHECK: () = {
        assert!(W >= 1 && W <= 255, "window must be 1..=255 messages");
        assert!(
            M >= 1 && M <= crate::frame::MAX_PAYLOAD,
            "message size must be 1..=4096"
        );
        assert!(
            F >= frame_buffer_len(M),
            "F must be at least frame_buffer_len(M)"
        );
    };

    /// Zeroed storage (a `const fn`: a `static` of it lives in `.bss`).
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Self {
            tx_slots: [TxSlot::EMPTY; W],
            rx_slots: [RxSlot::EMPTY; W],
            tx_data: [[0; M]; W],
            rx_data: [[0; M]; W],
            frame: [0; F],
            #[cfg(feature = "best-effort")]
            best_effort: [[0; M]; 2],
        }
    }

    /// Lends every buffer to a link (with the best-effort mailboxes when the feature is on).
    pub fn buffers(&mut self) -> LinkBuffers<'_> {
        #[cfg(feature = "best-effort")]
        let best_effort = self.best_effort.as_flattened_mut().into();
        #[cfg(not(feature = "best-effort"))]
        let best_effort = (&mut [][..]).into();
        LinkBuffers {
            tx_slots: (&mut self.tx_slots[..]).into(),
            rx_slots: (&mut self.rx_slots[..]).into(),
            tx_data: self.tx_data.as_flattened_mut().into(),
            rx_data: self.rx_data.as_flattened_mut().into(),
            frame: (&mut self.frame[..]).into(),
            best_effort,
        }
    }
}

impl<const W: usize, const M: usize, const F: usize> Default for LinkStorage<W, M, F> {
    fn default() -> Self {
        Self::new()
    }
}
