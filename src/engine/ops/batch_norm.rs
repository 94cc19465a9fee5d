//! Batch normalisation per channel of an NCHW batch (`spatial` = H·W) or per feature of a flat
//! `[N, F]` batch (`spatial` = 1, F channels).
//!
//! Conventions (PyTorch's, so that a DCGAN ported from PyTorch behaves the same and its numbers can
//! be compared): training normalises with the batch mean and the *biased* variance (÷ M, M = N·H·W
//! values per channel: the variance of the values actually normalised), and updates
//! `running = (1 − momentum)·running + momentum·batch` with the *unbiased* variance (÷ (M − 1)) in
//! the running variance, the estimate of the population variance that evaluation uses. `momentum`
//! is the weight of the new batch (PyTorch's 0.1 by default; Keras's 0.99 is the weight of the old).
//! Evaluation normalises with the running statistics.
//!
//! Sums run in f64, one channel per task in a fixed order: results do not depend on the thread count.

use super::par;
use crate::engine::ShapeError;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm {
    pub channels: usize,
    /// Values per channel per example: H·W for images, 1 for flat features.
    pub spatial: usize,
    pub eps: f32,
    pub momentum: f32,
}

/// What a training forward keeps for its backward: per channel, the batch mean and 1/√(var + eps).
#[derive(Clone, Debug, Default)]
pub struct BatchNormCache {
    pub mean: Vec<f32>,
    pub inv_std: Vec<f32>,
}

impl BatchNorm {
    pub fn new(channels: usize, spatial: usize) -> Self {
        BatchNorm {
            channels,
            spatial,
            eps: 1e-5,
            momentum: 0.1,
        }
    }

    fn width(&self) -> usize {
        self.channels * self.spatial
    }

