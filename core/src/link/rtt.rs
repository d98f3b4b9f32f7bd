//! Round-trip time estimation and retransmission timeout (RFC 6298), in milliseconds.

/// RTT estimator state.
#[derive(Debug, Clone, Copy)]
pub struct Rtt {
    srtt: u32,
    rttvar: u32,
    min: u32,
    rto: u32,
    backoff: u32,
    have_sample: bool,
    rto_min: u32,
    rto_max: u32,
}

impl Rtt {
    /// Before any sample the RTO is `initial` (RFC 6298 suggests 1 s).
    pub const fn new(initial: u32, rto_min: u32, rto_max: u32) -> Self {
        Self {
            srtt: 0,
            rttvar: 0,
            min: u32::MAX,
            rto: clamp(initial, rto_min, rto_max),
            backoff: 1,
            have_sample: false,
            rto_min,
            rto_max,
        }
    }

    /// Adds a sample from a message transmitted once (Karn's rule is the caller's job).
    pub fn sample(&mut self, r: u32) {
        self.min = self.min.min(r);
        if self.have_sample {
            // RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|; SRTT = 7/8 SRTT + 1/8 R'.
            let delta = self.srtt.abs_diff(r);
            self.rttvar = (3 * self.rttvar + delta) / 4;
            self.srtt = (7 * self.srtt + r) / 8;
        } else {
            self.srtt = r;
            self.rttvar = r / 2;
            self.have_sample = true;
        }
        self.backoff = 1;
        self.rto = clamp(
            self.srtt + (4 * self.rttvar).max(1),
            self.rto_min,
            self.rto_max,
        );
    }

    /// A retransmission timer expired: double the timeout (up to the maximum).
    pub fn back_off(&mut self) {
        self.backoff = (self.backoff * 2).min(1 << 16);
    }

    /// Current timeout including backoff.
    pub fn rto(&self) -> u32 {
        clamp(
            self.rto.saturating_mul(self.backoff),
            self.rto_min,
            self.rto_max,
        )
    }

    /// Smoothed RTT (0 before the first sample).
    pub fn srtt(&self) -> u32 {
        self.srtt
    }
    /// RTT variance estimate.
    pub fn rttvar(&self) -> u32 {
        self.rttvar
    }
    /// Smallest sample seen (0 before the first sample).
    pub fn min(&self) -> u32 {
        if self.have_sample {
            self.min
        } else {
            0
        }
    }
}

const fn clamp(v: u32, lo: u32, hi: u32) -> u32 {
    if v < lo {
        lo
    } else if v > hi {
        hi
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_rfc6298() {
        let mut r = Rtt::new(1000, 20, 8000);
        assert_eq!(r.rto(), 1000);
        r.sample(100);
        assert_eq!((r.srtt(), r.rttvar(), r.rto()), (100, 50, 300));
        r.sample(100);
        // RTTVAR = 3/4*50 + 0 = 37; SRTT = 100; RTO = 100 + 4*37 = 248.
        assert_eq!((r.srtt(), r.rttvar(), r.rto()), (100, 37, 248));
        r.back_off();
        assert_eq!(r.rto(), 496);
        for _ in 0..20 {
            r.back_off();
        }
        assert_eq!(r.rto(), 8000);
        r.sample(10);
        assert!(r.rto() < 496);
        assert_eq!(r.min(), 10);
        let mut small = Rtt::new(1000, 20, 8000);
        small.sample(1);
        assert_eq!(small.rto(), 20);
    }
}
