//! What the link targets share: the FEC shape and one endpoint's service memory.

use ferrule::compress::{CodecConfig, Compressor};
use ferrule::link::{Config, Fec, FecConfig, Transport};

/// Groups of 3 data frames with 2 parity frames, 2 groups kept.
pub const FEC: FecConfig = FecConfig {
    k: 3,
    m: 2,
    groups: 2,
    send: true,
};

/// Memory of one endpoint's codec and FEC, kept outside the link (which borrows it).
pub struct Mem {
    pub codec: Vec<u8>,
    pub fec: Vec<u8>,
}

impl Mem {
    /// Blocks for `codec` and for [`FEC`] over messages of up to `m` bytes.
    pub fn new(codec: &CodecConfig<'_>, m: usize) -> Self {
        Self {
            codec: vec![0; Compressor::storage_size(codec)],
            fec: vec![0; Fec::storage_size(&FEC, m)],
        }
    }
}

/// Short timers, so that retransmission, the retry limit and keepalives happen within a run.
pub fn config(stream: bool, keepalive: u32) -> Config {
    Config {
        transport: if stream {
            Transport::Stream
        } else {
            Transport::Datagram
        },
        rto_initial: 50,
        rto_min: 10,
        rto_max: 400,
        max_retransmits: 6,
        keepalive,
        ..Config::default()
    }
}
