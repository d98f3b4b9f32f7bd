//! The crate's own AEAD primitives (module `crypto`, reached through `ferrule::aead`)
//! against the RFC 8439 AEAD vector and against RustCrypto on seeded random inputs (the
//! SHA-256, HMAC, HKDF and Poly1305 vectors are the crate's unit tests).
#![cfg(feature = "aead")]

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use ferrule::aead::{
    derive_session, hello_mac, open_body, seal_body, Key, HELLO_LABEL, SESSION_LABEL, TAG_LEN,
};
use hmac::Mac;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// xorshift64*: seeded, reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn fill(&mut self, b: &mut [u8]) {
        for x in b {
            *x = self.next() as u8;
        }
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// RFC 8439 section 2.8.2: the AEAD test vector, sealed and opened through `seal_body` /
/// `open_body` (associated data first in the body, tag last).
#[test]
fn rfc8439_aead_vector() {
    let key: [u8; 32] = hex("80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f
        90 91 92 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f")
    .try_into()
    .unwrap();
    let nonce: [u8; 12] = hex("07 00 00 00 40 41 42 43 44 45 46 47")
        .try_into()
        .unwrap();
    let aad = hex("50 51 52 53 c0 c1 c2 c3 c4 c5 c6 c7");
    let text = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    let ct = hex("d3 1a 8d 34 64 8e 60 db 7b 86 af bc 53 ef 7e c2
        a4 ad ed 51 29 6e 08 fe a9 e2 b5 a7 36 ee 62 d6
        3d be a4 5e 8c a9 67 12 82 fa fb 69 da 92 72 8b
        1a 71 de 0a 9e 06 0b 29 05 d6 a5 b6 7e cd 3b 36
        92 dd bd 7f 2d 77 8b 8c 98 03 ae e3 28 09 1b 58
        fa b3 24 e4 fa d6 75 94 55 85 80 8b 48 31 d7 bc
        3f f4 de f0 8e 4b 7a 9d e5 76 d2 65 86 ce c6 4b
        61 16");
    let tag = hex("1a e1 0b 59 4f 09 e2 6a 7e 90 2e cb d0 60 06 91");
    let k = Key::new(1, &key);
    let mut body = [aad.clone(), text.to_vec(), vec![0; TAG_LEN]].concat();
    seal_body(&k, &nonce, &mut body, aad.len()).unwrap();
    assert_eq!(&body[aad.len()..aad.len() + text.len()], &ct[..]);
    assert_eq!(&body[aad.len() + text.len()..], &tag[..]);
    open_body(&k, &nonce, &mut body, aad.len()).unwrap();
    assert_eq!(&body[aad.len()..aad.len() + text.len()], &text[..]);
}

/// `hello_mac` is HMAC-SHA256(psk, label ‖ covered) truncated to 16 bytes, for covered
/// lengths across block boundaries.
#[test]
fn hello_mac_matches_rustcrypto() {
    let mut rng = Rng(0x5eed_0001);
    for len in 0..300 {
        let mut psk = [0u8; 32];
        rng.fill(&mut psk);
        let mut covered = vec![0u8; len];
        rng.fill(&mut covered);
        let mut m = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&psk).unwrap();
        m.update(HELLO_LABEL);
        m.update(&covered);
        let want = m.finalize().into_bytes();
        assert_eq!(hello_mac(&psk, &covered), want[..16], "len {len}");
    }
}

/// `derive_session` is HKDF-SHA256 with the two nonces as salt: the same as RustCrypto's HKDF
/// for many keys and nonces (the RFC 5869 vectors are checked in the crate's unit tests).
#[test]
fn derive_session_matches_rustcrypto_hkdf() {
    let mut rng = Rng(0x5eed_0002);
    for _ in 0..200 {
        let (mut psk, mut lo, mut hi) = ([0u8; 32], [0u8; 16], [0u8; 16]);
        rng.fill(&mut psk);
        rng.fill(&mut lo);
        rng.fill(&mut hi);
        let salt = [lo, hi].concat();
        let mut okm = [0u8; 69];
        hkdf::Hkdf::<sha2::Sha256>::new(Some(&salt), &psk)
            .expand(SESSION_LABEL, &mut okm)
            .unwrap();
        let s = derive_session(&psk, &lo, &hi);
        assert_eq!(s.key_lo, okm[..32]);
        assert_eq!(s.key_hi, okm[32..64]);
        assert_eq!(s.tag, okm[64]);
        assert_eq!(s.isn_lo, u16::from_le_bytes([okm[65], okm[66]]));
        assert_eq!(s.isn_hi, u16::from_le_bytes([okm[67], okm[68]]));
    }
}

/// Sealing agrees with RustCrypto's ChaCha20-Poly1305 for every length from 0 to 300 bytes
/// and associated data of 0 to 40 bytes; opening refuses any single flipped bit.
#[test]
fn seal_and_open_match_rustcrypto() {
    let mut rng = Rng(0x5eed_0003);
    for len in 0..300usize {
        let aad_len = rng.below(41);
        let mut key = [0u8; 32];
        let mut nonce = [0u8; 12];
        rng.fill(&mut key);
        rng.fill(&mut nonce);
        let mut body = vec![0u8; aad_len + len + TAG_LEN];
        rng.fill(&mut body[..aad_len + len]);
        let plain = body.clone();
        let k = Key::new(3, &key);
        seal_body(&k, &nonce, &mut body, aad_len).unwrap();
        let reference = chacha20poly1305::ChaCha20Poly1305::new((&key).into());
        let mut text = plain[aad_len..aad_len + len].to_vec();
        let tag = reference
            .encrypt_in_place_detached((&nonce).into(), &plain[..aad_len], &mut text)
            .unwrap();
        assert_eq!(&body[aad_len..aad_len + len], &text[..], "len {len}");
        assert_eq!(&body[aad_len + len..], &tag[..], "len {len}");
        let mut tampered = body.clone();
        let bit = rng.below(tampered.len() * 8);
        tampered[bit / 8] ^= 1 << (bit % 8);
        let before = tampered.clone();
        assert!(open_body(&k, &nonce, &mut tampered, aad_len).is_err());
        assert_eq!(tampered, before, "a refused body is left as it was");
        open_body(&k, &nonce, &mut body, aad_len).unwrap();
        assert_eq!(body[..aad_len + len], plain[..aad_len + len]);
    }
}
