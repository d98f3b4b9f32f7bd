//! SHA-256 (FIPS 180-4) with a rolling 16-word message schedule.

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Length of a digest.
pub(crate) const DIGEST_LEN: usize = 32;
/// Length of a block.
pub(crate) const BLOCK_LEN: usize = 64;

/// A SHA-256 computation in progress.
#[derive(Clone)]
pub(crate) struct Sha256 {
    state: [u32; 8],
    buf: [u8; BLOCK_LEN],
    /// Bytes in `buf`.
    fill: usize,
    /// Bytes absorbed in all.
    total: u64,
}

impl Sha256 {
    pub(crate) const fn new() -> Self {
        Self {
            state: H0,
            buf: [0; BLOCK_LEN],
            fill: 0,
            total: 0,
        }
    }

    /// Starts over (in place).
    pub(crate) fn reset(&mut self) {
        self.state = H0;
        self.fill = 0;
        self.total = 0;
    }

    /// Absorbs a whole key block, `key` (at most a block long) zero-padded and XORed with
    /// `pad`, as the first block of a fresh state, without a block-sized copy on the stack.
    pub(crate) fn key_block(&mut self, key: &[u8], pad: u8) {
        self.reset();
        self.buf.fill(pad);
        for (b, k) in self.buf.iter_mut().zip(key) {
            *b ^= *k;
        }
        compress(&mut self.state, &self.buf);
        self.total = BLOCK_LEN as u64;
    }

    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let room = &mut self.buf[self.fill..];
            let n = room.len().min(data.len());
            let (now, rest) = data.split_at(n);
            room[..n].copy_from_slice(now);
            self.fill += n;
            data = rest;
            if self.fill == BLOCK_LEN {
                compress(&mut self.state, &self.buf);
                self.fill = 0;
            }
        }
    }

    /// Writes the digest into `out`. The state is spent (start a new one to hash again).
    pub(crate) fn finish_into(&mut self, out: &mut [u8; DIGEST_LEN]) {
        let bits = self.total.wrapping_mul(8);
        let fill = self.fill;
        for (i, b) in self.buf.iter_mut().enumerate().skip(fill) {
            *b = if i == fill { 0x80 } else { 0 };
        }
        if fill >= BLOCK_LEN - 8 {
            compress(&mut self.state, &self.buf);
            self.buf.fill(0);
        }
        for (b, v) in self
            .buf
            .iter_mut()
            .skip(BLOCK_LEN - 8)
            .zip(bits.to_be_bytes())
        {
            *b = v;
        }
        compress(&mut self.state, &self.buf);
        for (d, w) in out.chunks_mut(4).zip(&self.state) {
            d.copy_from_slice(&w.to_be_bytes());
        }
    }

    /// The digest.
    #[cfg(test)]
    pub(crate) fn finish(mut self) -> [u8; DIGEST_LEN] {
        let mut out = [0u8; DIGEST_LEN];
        self.finish_into(&mut out);
        out
    }
}

/// One block into the state.
#[inline(never)]
fn compress(state: &mut [u32; 8], block: &[u8; BLOCK_LEN]) {
    let mut w = [0u32; 16];
    for (d, s) in w.iter_mut().zip(block.chunks(4)) {
        *d = u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for t in 0..64 {
        let k = K[t];
        let wt = if t < 16 {
            w[t]
        } else {
            let w2 = w[(t + 14) & 15];
            let w15 = w[(t + 1) & 15];
            let s0 = w15.rotate_right(7) ^ w15.rotate_right(18) ^ (w15 >> 3);
            let s1 = w2.rotate_right(17) ^ w2.rotate_right(19) ^ (w2 >> 10);
            let v = w[t & 15]
                .wrapping_add(s0)
                .wrapping_add(w[(t + 9) & 15])
                .wrapping_add(s1);
            w[t & 15] = v;
            v
        };
        let t1 = h
            .wrapping_add(e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25))
            .wrapping_add((e & f) ^ (!e & g))
            .wrapping_add(k)
            .wrapping_add(wt);
        let t2 = (a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22))
            .wrapping_add((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
    state[4] = state[4].wrapping_add(e);
    state[5] = state[5].wrapping_add(f);
    state[6] = state[6].wrapping_add(g);
    state[7] = state[7].wrapping_add(h);
}
