//! Fast search for the first `0x00` byte, in safe code (SWAR, a machine word at a time).

/// Index of the first zero byte in `data`: a byte at a time, the least code (feature `small`).
#[cfg(feature = "small")]
#[inline]
pub(crate) fn find_zero(data: &[u8]) -> Option<usize> {
    data.iter().position(|&b| b == 0)
}

/// Index of the first zero byte in `data`.
#[cfg(not(feature = "small"))]
#[inline]
pub(crate) fn find_zero(data: &[u8]) -> Option<usize> {
    // One machine word at a time: 8 bytes on hosts, 4 on MCUs.
    const WORD: usize = core::mem::size_of::<usize>();
    const LO: usize = usize::MAX / 0xFF;
    const HI: usize = LO << 7;
    let mut chunks = data.chunks_exact(WORD);
    let mut base = 0;
    for c in &mut chunks {
        let v = crate::bytes::le_usize(c);
        // Classic "has zero byte": the lowest flagged byte is exact (false positives can only
        // appear above a true zero).
        let z = v.wrapping_sub(LO) & !v & HI;
        if z != 0 {
            return Some(base + (z.trailing_zeros() / 8) as usize);
        }
        base += WORD;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == 0)
        .map(|i| base + i)
}

/// `data` without its byte at `at`: the bytes before and the bytes after it (empty where `at`
/// is out of range). For splitting at a zero `find_zero` found, without a panic path.
#[inline]
pub(crate) fn around(data: &[u8], at: usize) -> (&[u8], &[u8]) {
    let before = data.get(..at).unwrap_or_default();
    let after = data.get(at + 1..).unwrap_or_default();
    (before, after)
}

/// The high bit of each byte of `v` that is zero, and no other bit (exact, unlike the test in
/// [`find_zero`]).
#[cfg(any(test, all(target_pointer_width = "64", not(feature = "small"))))]
#[inline]
pub(crate) fn zero_bytes(v: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    !(((v & LOW7) + LOW7) | v | LOW7)
}

#[cfg(test)]
mod tests {
    use super::{find_zero, zero_bytes};

    #[test]
    fn zero_bytes_marks_exactly_the_zero_bytes() {
        for pattern in 0u32..256 {
            let mut v = 0u64;
            let mut want = 0u64;
            for i in 0..8 {
                if pattern & (1 << i) == 0 {
                    want |= 0x80 << (8 * i);
                } else {
                    // Non-zero bytes of every shape, 0x01 and 0x80 included.
                    let b = [0x01u64, 0x80, 0xFF, 0x7F, 0x10, 0x81, 0x02, 0xFE][i];
                    v |= b << (8 * i);
                }
            }
            assert_eq!(zero_bytes(v), want, "{v:#018x}");
        }
    }

    #[test]
    fn finds_first_zero_everywhere() {
        for len in 0..40 {
            for at in 0..len {
                let mut v = [0x80u8; 40];
                v[at] = 0;
                if at + 1 < len {
                    v[at + 1] = 0; // a second zero must not confuse it
                }
                assert_eq!(find_zero(&v[..len]), Some(at));
            }
            assert_eq!(find_zero(&[1u8; 40][..len]), None);
        }
        assert_eq!(
            find_zero(&[0x01, 0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01]),
            Some(1)
        );
        assert_eq!(
            find_zero(&[0xFF, 0x01, 0x00, 0x80, 0x01, 0x01, 0x01, 0x01]),
            Some(2)
        );
    }
}
