//! GF(2^8) arithmetic and the Cauchy coefficients.
//!
//! The field: polynomial `x^8 + x^4 + x^3 + x^2 + 1` (`0x11D`), generator `2` (primitive for
//! this polynomial), addition is XOR. Multiplication goes through two tables built at compile
//! time by a `const fn` and kept in flash: `EXP` (512 B, `2^i` for `i` in `0..255`, repeated
//! so a sum of two logarithms needs no reduction and every index is provably in range) and
//! `LOG` (256 B) — 768 B of flash, no RAM, no start-up cost.

/// The field polynomial, `x^8 + x^4 + x^3 + x^2 + 1`.
pub const POLY: u16 = 0x11D;

/// `2^i` for `i` in `0..510` (the 255 powers twice), then two unused zero bytes.
static EXP: [u8; 512] = TABLES.0;
/// `LOG[x]` is `i` with `2^i = x`, for `x` in `1..=255` (`LOG[0]` is unused).
static LOG: [u8; 256] = TABLES.1;

const TABLES: ([u8; 512], [u8; 256]) = tables();

const fn tables() -> ([u8; 512], [u8; 256]) {
    let mut exp = [0u8; 512];
    let mut log = [0u8; 256];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x as u8;
        exp[i + 255] = x as u8;
        log[x as usize] = i as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= POLY;
        }
        i += 1;
    }
    (exp, log)
}

/// `a · b` in the field.
#[inline]
pub fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    EXP[LOG[a as usize] as usize + LOG[b as usize] as usize]
}

/// `1 / a` in the field (`0` for `a = 0`, which has no inverse; callers never ask).
#[inline]
pub fn inv(a: u8) -> u8 {
    if a == 0 {
        return 0;
    }
    EXP[255 - LOG[a as usize] as usize]
}

/// `dst[i] ^= c · src[i]` over the common length: one row operation.
#[inline]
pub fn mul_add(dst: &mut [u8], src: &[u8], c: u8) {
    if c == 0 {
        return;
    }
    let lc = LOG[c as usize] as usize;
    for (d, &s) in dst.iter_mut().zip(src) {
        if s != 0 {
            *d ^= EXP[lc + LOG[s as usize] as usize];
        }
    }
}

/// `data[i] = c · data[i]`.
#[inline]
pub fn scale(data: &mut [u8], c: u8) {
    for d in data {
        *d = mul(*d, c);
    }
}

/// The Cauchy coefficient of data symbol `i` in parity symbol `j` of a code with `m` parity
/// symbols: `1 / (x_j ⊕ y_i)` with `x_j = j` and `y_i = m + i`.
///
/// The `x` and `y` values are distinct field elements as long as `j < m` and
/// `m + i ≤ 255`, so the denominator is never zero. Out of that range (callers never go
/// there) the result is meaningless but defined.
#[inline]
pub fn cauchy(j: u8, m: u8, i: u8) -> u8 {
    inv(j ^ m.wrapping_add(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Carry-less multiplication reduced by `POLY`, bit by bit: the reference.
    fn slow_mul(mut a: u8, mut b: u8) -> u8 {
        let mut p = 0u8;
        while b != 0 {
            if b & 1 != 0 {
                p ^= a;
            }
            let carry = a & 0x80 != 0;
            a <<= 1;
            if carry {
                a ^= (POLY & 0xFF) as u8;
            }
            b >>= 1;
        }
        p
    }

    #[test]
    fn tables_match_the_bitwise_product() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), slow_mul(a, b), "{a} * {b}");
            }
        }
    }

    #[test]
    fn generator_is_primitive_and_inverses_invert() {
        let mut seen = [false; 256];
        for &x in &EXP[..255] {
            assert!(!seen[x as usize], "2 is not primitive");
            seen[x as usize] = true;
        }
        assert!(!seen[0]);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1);
        }
        assert_eq!(inv(0), 0);
    }

    #[test]
    fn row_operations() {
        let src = [0u8, 1, 2, 0x80, 0xFF];
        let mut dst = [7u8; 5];
        mul_add(&mut dst, &src, 0x53);
        for i in 0..5 {
            assert_eq!(dst[i], 7 ^ slow_mul(src[i], 0x53));
        }
        let mut d = src;
        scale(&mut d, 0x1D);
        for i in 0..5 {
            assert_eq!(d[i], slow_mul(src[i], 0x1D));
        }
        let before = dst;
        mul_add(&mut dst, &src, 0);
        assert_eq!(dst, before);
    }

    #[test]
    fn cauchy_is_documented_formula() {
        // m = 2: x = {0, 1}, y_i = 2 + i.
        assert_eq!(cauchy(0, 2, 0), inv(2));
        assert_eq!(cauchy(1, 2, 0), inv(3));
        assert_eq!(cauchy(1, 2, 3), inv(1 ^ 5));
        for m in 1..=16u8 {
            for j in 0..m {
                for i in 0..32u8 {
                    assert_ne!(cauchy(j, m, i), 0);
                }
            }
        }
    }
}
