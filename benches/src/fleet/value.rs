//! Sample values: pure functions of (series id, life, tick), in fixed point.
//!
//! Every value is an integer number of units of 10^-scale (a count, bytes, centiseconds,
//! milliseconds), so the text a target writes is exact and every scraper parses the same
//! float from it.

/// The splitmix64 finalizer: a cheap, well-mixed 64-bit hash.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Hash of a pair.
pub(crate) fn h2(a: u64, b: u64) -> u64 {
    mix(a ^ mix(b))
}

/// When a series appeared and when it is reset (a process or node restart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Life {
    /// First tick of a series that churns (a pod of one generation); `None` for series that
    /// live for the whole run.
    pub born: Option<u64>,
    /// Ticks between planned restarts; 0 for never.
    pub period: u64,
    /// Offset of the restarts: they happen at ticks `k` with `(k + phase) % period == 0`.
    pub phase: u64,
}

impl Life {
    /// Ticks since the series appeared or last restarted, whichever is later.
    pub fn age(&self, k: u64) -> u64 {
        let since_restart = if self.period == 0 {
            k.wrapping_add(self.phase)
        } else {
            (k + self.phase) % self.period
        };
        match self.born {
            Some(b) => since_restart.min(k.saturating_sub(b)),
            None => since_restart,
        }
    }

    /// Whether tick `k` is a planned restart (counters start again from about zero). The
    /// first tick of a churned-in series is its birth, not a reset.
    pub fn resets_at(&self, k: u64) -> bool {
        self.period != 0
            && (k + self.phase).is_multiple_of(self.period)
            && self.born.is_none_or(|b| k > b)
    }
}

/// How a series' value moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Never changes.
    Const(i64),
    /// Piecewise constant: a new level `base + [0, levels) * step` every `every` ticks.
    Slow {
        base: i64,
        levels: u32,
        step: i64,
        every: u32,
    },
    /// A new value every tick in `base + [0, spread)`.
    Noisy { base: i64, spread: u32 },
    /// The tick's wall-clock time in milliseconds (scale 3: seconds).
    Clock { interval_ms: u64 },
    /// A counter: `rate * age + [0, rate]`, never decreasing between restarts.
    Counter { rate: u32 },
    /// A counter that grows by one every `every` ticks of age.
    Steps { every: u32 },
    /// A pod's `kube_pod_status_phase` for phase `slot` (Pending, Running, Succeeded,
    /// Failed, Unknown): 1 in the pod's current phase, else 0.
    Phase(u8),
    /// A pod's `kube_pod_status_ready` for condition `slot` (true, false, unknown).
    Ready(u8),
}

/// Phases in `kube_pod_status_phase` order.
pub(crate) const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];
/// Conditions in `kube_pod_status_ready` order.
pub(crate) const CONDITIONS: [&str; 3] = ["true", "false", "unknown"];

/// The phase (index into [`PHASES`]) of a pod `age` ticks old: pending for two ticks, then
/// running; one pod in ten is a job that succeeds after 30 ticks.
fn pod_phase(id: u64, age: u64) -> u8 {
    if age < 2 {
        0
    } else if id.is_multiple_of(10) && age > 30 {
        2
    } else {
        1
    }
}

impl Shape {
    /// The value at tick `k` in units of 10^-scale.
    pub fn value(&self, id: u64, life: &Life, k: u64) -> i64 {
        match *self {
            Shape::Const(v) => v,
            Shape::Slow {
                base,
                levels,
                step,
                every,
            } => {
                let epoch = (k.wrapping_add(id)) / u64::from(every.max(1));
                base + (h2(id, epoch) % u64::from(levels.max(1))) as i64 * step
            }
            Shape::Noisy { base, spread } => base + (h2(id, k) % u64::from(spread.max(1))) as i64,
            Shape::Clock { interval_ms } => (k * interval_ms) as i64,
            Shape::Counter { rate } => counter(id, life, k, rate),
            Shape::Steps { every } => (life.age(k) / u64::from(every.max(1))) as i64,
            Shape::Phase(slot) => i64::from(pod_phase(id, life.age(k)) == slot),
            Shape::Ready(slot) => {
                let ready = pod_phase(id, life.age(k)) == 1;
                i64::from(slot == if ready { 0 } else { 1 })
            }
        }
    }

    /// Whether the series is a counter (never decreases except at planned restarts).
    pub fn is_counter(&self) -> bool {
        matches!(self, Shape::Counter { .. } | Shape::Steps { .. })
    }
}

/// 0 at age 0 (a new series, or a restart), then `rate * age + h(k) % (rate + 1)`:
/// consecutive values differ by `rate + h(k+1) % (rate+1) - h(k) % (rate+1) >= 0`, so the
/// counter never decreases between restarts.
pub(crate) fn counter(id: u64, life: &Life, k: u64, rate: u32) -> i64 {
    let rate = u64::from(rate);
    match life.age(k) {
        0 => 0,
        age => (rate.wrapping_mul(age) + h2(id, k) % (rate + 1)) as i64,
    }
}

/// Appends `units × 10^-scale` in decimal, with exactly `scale` fraction digits.
pub(crate) fn write_fixed(out: &mut Vec<u8>, units: i64, scale: u8) {
    if units < 0 {
        out.push(b'-');
    }
    let mut u = units.unsigned_abs();
    let mut digits = [0u8; 24];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (u % 10) as u8;
        u /= 10;
        n += 1;
        if u == 0 && n > usize::from(scale) {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(digits[i]);
        if i == usize::from(scale) && scale > 0 {
            out.push(b'.');
        }
    }
}
