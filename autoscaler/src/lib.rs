//! Scaling policies (pure decision functions), controllers and scale targets.
//!
//! Not implemented yet.
