//! The paper's Parzen evaluation of a GAN on MNIST (or Fashion-MNIST, the same protocol): σ from
//! the first 1,000 validation images (train[50000:51000]), log-likelihood of the 10,000 test
//! images. Samples are mapped onto `[0, 1]` first, the real images' range.

use anyhow::{ensure, Result};

use super::parzen::{parzen_protocol, ParzenResult};
use crate::data::{Dataset, PixelRange};
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

/// Draws `n_samples` from `gan`, whose values mean `range`, and runs the protocol against
/// `valid` (its first 1,000 rows are used) and `test`. `sigma: Some(s)` skips the selection.
pub fn gan_parzen(
    gan: &mut Gan,
    range: PixelRange,
    valid: &Dataset,
    test: &Dataset,
    n_samples: usize,
    sigma: Option<f64>,
) -> Result<ParzenResult> {
    ensure!(
        valid.dim == gan.data_dim() && test.dim == gan.data_dim(),
        "the GAN generates {} features but the evaluation data has {} (valid) / {} (test)",
        gan.data_dim(),
        valid.dim,
        test.dim
    );
    let samples = super::unit_samples::draw_unit_samples(gan, n_samples, range)?;
    let valid_rows = valid.rows().min(SIGMA_VALIDATION_ROWS);
    parzen_protocol(
        &samples,
        &valid.x[..valid_rows * valid.dim],
        &test.x,
        test.dim,
        sigma,
    )
}
