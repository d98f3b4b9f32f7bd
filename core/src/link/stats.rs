//! Link statistics.

use crate::stats::DecoderStats;

/// Everything the link counts. A plain struct: copy it, log it, `defmt`-format it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LinkStats {
    /// Smallest RTT sample (ms).
    pub rtt_min: u32,
    /// Smoothed RTT (ms).
    pub srtt: u32,
    /// RTT variance (ms).
    pub rttvar: u32,
    /// Current retransmission timeout (ms).
    pub rto: u32,
    /// Frames handed to the transport.
    pub frames_sent: u64,
    /// Bytes handed to the transport.
    pub bytes_sent: u64,
    /// Valid frames received (after CRC and header checks).
    pub frames_received: u64,
    /// Datagrams that passed the frame checks (datagram transport).
    pub datagrams_ok: u64,
    /// Reliable messages accepted by `send`.
    pub sent_reliable: u64,
    /// Best-effort messages accepted by `send`.
    pub sent_unreliable: u64,
    /// Reliable messages handed to the application.
    pub delivered_reliable: u64,
    /// Best-effort messages handed to the application.
    pub delivered_unreliable: u64,
    /// RDATA frames sent, first transmissions and retransmissions.
    pub rdata_frames_sent: u64,
    /// DATA frames sent.
    pub data_frames_sent: u64,
    /// Retransmitted RDATA frames.
    pub retransmissions: u64,
    /// Retransmissions triggered by selective acknowledgements.
    pub fast_retransmits: u64,
    /// Retransmission timer expiries.
    pub timeouts: u64,
    /// Stand-alone ACK frames sent.
    pub acks_sent: u64,
    /// Keepalive PINGs sent.
    pub keepalives_sent: u64,
    /// Zero-window probes sent.
    pub probes_sent: u64,
    /// HELLOs sent.
    pub hellos_sent: u64,
    /// Received duplicates dropped (reliable re-receptions and best-effort repeats).
    pub duplicates: u64,
    /// Reliable messages that arrived ahead of a gap (buffered, not dropped).
    pub out_of_order: u64,
    /// Reliable messages outside the receive window (dropped; the sender retransmits).
    pub out_of_window: u64,
    /// `send` refused a message because the window or the best-effort slot was full.
    pub send_full: u64,
    /// Times the peer's window blocked new transmissions.
    pub window_stalls: u64,
    /// Frames for another session, or before any session (dropped).
    pub stale_session: u64,
    /// Frames valid on the wire but not in this state (e.g. a HELLO with a bad record).
    pub unexpected: u64,
    /// Acks for sequence numbers never sent (dropped).
    pub bad_ack: u64,
    /// Payloads larger than this link's message size (dropped).
    pub too_large: u64,
    /// Payloads in a representation this build cannot decode (dropped).
    pub unsupported: u64,
    /// Best-effort messages replaced by a newer one before the application took them.
    pub unreliable_overwritten: u64,
    /// Sessions started.
    pub sessions: u32,
    /// Sessions ended.
    pub link_downs: u32,
    /// Send-side messages discarded when sessions ended (also reported in `Event::Down`).
    pub discarded_on_reset: u32,
    /// Events dropped because the application did not poll them (oldest first).
    pub events_dropped: u32,
    /// Stream-framing rejects by reason.
    pub framing: DecoderStats,
    /// Datagram rejects by reason.
    pub datagram_rejects: DecoderStats,
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
            datagrams_ok: 0,
            sent_reliable: 0,
            sent_unreliable: 0,
            delivered_reliable: 0,
            delivered_unreliable: 0,
            rdata_frames_sent: 0,
            data_frames_sent: 0,
            retransmissions: 0,
            fast_retransmits: 0,
            timeouts: 0,
            acks_sent: 0,
            keepalives_sent: 0,
            probes_sent: 0,
            hellos_sent: 0,
            duplicates: 0,
            out_of_order: 0,
            out_of_window: 0,
            send_full: 0,
            window_stalls: 0,
            stale_session: 0,
            unexpected: 0,
            bad_ack: 0,
            too_large: 0,
            unsupported: 0,
            unreliable_overwritten: 0,
            sessions: 0,
            link_downs: 0,
            discarded_on_reset: 0,
            events_dropped: 0,
            framing: DecoderStats::new(),
            datagram_rejects: DecoderStats::new(),
        }
    }
}
