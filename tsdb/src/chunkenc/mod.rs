//! Chunk encodings. (Filled by the chunk codec work.)
