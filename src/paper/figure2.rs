//! Figure 2's check on memorisation: how far each row's last sample is from its nearest
//! training image.

use crate::data::Dataset;

/// Euclidean distance from the last sample of each figure row (`cols − 1` samples per row of
/// `x`, then the nearest training image) to that row's nearest training image `nearest[r]`.
pub fn nearest_distances(x: &[f32], data: &Dataset, nearest: &[usize], cols: usize) -> Vec<f64> {
    let dim = data.dim;
    nearest
        .iter()
        .enumerate()
        .map(|(r, &t)| {
            let q = &x[(r * (cols - 1) + cols - 2) * dim..][..dim];
            q.iter()
                .zip(data.row(t))
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_from_each_rows_last_sample() {
        let data = Dataset::try_new("d", vec![0.0, 0.0, 3.0, 4.0], 2, None, None).unwrap();
        // rows of 3 columns: 2 samples each; the second sample of row r is compared
        let x = [9.0, 9.0, 3.0, 0.0, 9.0, 9.0, 6.0, 8.0];
        let d = nearest_distances(&x, &data, &[0, 1], 3);
        assert_eq!(d, vec![3.0, 5.0]);
    }
}
