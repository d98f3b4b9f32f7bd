//! Link configuration.

/// Which framing the link speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Transport {
    /// Byte stream (UART, USB-CDC, TCP, pty): COBS frames with `0x00` delimiters.
    Stream,
    /// Datagrams (UDP): one frame per datagram.
    Datagram,
}

/// The set of channels whose messages are reliable and ordered; all others are best effort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChannelMap([u32; 8]);

impl ChannelMap {
    /// No reliable channel.
    pub const fn none() -> Self {
        Self([0; 8])
    }
    /// This set plus `channel` as reliable.
    pub const fn with_reliable(mut self, channel: u8) -> Self {
        self.0[(channel / 32) as usize] |= 1 << (channel % 32);
        self
    }
    /// Channels 0 to 31 reliable where `bits` has their bit set (bit n: channel n); every
    /// other channel best effort.
    pub const fn from_low_bits(bits: u32) -> Self {
        let mut words = [0; 8];
        words[0] = bits;
        Self(words)
    }
    /// Whether `channel` is reliable.
    pub const fn is_reliable(&self, channel: u8) -> bool {
        self.0[(channel / 32) as usize] & (1 << (channel % 32)) != 0
    }
}

/// Link parameters. Times are in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// Framing.
    pub transport: Transport,
    /// Reliable channels (default: channel 0 reliable, every other channel best effort).
    /// Without the `best-effort` feature every channel is reliable and this map is unused.
    pub channels: ChannelMap,
    /// Retransmission timeout before the first RTT sample (RFC 6298: 1000).
    pub rto_initial: u32,
    /// Lower bound of the retransmission timeout.
    pub rto_min: u32,
    /// Upper bound of the retransmission timeout (and of handshake backoff).
    pub rto_max: u32,
    /// Retransmissions of one message before the link is declared failed. 255 means no limit:
    /// a message goes again until the session ends otherwise (the peer silent for eight
    /// keepalive intervals, a close, a restart).
    pub max_retransmits: u8,
    /// Acknowledged later messages that trigger a fast retransmit.
    pub dupthresh: u8,
    /// Longest an acknowledgement may be delayed when nothing else is sent.
    pub ack_delay: u32,
    /// Send a PING after this long without sending (a quarter of it while the peer is
    /// silent); declare the link down after eight times this long without receiving.
    /// 0 disables both.
    pub keepalive: u32,
    /// Emit a leading delimiter before each stream frame (flushes line noise). Hellos always
    /// start with one, whatever this says (PROTOCOL.md 1.1).
    pub leading_delimiter: bool,
    /// Receive window: messages the peer may have in flight to this end, at most `W`
    /// (0 means `W`). A smaller window trades throughput for less buffering at the peer.
    pub window: u8,
}

impl Default for Config {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Config {
    /// The defaults: a stream link, channel 0 reliable; RTO 1000 ms at first, 20..=4000 ms;
    /// 20 retransmissions; fast retransmit after 2; acks delayed up to 5 ms; keepalive 1 s.
    pub const DEFAULT: Self = Self {
        transport: Transport::Stream,
        channels: ChannelMap::none().with_reliable(0),
        rto_initial: 1000,
        rto_min: 20,
        rto_max: 4000,
        max_retransmits: 20,
        dupthresh: 2,
        ack_delay: 5,
        keepalive: 1000,
        leading_delimiter: false,
        window: 0,
    };
}

#[cfg(test)]
mod tests {
    use super::ChannelMap;

    #[test]
    fn low_bits_name_the_first_32_channels() {
        let map = ChannelMap::from_low_bits(0b101 | 1 << 31);
        let built = ChannelMap::none()
            .with_reliable(0)
            .with_reliable(2)
            .with_reliable(31);
        assert_eq!(map, built);
        assert!(map.is_reliable(2) && !map.is_reliable(1) && !map.is_reliable(32));
        assert_eq!(ChannelMap::from_low_bits(0), ChannelMap::none());
    }
}
