//! What image values mean, and the two ways they are rescaled after loading.
//!
//! Loaders produce pixels in `[0, 1]` (a sigmoid generator's range, the paper's MNIST setup).
//! A tanh generator wants `[-1, 1]` ([`PixelRange::Symmetric`]); the paper's CIFAR-10 models
//! train on pylearn2's global contrast normalisation ([`global_contrast_normalize`]). The range
//! travels with the image shape so that sample grids map values back to the right bytes.

use anyhow::{bail, ensure, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How an image's values map to intensities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelRange {
    /// `[0, 1]`: 0 black, 1 white.
    #[default]
    Unit,
    /// `[-1, 1]`: -1 black, 1 white (`2v - 1` of the unit value).
    Symmetric,
    /// Contrast-normalised, unbounded: drawn as pylearn2's viewer does, each image divided by its
    /// largest absolute value, then as [`PixelRange::Symmetric`].
    Contrast,
}

impl PixelRange {
    /// The name scripts use: `unit`, `symmetric` or `contrast`.
    pub fn name(self) -> &'static str {
        match self {
            PixelRange::Unit => "unit",
            PixelRange::Symmetric => "symmetric",
            PixelRange::Contrast => "contrast",
        }
    }

    /// Maps one value of an image whose largest absolute value is `max_abs` onto `[0, 1]`
    /// (unclamped; `max_abs` only matters for [`PixelRange::Contrast`]).
    pub fn to_unit(self, v: f32, max_abs: f32) -> f32 {
        match self {
            PixelRange::Unit => v,
            PixelRange::Symmetric => (v + 1.0) * 0.5,
            // A constant image normalises to zeros; draw it mid-grey rather than divide by 0.
            PixelRange::Contrast if max_abs > 0.0 => (v / max_abs + 1.0) * 0.5,
            PixelRange::Contrast => 0.5,
        }
    }
}

impl fmt::Display for PixelRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PixelRange {
    type Err = anyhow::Error;

    /// Only the two ranges a loader can be asked for; `contrast` comes from [`global_contrast_normalize`].
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "unit" => Ok(PixelRange::Unit),
            "symmetric" => Ok(PixelRange::Symmetric),
            other => bail!("unknown pixel range {other:?}; valid ranges are \"unit\" ([0, 1]) and \"symmetric\" ([-1, 1])"),
        }
    }
}

/// Rewrites `[0, 1]` values in place as `[-1, 1]` ones (`2v - 1`).
pub fn unit_to_symmetric(x: &mut [f32]) {
    for v in x {
        *v = 2.0 * *v - 1.0;
    }
}

/// The parameters of pylearn2's `global_contrast_normalize`, with its defaults. The paper's
/// CIFAR-10 configurations (`gcn: 55.` in goodfeli/adversarial) change only `scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gcn {
    /// Every normalised row is multiplied by this (pylearn2 default 1).
    pub scale: f64,
    /// Subtract each row's mean first (default true).
    pub subtract_mean: bool,
    /// Divide by the row's standard deviation (sample variance, ddof 1) instead of its L2 norm
    /// (default false).
    pub use_std: bool,
    /// Added under the square root (default 0).
    pub sqrt_bias: f64,
    /// A divisor below this is replaced by 1: a flat image stays flat instead of exploding
    /// (default 1e-8).
    pub min_divisor: f64,
}

impl Default for Gcn {
    fn default() -> Self {
        Gcn {
            scale: 1.0,
            subtract_mean: true,
            use_std: false,
            sqrt_bias: 0.0,
            min_divisor: 1e-8,
        }
    }
}

