//! Panic-free byte-slice helpers for the framing and link paths.
//!
//! `<[u8]>::copy_from_slice` and `split_at` carry a panic path for mismatched lengths. Where the
//! optimiser cannot prove the lengths, that path (and, through its source location, every
//! constant string of the crate, which the linker keeps as one section) lands in the firmware:
//! about 600 B of flash for the framing profile. These helpers have no panic path.

/// Copies `src` into the front of `dst`, as many bytes as both hold; returns that count.
/// Callers size `dst` from `src` first, so the count is `src.len()`.
#[inline]
pub(crate) fn copy(dst: &mut [u8], src: &[u8]) -> usize {
    let n = dst.len().min(src.len());
    // `i < n` bounds both: the checks fold away and the loop becomes a `memcpy`. Not
    // `copy_from_slice`: unless inlined, its length check stays, with a panic location.
    #[allow(clippy::manual_memcpy)]
    for i in 0..n {
        dst[i] = src[i];
    }
    n
}

/// `data` split before index `at` (clamped to the length).
#[inline(always)]
pub(crate) fn split(data: &[u8], at: usize) -> (&[u8], &[u8]) {
    let at = at.min(data.len());
    (
        data.get(..at).unwrap_or_default(),
        data.get(at..).unwrap_or_default(),
    )
}

/// The first eight bytes of `data` as a little-endian word (0 if there are fewer).
#[cfg(any(test, all(target_pointer_width = "64", not(feature = "small"))))]
#[inline(always)]
pub(crate) fn le_u64(data: &[u8]) -> u64 {
    data.first_chunk().copied().map_or(0, u64::from_le_bytes)
}

/// The first four bytes of `data` as a little-endian word (0 if there are fewer).
#[inline(always)]
pub(crate) fn le_u32(data: &[u8]) -> u32 {
    data.first_chunk().copied().map_or(0, u32::from_le_bytes)
}

/// The first machine word of `data`, little-endian (0 if `data` is shorter).
#[cfg(any(test, not(feature = "small")))]
#[inline(always)]
pub(crate) fn le_usize(data: &[u8]) -> usize {
    data.first_chunk().copied().map_or(0, usize::from_le_bytes)
}

/// Whether `a` and `b` are equal, in time independent of where they differ (for MACs).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_takes_the_shorter_length() {
        let mut dst = [0u8; 3];
        assert_eq!(copy(&mut dst, &[1, 2, 3, 4]), 3);
        assert_eq!(dst, [1, 2, 3]);
        let mut dst = [9u8; 4];
        assert_eq!(copy(&mut dst, &[5]), 1);
        assert_eq!(dst, [5, 9, 9, 9]);
    }

    #[test]
    fn split_clamps_and_words_read_little_endian() {
        assert_eq!(split(b"abc", 1), (&b"a"[..], &b"bc"[..]));
        assert_eq!(split(b"abc", 7), (&b"abc"[..], &b""[..]));
        assert_eq!(le_u32(&[1, 2, 3, 4, 5]), 0x0403_0201);
        assert_eq!(le_u32(&[1]), 0);
        assert_eq!(
            le_usize(&[7; 8]),
            usize::from_le_bytes([7; core::mem::size_of::<usize>()])
        );
        assert_eq!(le_u64(&[0, 0, 0, 0, 0, 0, 0, 0x80]), 0x8000_0000_0000_0000);
    }
}