    /// Channel `c`'s values in `v` (`n` examples), one slice per example.
    fn planes<'a>(&self, n: usize, c: usize, v: &'a [f32]) -> impl Iterator<Item = &'a [f32]> + 'a {
        let (s, w) = (self.spatial, self.width());
        (0..n).map(move |b| &v[b * w + c * s..][..s])
    }

    /// `f(c)` for every channel, one channel per task.
    fn per_channel<T: Send>(&self, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
        par::map(self.channels, f)
    }

    /// Training forward: normalises `x` (`n` examples) with its own statistics into `y`, fills
    /// `cache`, and moves the running statistics. Refuses a batch with fewer than 2 values per
    /// channel (its variance is undefined), as PyTorch does.
    #[allow(clippy::too_many_arguments)]
    pub fn try_forward_train(
        &self,
        n: usize,
        x: &[f32],
        gamma: &[f32],
        beta: &[f32],
        running_mean: &mut [f32],
        running_var: &mut [f32],
        y: &mut [f32],
        cache: &mut BatchNormCache,
    ) -> Result<(), ShapeError> {
        let m = n * self.spatial;
        if m < 2 {
            return Err(ShapeError::stack(format!(
                "batch_norm over {} channels: training needs at least 2 values per channel, got {n} example(s) of {}",
                self.channels, self.spatial
            )));
        }
        self.check(n, x.len(), gamma, beta, y.len());
        assert!(
            running_mean.len() == self.channels && running_var.len() == self.channels,
            "batch_norm running statistics"
        );
        let stats = self.per_channel(|c| {
            let sum: f64 = self.planes(n, c, x).flatten().map(|&v| v as f64).sum();
            let mean = sum / m as f64;
            let sq: f64 = self
                .planes(n, c, x)
                .flatten()
                .map(|&v| (v as f64 - mean).powi(2))
                .sum();
            (mean, sq / m as f64)
        });
        cache.mean.clear();
        cache.inv_std.clear();
        let mom = self.momentum as f64;
        for (c, &(mean, var)) in stats.iter().enumerate() {
            cache.mean.push(mean as f32);
            cache
                .inv_std
                .push((1.0 / (var + self.eps as f64).sqrt()) as f32);
            let unbiased = var * m as f64 / (m - 1) as f64;
            running_mean[c] = ((1.0 - mom) * running_mean[c] as f64 + mom * mean) as f32;
            running_var[c] = ((1.0 - mom) * running_var[c] as f64 + mom * unbiased) as f32;
        }
        self.apply(x, gamma, beta, &cache.mean, &cache.inv_std, y);
        Ok(())
    }

    /// Evaluation forward: normalises with the running statistics.
    #[allow(clippy::too_many_arguments)]
    pub fn forward_eval(
        &self,
        n: usize,
        x: &[f32],
        gamma: &[f32],
        beta: &[f32],
        running_mean: &[f32],
        running_var: &[f32],
        y: &mut [f32],
    ) {
        self.check(n, x.len(), gamma, beta, y.len());
        let inv_std = self.eval_inv_std(running_var);
        self.apply(x, gamma, beta, running_mean, &inv_std, y);
    }

    fn eval_inv_std(&self, running_var: &[f32]) -> Vec<f32> {
        assert_eq!(
            running_var.len(),
            self.channels,
            "batch_norm running variance"
        );
        running_var
            .iter()
            .map(|&v| 1.0 / (v + self.eps).sqrt())
            .collect()
    }

    /// `y = (x − mean)·inv_std·γ + β`, one example per task.
    fn apply(
        &self,
        x: &[f32],
        gamma: &[f32],
        beta: &[f32],
        mean: &[f32],
        inv_std: &[f32],
        y: &mut [f32],
    ) {
        let (s, w) = (self.spatial, self.width());
        par::chunks(y, w, |b, row| {
            let xr = &x[b * w..][..w];
            for c in 0..self.channels {
                let (mu, is, g, bt) = (mean[c], inv_std[c], gamma[c], beta[c]);
                for (o, &v) in row[c * s..][..s].iter_mut().zip(&xr[c * s..][..s]) {
                    *o = (v - mu) * is * g + bt;
                }
            }
        });
    }

    /// Training backward (through the batch statistics): `dgamma = Σ dy·x̂`, `dbeta = Σ dy` and,
    /// when asked, `dx = γ·inv_std·(dy − dbeta/M − x̂·dgamma/M)`. All overwritten.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_train(
        &self,
        n: usize,
        x: &[f32],
        dy: &[f32],
        gamma: &[f32],
        cache: &BatchNormCache,
        dgamma: &mut [f32],
        dbeta: &mut [f32],
        dx: Option<&mut [f32]>,
    ) {
        self.param_grads(n, x, dy, &cache.mean, &cache.inv_std, dgamma, dbeta);
        if let Some(dx) = dx {
            assert_eq!(dx.len(), x.len(), "batch_norm input gradient");
            let (s, w, m) = (self.spatial, self.width(), (n * self.spatial) as f32);
            par::chunks(dx, w, |b, row| {
                let (xr, gr) = (&x[b * w..][..w], &dy[b * w..][..w]);
                for c in 0..self.channels {
                    let (mu, is) = (cache.mean[c], cache.inv_std[c]);
                    let (mg, mb) = (dgamma[c] / m, dbeta[c] / m);
                    let scale = gamma[c] * is;
                    let span = c * s..(c + 1) * s;
                    for ((o, &v), &g) in row[span.clone()]
                        .iter_mut()
                        .zip(&xr[span.clone()])
                        .zip(&gr[span])
                    {
                        *o = scale * (g - mb - (v - mu) * is * mg);
                    }
                }
            });
        }
    }

    /// Evaluation backward (running statistics are constants): `dx = γ·inv_std·dy`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_eval(
        &self,
        n: usize,
        x: &[f32],
        dy: &[f32],
        gamma: &[f32],
        running_mean: &[f32],
        running_var: &[f32],
        dgamma: &mut [f32],
        dbeta: &mut [f32],
        dx: Option<&mut [f32]>,
    ) {
        let inv_std = self.eval_inv_std(running_var);
        self.param_grads(n, x, dy, running_mean, &inv_std, dgamma, dbeta);
        if let Some(dx) = dx {
            assert_eq!(dx.len(), x.len(), "batch_norm input gradient");
            let (s, w) = (self.spatial, self.width());
            par::chunks(dx, w, |b, row| {
                for c in 0..self.channels {
                    let scale = gamma[c] * inv_std[c];
                    for (o, &g) in row[c * s..][..s].iter_mut().zip(&dy[b * w + c * s..][..s]) {
                        *o = scale * g;
                    }
                }
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn param_grads(
        &self,
        n: usize,
        x: &[f32],
        dy: &[f32],
        mean: &[f32],
        inv_std: &[f32],
        dgamma: &mut [f32],
        dbeta: &mut [f32],
    ) {
        self.check(n, x.len(), dgamma, dbeta, dy.len());
        let sums = self.per_channel(|c| {
            let (mut sg, mut sgx) = (0f64, 0f64);
            for (xs, gs) in self.planes(n, c, x).zip(self.planes(n, c, dy)) {
                for (&v, &g) in xs.iter().zip(gs) {
                    sg += g as f64;
                    sgx += g as f64 * ((v - mean[c]) * inv_std[c]) as f64;
                }
            }
            (sgx, sg)
        });
        for (c, &(sgx, sg)) in sums.iter().enumerate() {
            dgamma[c] = sgx as f32;
            dbeta[c] = sg as f32;
        }
    }

    fn check(&self, n: usize, x_len: usize, gamma: &[f32], beta: &[f32], y_len: usize) {
        assert!(
            x_len == n * self.width() && y_len == x_len,
            "batch_norm buffers"
        );
        assert!(
            gamma.len() == self.channels && beta.len() == self.channels,
            "batch_norm parameters"
        );
    }
}
