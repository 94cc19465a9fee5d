//! The classifier score (the Inception Score of Salimans et al. 2016, on our MNIST classifier):
//!
//! ```text
//! score = exp( E_x KL( p(y|x) ‖ p(y) ) ),   p(y) = E_x p(y|x)
//! ```
//!
//! It is high (at most K, the number of classes) when each sample is classified confidently and
//! the classes are used evenly; 1 when every sample gets the same prediction.

use anyhow::{ensure, Result};

/// Row-wise softmax of `(n, k)` logits, in f64 with the row maximum subtracted first.
pub fn softmax_rows(logits: &[f32], k: usize) -> Vec<f64> {
    let mut p = Vec::with_capacity(logits.len());
    for row in logits.chunks_exact(k) {
        let m = row.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v)) as f64;
        let start = p.len();
        p.extend(row.iter().map(|&v| (v as f64 - m).exp()));
        let s: f64 = p[start..].iter().sum();
        p[start..].iter_mut().for_each(|v| *v /= s);
    }
    p
}

/// `exp(E_x KL(p(y|x) ‖ p(y)))` from `(n, k)` class probabilities. Terms with p(y|x) = 0
/// contribute 0 (the limit of p log p).
pub fn classifier_score(probs: &[f64], k: usize) -> Result<f64> {
    ensure!(
        k > 0 && probs.len().is_multiple_of(k),
        "{} probabilities are not rows of {k} classes",
        probs.len()
    );
    let n = probs.len() / k;
    ensure!(n > 0, "the classifier score needs at least one sample");
    let mut marginal = vec![0f64; k];
    for row in probs.chunks_exact(k) {
        for (m, &p) in marginal.iter_mut().zip(row) {
            *m += p / n as f64;
        }
    }
    let kl_sum: f64 = probs
        .chunks_exact(k)
        .map(|row| {
            row.iter()
                .zip(&marginal)
                .filter(|(&p, _)| p > 0.0)
                .map(|(&p, &m)| p * (p.ln() - m.ln()))
                .sum::<f64>()
        })
        .sum();
    Ok((kl_sum / n as f64).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_hot(labels: &[usize], k: usize) -> Vec<f64> {
        labels
            .iter()
            .flat_map(|&y| (0..k).map(move |j| if j == y { 1.0 } else { 0.0 }))
            .collect()
    }

    #[test]
    fn one_hot_predictions_spread_evenly_score_k() {
        let labels: Vec<usize> = (0..1000).map(|i| i % 10).collect();
        let s = classifier_score(&one_hot(&labels, 10), 10).unwrap();
        assert!((s - 10.0).abs() < 1e-9, "{s}");
        let s4 = classifier_score(&one_hot(&[0, 1, 2, 3], 4), 4).unwrap();
        assert!((s4 - 4.0).abs() < 1e-12, "{s4}");
    }

    #[test]
    fn identical_predictions_score_one() {
        // all samples the same class, or all the same soft prediction
        assert!((classifier_score(&one_hot(&[3; 50], 10), 10).unwrap() - 1.0).abs() < 1e-12);
        let soft: Vec<f64> = (0..20).flat_map(|_| [0.2, 0.5, 0.3]).collect();
        assert!((classifier_score(&soft, 3).unwrap() - 1.0).abs() < 1e-12);
    }

    /// Two classes, each sample 90% sure, half of each: KL = 0.9 ln 1.8 + 0.1 ln 0.2.
    #[test]
    fn soft_predictions_match_the_definition() {
        let probs = [0.9, 0.1, 0.1, 0.9];
        let want = (0.9f64 * 1.8f64.ln() + 0.1 * 0.2f64.ln()).exp();
        assert!((classifier_score(&probs, 2).unwrap() - want).abs() < 1e-12);
    }

    #[test]
    fn softmax_is_stable_and_normalised() {
        let p = softmax_rows(&[1000.0, 1000.0, -1000.0, 0.0, 0.0, 0.0], 3);
        assert!((p[0] - 0.5).abs() < 1e-12 && p[2] == 0.0);
        assert!(p[3..].iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-12));
        assert!(classifier_score(&[0.5, 0.5, 0.5], 2).is_err());
    }
}
