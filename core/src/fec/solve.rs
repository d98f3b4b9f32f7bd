//! The coefficient matrix of a repair: [`MAX_M`] × [`MAX_M`] bytes on the stack.

use super::gf::mul;
use super::MAX_M;

/// An `e × e` matrix over GF(2^8), `e ≤ MAX_M`, stored with a fixed row stride of
/// [`MAX_M`]. Indices are taken modulo [`MAX_M`], so every access is in range (no bounds
/// check, no panic path) and callers never pass larger ones.
pub(crate) struct Matrix {
    a: [u8; MAX_M * MAX_M],
    e: usize,
}

/// Position of `(r, c)`: always below `MAX_M * MAX_M`.
#[inline(always)]
fn at(r: usize, c: usize) -> usize {
    (r % MAX_M) * MAX_M + c % MAX_M
}

impl Matrix {
    /// All zero, `e × e` (`e` clamped to `MAX_M`).
    pub(crate) fn new(e: usize) -> Self {
        Self {
            a: [0; MAX_M * MAX_M],
            e: e.min(MAX_M),
        }
    }

    pub(crate) fn get(&self, r: usize, c: usize) -> u8 {
        self.a[at(r, c)]
    }

    pub(crate) fn set(&mut self, r: usize, c: usize, v: u8) {
        self.a[at(r, c)] = v;
    }

    /// Exchanges rows `p` and `q`.
    pub(crate) fn swap_rows(&mut self, p: usize, q: usize) {
        for c in 0..self.e {
            self.a.swap(at(p, c), at(q, c));
        }
    }

    /// Row `r` times `f`.
    pub(crate) fn scale_row(&mut self, r: usize, f: u8) {
        for c in 0..self.e {
            self.a[at(r, c)] = mul(self.a[at(r, c)], f);
        }
    }

    /// Row `r` minus `f` times row `p` (minus is plus in GF(2^8)).
    pub(crate) fn eliminate(&mut self, r: usize, p: usize, f: u8) {
        for c in 0..self.e {
            self.a[at(r, c)] ^= mul(f, self.a[at(p, c)]);
        }
    }
}
