//! Batch norm's statistics and parameter gradients keep the bits of a plain channel-by-channel
//! loop (the order the project's pinned results were computed in): a faster summation (several
//! channels side by side, other splits) must keep every channel's order, and this says whether it
//! does, on several channel counts and on a channel of −0.0 (`Iterator::sum` starts at −0.0).

use super::values;
use crate::engine::ops::{BatchNorm, BatchNormCache};

/// Channel `c`'s values, example by example.
fn channel(n: usize, c: usize, ch: usize, s: usize, v: &[f32]) -> impl Iterator<Item = f32> + '_ {
    (0..n).flat_map(move |b| v[(b * c + ch) * s..][..s].iter().copied())
}

#[test]
fn sums_keep_the_bits_of_a_channel_by_channel_loop() {
    for (t, &(n, c, s)) in [(3, 4, 16), (2, 9, 7), (5, 3, 1), (4, 8, 1), (2, 6, 5)]
        .iter()
        .enumerate()
    {
        let bn = BatchNorm::new(c, s);
        let mut x: Vec<f32> = values(n * c * s, 300 + t as u64)
            .iter()
            .map(|v| 3.0 * v + 0.7)
            .collect();
        // one channel of negative zeros: its sums keep their sign as the plain loop's do
        for b in 0..n {
            x[(b * c + 1) * s..][..s].fill(-0.0);
        }
        let dy = values(n * c * s, 310 + t as u64);
        let gamma = vec![1.0; c];
        let beta = vec![0.0; c];
        let (mut rm, mut rv) = (vec![0.5; c], vec![2.0; c]);
        let mut y = vec![0.0; x.len()];
        let mut cache = BatchNormCache::default();
        bn.try_forward_train(n, &x, &gamma, &beta, &mut rm, &mut rv, &mut y, &mut cache)
            .unwrap();
        let (mut dg, mut db) = (vec![0.0; c], vec![0.0; c]);
        bn.backward_train(n, &x, &dy, &gamma, &cache, &mut dg, &mut db, None);
        let m = (n * s) as f64;
        for ch in 0..c {
            let sum: f64 = channel(n, c, ch, s, &x).map(|v| v as f64).sum();
            let mean = sum / m;
            let sq: f64 = channel(n, c, ch, s, &x)
                .map(|v| (v as f64 - mean).powi(2))
                .sum();
            let inv_std = (1.0 / (sq / m + bn.eps as f64).sqrt()) as f32;
            let (mut sg, mut sgx) = (0f64, 0f64);
            for (v, g) in channel(n, c, ch, s, &x).zip(channel(n, c, ch, s, &dy)) {
                sg += g as f64;
                sgx += g as f64 * ((v - mean as f32) * inv_std) as f64;
            }
            let case = format!("case {t} channel {ch}");
            assert_eq!(
                cache.mean[ch].to_bits(),
                (mean as f32).to_bits(),
                "{case} mean"
            );
            assert_eq!(
                cache.inv_std[ch].to_bits(),
                inv_std.to_bits(),
                "{case} 1/std"
            );
            assert_eq!(dg[ch].to_bits(), (sgx as f32).to_bits(), "{case} dgamma");
            assert_eq!(db[ch].to_bits(), (sg as f32).to_bits(), "{case} dbeta");
        }
    }
}
