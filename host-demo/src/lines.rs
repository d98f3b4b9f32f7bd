//! Lines of input as bytes (stdin, local sockets), UTF-8 or not, without their line endings:
//! what `bridge` and `chat` read.

use std::io::BufRead;

/// `line` without its ending (`\n` or `\r\n`).
pub fn without_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads the next line of `r` into `buf` (cleared first), without its ending; false at the
/// end of the input or on a read error (which ends the input as its end does).
pub fn read(r: &mut impl BufRead, buf: &mut Vec<u8>) -> bool {
    buf.clear();
    match r.read_until(b'\n', buf) {
        Ok(0) | Err(_) => false,
        Ok(_) => {
            let n = without_ending(buf).len();
            buf.truncate(n);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_without_their_endings_whatever_their_bytes() {
        let mut input: &[u8] = b"one\r\ntw\xffo\nlast";
        let (mut buf, mut got) = (Vec::new(), Vec::new());
        while read(&mut input, &mut buf) {
            got.push(buf.clone());
        }
        assert_eq!(got, [&b"one"[..], b"tw\xffo", b"last"]);
        assert_eq!(without_ending(b"x\r\n"), b"x");
        assert_eq!(without_ending(b"x\r"), b"x");
    }
}
