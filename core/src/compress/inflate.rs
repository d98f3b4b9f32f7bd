//! Bounded, heap-free inflate on top of `miniz_oxide`'s `DecompressorOxide`.
//!
//! Output goes through a 1 KiB ring (the deflate window we allow) and is copied to the caller's
//! buffer; anything longer than that buffer is an error, never a truncated message. The ring
//! persists between calls, so the shared-window mode continues where the last message ended.

use miniz_oxide::inflate::core::inflate_flags::TINFL_FLAG_HAS_MORE_INPUT;
use miniz_oxide::inflate::core::{decompress, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

use super::WINDOW;

/// The sync-flush tail the sender omits, then an empty final stored block: a piece that ended
/// exactly on a block boundary finishes the stream with this and nothing else.
pub(crate) const SYNC_TAIL: [u8; 9] = [0x00, 0x00, 0xFF, 0xFF, 0x01, 0x00, 0x00, 0xFF, 0xFF];

/// Why a payload did not decompress. The message is dropped and counted, never delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecompressError {
    /// Not valid deflate, or it does not end exactly at the end of the payload.
    Malformed,
    /// The output would exceed the message buffer (a bomb, or a peer with a larger limit).
    TooLarge,
    /// No preset dictionary with this id is configured.
    UnknownDictionary(u8),
    /// This representation is not enabled here (e.g. no codec, or no shared mode).
    Unsupported,
}

impl core::fmt::Display for DecompressError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed => f.write_str("malformed deflate payload"),
            Self::TooLarge => f.write_str("decompressed message exceeds the buffer"),
            Self::UnknownDictionary(id) => write!(f, "unknown dictionary id {id}"),
            Self::Unsupported => f.write_str("compression mode not enabled"),
        }
    }
}

impl core::error::Error for DecompressError {}

/// A deflate history window: the ring `DecompressorOxide` writes into.
#[derive(Clone)]
pub struct Window {
    ring: [u8; WINDOW],
    pos: usize,
}

impl Default for Window {
    fn default() -> Self {
        Self::new()
    }
}

impl Window {
    /// An empty window.
    pub const fn new() -> Self {
        Self {
            ring: [0; WINDOW],
            pos: 0,
        }
    }

    /// Forgets the history (zeroed, so a stream that reaches before its start cannot pick up
    /// an earlier message's bytes).
    pub fn reset(&mut self) {
        self.ring = [0; WINDOW];
        self.pos = 0;
    }

    /// Starts a new stand-alone stream whose history is `dict` (empty: no dictionary).
    pub fn restart(&mut self, dict: &[u8]) {
        self.reset();
        self.absorb(dict);
    }

    /// Appends bytes to the history without decoding (a shared-mode message sent raw, or a
    /// dictionary).
    pub fn absorb(&mut self, bytes: &[u8]) {
        for &b in &bytes[bytes.len().saturating_sub(WINDOW)..] {
            self.ring[self.pos] = b;
            self.pos = (self.pos + 1) % WINDOW;
        }
    }
}

/// The decompressor: `miniz_oxide`'s state (about 10.5 KB) and one window.
pub struct Inflater {
    core: DecompressorOxide,
    window: Window,
}

impl Default for Inflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Inflater {
    /// A decompressor with empty history.
    pub fn new() -> Self {
        Self {
            core: DecompressorOxide::new(),
            window: Window::new(),
        }
    }

    /// Inflates one complete raw-deflate stream (final block) into `out`.
    pub fn inflate(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize, DecompressError> {
        self.inflate_with_dictionary(&[], input, out)
    }

    /// Inflates one complete stream against a preset dictionary.
    pub fn inflate_with_dictionary(
        &mut self,
        dict: &[u8],
        input: &[u8],
        out: &mut [u8],
    ) -> Result<usize, DecompressError> {
        self.window.restart(dict);
        inflate_into(&mut self.core, &mut self.window, input, &[], out)
    }

    /// Inflates the next sync-flushed piece of a shared stream (tail omitted), continuing
    /// the history. After an error the history is undefined: reset both ends (a new session).
    pub fn inflate_piece(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<usize, DecompressError> {
        inflate_into(&mut self.core, &mut self.window, input, &SYNC_TAIL, out)
    }

    /// The window, to absorb raw messages or reset.
    pub fn window(&mut self) -> &mut Window {
        &mut self.window
    }
}

/// Inflates `input` then `tail` as one stream that must end (final block) exactly at the end
/// of the two, writing at most `out.len()` bytes.
pub(crate) fn inflate_into(
    core: &mut DecompressorOxide,
    window: &mut Window,
    input: &[u8],
    tail: &[u8],
    out: &mut [u8],
) -> Result<usize, DecompressError> {
    core.init();
    let mut written = 0;
    let mut parts = [input, tail];
    let mut part = 0;
    loop {
        let last = part + 1 == parts.len() || parts[part + 1..].iter().all(|p| p.is_empty());
        let flags = if last { 0 } else { TINFL_FLAG_HAS_MORE_INPUT };
        let (status, used, produced) =
            decompress(core, parts[part], &mut window.ring, window.pos, flags);
        let fresh = window
            .ring
            .get(window.pos..window.pos + produced)
            .ok_or(DecompressError::Malformed)?;
        out.get_mut(written..written + produced)
            .ok_or(DecompressError::TooLarge)?
            .copy_from_slice(fresh);
        written += produced;
        window.pos = (window.pos + produced) % WINDOW;
        parts[part] = parts[part].get(used..).unwrap_or(&[]);
        match status {
            TINFLStatus::Done => {
                return if parts.iter().all(|p| p.is_empty()) {
                    Ok(written)
                } else {
                    Err(DecompressError::Malformed)
                };
            }
            TINFLStatus::HasMoreOutput => {}
            TINFLStatus::NeedsMoreInput if parts[part].is_empty() && !last => part += 1,
            _ => return Err(DecompressError::Malformed),
        }
    }
}
