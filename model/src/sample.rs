//! Samples, timestamps and the staleness marker.

/// Bit pattern of the staleness marker: a NaN that no arithmetic produces. A series that
/// ends (disappears from a scrape, or its target goes away) gets one sample with this value.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as an `f64`.
#[inline]
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// True if `v` is the staleness marker (compared by bits: any other NaN is an ordinary value).
#[inline]
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One float sample: a timestamp in milliseconds since the Unix epoch and a value.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub t: i64,
    pub v: f64,
}

impl Sample {
    pub fn new(t: i64, v: f64) -> Self {
        Sample { t, v }
    }
}

/// Samples compare equal when their timestamps are equal and their values are bit-identical,
/// which is what storage round-trips promise (NaN payloads and -0.0 included).
impl PartialEq for Sample {
    fn eq(&self, other: &Self) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}
impl Eq for Sample {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_distinct_from_other_nans() {
        assert!(is_stale_nan(stale_nan()));
        assert!(stale_nan().is_nan());
        assert!(!is_stale_nan(f64::NAN));
        assert!(!is_stale_nan(0.0));
    }

    #[test]
    fn samples_compare_by_bits() {
        assert_eq!(Sample::new(1, f64::NAN), Sample::new(1, f64::NAN));
        assert_ne!(Sample::new(1, 0.0), Sample::new(1, -0.0));
        assert_ne!(Sample::new(1, stale_nan()), Sample::new(1, f64::NAN));
    }
}
