//! Mode coverage of a 2-D mixture (the ring and grid benchmarks of the mode-collapse
//! literature, e.g. Srivastava et al. 2017): how many of the mixture's modes the generator
//! reaches, and which fraction of its samples is "high quality", within 3σ of a mode.

use anyhow::{anyhow, ensure, Result};

use crate::data::Dataset;

/// Mode coverage of a 2-D mixture.
#[derive(Clone, Debug, PartialEq)]
pub struct ModeStats {
    pub modes: usize,
    /// Modes holding at least [`MIN_PER_MODE`] high-quality samples.
    pub covered: usize,
    /// Fraction of samples within 3σ of their nearest mode.
    pub high_quality: f64,
    pub samples: usize,
}

/// High-quality samples a mode needs to count as covered (of the 2,500 `mode_stats()` draws:
/// below 1/5 of the 12.5% an even 8-mode spread would give).
pub const MIN_PER_MODE: usize = 20;

/// The modes' centres and their common σ, from the data itself: the mean of the rows with each
/// label (the toy mixtures label each row with its mode), and the per-coordinate standard
/// deviation of every row around its own mode's centre, pooled over modes.
pub fn mode_centres(data: &Dataset) -> Result<(Vec<[f64; 2]>, f64)> {
    ensure!(
        data.dim == 2,
        "mode statistics need 2-D data, this has {} features",
        data.dim
    );
    let labels = data
        .labels
        .as_ref()
        .ok_or_else(|| anyhow!("the data has no mode labels (use ring(…) or grid(…))"))?;
    let modes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut sum = vec![[0f64; 3]; modes];
    for (r, &l) in data.x.chunks_exact(2).zip(labels) {
        let s = &mut sum[l as usize];
        s[0] += r[0] as f64;
        s[1] += r[1] as f64;
        s[2] += 1.0;
    }
    let centres: Vec<[f64; 2]> = sum
        .iter()
        .map(|s| [s[0] / s[2].max(1.0), s[1] / s[2].max(1.0)])
        .collect();
    let var = data
        .x
        .chunks_exact(2)
        .zip(labels)
        .map(|(r, &l)| {
            let c = centres[l as usize];
            (r[0] as f64 - c[0]).powi(2) + (r[1] as f64 - c[1]).powi(2)
        })
        .sum::<f64>()
        / (2.0 * data.rows().max(1) as f64);
    Ok((centres, var.sqrt()))
}

/// Assigns every sample (row-major `(x, y)` pairs) to its nearest centre; a sample within
/// `3σ` (Euclidean) of it is high quality and counts for that mode.
pub fn mode_stats_of(samples: &[f32], centres: &[[f64; 2]], sigma: f64) -> ModeStats {
    let mut per_mode = vec![0usize; centres.len()];
    let mut good = 0;
    let n = samples.len() / 2;
    for p in samples.chunks_exact(2) {
        let (best, dist) = centres
            .iter()
            .enumerate()
            .map(|(i, c)| (i, (p[0] as f64 - c[0]).hypot(p[1] as f64 - c[1])))
            .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
        if dist <= 3.0 * sigma {
            good += 1;
            per_mode[best] += 1;
        }
    }
    ModeStats {
        modes: centres.len(),
        covered: per_mode.iter().filter(|&&c| c >= MIN_PER_MODE).count(),
        high_quality: good as f64 / n.max(1) as f64,
        samples: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ring_2d;

    #[test]
    fn centres_and_sigma_of_a_ring_are_recovered() {
        // 8 modes on a circle of radius 2, σ 0.02, 16,000 rows
        let d = ring_2d(8, 2.0, 0.02, 16_000, 1);
        let (c, s) = mode_centres(&d).unwrap();
        assert_eq!(c.len(), 8);
        for p in &c {
            assert!((p[0].hypot(p[1]) - 2.0).abs() < 0.01, "{p:?}");
        }
        assert!((s - 0.02).abs() < 0.001, "σ {s}");
        let no_labels = Dataset {
            labels: None,
            ..d.clone()
        };
        assert!(mode_centres(&no_labels).is_err());
    }

    /// Hand-placed samples: 3 of 4 modes get 30 points at 1σ, one mode gets 10 (too few to count),
    /// and 50 points lie 4σ away from every mode.
    #[test]
    fn counts_covered_modes_and_the_3_sigma_fraction() {
        let centres = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]];
        let sigma = 0.5;
        let mut s = Vec::new();
        for (m, count) in [(0, 30), (1, 30), (2, 30), (3, 10)] {
            for _ in 0..count {
                s.extend([centres[m][0] as f32 + 0.5, centres[m][1] as f32]);
            }
        }
        for _ in 0..50 {
            s.extend([5.0f32, 2.0]); // ≥ 5.39 from every centre: beyond 3σ = 1.5
        }
        let st = mode_stats_of(&s, &centres, sigma);
        assert_eq!(st.modes, 4);
        assert_eq!(st.covered, 3);
        assert_eq!(st.samples, 150);
        assert!((st.high_quality - 100.0 / 150.0).abs() < 1e-12);
        // exactly 3σ away still counts
        let edge = mode_stats_of(&[1.5, 0.0], &centres, sigma);
        assert_eq!(edge.high_quality, 1.0);
    }
}
