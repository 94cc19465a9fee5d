//! Synthetic low-dimensional datasets for quick GAN experiments.
//!
//! `gaussian_1d` is the 1-D target of the paper's Figure 1; the 2-D ring and grid mixtures are the
//! standard mode-collapse probes. Every sample is drawn from `ChaCha8Rng::seed_from_u64(seed)`, so
//! the same arguments always give the same bytes on every platform.

use super::dataset::Dataset;
use anyhow::{ensure, Result};
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::f64::consts::PI;

/// Most rows a toy generator makes: 10 million rows of two features (about 90 MB with labels)
/// is far past what a toy experiment needs, and a typo like `1e12` must be refused before
/// `Vec::with_capacity` aborts the process.
pub const MAX_TOY_ROWS: usize = 10_000_000;
/// Most mixture components: labels are `u8`. Checked before the centres are computed, so
/// `ring(1000000000000)` does not allocate a centre per mode first.
pub const MAX_MODES: usize = 256;

/// `n` samples of `N(mean, std²)` as a 1-column dataset named `gaussian_1d`.
pub fn try_gaussian_1d(mean: f64, std: f64, n: usize, seed: u64) -> Result<Dataset> {
    check_params("gaussian_1d", std, n)?;
    ensure!(mean.is_finite(), "gaussian_1d: mean must be finite");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = (0..n)
        .map(|_| (mean + std * rng.sample::<f64, _>(StandardNormal)) as f32)
        .collect();
    Dataset::try_new("gaussian_1d", x, 1, None, None)
}

