//! The paper's Parzen evaluation of a GAN on MNIST: σ from the first 1,000 validation images
//! (train[50000:51000]), log-likelihood of the 10,000 test images.

use anyhow::{ensure, Result};

use super::parzen::{parzen_protocol, ParzenResult};
use crate::data::Dataset;
use crate::engine::Gan;

/// Validation rows used to choose σ, as in the paper's code.
pub const SIGMA_VALIDATION_ROWS: usize = 1000;

/// Checks a number of generator samples an evaluation holds at once (`dim` values each) before
/// drawing any: `gan eval` (naming its `--samples` flag) and the DSL's `parzen()` and
/// `classifier_metrics()` (naming their option) share this one check.
pub fn check_sample_count(n: usize, dim: usize) -> Result<()> {
    ensure!(n > 0, "an evaluation needs at least 1 sample, got 0");
    crate::engine::trainer::check_rows_held(n, dim as u128)
}

/// Draws `n_samples` from `gan` and runs the protocol against `valid` (its first 1,000 rows are
/// used) and `test`. `sigma: Some(s)` skips the selection.
pub fn gan_parzen(
    gan: &mut Gan,
    valid: &Dataset,
    test: &Dataset,
    n_samples: usize,
    sigma: Option<f64>,
) -> Result<ParzenResult> {
    check_sample_count(n_samples, gan.data_dim())?;
    ensure!(
        valid.dim == gan.data_dim() && test.dim == gan.data_dim(),
        "the GAN generates {} features but the evaluation data has {} (valid) / {} (test)",
        gan.data_dim(),
        valid.dim,
        test.dim
    );
    // Draw in chunks: the whole batch at once would hold every layer's activations for 10,000 rows.
    let mut samples = Vec::with_capacity(n_samples * gan.data_dim());
    let mut left = n_samples;
    while left > 0 {
        let n = left.min(1000);
        samples.extend(gan.sample(n));
        left -= n;
    }
    let valid_rows = valid.rows().min(SIGMA_VALIDATION_ROWS);
    parzen_protocol(
        &samples,
        &valid.x[..valid_rows * valid.dim],
        &test.x,
        test.dim,
        sigma,
    )
}
