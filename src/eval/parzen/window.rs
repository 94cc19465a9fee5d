//! The Parzen window itself: centred, transposed samples and the GEMM that scores query rows
//! against them, block by block.

use std::time::Instant;

use anyhow::{ensure, Result};

use super::kernel::{block_kernel, worker_threads};
use super::{
    argmax_sigma, check_matrix, check_sigmas, score_sigmas, ParzenTiming, DEFAULT_BLOCK_BYTES,
};
use crate::linalg::gemm::{self, MatRef};
use crate::stats::log_normaliser;

/// A Parzen window fitted on a fixed set of samples, reusable across query sets.
///
/// Distances use `‖x − μ_j‖² = ‖x − c‖² + a_j − 2 x·μ'_j` with c the sample mean,
/// `μ'_j = μ_j − c` and `a_j = ‖μ'_j‖² + 2 c·μ'_j`. Centring the samples keeps
/// the f32 products small (less cancellation); leaving x uncentred keeps its
/// zeros, so columns that are zero in every query row (MNIST's borders: 116 of
/// 784 on the test set, 204 on the validation rows) drop out of the GEMM.
pub struct ParzenWindow {
    dim: usize,
    n: usize,
    /// (d,) sample mean c.
    centre: Vec<f32>,
    /// (d, n) centred samples μ', transposed so that a subset of columns of
    /// the data is a subset of rows here (one memcpy each).
    mu_t: Vec<f32>,
    /// (n,) a_j = ‖μ'_j‖² + 2 c·μ'_j.
    mu_terms: Vec<f32>,
    /// Rows of x per GEMM block.
    block_rows: usize,
}

