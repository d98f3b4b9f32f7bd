//! The primitives behind [`crate::aead`]: ChaCha20 and Poly1305 (RFC 8439), SHA-256
//! (FIPS 180-4), HMAC (RFC 2104) and HKDF (RFC 5869).
//!
//! Written here rather than taken from RustCrypto for one reason, measured: stack. On a
//! Cortex-M0 the RustCrypto chain (`hkdf` → `hmac` → `sha2`) needs about 2.8 KiB of stack to
//! derive a session's keys and `chacha20poly1305` about 1.1 KiB to seal a frame, against a
//! budget of 1 KiB for every call of the link, hello handling included. These versions keep
//! one block of state each (a SHA-256 message schedule of 16 words, rolled; a ChaCha20 block
//! XORed in place; Poly1305 in 26-bit limbs) and stay in a few hundred bytes. They are
//! constant-time with respect to keys and data (no secret-dependent branches or indices),
//! checked against the RFC and FIPS test vectors and, in the tests, against RustCrypto on
//! random inputs.

pub(crate) mod chacha20;
pub(crate) mod hmac;
pub(crate) mod poly1305;
pub(crate) mod sha256;

/// Reads a little-endian u32 from the first four bytes of `b` (0 when `b` is shorter).
#[inline(always)]
pub(crate) fn le32(b: &[u8]) -> u32 {
    match b {
        [a, b, c, d, ..] => u32::from_le_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::{chacha20, hmac, sha256::Sha256};

    fn hex(s: &str) -> std::vec::Vec<u8> {
        let s: std::string::String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn sha(data: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(data);
        h.finish()
    }

    /// FIPS 180-4 examples, and a million `a` fed in uneven pieces.
    #[test]
    fn sha256_vectors() {
        assert_eq!(
            sha(b"").to_vec(),
            hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(
            sha(b"abc").to_vec(),
            hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            sha(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").to_vec(),
            hex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        );
        let mut h = Sha256::new();
        let piece = [b'a'; 997];
        let mut left = 1_000_000;
        while left > 0 {
            let n = left.min(piece.len());
            h.update(&piece[..n]);
            left -= n;
        }
        assert_eq!(
            h.finish().to_vec(),
            hex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        );
    }

    /// RFC 4231 test cases 1, 2, 3, 4, 6 and 7 (case 5 truncates).
    #[test]
    fn hmac_rfc4231() {
        let cases: [(std::vec::Vec<u8>, std::vec::Vec<u8>, &str); 6] = [
            (vec![0x0b; 20], b"Hi There".to_vec(), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe".to_vec(), b"what do ya want for nothing?".to_vec(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (vec![0xaa; 20], vec![0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), vec![0xcd; 50], "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            (vec![0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            (vec![0xaa; 131], b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ];
        for (key, data, want) in cases {
            let mut out = [0u8; 32];
            hmac::hmac(&key, &[&data], &mut out);
            assert_eq!(out.to_vec(), hex(want));
        }
    }

    /// RFC 5869 test cases 1, 2 and 3.
    #[test]
    fn hkdf_rfc5869() {
        let long = |from: u16| {
            (from..from + 80)
                .map(|b| b as u8)
                .collect::<std::vec::Vec<u8>>()
        };
        type Case = (
            std::vec::Vec<u8>,
            std::vec::Vec<u8>,
            std::vec::Vec<u8>,
            &'static str,
        );
        let cases: [Case; 3] = [
            (vec![0x0b; 22], hex("000102030405060708090a0b0c"), hex("f0f1f2f3f4f5f6f7f8f9"),
             "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
            (long(0x00), long(0x60), long(0xb0),
             "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"),
            (vec![0x0b; 22], vec![], vec![],
             "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
        ];
        for (ikm, salt, info, want) in cases {
            let want = hex(want);
            let mut prk = [0u8; 32];
            hmac::extract(&salt, &ikm, &mut prk);
            let mut okm = vec![0u8; want.len()];
            hmac::expand(&prk, &info, &mut okm);
            assert_eq!(okm, want);
        }
    }

    /// RFC 8439 section 2.4.2: ChaCha20 encryption with counter 1.
    #[test]
    fn chacha20_rfc8439() {
        let key: [u8; 32] = (0u8..32).collect::<std::vec::Vec<u8>>().try_into().unwrap();
        let nonce: [u8; 12] = hex("000000000000004a00000000").try_into().unwrap();
        let mut text = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".to_vec();
        chacha20::xor(&key, 1, &nonce, &mut text);
        assert_eq!(
            text,
            hex("6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d807ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab77937365af90bbf74a35be6b40b8eedf2785e42874d")
        );
    }
}
