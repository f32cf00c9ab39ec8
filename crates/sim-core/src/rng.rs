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

    /// A draw from the exponential distribution with mean `mean` (the gap
    /// between two events of a Poisson process), by inversion: `mean ×
    /// -ln(u)` for a uniform `u` in (0, 1] of 32 bits. The logarithm is
    /// computed in fixed point with integer operations only, so every
    /// platform draws the same numbers. The largest draw is `32 ln 2 ≈
    /// 22.2` times the mean.
    pub fn exponential(&mut self, mean: u64) -> u64 {
        let x = (self.next_u64() >> 32) + 1; // 1..=2^32: u = x / 2^32
        let neg_log2_q32 = (32u64 << 32) - log2_q32(x);
        let neg_ln_q32 = (u128::from(neg_log2_q32) * LN_2_Q32) >> 32;
        ((u128::from(mean) * neg_ln_q32) >> 32) as u64
    }
}

/// ln 2 in 32.32 fixed point.
const LN_2_Q32: u128 = 2_977_044_472;

/// log2(x) for x ≥ 1 in 32.32 fixed point: the integer part is the position
/// of the highest set bit; each fraction bit comes from squaring the
/// mantissa (in [1, 2)) and seeing whether the square reaches 2.
fn log2_q32(x: u64) -> u64 {
    debug_assert!(x >= 1);
    let int = 63 - u64::from(x.leading_zeros());
    // The mantissa x / 2^int in [1, 2), as a fraction of 2^62.
    let mut m = u128::from(x) << (62 - int);
    let mut frac = 0u64;
    for bit in (0..32).rev() {
        m = (m * m) >> 62;
        if m >= 2 << 62 {
            m >>= 1;
            frac |= 1 << bit;
        }
    }
    (int << 32) | frac
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
    fn fixed_point_log2_matches_the_float_logarithm() {
        for x in [1u64, 2, 3, 10, 1000, 123_456_789, 1 << 32, u64::MAX >> 1] {
            let got = log2_q32(x) as f64 / (1u64 << 32) as f64;
            let want = (x as f64).log2();
            assert!((got - want).abs() < 1e-8, "log2({x}): {got} vs {want}");
        }
    }

    #[test]
    fn exponential_draws_have_the_mean_and_the_spread_of_the_distribution() {
        let mut s = SeedTree::new(5).stream("x");
        let draws: Vec<u64> = (0..200_000).map(|_| s.exponential(1_000_000)).collect();
        let mean = draws.iter().sum::<u64>() as f64 / draws.len() as f64;
        assert!((mean - 1e6).abs() < 1e4, "mean {mean}");
        // P(X > mean) = 1/e for an exponential.
        let above = draws.iter().filter(|&&d| d > 1_000_000).count() as f64 / 200_000.0;
        assert!((above - (-1f64).exp()).abs() < 0.005, "P(X > mean) {above}");
        assert!(draws.iter().all(|&d| d <= 22_200_000));
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
