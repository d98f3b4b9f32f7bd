//! CRC-32C (Castagnoli), the frame check sequence.
//!
//! The CRC covers the whole frame body, header included (see `docs/PROTOCOL.md`, "Frame check").
//! Parameters: CRC-32/ISCSI in the `crc` catalogue — polynomial `0x1EDC6F41`, reflected in and
//! out, init `0xFFFFFFFF`, xorout `0xFFFFFFFF`, check value `0xE3069283` for `"123456789"`.
//!
//! Implementations, chosen at compile time, all bit-identical:
//! - with feature `std` (hosts): the `crc32c` crate, which uses the SSE4.2 / ARMv8 CRC32C
//!   instructions when the CPU has them (about 18 GB/s here) and a software fallback otherwise;
//! - without `std` (MCUs, default): the `crc` crate with a 256-entry table (`Table<1>`, 1 KiB of
//!   flash, roughly 6 cycles per byte on a Cortex-M4);
//! - with feature `small-crc`: a bit-by-bit loop here (60 B of flash on a Cortex-M4, roughly
//!   8x slower than the table — still far faster than any UART; the `crc` crate's `NoTable`
//!   variant costs several times the flash through its generic code). Tests check it against
//!   the crate.

/// Incremental CRC-32C over several slices.
#[derive(Clone)]
pub struct Crc32c {
    inner: Inner,
}

/// The running CRC: the `crc32c` crate's value (`std`) or the register before the final xor
/// (`small-crc`).
#[cfg(any(feature = "std", feature = "small-crc"))]
#[derive(Clone)]
struct Inner(u32);

#[cfg(all(not(feature = "std"), not(feature = "small-crc")))]
#[derive(Clone)]
struct Inner(crc::Digest<'static, u32, crc::Table<1>>);

#[cfg(all(not(feature = "std"), not(feature = "small-crc")))]
static SOFT: crc::Crc<u32, crc::Table<1>> = crc::Crc::<u32, crc::Table<1>>::new(&crc::CRC_32_ISCSI);

/// CRC-32C polynomial, bit-reversed (the register shifts right: reflected in and out).
#[cfg(all(not(feature = "std"), feature = "small-crc"))]
const POLY_REFLECTED: u32 = 0x82F6_3B78;

impl Crc32c {
    /// Starts a new checksum.
    #[inline]
    pub fn new() -> Self {
        #[cfg(feature = "std")]
        let inner = Inner(0);
        #[cfg(all(not(feature = "std"), not(feature = "small-crc")))]
        let inner = Inner(SOFT.digest());
        #[cfg(all(not(feature = "std"), feature = "small-crc"))]
        let inner = Inner(u32::MAX);
        Self { inner }
    }

    /// Adds `data` to the checksum.
    #[inline]
    pub fn update(&mut self, data: &[u8]) {
        #[cfg(feature = "std")]
        {
            self.inner.0 = crc32c::crc32c_append(self.inner.0, data);
        }
        #[cfg(all(not(feature = "std"), not(feature = "small-crc")))]
        self.inner.0.update(data);
        #[cfg(all(not(feature = "std"), feature = "small-crc"))]
        {
            self.inner.0 = bitwise(self.inner.0, data);
        }
    }

    /// Returns the finished CRC value.
    #[inline]
    pub fn finish(self) -> u32 {
        #[cfg(feature = "std")]
        return self.inner.0;
        #[cfg(all(not(feature = "std"), not(feature = "small-crc")))]
        return self.inner.0.finalize();
        #[cfg(all(not(feature = "std"), feature = "small-crc"))]
        return !self.inner.0;
    }
}

/// The `small-crc` register update, one bit at a time; one copy for every caller.
#[cfg(all(not(feature = "std"), feature = "small-crc"))]
#[inline(never)]
fn bitwise(mut c: u32, data: &[u8]) -> u32 {
    for &byte in data {
        c ^= u32::from(byte);
        for _ in 0..8 {
            c = (c >> 1) ^ (POLY_REFLECTED & (c & 1).wrapping_neg());
        }
    }
    c
}

impl Default for Crc32c {
    fn default() -> Self {
        Self::new()
    }
}

/// CRC-32C of one slice.
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    let mut c = Crc32c::new();
    c.update(data);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc::CRC_32_ISCSI.check, 0xE306_9283);
    }

    #[test]
    fn incremental_matches_one_shot_and_reference() {
        let reference = crc::Crc::<u32, crc::NoTable>::new(&crc::CRC_32_ISCSI);
        let data: [u8; 300] = core::array::from_fn(|i| (i * 7 + 3) as u8);
        for split in [0usize, 1, 17, 150, 299, 300] {
            let mut c = Crc32c::new();
            c.update(&data[..split]);
            c.update(&data[split..]);
            assert_eq!(c.finish(), reference.checksum(&data));
        }
        assert_eq!(crc32c(&[]), reference.checksum(&[]));
    }
}
