//! The block index format. (Filled by the block format work.)
