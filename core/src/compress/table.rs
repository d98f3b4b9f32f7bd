//! `u16` tables stored as little-endian byte pairs, so that every table of a codec lives in the
//! one `&mut [u8]` its caller provides, without `unsafe` casts. Entry `i` is bytes `2i, 2i + 1`.

/// Entry `i` of a byte-pair table (0 past its end: callers index within their tables).
#[inline(always)]
pub(crate) fn get(t: &[u8], i: usize) -> u16 {
    let j = 2 * i;
    if j + 1 < t.len() {
        u16::from_le_bytes([t[j], t[j + 1]])
    } else {
        0
    }
}

/// Sets entry `i` of a byte-pair table (nothing past its end).
#[inline(always)]
pub(crate) fn set(t: &mut [u8], i: usize, v: u16) {
    let j = 2 * i;
    if j + 1 < t.len() {
        let [lo, hi] = v.to_le_bytes();
        t[j] = lo;
        t[j + 1] = hi;
    }
}

/// Sets every entry of a byte-pair table to `v`.
pub(crate) fn fill(t: &mut [u8], v: u16) {
    for pair in t.chunks_exact_mut(2) {
        pair.copy_from_slice(&v.to_le_bytes());
    }
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
    }
}
