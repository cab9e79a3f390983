//! Load profiles (the arrival rate over time) and the deterministic random source that turns
//! a rate into Poisson arrivals.

use std::f64::consts::PI;

/// The arrival rate of one function over profile time, in requests per second.
///
/// Profile time is simulated time × the compression factor, so a 24 h diurnal period runs
/// in 24 minutes with `--compress 60`; cold starts and service times are not compressed.
#[derive(Debug, Clone, PartialEq)]
pub enum Profile {
    /// `rate` all the time.
    Constant { rate: f64 },
    /// `base` until `at` seconds, `high` from then on.
    Step { base: f64, high: f64, at: f64 },
    /// `base`, except `peak` during `[at, at + width)`.
    Spike {
        base: f64,
        peak: f64,
        at: f64,
        width: f64,
    },
    /// `from` until `start`, then linear to `to` over `duration` seconds, then `to`.
    Ramp {
        from: f64,
        to: f64,
        start: f64,
        duration: f64,
    },
    /// A day: `min` at time 0 (midnight), `max` at half the period (noon), as a raised
    /// cosine; `phase` seconds shift the curve (a phase of `period / 2` starts at noon).
    Diurnal {
        min: f64,
        max: f64,
        period: f64,
        phase: f64,
    },
}

impl Profile {
    /// The rate at profile time `t` (seconds), never negative.
    pub fn rate(&self, t: f64) -> f64 {
        let r = match *self {
            Profile::Constant { rate } => rate,
            Profile::Step { base, high, at } => {
                if t < at {
                    base
                } else {
                    high
                }
            }
            Profile::Spike {
                base,
                peak,
                at,
                width,
            } => {
                if t >= at && t < at + width {
                    peak
                } else {
                    base
                }
            }
            Profile::Ramp {
                from,
                to,
                start,
                duration,
            } => {
                if t <= start {
                    from
                } else if duration <= 0.0 || t >= start + duration {
                    to
                } else {
                    from + (to - from) * (t - start) / duration
                }
            }
            Profile::Diurnal {
                min,
                max,
                period,
                phase,
            } => {
                let x = 2.0 * PI * (t + phase) / period;
                min + (max - min) * (1.0 - x.cos()) / 2.0
            }
        };
        r.max(0.0)
    }

    /// The largest rate the profile ever reaches (bounds the arrival sampler).
    pub fn max_rate(&self) -> f64 {
        match *self {
            Profile::Constant { rate } => rate,
            Profile::Step { base, high, .. } => base.max(high),
            Profile::Spike { base, peak, .. } => base.max(peak),
            Profile::Ramp { from, to, .. } => from.max(to),
            Profile::Diurnal { min, max, .. } => min.max(max),
        }
        .max(0.0)
    }

    /// The profile's name as flags and metrics show it.
    pub fn name(&self) -> &'static str {
        match self {
            Profile::Constant { .. } => "constant",
            Profile::Step { .. } => "step",
            Profile::Spike { .. } => "spike",
            Profile::Ramp { .. } => "ramp",
            Profile::Diurnal { .. } => "diurnal",
        }
    }
}

/// SplitMix64: small, fast, and the same sequence on every platform and crate version, which
/// is what a seeded benchmark needs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `(0, 1]` (never 0, so `ln` is finite).
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Exponentially distributed with mean 1.
    pub fn exp1(&mut self) -> f64 {
        -self.unit().ln()
    }
}

/// Poisson arrivals of a time-varying rate, by thinning (Lewis and Shedler): candidates at
/// the profile's maximum rate, each kept with probability `rate(t) / max_rate`.
#[derive(Debug, Clone)]
pub struct Arrivals {
    profile: Profile,
    /// Profile seconds per simulated second.
    compress: f64,
    max_rate: f64,
    rng: Rng,
    /// The next candidate arrival, simulated seconds.
    next: f64,
}

impl Arrivals {
    pub fn new(profile: Profile, compress: f64, seed: u64) -> Arrivals {
        let max_rate = profile.max_rate();
        let mut a = Arrivals {
            profile,
            compress,
            max_rate,
            rng: Rng::new(seed),
            next: 0.0,
        };
        a.next = a.candidate_after(0.0);
        a
    }

    /// The rate at simulated time `t` (requests per simulated second).
    pub fn rate_at(&self, t: f64) -> f64 {
        self.profile.rate(t * self.compress)
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    fn candidate_after(&mut self, t: f64) -> f64 {
        if self.max_rate <= 0.0 {
            f64::INFINITY
        } else {
            t + self.rng.exp1() / self.max_rate
        }
    }

    /// The time of the next candidate arrival (simulated seconds; it may be thinned away).
    pub fn peek(&self) -> f64 {
        self.next
    }

    /// Consumes the next candidate; true if it is an arrival (kept by thinning).
    pub fn pop(&mut self) -> bool {
        let t = self.next;
        self.next = self.candidate_after(t);
        let keep = self.rate_at(t) / self.max_rate;
        self.rng.unit() <= keep
    }

    /// The next arrival strictly before `until` (simulated seconds), if any; consumes it.
    pub fn next_before(&mut self, until: f64) -> Option<f64> {
        while self.next < until {
            let t = self.next;
            if self.pop() {
                return Some(t);
            }
        }
        None
    }
}
