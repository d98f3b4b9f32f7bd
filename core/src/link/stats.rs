//! Link statistics.

use crate::stats::DecoderStats;

/// Everything the link counts. A plain struct: copy it, log it, `defmt`-format it. Counters
/// are 32-bit and wrap.
///
/// `#[repr(C)]`: the C API's `ferrule_link_stats_t` begins with these fields in this order
/// (it checks every offset when it is compiled) and is filled in one piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(C)]
pub struct LinkStats {
    /// Smallest RTT sample (ms).
    pub rtt_min: u32,
    /// Smoothed RTT (ms).
    pub srtt: u32,
    /// RTT variance (ms).
    pub rttvar: u32,
    /// Current retransmission timeout (ms).
    pub rto: u32,
    /// Bytes handed to the transport.
    pub bytes_sent: u64,
    /// Frames handed to the transport.
    pub frames_sent: u32,
    /// Valid frames received (after CRC and header checks).
    pub frames_received: u32,
    /// Reliable messages accepted by `send`.
    pub sent_reliable: u32,
    /// Best-effort messages accepted by `send`.
    pub sent_unreliable: u32,
    /// Reliable messages handed to the application.
    pub delivered_reliable: u32,
    /// Best-effort messages handed to the application.
    pub delivered_unreliable: u32,
    /// RDATA frames sent, first transmissions and retransmissions.
    pub rdata_frames_sent: u32,
    /// DATA frames sent.
    pub data_frames_sent: u32,
    /// Retransmitted RDATA frames.
    pub retransmissions: u32,
    /// Messages declared lost by evidence (later transmissions delivered) rather than by a
    /// timeout.
    pub fast_retransmits: u32,
    /// Retransmissions acknowledged sooner than any round trip: an earlier copy had arrived.
    /// A lower bound: a needless retransmission whose acknowledgement came a round trip or
    /// more later (acknowledgements lost, or deep reordering) is not recognised.
    pub spurious_retransmissions: u32,
    /// Retransmission timer expiries.
    pub timeouts: u32,
    /// Stand-alone ACK frames sent.
    pub acks_sent: u32,
    /// Keepalive PINGs sent.
    pub keepalives_sent: u32,
    /// PINGs sent as probes: zero-window probes, and on a stream the asks before a
    /// retransmission (PROTOCOL.md 4.3.2).
    pub probes_sent: u32,
    /// HELLOs sent.
    pub hellos_sent: u32,
    /// HELLOs answered with a new pending handshake.
    pub hellos_answered: u32,
    /// Hellos of a handshake already answered or completed (a lost answer, or a replay):
    /// answered the same way again, nothing changes.
    pub hello_duplicates: u32,
    /// Received duplicates dropped (reliable re-receptions and best-effort repeats).
    pub duplicates: u32,
    /// Reliable messages that arrived ahead of a gap (buffered, not dropped).
    pub out_of_order: u32,
    /// Reliable messages outside the receive window (dropped; the sender retransmits).
    pub out_of_window: u32,
    /// `send` refused a message because the window or the best-effort slot was full.
    pub send_full: u32,
    /// Times the peer's window blocked new transmissions.
    pub window_stalls: u32,
    /// Frames for another session, or before any session (dropped).
    pub stale_session: u32,
    /// Frames of a link that carry no session tag (`DATA` without `SEQ`; dropped).
    pub untagged: u32,
    /// Frames in a form this side did not announce it takes (a compression mode, dictionary,
    /// best-effort `DATA`, FEC parity; dropped).
    pub not_negotiated: u32,
    /// Hellos carrying this side's own nonce (a reflection, or a peer with the same seed;
    /// dropped).
    pub reflected: u32,
    /// Frames valid on the wire but not in this state (e.g. a HELLO with a bad record).
    pub unexpected: u32,
    /// Acks for sequence numbers never sent (dropped).
    pub bad_ack: u32,
    /// Payloads larger than this link's message size (dropped).
    pub too_large: u32,
    /// Received messages that failed to decompress (dropped, reported by `recv`).
    pub decompress_failed: u32,
    /// Best-effort messages replaced by a newer one before the application took them.
    pub unreliable_overwritten: u32,
    /// Sessions started.
    pub sessions: u32,
    /// Sessions ended.
    pub link_downs: u32,
    /// Send-side messages discarded when sessions ended (also reported in `Event::Down`).
    pub discarded_on_reset: u32,
    /// Events dropped because the application did not poll them: the oldest `Up` first,
    /// then a `Down` that discarded nothing; else two `Down`s merged into one (see
    /// [`Link::poll_event`](super::Link::poll_event)).
    pub events_dropped: u32,
    /// AEAD: frames that failed authentication (tampered, forged, or sealed under another
    /// key with the same id).
    pub auth_failed: u32,
    /// AEAD: frames whose counter was accepted before (replays).
    pub replayed: u32,
    /// AEAD: frames whose counter is older than the replay window.
    pub too_old: u32,
    /// AEAD: frames sealed under a key id this side does not have (or sealed at all, when
    /// this side has no keys).
    pub unknown_key: u32,
    /// AEAD: unsealed frames reaching a link that requires sealing.
    pub unauthenticated: u32,
    /// FEC: PARITY frames sent.
    pub parity_sent: u32,
    /// FEC: PARITY frames of a closed group left unsent (another protected frame went first).
    pub parity_dropped: u32,
    /// FEC: PARITY frames of a closed group left unsent because the peer had acknowledged
    /// enough of the group that it could not need them.
    pub parity_unneeded: u32,
    /// FEC: frames rebuilt from parity (then checked like any frame received).
    pub fec_recovered: u32,
    /// FEC: groups that lost more frames than their parity repairs (ARQ repaired those).
    pub fec_unrecoverable: u32,
    /// FEC: PARITY payloads refused (malformed, inconsistent, stale), and groups given up
    /// because their parity disagrees with their data.
    pub parity_rejected: u32,
    /// Framing rejects by reason (stream decoder, or datagram checks on a datagram link).
    pub framing: DecoderStats,
}