/// Global contrast normalisation of each `dim`-value row of `x`, in place, as pylearn2 defines
/// it: `x ← x − mean(x)` (when `subtract_mean`), then `x ← x / d` with
/// `d = sqrt(sqrt_bias + Σx²) / scale` (or `sqrt(sqrt_bias + var(x, ddof 1)) / scale` with
/// `use_std`), and `d = 1` where `d < min_divisor`. Per example, so it needs no statistics of
/// the training set. Sums are taken in `f64`.
pub fn global_contrast_normalize(x: &mut [f32], dim: usize, p: &Gcn) -> Result<()> {
    ensure!(
        dim > 0,
        "global contrast normalisation needs rows of at least one value"
    );
    ensure!(
        x.len().is_multiple_of(dim),
        "global contrast normalisation: {} values is not a whole number of rows of {dim}",
        x.len()
    );
    ensure!(
        p.scale.is_finite() && p.sqrt_bias.is_finite() && p.sqrt_bias >= 0.0,
        "global contrast normalisation: scale must be finite and sqrt_bias finite and ≥ 0 (got scale {}, sqrt_bias {})",
        p.scale,
        p.sqrt_bias
    );
    ensure!(
        !(p.use_std && dim < 2),
        "global contrast normalisation: use_std needs rows of at least 2 values (sample variance)"
    );
    for row in x.chunks_exact_mut(dim) {
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / dim as f64;
        let shift = if p.subtract_mean { mean } else { 0.0 };
        let centred = |v: f32| v as f64 - shift;
        let spread = if p.use_std {
            // Sample variance about the row's own mean, whether or not it was subtracted.
            row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / (dim - 1) as f64
        } else {
            row.iter().map(|&v| centred(v).powi(2)).sum::<f64>()
        };
        let mut divisor = (p.sqrt_bias + spread).sqrt() / p.scale;
        if divisor < p.min_divisor {
            divisor = 1.0;
        }
        for v in row.iter_mut() {
            *v = (centred(*v) / divisor) as f32;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::dataset::Dataset;
    use super::*;

    #[test]
    fn hand_computed_rows() {
        // Row [1, 2, 3, 6]: mean 3, centred [-2, -1, 0, 3], Σx² = 14.
        // L2 (default): x / (sqrt(14) / 55).
        let mut x = vec![1.0, 2.0, 3.0, 6.0];
        let gcn = Gcn {
            scale: 55.0,
            ..Gcn::default()
        };
        global_contrast_normalize(&mut x, 4, &gcn).unwrap();
        let d = 14f64.sqrt() / 55.0;
        for (got, want) in x.iter().zip([-2.0 / d, -1.0 / d, 0.0, 3.0 / d]) {
            assert!((*got as f64 - want).abs() < 1e-4, "{x:?}");
        }
        // use_std with sqrt_bias 10 (Coates et al.): var (ddof 1) = 14 / 3, d = sqrt(10 + 14/3).
        let mut y = vec![1.0, 2.0, 3.0, 6.0];
        let coates = Gcn {
            use_std: true,
            sqrt_bias: 10.0,
            ..Gcn::default()
        };
        global_contrast_normalize(&mut y, 4, &coates).unwrap();
        let d = (10.0f64 + 14.0 / 3.0).sqrt();
        assert!((y[3] as f64 - 3.0 / d).abs() < 1e-6, "{y:?}");
        // Without mean subtraction: Σx² = 1 + 4 + 9 + 36 = 50.
        let mut z = vec![1.0, 2.0, 3.0, 6.0];
        let raw = Gcn {
            subtract_mean: false,
            ..Gcn::default()
        };
        global_contrast_normalize(&mut z, 4, &raw).unwrap();
        assert!((z[0] as f64 - 1.0 / 50f64.sqrt()).abs() < 1e-6, "{z:?}");
    }

    #[test]
    fn flat_rows_stay_zero_and_rows_are_independent() {
        // A constant row centres to zeros; its divisor 0 < min_divisor becomes 1.
        let mut x = vec![0.5, 0.5, 0.5, 0.0, 0.0, 3.0];
        global_contrast_normalize(&mut x, 3, &Gcn::default()).unwrap();
        assert_eq!(&x[..3], &[0.0, 0.0, 0.0]);
        // Second row: centred [-1, -1, 2], norm sqrt(6).
        let s6 = 6f32.sqrt();
        for (got, want) in x[3..].iter().zip([-1.0 / s6, -1.0 / s6, 2.0 / s6]) {
            assert!((got - want).abs() < 1e-6, "{x:?}");
        }
    }

    #[test]
    fn scale_invariant_like_pylearn2_on_raw_bytes() {
        // pylearn2 normalises raw 0..255 values; loaders here give v/255: the result is the same.
        let bytes = [12.0f32, 200.0, 37.0, 90.0, 255.0, 0.0];
        let mut raw = bytes.to_vec();
        let mut unit: Vec<f32> = bytes.iter().map(|b| b / 255.0).collect();
        let gcn = Gcn {
            scale: 55.0,
            ..Gcn::default()
        };
        global_contrast_normalize(&mut raw, 6, &gcn).unwrap();
        global_contrast_normalize(&mut unit, 6, &gcn).unwrap();
        for (a, b) in raw.iter().zip(&unit) {
            assert!((a - b).abs() < 1e-4, "{raw:?} vs {unit:?}");
        }
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(global_contrast_normalize(&mut [0.0; 5], 2, &Gcn::default()).is_err());
        let nan = Gcn {
            scale: f64::NAN,
            ..Gcn::default()
        };
        assert!(global_contrast_normalize(&mut [0.0; 4], 2, &nan).is_err());
        let std1 = Gcn {
            use_std: true,
            ..Gcn::default()
        };
        assert!(global_contrast_normalize(&mut [0.0; 4], 1, &std1).is_err());
    }

    #[test]
    fn ranges_map_to_unit() {
        assert_eq!(PixelRange::Unit.to_unit(0.25, 9.0), 0.25);
        assert_eq!(PixelRange::Symmetric.to_unit(-1.0, 9.0), 0.0);
        assert_eq!(PixelRange::Symmetric.to_unit(0.5, 9.0), 0.75);
        assert_eq!(PixelRange::Contrast.to_unit(-4.0, 8.0), 0.25);
        assert_eq!(PixelRange::Contrast.to_unit(0.0, 0.0), 0.5);
        assert_eq!(
            "symmetric".parse::<PixelRange>().unwrap(),
            PixelRange::Symmetric
        );
        let e = "tanh".parse::<PixelRange>().unwrap_err().to_string();
        assert!(
            e.contains("\"tanh\"") && e.contains("unit") && e.contains("symmetric"),
            "{e}"
        );
        let mut x = [0.0, 0.5, 1.0];
        unit_to_symmetric(&mut x);
        assert_eq!(x, [-1.0, 0.0, 1.0]);
    }

    #[test]
    fn datasets_change_range_once() {
        let img = super::super::dataset::ImageShape::new(1, 1, 2);
        let d = Dataset::new(
            "d",
            vec![0.0, 1.0, 0.25, 0.5],
            2,
            Some(vec![3, 4]),
            Some(img),
        );
        let s = d.try_with_range(PixelRange::Symmetric).unwrap();
        assert_eq!(s.x, vec![-1.0, 1.0, -0.5, 0.0]);
        assert_eq!(s.labels, Some(vec![3, 4]));
        assert_eq!(s.image.unwrap().range, PixelRange::Symmetric);
        assert_eq!(s.try_with_range(PixelRange::Symmetric).unwrap().x, s.x);
        assert!(s.try_with_range(PixelRange::Unit).is_err());
        let flat = Dataset::new("f", vec![0.0; 4], 2, None, None);
        assert!(flat.try_with_range(PixelRange::Symmetric).is_err());
        let g = d.try_gcn(&Gcn::default()).unwrap();
        assert_eq!(g.image.unwrap().range, PixelRange::Contrast);
        // [0, 1] centres to [-0.5, 0.5], norm sqrt(0.5).
        assert!((g.x[1] - 0.5 / 0.5f32.sqrt()).abs() < 1e-6, "{:?}", g.x);
    }
}
