//! Counter-based random streams.
//!
//! Every random draw in training is taken from a generator seeded by `(seed, purpose, index)`,
//! e.g. the noise of step 1234 or the shuffle of epoch 7. No generator state has to be carried
//! or checkpointed: resuming at step `t` reproduces exactly the numbers an uninterrupted run draws.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What a stream is used for; part of its seed so that streams never overlap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    InitG = 1,
    InitD = 2,
    Shuffle = 3,
    Step = 4,
    FixedNoise = 5,
    Sample = 6,
    Data = 7,
    /// The evaluation classifier's initial weights ([`super::classifier`]).
    ClassifierInit = 8,
    /// The classifier's epoch shuffles.
    ClassifierShuffle = 9,
    /// The classifier's per-step augmentation shifts and dropout masks.
    ClassifierStep = 10,
}

/// SplitMix64 finaliser: a bijective mix so nearby `(seed, purpose, index)` give unrelated seeds.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The generator for `(seed, purpose, index)`.
pub fn stream(seed: u64, purpose: Purpose, index: u64) -> ChaCha8Rng {
    let s = mix(mix(mix(seed) ^ purpose as u64) ^ index);
    ChaCha8Rng::seed_from_u64(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u32> = (0..4)
            .map(|_| 0)
            .scan(stream(1, Purpose::Step, 5), |r, _| Some(r.gen()))
            .collect();
        let b: Vec<u32> = (0..4)
            .map(|_| 0)
            .scan(stream(1, Purpose::Step, 5), |r, _| Some(r.gen()))
            .collect();
        let c: Vec<u32> = (0..4)
            .map(|_| 0)
            .scan(stream(1, Purpose::Step, 6), |r, _| Some(r.gen()))
            .collect();
        let d: Vec<u32> = (0..4)
            .map(|_| 0)
            .scan(stream(1, Purpose::Shuffle, 5), |r, _| Some(r.gen()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