impl LinkStats {
    /// All zero.
    pub const fn new() -> Self {
        Self {
            rtt_min: 0,
            srtt: 0,
            rttvar: 0,
            rto: 0,
            frames_sent: 0,
            bytes_sent: 0,
            frames_received: 0,
            sent_reliable: 0,
            sent_unreliable: 0,
            delivered_reliable: 0,
            delivered_unreliable: 0,
            rdata_frames_sent: 0,
            data_frames_sent: 0,
            retransmissions: 0,
            fast_retransmits: 0,
            spurious_retransmissions: 0,
            timeouts: 0,
            acks_sent: 0,
            keepalives_sent: 0,
            probes_sent: 0,
            hellos_sent: 0,
            hellos_answered: 0,
            hello_duplicates: 0,
            duplicates: 0,
            out_of_order: 0,
            out_of_window: 0,
            send_full: 0,
            window_stalls: 0,
            stale_session: 0,
            untagged: 0,
            not_negotiated: 0,
            reflected: 0,
            unexpected: 0,
            bad_ack: 0,
            too_large: 0,
            decompress_failed: 0,
            unreliable_overwritten: 0,
            sessions: 0,
            link_downs: 0,
            discarded_on_reset: 0,
            events_dropped: 0,
            auth_failed: 0,
            replayed: 0,
            too_old: 0,
            unknown_key: 0,
            unauthenticated: 0,
            parity_sent: 0,
            parity_dropped: 0,
            parity_unneeded: 0,
            fec_recovered: 0,
            fec_unrecoverable: 0,
            parity_rejected: 0,
            framing: DecoderStats::new(),
        }
    }
}

/// Declares [`Counters`] over the listed fields of [`LinkStats`] (same names and types), with
/// the write of their values into statistics.
macro_rules! counted {
    ($($field:ident: $ty:ty,)*) => {
        /// What the link counts itself: the fields of [`LinkStats`] from `bytes_sent` to
        /// `unauthenticated`. [`Link::stats`](super::Link::stats) adds what the RTT estimator,
        /// the decoder and FEC keep, so the link's state holds no second copy of those.
        #[derive(Clone, Copy)]
        pub(crate) struct Counters {
            $(pub $field: $ty,)*
        }

        impl Counters {
            /// All zero.
            pub const fn new() -> Self {
                Self { $($field: 0,)* }
            }

            /// Writes these counters into their fields of `s`; the others stay as they are.
            pub fn write_into(&self, s: &mut LinkStats) {
                $(s.$field = self.$field;)*
            }
        }
    };
}

counted! {
    bytes_sent: u64,
    frames_sent: u32,
    frames_received: u32,
    sent_reliable: u32,
    sent_unreliable: u32,
    delivered_reliable: u32,
    delivered_unreliable: u32,
    rdata_frames_sent: u32,
    data_frames_sent: u32,
    retransmissions: u32,
    fast_retransmits: u32,
    spurious_retransmissions: u32,
    timeouts: u32,
    acks_sent: u32,
    keepalives_sent: u32,
    probes_sent: u32,
    hellos_sent: u32,
    hellos_answered: u32,
    hello_duplicates: u32,
    duplicates: u32,
    out_of_order: u32,
    out_of_window: u32,
    send_full: u32,
    window_stalls: u32,
    stale_session: u32,
    untagged: u32,
    not_negotiated: u32,
    reflected: u32,
    unexpected: u32,
    bad_ack: u32,
    too_large: u32,
    decompress_failed: u32,
    unreliable_overwritten: u32,
    sessions: u32,
    link_downs: u32,
    discarded_on_reset: u32,
    events_dropped: u32,
    auth_failed: u32,
    replayed: u32,
    too_old: u32,
    unknown_key: u32,
    unauthenticated: u32,
}
