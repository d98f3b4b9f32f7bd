//! The small record parsers on their own: frame header (`Header::parse`), HELLO record
//! (`Hello::parse`), PARITY payload (`Parity::parse`), one-shot COBS decode. Invariants: no
//! panic; what parses re-encodes to the same bytes (header, hello, parity); COBS decode
//! output fits and encodes again.
#![no_main]

use ferrule::fec::Parity;
use ferrule::frame::Header;
use ferrule::link::Hello;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((h, n)) = Header::parse(data) {
        assert!(n <= data.len());
        let mut out = [0u8; 64];
        let m = h.emit(&mut out).unwrap();
        assert_eq!(&out[..m], &data[..n], "header does not re-encode");
    }
    if let Some(h) = Hello::parse(data) {
        assert_eq!(&h.to_bytes()[..], data);
    }
    if let Ok(p) = Parity::parse(data) {
        let mut out = vec![0u8; p.len()];
        assert_eq!(p.encode(&mut out), Some(data.len()));
        assert_eq!(out, data);
    }
    let mut dst = vec![0u8; data.len()];
    if let Ok(n) = ferrule::cobs::decode(data, &mut dst) {
        // What decodes fits, and encodes again into a buffer of the documented size.
        assert!(n <= dst.len());
        let mut again = vec![0u8; ferrule::cobs::max_encoded_len(n)];
        assert!(ferrule::cobs::encode(&dst[..n], &mut again).is_ok());
    }
});
