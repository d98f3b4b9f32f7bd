//! Round-trip time estimation (RFC 6298 smoothing), in milliseconds.

/// The largest sample taken as it is (about 6 days, in ms): with every sample at most this,
/// `7 * srtt + r` and `3 * rttvar + delta` stay below `u32::MAX`.
pub const MAX_SAMPLE: u32 = u32::MAX / 8;

/// RTT estimator state: smoothed RTT, its variation, and the smallest sample.
#[derive(Debug, Clone, Copy)]
pub struct Rtt {
    srtt: u32,
    rttvar: u32,
    min: u32,
    have_sample: bool,
}

impl Rtt {
    /// No sample yet.
    pub const fn new() -> Self {
        Self {
            srtt: 0,
            rttvar: 0,
            min: u32::MAX,
            have_sample: false,
        }
    }

    /// Adds a sample (the caller knows which transmission it measures). A sample above
    /// `u32::MAX / 8` ms (a clock that jumped forward by days) counts as that much, which keeps
    /// the smoothing arithmetic in range; the timeout is clamped to `rto_max` anyway.
    pub fn sample(&mut self, r: u32) {
        let r = r.min(MAX_SAMPLE);
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
    }

    /// The base timeout: `SRTT + max(4 RTTVAR, 1) + extra`, clamped to `[lo, hi]`; `initial`
    /// before the first sample.
    pub fn timeout(&self, initial: u32, extra: u32, lo: u32, hi: u32) -> u32 {
        let t = if self.have_sample {
            self.srtt
                .saturating_add((4 * self.rttvar).max(1))
                .saturating_add(extra)
        } else {
            initial
        };
        t.clamp(lo, hi.max(lo))
    }

    /// Whether a sample was taken.
    pub fn has_sample(&self) -> bool {
        self.have_sample
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

impl Default for Rtt {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_rfc6298() {
        let mut r = Rtt::new();
        assert_eq!(r.timeout(1000, 0, 20, 8000), 1000);
        r.sample(100);
        assert_eq!((r.srtt(), r.rttvar()), (100, 50));
        assert_eq!(r.timeout(1000, 0, 20, 8000), 300);
        r.sample(100);
        // RTTVAR = 3/4*50 + 0 = 37; SRTT = 100; timeout = 100 + 4*37 = 248 (+5 ack delay).
        assert_eq!(r.timeout(1000, 5, 20, 8000), 253);
        r.sample(10);
        assert_eq!(r.min(), 10);
        let mut small = Rtt::new();
        small.sample(1);
        assert_eq!(small.timeout(1000, 0, 20, 8000), 20);
    }

    #[test]
    fn samples_from_a_clock_that_jumped_by_weeks_do_not_overflow() {
        let mut r = Rtt::new();
        r.sample(100);
        for huge in [u32::MAX - 3, u32::MAX, u32::MAX / 2] {
            r.sample(huge);
            assert!(r.srtt() <= MAX_SAMPLE && r.rttvar() <= MAX_SAMPLE);
            assert_eq!(r.timeout(1000, 5, 20, 8000), 8000);
        }
        // Ordinary samples bring the estimate back down.
        for _ in 0..200 {
            r.sample(50);
        }
        assert!(r.timeout(1000, 0, 20, 8000) < 100, "{:?}", r);
    }
}
