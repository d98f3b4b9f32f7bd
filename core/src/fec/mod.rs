//! Forward error correction: PARITY frames computed over groups of protected frames, so a
//! receiver rebuilds lost frames without a round trip.
//!
//! A self-contained codec the link drives: [`FecTx`] numbers protected frames, groups them
//! and accumulates parity as they go out; [`FecRx`] keeps recent bodies and parity and
//! rebuilds missing bodies, which the link then checks (CRC, header, AEAD) like any frame it
//! receives. No heap, no `unsafe`, state in caller memory, no panic on any input.
//!
//! # The code
//!
//! Systematic Reed–Solomon with a Cauchy matrix over GF(2^8), polynomial
//! `x^8 + x^4 + x^3 + x^2 + 1` (`0x11D`), addition XOR, multiplication modulo the polynomial.
//!
//! - **Numbering.** Each protected frame (DATA and RDATA, first transmissions and
//!   retransmissions alike) carries `fec_seq` (u8), +1 per protected frame per direction,
//!   wrapping; 0 for the first protected frame of a session.
//! - **Groups.** A group is `n` frames with consecutive `fec_seq` values `first,
//!   first + 1, …, first + n − 1` (mod 256), `1 ≤ n ≤ k`; frame `i` of the group is the one
//!   with `fec_seq = first + i`. A group closes when it has `k` frames or when the sender
//!   flushes it early; the next group starts at the next `fec_seq`.
//! - **Symbols.** Symbol `S_i` of frame `i` is `len (u16 LE) ‖ body ‖ zeros`, where `body`
//!   is the complete frame body as sent (header ‖ payload ‖ CRC-32C, sealed if the link
//!   seals) and `len` its length; all symbols of a group have the same length `2 + L`, `L`
//!   the longest body of the group.
//! - **Parity.** For `j` in `0..m`, byte by byte:
//!   `P_j = Σ_{i=0}^{n−1} C(j, i) · S_i` with `C(j, i) = 1 / (x_j ⊕ y_i)`, `x_j = j`,
//!   `y_i = m + i` — a Cauchy matrix: the `x` and `y` are `m + n` distinct field elements
//!   (this needs `m + n ≤ 256`), so every square submatrix of `C` is invertible, and any `n`
//!   of the `n + m` symbols of `[S_0 … S_{n−1}, P_0 … P_{m−1}]` determine the others. The
//!   coefficient of frame `i` does not depend on `n`, which is why a sender can accumulate
//!   parity before it knows how long the group will be.
//! - **PARITY payload.** `first u8 | n u8 | index u8 | m u8 | P_index (2 + L bytes)`, one
//!   PARITY frame per `index` in `0..m`, sent after the group closes.
//! - **Repair.** A receiver that holds `n − e` of the data symbols and at least `e` parity
//!   symbols subtracts the known data from `e` parity symbols and solves the `e × e` Cauchy
//!   system (Gauss–Jordan). A rebuilt symbol is accepted only if its `len` fits and its
//!   padding is zero.
//!
//! # Limits and costs
//!
//! - `k ≤` [`MAX_K`] `= 32`: a group's presence fits a small scan, the receiver's window
//!   (`groups · k ≤ 128`) stays unambiguous with 8-bit numbering, and repair latency stays
//!   bounded. `m ≤` [`MAX_M`] `= 16`: the repair matrix is at most 16 × 16 = 256 B of
//!   stack. The deepest path (`on_parity` → repair → row operation) takes about 0.75 KiB of
//!   stack on a Cortex-M0 (frames of 212 + 480 + 48 B at opt-level `s`).
//! - Flash (opt-level `s`, fat LTO, `--gc-sections`): sender about 1.5 KB, receiver about
//!   4.8 KB, both about 5.5 KB on Cortex-M0 and M4F, of which 768 B are the GF(2^8) tables
//!   (`EXP` 512 B, `LOG` 256 B, built at compile time by a `const fn`, shared by both).
//! - RAM: sender [`FecTx::storage_size`] `= m · (2 + max_body)`; receiver
//!   [`FecRx::storage_size`] `= groups · (k · (4 + max_body) + 7 + m + m · (2 + max_body))`;
//!   plus the structs themselves (120 B and 104 B on 32-bit targets; the sender's includes
//!   which reliable message each frame of its group carries, 68 B).
//! - Speed (x86-64 host, k = 8, m = 2, 151- and 279-byte bodies; `cargo run --release
//!   --example fec_vectors -- --speed`): parity 150–270 MB/s of data sent, receiving with
//!   two repairs per group 130–200 MB/s of data. On a Cortex-M4 the inner loop is 10
//!   instructions per byte and parity symbol (an estimate of 12–15 cycles, not measured):
//!   a few MB/s at 64 MHz, far more than a UART carries.
//!
//! # Driving it from a link
//!
//! Send path, per protected frame: `let s = tx.next_seq()`; build the header with the FEC
//! extension and `fec_seq = s`, then the body (seal, CRC); `tx.add(&body, now)`; send the
//! body. Whenever [`FecTx::parity_pending`] is non-zero (the group filled, or the link
//! called [`FecTx::close_group`] because the open group is old enough —
//! [`FecTx::opened_at`] — or nothing more is queued), send the parity first: for each
//! payload from [`FecTx::next_parity`], a PARITY frame. A link that knows what each frame
//! carries adds it with [`FecTx::add_frame`] and calls [`FecTx::skip_unneeded`] before each
//! parity frame: parity the peer's acknowledgements show it cannot need is then left out
//! (on a fast serial line most of a group is acknowledged before its last parity frame
//! would go).
//!
//! Receive path: a protected frame that passed every check → [`FecRx::on_protected`]`(
//! fec_seq, body)`; a PARITY frame that passed → [`FecRx::on_parity`]`(payload)`; after
//! either, `while let Some(n) = rx.next_recovered(&mut buf)` feed `buf[..n]` through the
//! normal body checks (not back into `on_protected`). Frames failing CRC or authentication
//! are simply never given: they are the erasures.
//!
//! # Example
//!
//! ```
//! use ferrule::fec::{max_parity_len, FecRx, FecTx};
//!
//! const K: usize = 4;
//! const M: usize = 2;
//! const MAX_BODY: usize = 32;
//! let mut tx_mem = [0u8; FecTx::storage_size(M, MAX_BODY)];
//! let mut rx_mem = [0u8; FecRx::storage_size(K, M, MAX_BODY, 2)];
//! let mut tx = FecTx::new(K, M, MAX_BODY, &mut tx_mem).unwrap();
//! let mut rx = FecRx::new(K, M, MAX_BODY, 2, &mut rx_mem).unwrap();
//!
//! let bodies: [&[u8]; K] = [b"one", b"the second body", b"3", b"four, the longest of all"];
//! for (i, body) in bodies.iter().enumerate() {
//!     let fec_seq = tx.next_seq(); // goes into the frame's header before the body is built
//!     assert_eq!(tx.add(body, 0), Ok(fec_seq));
//!     if i != 1 && i != 3 {
//!         rx.on_protected(fec_seq, body); // frames 1 and 3 are lost
//!     }
//! }
//! assert_eq!(tx.parity_pending(), M); // k frames: the group closed by itself
//! let mut parity = [0u8; max_parity_len(MAX_BODY)];
//! while let Some(n) = tx.next_parity(&mut parity) {
//!     rx.on_parity(&parity[..n]).unwrap();
//! }
//! let mut out = [0u8; MAX_BODY];
//! let n = rx.next_recovered(&mut out).unwrap();
//! assert_eq!(&out[..n], bodies[1]);
//! let n = rx.next_recovered(&mut out).unwrap();
//! assert_eq!(&out[..n], bodies[3]);
//! assert_eq!(rx.next_recovered(&mut out), None);
//! assert_eq!(rx.stats().recovered, 2);
//! ```

