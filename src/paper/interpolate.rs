//! Figure 3: G's images along straight lines in z-space.

use crate::engine::{theory, Gan};

/// G's images at `steps` evenly spaced points from each row of `z0` to the same row of `z1`
/// (both ends included), row by row. The caller checks the rows' width and count.
pub fn interpolate(gan: &Gan, z0: &[f32], z1: &[f32], steps: usize) -> Vec<f32> {
    let z = theory::lerp_rows(z0, z1, gan.noise_dim(), steps);
    theory::generate_chunked(gan, &z)
}
