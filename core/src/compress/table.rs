//! Tables in caller memory: `u16` and `u32` entries stored as little-endian byte groups, so
//! that every table of a codec lives in the one `&mut [u8]` its caller provides, without
//! `unsafe` casts (entry `i` of a `u16` table is bytes `2i, 2i + 1`), and the areas that memory
//! is cut into.

/// Entry `i` of a byte-pair table (0 past its end: callers index within their tables).
#[inline(always)]
pub(crate) fn get(t: &[u8], i: usize) -> u16 {
    let at = i.wrapping_mul(2);
    match t.get(at..at.wrapping_add(2)) {
        Some(&[lo, hi]) => u16::from_le_bytes([lo, hi]),
        _ => 0,
    }
}

/// Sets entry `i` of a byte-pair table (nothing past its end).
#[inline(always)]
pub(crate) fn set(t: &mut [u8], i: usize, v: u16) {
    let at = i.wrapping_mul(2);
    if let Some([lo, hi]) = t.get_mut(at..at.wrapping_add(2)) {
        [*lo, *hi] = v.to_le_bytes();
    }
}

/// Sets every entry of a byte-pair table to `v`.
pub(crate) fn fill(t: &mut [u8], v: u16) {
    for pair in t.chunks_exact_mut(2) {
        if let [lo, hi] = pair {
            [*lo, *hi] = v.to_le_bytes();
        }
    }
}

/// Entry `i` of a table of `u32` quads (`u32::MAX` past its end).
#[inline(always)]
pub(crate) fn get32(t: &[u8], i: usize) -> u32 {
    let at = i.wrapping_mul(4);
    match t.get(at..at.wrapping_add(4)) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => u32::MAX,
    }
}

/// Sets entry `i` of a table of `u32` quads (nothing past its end).
#[inline(always)]
pub(crate) fn set32(t: &mut [u8], i: usize, v: u32) {
    let at = i.wrapping_mul(4);
    if let Some([a, b, c, d]) = t.get_mut(at..at.wrapping_add(4)) {
        [*a, *b, *c, *d] = v.to_le_bytes();
    }
}

/// Cuts the first `n` bytes off `mem` and returns them (`None`, leaving `mem` empty, if it is
/// shorter).
pub(crate) fn take<'m>(mem: &mut &'m mut [u8], n: usize) -> Option<&'m mut [u8]> {
    let (front, rest) = core::mem::take(mem).split_at_mut_checked(n)?;
    *mem = rest;
    Some(front)
}

#[cfg(test)]
mod tests {
    #[test]
    fn pairs_round_trip_and_stay_in_bounds() {
        let mut t = [0u8; 6];
        super::fill(&mut t, 0xBEEF);
        assert_eq!(super::get(&t, 2), 0xBEEF);
        super::set(&mut t, 1, 0x1234);
        assert_eq!(t, [0xEF, 0xBE, 0x34, 0x12, 0xEF, 0xBE]);
        super::set(&mut t, 3, 1);
        assert_eq!(super::get(&t, 3), 0);
        assert_eq!(super::get(&t, usize::MAX), 0);
    }

    #[test]
    fn quads_round_trip_and_stay_in_bounds() {
        let mut t = [0u8; 9];
        super::set32(&mut t, 1, 0x0102_0304);
        assert_eq!(t[4..8], [4, 3, 2, 1]);
        assert_eq!(super::get32(&t, 1), 0x0102_0304);
        super::set32(&mut t, 2, 7);
        assert_eq!(super::get32(&t, 2), u32::MAX);
        assert_eq!(super::get32(&t, usize::MAX), u32::MAX);
    }

    #[test]
    fn areas_are_cut_in_order() {
        let mut mem = [0u8; 10];
        let mut rest = &mut mem[..];
        assert_eq!(super::take(&mut rest, 4).map(|a| a.len()), Some(4));
        assert_eq!(super::take(&mut rest, 6).map(|a| a.len()), Some(6));
        assert!(super::take(&mut rest, 1).is_none());
    }
}
