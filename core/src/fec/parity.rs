//! The PARITY payload: `first u8 | n u8 | index u8 | m u8 | parity symbol`.

use super::{MAX_K, MAX_M};

/// Bytes of a PARITY payload before the symbol.
pub const PARITY_HEADER_LEN: usize = 4;

/// A PARITY payload, parsed (structure only: [`Parity::parse`] checks what a payload can
/// check on its own; a [`FecRx`](super::FecRx) also checks it against its limits and the
/// parity it already holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Parity<'p> {
    /// `fec_seq` of the group's first data frame.
    pub first: u8,
    /// Data frames in the group (`1..=MAX_K`).
    pub n: u8,
    /// Which parity symbol this is (`0..m`): row `index` of the Cauchy matrix.
    pub index: u8,
    /// Parity symbols the sender computes per group (`1..=MAX_M`).
    pub m: u8,
    /// The parity symbol: as long as the group's symbols, `2 +` its longest body.
    pub symbol: &'p [u8],
}

/// Why a PARITY payload was rejected. A [`FecRx`](super::FecRx) counts each reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ParityError {
    /// Shorter than the 4-byte header and a 2-byte symbol.
    Truncated,
    /// `n` is 0 or above [`MAX_K`], `m` is 0 or above [`MAX_M`], or `index` is not below `m`.
    BadCounts,
    /// The group has more data frames than this receiver's `k`.
    GroupTooLarge,
    /// The symbol is longer than `2 + max_body` of this receiver.
    Oversize,
    /// Contradicts parity already held: the same `first` with another `n`, `m` or symbol
    /// length, or a group overlapping another one, or a body of the group longer than the
    /// symbol.
    Inconsistent,
    /// The group starts before the receiver's window, or is older than every group it
    /// holds while all its group buffers are busy.
    Stale,
}

impl core::fmt::Display for ParityError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ParityError::Truncated => "parity payload truncated",
            ParityError::BadCounts => "parity payload with invalid n, index or m",
            ParityError::GroupTooLarge => "parity group larger than this receiver's k",
            ParityError::Oversize => "parity symbol longer than this receiver's bodies",
            ParityError::Inconsistent => "parity contradicts the parity or data held",
            ParityError::Stale => "parity for a group outside the receive window",
        })
    }
}

impl core::error::Error for ParityError {}

impl<'p> Parity<'p> {
    /// Splits a PARITY payload into its fields; checks the length and the counts.
    pub fn parse(payload: &'p [u8]) -> Result<Self, ParityError> {
        let Some((&[first, n, index, m], symbol)) = payload.split_first_chunk::<4>() else {
            return Err(ParityError::Truncated);
        };
        if symbol.len() < 2 {
            return Err(ParityError::Truncated);
        }
        let counts_ok = (1..=MAX_K).contains(&usize::from(n))
            && (1..=MAX_M).contains(&usize::from(m))
            && index < m;
        if !counts_ok {
            return Err(ParityError::BadCounts);
        }
        Ok(Self {
            first,
            n,
            index,
            m,
            symbol,
        })
    }

    /// Payload length: [`PARITY_HEADER_LEN`] + the symbol.
    pub fn len(&self) -> usize {
        PARITY_HEADER_LEN + self.symbol.len()
    }

    /// Always false: a payload has at least its header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the payload into `out`; returns its length, or `None` (nothing written) when
    /// `out` is shorter than [`Parity::len`]. The fields are written as they are.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let len = self.len();
        let out = out.get_mut(..len)?;
        let (head, rest) = out.split_first_chunk_mut::<4>()?;
        *head = [self.first, self.n, self.index, self.m];
        crate::bytes::copy(rest, self.symbol);
        Some(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let p = Parity {
            first: 250,
            n: 4,
            index: 1,
            m: 2,
            symbol: &[3, 0, 9, 9, 9],
        };
        let mut out = [0u8; 16];
        assert_eq!(p.encode(&mut out), Some(9));
        assert_eq!(&out[..9], &[250, 4, 1, 2, 3, 0, 9, 9, 9]);
        assert_eq!(Parity::parse(&out[..9]), Ok(p));
        assert_eq!(p.encode(&mut out[..8]), None);

        assert_eq!(Parity::parse(&[]), Err(ParityError::Truncated));
        assert_eq!(Parity::parse(&[0, 1, 0, 1, 0]), Err(ParityError::Truncated));
        assert_eq!(Parity::parse(&[0, 1, 0, 1, 0, 0]).map(|p| p.n), Ok(1));
        for bad in [
            [0, 0, 0, 1],
            [0, 33, 0, 1],
            [0, 1, 0, 0],
            [0, 1, 0, 17],
            [0, 1, 2, 2],
        ] {
            let mut v = bad.to_vec();
            v.extend_from_slice(&[0, 0]);
            assert_eq!(Parity::parse(&v), Err(ParityError::BadCounts), "{bad:?}");
        }
    }
}
