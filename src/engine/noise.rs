//! The noise prior p_z.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::{Dev, Mat};
use dfdx::prelude::*;

/// The largest noise scale [`Noise::try_check`] accepts.
pub const MAX_NOISE_SCALE: f64 = 1e6;

/// The prior over G's input.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Noise {
    /// Uniform on (−half_width, half_width); the paper's MNIST uses half_width √3 (unit variance).
    Uniform { dim: usize, half_width: f64 },
    /// Normal with mean 0 and standard deviation `std`.
    Gaussian { dim: usize, std: f64 },
}

impl Noise {
    pub fn dim(&self) -> usize {
        match self {
            Noise::Uniform { dim, .. } | Noise::Gaussian { dim, .. } => *dim,
        }
    }

    /// Checks the scale: the uniform prior's half-width and the Gaussian's standard deviation
    /// are finite, > 0 and at most [`MAX_NOISE_SCALE`] (draws are f32; a negative or zero scale
    /// is nonsense, and a NaN or huge half-width cannot even be sampled).
    pub fn try_check(&self) -> Result<(), String> {
        let (what, x) = match *self {
            Noise::Uniform { half_width, .. } => ("uniform noise half-width", half_width),
            Noise::Gaussian { std, .. } => ("gaussian noise std", std),
        };
        if x.is_finite() && x > 0.0 && x <= MAX_NOISE_SCALE {
            Ok(())
        } else {
            Err(format!(
                "noise_scale ({what}) must be a finite number > 0 and ≤ {MAX_NOISE_SCALE:e}, got {}",
                super::layers::shown(x)
            ))
        }
    }

    /// Draws `n × dim` values in row-major order.
    pub fn sample_vec(&self, n: usize, rng: &mut impl Rng) -> Vec<f32> {
        let len = n * self.dim();
        match *self {
            Noise::Uniform { half_width, .. } => {
                let h = half_width as f32;
                (0..len).map(|_| rng.gen_range(-h..h)).collect()
            }
            Noise::Gaussian { std, .. } => {
                let s = std as f32;
                (0..len)
                    .map(|_| {
                        let v: f64 = StandardNormal.sample(rng);
                        s * v as f32
                    })
                    .collect::<Vec<f32>>()
            }
        }
    }

    /// Draws a batch `(n, dim)`.
    pub fn sample(&self, dev: &Dev, n: usize, rng: &mut impl Rng) -> Mat {
        dev.tensor_from_vec(self.sample_vec(n, rng), (n, self.dim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{stream, Purpose};

    #[test]
    fn paper_uniform_noise_has_unit_variance_and_bounds() {
        let noise = Noise::Uniform {
            dim: 100,
            half_width: 3f64.sqrt(),
        };
        let v = noise.sample_vec(200, &mut stream(0, Purpose::Sample, 0));
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "var {var}");
        assert!(v.iter().all(|x| x.abs() < 3f32.sqrt()));
    }

    #[test]
    fn gaussian_noise_std() {
        let noise = Noise::Gaussian { dim: 10, std: 2.0 };
        let v = noise.sample_vec(5000, &mut stream(0, Purpose::Sample, 1));
        let var = v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / v.len() as f64;
        assert!((var.sqrt() - 2.0).abs() < 0.05);
    }
}
