//! One-dimensional density helpers for Figure 1: kernel density estimates,
//! quantiles and interpolation on a grid.

/// KDE cost grows with samples × evaluation points; this many samples are
/// plenty for a smooth curve.
const MAX_KDE_SAMPLES: usize = 4000;

/// At most `max` items, evenly spaced and including the first and last.
pub(super) fn evenly_spaced<T: Copy>(items: &[T], max: usize) -> Vec<T> {
    if items.len() <= max {
        return items.to_vec();
    }
    if max <= 1 {
        return items[..max].to_vec();
    }
    (0..max)
        .map(|k| items[(k * (items.len() - 1) + (max - 1) / 2) / (max - 1)])
        .collect()
}

/// `max` evenly spaced order statistics of the finite values (all of them
/// when there are fewer).
pub(super) fn quantiles(values: &[f64], max: usize) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    evenly_spaced(&sorted, max)
}

/// Linear interpolation of `ys` (given at increasing `xs`) at `x`, flat
/// beyond the ends.
pub(super) fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let i = xs.partition_point(|&v| v < x);
    if i == 0 {
        return ys[0];
    }
    if i == xs.len() {
        return ys[xs.len() - 1];
    }
    let t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
    ys[i - 1] + t * (ys[i] - ys[i - 1])
}

/// Gaussian kernel density estimate of `samples` at the points `at`, with
/// Silverman's rule-of-thumb bandwidth, never below `floor` (so collapsed
/// samples give a tall narrow spike, not a division by zero).
pub(super) fn kde(samples: &[f64], at: &[f64], floor: f64) -> Vec<f64> {
    let finite: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
    let xs = if finite.len() > MAX_KDE_SAMPLES {
        evenly_spaced(&finite, MAX_KDE_SAMPLES)
    } else {
        finite
    };
    if xs.is_empty() {
        return vec![0.0; at.len()];
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let std = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    let sorted = quantiles(&xs, xs.len());
    let iqr = sorted[(3 * sorted.len()) / 4] - sorted[sorted.len() / 4];
    let spread = if iqr > 0.0 { std.min(iqr / 1.34) } else { std };
    let h = (0.9 * spread * n.powf(-0.2))
        .max(floor)
        .max(f64::MIN_POSITIVE);
    let norm = 1.0 / (n * h * (2.0 * std::f64::consts::PI).sqrt());
    at.iter()
        .map(|&x| {
            xs.iter()
                .map(|&s| (-0.5 * ((x - s) / h).powi(2)).exp())
                .sum::<f64>()
                * norm
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kde_integrates_to_about_one_and_helpers_work() {
        let samples: Vec<f64> = (0..1000).map(|i| (i as f64 / 999.0) * 2.0 - 1.0).collect();
        let grid: Vec<f64> = (0..=400).map(|i| -3.0 + 6.0 * i as f64 / 400.0).collect();
        let dens = kde(&samples, &grid, 1e-3);
        let integral: f64 = dens.iter().sum::<f64>() * 6.0 / 400.0;
        assert!((integral - 1.0).abs() < 0.01, "{integral}");
        assert!((interpolate(&[0.0, 1.0], &[2.0, 4.0], 0.25) - 2.5).abs() < 1e-12);
        assert_eq!(evenly_spaced(&[1, 2, 3, 4, 5], 3), vec![1, 3, 5]);
        assert_eq!(evenly_spaced(&[1, 2, 3], 1), vec![1]);
        assert_eq!(
            quantiles(&[3.0, f64::NAN, 1.0, 2.0], 10),
            vec![1.0, 2.0, 3.0]
        );
    }
}
