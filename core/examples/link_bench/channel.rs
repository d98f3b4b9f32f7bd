//! The simulated channel both stacks run over: two [`Line`]s of the simulator (one each way)
//! and a loss model per direction, with counters of everything put on the wire.

use crate::sim::{Impair, Line, Rng};

/// Which frames a direction loses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// Each frame independently, with this probability.
    Independent(f64),
    /// Gilbert–Elliott: a good state that loses nothing and a bad state that loses every
    /// frame, with state changes per frame; bursts have a geometric length of mean `burst`
    /// frames, and `average` of all frames are lost.
    GilbertElliott { burst: f64, average: f64 },
    /// Bursts of `min..=max` frames (uniform) that lose every frame, separated by geometric
    /// gaps; `average` of all frames are lost.
    Bursts { min: u32, max: u32, average: f64 },
}

impl Loss {
    /// The long-run fraction of frames lost.
    pub fn average(&self) -> f64 {
        match *self {
            Loss::Independent(p) => p,
            Loss::GilbertElliott { average, .. } | Loss::Bursts { average, .. } => average,
        }
    }

    /// A short label for tables.
    pub fn label(&self) -> String {
        match *self {
            Loss::Independent(p) => format!("{:.0} %", p * 100.0),
            Loss::GilbertElliott { burst, average } => {
                format!("GE {:.0} %, bursts ~{burst:.0}", average * 100.0)
            }
            Loss::Bursts { min, max, average } => {
                format!("bursts {min}–{max}, {:.0} %", average * 100.0)
            }
        }
    }

    /// Whether this is a burst model.
    pub fn is_bursty(&self) -> bool {
        !matches!(self, Loss::Independent(_))
    }
}

/// The loss process of one direction.
struct LossState {
    model: Loss,
    rng: Rng,
    /// Gilbert–Elliott: in the bad state.
    bad: bool,
    /// Bursts: frames of the current burst still to lose.
    left: u32,
}

impl LossState {
    fn new(model: Loss, seed: u64) -> Self {
        Self {
            model,
            rng: Rng(seed | 1),
            bad: false,
            left: 0,
        }
    }

    /// Whether the next frame is lost.
    fn lose(&mut self) -> bool {
        match self.model {
            Loss::Independent(p) => self.rng.chance(p),
            Loss::GilbertElliott { burst, average } => {
                let leave = 1.0 / burst;
                let enter = average * leave / (1.0 - average);
                self.bad = if self.bad {
                    !self.rng.chance(leave)
                } else {
                    self.rng.chance(enter)
                };
                self.bad
            }
            Loss::Bursts { min, max, average } => {
                if self.left > 0 {
                    self.left -= 1;
                    return true;
                }
                let mean = f64::from(min + max) / 2.0;
                let gap = mean * (1.0 - average) / average;
                if self.rng.chance(1.0 / (gap + 1.0)) {
                    let len = min + self.rng.below(u64::from(max - min + 1)) as u32;
                    self.left = len - 1;
                    return true;
                }
                false
            }
        }
    }
}

/// What one direction carried.
#[derive(Clone, Copy, Debug, Default)]
pub struct Carried {
    /// Frames put on the line (lost ones included).
    pub frames: u64,
    /// Bytes put on the line (lost ones included).
    pub bytes: u64,
    /// Frames lost.
    pub lost: u64,
}

/// Both directions between endpoint 0 and endpoint 1.
pub struct Channel {
    lines: [Line; 2],
    loss: [LossState; 2],
    /// Per direction: index 0 is 0 -> 1.
    pub carried: [Carried; 2],
}

impl Channel {
    /// A channel with `imp`'s rate, delay and jitter each way and `loss` each way
    /// (independent draws per direction).
    pub fn new(imp: Impair, stream: bool, loss: Loss, seed: u64) -> Self {
        Self {
            lines: [
                Line::new(imp, seed.wrapping_mul(3), stream),
                Line::new(imp, seed.wrapping_mul(5), stream),
            ],
            loss: [
                LossState::new(loss, seed.wrapping_mul(7)),
                LossState::new(loss, seed.wrapping_mul(11)),
            ],
            carried: [Carried::default(); 2],
        }
    }

    /// Whether endpoint `from`'s line takes a frame now.
    pub fn ready(&self, from: usize, now: u64) -> bool {
        self.lines[from].ready(now)
    }

    /// The first millisecond, `now` or later, endpoint `from`'s line takes a frame.
    pub fn ready_at(&self, from: usize, now: u64) -> u64 {
        self.lines[from].ready_at(now)
    }

    /// Endpoint `from` puts `frame` on its line.
    pub fn send(&mut self, from: usize, now: u64, frame: &[u8]) {
        let lost = self.loss[from].lose();
        let c = &mut self.carried[from];
        c.frames += 1;
        c.bytes += frame.len() as u64;
        c.lost += u64::from(lost);
        self.lines[from].send(now, frame, lost);
    }

    /// The next frame that has reached endpoint `to` by `now`.
    pub fn receive(&mut self, to: usize, now: u64) -> Option<Vec<u8>> {
        self.lines[1 - to].receive(now)
    }

    /// When the earliest frame on the way (either direction) arrives.
    pub fn next_arrival(&self) -> Option<u64> {
        self.lines.iter().filter_map(|l| l.next_arrival()).min()
    }
}
