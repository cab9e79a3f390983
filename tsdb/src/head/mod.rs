//! The in-memory head block. (Filled by the head work.)
