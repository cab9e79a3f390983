//! Function kernels: pure computations over one series' samples or values, with no knowledge
//! of the store or the evaluation loop.

pub mod buckets;
pub mod math;
pub mod window;
