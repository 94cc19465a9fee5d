//! How spread out a batch of rows is: the mean Euclidean distance over all pairs of rows.
//! A collapsed generator maps every z to nearly the same output, so its samples' spread falls
//! far below the data's.

/// Mean L2 distance over the n(n−1)/2 pairs of the `dim`-wide rows of `x` (0 for fewer than 2).
pub fn mean_pairwise_distance(x: &[f32], dim: usize) -> f64 {
    let n = x.len().checked_div(dim).unwrap_or(0);
    if n < 2 {
        return 0.0;
    }
    let mut sum = 0.0;
    for i in 0..n {
        let a = &x[i * dim..(i + 1) * dim];
        for j in i + 1..n {
            let b = &x[j * dim..(j + 1) * dim];
            let sq: f64 = a
                .iter()
                .zip(b)
                .map(|(p, q)| (*p as f64 - *q as f64).powi(2))
                .sum();
            sum += sq.sqrt();
        }
    }
    sum / (n * (n - 1) / 2) as f64
}

/// `n` rows of `data` evenly spaced over it (rows 0, r/n, 2r/n, …): a fixed, seed-free reference
/// sample of the data.
pub fn evenly_spaced_rows(data: &[f32], dim: usize, n: usize) -> Vec<f32> {
    let rows = data.len().checked_div(dim).unwrap_or(0);
    let n = n.min(rows);
    let mut out = Vec::with_capacity(n * dim);
    for k in 0..n {
        let r = k * rows / n;
        out.extend_from_slice(&data[r * dim..(r + 1) * dim]);
    }
    out
}

/// The samples' spread over the real rows' (None when the real rows do not vary).
pub fn spread_ratio(samples: &[f32], real: &[f32], dim: usize) -> Option<f64> {
    let r = mean_pairwise_distance(real, dim);
    (r > 0.0).then(|| mean_pairwise_distance(samples, dim) / r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_against_a_hand_computed_case() {
        // rows (0,0), (3,4), (6,8): distances 5, 10, 5 → mean 20/3
        let x = [0.0, 0.0, 3.0, 4.0, 6.0, 8.0];
        assert!((mean_pairwise_distance(&x, 2) - 20.0 / 3.0).abs() < 1e-12);
        assert_eq!(mean_pairwise_distance(&x[..2], 2), 0.0);
    }

    #[test]
    fn identical_samples_have_zero_spread_ratio() {
        let real = [0.0, 1.0, 2.0, 3.0];
        assert_eq!(spread_ratio(&[5.0; 4], &real, 1), Some(0.0));
        // the same rows: ratio 1
        assert_eq!(spread_ratio(&real, &real, 1), Some(1.0));
        assert_eq!(spread_ratio(&real, &[2.0; 4], 1), None);
    }

    #[test]
    fn evenly_spaced_rows_pick_fixed_rows() {
        let data: Vec<f32> = (0..10).map(|v| v as f32).collect();
        assert_eq!(evenly_spaced_rows(&data, 1, 4), vec![0.0, 2.0, 5.0, 7.0]);
        assert_eq!(evenly_spaced_rows(&data, 2, 9).len(), 10);
    }
}
