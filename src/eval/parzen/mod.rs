//! Parzen-window log-likelihood estimate, as in Goodfellow et al. 2014 (Table 1).
//!
//! Protocol (the paper's `parzen_ll.py`): fit an isotropic Gaussian Parzen window
//! on `n` generator samples μ_j, pick its width σ from `logspace(-1, 0, 10)` by the
//! mean log-likelihood of a validation set (MNIST `train[50000:51000]`), then report
//! the mean log-likelihood of the test set at that σ, with standard error
//! `std / sqrt(N)` (population std, numpy's `ddof = 0`).
//!
//! For one point x (dimension d):
//!
//! ```text
//! ll(x) = log( (1/n) Σ_j exp(-‖x − μ_j‖² / 2σ²) ) − d · log(σ √(2π))
//! ```
//!
//! # How it is computed
//!
//! * Squared distances come from one f32 GEMM per block of query rows,
//!   `‖x − μ‖² = ‖x − c‖² + a_j − 2 x·μ'ᵀ` (clamped at 0) with c the sample
//!   mean, `μ' = μ − c` and `a_j = ‖μ'_j‖² + 2 c·μ'_j`, on the engine's row-major
//!   GEMM ([`crate::linalg::gemm`]: the `gemm` crate's AVX-512/AVX2 kernels on
//!   rayon's threads, writing straight into the distance block). Centring the samples shrinks the f32
//!   products and so the cancellation error of the expansion; the queries are
//!   left uncentred so their zeros survive, and columns that are zero in every
//!   query row (MNIST's borders) are dropped from the GEMM, exactly.
//! * Each distance row is computed once and reused for every σ candidate, so
//!   σ selection costs one GEMM, not ten.
//! * The log-mean-exp subtracts the row's largest term (smallest distance), so
//!   every exponential lies in (0, 1]. The exponentials use a branch-free f32
//!   polynomial that the compiler vectorises (AVX2/AVX-512 chosen at run time)
//!   and they are summed in f64, split over threads by rows.

mod kernel;
#[cfg(test)]
mod tests;
mod window;

use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use serde::Serialize;

pub use window::ParzenWindow;

/// Upper bound, in bytes, of one block of the distance matrix (B query rows ×
/// n samples, f32); for n = 10,000 it gives blocks of B = 838 rows.
///
/// Memory: a [`ParzenWindow`] holds one (d, n) f32 copy of the centred
/// samples (31 MB for n = 10,000, d = 784). Scoring a query set adds one
/// distance block of at most this size (the GEMM writes into it), the (B, k) query block, the (S, m) f64
/// result, and, when some query columns are all zero, a (k, n) copy of the
/// used sample columns. Nothing grows with the number of query rows but the result.
pub const DEFAULT_BLOCK_BYTES: usize = 32 << 20;

/// Outcome of the Parzen-window protocol, ready to print as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParzenResult {
    /// Mean test log-likelihood (nats) at the chosen σ.
    pub ll: f64,
    /// Standard error of `ll`: population std of the per-image values / √N.
    pub se: f64,
    /// The σ used for the test set.
    pub sigma: f64,
    /// Number of generator samples in the window.
    pub n_samples: usize,
    /// Number of test rows scored.
    pub n_test: usize,
    /// Wall-clock seconds for the whole protocol.
    pub secs: f64,
    /// Every σ tried during selection with its mean validation log-likelihood;
    /// empty when σ was given.
    pub sigma_scores: Vec<(f64, f64)>,
}

/// Where the time of a Parzen evaluation went (seconds, summed over calls).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ParzenTiming {
    /// Checking, centring and norms of the inputs.
    pub prep_secs: f64,
    /// The `x · μᵀ` matrix products.
    pub gemm_secs: f64,
    /// Distances, exponentials and the log-sum-exp for every σ.
    pub kernel_secs: f64,
}

impl ParzenTiming {
    fn add(&mut self, other: &ParzenTiming) {
        self.prep_secs += other.prep_secs;
        self.gemm_secs += other.gemm_secs;
        self.kernel_secs += other.kernel_secs;
    }
}

/// `n` values `10^e` with `e` evenly spaced from `start_exp` to `end_exp`
/// inclusive, like `numpy.logspace(start_exp, end_exp, n)`.
pub fn logspace(start_exp: f64, end_exp: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![10f64.powf(start_exp)],
        _ => {
            let step = (end_exp - start_exp) / (n - 1) as f64;
            (0..n)
                .map(|i| 10f64.powf(start_exp + step * i as f64))
                .collect()
        }
    }
}

/// The σ candidates of the paper's protocol: `logspace(-1, 0, 10)`.
pub fn paper_sigmas() -> Vec<f64> {
    logspace(-1.0, 0.0, 10)
}

/// Per-row log-likelihoods of `x` (m×d) under the Parzen window on `samples`
/// (n×d), for each σ in `sigmas`: `result[s][i]`.
pub fn parzen_log_likelihoods(
    samples: &[f32],
    x: &[f32],
    dim: usize,
    sigmas: &[f64],
) -> Result<Vec<Vec<f64>>> {
    ParzenWindow::new(samples, dim)?.log_likelihoods(x, sigmas)
}

