//! The coefficient matrix of a repair: at most [`MAX_M`] × [`MAX_M`] bytes on the stack.

use super::gf::mul;
use super::MAX_M;

/// An `e × e` matrix over GF(2^8), `e ≤ MAX_M`, row-major. Accessors ignore out-of-range
/// indices (reads give 0), so no path can panic.
pub(crate) struct Matrix {
    a: [u8; MAX_M * MAX_M],
    e: usize,
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
        self.a.get(r * self.e + c).copied().unwrap_or(0)
    }

    pub(crate) fn set(&mut self, r: usize, c: usize, v: u8) {
        if c < self.e {
            if let Some(x) = self.a.get_mut(r * self.e + c) {
                *x = v;
            }
        }
    }

    /// Exchanges rows `p` and `q`.
    pub(crate) fn swap_rows(&mut self, p: usize, q: usize) {
        for c in 0..self.e {
            let (x, y) = (self.get(p, c), self.get(q, c));
            self.set(p, c, y);
            self.set(q, c, x);
        }
    }

    /// Row `r` times `f`.
    pub(crate) fn scale_row(&mut self, r: usize, f: u8) {
        for c in 0..self.e {
            self.set(r, c, mul(self.get(r, c), f));
        }
    }

    /// Row `r` minus `f` times row `p` (minus is plus in GF(2^8)).
    pub(crate) fn eliminate(&mut self, r: usize, p: usize, f: u8) {
        for c in 0..self.e {
            self.set(r, c, self.get(r, c) ^ mul(f, self.get(p, c)));
        }
    }
}
