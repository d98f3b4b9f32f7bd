//! CRC-32C (Castagnoli), the frame check sequence.
//!
//! The CRC covers the whole frame body, header included (see `PROTOCOL.md`, "Frame check").
//! Parameters: CRC-32/ISCSI in the `crc` catalogue — polynomial `0x1EDC6F41`, reflected in and
//! out, init `0xFFFFFFFF`, xorout `0xFFFFFFFF`, check value `0xE3069283` for `"123456789"`.
//!
//! Implementations, chosen at compile time, all bit-identical:
//! - with feature `std` (hosts): the `crc32c` crate, which uses the SSE4.2 / ARMv8 CRC32C
//!   instructions when the CPU has them (about 18 GB/s here) and a software fallback otherwise;
//! - without `std` (MCUs, default): a 16-entry table, half a byte per step (64 B of table,
//!   about 100 B of code; two table lookups per byte, roughly twice the cycles of a 256-entry
//!   table and still several MB/s on a 64 MHz Cortex-M, far beyond a UART or full-speed USB).
//!   The 256-entry table (1 KiB of flash) was the default before 0.2.0; on the parts this
//!   crate is for, flash mattered more than the speed it bought;
//! - with feature `small-crc`: a bit-by-bit loop (60 B of flash on a Cortex-M4, roughly 4x
//!   slower than the 16-entry table). Tests check both against the `crc` crate.

/// Incremental CRC-32C over several slices.
#[derive(Clone)]
pub struct Crc32c {
    /// The running register before the final xor (or, with `std`, the `crc32c` crate's value).
    state: u32,
}

/// CRC-32C polynomial, bit-reversed (the register shifts right: reflected in and out).
#[cfg(not(feature = "std"))]
const POLY_REFLECTED: u32 = 0x82F6_3B78;

/// The register update for each value of its low 4 bits.
#[cfg(all(not(feature = "std"), not(feature = "small-crc")))]
static NIBBLE: [u32; 16] = nibble_table();

#[cfg(all(not(feature = "std"), not(feature = "small-crc")))]
const fn nibble_table() -> [u32; 16] {
    let mut t = [0u32; 16];
    let mut i = 0;
    while i < 16 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 4 {
            c = (c >> 1) ^ (POLY_REFLECTED & (c & 1).wrapping_neg());
            bit += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

impl Crc32c {
    /// Starts a new checksum.
    #[inline]
    pub fn new() -> Self {
        #[cfg(feature = "std")]
        return Self { state: 0 };
        #[cfg(not(feature = "std"))]
        return Self { state: u32::MAX };
    }

    /// Adds `data` to the checksum.
    #[inline]
    pub fn update(&mut self, data: &[u8]) {
        #[cfg(feature = "std")]
        {
            self.state = crc32c::crc32c_append(self.state, data);
        }
        #[cfg(not(feature = "std"))]
        {
            self.state = register(self.state, data);
        }
    }

    /// Returns the finished CRC value.
    #[inline]
    pub fn finish(self) -> u32 {
        #[cfg(feature = "std")]
        return self.state;
        #[cfg(not(feature = "std"))]
        return !self.state;
    }
}

/// The register update, half a byte per table lookup; one copy for every caller.
#[cfg(all(not(feature = "std"), not(feature = "small-crc")))]
#[inline(never)]
fn register(mut c: u32, data: &[u8]) -> u32 {
    for &byte in data {
        c ^= u32::from(byte);
        c = (c >> 4) ^ NIBBLE[(c & 0xF) as usize];
        c = (c >> 4) ^ NIBBLE[(c & 0xF) as usize];
    }
    c
}

/// The `small-crc` register update, one bit at a time; one copy for every caller.
#[cfg(all(not(feature = "std"), feature = "small-crc"))]
#[inline(never)]
fn register(mut c: u32, data: &[u8]) -> u32 {
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