/// Panicking convenience for [`try_gaussian_1d`].
pub fn gaussian_1d(mean: f64, std: f64, n: usize, seed: u64) -> Dataset {
    try_gaussian_1d(mean, std, n, seed).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Centres of `modes` points evenly spaced on a circle of `radius` around the origin, the first at
/// angle 0 (on the positive x axis), going counter-clockwise.
pub fn ring_centers(modes: usize, radius: f64) -> Vec<[f64; 2]> {
    (0..modes)
        .map(|k| {
            let a = 2.0 * PI * k as f64 / modes as f64;
            [radius * a.cos(), radius * a.sin()]
        })
        .collect()
}

/// Centres of a `side × side` grid with `spacing` between neighbours, centred on the origin.
/// Index `i * side + j` has x from column `j` and y from row `i`.
pub fn grid_centers(side: usize, spacing: f64) -> Vec<[f64; 2]> {
    let offset = (side as f64 - 1.0) / 2.0;
    let mut out = Vec::with_capacity(side * side);
    for i in 0..side {
        for j in 0..side {
            out.push([(j as f64 - offset) * spacing, (i as f64 - offset) * spacing]);
        }
    }
    out
}

/// `n` samples from an equal-weight mixture of isotropic Gaussians with std `std` on
/// [`ring_centers`]`(modes, radius)`. Labels are the mixture component of each row.
pub fn try_ring_2d(modes: usize, radius: f64, std: f64, n: usize, seed: u64) -> Result<Dataset> {
    ensure!(radius.is_finite(), "ring_2d: radius must be finite");
    check_modes("ring_2d", modes)?;
    mixture("ring_2d", &ring_centers(modes, radius), std, n, seed)
}

/// Panicking convenience for [`try_ring_2d`].
pub fn ring_2d(modes: usize, radius: f64, std: f64, n: usize, seed: u64) -> Dataset {
    try_ring_2d(modes, radius, std, n, seed).unwrap_or_else(|e| panic!("{e:#}"))
}

/// `n` samples from an equal-weight mixture of isotropic Gaussians with std `std` on
/// [`grid_centers`]`(side, spacing)`. Labels are the mixture component of each row.
pub fn try_grid_2d(side: usize, spacing: f64, std: f64, n: usize, seed: u64) -> Result<Dataset> {
    ensure!(spacing.is_finite(), "grid_2d: spacing must be finite");
    check_modes("grid_2d", side.saturating_mul(side))?;
    mixture("grid_2d", &grid_centers(side, spacing), std, n, seed)
}

/// Panicking convenience for [`try_grid_2d`].
pub fn grid_2d(side: usize, spacing: f64, std: f64, n: usize, seed: u64) -> Dataset {
    try_grid_2d(side, spacing, std, n, seed).unwrap_or_else(|e| panic!("{e:#}"))
}

fn check_params(name: &str, std: f64, n: usize) -> Result<()> {
    ensure!(
        std.is_finite() && std >= 0.0,
        "std must be finite and non-negative, got {std}"
    );
    ensure!(n > 0, "sample count must be positive");
    ensure!(
        n <= MAX_TOY_ROWS,
        "{name}: n = {n} rows is more than the limit of {MAX_TOY_ROWS}; refusing to allocate"
    );
    Ok(())
}

fn check_modes(name: &str, modes: usize) -> Result<()> {
    ensure!(
        (1..=MAX_MODES).contains(&modes),
        "{name}: need 1 to {MAX_MODES} modes, got {modes}"
    );
    Ok(())
}

/// Shared sampler for the 2-D mixtures: pick a component uniformly, add Gaussian noise.
fn mixture(name: &str, centers: &[[f64; 2]], std: f64, n: usize, seed: u64) -> Result<Dataset> {
    check_params(name, std, n)?;
    // Labels are u8, which bounds the number of components a dataset can name.
    check_modes(name, centers.len())?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let k = rng.gen_range(0..centers.len());
        let [cx, cy] = centers[k];
        let dx: f64 = rng.sample(StandardNormal);
        let dy: f64 = rng.sample(StandardNormal);
        x.push((cx + std * dx) as f32);
        x.push((cy + std * dy) as f32);
        labels.push(k as u8);
    }
    Dataset::try_new(name, x, 2, Some(labels), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_matches_parameters() {
        let d = gaussian_1d(4.0, 0.5, 20_000, 7);
        assert_eq!((d.rows(), d.dim), (20_000, 1));
        // Standard error of the mean is 0.5/sqrt(20000) ≈ 0.0035.
        assert!((d.mean() - 4.0).abs() < 0.02, "mean {}", d.mean());
        assert!((d.std() - 0.5).abs() < 0.02, "std {}", d.std());
    }

    #[test]
    fn deterministic_by_seed() {
        assert_eq!(gaussian_1d(0., 1., 100, 3).x, gaussian_1d(0., 1., 100, 3).x);
        assert_ne!(gaussian_1d(0., 1., 100, 3).x, gaussian_1d(0., 1., 100, 4).x);
        let (a, b) = (ring_2d(8, 2., 0.02, 500, 9), ring_2d(8, 2., 0.02, 500, 9));
        assert_eq!((a.x, a.labels), (b.x, b.labels));
        assert_eq!(
            grid_2d(5, 2., 0.05, 300, 1).x,
            grid_2d(5, 2., 0.05, 300, 1).x
        );
        assert_ne!(
            grid_2d(5, 2., 0.05, 300, 1).x,
            grid_2d(5, 2., 0.05, 300, 2).x
        );
    }

    /// Every mode gets a fair share of rows, and each row lies near its labelled centre.
    fn check_mixture(d: &Dataset, centers: &[[f64; 2]], std: f64) {
        let counts = d.label_counts().unwrap();
        assert_eq!(counts.len(), centers.len());
        let fair = d.rows() / centers.len();
        for (k, &c) in counts.iter().enumerate() {
            assert!(c > fair / 2 && c < fair * 3 / 2, "mode {k}: {c} rows");
        }
        for (i, &k) in d.labels.as_ref().unwrap().iter().enumerate() {
            let r = d.row(i);
            let [cx, cy] = centers[k as usize];
            let dist = ((r[0] as f64 - cx).powi(2) + (r[1] as f64 - cy).powi(2)).sqrt();
            assert!(dist < 6.0 * std, "row {i} is {dist} from mode {k}");
        }
    }

    #[test]
    fn ring_modes_populated() {
        let d = ring_2d(8, 2.0, 0.02, 8_000, 1);
        assert_eq!((d.rows(), d.dim), (8_000, 2));
        check_mixture(&d, &ring_centers(8, 2.0), 0.02);
        // Symmetric ring: the overall mean is near the origin.
        let m = d.column_means();
        assert!(m[0].abs() < 0.05 && m[1].abs() < 0.05, "{m:?}");
    }

    #[test]
    fn grid_modes_populated() {
        let d = grid_2d(5, 2.0, 0.05, 10_000, 2);
        check_mixture(&d, &grid_centers(5, 2.0), 0.05);
    }

    #[test]
    fn centers_geometry() {
        let r = ring_centers(4, 2.0);
        let expect = [[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]];
        for (a, b) in r.iter().zip(expect) {
            assert!((a[0] - b[0]).abs() < 1e-12 && (a[1] - b[1]).abs() < 1e-12);
        }
        let g = grid_centers(3, 1.5);
        assert_eq!(g.len(), 9);
        assert_eq!(g[0], [-1.5, -1.5]);
        assert_eq!(g[1], [0.0, -1.5]);
        assert_eq!(g[4], [0.0, 0.0]);
        assert_eq!(g[8], [1.5, 1.5]);
        // Even side: centred between the middle points.
        assert_eq!(
            grid_centers(2, 2.0),
            vec![[-1., -1.], [1., -1.], [-1., 1.], [1., 1.]]
        );
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(try_gaussian_1d(0., -1., 10, 0).is_err());
        assert!(try_gaussian_1d(0., 1., 0, 0).is_err());
        assert!(try_ring_2d(0, 1., 0.1, 10, 0).is_err());
        assert!(try_ring_2d(300, 1., 0.1, 10, 0).is_err());
        assert!(try_grid_2d(0, 1., 0.1, 10, 0).is_err());
        assert!(try_grid_2d(3, f64::NAN, 0.1, 10, 0).is_err());
    }

    /// Sizes past the limits are refused before anything is allocated (these would abort).
    #[test]
    fn huge_counts_are_refused_by_name() {
        let e = |r: Result<Dataset>| format!("{:#}", r.unwrap_err());
        assert_eq!(
            e(try_gaussian_1d(0., 1., 1 << 40, 0)),
            "gaussian_1d: n = 1099511627776 rows is more than the limit of 10000000; refusing to allocate"
        );
        assert!(e(try_ring_2d(8, 1., 0.1, usize::MAX, 0)).starts_with("ring_2d: n = "));
        assert_eq!(
            e(try_ring_2d(1 << 40, 1., 0.1, 10, 0)),
            "ring_2d: need 1 to 256 modes, got 1099511627776"
        );
        assert_eq!(
            e(try_grid_2d(1 << 20, 1., 0.1, 10, 0)),
            "grid_2d: need 1 to 256 modes, got 1099511627776"
        );
        assert_eq!(try_ring_2d(256, 1., 0.1, 10, 0).unwrap().rows(), 10);
    }
}
