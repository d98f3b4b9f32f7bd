//! The demo's telemetry workload and the receiver's bookkeeping of what arrived.

use super::proxy::Rng;

/// Telemetry message `index` from `dir`: index and send time (16 bytes), then a JSON line;
/// `size` pads (by repeating the line) or cuts the whole message to that many bytes.
pub fn telemetry(index: u64, dir: u8, sent_us: u64, size: Option<usize>) -> Vec<u8> {
    let mut m = Vec::with_capacity(size.unwrap_or(120));
    m.extend(index.to_le_bytes());
    m.extend(sent_us.to_le_bytes());
    m.extend(body(index, dir, size));
    m
}

/// The text part of message `index` from `dir`.
pub fn body(index: u64, dir: u8, size: Option<usize>) -> Vec<u8> {
    let r = Rng(index.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1).next();
    let line = format!(
        "{{\"dev\":\"node-{dir:02x}\",\"seq\":{index},\"temp\":{}.{:02},\"hum\":{}.{},\"v\":3.{:03}}}",
        20 + r % 5,
        (r >> 8) % 100,
        40 + (r >> 16) % 20,
        (r >> 24) % 10,
        (r >> 32) % 1000
    )
    .into_bytes();
    match size {
        None => line,
        Some(n) => line
            .iter()
            .copied()
            .cycle()
            .take(n.saturating_sub(16))
            .collect(),
    }
}

/// What one direction delivered, checked against what was sent.
#[derive(Default, Debug)]
pub struct Tally {
    pub sent: u64,
    pub delivered: u64,
    pub duplicated: u64,
    pub damaged: u64,
    pub last_index: Option<u64>,
    /// (send time, latency) of each delivered message, microseconds.
    pub samples: Vec<(u64, u64)>,
    pub payload_bytes: u64,
}

impl Tally {
    /// Checks one delivered message from `dir`; `ordered`: it came over the reliable service,
    /// where anything but the next index is a duplicate.
    pub fn accept(&mut self, msg: &[u8], dir: u8, size: Option<usize>, now_us: u64, ordered: bool) {
        if msg.len() < 16 {
            self.damaged += 1;
            return;
        }
        let index = u64::from_le_bytes(msg[..8].try_into().unwrap_or_default());
        let sent = u64::from_le_bytes(msg[8..16].try_into().unwrap_or_default());
        if msg[16..] != body(index, dir, size)[..] {
            self.damaged += 1;
            return;
        }
        if ordered && self.last_index.is_some_and(|l| index <= l) {
            self.duplicated += 1;
            return;
        }
        self.last_index = Some(index);
        self.delivered += 1;
        self.payload_bytes += msg.len() as u64;
        self.samples.push((sent, now_us.saturating_sub(sent)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_exact_and_messages_check() {
        for size in [17, 100, 256] {
            assert_eq!(telemetry(7, 0xA, 5, Some(size)).len(), size);
        }
        let mut t = Tally::default();
        t.accept(&telemetry(0, 0xA, 5, None), 0xA, None, 9, true);
        t.accept(&telemetry(0, 0xA, 5, None), 0xA, None, 9, true);
        let mut bad = telemetry(1, 0xA, 5, None);
        bad[20] ^= 1;
        t.accept(&bad, 0xA, None, 9, true);
        t.accept(&telemetry(1, 0xB, 5, None), 0xA, None, 9, true);
        assert_eq!((t.delivered, t.duplicated, t.damaged), (1, 1, 2));
        assert_eq!(t.samples, vec![(5, 4)]);
    }
}
