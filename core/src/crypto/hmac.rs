//! HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869).

use super::sha256::{Sha256, BLOCK_LEN, DIGEST_LEN};

/// HMAC-SHA256 of the concatenation of `parts` under `key`, into `out`: one SHA-256 state
/// for both passes, no block-sized buffers besides its own (the link calls this from deep in
/// its receive path on a microcontroller).
#[inline(never)]
pub(crate) fn hmac(key: &[u8], parts: &[&[u8]], out: &mut [u8; DIGEST_LEN]) {
    if key.len() > BLOCK_LEN {
        return hmac_long_key(key, parts, out);
    }
    let mut h = Sha256::new();
    h.key_block(key, 0x36);
    for p in parts {
        h.update(p);
    }
    h.finish_into(out);
    h.key_block(key, 0x5c);
    h.update(out);
    h.finish_into(out);
}

/// [`hmac`] with a key longer than a block: the key is its hash (RFC 2104).
#[inline(never)]
fn hmac_long_key(key: &[u8], parts: &[&[u8]], out: &mut [u8; DIGEST_LEN]) {
    let mut hashed = [0u8; DIGEST_LEN];
    let mut h = Sha256::new();
    h.update(key);
    h.finish_into(&mut hashed);
    hmac(&hashed, parts, out);
}

/// HKDF-Extract: the pseudorandom key of `ikm` under `salt`.
#[cfg(test)]
pub(crate) fn extract(salt: &[u8], ikm: &[u8], prk: &mut [u8; DIGEST_LEN]) {
    hmac(salt, &[ikm], prk);
}

/// HKDF-Expand: block `i` (1-based) of the output, given block `i - 1` in `t` (ignored for
/// the first), written over `t`. Callers take the blocks they need one at a time (no output
/// buffer of the whole length).
#[cfg(test)]
pub(crate) fn expand_block(prk: &[u8; DIGEST_LEN], info: &[u8], i: u8, t: &mut [u8; DIGEST_LEN]) {
    let previous = *t;
    let prev: &[u8] = if i > 1 { &previous } else { &[] };
    hmac(prk, &[prev, info, &[i]], t);
}

/// HKDF-Expand into `okm` (at most 255 blocks).
#[cfg(test)]
pub(crate) fn expand(prk: &[u8; DIGEST_LEN], info: &[u8], okm: &mut [u8]) {
    let mut t = [0u8; DIGEST_LEN];
    for (i, chunk) in (1..=255u8).zip(okm.chunks_mut(DIGEST_LEN)) {
        expand_block(prk, info, i, &mut t);
        chunk.copy_from_slice(&t[..chunk.len()]);
    }
}