impl ParzenWindow {
    /// Fits the window on `samples` (n×d row-major f32). Errors on `dim == 0`,
    /// empty samples, a length that is not a multiple of `dim`, or non-finite values.
    pub fn new(samples: &[f32], dim: usize) -> Result<Self> {
        let n = check_matrix("samples", samples, dim)?;
        ensure!(
            n > 0,
            "Parzen window: no samples (0 rows of dimension {dim})"
        );

        // Mean in f64: summing 10^4 values in f32 would lose digits we then
        // subtract from every row.
        let mut acc = vec![0f64; dim];
        for row in samples.chunks_exact(dim) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v as f64;
            }
        }
        let centre: Vec<f32> = acc.iter().map(|&a| (a / n as f64) as f32).collect();

        // Per-sample terms a_j (accumulated in f64).
        let mu_terms: Vec<f32> = samples
            .chunks_exact(dim)
            .map(|row| {
                let a: f64 = row
                    .iter()
                    .zip(&centre)
                    .map(|(&v, &c)| {
                        let y = (v - c) as f64;
                        y * (y + 2.0 * c as f64)
                    })
                    .sum();
                a as f32
            })
            .collect();
        // (d, n) μ'ᵀ, transposed in tiles of TILE samples so that the writes
        // are runs of TILE floats and the tile's rows stay in cache.
        const TILE: usize = 64;
        let mut mu_t = vec![0f32; dim * n];
        for (t, tile) in samples.chunks(TILE * dim).enumerate() {
            let j0 = t * TILE;
            for (p, &c) in centre.iter().enumerate() {
                let dst = &mut mu_t[p * n + j0..p * n + j0 + tile.len() / dim];
                for (o, row) in dst.iter_mut().zip(tile.chunks_exact(dim)) {
                    *o = row[p] - c;
                }
            }
        }

        let block_rows = (DEFAULT_BLOCK_BYTES / (n * std::mem::size_of::<f32>())).max(1);
        Ok(Self {
            dim,
            n,
            centre,
            mu_t,
            mu_terms,
            block_rows,
        })
    }

    /// Sets how many query rows go into one GEMM block (at least 1). The block
    /// of distances then takes `rows × n × 4` bytes; the default keeps it under
    /// [`DEFAULT_BLOCK_BYTES`]. The result does not depend on it.
    pub fn with_block_rows(mut self, rows: usize) -> Self {
        self.block_rows = rows.max(1);
        self
    }

    /// Number of samples n in the window.
    pub fn n_samples(&self) -> usize {
        self.n
    }

    /// Dimension d of the samples.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Per-row log-likelihoods of `x` (m×d) for each σ: `result[s][i]`.
    pub fn log_likelihoods(&self, x: &[f32], sigmas: &[f64]) -> Result<Vec<Vec<f64>>> {
        self.log_likelihoods_timed(x, sigmas).map(|(lls, _)| lls)
    }

    /// σ with the highest mean log-likelihood of `valid`, plus all scores.
    pub fn select_sigma(&self, valid: &[f32], sigmas: &[f64]) -> Result<(f64, Vec<(f64, f64)>)> {
        let lls = self.log_likelihoods(valid, sigmas)?;
        let scores = score_sigmas(sigmas, &lls);
        Ok((argmax_sigma(&scores), scores))
    }

    /// [`Self::log_likelihoods`], also returning where the time went.
    ///
    /// Memory beyond the inputs and the (S, m) result: one (B, n) f32 distance
    /// block (at most [`DEFAULT_BLOCK_BYTES`] by default), the (B, k) query block, and, when
    /// some columns of `x` are all zero, a (k, n) copy of the used sample columns.
    pub fn log_likelihoods_timed(
        &self,
        x: &[f32],
        sigmas: &[f64],
    ) -> Result<(Vec<Vec<f64>>, ParzenTiming)> {
        let t0 = Instant::now();
        let (n, d) = (self.n, self.dim);
        let m = check_matrix("x", x, d).map_err(|e| {
            e.context(format!(
                "Parzen window has samples of dimension {d} (n = {n})"
            ))
        })?;
        ensure!(
            m > 0,
            "Parzen log-likelihood: no query rows (x is empty, dimension {d})"
        );
        check_sigmas(sigmas)?;

        // Per σ: the kernel multiplies distances by 1/(2σ²) (f32, inside the
        // vectorised loop); log n and the normaliser d·log(σ√(2π)) come after.
        let inv_two_var: Vec<f64> = sigmas.iter().map(|&s| 0.5 / (s * s)).collect();
        let scales: Vec<f32> = inv_two_var.iter().map(|&c| c as f32).collect();
        let log_norm: Vec<f64> = sigmas
            .iter()
            .map(|&s| log_normaliser(d, s) + (n as f64).ln())
            .collect();

        // Columns where some query row is non-zero; the others add nothing to x·μ'.
        let mut used = vec![false; d];
        for row in x.chunks_exact(d) {
            for (u, &v) in used.iter_mut().zip(row) {
                *u |= v != 0.0;
            }
        }
        let cols: Vec<usize> = (0..d).filter(|&p| used[p]).collect();
        let k = cols.len();
        // (k, n) right-hand side of the GEMM.
        let sub: Vec<f32>;
        let rhs: &[f32] = if k == d {
            &self.mu_t
        } else {
            let mut v = Vec::with_capacity(k * n);
            for &p in &cols {
                v.extend_from_slice(&self.mu_t[p * n..(p + 1) * n]);
            }
            sub = v;
            &sub
        };

        let threads = worker_threads();
        let block_rows = self.block_rows.min(m);
        let mut timing = ParzenTiming {
            prep_secs: t0.elapsed().as_secs_f64(),
            ..Default::default()
        };
        let mut out = vec![vec![0f64; m]; sigmas.len()];
        // (B, n) distance block, reused for every block.
        let mut dist = vec![0f32; block_rows * n];
        // (B, S) per-row, per-σ log Σ_j exp(-D_ij/2σ²), filled by the kernel.
        let mut lse = vec![0f64; block_rows * sigmas.len()];

        // (B, k) used columns of a query block, and (B,) ‖x_i − c‖².
        let mut xk: Vec<f32> = Vec::with_capacity(block_rows * k);
        let mut x_terms: Vec<f32> = Vec::with_capacity(block_rows);
        for (b, xb) in x.chunks(block_rows * d).enumerate() {
            let t = Instant::now();
            let rows = xb.len() / d;
            xk.clear();
            x_terms.clear();
            for row in xb.chunks_exact(d) {
                xk.extend(cols.iter().map(|&p| row[p]));
                // ‖x_i − c‖², summed in f64.
                let sq: f64 = row
                    .iter()
                    .zip(&self.centre)
                    .map(|(&v, &c)| (v as f64 - c as f64).powi(2))
                    .sum();
                x_terms.push(sq as f32);
            }
            timing.prep_secs += t.elapsed().as_secs_f64();

            let t = Instant::now();
            let dist = &mut dist[..rows * n];
            if k == 0 {
                // Every query row is zero: x·μ' = 0 (and a GEMM with k = 0 is
                // best not asked for).
                dist.fill(0.0);
            } else {
                // (B, k) · (k, n) -> (B, n), straight into the distance block.
                gemm::matmul(
                    dist,
                    n,
                    MatRef::new(&xk, rows, k),
                    MatRef::new(rhs, k, n),
                    None,
                );
                timing.gemm_secs += t.elapsed().as_secs_f64();
            }

            let t = Instant::now();
            let lse = &mut lse[..rows * sigmas.len()];
            block_kernel(
                dist,
                n,
                &x_terms,
                &self.mu_terms,
                &scales,
                &inv_two_var,
                lse,
                threads,
            );
            let row0 = b * block_rows;
            for (r, row_lse) in lse.chunks_exact(sigmas.len()).enumerate() {
                for (s, &v) in row_lse.iter().enumerate() {
                    out[s][row0 + r] = v - log_norm[s];
                }
            }
            timing.kernel_secs += t.elapsed().as_secs_f64();
        }
        Ok((out, timing))
    }
}
