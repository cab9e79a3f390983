//! Memory-mapped head chunk files. (Filled by the head-chunks work.)
