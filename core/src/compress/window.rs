//! The shared stream's history on the receiving side: the last `2^window_bits` bytes of the
//! messages of the session so far, in a ring in caller memory.

use super::{StorageError, MAX_WINDOW_BITS, MIN_WINDOW_BITS};

/// A ring of the last `2^window_bits` bytes a shared stream produced. Bytes not yet written
/// since the last [`reset`](Self::reset) are not history: a reference to them is malformed.
#[derive(Debug)]
pub struct Window<'a> {
    ring: &'a mut [u8],
    /// Where the next byte goes.
    pos: usize,
    /// Bytes of history held (at most the ring's length).
    filled: usize,
}

impl<'a> Window<'a> {
    /// Bytes of memory a window of `2^window_bits` bytes needs (`window_bits` outside 8..=15
    /// counts as the nearest).
    pub const fn storage_size(window_bits: u8) -> usize {
        let bits = if window_bits < MIN_WINDOW_BITS {
            MIN_WINDOW_BITS
        } else if window_bits > MAX_WINDOW_BITS {
            MAX_WINDOW_BITS
        } else {
            window_bits
        };
        1usize.wrapping_shl(bits as u32)
    }

    /// An empty window of `2^window_bits` (8..=15) bytes in the front of `mem`.
    pub fn new(window_bits: u8, mem: &'a mut [u8]) -> Result<Self, StorageError> {
        if !(MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&window_bits) {
            return Err(StorageError::WindowBits(window_bits));
        }
        let needed = Self::storage_size(window_bits);
        let given = mem.len();
        let ring = mem
            .get_mut(..needed)
            .ok_or(StorageError::TooSmall { needed, given })?;
        Ok(Self {
            ring,
            pos: 0,
            filled: 0,
        })
    }

    /// Forgets the history (a new session).
    pub fn reset(&mut self) {
        self.pos = 0;
        self.filled = 0;
    }

    /// Bytes of history held.
    pub fn len(&self) -> usize {
        self.filled
    }

    /// Whether no history is held.
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// Appends bytes to the history (a decoded message, or one sent raw in the stream).
    pub fn absorb(&mut self, bytes: &[u8]) {
        let size = self.ring.len();
        let (_, bytes) = crate::bytes::split(bytes, bytes.len().saturating_sub(size));
        // At most two runs: up to the end of the ring, then from its start.
        let (first, second) = crate::bytes::split(bytes, size.saturating_sub(self.pos));
        if let Some(dst) = self.ring.get_mut(self.pos..) {
            crate::bytes::copy(dst, first);
        }
        crate::bytes::copy(self.ring, second);
        self.pos = self.pos.wrapping_add(bytes.len()) & size.wrapping_sub(1);
        self.filled = self.filled.saturating_add(bytes.len()).min(size);
    }

    /// A read-only view for the inflater.
    pub(crate) fn history(&self) -> History<'_> {
        History {
            ring: self.ring,
            pos: self.pos,
            filled: self.filled,
        }
    }
}

/// A [`Window`] seen by the inflater while it decodes the next piece.
#[derive(Clone, Copy)]
pub(crate) struct History<'h> {
    ring: &'h [u8],
    pos: usize,
    filled: usize,
}

impl History<'_> {
    /// Bytes of history held.
    pub(crate) fn len(&self) -> usize {
        self.filled
    }

    /// The byte `back` (1..=len) positions before the end of the history.
    #[inline]
    pub(crate) fn back(&self, back: usize) -> u8 {
        let mask = self.ring.len().wrapping_sub(1);
        self.ring
            .get(self.pos.wrapping_sub(back) & mask)
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_bytes_across_the_wrap() {
        let mut mem = [0u8; 300];
        let mut w = Window::new(8, &mut mem).unwrap();
        assert!(w.is_empty());
        let data: Vec<u8> = (0..700u32).map(|i| (i * 7) as u8).collect();
        for chunk in data.chunks(97) {
            w.absorb(chunk);
        }
        assert_eq!(w.len(), 256);
        for back in 1..=256 {
            assert_eq!(w.history().back(back), data[data.len() - back], "{back}");
        }
        w.absorb(&data);
        assert_eq!(w.history().back(1), data[699]);
        w.reset();
        assert!(w.is_empty());
    }

    #[test]
    fn bad_sizes_are_errors() {
        let mut mem = [0u8; 255];
        assert_eq!(
            Window::new(8, &mut mem).unwrap_err(),
            StorageError::TooSmall {
                needed: 256,
                given: 255
            }
        );
        assert_eq!(
            Window::new(7, &mut mem).unwrap_err(),
            StorageError::WindowBits(7)
        );
        assert_eq!(
            Window::new(16, &mut mem).unwrap_err(),
            StorageError::WindowBits(16)
        );
    }
}
