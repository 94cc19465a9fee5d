//! Batch norm against the f64 reference (outputs, running statistics with PyTorch's convention),
//! and its gradients against finite differences, on images and on flat features.

use super::naive;
use super::{assert_close, check_fd, dot, sample, values};
use crate::engine::ops::{BatchNorm, BatchNormCache};

/// (n, channels, spatial): images (spatial = H·W) and flat [N, F] batches (spatial = 1).
const CASES: [(usize, usize, usize); 5] = [(2, 3, 12), (1, 1, 20), (5, 4, 1), (3, 2, 6), (2, 7, 1)];

fn params(c: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let gamma = values(c, seed).iter().map(|v| 1.0 + 0.5 * v).collect();
    (gamma, values(c, seed + 1))
}

#[test]
fn training_and_eval_forward_match_the_reference() {
    for (t, &(n, c, s)) in CASES.iter().enumerate() {
        let bn = BatchNorm {
            momentum: 0.25,
            ..BatchNorm::new(c, s)
        };
        // an offset and scale so that the statistics matter
        let x: Vec<f32> = values(n * c * s, 200 + t as u64)
            .iter()
            .map(|v| 3.0 * v + 0.7)
            .collect();
        let (gamma, beta) = params(c, 210 + t as u64);
        let (mut rm, mut rv) = (
            values(c, 220 + t as u64),
            values(c, 230 + t as u64)
                .iter()
                .map(|v| 1.5 + v)
                .collect::<Vec<_>>(),
        );
        let (rm0, rv0) = (rm.clone(), rv.clone());
        let mut y = vec![0.0; x.len()];
        let mut cache = BatchNormCache::default();
        bn.try_forward_train(n, &x, &gamma, &beta, &mut rm, &mut rv, &mut y, &mut cache)
            .unwrap();
        let (want, means, vars) = naive::batch_norm(n, c, s, &x, &gamma, &beta, 1e-5);
        assert_close(&format!("bn case {t} train"), &y, &want, 1e-4);
        let m = (n * s) as f64;
        let want_rm: Vec<f64> = (0..c)
            .map(|i| 0.75 * rm0[i] as f64 + 0.25 * means[i])
            .collect();
        let want_rv: Vec<f64> = (0..c)
            .map(|i| 0.75 * rv0[i] as f64 + 0.25 * vars[i] * m / (m - 1.0))
            .collect();
        assert_close(&format!("bn case {t} running mean"), &rm, &want_rm, 1e-5);
        assert_close(
            &format!("bn case {t} running var (unbiased)"),
            &rv,
            &want_rv,
            1e-5,
        );
        // evaluation uses the running statistics
        bn.forward_eval(n, &x, &gamma, &beta, &rm, &rv, &mut y);
        let want: Vec<f64> = (0..x.len())
            .map(|i| {
                let ch = (i / s) % c;
                (x[i] as f64 - rm[ch] as f64) / (rv[ch] as f64 + 1e-5).sqrt() * gamma[ch] as f64
                    + beta[ch] as f64
            })
            .collect();
        assert_close(&format!("bn case {t} eval"), &y, &want, 1e-4);
    }
}

#[test]
fn gradients_match_finite_differences() {
    for (t, &(n, c, s)) in CASES.iter().enumerate() {
        let bn = BatchNorm::new(c, s);
        let mut x: Vec<f32> = values(n * c * s, 300 + t as u64)
            .iter()
            .map(|v| 2.0 * v + 0.3)
            .collect();
        let (mut gamma, mut beta) = params(c, 310 + t as u64);
        let r = values(x.len(), 320 + t as u64);
        let (rm, rv): (Vec<f32>, Vec<f32>) = (
            values(c, 330),
            values(c, 340).iter().map(|v| 1.2 + v).collect(),
        );
        for train in [true, false] {
            let what = format!("bn case {t} train {train}");
            let forward = |x: &[f32], g: &[f32], b: &[f32]| {
                let mut y = vec![0.0; x.len()];
                if train {
                    let (mut m, mut v) = (rm.clone(), rv.clone());
                    bn.try_forward_train(
                        n,
                        x,
                        g,
                        b,
                        &mut m,
                        &mut v,
                        &mut y,
                        &mut BatchNormCache::default(),
                    )
                    .unwrap();
                } else {
                    bn.forward_eval(n, x, g, b, &rm, &rv, &mut y);
                }
                y
            };
            let (mut dg, mut db, mut dx) = (vec![0.0; c], vec![0.0; c], vec![0.0; x.len()]);
            if train {
                let mut cache = BatchNormCache::default();
                let (mut m, mut v) = (rm.clone(), rv.clone());
                bn.try_forward_train(
                    n,
                    &x,
                    &gamma,
                    &beta,
                    &mut m,
                    &mut v,
                    &mut vec![0.0; x.len()],
                    &mut cache,
                )
                .unwrap();
                bn.backward_train(n, &x, &r, &gamma, &cache, &mut dg, &mut db, Some(&mut dx));
            } else {
                bn.backward_eval(n, &x, &r, &gamma, &rm, &rv, &mut dg, &mut db, Some(&mut dx));
            }
            let (x0, g0, b0) = (x.clone(), gamma.clone(), beta.clone());
            check_fd(
                &format!("{what} dx"),
                &mut x,
                &dx,
                sample(x0.len()),
                1e-2,
                |x| dot(&r, &forward(x, &g0, &b0)),
            );
            check_fd(
                &format!("{what} dgamma"),
                &mut gamma,
                &dg,
                0..c,
                1e-2,
                |g| dot(&r, &forward(&x0, g, &b0)),
            );
            check_fd(&format!("{what} dbeta"), &mut beta, &db, 0..c, 1e-2, |b| {
                dot(&r, &forward(&x0, &g0, b))
            });
        }
    }
}

#[test]
fn a_single_value_per_channel_is_an_error_in_training() {
    let bn = BatchNorm::new(3, 1);
    let (x, g, b) = (vec![1.0; 3], vec![1.0; 3], vec![0.0; 3]);
    let (mut m, mut v, mut y) = (vec![0.0; 3], vec![1.0; 3], vec![0.0; 3]);
    let e = bn
        .try_forward_train(
            1,
            &x,
            &g,
            &b,
            &mut m,
            &mut v,
            &mut y,
            &mut BatchNormCache::default(),
        )
        .unwrap_err();
    assert!(
        e.message.contains("at least 2 values per channel") && e.message.contains("3 channels"),
        "{}",
        e.message
    );
    assert_eq!(
        (m, v),
        (vec![0.0; 3], vec![1.0; 3]),
        "running statistics untouched"
    );
}
