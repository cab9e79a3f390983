//! Latency bookkeeping: the classic Prometheus histogram `/metrics` exposes, and a
//! log-bucketed sketch for the summary's quantiles.

/// Prometheus client libraries' default buckets (seconds); `+Inf` is implied.
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A classic histogram: per-bucket counts (not cumulative), sum and count.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Histogram {
    /// `counts[i]` observations in `(BUCKETS[i-1], BUCKETS[i]]`; the last is above 10 s.
    pub counts: [u64; BUCKETS.len() + 1],
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    pub fn observe(&mut self, v: f64) {
        let i = BUCKETS.partition_point(|&b| b < v);
        self.counts[i] += 1;
        self.sum += v;
        self.count += 1;
    }

    /// Cumulative counts, one per bucket of `BUCKETS` then `+Inf`.
    pub fn cumulative(&self) -> impl Iterator<Item = u64> + '_ {
        self.counts.iter().scan(0u64, |acc, c| {
            *acc += c;
            Some(*acc)
        })
    }
}

/// Relative width of a sketch bucket: quantiles are within 2 % of the true value.
const GAMMA: f64 = 1.02;
/// The smallest latency told apart (1 µs); smaller ones fall in bucket 0.
const MIN: f64 = 1e-6;
/// Buckets up to about 1e-6 × 1.02^1200 ≈ 2e4 s.
const SKETCH_BUCKETS: usize = 1200;

/// A fixed-size log-bucketed sketch (like DDSketch): constant memory however long the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Sketch {
    counts: Vec<u64>,
    count: u64,
}

impl Default for Sketch {
    fn default() -> Sketch {
        Sketch {
            counts: vec![0; SKETCH_BUCKETS],
            count: 0,
        }
    }
}

impl Sketch {
    pub fn observe(&mut self, v: f64) {
        let i = if v <= MIN {
            0
        } else {
            ((v / MIN).ln() / GAMMA.ln()).ceil() as usize
        };
        self.counts[i.min(SKETCH_BUCKETS - 1)] += 1;
        self.count += 1;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The `q`-quantile (0..=1): the upper bound of the bucket holding it; `None` if empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(MIN * GAMMA.powi(i as i32));
            }
        }
        None
    }
}
