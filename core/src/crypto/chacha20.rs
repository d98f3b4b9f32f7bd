//! ChaCha20 (RFC 8439 section 2.4) and the ChaCha20-Poly1305 AEAD (section 2.8).

use super::le32;
use super::poly1305::Poly1305;

/// "expand 32-byte k".
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

#[inline(always)]
fn quarter(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

/// Word `i` of the initial state for block `counter`.
#[inline(always)]
fn initial(i: usize, key: &[u8; 32], counter: u32, nonce: &[u8; 12]) -> u32 {
    match i {
        0..=3 => SIGMA.get(i).copied().unwrap_or(0),
        4..=11 => le32(key.get((i - 4) * 4..).unwrap_or_default()),
        12 => counter,
        _ => le32(nonce.get((i - 13) * 4..).unwrap_or_default()),
    }
}

/// The ChaCha20 block function: the 16 words of key stream for block `counter`, into `out`.
#[inline(never)]
fn block(key: &[u8; 32], counter: u32, nonce: &[u8; 12], out: &mut [u32; 16]) {
    let mut x = [0u32; 16];
    for (i, w) in x.iter_mut().enumerate() {
        *w = initial(i, key, counter, nonce);
    }
    for _ in 0..10 {
        quarter(&mut x, 0, 4, 8, 12);
        quarter(&mut x, 1, 5, 9, 13);
        quarter(&mut x, 2, 6, 10, 14);
        quarter(&mut x, 3, 7, 11, 15);
        quarter(&mut x, 0, 5, 10, 15);
        quarter(&mut x, 1, 6, 11, 12);
        quarter(&mut x, 2, 7, 8, 13);
        quarter(&mut x, 3, 4, 9, 14);
    }
    for (i, (o, w)) in out.iter_mut().zip(&x).enumerate() {
        *o = w.wrapping_add(initial(i, key, counter, nonce));
    }
}

/// XORs `data` with the key stream that starts at block `counter`.
pub(crate) fn xor(key: &[u8; 32], mut counter: u32, nonce: &[u8; 12], data: &mut [u8]) {
    let mut ks = [0u32; 16];
    for chunk in data.chunks_mut(64) {
        block(key, counter, nonce, &mut ks);
        for (bytes, w) in chunk.chunks_mut(4).zip(&ks) {
            for (b, k) in bytes.iter_mut().zip(w.to_le_bytes()) {
                *b ^= k;
            }
        }
        counter = counter.wrapping_add(1);
    }
}

/// The Poly1305 MAC of ChaCha20-Poly1305 for `nonce`: keyed with block 0 of the key stream.
#[inline(always)]
fn one_time_mac(key: &[u8; 32], nonce: &[u8; 12]) -> Poly1305 {
    let mut ks = [0u32; 16];
    block(key, 0, nonce, &mut ks);
    Poly1305::new(&ks)
}

/// The Poly1305 tag of ChaCha20-Poly1305 over `aad` and the ciphertext `text`.
#[inline(never)]
fn tag(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], text: &[u8]) -> [u8; 16] {
    let mut mac = one_time_mac(key, nonce);
    mac.update_padded(aad);
    mac.update_padded(text);
    mac.lengths(aad.len() as u64, text.len() as u64);
    mac.finish()
}

/// Encrypts `text` in place and returns the tag (RFC 8439 section 2.8).
pub(crate) fn seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], text: &mut [u8]) -> [u8; 16] {
    xor(key, 1, nonce, text);
    tag(key, nonce, aad, text)
}

/// Checks `expected` and decrypts `text` in place; `false` (and `text` untouched) when the
/// tag does not match.
pub(crate) fn open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    text: &mut [u8],
    expected: &[u8],
) -> bool {
    let t = tag(key, nonce, aad, text);
    if !crate::aead::mac_eq(&t, expected) {
        return false;
    }
    xor(key, 1, nonce, text);
    true
}
