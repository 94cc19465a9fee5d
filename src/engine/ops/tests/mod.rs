//! Truth for the image kernels: naive plain-loop references in f64 ([`naive`]), finite-difference
//! gradients, bit-equality across thread counts and the shape errors.
//!
//! Tolerances: forward passes agree with the f64 references to 1e-4 absolute (values are O(1),
//! sums of at most a few hundred f32 products); finite differences use central differences of
//! `L = Σ r ⊙ y` (r random, L summed in f64 from the kernels' f32 outputs) and must agree with the
//! analytic gradient to `2e-3 + 1e-2·|g|` (linear ops: ε = 1e-2, only rounding; batch norm: ε = 1e-2,
//! truncation O(ε²)); pooling and maxout inputs are distinct multiples of 1/64 perturbed by
//! ε = 1e-3, so no window's argmax changes.

mod conv;
mod naive;
mod norm;
mod norm_bits;
mod pool;
mod shapes;
mod threads;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `len` values uniform in [−1, 1) from `seed`.
pub fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut g = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| g.gen_range(-1.0f32..1.0)).collect()
}

/// `len` distinct values (multiples of 1/64, shuffled): no ties for max pooling or maxout, and
/// gaps of 1/64 that a perturbation of 1e-3 cannot cross.
pub fn distinct(len: usize, seed: u64) -> Vec<f32> {
    let mut g = ChaCha8Rng::seed_from_u64(seed);
    let mut v: Vec<f32> = (0..len)
        .map(|i| i as f32 / 64.0 - len as f32 / 128.0)
        .collect();
    for i in (1..len).rev() {
        v.swap(i, g.gen_range(0..=i));
    }
    v
}

pub fn assert_close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= tol,
            "{what}: element {i}: got {g}, want {w} (tolerance {tol})"
        );
    }
}

/// `Σ r ⊙ y` in f64.
pub fn dot(r: &[f32], y: &[f32]) -> f64 {
    r.iter().zip(y).map(|(&a, &b)| a as f64 * b as f64).sum()
}

/// Central differences of `loss` w.r.t. `x[i]` for `i` in `at`, checked against `grad[i]`.
pub fn check_fd(
    what: &str,
    x: &mut [f32],
    grad: &[f32],
    at: impl IntoIterator<Item = usize>,
    eps: f32,
    mut loss: impl FnMut(&[f32]) -> f64,
) {
    let mut checked = 0;
    for i in at {
        let keep = x[i];
        x[i] = keep + eps;
        let up = loss(x);
        x[i] = keep - eps;
        let down = loss(x);
        x[i] = keep;
        let fd = (up - down) / (2.0 * eps as f64);
        let g = grad[i] as f64;
        assert!(
            (fd - g).abs() <= 2e-3 + 1e-2 * g.abs(),
            "{what}: d/d[{i}]: finite difference {fd}, analytic {g}"
        );
        checked += 1;
    }
    assert!(checked > 0, "{what}: nothing checked");
}

/// Every index when `len` is small, else about 60 spread over the buffer (first and last included).
pub fn sample(len: usize) -> Vec<usize> {
    if len <= 80 {
        (0..len).collect()
    } else {
        let mut v: Vec<usize> = (0..60).map(|i| i * (len - 1) / 59).collect();
        v.dedup();
        v
    }
}