/// σ with the highest mean validation LL, plus all scores `(σ, mean LL)`.
/// Ties go to the first (smallest-index) σ, like `numpy.argmax`.
pub fn select_sigma(
    samples: &[f32],
    valid: &[f32],
    dim: usize,
    sigmas: &[f64],
) -> Result<(f64, Vec<(f64, f64)>)> {
    ParzenWindow::new(samples, dim)?.select_sigma(valid, sigmas)
}

/// The paper's protocol end to end: choose σ among [`paper_sigmas`] on `valid`
/// (skipped when `sigma` is `Some`, and `valid` may then be empty), then score
/// `test` at that σ.
pub fn parzen_protocol(
    samples: &[f32],
    valid: &[f32],
    test: &[f32],
    dim: usize,
    sigma: Option<f64>,
) -> Result<ParzenResult> {
    parzen_protocol_timed(samples, valid, test, dim, sigma).map(|(r, _)| r)
}

/// [`parzen_protocol`], also returning where the time went.
pub fn parzen_protocol_timed(
    samples: &[f32],
    valid: &[f32],
    test: &[f32],
    dim: usize,
    sigma: Option<f64>,
) -> Result<(ParzenResult, ParzenTiming)> {
    let start = Instant::now();
    let mut timing = ParzenTiming::default();
    // The window (centred, transposed samples and their terms a_j) is built once
    // and shared by the validation and test passes.
    let window = ParzenWindow::new(samples, dim)?;
    timing.prep_secs += start.elapsed().as_secs_f64();

    let (sigma, sigma_scores) = match sigma {
        Some(s) => {
            check_sigmas(&[s])?;
            (s, Vec::new())
        }
        None => {
            let sigmas = paper_sigmas();
            let (lls, t) = window
                .log_likelihoods_timed(valid, &sigmas)
                .context("scoring the validation set for σ selection")?;
            timing.add(&t);
            let scores = score_sigmas(&sigmas, &lls);
            (argmax_sigma(&scores), scores)
        }
    };

    let (lls, t) = window
        .log_likelihoods_timed(test, &[sigma])
        .context("scoring the test set")?;
    timing.add(&t);
    let (ll, se) = mean_and_se(&lls[0]);
    Ok((
        ParzenResult {
            ll,
            se,
            sigma,
            n_samples: window.n_samples(),
            n_test: lls[0].len(),
            secs: start.elapsed().as_secs_f64(),
            sigma_scores,
        },
        timing,
    ))
}

/// Runs the full MNIST-sized protocol (n = 10,000 samples, 1,000 validation
/// rows, 10,000 test rows, d = 784, uniform [0, 1) pixels) on seeded random
/// data, for benchmarking. Data generation is not included in `secs`.
pub fn bench_parzen_random(seed: u64) -> ParzenResult {
    bench_parzen_random_timed(seed).0
}

/// [`bench_parzen_random`] with the time breakdown.
pub fn bench_parzen_random_timed(seed: u64) -> (ParzenResult, ParzenTiming) {
    use rand::{Rng, SeedableRng};
    const DIM: usize = 784;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut draw =
        |rows: usize| -> Vec<f32> { (0..rows * DIM).map(|_| rng.gen::<f32>()).collect() };
    let samples = draw(10_000);
    let valid = draw(1_000);
    let test = draw(10_000);
    // Cannot fail: the shapes are consistent and the data finite by construction.
    parzen_protocol_timed(&samples, &valid, &test, DIM, None)
        .expect("Parzen protocol on well-formed random data")
}

/// Rows of a row-major `dim`-column matrix; errors name the sizes involved.
pub(super) fn check_matrix(name: &str, data: &[f32], dim: usize) -> Result<usize> {
    ensure!(
        dim > 0,
        "Parzen window: dimension must be positive (got 0 for {name})"
    );
    ensure!(
        data.len().is_multiple_of(dim),
        "Parzen window: {name} has {} values, not a multiple of dimension {dim} \
         ({} full rows + {} left over)",
        data.len(),
        data.len() / dim,
        data.len() % dim
    );
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        bail!(
            "Parzen window: {name} has a non-finite value {} at row {}, column {} ({} rows × {dim})",
            data[i],
            i / dim,
            i % dim,
            data.len() / dim
        );
    }
    Ok(data.len() / dim)
}

pub(super) fn check_sigmas(sigmas: &[f64]) -> Result<()> {
    ensure!(!sigmas.is_empty(), "Parzen window: no σ candidates given");
    for (i, &s) in sigmas.iter().enumerate() {
        ensure!(
            s.is_finite() && s > 0.0,
            "Parzen window: σ must be finite and positive, got σ[{i}] = {s} (of {} candidates)",
            sigmas.len()
        );
    }
    Ok(())
}

/// Mean log-likelihood per σ, paired with σ.
pub(super) fn score_sigmas(sigmas: &[f64], lls: &[Vec<f64>]) -> Vec<(f64, f64)> {
    sigmas
        .iter()
        .zip(lls)
        .map(|(&s, ll)| (s, ll.iter().sum::<f64>() / ll.len() as f64))
        .collect()
}

/// σ of the first maximal score (numpy.argmax semantics; NaN scores never win).
pub(super) fn argmax_sigma(scores: &[(f64, f64)]) -> f64 {
    let mut best = scores[0];
    for &(s, v) in &scores[1..] {
        if v > best.1 || best.1.is_nan() {
            best = (s, v);
        }
    }
    best.0
}

/// Mean and standard error `std / √N`, std with ddof = 0 (numpy's default).
pub(super) fn mean_and_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|&x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, (var / n).sqrt())
}