mod gf;
mod parity;
mod rx;
mod solve;
mod tx;

pub use gf::cauchy;
pub use parity::{Parity, ParityError, PARITY_HEADER_LEN};
pub use rx::{FecRx, FecRxStats};
pub use tx::{Carries, FecTx, FecTxStats, TooLong};

/// Largest group (data frames) this implementation handles.
pub const MAX_K: usize = 32;
/// Most parity symbols per group this implementation handles.
pub const MAX_M: usize = 16;
/// Largest receive window (`groups · k`) in `fec_seq` values: below half the 8-bit space,
/// so newer and older stay distinguishable.
pub const MAX_WINDOW: usize = 128;
/// Longest body: its symbol length `2 + max_body` must fit a `u16`.
pub const MAX_BODY: usize = u16::MAX as usize - 2;

/// Symbol length for bodies of up to `max_body` bytes: `2 + max_body`.
pub const fn symbol_len(max_body: usize) -> usize {
    max_body.saturating_add(2)
}

/// Longest PARITY payload for bodies of up to `max_body` bytes: `4 + 2 + max_body`.
pub const fn max_parity_len(max_body: usize) -> usize {
    symbol_len(max_body).saturating_add(PARITY_HEADER_LEN)
}

/// Why [`FecTx::new`] or [`FecRx::new`] refused a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConfigError {
    /// `k` is 0 or above [`MAX_K`].
    BadK,
    /// `m` is 0 or above [`MAX_M`].
    BadM,
    /// `max_body` is above [`MAX_BODY`].
    BadMaxBody,
    /// `groups` is below 2, or `groups · k` above [`MAX_WINDOW`].
    BadGroups,
    /// The memory given is shorter than the storage size.
    MemoryTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes given.
        have: usize,
    },
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ConfigError::BadK => write!(f, "FEC k must be 1..={MAX_K}"),
            ConfigError::BadM => write!(f, "FEC m must be 1..={MAX_M}"),
            ConfigError::BadMaxBody => write!(f, "FEC max_body must be at most {MAX_BODY}"),
            ConfigError::BadGroups => {
                write!(f, "FEC groups must be >= 2 with groups * k <= {MAX_WINDOW}")
            }
            ConfigError::MemoryTooSmall { need, have } => {
                write!(f, "FEC storage needs {need} bytes, {have} given")
            }
        }
    }
}

impl core::error::Error for ConfigError {}

/// Checks `k`, `m` and `max_body`; returns them narrowed.
fn check_config(k: usize, m: usize, max_body: usize) -> Result<(u8, u8, u16), ConfigError> {
    let k = u8::try_from(k)
        .ok()
        .filter(|&k| (1..=MAX_K).contains(&k.into()))
        .ok_or(ConfigError::BadK)?;
    let m = u8::try_from(m)
        .ok()
        .filter(|&m| (1..=MAX_M).contains(&m.into()))
        .ok_or(ConfigError::BadM)?;
    let max_body = u16::try_from(max_body)
        .ok()
        .filter(|&b| usize::from(b) <= MAX_BODY)
        .ok_or(ConfigError::BadMaxBody)?;
    Ok((k, m, max_body))
}
