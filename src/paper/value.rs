//! Theorem 1 measured: the value V(D, G) of the game and D's range on an interval.

use rand::seq::index::sample;

use super::grid::{argmin_max, linspace};
use super::probe::{d_at, draw_noise};
use crate::data::Dataset;
use crate::engine::rng::{stream, Purpose};
use crate::engine::theory::{self, ValueEstimate};
use crate::engine::Gan;

/// V(D, G) on `n` real rows of `data` (all rows when `n` ≥ its rows, else a random subset drawn
/// from the GAN's data stream) and `n` fresh samples of G, everything in evaluation mode. The
/// caller checks that `data` has D's width.
pub fn value_on(gan: &mut Gan, data: &Dataset, n: usize) -> ValueEstimate {
    let rows = data.rows();
    let real: Vec<f32> = if n >= rows {
        data.x.clone()
    } else {
        // a stream of its own (past any epoch's), moved on by every call through samples_drawn
        let mut rng = stream(gan.seed, Purpose::Data, 1 << 40 | gan.samples_drawn);
        data.gather(&sample(&mut rng, rows, n).into_vec())
    };
    let z = draw_noise(gan, n);
    theory::value(gan, &real, &z)
}

/// D's smallest, largest and mean value on an even grid of [lo, hi].
#[derive(Clone, Debug, PartialEq)]
pub struct DRange {
    pub min: f64,
    pub max: f64,
    pub at_min: f64,
    pub at_max: f64,
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
    pub points: usize,
}

/// D of a 1-D game on `points` (at least 2) even grid points of [lo, hi].
pub fn d_range(gan: &Gan, lo: f64, hi: f64, points: usize) -> DRange {
    let xs = linspace(lo, hi, points.max(2));
    let d = d_at(gan, &xs);
    let (imin, imax) = argmin_max(&d);
    DRange {
        min: d[imin],
        max: d[imax],
        at_min: xs[imin],
        at_max: xs[imax],
        mean: d.iter().sum::<f64>() / d.len() as f64,
        lo,
        hi,
        points: xs.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::loss::sigmoid;
    use crate::paper::testing::affine_gan;

    #[test]
    fn value_of_a_blind_d_is_minus_log_4() {
        // D ≡ ½: log D(x) = log(1 − D(G(z))) = −log 2 on every row, whatever the data.
        let mut gan = affine_gan((1.0, 0.0), (0.0, 0.0));
        let data =
            Dataset::try_new("d", (0..10).map(|i| i as f32).collect(), 1, None, None).unwrap();
        let v = value_on(&mut gan, &data, 4);
        assert!((v.v + 4f64.ln()).abs() < 1e-12, "{v:?}");
        assert_eq!((v.n_real, v.n_fake), (4, 4));
        let v = value_on(&mut gan, &data, 50);
        assert_eq!((v.n_real, v.n_fake), (10, 50));
    }

    #[test]
    fn d_range_of_a_sigmoid() {
        // D(x) = sigmoid(x) on −1, 0, 1
        let gan = affine_gan((1.0, 0.0), (1.0, 0.0));
        let r = d_range(&gan, -1.0, 1.0, 3);
        assert!(
            (r.min - sigmoid(-1.0)).abs() < 1e-6 && r.at_min == -1.0,
            "{r:?}"
        );
        assert!(
            (r.max - sigmoid(1.0)).abs() < 1e-6 && r.at_max == 1.0,
            "{r:?}"
        );
        assert!((r.mean - 0.5).abs() < 1e-6);
        // fewer than two points still gives both ends
        assert_eq!(d_range(&gan, -1.0, 1.0, 1).points, 2);
    }
}
