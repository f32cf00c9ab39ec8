//! One `u64` seed, split into named ChaCha streams.
//!
//! Every source of randomness in the model draws from its own stream, named
//! after the runtime mechanism that uses it (`"steal-order"`, `"fastrand/P2"`).
//! A stream's key is derived only from the run's seed and the stream's name, so
//! adding a new stream or drawing more from one never shifts another: changing
//! how select picks a case does not change which victim a thief visits first.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// The run's seed; hands out independent named streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedTree {
    seed: u64,
}

impl SeedTree {
    /// A seed tree for one run.
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// The run's seed.
    pub fn seed(self) -> u64 {
        self.seed
    }

    /// The stream called `name`. The same `(seed, name)` always yields the same
    /// sequence of numbers, on every platform.
    pub fn stream(self, name: &str) -> SimRng {
        // FNV-1a of the name, then SplitMix64 to spread (seed, name) over 32 bytes.
        let name_hash = fnv1a64(name.as_bytes());
        let mut state = self.seed ^ name_hash.rotate_left(29);
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        SimRng {
            inner: ChaCha8Rng::from_seed(key),
        }
    }
}

/// FNV-1a, 64 bits: a small, stable, platform-independent hash (stream
/// names, content hashes in replay files and build caches).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A deterministic random stream.
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// The next 32 random bits (Go's `cheaprand` returns a `uint32`).
    pub fn next_u32(&mut self) -> u32 {
        (self.inner.next_u64() >> 32) as u32
    }

    /// A uniform integer in `0..n` (`n > 0`), by Lemire's multiply-shift, the
    /// same reduction Go's `cheaprandn` uses.
    pub fn below(&mut self, n: u32) -> u32 {
        debug_assert!(n > 0, "below(0) has no values to choose from");
        ((u64::from(self.next_u32()) * u64::from(n)) >> 32) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_name_give_the_same_stream() {
        let a: Vec<u64> = (0..4)
            .map(|_| SeedTree::new(7).stream("steal-order").next_u64())
            .collect();
        let mut s = SeedTree::new(7).stream("steal-order");
        let b = s.next_u64();
        assert_eq!(a[0], b);
    }

    #[test]
    fn streams_with_different_names_are_independent() {
        let mut a = SeedTree::new(7).stream("steal-order");
        let mut b = SeedTree::new(7).stream("select-order");
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_ne!(xs, ys);
    }

    #[test]
    fn different_seeds_give_different_streams() {
        let mut a = SeedTree::new(1).stream("x");
        let mut b = SeedTree::new(2).stream("x");
        assert_ne!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut s = SeedTree::new(3).stream("x");
        let mut seen = [false; 5];
        for _ in 0..200 {
            let v = s.below(5);
            assert!(v < 5);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|&b| b));
    }
}
