//! Compression glue of the compact link: reached only through [`ZIP`], which only
//! [`super::CompactLink::set_codec`] refers to, so firmware that never installs a codec links
//! none of this.

use super::{inc, repr_code, repr_of, Core, REPR_SHIFT, SLOT_HEAD};
use crate::compress::{DecompressError, RxCaps};
use crate::frame::Compression;
use crate::link::hello::caps as bits;
use crate::link::{DownReason, Received, RecvError};

/// What `recv` returns.
type Recv = Result<Option<Received>, RecvError>;

/// The compression steps of the link.
pub(super) struct Zip {
    /// A session starts with the peer of `peer_caps`.
    pub start: fn(&mut Core<'_>),
    /// The message just copied into the next free send slot is compressed there.
    pub compress: fn(&mut Core<'_>, &[u8]),
    /// `recv` of the oldest received message when its slot code is not 0 (representation,
    /// perhaps marked [`EARLIER`]; payload length).
    pub recv: fn(&mut Core<'_>, u8, usize, &mut [u8]) -> Recv,
    /// Whether this side announced it takes payloads represented so.
    pub accepts: fn(&Core<'_>, Compression) -> bool,
}

/// Receive-slot code bit: the message is of an earlier session (it decompresses with that
/// session's stream).
const EARLIER: u8 = 0x80;
/// Receive-slot code bit: the first message of its session (the shared stream restarts
/// before it is decoded; set by `on_rdata` while `rx_reset` is set).
pub(super) const FIRST: u8 = 0x40;

/// The glue [`super::CompactLink::set_codec`] installs.
pub(super) static ZIP: Zip = Zip {
    start: |c| c.zip_start(),
    compress: |c, msg| c.zip_compress(msg),
    recv: |c, code, len, out| c.zip_recv(code, len, out),
    accepts: |c, r| c.zip_accepts(r),
};

/// The hello's capability bytes for what a codec decompresses.
pub(super) fn caps(rx: &RxCaps) -> [u8; 3] {
    let mut b = 0;
    if rx.per_message {
        b |= bits::DEFLATE;
    }
    if rx.shared {
        b |= bits::SHARED;
    }
    if rx.dynamic {
        b |= bits::DYNAMIC;
    }
    [b, rx.window_bits, rx.dict_id]
}

impl Core<'_> {
    /// A session starts: the codec compresses for what the peer takes; the receive stream
    /// restarts at the session's first message (`FIRST`), so messages of earlier sessions still
    /// queued decompress with their own session's stream.
    fn zip_start(&mut self) {
        let [b, window_bits, dict_id] = self.peer_caps;
        self.peer_dict = dict_id;
        if let Some(c) = self.codec.as_deref_mut() {
            c.start_tx(RxCaps {
                per_message: b & bits::DEFLATE != 0,
                shared: b & bits::SHARED != 0,
                dynamic: b & bits::DYNAMIC != 0,
                window_bits,
                dict_id,
            });
        }
        for i in 0..self.rx_count {
            if let Some(f) = self.rx_slot(i).get_mut(3) {
                *f |= EARLIER;
            }
        }
        self.rx_reset = true;
    }

    /// Whether this side announced it takes payloads represented as `c`.
    fn zip_accepts(&self, c: Compression) -> bool {
        let [b, _, dict] = self.caps;
        match c {
            Compression::None => true,
            Compression::Deflate => b & bits::DEFLATE != 0,
            Compression::Shared | Compression::SharedRaw => b & bits::SHARED != 0,
            Compression::Dictionary(id) => id != 0 && id == dict,
        }
    }

    /// `recv` with a codec: a compressed message needs `max_message` bytes of `out`.
    fn zip_recv(
        &mut self,
        code: u8,
        len: usize,
        out: &mut [u8],
    ) -> Result<Option<Received>, RecvError> {
        let earlier = code & EARLIER != 0;
        let first = code & FIRST != 0;
        let code = code & !(EARLIER | FIRST);
        let needed = if code > 1 { usize::from(self.m) } else { len };
        if out.len() < needed {
            return Err(RecvError::BufferTooSmall { needed });
        }
        let at = self.slot_start(usize::from(self.w), self.rx_head, 0);
        let channel = self.mem.get(at + 2).copied().unwrap_or(0);
        let r = self.zip_decode(earlier, first, code, at + SLOT_HEAD, len, out);
        self.taken();
        let len = r.map_err(|error| RecvError::Decompress {
            channel,
            reliable: true,
            error,
        })?;
        inc(&mut self.stats.delivered_reliable);
        Ok(Some(Received {
            channel,
            len,
            reliable: true,
        }))
    }

    /// Compresses `msg` into the next free send slot (where it was copied raw) and records
    /// the representation in the slot's flags byte. Never longer than the message.
    fn zip_compress(&mut self, msg: &[u8]) {
        let at = self.slot_start(0, self.tx_head, self.tx_count);
        let len = self.slot_len();
        let Core { codec, mem, .. } = self;
        let Some(codec) = codec.as_deref_mut() else {
            return;
        };
        let slot = mem.get_mut(at..at + len).unwrap_or_default();
        let (head, data) = slot.split_at_mut(SLOT_HEAD.min(slot.len()));
        let out = data.get_mut(..msg.len()).unwrap_or_default();
        let (repr, n) = codec.compress(true, msg, out);
        let [l0, l1] = (n.min(msg.len()) as u16).to_le_bytes();
        if let [a, b, _, f, ..] = head {
            (*a, *b, *f) = (l0, l1, repr_code(repr) << REPR_SHIFT);
        }
    }

    /// Decompresses the payload at `mem[at..at + len]` (representation `code`, of an
    /// `earlier` session or not) into `out`; a failure is counted, and one of the shared
    /// stream of the current session ends it (`CLOSE`, [`DownReason::DecompressFailed`]); the
    /// rest of a broken shared stream fails too until it restarts.
    fn zip_decode(
        &mut self,
        earlier: bool,
        first: bool,
        code: u8,
        at: usize,
        len: usize,
        out: &mut [u8],
    ) -> Result<usize, DecompressError> {
        if first {
            // The first message of its session (the current one or an earlier one still
            // queued): that session's shared stream starts afresh.
            if let Some(c) = self.codec.as_deref_mut() {
                c.reset_rx();
            }
            self.rx_broken = false;
        }
        let repr = repr_of(code, self.caps[2]);
        let shared = matches!(repr, Compression::Shared | Compression::SharedRaw);
        let payload = self.mem.get(at..at + len).unwrap_or_default();
        let r = match self.codec.as_deref_mut() {
            Some(_) if shared && self.rx_broken => Err(DecompressError::Malformed),
            Some(c) => c.decompress(repr, payload, out),
            None => Err(DecompressError::Unsupported),
        };
        if r.is_err() {
            inc(&mut self.stats.decompress_failed);
            if shared && !self.rx_broken {
                self.rx_broken = true;
                if self.up && !earlier {
                    self.close_due = true;
                    self.close_reason = DownReason::DecompressFailed;
                }
            }
        }
        r
    }
}
