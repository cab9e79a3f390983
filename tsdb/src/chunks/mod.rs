//! Block chunk segment files. (Filled by the block format work.)
