//! Poly1305 (RFC 8439 section 2.5) in 26-bit limbs: products fit in u64, no secret-dependent
//! branches.

use super::le32;

const MASK: u32 = 0x3ff_ffff;

/// A Poly1305 computation in progress.
pub(crate) struct Poly1305 {
    r: [u32; 5],
    h: [u32; 5],
    pad: [u32; 4],
}

impl Poly1305 {
    /// A MAC under the one-time key r ‖ s given as eight little-endian words (the first
    /// half of a ChaCha20 block).
    pub(crate) fn new(k: &[u32; 16]) -> Self {
        let [w0, w1, w2, w3, s0, s1, s2, s3, ..] = *k;
        Self {
            // r clamped (RFC 8439 section 2.5.1) and split into 26-bit limbs.
            r: [
                w0 & 0x3ff_ffff,
                ((w0 >> 26) | (w1 << 6)) & 0x3ff_ff03,
                ((w1 >> 20) | (w2 << 12)) & 0x3ff_c0ff,
                ((w2 >> 14) | (w3 << 18)) & 0x3f0_3fff,
                (w3 >> 8) & 0x00f_ffff,
            ],
            h: [0; 5],
            pad: [s0, s1, s2, s3],
        }
    }

    /// Absorbs `data` as 16-byte blocks, the last one padded with zeros to 16 bytes (the
    /// padding ChaCha20-Poly1305 specifies), every block with its high bit set.
    pub(crate) fn update_padded(&mut self, data: &[u8]) {
        for chunk in data.chunks(16) {
            let mut m = [0u8; 16];
            for (d, s) in m.iter_mut().zip(chunk) {
                *d = *s;
            }
            self.block(&m);
        }
    }

    /// Absorbs the block of ChaCha20-Poly1305's two lengths (LE u64 each).
    pub(crate) fn lengths(&mut self, aad: u64, text: u64) {
        let mut m = [0u8; 16];
        for (d, s) in m
            .iter_mut()
            .zip(aad.to_le_bytes().into_iter().chain(text.to_le_bytes()))
        {
            *d = s;
        }
        self.block(&m);
    }

    #[inline(never)]
    fn block(&mut self, m: &[u8; 16]) {
        let [r0, r1, r2, r3, r4] = self.r;
        let (s1, s2, s3, s4) = (r1 * 5, r2 * 5, r3 * 5, r4 * 5);
        let h = &mut self.h;
        let h0 = u64::from(h[0] + (le32(m) & MASK));
        let h1 = u64::from(h[1] + ((le32(&m[3..]) >> 2) & MASK));
        let h2 = u64::from(h[2] + ((le32(&m[6..]) >> 4) & MASK));
        let h3 = u64::from(h[3] + ((le32(&m[9..]) >> 6) & MASK));
        let h4 = u64::from(h[4] + ((le32(&m[12..]) >> 8) | (1 << 24)));
        let (r0, r1, r2, r3, r4) = (
            u64::from(r0),
            u64::from(r1),
            u64::from(r2),
            u64::from(r3),
            u64::from(r4),
        );
        let (s1, s2, s3, s4) = (u64::from(s1), u64::from(s2), u64::from(s3), u64::from(s4));
        let d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1;
        let mut d1 = h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2;
        let mut d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3;
        let mut d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4;
        let mut d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
        d1 += d0 >> 26;
        d2 += d1 >> 26;
        d3 += d2 >> 26;
        d4 += d3 >> 26;
        let m = u64::from(MASK);
        let h0 = (d0 & m) + (d4 >> 26) * 5;
        let h1 = (d1 & m) + (h0 >> 26);
        *h = [
            (h0 & m) as u32,
            h1 as u32,
            (d2 & m) as u32,
            (d3 & m) as u32,
            (d4 & m) as u32,
        ];
    }

    /// The tag.
    #[inline(never)]
    pub(crate) fn finish(self) -> [u8; 16] {
        let [mut h0, mut h1, mut h2, mut h3, mut h4] = self.h;
        // Full carry.
        h2 += h1 >> 26;
        h1 &= MASK;
        h3 += h2 >> 26;
        h2 &= MASK;
        h4 += h3 >> 26;
        h3 &= MASK;
        h0 += (h4 >> 26) * 5;
        h4 &= MASK;
        h1 += h0 >> 26;
        h0 &= MASK;
        // g = h + 5 - 2^130; keep g when it did not go negative (h >= p), else h.
        let mut g0 = h0 + 5;
        let mut g1 = h1 + (g0 >> 26);
        g0 &= MASK;
        let mut g2 = h2 + (g1 >> 26);
        g1 &= MASK;
        let mut g3 = h3 + (g2 >> 26);
        g2 &= MASK;
        let g4 = (h4 + (g3 >> 26)).wrapping_sub(1 << 26);
        g3 &= MASK;
        let keep_g = (g4 >> 31).wrapping_sub(1); // all ones when g4 did not borrow
        let pick = |h: u32, g: u32| (h & !keep_g) | (g & keep_g);
        let (h0, h1, h2, h3, h4) = (
            pick(h0, g0),
            pick(h1, g1),
            pick(h2, g2),
            pick(h3, g3),
            pick(h4, g4 & MASK),
        );
        // To 128 bits, plus s.
        let words = [
            h0 | (h1 << 26),
            (h1 >> 6) | (h2 << 20),
            (h2 >> 12) | (h3 << 14),
            (h3 >> 18) | (h4 << 8),
        ];
        let [p0, p1, p2, p3] = self.pad;
        let f0 = u64::from(words[0]) + u64::from(p0);
        let f1 = u64::from(words[1]) + u64::from(p1) + (f0 >> 32);
        let f2 = u64::from(words[2]) + u64::from(p2) + (f1 >> 32);
        let f3 = u64::from(words[3]) + u64::from(p3) + (f2 >> 32);
        let [a0, a1, a2, a3] = (f0 as u32).to_le_bytes();
        let [b0, b1, b2, b3] = (f1 as u32).to_le_bytes();
        let [c0, c1, c2, c3] = (f2 as u32).to_le_bytes();
        let [d0, d1, d2, d3] = (f3 as u32).to_le_bytes();
        [
            a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3,
        ]
    }
}
