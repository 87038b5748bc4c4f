//! A hasher for the integer keys of the hot paths (the duplicate check of every row, the
//! observations of an evaluation). Written here rather than taken from a crate: it is ten
//! lines, and the ingest and evaluate benchmarks were measured with it.
//!
//! Owns: `FastHash` and `FastHasher`. Receives: integer keys. Hands on: the hasher to
//! `domain::gap::Observations` and to `ingest::normalize` (re-exported there) for its
//! duplicate check.

/// A multiplicative hasher for integer keys (the duplicate check runs once per row).
#[derive(Default, Clone, Copy)]
pub struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

pub struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}
