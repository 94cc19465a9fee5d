//! Generator samples as the metrics want them: values in `[0, 1]`, like the real images.
//!
//! A tanh generator trained on `[-1, 1]` data ([`PixelRange::Symmetric`]) is mapped by
//! `(v + 1) / 2`; without that, its samples would be scored as images of a different contrast
//! (half of every pixel's range negative) and look far worse than they are. Values are not
//! clamped: a sigmoid's samples are not either, and both maps are exact for what the generator
//! can output.

use anyhow::{bail, Result};

use crate::data::PixelRange;
use crate::engine::Gan;

/// Samples drawn at once: the whole request at once would hold every layer's activations for
/// 10,000 rows.
const CHUNK: usize = 1000;

/// `samples` of a generator of `range` values, mapped onto `[0, 1]`.
pub fn to_unit(samples: &[f32], range: PixelRange) -> Result<Vec<f32>> {
    match range {
        PixelRange::Unit | PixelRange::Symmetric => {
            Ok(samples.iter().map(|&v| range.to_unit(v, 0.0)).collect())
        }
        // Each image's own scale is divided out by the normalisation: no map back to
        // intensities exists, so a classifier of [0, 1] images cannot score them.
        PixelRange::Contrast => bail!(
            "samples of a contrast-normalised run cannot be mapped back to [0, 1] pixels, so they cannot be evaluated against real images"
        ),
    }
}

/// Draws `n` samples from `gan` (in chunks) and maps them from `range` onto `[0, 1]`.
pub fn draw_unit_samples(gan: &mut Gan, n: usize, range: PixelRange) -> Result<Vec<f32>> {
    super::check_sample_count(n, gan.data_dim())?;
    // Checked before drawing: 10,000 samples take seconds.
    to_unit(&[], range)?;
    let mut samples = Vec::with_capacity(n * gan.data_dim());
    let mut left = n;
    while left > 0 {
        let k = left.min(CHUNK);
        samples.extend(gan.sample(k));
        left -= k;
    }
    to_unit(&samples, range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_values_map_onto_unit_ones() {
        let x = [-1.0, -0.5, 0.0, 1.0];
        assert_eq!(
            to_unit(&x, PixelRange::Symmetric).unwrap(),
            [0.0, 0.25, 0.5, 1.0]
        );
        assert_eq!(to_unit(&x, PixelRange::Unit).unwrap(), x);
        let e = to_unit(&x, PixelRange::Contrast).unwrap_err().to_string();
        assert!(e.contains("contrast-normalised"), "{e}");
    }
}
